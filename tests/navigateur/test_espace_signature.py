"""Journey 3 of the front office, with the keyboard alone: a prefecture agent signs a contract ready for signature.

The DDETS has validated the fiches of « CU-2024-D05 » and marked it ready for signature (through the services,
before the journey). The prefecture's agent logs in, finds the contract on its home page under "Contrats à signer",
opens the signing page, types each signatory's date (one in the future first: refused in French, nothing written),
confirms, and lands on the contract's page: signed, on the last signatory's date. Only Tab, Shift+Tab, Enter and
typing, with the focus visible at every step; the skip links to the menu and to the footer are checked on the
signing page.
"""

import re
from datetime import date, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from actions.enums import StatutFiche
from actions.services import fiche_transition
from contrats.enums import PartieSignataire, StatutContrat
from contrats.models import Contrat
from contrats.services import contrat_transition
from tests.navigateur.accessibilite import (
    activer,
    se_connecter_au_clavier,
    taper_date,
    verifier_focus_visible,
    verifier_lien_d_evitement,
)
from tests.navigateur.conftest import MOT_DE_PASSE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

CONTRAT = "CU-2024-D05"


def pret_pour_signature(agents) -> Contrat:
    """The DDETS's part, done before the journey: fiches validated, contract ready for signature."""
    contrat = Contrat.objects.get(reference=CONTRAT)
    for fiche in contrat.fiches.all():
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE, by=agents.donnees.editeur_05)
    return contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE, by=agents.donnees.editeur_05)


def test_la_prefecture_signe_un_contrat_pret_au_clavier(live_server, page: Page, agents):
    base = live_server.url
    pret_pour_signature(agents)
    se_connecter_au_clavier(page, base, agents.prefecture, MOT_DE_PASSE)

    a_signer = page.get_by_role("table", name="Contrats prêts pour signature")
    expect(a_signer.get_by_role("row")).to_have_count(2)  # the header and CU-2024-D05
    activer(page, a_signer.get_by_role("link", name=re.compile(f"^Signer.*{CONTRAT}")))
    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrer la signature du contrat")
    signataires = page.get_by_role("table", name=f"Signataires du contrat {CONTRAT}")
    expect(signataires.get_by_role("row")).to_have_count(4)
    signature = page.url
    verifier_lien_d_evitement(page, signature, "Menu", "navigation")
    verifier_lien_d_evitement(page, signature, "Pied de page", "footer")

    # Back at the top of the page (the skip links' check left it at the footer).
    page.goto(signature)
    etat = page.get_by_label(re.compile(r"Date de signature de Dominique Martin \(État\)"))
    collectivite = page.get_by_label(re.compile(r"Date de signature de Claude Bernard \(Collectivité\)"))
    caf = page.get_by_label(re.compile(r"Date de signature de Alix Roux \(CAF des Hautes-Alpes\)"))
    demain = timezone.localdate() + timedelta(days=1)
    taper_date(page, etat, date(2024, 3, 1))
    taper_date(page, collectivite, date(2024, 3, 5))
    taper_date(page, caf, demain)
    activer(page, page.get_by_role("button", name="Enregistrer la signature"))

    # Refused, in French, beside the field; nothing written.
    expect(page.get_by_role("heading", level=1)).to_have_text("Enregistrer la signature du contrat")
    expect(page.get_by_role("main")).to_contain_text(re.compile("futur", re.I))
    contrat = Contrat.objects.get(reference=CONTRAT)
    assert contrat.statut == StatutContrat.PRET_SIGNATURE
    assert not contrat.signataires.exclude(date_signature=None).exists()

    caf = page.get_by_label(re.compile(r"Date de signature de Alix Roux \(CAF des Hautes-Alpes\)"))
    taper_date(page, caf, date(2024, 3, 12))
    expect(etat).to_have_value("2024-03-01")  # the other dates were kept
    activer(page, page.get_by_role("button", name="Enregistrer la signature"))

    # The signature freezes the convention: its PDF is rendered and sealed after the commit, inside the request in
    # the tests (immediate task backend), which takes several seconds.
    expect(page.get_by_role("heading", level=1)).to_contain_text(CONTRAT, timeout=90_000)
    expect(page.get_by_role("status").filter(has_text=f"Le contrat {CONTRAT} est signé.")).to_be_visible()
    expect(page.get_by_role("main").locator(".fr-badge").first).to_have_text("Signé")
    expect(page.get_by_role("main").locator("dl").first).to_contain_text(re.compile(r"Signé le\s*12/03/2024"))
    # The page is still usable from the keyboard after the redirect.
    page.keyboard.press("Tab")
    verifier_focus_visible(page)

    contrat = Contrat.objects.get(reference=CONTRAT)
    assert (contrat.statut, contrat.date_signature) == (StatutContrat.SIGNE, date(2024, 3, 12))
    dates = dict(contrat.signataires.values_list("partie", "date_signature"))
    assert dates == {
        PartieSignataire.ETAT: date(2024, 3, 1),
        PartieSignataire.COLLECTIVITE: date(2024, 3, 5),
        PartieSignataire.PARTENAIRE: date(2024, 3, 12),
    }
