"""Entering a fiche (espace/views/saisie.py): the fiche, its funding grid and its indicators in one
transaction, the live check of parity and ceilings, the execution entry.

Personas: the DDETS editor of the Hautes-Alpes (``editeur``, prepares), its reader (``lecteur``), the
Rhône's DDETS (``autre_territoire``, outside), the Département's agent (``agent_cd05``, execution) and the
prefecture's agent (``prefecture05``).
"""

from __future__ import annotations

import html as html_module
import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from actions.enums import StatutFiche, TypeIndicateur
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from actions.services import fiche_update
from contrats.enums import StatutContrat, TypeContrat
from financement.enums import TypeFinanceur
from financement.forms import controle_grille, montants_enregistres
from financement.models import LigneFinancement
from financement.regles import parite_violations, plafond_violations
from financement.services import ligne_financement_save
from pacte.enums import TypeOrganisation
from pacte.models import Axe, Mesure, Objectif
from tests import hostile
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VoletFactory,
    collectivite,
    departement,
)

pytestmark = pytest.mark.django_db

ETAT, COLLECTIVITE, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
D = Decimal


# --- Data ----------------------------------------------------------------------------------------------------


@pytest.fixture
def caf(db):
    return OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"), siret="53481452700014")


@pytest.fixture
def france_travail(db):
    return OrganisationFactory(nom="France Travail Hautes-Alpes", departement=departement("05"))


@pytest.fixture
def caf_rhone(db):
    return OrganisationFactory(nom="CAF du Rhône", departement=departement("69"))


@pytest.fixture
def agent_cd05(db):
    organisation = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    return UserFactory(username="cd05", organisation=organisation)


@pytest.fixture
def prefecture05(db):
    return UserFactory(username="pref05", organisation=OrganisationFactory(prefecture=True))


@pytest.fixture
def plafonds(contrat_05):
    for annee in (2024, 2025):
        PlafondFactory(contrat=contrat_05, annee=annee, montant=D("100000"))


@pytest.fixture
def fiche(contrat_05, caf, plafonds):
    """A1-01 of the CLS in negotiation: State 10 000, Département 12 000 and the CAF 5 000 in 2024; an
    indicator with a target for 2024."""
    fiche = FicheActionFactory(contrat=contrat_05, code="A1-01", porteur=caf, intitule="Bus des familles")
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("10000"))
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=COLLECTIVITE, prevu=D("12000"))
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=AUTRE, financeur=caf, prevu=D("5000"))
    indicateur = IndicateurFactory(fiche=fiche, nom="Familles accompagnées", unite="familles")
    ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("100"))
    return fiche


def _url(name, contrat, fiche=None):
    args = [contrat.reference] + ([fiche.code] if fiche is not None else [])
    return reverse(f"espace:{name}", args=args)


def _lignes(fiche) -> set[tuple]:
    return {
        (ligne.annee, ligne.type_financeur, ligne.financeur_id, ligne.prevu)
        for ligne in LigneFinancement.objects.filter(fiche=fiche)
    }


def _form_data(response, form_id="fiche-form") -> dict[str, list[str]]:
    """What a browser posts back for the page's form, unchanged."""
    parser = hostile.FormParser.parse(response.content.decode(), form_id)
    assert parser.found, f"pas de formulaire {form_id}"
    return parser.data()


class _Texts(HTMLParser):
    """The text of the element with a given id."""

    def __init__(self, id_: str):
        super().__init__(convert_charrefs=True)
        self.id_, self.depth, self.parts = id_, 0, []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in hostile.VOID
        elif dict(attrs).get("id") == self.id_:
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_of(response, id_: str) -> str:
    parser = _Texts(id_)
    parser.feed(response.content.decode())
    return _normalize(" ".join(parser.parts))


def _normalize(text: str) -> str:
    """Runs of ASCII white space as one space (the non-breaking spaces of amounts stay)."""
    return re.sub(r"[ \t\r\n]+", " ", text).strip()


def page_text(response) -> str:
    """The page's HTML with its entities read (``&#x27;`` → ``'``)."""
    return html_module.unescape(response.content.decode())


def error_texts(response) -> list[str]:
    """The error messages a page shows: Django's error lists and the DSFR error messages."""
    html = response.content.decode()
    found = [text for _, text in hostile.error_texts(html)]
    found += [
        _normalize(html_module.unescape(m)) for m in re.findall(r'class="fr-message fr-message--error">([^<]+)<', html)
    ]
    return [t for t in found if t]


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- Personas ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["fiche_creer", "fiche_modifier", "controle"])
def test_who_prepares(client, fiche, editeur, lecteur, autre_territoire, agent_cd05, prefecture05, name):
    """The DDETS editor gets the page; its reader, the collectivité and the prefecture 403 (nothing written);
    another territory 404."""
    url = _url(name, fiche.contrat, fiche if name == "fiche_modifier" else None)
    expected = {editeur: 200, lecteur: 403, agent_cd05: 403, prefecture05: 403, autre_territoire: 404}
    before = _lignes(fiche)
    for user, code in expected.items():
        client.force_login(user)
        assert client.get(url).status_code == code, user
        assert client.post(url, {"prevu-etat-2024": "1"}).status_code == code, user
    assert _lignes(fiche) == before
    assert FicheAction.objects.count() == 1


def test_who_enters_execution(client, editeur, lecteur, autre_territoire, agent_cd05, prefecture05, caf):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2023-D05", signe=True)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", porteur=caf, statut=StatutFiche.VALIDEE)
    ligne = LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=COLLECTIVITE, prevu=D("5000"))
    url = _url("fiche_execution", contrat, fiche)
    expected = {editeur: 200, agent_cd05: 200, lecteur: 403, prefecture05: 403, autre_territoire: 404}
    for user, code in expected.items():
        client.force_login(user)
        assert client.get(url).status_code == code, user
        if code != 200:
            response = client.post(url, {f"engage-{ligne.pk}": "10", f"version-{ligne.pk}": "0"})
            assert response.status_code == code, user
    ligne.refresh_from_db()
    assert ligne.engage is None


# --- Creating and editing ------------------------------------------------------------------------------------


def test_create_a_fiche_with_two_years_of_funding(client, editeur, contrat_05, caf, france_travail, plafonds):
    client.force_login(editeur)
    url = _url("fiche_creer", contrat_05)
    response = client.get(url)
    assert response.status_code == 200
    assert "Nouvelle fiche action – CLS-2024-D05" in response.content.decode()
    data = _form_data(response)
    data |= {
        "intitule": "Bus des familles",
        "axe": str(Axe.objects.get(numero=1).pk),
        "nature": "nouvelle",
        "porteur": str(caf.pk),
        "date_debut": "2024-01-01",
        "date_fin": "2025-12-31",
        "etp": "1,5",
        "prevu-etat-2024": "12 500,00 €",
        "prevu-collectivite-2024": "12\u00a0500,00",
        "prevu-etat-2025": "10 000",
        "prevu-collectivite-2025": "15 000,50 €",
        "nouveau-financeur": str(france_travail.pk),
        "prevu-nouveau-2025": "2 000,00 €",
        "ind-nouveau-nom": "Familles accompagnées",
        "ind-nouveau-type_indicateur": TypeIndicateur.REALISATION,
        "ind-nouveau-unite": "familles",
        "ind-nouveau-valeur_reference": "10",
        "ind-nouveau-cible_2024": "50",
        "ind-nouveau-cible_2025": "1 200,5",
    }
    response = client.post(url, data)
    fiche = FicheAction.objects.get(contrat=contrat_05)
    assert response.status_code == 302
    assert response["Location"] == reverse("espace:fiche", args=["CLS-2024-D05", "A1-01"])
    assert (fiche.code, fiche.intitule, fiche.statut, fiche.etp) == ("A1-01", "Bus des familles", "proposee", D("1.5"))
    assert _lignes(fiche) == {
        (2024, ETAT, None, D("12500.00")),
        (2024, COLLECTIVITE, None, D("12500.00")),
        (2025, ETAT, None, D("10000.00")),
        (2025, COLLECTIVITE, None, D("15000.50")),
        (2025, AUTRE, france_travail.pk, D("2000.00")),
    }
    indicateur = Indicateur.objects.get(fiche=fiche)
    assert (indicateur.nom, indicateur.unite, indicateur.valeur_reference) == ("Familles accompagnées", "familles", 10)
    assert {(v.annee, v.cible) for v in indicateur.valeurs.all()} == {(2024, D("50")), (2025, D("1200.50"))}
    assert _messages(response) == ["La fiche A1-01 est enregistrée."]
    # Written through the services: every row has its history, with its author.
    assert fiche.history.get().history_user == editeur
    assert {h.history_user for h in LigneFinancement.history.all()} == {editeur}


def test_a_save_that_breaks_parity_goes_through_with_warnings(client, editeur, contrat_05, caf):
    """docs/regles.md: parity blocks a fiche's validation, not its entry; the fiche page tells what to correct."""
    client.force_login(editeur)
    url = _url("fiche_creer", contrat_05)
    data = _form_data(client.get(url))
    data |= {
        "intitule": "Plateforme mobilité",
        "axe": str(Axe.objects.get(numero=4).pk),
        "nature": "nouvelle",
        "porteur": str(caf.pk),
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
        "prevu-etat-2024": "60 000",
        "prevu-collectivite-2024": "50 000",
    }
    response = client.post(url, data)
    assert response.status_code == 302
    fiche = FicheAction.objects.get(contrat=contrat_05)
    assert fiche.code == "A4-01"
    assert _messages(response) == [
        "La fiche A4-01 est enregistrée.",
        "À corriger avant la validation de la fiche : Fiche A4-01, 2024 : la part prévue de l'État "
        "(60\u00a0000,00\u00a0€) dépasse celle du Département (50\u00a0000,00\u00a0€) de 10\u00a0000,00\u00a0€.",
        "À corriger avant la validation de la fiche : Fiche A4-01, 2024 : la part prévue de l'État "
        "(60\u00a0000,00\u00a0€) dépasse 50\u00a0% du coût total prévu (110\u00a0000,00\u00a0€) "
        "de 5\u00a0000,00\u00a0€.",
        "À corriger avant la signature du contrat : 2024 : aucune enveloppe de l'État n'est fixée pour "
        "60\u00a0000,00\u00a0€ de parts prévues.",
    ]


def test_edit_the_fiche_its_grid_and_its_indicators(client, editeur, fiche, caf, france_travail):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    response = client.get(url)
    assert response.status_code == 200
    data = _form_data(response)
    assert data["prevu-etat-2024"] == ["10\u00a0000,00"]
    assert data[f"prevu-autre-{caf.pk}-2024"] == ["5\u00a0000,00"]
    indicateur = fiche.indicateurs.get()
    prefix = f"ind-{indicateur.pk}"
    assert data[f"{prefix}-cible_2024"] == ["100,00"]
    data |= {
        "intitule": "Bus des familles itinérant",
        "prevu-etat-2024": "11 000 €",  # changed
        f"prevu-autre-{caf.pk}-2024": "",  # emptied: the CAF's line goes
        "prevu-collectivite-2025": "3 000",  # new cell
        "nouveau-financeur": str(france_travail.pk),
        "prevu-nouveau-2024": "1 000",
        f"{prefix}-unite": "ménages",
        f"{prefix}-cible_2024": "",
        f"{prefix}-cible_2025": "120",
        "ind-nouveau-nom": "Kilomètres parcourus",
        "ind-nouveau-type_indicateur": TypeIndicateur.REALISATION,
        "ind-nouveau-unite": "km",
    }
    response = client.post(url, data)
    assert response.status_code == 302, error_texts(response)
    fiche.refresh_from_db()
    assert (fiche.intitule, fiche.version) == ("Bus des familles itinérant", 1)
    assert _lignes(fiche) == {
        (2024, ETAT, None, D("11000.00")),
        (2024, COLLECTIVITE, None, D("12000.00")),
        (2024, AUTRE, france_travail.pk, D("1000.00")),
        (2025, COLLECTIVITE, None, D("3000.00")),
    }
    # The unchanged line was not written again.
    assert fiche.financements.get(annee=2024, type_financeur=COLLECTIVITE).version == 0
    indicateur.refresh_from_db()
    assert indicateur.unite == "ménages"
    assert {(v.annee, v.cible) for v in indicateur.valeurs.all()} == {(2024, None), (2025, D("120"))}
    assert fiche.indicateurs.get(nom="Kilomètres parcourus").valeurs.count() == 0


def test_an_unchanged_page_writes_nothing(client, editeur, fiche):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    models_ = hostile.Snapshot.models(["contrats", "actions", "financement"])
    before = hostile.Snapshot.take(models_)
    ecrit = hostile.ecritures()
    response = client.post(url, _form_data(client.get(url)))
    assert response.status_code == 302
    assert not before.changes_since(ecrit, models_)


def test_remove_an_indicator(client, editeur, fiche):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    indicateur = fiche.indicateurs.get()
    data = _form_data(client.get(url)) | {f"ind-{indicateur.pk}-supprimer": "on"}
    assert client.post(url, data).status_code == 302
    assert not Indicateur.objects.filter(pk=indicateur.pk).exists()
    assert not ValeurIndicateur.objects.filter(indicateur_id=indicateur.pk).exists()


def test_choices_are_those_of_the_contract(client, editeur, fiche, caf, caf_rhone):
    """Axes of the contract only; objectives and measures of its axes; carriers of its territory."""
    client.force_login(editeur)
    html = client.get(_url("fiche_modifier", fiche.contrat, fiche)).content.decode()
    axe_2 = Axe.objects.get(numero=2)
    assert f'<option value="{axe_2.pk}"' not in html.split('id="id_axe"')[1].split("</select>")[0]
    objectifs = html.split('id="id_objectif"')[1].split("</select>")[0]
    assert '<optgroup label="Axe 1 – Enfance">' in objectifs
    assert f'<option value="{Objectif.objects.filter(axe=axe_2).first().pk}"' not in objectifs
    porteurs = html.split('id="id_porteur"')[1].split("</select>")[0]
    assert "CAF des Hautes-Alpes" in porteurs and "CAF du Rhône" not in porteurs
    assert 'id="id_volet"' not in html  # a CLS has no volets


# --- Refusals -------------------------------------------------------------------------------------------------


def test_stale_fiche_conflict_names_who_changed_what(client, editeur, fiche):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url))
    autre = UserFactory(username="collegue05", organisation=editeur.organisation)
    fiche_update(fiche=FicheAction.objects.get(pk=fiche.pk), by=autre, version=0, intitule="Titre du collègue")
    data |= {"intitule": "Mon titre", "prevu-etat-2024": "9 000"}
    response = client.post(url, data)
    assert response.status_code == 200
    messages = " ".join(error_texts(response))
    assert "a été modifié (intitulé) par collegue05" in messages
    assert "rien n'a été enregistré" in messages
    fiche.refresh_from_db()
    assert fiche.intitule == "Titre du collègue"
    assert fiche.financements.get(annee=2024, type_financeur=ETAT).prevu == D("10000")


def test_stale_line_conflict_sits_next_to_its_cell(client, editeur, fiche):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url))
    autre = UserFactory(username="collegue05", organisation=editeur.organisation)
    ligne = fiche.financements.get(annee=2024, type_financeur=ETAT)
    ligne.prevu = D("11000")
    ligne_financement_save(ligne_financement=ligne, by=autre, version=0)
    data |= {"prevu-collectivite-2024": "13 000"}  # the State's cell still shows 10 000
    response = client.post(url, data)
    assert response.status_code == 200
    assert "a été modifié (prévu) par collegue05" in text_of(response, "id_prevu-etat-2024-erreurs")
    assert 'aria-describedby="controle-2024 id_prevu-etat-2024-erreurs"' in response.content.decode()
    assert "Rien n'a été enregistré" in response.content.decode()
    assert _lignes(fiche) == {
        (2024, ETAT, None, D("11000")),
        (2024, COLLECTIVITE, None, D("12000")),
        (2024, AUTRE, fiche.porteur_id, D("5000")),
    }


def test_rows_added_by_someone_else_are_kept(client, editeur, fiche, france_travail):
    """A page shown before another agent added a funder's line and an indicator: saving it keeps them."""
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url)) | {"prevu-etat-2024": "9 000"}
    autre = UserFactory(username="collegue05", organisation=editeur.organisation)
    ajout = LigneFinancement(fiche=fiche, annee=2025, type_financeur=AUTRE, financeur=france_travail, prevu=D("700"))
    ligne_financement_save(ligne_financement=ajout, by=autre)
    indicateur = IndicateurFactory(fiche=fiche, nom="Ajouté par un collègue")
    response = client.post(url, data)
    assert response.status_code == 302, error_texts(response)
    assert (2025, AUTRE, france_travail.pk, D("700")) in _lignes(fiche)
    assert fiche.financements.get(annee=2024, type_financeur=ETAT).prevu == D("9000")
    assert Indicateur.objects.filter(pk=indicateur.pk).exists()


def test_an_indicator_removed_by_someone_else(client, editeur, fiche):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url)) | {"intitule": "Changé"}
    fiche.indicateurs.get().delete()
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Un indicateur de la page a été supprimé par un autre utilisateur pendant votre saisie" in page_text(
        response
    )
    fiche.refresh_from_db()
    assert fiche.intitule == "Bus des familles"


def test_a_service_refusal_is_shown_next_to_its_cell(client, editeur, fiche):
    """An amount in the new funder's row without a funder: the line's own rule refuses it (a constraint of
    ``LigneFinancement``), next to that cell; nothing is written, not even the fiche's other changes."""
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url)) | {"intitule": "Autre titre", "prevu-nouveau-2025": "2 000"}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "Un autre financeur doit être nommé" in text_of(response, "id_prevu-nouveau-2025-erreurs")
    fiche.refresh_from_db()
    assert (fiche.intitule, fiche.version) == ("Bus des familles", 0)
    assert len(_lignes(fiche)) == 3


def test_fiche_errors_are_shown_on_their_field(client, editeur, fiche):
    """The fiche's rules come from actions.services.fiche_errors: a measure of another axis."""
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    mesure = Mesure.objects.get(code="3.1")
    response = client.post(url, _form_data(client.get(url)) | {"mesure": str(mesure.pk)})
    assert response.status_code == 200
    assert "La mesure 3.1 relève de l'axe 3, pas de l'axe 1." in text_of(response, "id_mesure-desc-error")
    fiche.refresh_from_db()
    assert fiche.mesure_id is None


def test_a_fiche_starting_before_its_contract(client, editeur, caf):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2025-D05", date_debut=date(2025, 1, 1))
    client.force_login(editeur)
    url = _url("fiche_creer", contrat)
    data = _form_data(client.get(url))
    assert "prevu-etat-2024" not in data and "prevu-etat-2025" in data  # the contract's years
    data |= {
        "intitule": "Bus",
        "axe": str(Axe.objects.get(numero=1).pk),
        "nature": "nouvelle",
        "porteur": str(caf.pk),
        "date_debut": "2024-06-01",
        "date_fin": "2025-12-31",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "L'action commence le 01/06/2024, avant le contrat (01/01/2025)." in text_of(
        response, "id_date_debut-desc-error"
    )
    assert not FicheAction.objects.filter(contrat=contrat).exists()


@pytest.mark.parametrize("name", ["fiche_creer", "fiche_modifier"])
def test_a_signed_contract_changes_only_by_avenant(client, editeur, fiche, name):
    contrat = fiche.contrat
    contrat.statut, contrat.date_signature = StatutContrat.SIGNE, date(2024, 3, 15)
    contrat.save()
    client.force_login(editeur)
    url = _url(name, contrat, fiche if name == "fiche_modifier" else None)
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        "Le contrat CLS-2024-D05 est signé : ses données contractuelles ne changent plus que par un avenant."
    ) in html
    assert 'id="fiche-form"' not in html
    assert f'href="{reverse("espace:avenant_creer", args=[contrat.reference])}"' in html
    models_ = hostile.Snapshot.models(["contrats", "actions", "financement"])
    before = hostile.Snapshot.take(models_)
    ecrit = hostile.ecritures()
    response = client.post(url, {"intitule": "Changé", "prevu-etat-2024": "1", "pacte_version": "0"})
    assert response.status_code == 200
    assert "ne changent plus que par un avenant" in response.content.decode()
    assert not before.changes_since(ecrit, models_)


def test_a_page_shown_before_the_signature_is_refused_after_it(client, editeur, fiche):
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url)) | {"intitule": "Changé"}
    FicheAction.objects.filter(pk=fiche.pk).update()  # nothing: the contract is signed below
    fiche.contrat.__class__.objects.filter(pk=fiche.contrat_id).update(
        statut=StatutContrat.SIGNE, date_signature=date(2024, 3, 15)
    )
    response = client.post(url, data)
    assert "ne changent plus que par un avenant" in response.content.decode()
    fiche.refresh_from_db()
    assert fiche.intitule == "Bus des familles"


# --- Hostile input -------------------------------------------------------------------------------------------


# The walk of every field of the fiche's page with the table of hostile values is the front office's walk
# (tests/espace/test_saisies_hostiles.py, ``fiche_modifier``): the cases below are this page's own.


def test_hostile_values_on_the_new_page(client, editeur, contrat_05, caf, caf_rhone):
    """Unknown ids and odd values where a new fiche is created: refused in French, nothing written."""
    client.force_login(editeur)
    url = _url("fiche_creer", contrat_05)
    base = _form_data(client.get(url)) | {
        "intitule": "Bus",
        "axe": str(Axe.objects.get(numero=1).pk),
        "nature": "nouvelle",
        "porteur": str(caf.pk),
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
    }
    cases = {
        "porteur": ["999999", str(caf_rhone.pk), "١٢٣"],
        "prevu-etat-2024": ["sNaN", "1e309", "-1", "١٢٣", "x" * 10_001, "\x00"],
        "nouveau-financeur": ["999999", str(caf_rhone.pk)],
        "ind-nouveau-nom": ["\u202eevil", "x" * 10_001],
        "ind-nouveau-cible_2024": ["sNaN", "-5"],
        "code": ["A1-٠٢", "\x1b[31m", "x" * 10_001],
    }
    for name, values in cases.items():
        for value in values:
            data = base | {name: value}
            if name.startswith("ind-nouveau") and name != "ind-nouveau-nom":
                data |= {"ind-nouveau-nom": "Familles", "ind-nouveau-unite": "familles"}
            response = client.post(url, data)
            assert response.status_code == 200, (name, value)
            texts = error_texts(response)
            assert texts and not any(map(hostile.english, texts)), (name, value, texts)
            assert not FicheAction.objects.exists(), (name, value)


# --- The live check ------------------------------------------------------------------------------------------


def _controle(client, contrat, data, **headers):
    return client.post(_url("controle", contrat), data, HTTP_HX_REQUEST="true", **headers)


def test_controle_gives_the_parity_message_with_the_amounts(client, editeur, contrat_05, plafonds):
    client.force_login(editeur)
    response = _controle(client, contrat_05, {"prevu-etat-2024": "60 000", "prevu-collectivite-2024": "50 000,00 €"})
    assert response.status_code == 200
    message = (
        "2024 : la part prévue de l'État (60\u00a0000,00\u00a0€) dépasse celle du Département "
        "(50\u00a0000,00\u00a0€) de 10\u00a0000,00\u00a0€"
    )
    assert message in text_of(response, "controle-2024")
    assert (
        'id="controle-2024" class="fr-messages-group saisie-controle" data-controle-annee="2024" hx-swap-oob="true"'
        in (response.content.decode())
    )
    assert text_of(response, "total-2024") == "110\u00a0000,00\u00a0€"
    assert text_of(response, "controle-2025") == ""


def test_controle_is_silent_for_a_balanced_grid(client, editeur, contrat_05, plafonds):
    client.force_login(editeur)
    response = _controle(
        client,
        contrat_05,
        {"prevu-etat-2024": "50 000", "prevu-collectivite-2024": "50 000", "prevu-nouveau-2024": "1"},
    )
    html = response.content.decode()
    assert "dépasse" not in html and "fr-message--error" not in html
    assert "Parité et enveloppe annuelle respectées pour les montants saisis." in html


def test_controle_tolerance_of_one_euro(client, editeur, contrat_05, plafonds):
    client.force_login(editeur)
    passe = _controle(client, contrat_05, {"prevu-etat-2024": "10 001", "prevu-collectivite-2024": "10 000"})
    assert "dépasse" not in passe.content.decode()
    bloque = _controle(client, contrat_05, {"prevu-etat-2024": "10 001,01", "prevu-collectivite-2024": "10 000"})
    assert "de 1,01\u00a0€" in text_of(bloque, "controle-2024")


def test_controle_gives_the_ceiling_overrun(client, editeur, contrat_05, caf, plafonds):
    """The contract's other active fiches as stored, this fiche's amounts as typed, against the ceiling."""
    autre = FicheActionFactory(contrat=contrat_05, code="A1-02", porteur=caf)
    LigneFinancementFactory(fiche=autre, annee=2024, type_financeur=ETAT, prevu=D("70000"))
    abandonnee = FicheActionFactory(contrat=contrat_05, code="A1-03", porteur=caf, statut=StatutFiche.ABANDONNEE)
    LigneFinancementFactory(fiche=abandonnee, annee=2024, type_financeur=ETAT, prevu=D("50000"))
    client.force_login(editeur)
    response = _controle(client, contrat_05, {"prevu-etat-2024": "40 000", "prevu-collectivite-2024": "40 000"})
    message = (
        "2024 : les parts prévues de l'État (110\u00a0000,00\u00a0€) dépassent l'enveloppe annuelle "
        "(100\u00a0000,00\u00a0€) de 10\u00a0000,00\u00a0€"
    )
    assert message in text_of(response, "controle-2024")
    assert f"<li>{message}</li>" in page_text(response)  # the summary
    # Editing A1-02 itself: its stored 70 000 are replaced by the typed 40 000.
    response = _controle(
        client,
        contrat_05,
        {"controle-fiche": "A1-02", "prevu-etat-2024": "40 000", "prevu-collectivite-2024": "40 000"},
    )
    assert "enveloppe" not in text_of(response, "controle-2024")
    # A year without ceiling.
    response = _controle(client, contrat_05, {"prevu-etat-2026": "1 000", "prevu-collectivite-2026": "1 000"})
    assert "2026 : aucune enveloppe de l'État n'est fixée pour 1\u00a0000,00\u00a0€ de parts prévues" in text_of(
        response, "controle-2026"
    )


def test_controle_ignores_what_does_not_read(client, editeur, contrat_05, plafonds):
    client.force_login(editeur)
    response = _controle(
        client,
        contrat_05,
        {
            "prevu-etat-2024": "sNaN",
            "prevu-collectivite-2024": "1e309",
            "prevu-etat-2099": "5",
            "prevu-autre-abc-2024": "5",
            "controle-fiche": "\x00" * 50,
            "volet": "999999",
        },
    )
    assert response.status_code == 200
    assert "ne se lisent pas comme un montant" in response.content.decode()
    assert "dépasse" not in response.content.decode()


def test_controle_outside_the_grid_is_a_page(client, editeur, contrat_05, caf, plafonds):
    """Without htmx (an address typed, no JavaScript): the same check, within the layout."""
    autre = FicheActionFactory(contrat=contrat_05, code="A1-02", porteur=caf)
    LigneFinancementFactory(fiche=autre, annee=2024, type_financeur=ETAT, prevu=D("120000"))
    client.force_login(editeur)
    response = client.get(_url("controle", contrat_05))
    assert response.status_code == 200
    text = page_text(response)
    assert "<h1>Parité et enveloppes – CLS-2024-D05</h1>" in text
    assert (
        "2024 : les parts prévues de l'État (120\u00a0000,00\u00a0€) dépassent l'enveloppe annuelle "
        "(100\u00a0000,00\u00a0€) de 20\u00a0000,00\u00a0€"
    ) in text
    assert "hx-swap-oob" not in text


def test_the_page_wires_the_live_check(client, editeur, fiche):
    client.force_login(editeur)
    html = client.get(_url("fiche_modifier", fiche.contrat, fiche)).content.decode()
    assert f'hx-post="{_url("controle", fiche.contrat)}"' in html
    assert 'hx-trigger="input changed delay:400ms, change from:#id_volet"' in html
    assert '<div id="controle-resume" class="fr-mb-4w" aria-live="polite">' in html
    assert re.search(r'<script src="/static/django_htmx/htmx-2\.min\.js"', html)
    assert '<script src="/static/espace/saisie.js"></script>' in html
    assert "<script>" not in html and " style=" not in html
    # Without JavaScript the same messages come with the page: 10 000 vs 12 000 holds, the page says so.
    assert "Parité et enveloppe annuelle respectées pour les montants saisis." in html


def test_the_page_shows_the_check_of_what_was_posted(client, editeur, fiche):
    """A refused save shows the check of the amounts as typed, beside their year."""
    client.force_login(editeur)
    url = _url("fiche_modifier", fiche.contrat, fiche)
    data = _form_data(client.get(url)) | {"prevu-etat-2024": "60 000", "intitule": ""}
    response = client.post(url, data)
    assert response.status_code == 200
    assert "dépasse celle du Département (12\u00a0000,00\u00a0€) de 48\u00a0000,00\u00a0€" in text_of(
        response, "controle-2024"
    )
    assert (
        'class="fr-input-group saisie-cellule fr-input-group--error"\n                           data-annee="2024"'
        in (response.content.decode())
    )


def test_controle_decides_as_the_signature_does(editeur):
    """With the amounts as stored, the check gives the messages of the signature's own functions
    (parite_violations, plafond_violations): a convention unique with volets, their ceilings, and fiches on
    and off volets."""
    contrat = ContratFactory(
        collectivite=collectivite("D05"), type_contrat=TypeContrat.CONVENTION_UNIQUE, reference="CU-2024-D05"
    )
    porteur = OrganisationFactory(type=TypeOrganisation.PARTENAIRE)
    volet_1 = VoletFactory(contrat=contrat, numero=1)
    volet_2 = VoletFactory(contrat=contrat, numero=2)
    PlafondFactory(contrat=contrat, annee=2024, volet=volet_1, montant=D("30000"))
    PlafondFactory(contrat=contrat, annee=2024, volet=volet_2, montant=D("10000"))
    PlafondFactory(contrat=contrat, annee=2025, montant=D("5000"))
    axe_2 = Axe.objects.get(numero=2)
    fiches = [
        FicheActionFactory(contrat=contrat, code="A2-01", axe=axe_2, volet=volet_1, porteur=porteur),
        FicheActionFactory(contrat=contrat, code="A2-02", axe=axe_2, volet=volet_2, porteur=porteur),
        FicheActionFactory(contrat=contrat, code="A1-01", porteur=porteur),
    ]
    montants = {
        "A2-01": [(2024, ETAT, "35000"), (2025, ETAT, "3000")],
        "A2-02": [(2024, ETAT, "12000"), (2024, COLLECTIVITE, "10000"), (2025, ETAT, "3000")],
        "A1-01": [(2024, ETAT, "2000"), (2024, COLLECTIVITE, "1500"), (2026, ETAT, "10")],
    }
    for fiche in fiches:
        for annee, type_financeur, prevu in montants[fiche.code]:
            LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=type_financeur, prevu=D(prevu))
    attendus_plafonds = plafond_violations(contrat)
    assert attendus_plafonds  # the case does breach
    for fiche in fiches:
        controle = controle_grille(
            contrat=contrat, fiche=fiche, volet=fiche.volet, montants=montants_enregistres(fiche.financements.all())
        )
        parite = [
            m.removeprefix(f"Fiche {fiche.code}, ") for m in parite_violations(FicheAction.objects.filter(pk=fiche.pk))
        ]
        assert sorted(controle.messages) == sorted(parite + attendus_plafonds), fiche.code


# --- Execution ------------------------------------------------------------------------------------------------


@pytest.fixture
def signe(caf):
    """A signed CLS: A1-01 with the State's and the Département's 2024 lines, an indicator with targets."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2023-D05", signe=True)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", porteur=caf, statut=StatutFiche.VALIDEE)
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("10000"))
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=COLLECTIVITE, prevu=D("12000"))
    indicateur = IndicateurFactory(fiche=fiche, nom="Familles accompagnées")
    ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("100"))
    ValeurIndicateurFactory(indicateur=indicateur, annee=2027, cible=D("150"))
    return fiche


def test_execution_by_the_collectivite(client, agent_cd05, signe):
    fiche = signe
    etat = fiche.financements.get(type_financeur=ETAT)
    cd = fiche.financements.get(type_financeur=COLLECTIVITE)
    indicateur = fiche.indicateurs.get()
    client.force_login(agent_cd05)
    url = _url("fiche_execution", fiche.contrat, fiche)
    response = client.get(url)
    assert response.status_code == 200
    data = _form_data(response, "execution-form")
    # Its own line only; the planned amounts are shown, not entered; no value for a year to come.
    assert f"engage-{cd.pk}" in data and f"engage-{etat.pk}" not in data
    assert "prevu" not in " ".join(data)
    assert f"realise-{indicateur.pk}-2024" in data and f"realise-{indicateur.pk}-2027" not in data
    assert "12\u00a0000,00\u00a0€" in response.content.decode()
    data |= {
        f"engage-{cd.pk}": "11 000,00 €",
        f"realise-{cd.pk}": "10 500,50",
        f"realise-{indicateur.pk}-2024": "85",
        f"realise-{indicateur.pk}-2025": "12",
        f"engage-{etat.pk}": "1",  # not offered to the collectivité: ignored
    }
    response = client.post(url, data)
    assert response.status_code == 302
    assert response["Location"] == url
    cd.refresh_from_db()
    etat.refresh_from_db()
    assert (cd.prevu, cd.engage, cd.realise, cd.version) == (D("12000"), D("11000"), D("10500.50"), 1)
    assert (etat.engage, etat.version) == (None, 0)
    assert {(v.annee, v.cible, v.realise) for v in indicateur.valeurs.all()} == {
        (2024, D("100"), D("85")),
        (2025, None, D("12")),
        (2027, D("150"), None),
    }
    assert _messages(response) == ["L'exécution de la fiche A1-01 est enregistrée."]


def test_execution_warnings_on_spent_amounts(client, editeur, signe):
    """The DDETS enters every funder's amounts; parity on the spent amounts warns, blocks nothing."""
    fiche = signe
    etat = fiche.financements.get(type_financeur=ETAT)
    cd = fiche.financements.get(type_financeur=COLLECTIVITE)
    client.force_login(editeur)
    url = _url("fiche_execution", fiche.contrat, fiche)
    data = _form_data(client.get(url), "execution-form")
    data |= {f"realise-{etat.pk}": "9 000", f"realise-{cd.pk}": "7 500"}
    assert client.post(url, data).status_code == 302
    response = client.get(url)
    assert (
        "Fiche A1-01, 2024 : la part réalisée de l'État (9\u00a0000,00\u00a0€) dépasse celle du Département "
        "(7\u00a0500,00\u00a0€) de 1\u00a0500,00\u00a0€"
    ) in page_text(response)
    etat.refresh_from_db()
    assert etat.realise == D("9000")


def test_execution_refusals(client, agent_cd05, signe, caf):
    """Every field of the execution page, every hostile value of its kind: never a 500, nothing written, a
    French message (hidden versions: no 500, nothing written); keys of another fiche's rows are ignored."""
    fiche = signe
    cd = fiche.financements.get(type_financeur=COLLECTIVITE)
    autre_fiche = FicheActionFactory(contrat=fiche.contrat, code="A1-02", porteur=caf, statut=StatutFiche.VALIDEE)
    autre_ligne = LigneFinancementFactory(fiche=autre_fiche, annee=2024, type_financeur=COLLECTIVITE)
    autre_indicateur = IndicateurFactory(fiche=autre_fiche)
    client.force_login(agent_cd05)
    url = _url("fiche_execution", fiche.contrat, fiche)
    base = _form_data(client.get(url), "execution-form")
    models_ = hostile.Snapshot.models(["actions", "financement"])
    before = hostile.Snapshot.take(models_)
    ecrit = hostile.ecritures()
    failures = []
    for name in sorted(base):
        if name == "csrfmiddlewaretoken":
            continue
        kind = "cache" if name.startswith("version-") else "montant"
        for value in hostile.HOSTILES[kind]:
            response = client.post(url, base | {name: value})
            label = f"{name}={hostile.show(value)}"
            if response.status_code not in (200, 302):
                failures.append(f"{label}: {response.status_code}")
            elif changes := before.changes_since(ecrit, models_):
                failures.append(f"{label}: la base a changé {changes}")
            elif kind != "cache":
                texts = error_texts(response) if response.status_code == 200 else []
                if not texts or any(map(hostile.english, texts)):
                    failures.append(f"{label}: {texts or response.status_code}")
    assert not failures, "\n".join(failures)
    response = client.post(
        url,
        base
        | {
            f"engage-{autre_ligne.pk}": "10",
            f"version-{autre_ligne.pk}": "0",
            f"realise-{autre_indicateur.pk}-2024": "5",
        },
    )
    assert response.status_code == 302
    assert not before.changes_since(ecrit, models_)
    # A stale page: another agent entered the committed amount meanwhile.
    cd.engage = D("100")
    ligne_financement_save(ligne_financement=cd, by=UserFactory(username="autre-cd05"), version=0)
    response = client.post(url, base | {f"realise-{cd.pk}": "50"})
    assert response.status_code == 200
    assert "a été modifié (engagé) par autre-cd05" in " ".join(error_texts(response))
    cd.refresh_from_db()
    assert (cd.engage, cd.realise) == (D("100"), None)


def test_execution_waits_for_the_signature(client, editeur, fiche):
    client.force_login(editeur)
    response = client.get(_url("fiche_execution", fiche.contrat, fiche))
    assert response.status_code == 200
    html = page_text(response)
    assert "L'exécution se saisit sur un contrat signé ou en exécution (CLS-2024-D05 est « en négociation »)." in html
    assert 'id="execution-form"' not in html


# --- Query budgets -------------------------------------------------------------------------------------------


def _grossir(fiche, n: int) -> None:
    """``n`` funding lines on the fiche (the State's and the collectivité's each year, then other funders), and
    ``n // 3`` indicators with a target each year."""
    annees = list(fiche.contrat.annees)
    cellules = [(a, ETAT, None) for a in annees] + [(a, COLLECTIVITE, None) for a in annees]
    k = 0
    while len(cellules) < n:
        organisation = OrganisationFactory(nom=f"Financeur {k}", departement=departement("05"))
        cellules += [(a, AUTRE, organisation) for a in annees]
        k += 1
    for annee, type_financeur, financeur in cellules[:n]:
        LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=type_financeur, financeur=financeur)
    for i in range(max(1, n // 3)):
        indicateur = IndicateurFactory(fiche=fiche, nom=f"Indicateur {i}")
        for annee in annees:
            ValeurIndicateurFactory(
                indicateur=indicateur, annee=annee, cible=D(i), realise=D(i) if annee == 2024 else None
            )


@pytest.mark.parametrize("n", [3, 30])
def test_query_budgets(client, editeur, agent_cd05, contrat_05, caf, plafonds, django_assert_max_num_queries, n):
    fiche = FicheActionFactory(contrat=contrat_05, code="A1-01", porteur=caf)
    _grossir(fiche, n)
    for i in range(n):  # other fiches of the contract, for the ceilings' sums
        autre = FicheActionFactory(contrat=contrat_05, code=f"A3-{i:02d}", porteur=caf)
        LigneFinancementFactory(fiche=autre, annee=2024, type_financeur=ETAT, prevu=D("100"))
    client.force_login(editeur)
    with django_assert_max_num_queries(BUDGETS["fiche_creer"]):
        assert client.get(_url("fiche_creer", contrat_05)).status_code == 200
    with django_assert_max_num_queries(BUDGETS["fiche_modifier"]):
        response = client.get(_url("fiche_modifier", contrat_05, fiche))
        assert response.status_code == 200
    data = _form_data(response)
    with django_assert_max_num_queries(BUDGETS["controle"]):
        assert _controle(client, contrat_05, data).status_code == 200
    signe = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2023-D05", signe=True)
    fiche_signee = FicheActionFactory(contrat=signe, code="A1-01", porteur=caf, statut=StatutFiche.VALIDEE)
    _grossir(fiche_signee, n)
    client.force_login(agent_cd05)
    with django_assert_max_num_queries(BUDGETS["fiche_execution"]):
        assert client.get(_url("fiche_execution", signe, fiche_signee)).status_code == 200


#: Measured with 3 and with 30 lines (and n // 3 indicators): the same.
BUDGETS = {"fiche_creer": 19, "fiche_modifier": 22, "controle": 13, "fiche_execution": 14}
