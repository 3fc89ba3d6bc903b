"""Avenants from the front office (espace.views.avenants): open one, propose changes, see them before →
after with parity and ceilings after, send to signature, sign — and every refusal, permission and
query budget on the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import lxml.html
import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction
from contrats.enums import NatureModification, PartieSignataire, StatutAvenant, StatutContrat
from contrats.models import Avenant, Contrat, ModificationAvenant
from contrats.services import avenant_create, avenant_transition
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from financement.services import avenant_propose_plafond, avenant_propose_prevu
from pacte.models import Mesure
from tests import hostile
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VoletFactory,
    axe,
    collectivite,
    departement,
)

pytestmark = pytest.mark.django_db

D = Decimal
NBSP = "\u00a0"
ETAT, COLL = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE
REF = "CLS-2024-D05"


def euros(text: str) -> str:
    """Amounts of ``text`` (``"10 000,00 €"``) written with the non-breaking spaces of ``pacte.money.format_euros``."""
    return re.sub(r"(?<=[0-9]) (?=[0-9]{3})", NBSP, text).replace(" €", f"{NBSP}€").replace(" %", f"{NBSP}%")


@dataclass
class Monde:
    contrat: Contrat
    fiche: FicheAction
    porteur: object
    prefecture: object


def _fiche(contrat, code: str, porteur, etat="10000", coll="12000", annees=(2024, 2025)) -> FicheAction:
    fiche = FicheActionFactory(
        contrat=contrat, code=code, axe=axe(1), porteur=porteur, validee=True, intitule=f"Action {code}"
    )
    for annee in annees:
        LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=ETAT, prevu=D(etat))
        LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=COLL, prevu=D(coll))
    return fiche


@pytest.fixture
def monde(editeur) -> Monde:
    """A signed CLS of the Hautes-Alpes: A1-01 funded 10 000 € by the State and 12 000 € by the
    Département in 2024 and 2025, an indicator with a 2024 target, 80 000 € ceilings both years."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=REF, signe=True)
    SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT, nom="Dominique Martin", qualite="Préfet")
    SignataireFactory(contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="Claude Bernard", qualite="PCD")
    porteur = OrganisationFactory(nom="Association des Hautes-Alpes", departement=departement("05"))
    fiche = _fiche(contrat, "A1-01", porteur)
    indicateur = IndicateurFactory(fiche=fiche, nom="Personnes accompagnées", unite="personnes")
    ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("100"))
    for annee in (2024, 2025):
        PlafondFactory(contrat=contrat, annee=annee, montant=D("80000"))
    prefecture = UserFactory(
        username="prefecture05", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
    )
    return Monde(contrat, fiche, porteur, prefecture)


def url(name: str, **kwargs) -> str:
    return reverse(f"espace:{name}", kwargs={"reference": REF, **kwargs})


def avenant_url(name: str = "avenant", numero: int = 1, **kwargs) -> str:
    return url(name, numero=numero, **kwargs)


def prevu(code="A1-01", annee=2025, type_financeur=ETAT) -> Decimal:
    return LigneFinancement.objects.get(
        fiche__contrat__reference=REF, fiche__code=code, annee=annee, type_financeur=type_financeur
    ).prevu


def snapshot():
    models_ = hostile.Snapshot.models(["pacte", "contrats", "actions", "financement"])
    return models_, hostile.Snapshot.take(models_)


def unchanged(before) -> None:
    models_, taken = before
    assert not taken.diff(hostile.Snapshot.take(models_), models_)


def _page(response):
    html = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in html
    return lxml.html.fromstring(html)


def _text(element) -> str:
    """The element's text, ASCII white space collapsed (the non-breaking spaces of amounts kept)."""
    return re.sub(r"[ \t\r\n]+", " ", element.text_content()).strip()


def texte(response) -> str:
    """The page's text as a reader sees it (entities decoded, ASCII white space collapsed)."""
    return _text(_page(response))


def errors(response) -> str:
    """The text of the page's error messages (field errors and the alert on top)."""
    page = _page(response)
    found = page.xpath(
        "//*[contains(concat(' ', normalize-space(@class), ' '), ' fr-error-text ')"
        " or contains(concat(' ', normalize-space(@class), ' '), ' fr-alert--error ')"
        " or contains(concat(' ', normalize-space(@class), ' '), ' fr-message--error ')]"
    )
    return " ".join(_text(e) for e in found)


def cells(response, caption_start: str) -> list[list[str]]:
    """The rows of the table whose caption starts with ``caption_start``, as texts."""
    for table in _page(response).iter("table"):
        caption = table.find("caption")
        if caption is not None and _text(caption).startswith(caption_start):
            return [[_text(td) for td in tr.findall("td")] for tr in table.find("tbody").findall("tr")]
    raise AssertionError(f"Aucun tableau « {caption_start} »")


def ouvrir(monde, objet="Annexe financière") -> Avenant:
    return avenant_create(contrat=monde.contrat, objet=objet)


# --- The whole journey ----------------------------------------------------------------------------------


def test_journey_open_propose_see_after_send_sign(client, monde, editeur):
    client.force_login(editeur)
    # Open
    response = client.get(url("avenant_creer"))
    assertContains(response, "<h1>Nouvel avenant au contrat CLS-2024-D05</h1>", html=True)
    response = client.post(url("avenant_creer"), {"objet": "Annexe financière 2025"})
    assert response.status_code == 302 and response["Location"] == avenant_url()
    avenant = Avenant.objects.get(contrat=monde.contrat)
    assert (avenant.numero, avenant.statut, avenant.objet) == (1, StatutAvenant.BROUILLON, "Annexe financière 2025")

    # Propose a planned amount, typed the French way
    response = client.get(avenant_url("avenant_proposer", nature="prevu"))
    assertContains(response, "<h1>Changer un montant prévu</h1>", html=True)
    response = client.post(
        avenant_url("avenant_proposer", nature="prevu"),
        {"fiche": "A1-01", "annee": "2025", "type_financeur": "etat", "montant": "11 000,00 €"},
    )
    assert response.status_code == 302, errors(response)
    modification = avenant.modifications.get()
    assert (modification.nature, modification.cible, modification.apres) == (
        NatureModification.PREVU,
        {"fiche": "A1-01", "annee": 2025, "type_financeur": "etat", "financeur": None},
        "11000.00",
    )

    # Before → after, parity and ceiling after
    response = client.get(avenant_url())
    assertContains(response, "<h1>Avenant n° 1 au contrat CLS-2024-D05</h1>", html=True)
    assert cells(response, "Ce que l'avenant change") == [
        [
            modification.libelle,
            "Montant prévu d'un financeur",
            "Fiche A1-01 · 2025 · État",
            euros("10 000,00 €"),
            euros("11 000,00 €"),
            f"Retirer « {modification.libelle} »",  # the button's name, read out by screen readers
        ]
    ]
    assert cells(response, "Parts prévues par action") == [
        [
            "A1-01 – Action A1-01",
            "2025",
            euros("10 000,00 €"),
            euros("11 000,00 €"),
            euros("12 000,00 €"),
            euros("12 000,00 €"),
            euros("23 000,00 €"),
            "Respectée",
        ]
    ]
    plafonds = cells(response, "Parts prévues de l'État et enveloppe")
    assert [euros("10 000,00 €"), euros("11 000,00 €"), euros("80 000,00 €"), euros("80 000,00 €"), "Respectée"] == (
        plafonds[1][1:]
    )
    assert "Après l'avenant, la parité et les enveloppes sont respectées" in texte(response)

    # Send to signature
    response = client.get(avenant_url("avenant_statut", action="pret"))
    assertContains(response, "<h1>Envoyer l'avenant à la signature</h1>", html=True)
    response = client.post(avenant_url("avenant_statut", action="pret"))
    assert response.status_code == 302 and response["Location"] == avenant_url()
    avenant.refresh_from_db()
    assert avenant.statut == StatutAvenant.PRET_SIGNATURE

    # Sign as the prefecture
    client.force_login(monde.prefecture)
    response = client.get(avenant_url())
    assert "Enregistrer la signature" in texte(response)
    assert "Remettre en préparation" not in texte(response)  # preparing is the DDETS's
    response = client.get(avenant_url("avenant_statut", action="signer"))
    assert "La modification de l'avenant s'appliquera au contrat CLS-2024-D05" in texte(response)
    assert "La signature ne s'annule pas" in texte(response)
    assertContains(response, 'value="Dominique Martin"')
    signed_on = timezone.localdate()
    response = client.post(
        avenant_url("avenant_statut", action="signer"),
        {
            "date_signature": signed_on.isoformat(),
            "signataire_etat": "Dominique Martin",
            "signataire_collectivite": "Claude Bernard",
        },
    )
    assert response.status_code == 302, errors(response)
    avenant.refresh_from_db()
    modification.refresh_from_db()
    assert avenant.statut == StatutAvenant.SIGNE and avenant.date_signature == signed_on
    assert prevu() == D("11000")
    assert modification.avant == "10000.00" and modification.applique_le is not None

    # The signed avenant shows the value recorded before, and no more buttons nor preview
    response = client.get(avenant_url())
    row = cells(response, "Ce que l'avenant change")[0]
    assert row[3:] == [euros("10 000,00 €"), euros("11 000,00 €")]
    assert "Parité et enveloppes après l'avenant" not in texte(response)
    assert "Enregistrer la signature" not in texte(response)


# --- Refusals ------------------------------------------------------------------------------------------


def test_open_refused_on_an_unsigned_contract(client, editeur):
    ContratFactory(collectivite=collectivite("D05"), reference=REF, statut=StatutContrat.EN_NEGOCIATION)
    client.force_login(editeur)
    message = "Un avenant ne s'ouvre que sur un contrat signé ou en exécution (CLS-2024-D05 est « en négociation »)."
    assert message in texte(client.get(url("avenant_creer")))
    response = client.post(url("avenant_creer"), {"objet": "Annexe"})
    assert response.status_code == 200
    assert message in errors(response)
    assert not Avenant.objects.exists()


def test_open_refused_while_another_avenant_is_open(client, monde, editeur):
    ouvrir(monde)
    client.force_login(editeur)
    before = snapshot()
    response = client.post(url("avenant_creer"), {"objet": "Un second"})
    assert response.status_code == 200
    assert "L'avenant n° 1 est encore ouvert : signez-le ou abandonnez-le d'abord." in errors(response)
    unchanged(before)


def test_open_without_purpose(client, monde, editeur):
    client.force_login(editeur)
    response = client.post(url("avenant_creer"), {"objet": "  "})
    assert "Ce champ est obligatoire." in errors(response)
    assert not Avenant.objects.exists()


def test_propose_refused_when_the_avenant_is_not_a_draft(client, monde, editeur):
    avenant = ouvrir(monde)
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    client.force_login(editeur)
    response = client.get(avenant_url("avenant_proposer", nature="prevu"))
    assert "Seul un avenant en préparation reçoit de nouvelles modifications." in texte(response)
    before = snapshot()
    response = client.post(
        avenant_url("avenant_proposer", nature="prevu"),
        {"fiche": "A1-01", "annee": "2025", "type_financeur": "etat", "montant": "9000"},
    )
    assert response.status_code == 200
    assert "L'avenant n° 1 est « prêt pour signature » : il ne se modifie plus" in errors(response)
    unchanged(before)


HOSTILE_PREVU = [
    pytest.param({"montant": "-5"}, "Un montant ne peut pas être négatif.", id="negative"),
    pytest.param({"montant": "douze"}, "nombre", id="not-a-number"),
    pytest.param({"montant": "1e10"}, "", id="exponent"),
    pytest.param({"montant": "NaN"}, "", id="nan"),
    pytest.param({"montant": "99999999999999"}, "Saisissez un montant inférieur ou égal à", id="too-large"),
    pytest.param({"montant": "12,345"}, "décimale", id="three-decimals"),
    pytest.param({"montant": ""}, "Ce champ est obligatoire.", id="empty"),
    pytest.param({"annee": "2031"}, "Sélectionnez un choix valide.", id="year-outside"),
    pytest.param({"annee": "deux"}, "Sélectionnez un choix valide.", id="year-text"),
    pytest.param({"fiche": "ZZ-99"}, "Sélectionnez un choix valide.", id="unknown-fiche"),
    pytest.param({"fiche": "A1-01\u202e"}, "Sélectionnez un choix valide.", id="bidi-fiche"),
    pytest.param({"type_financeur": "banque"}, "Sélectionnez un choix valide.", id="unknown-funder-type"),
    pytest.param(
        {"type_financeur": "autre"},
        "Un autre financeur doit être nommé ; l'État et la collectivité ne le sont pas.",
        id="other-funder-unnamed",
    ),
    pytest.param({"financeur": "999999"}, "Sélectionnez un choix valide.", id="unknown-organisation"),
    pytest.param({"financeur": "'; DROP TABLE"}, "Sélectionnez un choix valide.", id="injection"),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE_PREVU)
def test_hostile_planned_amount_french_error_nothing_written(client, monde, editeur, change, message):
    ouvrir(monde)
    client.force_login(editeur)
    data = {"fiche": "A1-01", "annee": "2025", "type_financeur": "etat", "montant": "11000"} | change
    before = snapshot()
    response = client.post(avenant_url("avenant_proposer", nature="prevu"), data)
    assert response.status_code == 200
    text = errors(response)
    assert text and message in text
    assert "Rien n'a été enregistré" in text
    unchanged(before)


def test_state_funder_named_is_refused(client, monde, editeur):
    ouvrir(monde)
    client.force_login(editeur)
    response = client.post(
        avenant_url("avenant_proposer", nature="prevu"),
        {
            "fiche": "A1-01",
            "annee": "2025",
            "type_financeur": "etat",
            "financeur": str(monde.porteur.pk),
            "montant": "100",
        },
    )
    assert "Un autre financeur doit être nommé ; l'État et la collectivité ne le sont pas." in errors(response)
    assert not ModificationAvenant.objects.exists()


def test_signature_refused_shows_the_reasons_with_amounts_and_applies_nothing(client, monde, editeur):
    avenant = ouvrir(monde)
    avenant_propose_prevu(avenant=avenant, fiche_code="A1-01", annee=2025, type_financeur=ETAT, montant=D("13000"))
    client.force_login(editeur)
    # The page says it before anyone tries to sign
    response = client.get(avenant_url())
    breach = euros(
        "Fiche A1-01, 2025 : la part prévue de l'État (13 000,00 €) dépasse celle du Département (12 000,00 €) "
        "de 1 000,00 €"
    )
    assert "Tel quel, l'avenant serait refusé à la signature" in texte(response)
    assert breach in texte(response)
    assert cells(response, "Parts prévues par action")[0][-1].startswith("Non respectée")
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    assert breach in texte(client.get(avenant_url("avenant_statut", action="signer")))
    before = snapshot()
    response = client.post(
        avenant_url("avenant_statut", action="signer"),
        {"date_signature": "2024-09-01", "signataire_etat": "Préfet", "signataire_collectivite": "PCD"},
    )
    assert response.status_code == 200
    text = errors(response)
    assert "Après application, l'avenant n° 1 laisserait le contrat irrégulier :" in text
    assert breach in text
    unchanged(before)
    assert prevu() == D("10000")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(
            {"date_signature": "2999-01-01"}, "La date de signature ne peut pas être dans le futur.", id="future"
        ),
        pytest.param(
            {"date_signature": "2024-01-01"}, "Un avenant ne peut pas être signé avant le contrat.", id="early"
        ),
        pytest.param({"date_signature": "32/13/2024"}, "Saisissez une date valide.", id="bad-date"),
        pytest.param({"signataire_etat": ""}, "Ce champ est obligatoire.", id="no-state-signatory"),
        pytest.param({"signataire_etat": "Préfet\u202e"}, "", id="bidi-name"),
    ],
)
def test_signature_bad_input(client, monde, editeur, data, message):
    avenant = ouvrir(monde)
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    client.force_login(editeur)
    before = snapshot()
    payload = {"date_signature": "2024-09-01", "signataire_etat": "Préfet", "signataire_collectivite": "PCD"} | data
    response = client.post(avenant_url("avenant_statut", action="signer"), payload)
    assert response.status_code == 200
    text = errors(response)
    assert text and message in text
    unchanged(before)


def test_transition_refused_by_the_service(client, monde, editeur):
    ouvrir(monde)  # a draft with nothing in it
    client.force_login(editeur)
    response = client.post(avenant_url("avenant_statut", action="pret"))
    assert "L'avenant n° 1 ne modifie rien." in errors(response)
    response = client.post(avenant_url("avenant_statut", action="brouillon"))
    assert "L'avenant n° 1 ne peut pas passer de « Brouillon » à « Brouillon »." in errors(response)
    assert Avenant.objects.get().statut == StatutAvenant.BROUILLON


def test_back_to_preparation_and_abandon(client, monde, editeur):
    avenant = ouvrir(monde)
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    client.force_login(editeur)
    response = client.get(avenant_url())
    for bouton in ("Remettre en préparation", "Enregistrer la signature", "Abandonner"):
        assert bouton in texte(response)
    assert "Envoyer à la signature" not in texte(response)
    assert client.post(avenant_url("avenant_statut", action="brouillon")).status_code == 302
    assert Avenant.objects.get().statut == StatutAvenant.BROUILLON
    assert "La modification de l'avenant ne s'appliquera jamais au contrat CLS-2024-D05." in texte(
        client.get(avenant_url("avenant_statut", action="abandonner"))
    )
    assert client.post(avenant_url("avenant_statut", action="abandonner")).status_code == 302
    assert Avenant.objects.get().statut == StatutAvenant.ABANDONNE
    # A new avenant can now be opened: number 2
    assert client.post(url("avenant_creer"), {"objet": "Suivant"})["Location"] == avenant_url(numero=2)


@pytest.mark.parametrize(
    "address",
    [
        pytest.param(lambda: avenant_url("avenant_proposer", nature="contenu_inconnu"), id="unknown-nature"),
        pytest.param(lambda: avenant_url("avenant_statut", action="resilier"), id="unknown-action"),
        pytest.param(lambda: avenant_url(numero=9), id="unknown-avenant"),
        pytest.param(
            lambda: avenant_url("avenant_retirer", uid="00000000-0000-0000-0000-000000000000"),
            id="unknown-modification",
        ),
    ],
)
def test_unknown_addresses_answer_404(client, monde, editeur, address):
    ouvrir(monde)
    client.force_login(editeur)
    assert client.get(address()).status_code == 404
    assert client.post(address()).status_code == 404


# --- Each kind of change ---------------------------------------------------------------------------------


def test_propose_a_ceiling(client, monde, editeur):
    avenant = ouvrir(monde)
    client.force_login(editeur)
    response = client.post(avenant_url("avenant_proposer", nature="plafond"), {"annee": "2025", "montant": "5 000"})
    assert response.status_code == 302, errors(response)
    assert avenant.modifications.get().apres == "5000.00"
    # 10 000 € of State money planned in 2025 against a 5 000 € ceiling after the avenant
    response = client.get(avenant_url())
    breach = euros(
        "2025 : les parts prévues de l'État (10 000,00 €) dépassent l'enveloppe annuelle (5 000,00 €) de 5 000,00 €"
    )
    assert breach in texte(response)
    row = next(r for r in cells(response, "Parts prévues de l'État et enveloppe") if r[0] == "2025")
    assert row[3:5] == [euros("80 000,00 €"), euros("5 000,00 €")] and row[5].startswith("Dépassée")


def test_propose_a_volet_ceiling(client, monde, editeur):
    avenant = ouvrir(monde)
    client.force_login(editeur)
    address = avenant_url("avenant_proposer", nature="plafond")
    assert "Volet" not in texte(client.get(address))  # a contract without volets
    volet = VoletFactory(contrat=monde.contrat, numero=2, intitule="Accompagnement")
    assertContains(client.get(address), '<option value="" selected>Tout le contrat</option>', html=True)
    response = client.post(address, {"annee": "2024", "volet": str(volet.pk), "montant": "3 000"})
    assert response.status_code == 302, errors(response)
    modification = avenant.modifications.get()
    assert (modification.cible, modification.apres) == ({"annee": 2024, "volet": 2}, "3000.00")
    row = cells(client.get(avenant_url()), "Ce que l'avenant change")[0]
    assert row[2:5] == ["Enveloppe 2024, volet 2", "aucune enveloppe", euros("3 000,00 €")]
    other = VoletFactory(numero=1)  # another contract's volet
    response = client.post(address, {"annee": "2024", "volet": str(other.pk), "montant": "3 000"})
    assert "Sélectionnez un choix valide." in errors(response)


HOSTILE_FICHE = [
    pytest.param({"code": "A 1"}, "Un code ne contient que des lettres sans accent", id="code-with-space"),
    pytest.param({"code": "A1-ÉÉ"}, "", id="code-accents"),
    pytest.param({"intitule": "Action\u202e"}, "", id="bidi-title"),
    pytest.param({"intitule": ""}, "Ce champ est obligatoire.", id="no-title"),
    pytest.param({"date_debut": "2023-12-31"}, "hors de la période du Pacte", id="before-the-pacte"),
    pytest.param(
        {"date_fin": "2024-01-01"}, "La date de fin de l'action doit suivre sa date de début.", id="dates-reversed"
    ),
    pytest.param({"etp": "-1"}, "Saisissez une valeur supérieure ou égale à 0", id="negative-etp"),
    pytest.param({"volume_public": "1_000"}, "Saisissez un nombre entier", id="underscore-integer"),
    pytest.param({"porteur": "0"}, "Sélectionnez un choix valide.", id="unknown-carrier"),
    pytest.param({"nature": "renforcee"}, "Une action renforcée doit être justifiée", id="reinforced-unjustified"),
]


@pytest.mark.parametrize(("change", "message"), HOSTILE_FICHE)
def test_hostile_new_fiche_french_error_nothing_written(client, monde, editeur, change, message):
    ouvrir(monde)
    client.force_login(editeur)
    data = {
        "code": "A1-02",
        "intitule": "Médiateurs de rue",
        "axe": str(axe(1).pk),
        "nature": NatureAction.NOUVELLE,
        "porteur": str(monde.porteur.pk),
        "date_debut": "2024-06-01",
        "date_fin": "2027-12-31",
    } | change
    before = snapshot()
    response = client.post(avenant_url("avenant_proposer", nature="fiche_ajout"), data)
    assert response.status_code == 200
    text = errors(response)
    assert text and message in text, text
    unchanged(before)


def test_propose_a_fiche_change_in_two_steps(client, monde, editeur):
    avenant = ouvrir(monde)
    client.force_login(editeur)
    address = avenant_url("avenant_proposer", nature="fiche")
    response = client.get(address)
    assertContains(response, '<option value="A1-01">A1-01 – Action A1-01</option>', html=True)
    assert "La fiche « ZZ » n'existe pas dans le contrat CLS-2024-D05." in texte(client.get(address + "?fiche=ZZ"))
    response = client.get(address + "?fiche=A1-01")
    form = response.context["form"]
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    data["territoire_departement_entier"] = "on" if data["territoire_departement_entier"] else ""
    data["date_debut"], data["date_fin"] = "2024-01-01", "2027-12-31"
    # Nothing changed: nothing proposed
    response = client.post(address + "?fiche=A1-01", data)
    assert "Vous n'avez rien changé à la fiche A1-01 : rien n'est proposé." in errors(response)
    # A rule of the fiche, read now rather than at signature
    mesure = Mesure.objects.filter(axe__numero=2).order_by("code").first()
    response = client.post(address + "?fiche=A1-01", data | {"mesure": str(mesure.pk)})
    assert f"La mesure {mesure.code} relève de l'axe 2, pas de l'axe 1." in errors(response)
    assert not avenant.modifications.exists()
    response = client.post(
        address + "?fiche=A1-01", data | {"intitule": "Bus des familles", "description": "Itinérant"}
    )
    assert response.status_code == 302, errors(response)
    modification = avenant.modifications.get()
    assert modification.apres == {"intitule": "Bus des familles", "description": "Itinérant"}
    # The form shows the pending proposal; proposing again keeps it and adds the new change
    response = client.get(address + "?fiche=A1-01")
    assert response.context["form"]["intitule"].value() == "Bus des familles"
    data |= {"intitule": "Bus des familles", "description": "Itinérant", "date_fin": "2026-12-31"}
    assert client.post(address + "?fiche=A1-01", data).status_code == 302
    modification.refresh_from_db()
    assert modification.apres == {"intitule": "Bus des familles", "description": "Itinérant", "date_fin": "2026-12-31"}
    rows = cells(client.get(avenant_url()), "Ce que l'avenant change")
    assert rows[0][3] == "Intitulé : Action A1-01 Description : — Fin : 31/12/2027"
    assert rows[0][4] == "Intitulé : Bus des familles Description : Itinérant Fin : 31/12/2026"


def test_stale_fiche_form_is_refused(client, monde, editeur):
    ouvrir(monde)
    client.force_login(editeur)
    address = avenant_url("avenant_proposer", nature="fiche") + "?fiche=A1-01"
    form = client.get(address).context["form"]
    data = {k: ("" if v is None else v) for k, v in ((n, form[n].value()) for n in form.fields)}
    data |= {"date_debut": "2024-01-01", "date_fin": "2027-12-31", "intitule": "Autre"}
    FicheAction.objects.filter(pk=monde.fiche.pk).update(version=monde.fiche.version + 1)
    response = client.post(address, data)
    assert response.status_code == 200 and "rien n'a été enregistré" in errors(response).lower()
    assert not ModificationAvenant.objects.exists()


def test_propose_a_new_fiche_then_its_money(client, monde, editeur):
    avenant = ouvrir(monde)
    client.force_login(editeur)
    data = {
        "code": " a1-02 ",
        "intitule": "Médiateurs de rue",
        "axe": str(axe(1).pk),
        "nature": NatureAction.NOUVELLE,
        "porteur": str(monde.porteur.pk),
        "date_debut": "2024-06-01",
        "date_fin": "2027-12-31",
        "territoire_departement_entier": "on",
    }
    # The code is the contract's already
    response = client.post(avenant_url("avenant_proposer", nature="fiche_ajout"), data | {"code": "A1-01"})
    assert "Le code A1-01 existe déjà dans le contrat CLS-2024-D05." in errors(response)
    # An axis the contract does not carry
    response = client.post(avenant_url("avenant_proposer", nature="fiche_ajout"), data | {"axe": str(axe(2).pk)})
    assert "Sélectionnez un choix valide." in errors(response)
    response = client.post(avenant_url("avenant_proposer", nature="fiche_ajout"), data)
    assert response.status_code == 302, errors(response)
    modification = avenant.modifications.get()
    assert modification.nature == NatureModification.FICHE_AJOUT and modification.cible == {"fiche": "A1-02"}
    # The new fiche is offered for its planned amounts
    response = client.get(avenant_url("avenant_proposer", nature="prevu"))
    assert "A1-02 – Médiateurs de rue (ajoutée par l'avenant)" in texte(response)
    for type_financeur, montant in (("etat", "3000"), ("collectivite", "2000")):
        response = client.post(
            avenant_url("avenant_proposer", nature="prevu"),
            {"fiche": "A1-02", "annee": "2024", "type_financeur": type_financeur, "montant": montant},
        )
        assert response.status_code == 302, errors(response)
    response = client.get(avenant_url())
    rows = cells(response, "Parts prévues par action")
    assert rows == [
        [
            "A1-02 – Médiateurs de rue",
            "2024",
            euros("0,00 €"),
            euros("3 000,00 €"),
            euros("0,00 €"),
            euros("2 000,00 €"),
            euros("5 000,00 €"),
            "Non respectée "
            + euros(
                "Fiche A1-02, 2024 : la part prévue de l'État (3 000,00 €) dépasse celle du Département (2 000,00 €) "
                "de 1 000,00 € "
                "Fiche A1-02, 2024 : la part prévue de l'État (3 000,00 €) dépasse 50 % du coût total prévu "
                "(5 000,00 €) de 500,00 €"
            ),
        ]
    ]
    assert cells(response, "Ce que l'avenant change")[0][2:4] == ["Fiche A1-02 (nouvelle)", "aucune fiche"]


def test_propose_withdrawing_a_fiche_then_sign(client, monde, editeur):
    avenant = ouvrir(monde)
    other = _fiche(monde.contrat, "A1-02", monde.porteur)
    client.force_login(editeur)
    response = client.post(avenant_url("avenant_proposer", nature="retrait"), {"fiche": "A1-02"})
    assert response.status_code == 302, errors(response)
    modification = avenant.modifications.get()
    assert (modification.nature, modification.apres) == (NatureModification.FICHE, {"statut": "abandonnee"})
    response = client.get(avenant_url())
    assert cells(response, "Ce que l'avenant change")[0][3:5] == ["Statut : Validée", "Statut : Abandonnée"]
    # Its money leaves parity and ceilings: shown at zero after
    rows = cells(response, "Parts prévues par action")
    assert [r[:4] for r in rows] == [
        ["A1-02 – Action A1-02", "2024", euros("10 000,00 €"), euros("0,00 €")],
        ["A1-02 – Action A1-02", "2025", euros("10 000,00 €"), euros("0,00 €")],
    ]
    plafonds = cells(response, "Parts prévues de l'État et enveloppe")
    assert plafonds[0][1:3] == [euros("20 000,00 €"), euros("10 000,00 €")]
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    response = client.post(
        avenant_url("avenant_statut", action="signer"),
        {"date_signature": "2024-09-01", "signataire_etat": "Préfet", "signataire_collectivite": "PCD"},
    )
    assert response.status_code == 302, errors(response)
    other.refresh_from_db()
    modification.refresh_from_db()
    assert other.statut == StatutFiche.ABANDONNEE and modification.avant == {"statut": "validee"}
    # An abandoned fiche is no longer offered
    ouvrir(monde, "Deuxième")
    response = client.post(avenant_url("avenant_proposer", numero=2, nature="retrait"), {"fiche": "A1-02"})
    assert "Sélectionnez un choix valide." in errors(response)


def test_propose_an_indicator_target(client, monde, editeur):
    avenant = ouvrir(monde)
    indicateur = monde.fiche.indicateurs.get()
    client.force_login(editeur)
    address = avenant_url("avenant_proposer", nature="cible")
    response = client.post(address, {"indicateur": str(indicateur.pk), "annee": "2024", "cible": "-3"})
    assert "Saisissez une valeur supérieure ou égale à 0" in errors(response)
    response = client.post(address, {"indicateur": str(indicateur.pk), "annee": "2024", "cible": "150,5"})
    assert response.status_code == 302, errors(response)
    assert avenant.modifications.get().apres == {"cible": "150.5"}
    row = cells(client.get(avenant_url()), "Ce que l'avenant change")[0]
    assert row[2:5] == ["Indicateur A1-01 – Personnes accompagnées · 2024", "100", "150,5"]


def test_remove_a_proposed_change(client, monde, editeur):
    avenant = ouvrir(monde)
    garde = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    retiree = avenant_propose_prevu(
        avenant=avenant, fiche_code="A1-01", annee=2025, type_financeur=ETAT, montant=D("1")
    )
    client.force_login(editeur)
    address = avenant_url("avenant_retirer", uid=retiree.uid)
    assertContains(client.get(address), "<h1>Retirer une modification de l'avenant</h1>", html=True)
    # A page shown before the change was edited again is refused
    response = client.post(address, {"version": str(retiree.version - 1)})
    assert response.status_code == 200 and errors(response)
    response = client.post(address, {"version": str(retiree.version)})
    assert response.status_code == 302 and response["Location"] == avenant_url()
    assert list(avenant.modifications.all()) == [garde]
    # Not in draft any more: refused, kept
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    response = client.post(avenant_url("avenant_retirer", uid=garde.uid), {"version": str(garde.version)})
    assert "il ne se modifie plus" in errors(response)
    assert list(avenant.modifications.all()) == [garde]


# --- Permissions -----------------------------------------------------------------------------------------


def test_reader_sees_the_page_without_any_button_and_is_refused_every_write(client, monde, lecteur):
    avenant = ouvrir(monde)
    modification = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    client.force_login(lecteur)
    response = client.get(avenant_url())
    assert response.status_code == 200
    for bouton in ("Envoyer à la signature", "Abandonner", "Retirer", "Proposer une modification", "Montant prévu"):
        assert bouton not in texte(response)
    assert "Avenant au format PDF" in texte(response)
    before = snapshot()
    writes = [
        url("avenant_creer"),
        avenant_url("avenant_proposer", nature="prevu"),
        avenant_url("avenant_statut", action="pret"),
        avenant_url("avenant_statut", action="signer"),
        avenant_url("avenant_retirer", uid=modification.uid),
    ]
    for address in writes:
        assert client.get(address).status_code == 403, address
        assert client.post(address, {"objet": "x", "version": "1"}).status_code == 403, address
    unchanged(before)


def test_prefecture_signs_but_does_not_prepare(client, monde):
    avenant = ouvrir(monde)
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    client.force_login(monde.prefecture)
    assert client.get(avenant_url("avenant_statut", action="pret")).status_code == 403
    assert client.get(avenant_url("avenant_proposer", nature="plafond")).status_code == 403
    assert client.get(avenant_url("avenant_statut", action="signer")).status_code == 200
    response = client.get(avenant_url())
    assert "Enregistrer la signature" not in texte(response)  # a draft is not signed
    assert "Retirer" not in texte(response)


def test_other_territory_gets_404_everywhere(client, monde, autre_territoire):
    avenant = ouvrir(monde)
    modification = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    client.force_login(autre_territoire)
    before = snapshot()
    for address in (
        url("avenant_creer"),
        avenant_url(),
        avenant_url("avenant_proposer", nature="prevu"),
        avenant_url("avenant_statut", action="pret"),
        avenant_url("avenant_retirer", uid=modification.uid),
    ):
        assert client.get(address).status_code == 404, address
        assert client.post(address, {"objet": "x", "version": "1"}).status_code == 404, address
    unchanged(before)


@pytest.mark.parametrize(("persona", "expected"), [("editeur", 302), ("lecteur", 403), ("autre", 404)])
def test_matrix_remove_a_change(client, monde, editeur, lecteur, autre_territoire, persona, expected):
    """The dynamic row of the matrix: avenant_retirer needs a modification's uid."""
    avenant = ouvrir(monde)
    modification = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    client.force_login({"editeur": editeur, "lecteur": lecteur, "autre": autre_territoire}[persona])
    address = avenant_url("avenant_retirer", uid=modification.uid)
    assert client.get(address).status_code == (200 if expected == 302 else expected)
    assert client.post(address, {"version": str(modification.version)}).status_code == expected
    assert ModificationAvenant.objects.filter(pk=modification.pk).exists() == (expected != 302)


def test_anonymous_goes_to_the_login_page(client, monde):
    ouvrir(monde)
    response = client.get(avenant_url())
    assert response.status_code == 302 and "/connexion/" in response["Location"]


# --- Query budgets ---------------------------------------------------------------------------------------


def _avenant_with(monde, n: int) -> Avenant:
    """An avenant changing ``n`` fiches: a planned amount, the content and an indicator target of each,
    plus a ceiling."""
    avenant = ouvrir(monde)
    for i in range(n):
        fiche = _fiche(monde.contrat, f"A1-{i + 10:02d}", monde.porteur, etat="100", coll="100")
        indicateur = IndicateurFactory(fiche=fiche)
        avenant_propose_prevu(avenant=avenant, fiche_code=fiche.code, annee=2025, type_financeur=ETAT, montant=D("90"))
        ModificationAvenant.objects.create(
            avenant=avenant,
            nature=NatureModification.FICHE,
            libelle=f"Fiche {fiche.code} : porteur",
            cible={"fiche": fiche.code},
            apres={"porteur": monde.porteur.pk, "intitule": "Nouveau"},
        )
        ModificationAvenant.objects.create(
            avenant=avenant,
            nature=NatureModification.CIBLE,
            libelle=f"Cible {fiche.code}",
            cible={"fiche": fiche.code, "indicateur": indicateur.pk, "annee": 2025},
            apres={"cible": "10"},
        )
    avenant_propose_plafond(avenant=avenant, annee=2025, montant=D("90000"))
    return avenant


@pytest.mark.parametrize("n", [3, 30])
def test_avenant_page_query_budget(client, monde, editeur, django_assert_max_num_queries, n):
    _avenant_with(monde, n)
    client.force_login(editeur)
    with django_assert_max_num_queries(18):
        response = client.get(avenant_url())
    assert len(cells(response, "Ce que l'avenant change")) == 3 * n + 1


@pytest.mark.parametrize("n", [3, 30])
def test_signed_avenant_page_query_budget(client, monde, editeur, django_assert_max_num_queries, n):
    avenant = _avenant_with(monde, n)
    Avenant.objects.filter(pk=avenant.pk).update(statut=StatutAvenant.SIGNE, date_signature=date(2024, 9, 1))
    avenant.modifications.update(applique_le=timezone.now(), avant={"intitule": "Ancien"})
    client.force_login(editeur)
    with django_assert_max_num_queries(17):
        response = client.get(avenant_url())
    assert len(cells(response, "Ce que l'avenant change")) == 3 * n + 1


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize(
    ("nature", "query", "budget"),
    [
        ("prevu", "", 13),
        ("plafond", "", 11),
        ("fiche", "", 12),
        ("fiche", "?fiche=A1-01", 17),
        ("fiche_ajout", "", 15),
        ("retrait", "", 11),
        ("cible", "", 11),
    ],
)
def test_proposal_pages_query_budget(client, monde, editeur, django_assert_max_num_queries, n, nature, query, budget):
    _avenant_with(monde, n)
    client.force_login(editeur)
    with django_assert_max_num_queries(budget):
        response = client.get(avenant_url("avenant_proposer", nature=nature) + query)
    assert response.status_code == 200 and "<form" in response.content.decode()


@pytest.mark.parametrize("n", [3, 30])
def test_signature_page_query_budget(client, monde, editeur, django_assert_max_num_queries, n):
    avenant = _avenant_with(monde, n)
    Avenant.objects.filter(pk=avenant.pk).update(statut=StatutAvenant.PRET_SIGNATURE)
    client.force_login(editeur)
    with django_assert_max_num_queries(19):
        response = client.get(avenant_url("avenant_statut", action="signer"))
    assert response.status_code == 200
