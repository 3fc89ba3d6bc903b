import pytest
from django.db import connection

from tests.factories import ContratFactory, OrganisationFactory, UserFactory, collectivite, departement


@pytest.fixture
def ddets_05(db):
    """DDETS of the Hautes-Alpes: perimeter = the collectivités on département 05."""
    return OrganisationFactory(ddets=True, departement=departement("05"))


@pytest.fixture
def editeur(ddets_05):
    """An editor in the perimeter of the Hautes-Alpes contracts."""
    return UserFactory(username="editeur05", organisation=ddets_05)


@pytest.fixture
def lecteur(ddets_05):
    """A reader in the same perimeter."""
    return UserFactory(username="lecteur05", organisation=ddets_05, lecteur=True)


@pytest.fixture
def autre_territoire(db):
    """An editor of another territory (DDETS du Rhône)."""
    return UserFactory(
        username="editeur69", organisation=OrganisationFactory(ddets=True, departement=departement("69"))
    )


@pytest.fixture
def contrat_05(db):
    """A CLS of the Département des Hautes-Alpes, in negotiation."""
    return ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")


#: The migrated database (territories, axes, rules, site settings) as serialized once, before any test ran.
DONNEES_MIGREES: dict[str, str] = {}


@pytest.fixture(scope="session", autouse=True)
def _donnees_migrees(django_db_setup, django_db_blocker):
    """Keeps a copy of the migrated database for the transactional tests (``serialized_rollback``).

    A transactional test (browser journeys, races on PostgreSQL) empties the database after it runs and
    restores this copy before the next one; with ``pytest -n 2`` either kind may run first in a worker,
    and the browser tests read it through another connection object (see tests/navigateur/conftest.py).
    """
    from django.db import DatabaseError

    with django_db_blocker.unblock():
        try:
            DONNEES_MIGREES["default"] = (
                getattr(connection, "_test_serialized_contents", None) or connection.creation.serialize_db_to_string()
            )
        except DatabaseError:
            return  # no collected test uses the database: pytest-django created none
        connection._test_serialized_contents = DONNEES_MIGREES["default"]
