"""``manage.py bench_pages``: time the back-office lists on the data in place (run after bench_seed).

A benchmark, not a test: it prints the median of several requests and the number of SQL queries of
each list, for a national user and for a départemental one, so that the figures can be compared
between versions on the national data set.
"""

from __future__ import annotations

import statistics
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from pacte.models import User

PAGES = [
    "/admin/contrats/contrat/",
    "/admin/actions/ficheaction/",
    "/admin/financement/lignefinancement/",
    "/admin/financement/lignefinancement/?annee=2025&type_financeur=etat",
    "/admin/financement/plafond/",
    "/",
]


class Command(BaseCommand):
    help = "Mesure les listes du back-office (médiane de N requêtes, nombre de requêtes SQL)."

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
            for page in PAGES:
                durations = []
                for _ in range(repeat):
                    with CaptureQueriesContext(connection) as queries:
                        start = time.perf_counter()
                        response = client.get(page)
                        durations.append(time.perf_counter() - start)
                    if response.status_code != 200:
                        raise CommandError(f"{page} : réponse {response.status_code} pour {username}")
                median = statistics.median(durations) * 1000
                self.stdout.write(f"  {username:10} {page:70} {median:7.1f} ms  {len(queries):3d} requêtes SQL")
