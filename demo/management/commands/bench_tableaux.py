"""``manage.py bench_tableaux [--multiplier 10]``: times the consolidated dashboards on the data in place.

A benchmark, not a test (issue 9's target: the national dashboard under 100 ms median on PostgreSQL with ten times
the demo's funding lines). Run after ``bench_seed`` (``make bench`` does, on PostgreSQL, at 1× then at 10×).

For the national, a regional and a départemental dashboard (each opened by the demo user of that level, on its own
territory: ``dgcs``, ``dreets-paca``, ``ddets05``), it prints the median server time of ``--repeat`` requests (after
one that draws the charts into the cache, whose time is printed too), the part of it spent in this process (CPU
time: on a loaded machine the wall time waits for the processor too) and the number of SQL queries, beside the
floor: the bare aggregate query on ``LigneFinancement`` the page would otherwise need (the user's lines of active
fiches summed per axis, objective, measure, year and funder: the grouping of the summary's main query), and the
summary's own grouped queries.

``--multiplier N`` first multiplies the funding lines by N in the database in place: each fiche gets N − 1 copies in
its contract (code ``X<k>-<id>``, same axis, measure, status and lines), written with ``bulk_create``, then the
summary is rebuilt and the tables analysed. The copies sit where their originals do in the reference list, as more
actions of a real contract would: the summary keeps its size while the lines grow N times. Meant for a bench
database (its name must contain ``bench``, or ``--force``); ``seed_demo --reset`` removes the copies with the rest.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Sum
from django.test import Client
from django.test.utils import CaptureQueriesContext

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction
from espace.views.tableaux import territoire_de
from financement.models import LigneFinancement, SyntheseFinancement
from financement.selectors import consolidation
from financement.synthese import synthese_rebuild
from pacte.models import User

#: (level, demo user) — each opens its own territory's dashboard.
NIVEAUX = (("national", "dgcs"), ("régional", "dreets-paca"), ("départemental", "ddets05"))
COPIE = "X"
LOT = 5000


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms".replace(".", ",")


def _median(fn, repeat: int) -> float:
    durations = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        durations.append(time.perf_counter() - start)
    return statistics.median(durations)


def agregat_nu(user):
    """The bare aggregate on the funding lines that the page would need without the summary (the floor)."""
    return list(
        LigneFinancement.objects.for_user(user)
        .filter(fiche__statut__in=STATUTS_ACTIFS)
        .values(
            "fiche__axe_id", "fiche__objectif_id", "fiche__mesure_id", "fiche__mesure_locale", "annee", "type_financeur"
        )
        .annotate(prevu=Sum("prevu"), engage=Sum("engage"), realise=Sum("realise"))
        .order_by()
    )


class Command(BaseCommand):
    help = (
        "Mesure les tableaux de bord national, régional et départemental (médiane, requêtes SQL) à côté de "
        "l'agrégat nu sur les lignes de financement ; --multiplier N multiplie d'abord les lignes par N."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=9, help="Requêtes mesurées par page (défaut 9).")
        parser.add_argument("--multiplier", type=int, default=1, help="Multiplie d'abord les lignes par N.")
        parser.add_argument("--force", action="store_true", help="Multiplie même hors d'une base de banc d'essai.")

    def handle(self, *args, repeat, multiplier, force, **options):
        if repeat < 1 or multiplier < 1:
            raise CommandError("--repeat et --multiplier valent au moins 1.")
        nom = connection.settings_dict["NAME"]
        if multiplier > 1:
            if "bench" not in str(nom) and not force:
                raise CommandError(f"--multiplier écrit dans la base {nom} : réservé à une base de banc d'essai.")
            self.multiplier(multiplier)
        lignes, synthese = LigneFinancement.objects.count(), SyntheseFinancement.objects.count()
        self.stdout.write(
            f"bench_tableaux – {connection.vendor} ({nom}), {repeat} requêtes par page ; "
            f"{lignes:,} lignes de financement, {synthese:,} lignes de synthèse".replace(",", "\u202f")
        )
        if connection.vendor != "postgresql":
            self.stdout.write("Attention : la mesure de référence se fait sur PostgreSQL.")
        for niveau, username in NIVEAUX:
            self.mesurer(niveau, username, repeat)

    def mesurer(self, niveau: str, username: str, repeat: int) -> None:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"Utilisateur {username} introuvable : lancez d'abord seed_demo.")
        client = Client()
        client.force_login(user)
        url = "/tableaux/"
        start = time.perf_counter()
        premiere = client.get(url)
        froid = time.perf_counter() - start
        if premiere.status_code != 200:
            raise CommandError(f"{url} : réponse {premiere.status_code} pour {username}")
        durations, cpu = [], []
        for _ in range(repeat):
            with CaptureQueriesContext(connection) as queries:
                start, start_cpu = time.perf_counter(), time.process_time()
                client.get(url)
                durations.append(time.perf_counter() - start)
                cpu.append(time.process_time() - start_cpu)
        page = statistics.median(durations)
        user = User.objects.select_related("organisation__region", "organisation__departement").get(pk=user.pk)
        territoire = territoire_de(user)
        synthese = SyntheseFinancement.objects.for_user(user).filter(territoire.q("contrat__collectivite"))
        plancher = _median(lambda: agregat_nu(user), repeat)
        resume = _median(lambda: consolidation(synthese), repeat)
        self.stdout.write(
            f"  {niveau:14} {username:12} {territoire.nom[:28]:28} médiane {_ms(page)} "
            f"(dont Python {_ms(statistics.median(cpu)).strip()} ; 1re {_ms(froid).strip()}) "
            f"{len(queries):3d} requêtes SQL | agrégat nu sur les lignes {_ms(plancher)} | "
            f"lecture de la synthèse {_ms(resume)}"
        )

    @transaction.atomic
    def multiplier(self, facteur: int) -> None:
        if FicheAction.objects.filter(code__regex=rf"^{COPIE}[0-9]+-[0-9]+$").exists():
            raise CommandError("Les lignes sont déjà multipliées : relancez bench_seed (seed_demo --reset) d'abord.")
        started = time.perf_counter()
        originales = list(FicheAction.objects.order_by("pk"))
        lignes: dict[int, list[LigneFinancement]] = {}
        for ligne in LigneFinancement.objects.order_by("pk"):
            lignes.setdefault(ligne.fiche_id, []).append(ligne)
        champs = [f.attname for f in FicheAction._meta.concrete_fields if f.attname not in ("id", "uid", "code")]
        for k in range(2, facteur + 1):
            copies = [
                FicheAction(code=f"{COPIE}{k}-{fiche.pk}", **{champ: getattr(fiche, champ) for champ in champs})
                for fiche in originales
            ]
            FicheAction.objects.bulk_create(copies, batch_size=LOT)
            nouvelles = [
                LigneFinancement(
                    fiche_id=copie.pk,
                    annee=ligne.annee,
                    type_financeur=ligne.type_financeur,
                    financeur_id=ligne.financeur_id,
                    prevu=ligne.prevu,
                    engage=ligne.engage,
                    realise=ligne.realise,
                )
                for fiche, copie in zip(originales, copies, strict=True)
                for ligne in lignes.get(fiche.pk, [])
            ]
            LigneFinancement.objects.bulk_create(nouvelles, batch_size=LOT)
        synthese_rebuild()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
        duree = f"{time.perf_counter() - started:.1f} s".replace(".", ",")
        self.stdout.write(f"Lignes multipliées par {facteur} (copies des fiches dans leur contrat) en {duree}.")
