"""``manage.py importer_fiches FICHIER --contrat REFERENCE --utilisateur LOGIN [--confirmer]``

Imports a territory's action table (xlsx or csv: fiches, their funding per year and funder, their indicators) into a
contract, as the import page does (``financement.importation``), with the perimeter and the rights of the user named:
without ``--confirmer`` it only prints the preview (what would be created, changed — each cell before → after —,
left unchanged, and every error with its sheet, row and column); with it, it writes, all or nothing. Exits with an
error when the file has one (nothing is written then).
"""

from __future__ import annotations

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contrats.models import Contrat
from financement.importation import FichierIllisible, apercu, importer, lire_fichier, rapport, texte_rapport
from pacte.perms import in_perimeter


class Command(BaseCommand):
    help = "Importe un tableau de fiches actions (xlsx ou csv) dans un contrat : aperçu, puis --confirmer."

    def add_arguments(self, parser):
        parser.add_argument("fichier", help="Le fichier .xlsx ou .csv.")
        parser.add_argument("--contrat", required=True, help="La référence du contrat (ex. CLS-2024-D05).")
        parser.add_argument(
            "--utilisateur", required=True, help="L'identifiant de l'agent qui importe (son périmètre, ses droits)."
        )
        parser.add_argument("--confirmer", action="store_true", help="Écrit l'import (sinon : aperçu seulement).")

    def handle(self, *args, fichier, contrat, utilisateur, confirmer, **options):
        chemin = Path(fichier)
        if not chemin.is_file():
            raise CommandError(f"Fichier introuvable : {fichier}")
        user = get_user_model().objects.select_related("organisation").filter(username=utilisateur).first()
        if user is None or not user.is_active:
            raise CommandError(f"Aucun utilisateur actif « {utilisateur} ».")
        objet = Contrat.objects.select_related("collectivite").filter(reference=contrat).first()
        # Outside the user's perimeter answers as an unknown contract, as the pages do.
        if objet is None or not in_perimeter(user, objet):
            raise CommandError(f"Aucun contrat « {contrat} » dans le périmètre de {utilisateur}.")
        try:
            feuilles = lire_fichier(chemin.read_bytes(), chemin.name)
        except FichierIllisible as error:
            raise CommandError(str(error)) from None
        if not confirmer:
            donnees = rapport(apercu(feuilles, objet, user))
            self.stdout.write(texte_rapport(donnees))
            if donnees["erreurs"]:
                raise CommandError("Aperçu : le fichier a des erreurs, rien ne serait écrit.")
            self.stdout.write("Aperçu seulement : relancez avec --confirmer pour écrire.")
            return
        plan, bilan = importer(feuilles, objet, user)
        donnees = rapport(plan)
        self.stdout.write(texte_rapport(donnees))
        if bilan != "importe":
            raise CommandError("Import refusé : rien n'a été écrit.")
        self.stdout.write(self.style.SUCCESS(f"Import terminé dans le contrat {objet.reference}."))
