"""A DDETS agent's journey in the back-office, in a real browser."""

import pytest
from playwright.sync_api import Page, expect

from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    OrganisationFactory,
    UserFactory,
    collectivite,
    departement,
)

# The territories are loaded by a migration: each browser test gets them back after the previous
# one's flush (see conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


@pytest.fixture
def donnees():
    ddets05 = OrganisationFactory(ddets=True, departement=departement("05"))
    UserFactory(username="ddets05", organisation=ddets05, first_name="Claire", last_name="Durand")
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    FicheActionFactory(contrat=contrat, code="A1-01", intitule="Bus des familles du Champsaur")
    ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")


def test_ddets_agent_logs_in_and_sees_only_its_territory(live_server, page: Page, donnees):
    page.goto(f"{live_server.url}/")
    # Login is required everywhere: the home page sends to the login page.
    expect(page).to_have_url(f"{live_server.url}/connexion/?next=/")
    page.get_by_label("Nom d’utilisateur").fill("ddets05")
    page.get_by_label("Mot de passe", exact=True).fill("mot-de-passe-de-test")
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_text("DDETS Hautes-Alpes").first).to_be_visible()

    page.get_by_role("link", name="Back-office").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")
    # The first "Contrats" link is the app's section, the last one its list of contracts.
    page.get_by_role("link", name="Contrats", exact=True).last.click()
    expect(page.get_by_role("link", name="CLS-2024-D05")).to_be_visible()
    expect(page.get_by_text("CLS-2024-D69")).to_have_count(0)

    page.get_by_role("link", name="CLS-2024-D05").click()
    expect(page.get_by_text("Bus des familles du Champsaur").first).to_be_visible()

    # Guessing the URL of another territory's contract leads nowhere.
    response = page.goto(f"{live_server.url}/admin/contrats/contrat/?q=CLS-2024-D69")
    assert response.ok
    expect(page.get_by_text("CLS-2024-D69")).to_have_count(0)
