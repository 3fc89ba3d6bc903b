"""``manage.py relancer_rapports [--date AAAA-MM-JJ] [--url https://…]``: e-mails the reminders of annual reports.

Run every day (cron, README « Exploitation »). Each report still waiting for its collectivité (in redaction or sent
back) gets, by e-mail to the collectivité's editors, one reminder ``PACTE_RAPPEL_JOURS_AVANT`` days before its due
date and, once late, one reminder every ``PACTE_RAPPEL_JOURS_APRES`` days; never two the same day
(``financement.services.rapports_relancer``, docs/regles.md « Relances »). The e-mails go through Django's e-mail
backend (the console in development).
"""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand
from django.urls import reverse

from financement.enums import NatureRelance
from financement.management.commands._dates import ajouter_option_date, jour_de
from financement.services import rapports_relancer


class Command(BaseCommand):
    help = "Envoie les rappels et relances des rapports annuels d'exécution (à lancer chaque jour)."

    def add_arguments(self, parser):
        ajouter_option_date(parser)
        parser.add_argument(
            "--url",
            default=getattr(settings, "PACTE_URL", "http://127.0.0.1:8000"),
            help="Adresse du site, pour le lien vers le rapport (par défaut : le réglage PACTE_URL).",
        )

    def handle(self, *args, jour=None, url: str, **options):
        jour = jour_de(jour)
        base = url.rstrip("/")

        def lien(rapport) -> str:
            # The report's page lives in the front office (espace): its route is read by name, nothing imported.
            return base + reverse(
                "espace:rapport", kwargs={"reference": rapport.contrat.reference, "annee": rapport.annee}
            )

        resultats = rapports_relancer(aujourd_hui=jour, lien=lien)
        envoyees = 0
        for r in resultats:
            quoi = "rappel" if r.nature == NatureRelance.AVANT else "relance (retard)"
            sujet = f"{r.rapport.contrat.reference}, rapport {r.rapport.annee}"
            if r.envoyee:
                envoyees += 1
                self.stdout.write(f"{sujet} : {quoi} envoyé à {', '.join(r.destinataires)}.")
            elif r.erreur:
                self.stderr.write(f"{sujet} : {quoi} non envoyé ({r.erreur}) ; nouvel essai au prochain passage.")
            else:
                self.stderr.write(
                    f"{sujet} : {quoi} non envoyé : aucun éditeur de la collectivité n'a d'adresse électronique."
                )
        self.stdout.write(f"{jour:%d/%m/%Y} : {envoyees} message(s) envoyé(s).")
