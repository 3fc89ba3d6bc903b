"""Journey 1 of the front office, with the keyboard alone: a DDETS agent creates a fiche with two years of funding.

The agent logs in, goes to the contract in negotiation through the main navigation and the skip link, opens the
fiche form, fills it, types the State's and the Département's amounts for 2024 and 2025 and meets the parity error
beside the 2024 column while typing (htmx asks the same rules as the server), raises the Département's share, saves
and finds the fiche with its amounts on the contract's page. Only Tab, Shift+Tab, Enter and typing: no click, and
at every Tab the focused element shows the DSFR's focus ring (tests/navigateur/accessibilite.py).
"""

import re
from datetime import date
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from actions.enums import StatutFiche
from actions.models import FicheAction
from financement.enums import TypeFinanceur
from tests.navigateur.accessibilite import (
    activer,
    element_actif,
    se_connecter_au_clavier,
    tabuler_jusqua,
    taper_dans,
    taper_date,
)
from tests.navigateur.conftest import MOT_DE_PASSE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTRAT = "CU-2024-D05"
COLLECTIVITE = "Collectivité (Département des Hautes-Alpes)"


def euros(texte: str) -> re.Pattern:
    """An amount as the pages show it, whatever the spaces (the thousands separator is a non-breaking space)."""
    return re.compile(re.escape(texte).replace(r"\ ", r"\s"))


def choisir(page: Page, nom: str, texte: str) -> None:
    """Reaches a select with Tab and picks an option by typing its first letters, as one does on a keyboard."""
    liste = page.get_by_role("combobox", name=nom, exact=True)
    tabuler_jusqua(page, liste)
    page.keyboard.type(texte)
    expect(liste.locator("option:checked")).to_have_text(re.compile("^" + re.escape(texte)))


def test_la_ddets_cree_une_fiche_sur_deux_ans_au_clavier(live_server, page: Page, agents):
    base = live_server.url
    se_connecter_au_clavier(page, base, agents.editeur, MOT_DE_PASSE)

    # The main navigation, then the skip link of the list: the next Tab is in the content, not in the header.
    menu = page.get_by_role("navigation", name="Menu principal")
    activer(page, menu.get_by_role("link", name="Contrats", exact=True))
    expect(page.get_by_role("heading", level=1)).to_have_text("Contrats")
    contenu = page.get_by_role("navigation", name="Accès rapide").get_by_role("link", name="Contenu")
    assert tabuler_jusqua(page, contenu, max_tabs=1) == 1, "Le premier arrêt de Tab est le lien « Contenu »"
    expect(contenu).to_be_in_viewport()
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.getElementById('content').contains(document.activeElement)"), element_actif(
        page
    )
    activer(page, page.get_by_role("link", name=CONTRAT, exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONTRAT)
    activer(page, page.get_by_role("link", name="Nouvelle fiche action"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Nouvelle fiche action – {CONTRAT}")

    # The fiche.
    taper_dans(page, page.get_by_role("textbox", name="Intitulé", exact=True), "Médiation numérique itinérante")
    choisir(page, "Axe", "Axe 1")
    choisir(page, "Nature", "Nouvelle")
    choisir(page, "Porteur", "CAF des Hautes-Alpes")
    taper_date(page, page.get_by_label(re.compile(r"^\s*Début")), date(2025, 1, 1))
    taper_date(page, page.get_by_label(re.compile(r"^\s*Fin\b")), date(2026, 12, 31))

    # The funding grid, row by row as Tab goes: the State pays more than the Département in 2024.
    taper_dans(page, page.get_by_role("textbox", name="État, 2024", exact=True), "15 000")
    taper_dans(page, page.get_by_role("textbox", name="État, 2025", exact=True), "8 000")
    departement_2024 = page.get_by_role("textbox", name=f"{COLLECTIVITE}, 2024", exact=True)
    taper_dans(page, departement_2024, "10 000")
    taper_dans(page, page.get_by_role("textbox", name=f"{COLLECTIVITE}, 2025", exact=True), "8 000,00 €")

    # While typing: the parity error under the 2024 column (with the amounts), the column's cells in error, the
    # field described by that message; 2025 is at parity.
    controle_2024 = page.locator("#controle-2024")
    expect(controle_2024).to_contain_text(
        euros("2024 : la part prévue de l'État (15 000,00 €) dépasse celle du Département (10 000,00 €) de 5 000,00 €")
    )
    expect(page.locator("#controle-2025")).to_have_text("")
    expect(page.locator("#total-2024")).to_have_text(euros("25 000,00 €"))
    cellules_2024 = page.locator(".saisie-cellule[data-annee='2024']")
    expect(cellules_2024).to_have_count(3)  # the State, the Département, another funder to add
    expect(page.locator(".saisie-cellule.fr-input-group--error[data-annee='2024']")).to_have_count(3)
    expect(page.locator(".saisie-cellule.fr-input-group--error[data-annee='2025']")).to_have_count(0)
    expect(departement_2024).to_have_attribute("aria-describedby", re.compile(r"\bcontrole-2024\b"))
    expect(page.locator("#controle-resume")).to_contain_text("2 écarts à corriger")
    assert FicheAction.objects.filter(contrat__reference=CONTRAT).count() == 2  # nothing saved while typing

    # Back to the Département's 2024 cell (Shift+Tab), its amount replaced: the error goes away.
    tabuler_jusqua(page, departement_2024, arriere=True)
    page.keyboard.press("Control+a")
    page.keyboard.type("15 000")
    expect(controle_2024).to_have_text("")
    expect(page.locator("#controle-resume")).to_contain_text("respectées")
    expect(page.locator(".saisie-cellule.fr-input-group--error")).to_have_count(0)

    activer(page, page.get_by_role("button", name="Enregistrer la fiche"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Fiche A1-02 – Médiation numérique itinérante")
    expect(page.get_by_role("status").filter(has_text="La fiche A1-02 est enregistrée.")).to_be_visible()

    # On the contract's page, under axe 1, with the amounts of both years.
    activer(page, page.get_by_role("main").get_by_role("link", name=CONTRAT, exact=True))
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONTRAT)
    ligne = page.get_by_role("table", name="Fiches actions de l'axe 1").get_by_role("row").filter(has_text="A1-02")
    expect(ligne.get_by_role("cell")).to_have_text(
        ["A1-02", "Médiation numérique itinérante", "Proposée", euros("23 000,00 €"), euros("23 000,00 €")]
    )

    fiche = FicheAction.objects.get(contrat__reference=CONTRAT, code="A1-02")
    assert (fiche.statut, fiche.axe.numero, fiche.date_debut, fiche.date_fin) == (
        StatutFiche.PROPOSEE,
        1,
        date(2025, 1, 1),
        date(2026, 12, 31),
    )
    assert sorted(fiche.financements.values_list("annee", "type_financeur", "prevu")) == [
        (2024, TypeFinanceur.COLLECTIVITE, Decimal("15000.00")),
        (2024, TypeFinanceur.ETAT, Decimal("15000.00")),
        (2025, TypeFinanceur.COLLECTIVITE, Decimal("8000.00")),
        (2025, TypeFinanceur.ETAT, Decimal("8000.00")),
    ]
