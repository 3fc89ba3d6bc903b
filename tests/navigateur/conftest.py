"""Browser tests: Debian's Chromium driven by Playwright (no browser download on this machine).

The live server reads the database from another thread, so these tests are transactional: the
database is emptied (flushed) after each of them, reference data included. The territories, axes,
rules and site settings come from migrations, not from the factories: every browser test declares
``pytest.mark.django_db(transaction=True, serialized_rollback=True)``, so that Django restores the
migrated data before the test (see ``_donnees_des_migrations`` below). Without it only the first
browser test of a session (or of an xdist worker) would find ``Collectivite D05``.
"""

import os
import shutil

import pytest
from django.db import connection

# live_server runs in a thread while Playwright's sync API runs an event loop in the test thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium est introuvable : installez le paquet Debian « chromium » (make system-deps).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session", autouse=True)
def _donnees_des_migrations(django_db_setup, django_db_blocker, playwright):
    """Gives serialized_rollback its copy of the migrated database on the connection the tests use.

    Django keeps that copy on the connection object it created the test database with. Once
    Playwright's sync API runs its event loop in the test thread, asgiref hands out database
    connections from another (async) storage: when the test database was created before Playwright
    started (other tests ran first, as in ``make test``), the browser tests get a new connection
    object without the copy, and Django silently restores nothing. This fixture runs once, after
    Playwright started and before the first browser test, from the copy of the migrated database
    taken at the start of the session.
    """
    if getattr(connection, "_test_serialized_contents", None) is None:
        from tests.conftest import DONNEES_MIGREES

        # The copy taken before any test ran (tests/conftest.py): transactional tests of another kind
        # (races on PostgreSQL) may already have emptied the database in this worker.
        connection._test_serialized_contents = DONNEES_MIGREES["default"]
