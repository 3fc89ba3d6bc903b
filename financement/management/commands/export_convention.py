"""``manage.py export_convention REFERENCE -o FILE.pdf``: writes a contract's convention as a PDF, for scripts.

The convention as it renders now (``financement.documents.convention_pdf``): a *PROJET* watermark until the
contract is signed. A signed contract's frozen copy is its stored document, not this rendering.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from contrats.models import Contrat
from financement.documents import convention_pdf


class Command(BaseCommand):
    help = "Écrit la convention d'un contrat en PDF (filigrane PROJET tant qu'il n'est pas signé)."

    def add_arguments(self, parser):
        parser.add_argument("reference", help="Référence du contrat, ex. CLS-2024-D05.")
        parser.add_argument("-o", "--output", required=True, help="Fichier PDF à écrire, ex. convention.pdf.")

    def handle(self, *args, reference, output, **options):
        contrat = Contrat.objects.filter(reference__iexact=reference.strip()).first()
        if contrat is None:
            raise CommandError(f"Aucun contrat n'a la référence « {reference} ».")
        path = Path(output)
        if not path.parent.is_dir():
            raise CommandError(f"Le dossier « {path.parent} » n'existe pas : le PDF ne peut pas y être écrit.")
        pdf = convention_pdf(contrat)
        try:
            path.write_bytes(pdf)
        except OSError as error:
            raise CommandError(f"Le fichier « {path} » ne peut pas être écrit : {error.strerror}.") from None
        statut = "signée" if contrat.est_fige else "projet"
        self.stdout.write(f"Convention {contrat.reference} ({statut}) écrite dans {path} ({len(pdf) // 1024} Ko).")
