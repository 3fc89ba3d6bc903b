from django.core.management.base import BaseCommand
from django.db import transaction

from pacte.reference import load_reference


class Command(BaseCommand):
    help = "Charge (ou met à jour) les référentiels : régions, départements, collectivités, axes, mesures."

    @transaction.atomic
    def handle(self, *args, **options):
        counts = load_reference()
        self.stdout.write(", ".join(f"{n} {label}" for label, n in counts.items()))
