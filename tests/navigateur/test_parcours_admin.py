"""Three agents' journeys through the back-office, in a real browser.

- a collectivité's agent enters the spent amount of its own funding line on a signed contract;
- a DDETS agent validates a fiche action: refused while the State pays more than the collectivité;
- the administration centrale renames an axe, which a DDETS agent reads without being able to change it.

Amounts shown by the back-office use non-breaking spaces (``60 000,00 €``): the regular expressions
below match them with ``\\s``, which JavaScript (where Playwright evaluates them) extends to U+00A0.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Locator, Page, expect

from actions.enums import StatutFiche
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    UserFactory,
    axe,
    collectivite,
)

# The territories and axes are loaded by a migration: each browser test gets them back after the
# previous one's flush (see conftest.py).
pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

MOT_DE_PASSE = "mot-de-passe-de-test"
MONTANT_PREVU = re.compile(r"^12\s500,00\s€$")


def se_connecter(page: Page, base_url: str, username: str) -> None:
    """Logs in through the login page, then opens the back-office from the header's link."""
    page.goto(f"{base_url}/")
    expect(page).to_have_url(f"{base_url}/connexion/?next=/")
    page.get_by_label("Nom d’utilisateur").fill(username)
    page.get_by_label("Mot de passe", exact=True).fill(MOT_DE_PASSE)
    page.get_by_role("button", name="Se connecter").click()
    expect(page).to_have_url(f"{base_url}/")
    page.get_by_role("link", name="Back-office").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Administration")


def ouvrir_la_liste(page: Page, modele: str) -> None:
    """Follows the model's link on the back-office index (not the app's caption of the same name)."""
    page.get_by_role("rowheader", name=modele, exact=True).get_by_role("link").click()


def message(page: Page, texte: str | re.Pattern) -> Locator:
    """The message Django shows at the top of the page, after a save or an action."""
    return page.get_by_role("listitem").filter(has_text=texte)


# --- 1. The collectivité enters what it spent --------------------------------------------------------------


def test_la_collectivite_saisit_son_realise_sans_toucher_au_prevu(live_server, page: Page):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2023-D05", signe=True)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", intitule="Bus des familles du Champsaur", validee=True)
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("12500"))
    ligne = LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("12500"))
    departement_05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    UserFactory(username="agent-d05", organisation=departement_05, first_name="Léa", last_name="Martin")

    se_connecter(page, live_server.url, "agent-d05")
    ouvrir_la_liste(page, "Lignes de financement")
    page.get_by_role("navigation", name="Filtre").get_by_role("link", name="Collectivité", exact=True).click()
    lignes = page.get_by_role("main").get_by_role("rowgroup").last.get_by_role("row")
    expect(lignes).to_have_count(1)
    expect(lignes.get_by_role("cell")).to_have_text(["CLS-2023-D05", "2024", "Collectivité", MONTANT_PREVU, "-", "-"])
    lignes.get_by_role("link", name="A1-01").click()

    expect(page.get_by_role("heading", level=2)).to_have_text("A1-01 – 2024 – Collectivité")
    # The contract is signed: the planned amount is shown as text, with no field to change it.
    expect(page.get_by_text(re.compile(r"^12\s500,00\s€$"))).to_be_visible()
    expect(page.get_by_label("Prévu")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(2)  # engagé and réalisé only, typed the French way
    page.get_by_role("textbox", name="Réalisé").fill("9 876,50 €")
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    expect(message(page, "a été modifié avec succès")).to_contain_text("A1-01 – 2024 – Collectivité")
    # Back on the list, still filtered on the collectivité's lines.
    expect(lignes.get_by_role("cell")).to_have_text(
        ["CLS-2023-D05", "2024", "Collectivité", MONTANT_PREVU, "-", re.compile(r"^9\s876,50\s€$")]
    )
    ligne.refresh_from_db()
    assert (ligne.prevu, ligne.engage, ligne.realise) == (Decimal("12500.00"), None, Decimal("9876.50"))


# --- 2. The DDETS validates a fiche: the 50/50 rule first ---------------------------------------------------


def test_la_ddets_ne_valide_une_fiche_qu_a_parite(live_server, page: Page):
    UserFactory(username="ddets05", organisation=OrganisationFactory(ddets=True))
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", intitule="Bus des familles du Champsaur")
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("60000"))
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("50000"))
    voisine = FicheActionFactory(contrat=contrat, code="A1-02", intitule="Médiation numérique")

    se_connecter(page, live_server.url, "ddets05")
    ouvrir_la_liste(page, "Fiches actions")
    ligne = page.get_by_role("row").filter(has=page.get_by_role("link", name="A1-01", exact=True))
    expect(ligne).to_contain_text("Proposée")

    def valider_la_fiche() -> None:
        ligne.get_by_role("checkbox").check()
        actions = page.get_by_label("Action :")
        valider = actions.get_by_role("option", name=re.compile(r"^Valider")).text_content()
        actions.select_option(label=valider)
        page.get_by_role("button", name="Envoyer").click()

    valider_la_fiche()
    expect(message(page, "La fiche A1-01 ne peut pas être validée")).to_be_visible()
    expect(
        message(
            page,
            re.compile(
                r"Fiche A1-01, 2024 : la part prévue de l'État \(60\s000,00\s€\) "
                r"dépasse celle du Département \(50\s000,00\s€\) de 10\s000,00\s€$"
            ),
        )
    ).to_be_visible()
    # 60 000 € out of 110 000 € is also more than the State's 50 % of the cost.
    expect(
        message(page, re.compile(r"Fiche A1-01, 2024 : .* dépasse 50\s%\sdu coût total prévu \(110\s000,00\s€\)"))
    ).to_be_visible()
    expect(ligne).to_contain_text("Proposée")
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.PROPOSEE

    # The Département raises its share to the State's: the fiche now passes.
    LigneFinancement.objects.filter(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE).update(
        prevu=Decimal("60000")
    )
    valider_la_fiche()
    expect(message(page, "1 fiche(s) validée(s).")).to_be_visible()
    expect(message(page, "ne peut pas être validée")).to_have_count(0)
    expect(ligne).to_contain_text("Validée")
    fiche.refresh_from_db()
    voisine.refresh_from_db()
    assert (fiche.statut, voisine.statut) == (StatutFiche.VALIDEE, StatutFiche.PROPOSEE)


# --- 3. The administration centrale keeps the axes; the DDETS reads them ------------------------------------


def test_l_administration_centrale_renomme_un_axe_que_la_ddets_lit_seulement(live_server, page: Page):
    UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True), first_name="Paul")
    UserFactory(username="ddets05", organisation=OrganisationFactory(ddets=True), first_name="Claire")

    se_connecter(page, live_server.url, "dgcs")
    ouvrir_la_liste(page, "Axes")
    page.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Modification de axe")
    intitule_court = page.get_by_role("textbox", name="Intitulé court")
    expect(intitule_court).to_have_value("Enfance")
    intitule_court.fill("Petite enfance")
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    expect(message(page, "a été modifié avec succès")).to_contain_text("Axe 1 – Petite enfance")
    axe_1 = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="1", exact=True))
    expect(axe_1.get_by_role("cell").first).to_have_text("Petite enfance")
    assert axe(1).intitule_court == "Petite enfance"

    page.get_by_role("button", name="Déconnexion").click()
    se_connecter(page, live_server.url, "ddets05")
    ouvrir_la_liste(page, "Axes")
    page.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Affichage de axe")
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Intitulé court\s*:\s*Petite enfance"))
    expect(page.get_by_label("Intitulé court")).to_have_count(0)
    expect(page.get_by_role("textbox")).to_have_count(0)
    expect(page.get_by_role("button", name="Enregistrer")).to_have_count(0)
