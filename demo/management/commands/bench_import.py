"""``manage.py bench_import [--fiches 5000] [--annees 4] [--financeurs 3]``: times the Excel import of a large action
table against a bare bulk insert of the same rows (a benchmark, not a test).

On the configured database (the issue's figures are taken on PostgreSQL), in one transaction rolled back at the end
(nothing is kept): a new CLS for the Hautes-Alpes, a DDETS editor, partners; a workbook in the template's layout —
« Fiches » (``--fiches`` rows) and « Financements » (one row per fiche and year, one column per funder: the State,
the collectivité, then other funders) — built in memory; then

1. the import as the page and ``importer_fiches`` run it (``financement.importation.importer``): reading the file,
   planning (each row matched by its natural key), writing through the services (``fiche_create``,
   ``ligne_financement_set``: validation, version, audit trail, the contract's lock), the summary refreshed once;
2. the same fiches and lines written by two ``bulk_create`` calls into a second contract, without validation or audit
   trail: the floor.

It prints each phase's duration, the rows per second and the ratio to the floor (the issue's targets: under 30 s for
5 000 fiches × 4 years × 3 funders, within 3× of the floor).
"""

from __future__ import annotations

import io
import platform
import time
from datetime import date, datetime
from decimal import Decimal

import openpyxl
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from actions.enums import NatureAction
from actions.models import FicheAction
from contrats.enums import TypeContrat
from contrats.models import Contrat
from financement.enums import TypeFinanceur
from financement.importation import apercu, importer, lire_fichier, planifier
from financement.models import LigneFinancement, Plafond
from pacte.enums import Role, TypeOrganisation
from pacte.models import Axe, Collectivite, Organisation, User


class _Annuler(Exception):
    pass


def _secondes(valeur: float) -> str:
    return f"{valeur:.2f} s".replace(".", ",")


class Command(BaseCommand):
    help = "Mesure l'import Excel d'un grand tableau de fiches face à une insertion en masse des mêmes lignes."

    def add_arguments(self, parser):
        parser.add_argument("--fiches", type=int, default=5000)
        parser.add_argument("--annees", type=int, default=4, help="Années financées par fiche (1 à 4).")
        parser.add_argument("--financeurs", type=int, default=3, help="Financeurs par année (2 ou plus).")
        parser.add_argument("--apercu", action="store_true", help="Mesure aussi l'aperçu (un essai annulé).")

    def handle(self, *args, fiches, annees, financeurs, apercu: bool, **options):
        if not 1 <= annees <= 4 or financeurs < 2 or fiches < 1:
            raise CommandError("--annees de 1 à 4, --financeurs 2 ou plus, --fiches 1 ou plus.")
        self.stdout.write(
            f"bench_import – {datetime.now():%d/%m/%Y %H:%M} – {connection.vendor} "
            f"({connection.settings_dict['NAME']}), Python {platform.python_version()}\n"
            f"{fiches} fiches × {annees} années × {financeurs} financeurs = {fiches * annees * financeurs} lignes "
            "de financement"
        )
        if connection.vendor != "postgresql":
            self.stdout.write("Attention : la mesure de référence se fait sur PostgreSQL.")
        try:
            with transaction.atomic():
                self.mesurer(fiches, annees, financeurs, apercu)
                raise _Annuler
        except _Annuler:
            self.stdout.write("Tout a été annulé : la base est inchangée.")

    def preparer(self, financeurs: int):
        collectivite = Collectivite.objects.get(code="D05")
        departement = collectivite.departements.order_by("code").first()
        ddets = Organisation.objects.create(
            nom="DDETS (bench_import)", type=TypeOrganisation.DDETS, departement=departement
        )
        user = User.objects.create(username="bench-import", organisation=ddets, role=Role.EDITEUR, is_staff=True)
        Organisation.objects.create(
            nom="Département (bench_import)", type=TypeOrganisation.COLLECTIVITE, collectivite=collectivite
        )
        autres = [
            Organisation.objects.create(
                nom=f"Partenaire {i} (bench_import)", type=TypeOrganisation.PARTENAIRE, departement=departement
            )
            for i in range(1, financeurs - 1)
        ]
        contrats = []
        for suffixe in ("IMP", "BLK"):
            contrat = Contrat.objects.create(
                reference=f"CLS-2024-{suffixe}",
                type_contrat=TypeContrat.CLS_DEPARTEMENT,
                titre="Contrat de mesure",
                collectivite=collectivite,
                date_debut=date(2024, 1, 1),
                date_fin=date(2027, 12, 31),
            )
            contrat.axes.set(Axe.objects.filter(numero__in=[1, 3, 4]))
            for annee in contrat.annees:
                Plafond.objects.create(contrat=contrat, annee=annee, montant=Decimal("90000000"))
            contrats.append(contrat)
        return user, autres, contrats

    def classeur(self, nombre: int, annees: list[int], autres) -> bytes:
        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet("Fiches")
        ws.append(["Code", "Intitulé", "Axe", "Nature", "Porteur", "Début", "Fin", "Public cible"])
        for i in range(nombre):
            ws.append(
                [
                    f"A1-{i + 1:04d}",
                    f"Action de mesure n° {i + 1}",
                    "Axe 1",
                    "Nouvelle",
                    autres[0].nom if autres else "Département",
                    "01/01/2024",
                    "31/12/2027",
                    "Familles monoparentales",
                ]
            )
        ws = wb.create_sheet("Financements")
        ws.append(["Code", "Année", "État", "Collectivité", *(o.nom for o in autres)])
        for i in range(nombre):
            for annee in annees:
                ws.append([f"A1-{i + 1:04d}", annee, "1 000,00", "1 200,00", *("250,00" for _ in autres)])
        sortie = io.BytesIO()
        wb.save(sortie)
        return sortie.getvalue()

    def mesurer(self, nombre: int, nb_annees: int, financeurs: int, avec_apercu: bool) -> None:
        user, autres, (contrat, temoin) = self.preparer(financeurs)
        annees = list(contrat.annees)[:nb_annees]
        debut = time.perf_counter()
        contenu = self.classeur(nombre, annees, autres)
        self.stdout.write(
            f"classeur : {len(contenu) // 1024} Ko, construit en {_secondes(time.perf_counter() - debut)}"
        )

        debut = time.perf_counter()
        feuilles = lire_fichier(contenu, "bench.xlsx")
        lecture = time.perf_counter() - debut
        debut = time.perf_counter()
        plan = planifier(feuilles, contrat, user)
        planification = time.perf_counter() - debut
        if plan.erreurs:
            raise CommandError(f"Le classeur de mesure a des erreurs : {plan.erreurs[:3]}")
        if avec_apercu:
            debut = time.perf_counter()
            essai = apercu(feuilles, contrat, user)
            self.stdout.write(
                f"aperçu (plan + essai annulé) : {_secondes(time.perf_counter() - debut)}, "
                f"{len(essai.erreurs)} erreur(s)"
            )
        debut = time.perf_counter()
        plan, bilan = importer(feuilles, contrat, user)
        ecriture = time.perf_counter() - debut
        if bilan != "importe":
            raise CommandError(f"Import refusé : {[str(e) for e in plan.erreurs[:3]]}")
        lignes = LigneFinancement.objects.filter(fiche__contrat=contrat).count()
        total = lecture + ecriture

        debut = time.perf_counter()
        with transaction.atomic():
            porteur = autres[0] if autres else Organisation.objects.get(nom="Département (bench_import)")
            axe = Axe.objects.get(numero=1)
            crees = FicheAction.objects.bulk_create(
                [
                    FicheAction(
                        contrat=temoin,
                        code=f"A1-{i + 1:04d}",
                        intitule=f"Action de mesure n° {i + 1}",
                        axe=axe,
                        nature=NatureAction.NOUVELLE,
                        porteur=porteur,
                        date_debut=date(2024, 1, 1),
                        date_fin=date(2027, 12, 31),
                        public_cible="Familles monoparentales",
                    )
                    for i in range(nombre)
                ],
                batch_size=1000,
            )
            LigneFinancement.objects.bulk_create(
                [
                    LigneFinancement(fiche=fiche, annee=annee, type_financeur=type_, financeur=financeur, prevu=montant)
                    for fiche in crees
                    for annee in annees
                    for type_, financeur, montant in (
                        (TypeFinanceur.ETAT, None, Decimal("1000")),
                        (TypeFinanceur.COLLECTIVITE, None, Decimal("1200")),
                        *((TypeFinanceur.AUTRE, o, Decimal("250")) for o in autres),
                    )
                ],
                batch_size=1000,
            )
        plancher = time.perf_counter() - debut

        self.stdout.write(
            "\n".join(
                [
                    f"import : {nombre} fiches et {lignes} lignes de financement écrites",
                    f"  lecture du classeur : {_secondes(lecture)}",
                    f"  plan (clés naturelles, droits, gel) : {_secondes(planification)} (refait dans l'import)",
                    f"  import (plan + écritures par les services, tout ou rien) : {_secondes(ecriture)}",
                    f"  total lecture + import : {_secondes(total)} — "
                    f"{(nombre + lignes) / total:.0f} lignes par seconde",
                    f"insertion en masse des mêmes lignes (bulk_create, sans validation ni historique) : "
                    f"{_secondes(plancher)}",
                    f"rapport import / insertion en masse : {total / plancher:.1f}×",
                    f"objectifs : moins de 30 s ({'atteint' if total < 30 else 'non atteint'}), 3× au plus "
                    f"({'atteint' if total <= 3 * plancher else 'non atteint'})",
                ]
            )
        )
