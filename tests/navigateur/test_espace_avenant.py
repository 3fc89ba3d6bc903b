"""Journey 4 of the front office, with the keyboard alone: an avenant changes planned amounts; once signed, the
contract page shows them.

« CLS-2024-D05 » is signed; on fiche A1-01 the State and the Département each plan 10 000 € and 12 000 € in 2025,
and the contract has no State envelope for 2025. Its avenant n° 1 (a draft) already raises the State's 2025 share to
12 000 €, which the page says the signature would refuse (no 2025 envelope). The DDETS agent proposes the 2025
envelope (40 000 €) and raises the Département's 2025 share to 14 000 €, reads the before → after table and the check
"after the avenant" (nothing refused any more), sends the avenant to signature; the prefecture's agent records its
signature; the contract's page then shows the new amounts: 22 000 € for the State and 26 000 € for the Département
on A1-01 over the period, 12 000 € and 14 000 € in 2025, and the 2025 envelope. Both agents use Tab, Enter and
typing only, the focus visible at every step.
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from contrats.enums import StatutAvenant
from contrats.models import Avenant, Contrat
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond
from tests.navigateur.accessibilite import activer, se_connecter_au_clavier, tabuler_jusqua, taper_date
from tests.navigateur.conftest import MOT_DE_PASSE
from tests.navigateur.test_espace_fiche import euros

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTRAT = "CLS-2024-D05"


def champ(page: Page, libelle: str):
    return page.get_by_label(re.compile(rf"^\s*{re.escape(libelle)}"))


def proposer(page: Page, bouton: str, titre: str, saisies: list[tuple[str, str]]) -> None:
    """From the avenant's page, opens a proposal form, fills its fields in the order Tab reaches them (a select by
    typing the beginning of its option, as on a keyboard), proposes, and is back on the avenant's page."""
    activer(page, page.get_by_role("link", name=bouton, exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(titre)
    for libelle, valeur in saisies:
        element = champ(page, libelle)
        tabuler_jusqua(page, element)
        page.keyboard.type(valeur)
        if element.evaluate("e => e.tagName") == "SELECT":
            expect(element.locator("option:checked")).to_have_text(re.compile("^" + re.escape(valeur)))
    activer(page, page.get_by_role("button", name="Proposer", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Avenant n° 1 au contrat {CONTRAT}")


def test_un_avenant_change_des_montants_vus_sur_le_contrat_au_clavier(live_server, page: Page, browser, agents):
    base = live_server.url
    se_connecter_au_clavier(page, base, agents.editeur, MOT_DE_PASSE)
    activer(page, page.get_by_role("table", name=re.compile("^Avenants en")).get_by_role("link", name="Avenant n° 1"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Avenant n° 1 au contrat {CONTRAT}")
    modifications = page.get_by_role("table", name=re.compile("^Ce que l'avenant change"))

    # As it is, the signature would be refused: no State envelope for 2025.
    refus = page.get_by_text("Tel quel, l'avenant serait refusé à la signature")
    expect(refus).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(
        euros("2025 : aucune enveloppe de l'État n'est fixée pour 12 000,00 € de parts prévues")
    )

    proposer(
        page,
        "Enveloppe annuelle",
        "Changer une enveloppe annuelle de l'État",
        [("Année", "2025"), ("Nouvelle", "40 000")],
    )
    proposer(
        page,
        "Montant prévu",
        "Changer un montant prévu",
        [("Fiche action", "A1-01"), ("Année", "2025"), ("Financeur", "Collectivité"), ("Nouveau montant", "14 000")],
    )

    # Before → after, and the money after the avenant: nothing would refuse the signature now.
    expect(refus).to_have_count(0)
    departement = modifications.get_by_role("row").filter(has_text="Collectivité")
    expect(departement.get_by_role("cell").nth(3)).to_have_text(euros("12 000,00 €"))
    expect(departement.get_by_role("cell").nth(4)).to_have_text(euros("14 000,00 €"))
    touchees = page.get_by_role("table", name=re.compile("^Parts prévues par action et par année"))
    a1_2025 = touchees.get_by_role("row").filter(has_text="A1-01")
    expect(a1_2025.get_by_role("cell")).to_have_text(
        [
            re.compile("^A1-01"),
            "2025",
            euros("10 000,00 €"),
            euros("12 000,00 €"),
            euros("12 000,00 €"),
            euros("14 000,00 €"),
            euros("26 000,00 €"),
            re.compile("respectée", re.I),
        ]
    )
    enveloppes = page.get_by_role("table", name=re.compile("^Parts prévues de l'État et enveloppe"))
    ligne_2025 = enveloppes.get_by_role("row").filter(has=page.get_by_role("cell", name="2025", exact=True))
    expect(ligne_2025).to_contain_text(euros("40 000,00 €"))
    expect(ligne_2025).to_contain_text(re.compile("respectée", re.I))

    activer(page, page.get_by_role("link", name="Envoyer à la signature"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Envoyer l'avenant à la signature")
    activer(page, page.get_by_role("button", name="Envoyer à la signature"))
    expect(page.get_by_role("status").filter(has_text="L'avenant est prêt pour signature.")).to_be_visible()
    assert Avenant.objects.get(contrat__reference=CONTRAT, numero=1).statut == StatutAvenant.PRET_SIGNATURE

    # The prefecture records the signature: the changes apply.
    prefecture = browser.new_page()
    se_connecter_au_clavier(prefecture, base, agents.prefecture, MOT_DE_PASSE)
    a_signer = prefecture.get_by_role("table", name=re.compile("^Avenants prêts pour signature"))
    activer(prefecture, a_signer.get_by_role("link", name=re.compile(r"^Signer")))
    expect(prefecture.get_by_role("heading", level=1)).to_have_text("Enregistrer la signature de l'avenant")
    taper_date(prefecture, champ(prefecture, "Date de signature"), date(2025, 6, 30))
    activer(prefecture, prefecture.get_by_role("button", name="Enregistrer la signature"))
    # The signature freezes the avenant's document (rendered and sealed inside the request in the tests).
    expect(prefecture.get_by_role("status").filter(has_text="ses modifications s'appliquent au contrat")).to_be_visible(
        timeout=90_000
    )
    prefecture.close()

    # The contract's page, reloaded by the DDETS agent: the new figures.
    page.goto(f"{base}/contrats/{CONTRAT}/")
    a1 = page.get_by_role("table", name="Fiches actions de l'axe 1").get_by_role("row").filter(has_text="A1-01")
    expect(a1.get_by_role("cell").nth(3)).to_have_text(euros("22 000,00 €"))
    expect(a1.get_by_role("cell").nth(4)).to_have_text(euros("26 000,00 €"))
    cofinancement = page.get_by_role("table", name=re.compile("^Montants prévus des fiches actives"))
    annee_2025 = cofinancement.get_by_role("row").filter(has=page.get_by_role("cell", name="2025", exact=True))
    expect(annee_2025.get_by_role("cell").nth(1)).to_have_text(euros("12 000,00 €"))
    expect(annee_2025.get_by_role("cell").nth(2)).to_have_text(euros("14 000,00 €"))
    plafonds = page.get_by_role("table", name="Enveloppes annuelles de l'État et parts prévues")
    expect(plafonds.get_by_role("row").filter(has_text="2025").first).to_contain_text(euros("40 000,00 €"))
    expect(
        page.get_by_role("table", name="Avenants au contrat").get_by_role("row").filter(has_text="Avenant n° 1")
    ).to_contain_text("Signé")

    contrat = Contrat.objects.get(reference=CONTRAT)
    lignes_2025 = dict(
        LigneFinancement.objects.filter(fiche__contrat=contrat, fiche__code="A1-01", annee=2025).values_list(
            "type_financeur", "prevu"
        )
    )
    assert lignes_2025 == {TypeFinanceur.ETAT: Decimal("12000.00"), TypeFinanceur.COLLECTIVITE: Decimal("14000.00")}
    assert Plafond.objects.get(contrat=contrat, annee=2025, volet=None).montant == Decimal("40000.00")
    avenant = Avenant.objects.get(contrat=contrat, numero=1)
    assert (avenant.statut, avenant.date_signature) == (StatutAvenant.SIGNE, date(2025, 6, 30))
