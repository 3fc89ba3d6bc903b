"""``manage.py bench_pages``: time the front-office and back-office pages on the data in place.

Run after ``bench_seed`` (``make bench`` does both on PostgreSQL).

A benchmark, not a test: it prints the median of several requests and the number of SQL queries of
each page, for a national user and for a départemental one, so that the figures can be compared
between versions on the national data set. Besides the lists, it opens the change pages of the
largest fiche (by funding lines) and of the largest contract (by rows in its inlines) that each user
sees: both should cost the same number of queries as a small one.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.models import FicheAction
from contrats.models import Avenant, Comite, Contrat, Signataire, Volet
from financement.models import LigneFinancement, Plafond, Versement
from pacte.models import User

#: The front office's lists; the issue's targets: the fiche list with filters under 150 ms (median),
#: a contract page under 200 ms, on the national demo on PostgreSQL.
PAGES_ESPACE = [
    "/",
    "/contrats/",
    "/contrats/?statut=en_execution&type_contrat=cls_departement",
    "/fiches/",
    "/fiches/?axe=1&statut=validee&annee=2025&financeur=etat",
    "/fiches/?q=insertion&tri=-etat",
]

PAGES = [
    *PAGES_ESPACE,
    "/admin/contrats/contrat/",
    "/admin/actions/ficheaction/",
    "/admin/financement/lignefinancement/",
    "/admin/financement/lignefinancement/?annee=2025&type_financeur=etat",
    "/admin/financement/plafond/",
    "/",
]

#: The rows a contract's change page lists, one inline each.
LIGNES_DU_CONTRAT = [FicheAction, Signataire, Volet, Plafond, Versement, Avenant, Comite]


def _nombre(model, champ: str):
    """The number of ``model`` rows pointing at the outer row through ``champ``, as a subquery."""
    rows = model.objects.filter(**{champ: OuterRef("pk")}).order_by().values(champ)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)


def pages_de_modification(user) -> list[tuple[str, str]]:
    """The change pages of the user's largest fiche and largest contract, each with its label."""
    pages = []
    fiche = (
        FicheAction.objects.for_user(user)
        .annotate(lignes=_nombre(LigneFinancement, "fiche"))
        .order_by("-lignes", "pk")
        .first()
    )
    if fiche is not None:
        url = reverse("admin:actions_ficheaction_change", args=(fiche.pk,))
        pages.append((url, f"{url} ({fiche.lignes} lignes de financement)"))
        url = reverse("espace:fiche", kwargs={"reference": fiche.contrat.reference, "code": fiche.code})
        pages.append((url, f"{url} ({fiche.lignes} lignes de financement)"))
    lignes = sum((_nombre(model, "contrat") for model in LIGNES_DU_CONTRAT[1:]), _nombre(FicheAction, "contrat"))
    contrat = Contrat.objects.for_user(user).annotate(lignes=lignes).order_by("-lignes", "pk").first()
    if contrat is not None:
        url = reverse("admin:contrats_contrat_change", args=(contrat.pk,))
        pages.append((url, f"{url} ({contrat.lignes} lignes)"))
        url = reverse("espace:contrat", kwargs={"reference": contrat.reference})
        pages.append((url, f"{url} ({contrat.lignes} lignes)"))
    return pages


class Command(BaseCommand):
    help = (
        "Mesure les pages du front office et les listes et plus grandes pages de modification du back-office "
        "(médiane de N requêtes, nombre de requêtes SQL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--repeat", type=int, default=5)
        parser.add_argument("--users", nargs="+", default=["dgcs", "ddets05"])

    def handle(self, *args, repeat, users, **options):
        self.stdout.write(f"bench_pages – {connection.vendor} ({connection.settings_dict['NAME']}), {repeat} requêtes")
        for username in users:
            user = User.objects.filter(username=username).first()
            if user is None:
                raise CommandError(f"Utilisateur {username} introuvable : lancez d'abord seed_demo.")
            client = Client()
            client.force_login(user)
            for page, label in [(page, page) for page in PAGES] + pages_de_modification(user):
                durations = []
                for _ in range(repeat):
                    with CaptureQueriesContext(connection) as queries:
                        start = time.perf_counter()
                        response = client.get(page)
                        durations.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        raise CommandError(f"{page} : réponse {response.status_code} pour {username}")
                median = statistics.median(durations) * 1000
                self.stdout.write(f"  {username:10} {label:70} {median:7.1f} ms  {len(queries):3d} requêtes SQL")
