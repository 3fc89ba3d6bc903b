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

        if "default" not in DONNEES_MIGREES:
            # tests/conftest.py took no copy: its guard ("no collected test uses the database") compares the test
            # database's name with _get_test_db_name(), which after the creation is "test_" + that name on
            # PostgreSQL, so it never takes one there. Take it now: the database is still as migrated unless a
            # transactional test of another kind already ran in this worker.
            with django_db_blocker.unblock():
                DONNEES_MIGREES["default"] = connection.creation.serialize_db_to_string()
        # The copy taken before any test ran (tests/conftest.py): transactional tests of another kind
        # (races on PostgreSQL) may already have emptied the database in this worker.
        connection._test_serialized_contents = DONNEES_MIGREES["default"]


# --- The front office (espace): agents logged in through the real login page, one data set per test ----------

#: The factories' password (tests/factories.py, UserFactory).
MOT_DE_PASSE = "mot-de-passe-de-test"


@pytest.fixture
def connecter(live_server, page):
    """Logs an agent in through the login page (``/connexion/``) with the mouse-free form filling of a user;
    returns on the home page. ``connecter("editeur05-hostile")``; another tab: ``connecter(nom, page=autre)``.
    """
    from playwright.sync_api import expect

    def _connecter(username: str, *, page=page) -> None:
        page.goto(f"{live_server.url}/connexion/")
        page.get_by_label("Nom d’utilisateur").fill(username)
        page.get_by_label("Mot de passe", exact=True).fill(MOT_DE_PASSE)
        page.get_by_role("button", name="Se connecter").click()
        expect(page).to_have_url(f"{live_server.url}/")
        expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()

    return _connecter


@pytest.fixture
def agents(live_server):
    """The data set of the front-office matrix (tests/fixtures_donnees.py) and one agent per persona.

    Hautes-Alpes: « CU-2024-D05 » in negotiation (fiches A1-01 and A2-01 proposed), « CLS-2024-D05 » signed with
    avenant n° 1 in draft; Rhône: « CLS-2025-D69 », outside the Hautes-Alpes' perimeter. Besides the data set's
    agents (DDETS, prefecture and Département of the Hautes-Alpes, DDETS of the Rhône, a superuser), a reader of
    the Hautes-Alpes' DDETS, the DREETS of Provence-Alpes-Côte d'Azur and an agent of the CAF that carries the
    Hautes-Alpes' actions. Returns the usernames by persona and the data set (``agents.donnees``).
    """
    from types import SimpleNamespace

    from pacte.enums import Role
    from pacte.models import Organisation
    from tests.factories import OrganisationFactory, UserFactory, region
    from tests.fixtures_donnees import construire_donnees

    donnees = construire_donnees()
    UserFactory(username="lecteur05", organisation=donnees.editeur_05.organisation, role=Role.LECTEUR)
    UserFactory(username="dreets93", organisation=OrganisationFactory(dreets=True, region=region("93")))
    UserFactory(username="caf05", organisation=Organisation.objects.get(nom="CAF des Hautes-Alpes"))
    return SimpleNamespace(
        donnees=donnees,
        editeur="editeur05-hostile",
        lecteur="lecteur05",
        collectivite="cd05-hostile",
        prefecture="prefecture05-hostile",
        autre="editeur69-hostile",
        region="dreets93",
        partenaire="caf05",
        nation="admin-hostile",
    )
