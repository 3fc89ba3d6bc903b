"""Journey 2 of the front office, with the keyboard alone: a collectivité agent enters spent amounts and an
indicator value.

The Département des Hautes-Alpes' agent logs in and finds, on its home page, the fiche of the signed contract
« CLS-2024-D05 » whose execution is due; it types the committed and spent amounts of its own line (the State's are
shown, not editable), the people reached in 2025, first with an amount that does not read (refused in French beside
the cell, nothing written), then corrected; after saving, the page shows the amounts as stored and the fiche's page
shows them too. Tab, Shift+Tab, Enter and typing only, the focus visible at every step.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from actions.models import ValeurIndicateur
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from tests.navigateur.accessibilite import activer, se_connecter_au_clavier, tabuler_jusqua, taper_dans
from tests.navigateur.conftest import MOT_DE_PASSE
from tests.navigateur.test_espace_fiche import euros

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTRAT = "CLS-2024-D05"


def lignes_collectivite():
    return dict(
        LigneFinancement.objects.filter(
            fiche__contrat__reference=CONTRAT, fiche__code="A1-01", type_financeur=TypeFinanceur.COLLECTIVITE
        ).values_list("annee", "realise")
    )


def test_la_collectivite_saisit_son_realise_et_un_indicateur_au_clavier(live_server, page: Page, agents):
    base = live_server.url
    avant = lignes_collectivite()
    se_connecter_au_clavier(page, base, agents.collectivite, MOT_DE_PASSE)

    a_saisir = page.get_by_role("table", name=re.compile("^Montants réalisés et valeurs d'indicateurs"))
    ligne = a_saisir.get_by_role("row").filter(has=page.get_by_role("cell", name=CONTRAT, exact=True))
    activer(page, ligne.get_by_role("link", name=re.compile("^Saisir")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Exécution de la fiche A1-01")
    expect(page).to_have_url(f"{base}/contrats/{CONTRAT}/fiches/A1-01/execution/")

    # Its own line only: the State's amounts are shown, with no field.
    expect(page.get_by_role("textbox", name=re.compile("État"))).to_have_count(0)
    engage_2024 = page.get_by_role("textbox", name="Engagé – Collectivité, 2024", exact=True)
    realise_2024 = page.get_by_role("textbox", name="Réalisé – Collectivité, 2024", exact=True)
    taper_dans(page, engage_2024, "11 500")
    taper_dans(page, realise_2024, "neuf mille")
    personnes_2025 = page.get_by_role("textbox", name="Personnes accompagnées, valeur atteinte 2025", exact=True)
    taper_dans(page, personnes_2025, "95")
    activer(page, page.get_by_role("button", name="Enregistrer l'exécution"))

    # Refused beside the cell, in French; nothing written, what was typed is still there.
    expect(page.get_by_role("heading", level=1)).to_have_text("Exécution de la fiche A1-01")
    realise_2024 = page.get_by_role("textbox", name="Réalisé – Collectivité, 2024", exact=True)
    expect(realise_2024).to_have_value("neuf mille")
    groupe = page.locator(".fr-input-group").filter(has=realise_2024)
    expect(groupe).to_have_class(re.compile(r"\bfr-input-group--error\b"))
    expect(groupe.locator(".fr-message--error")).to_contain_text("« neuf mille » n'est pas un nombre")
    expect(page.get_by_role("alert")).to_contain_text("Rien n'a été enregistré")
    assert lignes_collectivite() == avant
    assert (
        not ValeurIndicateur.objects.filter(indicateur__fiche__contrat__reference=CONTRAT, annee=2025)
        .exclude(realise=None)
        .exists()
    )

    tabuler_jusqua(page, realise_2024)
    page.keyboard.press("Control+a")
    page.keyboard.type("9 876,50 €")
    activer(page, page.get_by_role("button", name="Enregistrer l'exécution"))

    expect(page.get_by_role("status").filter(has_text="L'exécution de la fiche A1-01 est enregistrée.")).to_be_visible()
    expect(page.get_by_role("textbox", name="Réalisé – Collectivité, 2024", exact=True)).to_have_value(
        euros("9 876,50")
    )
    expect(page.get_by_role("textbox", name="Engagé – Collectivité, 2024", exact=True)).to_have_value(
        euros("11 500,00")
    )
    expect(personnes_2025).to_have_value(re.compile(r"^95(,00)?$"))

    ligne_2024 = LigneFinancement.objects.get(
        fiche__contrat__reference=CONTRAT, fiche__code="A1-01", type_financeur=TypeFinanceur.COLLECTIVITE, annee=2024
    )
    assert (ligne_2024.engage, ligne_2024.realise, ligne_2024.prevu) == (
        Decimal("11500.00"),
        Decimal("9876.50"),
        Decimal("12000.00"),
    )
    valeur = ValeurIndicateur.objects.get(indicateur__fiche__contrat__reference=CONTRAT, annee=2025)
    assert (valeur.cible, valeur.realise) == (Decimal("120"), Decimal("95"))

    # The fiche's page shows what was entered.
    activer(page, page.get_by_role("link", name="Retour à la fiche"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("A1-01")
    expect(page.get_by_role("main")).to_contain_text(euros("9 876,50 €"))
