"""Irreversible back-office actions go through a confirmation page (pacte.admin_base.confirm_action).

For closing, terminating, signing a contract, validating an annual report and deciding a reliquat:
the changelist's POST shows the selection and the consequences in French and writes nothing; the
confirmed POST calls the service for each object (audit trail in the user's name); bad input shows
the page again with a French error and writes nothing; readers and other territories process nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from contrats.enums import PartieSignataire, StatutContrat
from contrats.models import Contrat
from financement.enums import DecisionReliquat, StatutRapport, TypeFinanceur
from financement.models import RapportAnnuel, Reliquat
from financement.services import reliquat_compute
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    VersementFactory,
    collectivite,
    departement,
)

pytestmark = pytest.mark.django_db

TEMPLATE = "admin/pacte/confirmation.html"


# --- The objects, one per action --------------------------------------------------------------------------


def en_execution(reference: str = "CLS-2023-D05") -> Contrat:
    return ContratFactory(
        collectivite=collectivite("D05"),
        reference=reference,
        statut=StatutContrat.EN_EXECUTION,
        date_signature=date(2024, 3, 15),
    )


def pret_pour_signature(reference: str = "CLS-2024-D05", derniere: date = date(2024, 3, 4)) -> Contrat:
    """Ready to be signed: a validated fiche, a ceiling, the État's and the collectivité's signatories."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=reference, statut=StatutContrat.PRET_SIGNATURE)
    FicheActionFactory(contrat=contrat, code="A1-01", validee=True)
    PlafondFactory(contrat=contrat)
    SignataireFactory(contrat=contrat, date_signature=date(2024, 3, 1))
    SignataireFactory(
        contrat=contrat,
        partie=PartieSignataire.COLLECTIVITE,
        nom="B. Présidente",
        qualite="Présidente",
        date_signature=derniere,
    )
    return contrat


def rapport_transmis() -> RapportAnnuel:
    return RapportAnnuel.objects.create(
        contrat=en_execution(),
        annee=2024,
        statut=StatutRapport.TRANSMIS,
        date_limite=date(2025, 3, 31),
        synthese="Actions menées comme prévu.",
        observations_ddets="Premier examen.",
    )


def reliquat_2024() -> Reliquat:
    """50 000 € paid for 2024, 30 000 € spent on the State's share: a reliquat of 20 000 €."""
    contrat = en_execution()
    VersementFactory(contrat=contrat, annee=2024, montant=Decimal("50000"), date_versement=date(2024, 6, 1))
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", validee=True)
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, realise=Decimal("30000"))
    return reliquat_compute(contrat=contrat, annee=2024)


# --- The table of actions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    action: str
    model: type
    make: Callable
    #: The persona who may act: the DDETS editor, or the préfecture for a signature.
    persona: str
    #: Sentences the page must show.
    consequences: tuple[str, ...]
    #: What the confirmation form sends, and the state it leads to.
    data: dict
    expected: Callable
    success: str
    #: The free text of the form (for hostile input); None when there is none.
    text_field: str | None = None
    extra: dict = field(default_factory=dict)


def etat_contrat(c) -> tuple:
    return (c.statut, c.motif_fin, c.date_signature)


CASES = [
    Case(
        action="clore",
        model=Contrat,
        make=en_execution,
        persona="editeur",
        consequences=(
            "Le contrat passera au statut « Clos ». Ce statut est définitif",
            "Seul un contrat « En exécution » peut être clos.",
        ),
        data={"motif": "  Fin du programme  "},
        expected=lambda c: etat_contrat(c) == (StatutContrat.CLOS, "Fin du programme", date(2024, 3, 15)),
        success="1 contrat(s) clos.",
        text_field="motif",
    ),
    Case(
        action="resilier",
        model=Contrat,
        make=en_execution,
        persona="editeur",
        consequences=(
            "Le contrat passera au statut « Résilié ». Ce statut est définitif",
            "Seul un contrat « Signé » ou « En exécution » peut être résilié.",
            "Le motif de la résiliation est obligatoire",
        ),
        data={"motif": "Manquements répétés de la collectivité"},
        expected=lambda c: (
            etat_contrat(c) == (StatutContrat.RESILIE, "Manquements répétés de la collectivité", date(2024, 3, 15))
        ),
        success="1 contrat(s) résilié(s).",
        text_field="motif",
    ),
    Case(
        action="enregistrer_signature",
        model=Contrat,
        make=pret_pour_signature,
        persona="prefecture",
        consequences=(
            "Le contrat passera au statut « Signé »",
            "Ses données contractuelles (fiches actions, montants prévus, enveloppes, signataires) seront figées : "
            "elles ne changeront plus que par un avenant.",
        ),
        data={"date_signature": "05/03/2024"},
        expected=lambda c: etat_contrat(c) == (StatutContrat.SIGNE, "", date(2024, 3, 5)),
        success="1 contrat(s) signé(s).",
    ),
    Case(
        action="valider",
        model=RapportAnnuel,
        make=rapport_transmis,
        persona="editeur",
        consequences=(
            "Le rapport passera au statut « Validé ». Ce statut est définitif : la synthèse et les observations "
            "de la DDETS ne se modifieront plus.",
            "Le versement du solde de l'exercice peut alors être engagé",
            "Seul un rapport « Transmis à la DDETS » peut être validé.",
        ),
        data={"observations": "Rapport complet, indicateurs renseignés."},
        expected=lambda r: (
            (r.statut, r.observations_ddets, r.valide_le)
            == (StatutRapport.VALIDE, "Rapport complet, indicateurs renseignés.", timezone.localdate())
        ),
        success="1 rapport(s) validé(s).",
        text_field="observations",
    ),
    Case(
        action="decider_deduction",
        model=Reliquat,
        make=reliquat_2024,
        persona="editeur",
        consequences=(
            "Le reliquat sera déduit du versement de l'État de l'exercice suivant.",
            "La décision est datée du jour et enregistrée à votre nom",
        ),
        data={"commentaire": "Déduit de l'avance 2025."},
        expected=lambda r: (
            (r.decision, r.commentaire, r.decide_le)
            == (DecisionReliquat.DEDUCTION, "Déduit de l'avance 2025.", timezone.localdate())
        ),
        success="1 décision(s) enregistrée(s).",
        text_field="commentaire",
    ),
    Case(
        action="decider_reversement",
        model=Reliquat,
        make=reliquat_2024,
        persona="editeur",
        consequences=(
            "Le reliquat sera repris : un titre de reversement de son montant est à émettre",
            "La décision est datée du jour et enregistrée à votre nom",
        ),
        data={"commentaire": "Action non réalisée."},
        expected=lambda r: (
            (r.decision, r.commentaire, r.decide_le)
            == (DecisionReliquat.REVERSEMENT, "Action non réalisée.", timezone.localdate())
        ),
        success="1 décision(s) enregistrée(s).",
        text_field="commentaire",
    ),
]
BY_ACTION = {case.action: case for case in CASES}
TEXT_CASES = [case for case in CASES if case.text_field]


def cases(selection=CASES):
    return pytest.mark.parametrize("case", [pytest.param(c, id=c.action) for c in selection])


# --- Helpers ----------------------------------------------------------------------------------------------


@pytest.fixture
def prefecture(db):
    """A préfecture editor of the Hautes-Alpes: records signatures."""
    return UserFactory(
        username="prefecture05", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
    )


@pytest.fixture
def personas(editeur, lecteur, autre_territoire, prefecture):
    return {"editeur": editeur, "lecteur": lecteur, "autre_territoire": autre_territoire, "prefecture": prefecture}


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def choose(client, case: Case, objects, url: str | None = None):
    """The changelist's POST: an action on a selection."""
    return client.post(
        url or changelist(case.model), {"action": case.action, "_selected_action": [o.pk for o in objects]}
    )


def confirm(client, case: Case, objects, data: dict | None = None):
    """The confirmation page's POST, followed to the changelist when it redirects."""
    payload = {"action": case.action, "_selected_action": [o.pk for o in objects], "post": "yes"}
    payload.update(case.data if data is None else data)
    return client.post(changelist(case.model), payload, follow=True)


def snapshot(obj) -> tuple:
    """Every column of the row as stored, and the length of its audit trail."""
    fresh = type(obj)._default_manager.get(pk=obj.pk)
    return ({f.attname: getattr(fresh, f.attname) for f in fresh._meta.concrete_fields}, fresh.history.count())


def plain(text: str) -> str:
    """Text as read: no-break spaces as spaces, runs of white space as one."""
    return " ".join(text.replace("\xa0", " ").replace("\u202f", " ").split())


def page_text(response) -> str:
    return plain(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def field_errors(response, name: str) -> list[str]:
    return list(response.context["form"].errors.get(name, []))


# --- The first POST shows the page and writes nothing -----------------------------------------------------


@cases()
def test_le_premier_envoi_montre_la_page_de_confirmation_sans_rien_changer(client, personas, case):
    obj = case.make()
    before = snapshot(obj)
    client.force_login(personas[case.persona])
    response = choose(client, case, [obj])
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == TEMPLATE
    html = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in html
    text = page_text(response)
    for consequence in case.consequences:
        assert consequence in text
    assert str(obj) in text
    for hidden in (
        f'<input type="hidden" name="action" value="{case.action}">',
        f'<input type="hidden" name="_selected_action" value="{obj.pk}">',
        '<input type="hidden" name="post" value="yes">',
        '<input type="submit" class="default" value="Confirmer">',
    ):
        assert re.search(re.escape(hidden), html), hidden
    assert re.search(rf'<a href="{re.escape(changelist(case.model))}" class="button cancel-link">Annuler</a>', html)
    assert "errornote" not in html
    assert snapshot(obj) == before


def test_la_page_garde_les_filtres_de_la_liste_pour_annuler(client, editeur):
    contrat = en_execution()
    client.force_login(editeur)
    url = f"{changelist(Contrat)}?statut__exact=en_execution"
    response = choose(client, BY_ACTION["clore"], [contrat], url=url)
    assert response.status_code == 200
    assert response.context["changelist_url"] == url


# --- The confirmed POST applies the service -----------------------------------------------------------------


@cases()
def test_la_confirmation_applique_le_service_au_nom_de_l_agent(client, personas, case):
    obj = case.make()
    user = personas[case.persona]
    client.force_login(user)
    response = confirm(client, case, [obj])
    assert response.redirect_chain == [(changelist(case.model), 302)]
    assert case.success in messages_of(response)
    obj.refresh_from_db()
    assert case.expected(obj)
    assert obj.history.first().history_user == user


def test_clore_une_selection_traite_chaque_contrat_et_nomme_ceux_refuses(client, editeur):
    premier, second = en_execution("CLS-2023-D05"), en_execution("CLS-2022-D05")
    en_negociation = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2025-D05")
    before = snapshot(en_negociation)
    client.force_login(editeur)
    selection = [premier, second, en_negociation]
    page = choose(client, BY_ACTION["clore"], selection)
    assert {pk for pk, _ in page.context["objects"]} == {c.pk for c in selection}
    response = confirm(client, BY_ACTION["clore"], selection, {"motif": ""})
    assert "2 contrat(s) clos." in messages_of(response)
    assert "CLS-2025-D05 : Le contrat CLS-2025-D05 ne peut pas passer de « En négociation » à « Clos »." in messages_of(
        response
    )
    assert set(Contrat.objects.filter(statut=StatutContrat.CLOS).values_list("reference", "motif_fin")) == {
        ("CLS-2023-D05", ""),
        ("CLS-2022-D05", ""),
    }
    assert snapshot(en_negociation) == before


# --- Bad input: the page again, a French error, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("motif", "expected"),
    [
        pytest.param("", "Indiquez le motif de la résiliation.", id="missing"),
        pytest.param(" \n\t ", "Indiquez le motif de la résiliation.", id="only-spaces"),
        pytest.param("Motif\x00caché", "Ce texte contient", id="nul-character"),
        pytest.param("\u202eevil", "Ce texte contient", id="bidi-override"),
        pytest.param("x" * 10_001, "caractères", id="10001-characters"),
    ],
)
def test_resilier_sans_motif_valable_montre_l_erreur_et_ne_change_rien(client, editeur, motif, expected):
    contrat = en_execution()
    before = snapshot(contrat)
    client.force_login(editeur)
    response = confirm(client, BY_ACTION["resilier"], [contrat], {"motif": motif})
    assert response.status_code == 200
    assert response.redirect_chain == []
    assert [t.name for t in response.templates][0] == TEMPLATE
    errors = field_errors(response, "motif")
    assert any(expected in e for e in errors), errors
    text = page_text(response)
    assert "Rien n'a été enregistré : corrigez l'erreur ci-dessous." in text
    assert any(plain(e) in text for e in errors)
    # The selection is kept for the next try.
    assert f'name="_selected_action" value="{contrat.pk}"' in response.content.decode()
    assert snapshot(contrat) == before


def test_un_motif_de_la_longueur_maximale_est_accepte(client, editeur):
    contrat = en_execution()
    client.force_login(editeur)
    confirm(client, BY_ACTION["resilier"], [contrat], {"motif": "x" * 10_000})
    contrat.refresh_from_db()
    assert (contrat.statut, len(contrat.motif_fin)) == (StatutContrat.RESILIE, 10_000)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("\x00", id="nul"),
        pytest.param("a\x00" * 5_001, id="10002-characters-with-nul"),
        pytest.param("x" * 10_001, id="10001-characters"),
        pytest.param("\x1b[31mrouge", id="escape"),
    ],
)
@cases(TEXT_CASES)
def test_un_texte_hostile_ne_donne_jamais_d_erreur_500(client, personas, case, value):
    obj = case.make()
    before = snapshot(obj)
    client.force_login(personas[case.persona])
    response = confirm(client, case, [obj], {case.text_field: value})
    assert response.status_code == 200
    assert response.redirect_chain == []
    assert field_errors(response, case.text_field)
    assert "Rien n'a été enregistré" in page_text(response)
    assert snapshot(obj) == before


# --- Signature: the date, its default, its checks ---------------------------------------------------------


def test_la_date_proposee_est_celle_de_la_derniere_signature(client, prefecture):
    contrat = pret_pour_signature(derniere=date(2024, 3, 4))
    client.force_login(prefecture)
    response = choose(client, BY_ACTION["enregistrer_signature"], [contrat])
    assert response.context["form"]["date_signature"].value() == date(2024, 3, 4)
    assert 'value="2024-03-04"' in response.content.decode()
    assert "dernière signature le 04/03/2024" in page_text(response)


@pytest.mark.parametrize(
    ("saisie", "expected"),
    [
        pytest.param("", date(2024, 3, 4), id="empty-means-last-signature"),
        pytest.param("2024-03-04", date(2024, 3, 4), id="the-last-signature-iso"),
        pytest.param("04/03/2024", date(2024, 3, 4), id="the-last-signature-french"),
        pytest.param("2024-06-30", date(2024, 6, 30), id="later"),
        pytest.param("today", None, id="today"),
    ],
)
def test_signer_a_la_date_saisie(client, prefecture, saisie, expected):
    contrat = pret_pour_signature(derniere=date(2024, 3, 4))
    client.force_login(prefecture)
    today = timezone.localdate()
    if saisie == "today":
        saisie, expected = today.isoformat(), today
    response = confirm(client, BY_ACTION["enregistrer_signature"], [contrat], {"date_signature": saisie})
    assert "1 contrat(s) signé(s)." in messages_of(response)
    contrat.refresh_from_db()
    assert (contrat.statut, contrat.date_signature) == (StatutContrat.SIGNE, expected)


@pytest.mark.parametrize(
    ("saisie", "expected"),
    [
        pytest.param("tomorrow", "La date de signature ne peut pas être dans le futur.", id="tomorrow"),
        pytest.param("3000-12-31", "La date de signature ne peut pas être dans le futur.", id="year-3000"),
        pytest.param("31/02/2024", "Saisissez une date valide (ex. 15/03/2025).", id="31-february"),
        pytest.param("demain", "Saisissez une date valide (ex. 15/03/2025).", id="words"),
        pytest.param("\x00", "Saisissez une date valide (ex. 15/03/2025).", id="nul"),
        pytest.param("9" * 10_001, "Saisissez une date valide (ex. 15/03/2025).", id="10001-digits"),
    ],
)
def test_une_date_de_signature_invalide_montre_l_erreur_et_ne_change_rien(client, prefecture, saisie, expected):
    contrat = pret_pour_signature()
    before = snapshot(contrat)
    client.force_login(prefecture)
    if saisie == "tomorrow":
        saisie = (timezone.localdate() + timedelta(days=1)).isoformat()
    response = confirm(client, BY_ACTION["enregistrer_signature"], [contrat], {"date_signature": saisie})
    assert response.status_code == 200
    assert field_errors(response, "date_signature") == [expected]
    assert expected in page_text(response)
    assert snapshot(contrat) == before


def test_une_date_anterieure_a_une_signature_est_refusee_par_le_service(client, prefecture):
    contrat = pret_pour_signature(derniere=date(2024, 3, 4))
    before = snapshot(contrat)
    client.force_login(prefecture)
    response = confirm(client, BY_ACTION["enregistrer_signature"], [contrat], {"date_signature": "2024-03-02"})
    assert response.redirect_chain == [(changelist(Contrat), 302)]
    assert "CLS-2024-D05 : B. Présidente a signé le 04/03/2024, après le 02/03/2024." in messages_of(response)
    assert snapshot(contrat) == before


def test_signer_plusieurs_contrats_chacun_a_sa_derniere_date(client, prefecture):
    premier = pret_pour_signature("CLS-2024-D05", derniere=date(2024, 3, 4))
    second = pret_pour_signature("CLS-2024-D05-BIS", derniere=date(2024, 4, 9))
    client.force_login(prefecture)
    page = choose(client, BY_ACTION["enregistrer_signature"], [premier, second])
    assert page.context["form"]["date_signature"].value() is None  # each contract its own date
    response = confirm(client, BY_ACTION["enregistrer_signature"], [premier, second], {"date_signature": ""})
    assert "2 contrat(s) signé(s)." in messages_of(response)
    assert dict(Contrat.objects.values_list("reference", "date_signature")) == {
        "CLS-2024-D05": date(2024, 3, 4),
        "CLS-2024-D05-BIS": date(2024, 4, 9),
    }


# --- Texts kept when the field is left empty --------------------------------------------------------------


def test_valider_sans_observations_garde_celles_deja_saisies(client, editeur):
    rapport = rapport_transmis()
    client.force_login(editeur)
    page = choose(client, BY_ACTION["valider"], [rapport])
    assert page.context["form"]["observations"].value() == "Premier examen."
    confirm(client, BY_ACTION["valider"], [rapport], {"observations": ""})
    rapport.refresh_from_db()
    assert (rapport.statut, rapport.observations_ddets) == (StatutRapport.VALIDE, "Premier examen.")


def test_decider_sur_le_dernier_exercice_la_deduction_est_refusee(client, editeur):
    reliquat = reliquat_2024()
    Contrat.objects.filter(pk=reliquat.contrat_id).update(date_fin=date(2024, 12, 31))
    before = snapshot(reliquat)
    client.force_login(editeur)
    response = confirm(client, BY_ACTION["decider_deduction"], [reliquat])
    assert (
        "Reliquat 2024 – CLS-2023-D05 : Dernier exercice du contrat : le reliquat ne peut qu'être reversé."
        in messages_of(response)
    )
    assert snapshot(reliquat) == before
    confirm(client, BY_ACTION["decider_reversement"], [reliquat], {"commentaire": ""})
    reliquat.refresh_from_db()
    assert (reliquat.decision, reliquat.decide_par) == (DecisionReliquat.REVERSEMENT, editeur)


# --- Who may act ------------------------------------------------------------------------------------------


@cases()
def test_un_lecteur_ne_se_voit_pas_proposer_l_action_et_ne_change_rien(client, personas, case):
    obj = case.make()
    before = snapshot(obj)
    client.force_login(personas["lecteur"])
    listing = client.get(changelist(case.model))
    assert case.action not in listing.context["cl"].model_admin.get_actions(listing.wsgi_request)
    for response in (choose(client, case, [obj]), confirm(client, case, [obj])):
        # Without actions the changelist ignores the POST: the list again, never the confirmation page.
        assert response.status_code == 200
        assert TEMPLATE not in [t.name for t in response.templates]
    assert snapshot(obj) == before


@cases()
def test_un_agent_d_un_autre_territoire_ne_traite_pas_les_objets_du_05(client, personas, case):
    obj = case.make()
    before = snapshot(obj)
    client.force_login(personas["autre_territoire"])
    payload = {"action": case.action, "_selected_action": [obj.pk]}
    first = client.post(changelist(case.model), payload, follow=True)
    assert first.redirect_chain == [(changelist(case.model), 302)]
    assert "Aucun des éléments sélectionnés ne peut être traité." in messages_of(first)
    response = confirm(client, case, [obj])
    assert response.redirect_chain == [(changelist(case.model), 302)]
    assert "Aucun des éléments sélectionnés ne peut être traité." in messages_of(response)
    assert snapshot(obj) == before
