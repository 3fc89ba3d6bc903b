"""``manage.py synthese_rebuild``: recomputes the dashboards' summary of every contract (``financement.synthese``).

The services keep it up to date on every write; this is for data written past them (a bulk load, a restore, a
national measure moved to another objective in the reference data).
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from financement.models import SyntheseFinancement
from financement.synthese import synthese_rebuild


class Command(BaseCommand):
    help = "Recalcule la synthèse des financements (tableaux de bord) de tous les contrats."

    def handle(self, *args, **options):
        started = time.perf_counter()
        contrats = synthese_rebuild()
        duree = f"{time.perf_counter() - started:.1f} s".replace(".", ",")
        lignes = SyntheseFinancement.objects.count()
        self.stdout.write(
            self.style.SUCCESS(f"Synthèse recalculée : {contrats} contrats, {lignes} lignes de synthèse, en {duree}.")
        )
