"""``manage.py seed_demo``: realistic demo data (contracts, fiches, money, follow-up) and demo users."""

from __future__ import annotations

import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from contrats.models import Contrat
from demo.builder import DEFAULT_REGION, DEFAULT_SEED, SCALES, DemoBuilder, counts, purge


def format_counts(rows: dict[str, int]) -> str:
    width = max(len(label) for label in rows)
    return "\n".join(f"  {label.ljust(width)}  {n:>8,}".replace(",", "\u202f") for label, n in rows.items())


class Command(BaseCommand):
    help = (
        "Charge des données de démonstration réalistes : contrats dans tous les statuts, fiches actions, "
        "financements 2024-2027, indicateurs, avenants, versements, reliquats, rapports, et un compte de démo "
        "par profil (voir demo_logins)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--scale", choices=SCALES, default="region", help="region : une région (défaut) ; national : tout."
        )
        parser.add_argument(
            "--region", default=DEFAULT_REGION, help=f"Code INSEE de la région (défaut {DEFAULT_REGION}, PACA)."
        )
        parser.add_argument(
            "--reset",
            action="store_true",
            help="Supprime d'abord tous les contrats (et tout ce qui en dépend), les comptes et organisations de démo.",
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Ne fait rien si un contrat existe déjà (pour make run)."
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Graine : mêmes données à graine égale.")
        parser.add_argument(
            "--allow-production", action="store_true", help="Autorise l'exécution avec DJANGO_ENV=production."
        )

    def handle(self, *args, scale, region, reset, if_empty, seed, allow_production, **options):
        if getattr(settings, "PRODUCTION", False) and not allow_production:
            raise CommandError("Données de démonstration refusées en production (--allow-production pour forcer).")
        if reset and if_empty:
            raise CommandError("--reset et --if-empty s'excluent.")
        if if_empty and Contrat.objects.exists():
            self.stdout.write("Des contrats existent déjà : données de démonstration non chargées.")
            return
        if not reset and Contrat.objects.exists():
            raise CommandError(
                "Des contrats existent déjà : --reset pour tout remplacer, --if-empty pour ne rien faire."
            )
        started = time.perf_counter()
        purge_seconds = 0.0
        try:
            with transaction.atomic():
                if reset:
                    purge()
                    purge_seconds = time.perf_counter() - started
                DemoBuilder(scale=scale, region=region, seed=seed).run()
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        total = time.perf_counter() - started
        where = "nationale" if scale == "national" else f"région {region}"
        timing = f"{total:.1f} s".replace(".", ",")
        if reset:
            timing += f" dont {purge_seconds:.1f} s de purge".replace(".", ",")
        self.stdout.write(
            self.style.SUCCESS(f"Données de démonstration chargées ({where}, graine {seed}) en {timing}.")
        )
        self.stdout.write(format_counts(counts()))
        self.stdout.write("Comptes de démonstration : manage.py demo_logins")
