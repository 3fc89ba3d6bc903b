"""``manage.py bench_seed`` (``make bench``): times ``seed_demo --reset`` on the configured database.

Meant for PostgreSQL (``DATABASE_URL=…/pacte_bench``): the database is created if missing and migrated,
then the domain data is purged and seeded again, ``--repeat`` times; each duration (``perf_counter``,
purge included) and the row counts are printed.
"""

from __future__ import annotations

import io
import platform
import statistics
import time
from datetime import datetime

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connection

from demo.builder import DEFAULT_REGION, DEFAULT_SEED, SCALES, counts
from demo.management.commands.seed_demo import format_counts


def _seconds(value: float) -> str:
    return f"{value:.2f} s".replace(".", ",")


class Command(BaseCommand):
    help = "Mesure seed_demo --reset (par défaut --scale national) : durées et nombres de lignes."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=SCALES, default="national")
        parser.add_argument("--region", default=DEFAULT_REGION)
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
        parser.add_argument("--repeat", type=int, default=1, help="Nombre de mesures (défaut 1).")
        parser.add_argument("--output", help="Écrit aussi le compte rendu dans ce fichier (ex. bench-2026-11.txt).")

    def handle(self, *args, scale, region, seed, repeat, output, **options):
        if repeat < 1:
            raise CommandError("--repeat doit valoir au moins 1.")
        self.ensure_database()
        call_command("migrate", interactive=False, verbosity=0)
        vendor = connection.vendor
        lines = [
            f"bench_seed – {datetime.now():%d/%m/%Y %H:%M} – {vendor} ({connection.settings_dict['NAME']}), "
            f"Python {platform.python_version()}",
            f"seed_demo --scale {scale}{f' --region {region}' if scale == 'region' else ''} --seed {seed} --reset",
        ]
        if vendor != "postgresql":
            lines.append("Attention : la mesure de référence se fait sur PostgreSQL.")
        self.stdout.write("\n".join(lines))
        durations = []
        for i in range(1, repeat + 1):
            out = io.StringIO()
            started = time.perf_counter()
            call_command("seed_demo", scale=scale, region=region, seed=seed, reset=True, stdout=out)
            durations.append(time.perf_counter() - started)
            detail = out.getvalue().splitlines()[0]
            line = f"mesure {i} : {_seconds(durations[-1])}  ({detail})"
            lines.append(line)
            self.stdout.write(line)
        if repeat > 1:
            summary = (
                f"min {_seconds(min(durations))}, médiane {_seconds(statistics.median(durations))}, "
                f"max {_seconds(max(durations))}"
            )
            lines.append(summary)
            self.stdout.write(summary)
        table = format_counts(counts())
        lines += ["Lignes :", table]
        self.stdout.write("Lignes :\n" + table)
        if output:
            with open(output, "w", encoding="utf-8") as f:
                f.write("\n".join(lines) + "\n")

    def ensure_database(self) -> None:
        """Creates the PostgreSQL database named by DATABASE_URL when it does not exist yet."""
        try:
            connection.ensure_connection()
            return
        except OperationalError:
            if connection.vendor != "postgresql":
                raise
        name = connection.settings_dict["NAME"]
        self.stdout.write(f"Création de la base {name}")
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
