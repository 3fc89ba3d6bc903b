import pytest

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
