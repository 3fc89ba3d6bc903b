"""``manage.py bench_pdf``: times the convention of a 60-action contract, against WeasyPrint alone on the same HTML.

A benchmark, not a test (issue 8's targets: under 10 s, and within 1.2× of WeasyPrint alone). It renders
``financement.documents.convention_pdf`` (queries, template, WeasyPrint) ``--repeat`` times, then WeasyPrint
alone on ``convention_html`` of the same contract (the same HTML, stylesheet and fonts) as many times, after
one warm-up of each, and prints both medians and their ratio.

The contract is ``--reference``, or the demo's contract with the most active fiches if it has ``--fiches``
of them; otherwise a measuring contract (``BENCH-2024-60``) is added to the demo data once, its fiches copied,
with their lines and indicators, from the demo's largest contracts (run ``seed_demo`` first). ``seed_demo
--reset`` removes it with the rest.
"""

from __future__ import annotations

import io
import os
import statistics
import time
from collections import defaultdict
from datetime import date
from decimal import Decimal
from itertools import cycle

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from pypdf import PdfReader
from weasyprint import HTML

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Contrat, LibelleAxe, ObjectifContrat, Signataire
from financement.documents import convention_html, convention_pdf
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond
from pacte.pdf import DOCUMENT_BASE_URL, StaticFetcher

BENCH_REFERENCE = "BENCH-2024-60"


def _seconds(value: float) -> str:
    return f"{value:.2f} s".replace(".", ",")


def _charge() -> str:
    """The machine's load average over one minute and its number of processors (a shared machine measures slow)."""
    try:
        return f"{os.getloadavg()[0]:.1f} pour {os.cpu_count()} processeurs".replace(".", ",")
    except OSError:
        return "inconnue"


class Command(BaseCommand):
    help = (
        "Mesure la convention d'un contrat de 60 actions : convention_pdf contre WeasyPrint seul sur le même "
        "HTML (médianes de N rendus, rapport des deux)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--reference", help="Contrat à mesurer (par défaut : un contrat de --fiches actions).")
        parser.add_argument("--fiches", type=int, default=60, help="Nombre d'actions du contrat mesuré (défaut 60).")
        parser.add_argument("--repeat", type=int, default=3, help="Nombre de rendus mesurés de chaque sorte.")
        parser.add_argument("--output", help="Écrit aussi la convention mesurée dans ce fichier PDF.")

    def handle(self, *args, reference, fiches, repeat, output, **options):
        if repeat < 1:
            raise CommandError("--repeat doit valoir au moins 1.")
        contrat = self.contrat(reference, fiches)
        n_fiches = contrat.fiches.filter(statut__in=STATUTS_ACTIFS).count()
        n_lignes = LigneFinancement.objects.filter(fiche__contrat=contrat, fiche__statut__in=STATUTS_ACTIFS).count()
        self.stdout.write(
            f"bench_pdf – {connection.vendor} ({connection.settings_dict['NAME']}) – {contrat.reference} : "
            f"{n_fiches} actions, {n_lignes} lignes de financement, {repeat} rendus de chaque sorte"
        )

        # Warm-up: templates compiled, fonts and stylesheet read once, in both measures alike.
        pdf = convention_pdf(contrat)
        html = convention_html(contrat)
        self.weasyprint_seul(html)

        # Alternated, so that a change of the machine's load weighs on both alike; wall-clock time and this
        # process's CPU time (on a shared machine the CPU time says what the rendering itself costs).
        complet, seul, cpu_complet, cpu_seul = [], [], [], []
        for _ in range(repeat):
            started, cpu = time.perf_counter(), time.process_time()
            pdf = convention_pdf(contrat)
            complet.append(time.perf_counter() - started)
            cpu_complet.append(time.process_time() - cpu)
            started, cpu = time.perf_counter(), time.process_time()
            self.weasyprint_seul(html)
            seul.append(time.perf_counter() - started)
            cpu_seul.append(time.process_time() - cpu)

        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        median_complet, median_seul = statistics.median(complet), statistics.median(seul)
        ratio = median_complet / median_seul
        ratio_cpu = statistics.median(cpu_complet) / statistics.median(cpu_seul)
        self.stdout.write(
            f"  convention_pdf (requêtes, gabarit, WeasyPrint) : médiane {_seconds(median_complet)} "
            f"(CPU {_seconds(statistics.median(cpu_complet))})"
        )
        self.stdout.write(f"    mesures : {', '.join(_seconds(d) for d in complet)}")
        self.stdout.write(
            f"  WeasyPrint seul sur le même HTML : médiane {_seconds(median_seul)} "
            f"(CPU {_seconds(statistics.median(cpu_seul))})"
        )
        self.stdout.write(f"    mesures : {', '.join(_seconds(d) for d in seul)}")
        self.stdout.write(
            f"  rapport : {ratio:.2f} (CPU {ratio_cpu:.2f})".replace(".", ",")
            + f" ; {pages} pages, {len(pdf) // 1024} Ko ; charge de la machine : {_charge()}"
        )
        verdict = [
            f"moins de 10 s : {'oui' if median_complet < 10 else 'NON'}",
            f"au plus 1,2 × WeasyPrint seul : {'oui' if ratio <= 1.2 else 'NON'}",
        ]
        self.stdout.write("  objectifs de l'issue 8 – " + " ; ".join(verdict))
        if output:
            with open(output, "wb") as f:
                f.write(pdf)

    def weasyprint_seul(self, html: str) -> bytes:
        """WeasyPrint alone: the same HTML, base URL and resource fetcher as ``convention_pdf``."""
        return HTML(string=html, base_url=DOCUMENT_BASE_URL, url_fetcher=StaticFetcher()).write_pdf()

    def contrat(self, reference: str | None, fiches: int) -> Contrat:
        if reference:
            contrat = Contrat.objects.filter(reference__iexact=reference).first()
            if contrat is None:
                raise CommandError(f"Aucun contrat n'a la référence « {reference} ».")
            return contrat
        plus_grand = (
            Contrat.objects.annotate(n=Count("fiches", filter=Q(fiches__statut__in=STATUTS_ACTIFS)))
            .order_by("-n", "reference")
            .first()
        )
        if plus_grand is None:
            raise CommandError("La base ne contient aucun contrat : lancez d'abord seed_demo.")
        if plus_grand.n >= fiches:
            return plus_grand
        return self.contrat_de_mesure(fiches)

    @transaction.atomic
    def contrat_de_mesure(self, fiches: int) -> Contrat:
        """A signed-looking CLS of ``fiches`` actions copied from the demo's largest contracts (once)."""
        existant = Contrat.objects.filter(reference=BENCH_REFERENCE).first()
        if existant is not None and existant.fiches.count() >= fiches:
            return existant
        if existant is not None:
            raise CommandError(f"{BENCH_REFERENCE} existe avec moins de {fiches} actions : relancez seed_demo --reset.")
        sources = list(
            FicheAction.objects.filter(statut__in=STATUTS_ACTIFS, contrat__type_contrat=TypeContrat.CLS_DEPARTEMENT)
            .select_related("contrat", "axe")
            .order_by("contrat__reference", "code_tri")[: fiches * 3]
        )
        if not sources:
            raise CommandError("La démo ne contient aucune fiche de CLS : lancez d'abord seed_demo.")
        modele = sources[0].contrat
        contrat = Contrat.objects.create(
            reference=BENCH_REFERENCE,
            type_contrat=TypeContrat.CLS_DEPARTEMENT,
            titre=f"{modele.titre} (mesure, {fiches} actions)",
            collectivite=modele.collectivite,
            date_debut=date(2024, 1, 1),
            date_fin=date(2027, 12, 31),
            statut=StatutContrat.EN_NEGOCIATION,
            preambule=modele.preambule,
            diagnostic=modele.diagnostic,
        )
        contrat.axes.set(modele.axes.all())
        ObjectifContrat.objects.bulk_create(
            ObjectifContrat(contrat=contrat, ordre=o.ordre, libelle=o.libelle) for o in modele.objectifs.all()
        )
        LibelleAxe.objects.bulk_create(
            LibelleAxe(contrat=contrat, axe=la.axe, libelle=la.libelle) for la in modele.libelles_axes.all()
        )
        Signataire.objects.bulk_create(
            Signataire(contrat=contrat, partie=s.partie, organisation=s.organisation, nom=s.nom, qualite=s.qualite)
            for s in modele.signataires.all()
        )
        axes = {a.pk for a in modele.axes.all()}
        champs = [
            f.attname
            for f in FicheAction._meta.concrete_fields
            if f.name not in {"id", "uid", "version", "contrat", "code", "code_tri", "origine", "cree_le", "modifie_le"}
        ]
        copies = []
        origines = {}
        for numero, source in zip(range(1, fiches + 1), cycle([s for s in sources if s.axe_id in axes] or sources)):
            copie = FicheAction(**{name: getattr(source, name) for name in champs})
            copie.contrat = contrat
            copie.code = f"A{source.axe.numero}-{numero:02d}"
            copie.date_debut, copie.date_fin = contrat.date_debut, contrat.date_fin
            copies.append(copie)
            origines[numero] = source.pk
        FicheAction.objects.bulk_create(copies)
        lignes, indicateurs, valeurs = [], [], []
        sources_pk = set(origines.values())
        lignes_de = defaultdict(list)
        for ligne in LigneFinancement.objects.filter(fiche_id__in=sources_pk):
            lignes_de[ligne.fiche_id].append(ligne)
        indicateurs_de = defaultdict(list)
        for indicateur in Indicateur.objects.filter(fiche_id__in=sources_pk).prefetch_related("valeurs"):
            indicateurs_de[indicateur.fiche_id].append(indicateur)
        decalage = {s.pk: 2024 - s.contrat.date_debut.year for s in sources}
        for numero, copie in enumerate(copies, start=1):
            source = origines[numero]
            for ligne in lignes_de[source]:
                annee = ligne.annee + decalage[source]
                if 2024 <= annee <= 2027:
                    lignes.append(
                        LigneFinancement(
                            fiche=copie,
                            annee=annee,
                            type_financeur=ligne.type_financeur,
                            financeur=ligne.financeur,
                            prevu=ligne.prevu,
                        )
                    )
            for indicateur in indicateurs_de[source]:
                nouveau = Indicateur(
                    fiche=copie,
                    nom=indicateur.nom,
                    type_indicateur=indicateur.type_indicateur,
                    unite=indicateur.unite,
                    valeur_reference=indicateur.valeur_reference,
                    source=indicateur.source,
                )
                indicateurs.append((nouveau, list(indicateur.valeurs.all()), decalage[source]))
        LigneFinancement.objects.bulk_create(lignes)
        Indicateur.objects.bulk_create([i for i, _, _ in indicateurs])
        for nouveau, anciennes, delta in indicateurs:
            valeurs += [
                ValeurIndicateur(indicateur=nouveau, annee=v.annee + delta, cible=v.cible)
                for v in anciennes
                if 2024 <= v.annee + delta <= 2027
            ]
        ValeurIndicateur.objects.bulk_create(valeurs)
        etat = (
            LigneFinancement.objects.filter(fiche__contrat=contrat, type_financeur=TypeFinanceur.ETAT)
            .values("annee")
            .annotate(s=Sum("prevu"))
        )
        Plafond.objects.bulk_create(
            Plafond(contrat=contrat, annee=row["annee"], montant=row["s"] + Decimal("10000")) for row in etat
        )
        self.stdout.write(f"Contrat de mesure {BENCH_REFERENCE} créé : {fiches} actions copiées de la démo.")
        return contrat
