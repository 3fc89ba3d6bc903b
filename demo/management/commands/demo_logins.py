"""``manage.py demo_logins``: the demo accounts, one per persona, and what each one sees."""

from __future__ import annotations

import os

from django.core.management.base import BaseCommand

from contrats.models import Contrat
from demo.builder import DEMO_PASSWORD_DEFAULT, DEMO_USERS
from pacte.models import User
from pacte.perimeters import perimetre_label


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class Command(BaseCommand):
    help = "Affiche les comptes de démonstration : identifiant, profil, organisation, périmètre, mot de passe."

    def handle(self, *args, **options):
        users = {u.username: u for u in User.objects.filter(username__in=[d.username for d in DEMO_USERS])}
        rows = [["Identifiant", "Profil", "Rôle", "Organisation", "Périmètre", "Contrats visibles"]]
        for spec in DEMO_USERS:
            user = users.get(spec.username)
            if user is None:
                rows.append([spec.username, spec.persona, "", "(absent : lancez seed_demo)", "", ""])
                continue
            rows.append(
                [
                    user.username,
                    spec.persona,
                    "superutilisateur" if user.is_superuser else user.get_role_display().lower(),
                    user.organisation.nom if user.organisation_id else "–",
                    perimetre_label(user),
                    str(Contrat.objects.for_user(user).count()),
                ]
            )
        self.stdout.write("Comptes de démonstration (application : /connexion/ ; back-office : /admin/)")
        self.stdout.write(table(rows))
        if os.environ.get("DEMO_PASSWORD"):
            self.stdout.write("Mot de passe de tous les comptes : la valeur de la variable DEMO_PASSWORD.")
        else:
            self.stdout.write(
                f"Mot de passe de tous les comptes : {DEMO_PASSWORD_DEFAULT} "
                "(variable DEMO_PASSWORD pour en choisir un autre, puis seed_demo)."
            )
