"""Journey 6 of the front office, with the keyboard alone: the annual report goes back and forth, then the balance.

On the signed contract « CLS-2024-D05 » (its 2024 report open, a 2024 balance planned by the DDETS): the Département
des Hautes-Alpes' agent writes the report and sends it; the DDETS's agent cannot request the balance yet (the page
says why, nothing changes), returns the report once with what to complete; the collectivité completes it and sends
it again; the DDETS validates it, and the balance's payment request then goes through. Tab, Shift+Tab, Enter and
typing only, the focus visible at every step, each agent in a browser context of their own.
"""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from contrats.models import Contrat
from financement.enums import NatureVersement, StatutRapport, StatutVersement
from financement.models import RapportAction, RapportAnnuel, Versement
from financement.services import versement_create
from tests.navigateur.accessibilite import activer, se_connecter_au_clavier, tabuler_jusqua, taper_dans
from tests.navigateur.conftest import MOT_DE_PASSE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTRAT = "CLS-2024-D05"
RAPPORT = f"/contrats/{CONTRAT}/rapports/2024/"


def statut_rapport() -> str:
    return RapportAnnuel.objects.get(contrat__reference=CONTRAT, annee=2024).statut


def confirmer(page: Page, bouton: str) -> None:
    """On a confirmation page: presses its button with the keyboard."""
    activer(page, page.get_by_role("main").get_by_role("button", name=bouton, exact=True))


def test_le_rapport_va_et_vient_puis_le_solde_se_demande_au_clavier(live_server, browser, agents):
    base = live_server.url
    solde = versement_create(
        contrat=Contrat.objects.get(reference=CONTRAT),
        annee=2024,
        nature=NatureVersement.SOLDE,
        montant=Decimal("10000"),
        numero_ej="2100123456",
        by=agents.donnees.editeur_05,
    )
    collectivite = browser.new_context().new_page()
    ddets = browser.new_context().new_page()
    se_connecter_au_clavier(collectivite, base, agents.collectivite, MOT_DE_PASSE)
    se_connecter_au_clavier(ddets, base, agents.editeur, MOT_DE_PASSE)

    # 1. The collectivité writes its report: the synthesis, then what the action did and where it stands.
    page = collectivite
    page.goto(base + RAPPORT)
    expect(page.locator("#manques")).to_contain_text("Action A1-01 : décrivez ce qui a été fait dans l'année.")
    activer(page, page.get_by_role("link", name="Rédiger le rapport"))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rédiger le rapport 2024 – {CONTRAT}")
    taper_dans(page, page.get_by_label("Synthèse de l'exécution"), " Le bus a roulé toute l'année.")
    avancement = page.get_by_label("Où en est l'action")
    tabuler_jusqua(page, avancement)
    page.keyboard.type("En cours")
    expect(avancement).to_have_value("en_cours")
    taper_dans(page, page.get_by_label("Ce qui a été fait dans l'année"), "Quarante semaines de tournée.")
    activer(page, page.get_by_role("button", name="Enregistrer"))
    expect(page.get_by_role("status").filter(has_text="Le rapport 2024 est enregistré.")).to_be_visible()
    expect(page.locator("#manques")).to_have_count(0)

    activer(page, page.get_by_role("link", name="Transmettre à la DDETS"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Transmettre le rapport à la DDETS")
    confirmer(page, "Transmettre à la DDETS")
    expect(page.get_by_role("status").filter(has_text="Le rapport est transmis à la DDETS.")).to_be_visible()
    assert statut_rapport() == StatutRapport.TRANSMIS

    # 2. The DDETS cannot request the balance yet: the confirmation says why, and the request is refused.
    page = ddets
    page.goto(f"{base}/contrats/{CONTRAT}/versements/{solde.uid}/")
    activer(page, page.get_by_role("link", name="Demander le paiement"))
    attente = "Le solde 2024 se demande une fois le rapport annuel d'exécution 2024 validé par la DDETS"
    expect(page.get_by_role("main")).to_contain_text(attente)
    confirmer(page, "Demander le paiement")
    expect(page.get_by_role("main")).to_contain_text(attente)
    assert Versement.objects.get(pk=solde.pk).statut == StatutVersement.PREVU

    # It returns the report once, saying what to complete.
    page.goto(base + RAPPORT)
    activer(page, page.get_by_role("link", name="Renvoyer pour compléments"))
    taper_dans(page, page.get_by_label("Ce qu'il faut compléter"), "Combien de familles ont pris le bus ?")
    confirmer(page, "Renvoyer pour compléments")
    expect(page.get_by_role("status").filter(has_text="Le rapport est renvoyé à la collectivité")).to_be_visible()
    assert statut_rapport() == StatutRapport.A_COMPLETER

    # 3. The collectivité reads the request, completes the action's narrative, sends again.
    page = collectivite
    page.goto(base + RAPPORT)
    expect(page.locator("#observations")).to_contain_text("Combien de familles ont pris le bus ?")
    activer(page, page.get_by_role("link", name="Rédiger le rapport"))
    recit = page.get_by_label("Ce qui a été fait dans l'année")
    tabuler_jusqua(page, recit)
    page.keyboard.press("End")
    page.keyboard.type(" 212 familles transportées.")
    activer(page, page.get_by_role("button", name="Enregistrer"))
    expect(page.get_by_role("status").filter(has_text="Le rapport 2024 est enregistré.")).to_be_visible()
    activer(page, page.get_by_role("link", name="Transmettre à la DDETS"))
    confirmer(page, "Transmettre à la DDETS")
    expect(page.get_by_role("status").filter(has_text="Le rapport est transmis à la DDETS.")).to_be_visible()
    section = RapportAction.objects.get(rapport__contrat__reference=CONTRAT, rapport__annee=2024)
    assert section.recit == "Quarante semaines de tournée. 212 familles transportées."
    assert section.avancement == "en_cours"

    # 4. The DDETS validates it; the balance's payment request now goes through.
    page = ddets
    page.goto(base + RAPPORT)
    activer(page, page.get_by_role("link", name="Valider le rapport"))
    confirmer(page, "Valider le rapport")
    expect(page.get_by_role("status").filter(has_text="Le rapport est validé.")).to_be_visible()
    assert statut_rapport() == StatutRapport.VALIDE

    page.goto(f"{base}/contrats/{CONTRAT}/versements/{solde.uid}/")
    activer(page, page.get_by_role("link", name="Demander le paiement"))
    expect(page.get_by_role("main")).not_to_contain_text(attente)
    confirmer(page, "Demander le paiement")
    expect(page.get_by_role("status").filter(has_text="La demande de paiement est enregistrée.")).to_be_visible()
    assert Versement.objects.get(pk=solde.pk).statut == StatutVersement.DEMANDE
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Demandé"))
