"""The back-office: scoped by perimeter, permissions from pacte.perms, frozen after signature, audited."""

import re
from datetime import date
from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse

from actions.enums import StatutFiche
from actions.models import FicheAction, Indicateur
from actions.services import fiche_update
from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Avenant, Contrat, ModificationAvenant, RegleTypeContrat
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond, Reliquat, Versement
from financement.services import ligne_financement_set
from pacte.enums import Role, TypeOrganisation
from pacte.models import Axe, Collectivite, Mesure, Region
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VersementFactory,
    axe,
    collectivite,
    departement,
    region,
)

pytestmark = pytest.mark.django_db


def url(obj_or_model, view: str = "changelist", *args) -> str:
    opts = obj_or_model._meta
    if view in ("change", "history", "delete") and not args:
        args = (obj_or_model.pk,)
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{view}", args=args)


def changelist_pks(response) -> set[int]:
    return {obj.pk for obj in response.context["cl"].result_list}


def as_post_data(response) -> dict:
    """The data a browser would send back from an admin change form (main form and inlines)."""
    data = {}
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name, field in management.fields.items():
            data[management.add_prefix(name)] = management.initial.get(name, field.initial)
        forms.extend(formset.forms)
    for form in forms:
        for name, field in form.fields.items():
            value = form.initial.get(name, field.initial)
            if callable(value):
                value = value()
            key = form.add_prefix(name)
            if name == "DELETE":
                continue
            if value is None:
                data[key] = ""
                continue
            if isinstance(value, list | tuple):
                data[key] = [getattr(v, "pk", v) for v in value]
            elif isinstance(value, bool):
                if value:
                    data[key] = "on"
            else:
                data[key] = getattr(value, "pk", value)
    return data


def errors(response) -> str:
    """Every error message of an admin form that was sent back, in one string."""
    form = response.context["adminform"].form
    return " ".join(message for messages in form.errors.values() for message in messages)


def row(data: dict, prefix: str, obj) -> str:
    """The form prefix of ``obj``'s row in an inline formset (``financements-1``)."""
    return next(
        k.removesuffix("-id")
        for k, v in data.items()
        if k.startswith(f"{prefix}-") and k.endswith("-id") and v == obj.pk
    )


@pytest.fixture
def signe_05(db):
    """A signed CLS of the Hautes-Alpes with a fiche, its funding lines, an indicator, a payment."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2023-D05", signe=True)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", intitule="Bus des familles", validee=True)
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("10000"))
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("10000"))
    return contrat


@pytest.fixture
def objets_05(contrat_05, signe_05):
    """One object of each model of the persona matrix, all in the Hautes-Alpes."""
    fiche = FicheActionFactory(contrat=contrat_05, code="A1-42", intitule="Médiation numérique")
    return {
        Contrat: contrat_05,
        FicheAction: fiche,
        LigneFinancement: LigneFinancementFactory(fiche=fiche),
        Plafond: PlafondFactory(contrat=contrat_05),
        Versement: VersementFactory(contrat=signe_05),
        Avenant: AvenantFactory(contrat=signe_05, numero=1),
        Indicateur: IndicateurFactory(fiche=fiche, nom="Ménages accompagnés"),
    }


@pytest.fixture
def objets_69(db):
    """The same in the Rhône, so that the other territory's lists are not empty."""
    contrat = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")
    signe = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2023-D69", signe=True)
    fiche = FicheActionFactory(contrat=contrat, code="A1-43")
    return {
        Contrat: contrat,
        FicheAction: fiche,
        LigneFinancement: LigneFinancementFactory(fiche=fiche),
        Plafond: PlafondFactory(contrat=contrat),
        Versement: VersementFactory(contrat=signe),
        Avenant: AvenantFactory(contrat=signe, numero=1),
        Indicateur: IndicateurFactory(fiche=fiche),
    }


MATRIX_MODELS = [Contrat, FicheAction, LigneFinancement, Plafond, Versement, Avenant, Indicateur]
MISSING_PK = 987654321


# --- The three personas ------------------------------------------------------------------------------------


@pytest.mark.parametrize("model", MATRIX_MODELS, ids=lambda m: m.__name__)
def test_editeur_du_territoire_voit_et_modifie(client, editeur, objets_05, objets_69, model):
    obj = objets_05[model]
    client.force_login(editeur)
    response = client.get(url(model))
    assert response.status_code == 200
    assert obj.pk in changelist_pks(response)
    assert objets_69[model].pk not in changelist_pks(response)
    response = client.get(url(obj, "change"))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is True
    assert client.get(url(obj, "history")).status_code == 200


@pytest.mark.parametrize("model", MATRIX_MODELS, ids=lambda m: m.__name__)
def test_lecteur_du_territoire_voit_sans_modifier(client, lecteur, objets_05, model):
    obj = objets_05[model]
    client.force_login(lecteur)
    response = client.get(url(model))
    assert response.status_code == 200
    assert obj.pk in changelist_pks(response)
    response = client.get(url(obj, "change"))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert not response.context["adminform"].form.fields  # every field is displayed read-only
    assert client.post(url(obj, "change"), {}).status_code == 403
    assert client.get(url(obj, "history")).status_code == 200
    assert client.get(url(model, "add")).status_code == 403


@pytest.mark.parametrize("model", MATRIX_MODELS, ids=lambda m: m.__name__)
def test_autre_territoire_ne_distingue_pas_l_objet_d_un_identifiant_inconnu(
    client, autre_territoire, objets_05, objets_69, model
):
    obj = objets_05[model]
    client.force_login(autre_territoire)
    response = client.get(url(model))
    assert response.status_code == 200
    assert objets_69[model].pk in changelist_pks(response)
    assert obj.pk not in changelist_pks(response)
    assert str(obj) not in response.content.decode()
    for view in ("change", "history", "delete"):
        hidden = client.get(url(model, view, obj.pk))
        missing = client.get(url(model, view, MISSING_PK))
        assert (hidden.status_code, missing.status_code) == (404, 404), view
    assert client.post(url(model, "change", obj.pk), {}).status_code == 404
    assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 404
    assert model.objects.filter(pk=obj.pk).exists()


def test_le_back_office_s_ouvre_a_chaque_persona(client, editeur, lecteur, autre_territoire):
    for user in (editeur, lecteur, autre_territoire):
        client.force_login(user)
        response = client.get(reverse("admin:index"))
        assert response.status_code == 200
        assert "Fiches actions" in response.content.decode()


def test_un_agent_sans_organisation_n_entre_pas(client):
    client.force_login(UserFactory(organisation=None))
    assert client.get(reverse("admin:index")).context["app_list"] == []
    assert client.get(url(Contrat)).status_code == 403


# --- Perimeters: collectivité, département, région ---------------------------------------------------------


@pytest.fixture
def contrats_69(db):
    return {
        "D69": ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69"),
        "M-LYO": ContratFactory(
            collectivite=collectivite("M-LYO"), reference="CLS-2024-M-LYO", type_contrat=TypeContrat.CLS_METROPOLE
        ),
    }


def test_une_ddets_voit_chaque_collectivite_de_son_departement(client, autre_territoire, contrats_69):
    client.force_login(autre_territoire)  # DDETS du Rhône
    response = client.get(url(Contrat))
    assert changelist_pks(response) == {c.pk for c in contrats_69.values()}
    assert "CLS-2024-M-LYO" in response.content.decode()


def test_un_agent_du_departement_ne_voit_pas_la_metropole(client, contrats_69):
    agent = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D69")))
    client.force_login(agent)
    response = client.get(url(Contrat))
    assert changelist_pks(response) == {contrats_69["D69"].pk}
    assert "CLS-2024-M-LYO" not in response.content.decode()
    assert client.get(url(contrats_69["M-LYO"], "change")).status_code == 404
    assert client.get(url(contrats_69["D69"], "change")).status_code == 200


def test_une_collectivite_voit_ses_contrats_pas_ceux_du_voisin(client, contrat_05, contrats_69):
    agent = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")))
    client.force_login(agent)
    assert changelist_pks(client.get(url(Contrat))) == {contrat_05.pk}


@pytest.mark.parametrize(("region_code", "voit"), [("93", True), ("84", False)])
def test_la_dreets_voit_sa_region(client, contrat_05, region_code, voit):
    dreets = UserFactory(organisation=OrganisationFactory(dreets=True, region=region(region_code)), lecteur=True)
    client.force_login(dreets)
    response = client.get(url(Contrat))
    assert (contrat_05.pk in changelist_pks(response)) is voit
    assert client.get(url(contrat_05, "change")).status_code == (200 if voit else 404)
    if voit:
        assert response.context["cl"].model_admin.has_change_permission(response.wsgi_request, contrat_05) is False


def test_la_page_du_contrat_liste_ses_fiches_avec_un_lien(client, lecteur, objets_05):
    contrat, fiche = objets_05[Contrat], objets_05[FicheAction]
    client.force_login(lecteur)
    response = client.get(url(contrat, "change"))
    fiches = next(i for i in response.context["inline_admin_formsets"] if i.opts.model is FicheAction)
    assert [f.original for f in fiches] == [fiche]
    assert f'href="{url(fiche, "change")}"' in response.content.decode()


def test_l_autocompletion_reste_dans_le_perimetre(client, autre_territoire, objets_05, objets_69):
    client.force_login(autre_territoire)
    params = {"app_label": "financement", "model_name": "lignefinancement", "field_name": "fiche", "term": "A1"}
    response = client.get(reverse("admin:autocomplete"), params)
    assert response.status_code == 200
    ids = {int(r["id"]) for r in response.json()["results"]}
    assert ids == {objets_69[FicheAction].pk}


def test_les_choix_d_un_formulaire_restent_dans_le_perimetre(client, editeur, contrat_05, signe_05, contrats_69):
    client.force_login(editeur)
    response = client.get(url(FicheAction, "add"))
    contrats = set(response.context["adminform"].form.fields["contrat"].queryset)
    assert contrats == {contrat_05}  # neither the Rhône's nor the signed one
    response = client.get(url(Contrat, "add"))
    assert set(response.context["adminform"].form.fields["collectivite"].queryset) == {collectivite("D05")}


# --- Reference data ----------------------------------------------------------------------------------------


@pytest.fixture
def national(db):
    """An editor of the administration centrale."""
    return UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True))


def test_l_administration_centrale_tient_les_axes_et_les_mesures(client, national):
    client.force_login(national)
    axe_1 = axe(1)
    data = as_post_data(client.get(url(axe_1, "change")))
    data["intitule"] = "Prévenir la pauvreté dès l'enfance"
    assert client.post(url(axe_1, "change"), data).status_code == 302
    axe_1.refresh_from_db()
    assert axe_1.intitule == "Prévenir la pauvreté dès l'enfance"
    assert axe_1.numero == 1

    mesure = Mesure.objects.get(code="1.1")
    data = as_post_data(client.get(url(mesure, "change")))
    data["active"] = ""
    assert client.post(url(mesure, "change"), data).status_code == 302
    mesure.refresh_from_db()
    assert mesure.active is False
    response = client.post(
        url(Mesure, "add"), {"code": "4.9", "axe": axe(4).pk, "intitule": "Nouvelle", "active": "on"}
    )
    assert response.status_code == 302
    assert Mesure.objects.filter(code="4.9").exists()


def test_une_ddets_ne_touche_pas_aux_referentiels(client, editeur):
    client.force_login(editeur)
    axe_1 = axe(1)
    response = client.get(url(axe_1, "change"))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(url(axe_1, "change"), {"intitule": "Autre"}).status_code == 403
    assert client.post(url(Mesure, "add"), {"code": "4.9"}).status_code == 403
    axe_1.refresh_from_db()
    assert axe_1.intitule != "Autre"


@pytest.mark.parametrize("persona", ["national", "editeur", "superuser"])
def test_personne_ne_supprime_un_territoire_ou_un_axe(client, request, persona, django_user_model):
    if persona == "superuser":
        user = django_user_model.objects.create_superuser("root", "root@example.gouv.fr", "mot-de-passe-root")
    else:
        user = request.getfixturevalue(persona)
    client.force_login(user)
    for obj in (axe(1), region("93"), collectivite("D05"), departement("05"), Mesure.objects.get(code="1.1")):
        assert client.get(url(obj, "delete")).status_code == 403
        assert client.post(url(obj, "delete"), {"post": "yes"}).status_code == 403
    assert Axe.objects.count() == 4
    assert Region.objects.filter(code="93").exists() and Collectivite.objects.filter(code="D05").exists()


def test_territoires_en_lecture_seule_sauf_pour_un_superutilisateur(client, national, django_user_model):
    client.force_login(national)
    assert client.get(url(collectivite("D05"), "change")).context["has_change_permission"] is False
    root = django_user_model.objects.create_superuser("root", "root@example.gouv.fr", "mot-de-passe-root")
    client.force_login(root)
    assert client.get(url(collectivite("D05"), "change")).context["has_change_permission"] is True


# --- Users and organisations -------------------------------------------------------------------------------


def test_les_utilisateurs_visibles_suivent_le_perimetre(client, editeur, lecteur, autre_territoire, django_user_model):
    root = django_user_model.objects.create_superuser("root", "root@example.gouv.fr", "mot-de-passe-root")
    client.force_login(editeur)
    response = client.get(url(django_user_model))
    assert changelist_pks(response) == {editeur.pk, lecteur.pk}
    for hidden in (autre_territoire, root):
        assert client.get(url(hidden, "change")).status_code == 404
        assert client.get(reverse("admin:auth_user_password_change", args=(hidden.pk,))).status_code == 404
    assert client.post(url(lecteur, "change"), {"role": Role.EDITEUR}).status_code == 403


def test_l_administration_centrale_ne_cree_pas_de_superutilisateur(client, national, lecteur):
    client.force_login(national)
    data = as_post_data(client.get(url(lecteur, "change")))
    assert "is_superuser" not in data
    data.update(role=Role.EDITEUR, is_superuser="on")
    assert client.post(url(lecteur, "change"), data).status_code == 302
    lecteur.refresh_from_db()
    assert lecteur.role == Role.EDITEUR
    assert lecteur.is_superuser is False


def test_une_ddets_ajoute_un_partenaire_de_son_departement(client, editeur, ddets_05):
    client.force_login(editeur)
    response = client.post(url(ddets_05.__class__, "add"), {"nom": "CCAS de Gap", "siret": ""})
    assert response.status_code == 302
    ccas = ddets_05.__class__.objects.get(nom="CCAS de Gap")
    assert (ccas.type, ccas.departement) == (TypeOrganisation.PARTENAIRE, departement("05"))
    assert client.get(url(ddets_05, "change")).context["has_change_permission"] is False


# --- Frozen after signature --------------------------------------------------------------------------------


def test_contrat_signe_la_fiche_ne_change_plus(client, editeur, signe_05):
    fiche = signe_05.fiches.get()
    client.force_login(editeur)
    response = client.get(url(fiche, "change"))
    form = response.context["adminform"].form
    assert "intitule" not in form.fields and "statut" not in form.fields
    data = as_post_data(response)
    data.update(intitule="Autre intitulé", statut=StatutFiche.ABANDONNEE, code="A1-99")
    response = client.post(url(fiche, "change"), data)
    assert response.status_code == 302
    fiche.refresh_from_db()
    assert (fiche.intitule, fiche.statut, fiche.code) == ("Bus des familles", StatutFiche.VALIDEE, "A1-01")
    # Contractual inlines: no funding line nor indicator can be added or deleted.
    response = client.get(url(fiche, "change"))
    for inline in response.context["inline_admin_formsets"]:
        assert inline.has_add_permission is False
        assert inline.has_delete_permission is False


def test_contrat_signe_engage_et_realise_restent_saisissables(client, editeur, signe_05):
    ligne = LigneFinancement.objects.get(fiche__contrat=signe_05, type_financeur=TypeFinanceur.ETAT)
    client.force_login(editeur)
    response = client.get(url(ligne, "change"))
    assert set(response.context["adminform"].form.fields) == {"engage", "realise", "pacte_version", "pacte_fige"}
    response = client.post(
        url(ligne, "change"),
        {"prevu": "99999.00", "engage": "8000.50", "realise": "", "pacte_version": ligne.version, "pacte_fige": "1"},
    )
    assert response.status_code == 302
    ligne.refresh_from_db()
    assert (ligne.prevu, ligne.engage) == (Decimal("10000.00"), Decimal("8000.50"))
    history = ligne.history.first()
    assert history.history_user == editeur


def test_contrat_signe_les_montants_s_editent_aussi_dans_la_fiche(client, editeur, signe_05):
    fiche = signe_05.fiches.get()
    etat = fiche.financements.get(type_financeur=TypeFinanceur.ETAT)
    client.force_login(editeur)
    data = as_post_data(client.get(url(fiche, "change")))
    prefix = row(data, "financements", etat)
    data[f"{prefix}-engage"] = "1234.00"
    data[f"{prefix}-prevu"] = "1.00"
    assert client.post(url(fiche, "change"), data).status_code == 302
    lignes = {lf.type_financeur: lf for lf in fiche.financements.all()}
    assert lignes[TypeFinanceur.ETAT].engage == Decimal("1234.00")
    assert lignes[TypeFinanceur.ETAT].prevu == Decimal("10000.00")
    assert lignes[TypeFinanceur.ETAT].history.first().history_user == editeur


def test_contrat_signe_ses_champs_sont_en_lecture_seule(client, editeur, signe_05):
    client.force_login(editeur)
    response = client.get(url(signe_05, "change"))
    # Every field is read-only (the end motif is given on the confirmation page of "Clore"/"Résilier").
    assert set(response.context["adminform"].form.fields) <= {"pacte_version", "pacte_fige"}
    data = as_post_data(response)
    data.update(titre="Autre", motif_fin="Fusion des dispositifs")
    assert client.post(url(signe_05, "change"), data).status_code == 302
    signe_05.refresh_from_db()
    assert (signe_05.titre, signe_05.motif_fin) == ("Contrat local des solidarités", "")
    assert (
        client.get(url(Plafond, "add"))
        .context["adminform"]
        .form.fields["contrat"]
        .queryset.filter(pk=signe_05.pk)
        .exists()
        is False
    )


def test_contrat_signe_la_cible_est_figee_la_valeur_atteinte_non(client, editeur, signe_05):
    indicateur = IndicateurFactory(fiche=signe_05.fiches.get())
    valeur = ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=Decimal("100"))
    client.force_login(editeur)
    response = client.post(url(valeur, "change"), {"cible": "5", "realise": "80", "pacte_version": valeur.version})
    assert response.status_code == 302
    valeur.refresh_from_db()
    assert (valeur.cible, valeur.realise) == (Decimal("100.00"), Decimal("80.00"))


def test_le_statut_ne_se_saisit_pas(client, editeur, contrat_05):
    client.force_login(editeur)
    data = as_post_data(client.get(url(contrat_05, "change")))
    assert "statut" not in data
    data.update(statut=StatutContrat.SIGNE, titre="Contrat départemental des solidarités")
    assert client.post(url(contrat_05, "change"), data).status_code == 302
    contrat_05.refresh_from_db()
    assert (contrat_05.statut, contrat_05.titre) == (
        StatutContrat.EN_NEGOCIATION,
        "Contrat départemental des solidarités",
    )


# --- Workflow actions call the services --------------------------------------------------------------------


def test_action_pret_pour_signature_rapporte_le_refus_du_service(client, editeur, contrat_05):
    client.force_login(editeur)
    response = client.post(
        url(Contrat),
        {"action": "marquer_pret_pour_signature", "_selected_action": [contrat_05.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("ne contient aucune fiche action" in m for m in messages), messages
    contrat_05.refresh_from_db()
    assert contrat_05.statut == StatutContrat.EN_NEGOCIATION


def test_action_valider_une_fiche_controle_la_parite(client, editeur, contrat_05):
    fiche = FicheActionFactory(contrat=contrat_05, code="A1-01")
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("60000"))
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("50000"))
    client.force_login(editeur)
    action = {"action": "valider", "_selected_action": [fiche.pk]}
    response = client.post(url(FicheAction), action, follow=True)
    messages = [str(m) for m in response.context["messages"]]
    assert any("dépasse celle du Département" in m for m in messages), messages
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.PROPOSEE

    LigneFinancement.objects.filter(fiche=fiche).update(prevu=Decimal("60000"))
    response = client.post(url(FicheAction), action, follow=True)
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.VALIDEE
    assert fiche.history.first().history_user == editeur


def test_les_actions_de_workflow_sont_reservees_aux_editeurs(client, lecteur, contrat_05):
    client.force_login(lecteur)
    response = client.get(url(Contrat))
    assert response.context["cl"].model_admin.get_actions(response.wsgi_request) == {}
    client.post(url(Contrat), {"action": "passer_en_negociation", "_selected_action": [contrat_05.pk]})
    contrat_05.refresh_from_db()
    assert contrat_05.statut == StatutContrat.EN_NEGOCIATION


def test_signature_par_la_prefecture(client, signe_05):
    contrat = ContratFactory(collectivite=collectivite("D05"), statut=StatutContrat.PRET_SIGNATURE)
    FicheActionFactory(contrat=contrat, code="A1-01", validee=True)
    PlafondFactory(contrat=contrat)
    SignataireFactory(contrat=contrat, date_signature=date(2024, 3, 1))
    SignataireFactory(contrat=contrat, partie="collectivite", nom="B. Présidente", date_signature=date(2024, 3, 4))
    prefecture = UserFactory(organisation=OrganisationFactory(prefecture=True, departement=departement("05")))
    client.force_login(prefecture)
    response = client.get(url(contrat, "change"))
    assert response.context["has_change_permission"] is True
    # The contract itself is the DDETS's: nothing but the hidden version fields.
    assert set(response.context["adminform"].form.fields) <= {"pacte_version", "pacte_fige"}
    client.post(
        url(Contrat),
        {"action": "enregistrer_signature", "_selected_action": [contrat.pk], "post": "yes", "date_signature": ""},
    )
    contrat.refresh_from_db()
    assert (contrat.statut, contrat.date_signature) == (StatutContrat.SIGNE, date(2024, 3, 4))


# --- Creating through the admin runs the services' checks -------------------------------------------------


def test_creer_un_contrat_controle_ses_axes_et_nomme_sa_reference(client, editeur):
    client.force_login(editeur)
    data = {
        "type_contrat": TypeContrat.CLS_DEPARTEMENT,
        "collectivite": collectivite("D05").pk,
        "axes": [axe(1).pk, axe(2).pk],
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
    }
    response = client.post(url(Contrat, "add"), data)
    assert response.status_code == 200
    assert "ne porte pas l’axe 2" in errors(response)
    data["axes"] = [axe(1).pk, axe(3).pk, axe(4).pk]
    assert client.post(url(Contrat, "add"), data).status_code == 302
    contrat = Contrat.objects.get(reference="CLS-2024-D05")
    assert (contrat.statut, contrat.titre) == (StatutContrat.BROUILLON, "Contrat local des solidarités")
    assert {h.history_user for h in contrat.history.all()} == {editeur}
    data.update(type_contrat=TypeContrat.CLS_METROPOLE, reference="CLS-2024-BIS")
    assert "n'est pas une métropole" in errors(client.post(url(Contrat, "add"), data))


def test_creer_une_fiche_controle_son_axe_et_numerote_son_code(client, editeur, contrat_05):
    client.force_login(editeur)
    data = {
        "contrat": contrat_05.pk,
        "intitule": "Bus des familles",
        "axe": axe(2).pk,
        "nature": "nouvelle",
        "porteur": OrganisationFactory().pk,
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
        "territoire_departement_entier": "on",
    }
    response = client.post(url(FicheAction, "add"), data)
    assert response.status_code == 200
    assert "n'est pas un axe du contrat CLS-2024-D05" in errors(response)
    data["axe"] = axe(1).pk
    assert client.post(url(FicheAction, "add"), data).status_code == 302
    fiche = FicheAction.objects.get(contrat=contrat_05)
    assert (fiche.code, fiche.statut) == ("A1-01", StatutFiche.PROPOSEE)


def test_creer_un_avenant_le_numerote_un_seul_ouvert(client, editeur, contrat_05, signe_05):
    client.force_login(editeur)
    response = client.post(url(Avenant, "add"), {"contrat": contrat_05.pk, "objet": "Annexe"})
    assert "Sélectionnez un choix valide" in errors(response)  # not signed: not offered
    assert client.post(url(Avenant, "add"), {"contrat": signe_05.pk, "objet": "Annexe 2024"}).status_code == 302
    assert signe_05.avenants.get().numero == 1
    response = client.post(url(Avenant, "add"), {"contrat": signe_05.pk, "objet": "Autre"})
    assert "L'avenant n° 1 est encore ouvert" in errors(response)


def test_un_versement_porte_sur_un_contrat_signe(client, editeur, contrat_05, signe_05):
    client.force_login(editeur)
    data = {"annee": 2024, "nature": "unique", "montant": "5000.00", "numero_ej": "2100123456"}
    assert "Sélectionnez un choix valide" in errors(
        client.post(url(Versement, "add"), {**data, "contrat": contrat_05.pk})
    )
    response = client.post(url(Versement, "add"), {**data, "contrat": signe_05.pk, "annee": 2031})
    assert "L'année 2031 est hors de la période du Pacte (2024-2027)." in errors(response)
    assert client.post(url(Versement, "add"), {**data, "contrat": signe_05.pk}).status_code == 302
    assert Versement.objects.get().contrat == signe_05


def test_la_collectivite_ouvre_son_rapport_annuel(client, signe_05):
    from financement.models import RapportAnnuel

    agent = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")))
    client.force_login(agent)
    response = client.post(url(RapportAnnuel, "add"), {"contrat": signe_05.pk, "annee": 2024, "synthese": "…"})
    assert response.status_code == 302
    rapport = RapportAnnuel.objects.get()
    assert rapport.date_limite == date(2025, 3, 31)
    client.post(url(RapportAnnuel), {"action": "transmettre", "_selected_action": [rapport.pk]})
    rapport.refresh_from_db()
    assert rapport.statut == "transmis"
    assert "valider" not in client.get(url(RapportAnnuel)).context["cl"].model_admin.get_actions(
        client.get(url(RapportAnnuel)).wsgi_request
    )


# --- Collectivité agents enter their own amounts -----------------------------------------------------------


def test_la_collectivite_saisit_ses_montants_pas_ceux_de_l_etat(client, signe_05):
    agent = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")))
    lignes = {lf.type_financeur: lf for lf in LigneFinancement.objects.filter(fiche__contrat=signe_05)}
    client.force_login(agent)
    etat, coll = lignes[TypeFinanceur.ETAT], lignes[TypeFinanceur.COLLECTIVITE]
    assert client.post(url(etat, "change"), {"engage": "1.00"}).status_code == 403
    data = {"engage": "9000.00", "realise": "", "pacte_version": coll.version}
    assert client.post(url(coll, "change"), data).status_code == 302
    etat.refresh_from_db()
    coll.refresh_from_db()
    assert (etat.engage, coll.engage) == (None, Decimal("9000.00"))
    # On the fiche's page the State's row is shown disabled: a forged value is ignored.
    fiche = signe_05.fiches.get()
    response = client.get(url(fiche, "change"))
    data = as_post_data(response)
    prefix = row(data, "financements", etat)
    data[f"{prefix}-engage"] = "777.00"
    assert client.post(url(fiche, "change"), data).status_code == 302
    etat.refresh_from_db()
    assert etat.engage is None


# --- Audit trail -------------------------------------------------------------------------------------------


def test_l_historique_montre_qui_a_change_quoi(client, editeur, contrat_05):
    client.force_login(editeur)
    data = as_post_data(client.get(url(contrat_05, "change")))
    data["titre"] = "Contrat départemental des solidarités"
    assert client.post(url(contrat_05, "change"), data).status_code == 302
    response = client.get(url(contrat_05, "history"))
    html = response.content.decode()
    assert response.status_code == 200
    assert "editeur05" in html
    assert "Titre imprimé" in html or "titre imprimé" in html
    assert "Contrat départemental des solidarités" in html
    version = contrat_05.history.first()
    assert (
        client.get(reverse("admin:contrats_contrat_simple_history", args=(contrat_05.pk, version.pk))).status_code
        == 200
    )
    # A past version is read, never restored from the admin.
    revert = reverse("admin:contrats_contrat_simple_history", args=(contrat_05.pk, version.pk))
    assert client.post(revert, data).status_code == 403


def test_l_historique_des_utilisateurs_garde_les_roles_jamais_le_mot_de_passe(client, contrat_05):
    dgcs = UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True))
    agent = UserFactory(username="agent05", role=Role.LECTEUR)
    client.force_login(dgcs)
    data = as_post_data(client.get(url(agent, "change")))
    data["role"] = Role.EDITEUR
    assert client.post(url(agent, "change"), data).status_code == 302
    agent.refresh_from_db()
    assert agent.role == Role.EDITEUR
    derniere = agent.history.first()
    assert (derniere.role, derniere.history_user) == (Role.EDITEUR, dgcs)
    assert not hasattr(derniere, "password")
    html = client.get(url(agent, "history")).content.decode()
    assert "dgcs" in html
    text = " ".join(re.sub(r"<[^>]+>", " ", html).replace("&nbsp;", " ").replace("&rarr;", "→").split())
    assert "Rôle: lecteur → editeur" in text


def test_l_historique_d_un_autre_territoire_est_introuvable(client, autre_territoire, contrat_05):
    version = contrat_05.history.first()
    client.force_login(autre_territoire)
    hidden = reverse("admin:contrats_contrat_simple_history", args=(contrat_05.pk, version.pk))
    missing = reverse("admin:contrats_contrat_simple_history", args=(MISSING_PK, version.pk))
    assert client.get(hidden).status_code == client.get(missing).status_code == 404
    assert client.post(hidden, {}).status_code == 404


# --- Query budgets: a constant number of queries, whatever the number of rows ------------------------------


def _rows(n: int) -> None:
    """``n`` contracts of the Hautes-Alpes, each with one fiche and one funding line (partner porteur)."""
    for i in range(n):
        contrat = ContratFactory(collectivite=collectivite("D05"), reference=f"CLS-2024-Q{i:03d}")
        fiche = FicheActionFactory(contrat=contrat, code="A1-01")
        LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.AUTRE, financeur=fiche.porteur)


# Measured once, the same on SQLite and PostgreSQL: session, user, organisation, list filters, count(s),
# rows, the request's savepoint and its release, the DSFR site settings (twice).
BUDGETS = {Contrat: 12, FicheAction: 11, LigneFinancement: 12}


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("model", list(BUDGETS), ids=lambda m: m.__name__)
def test_les_listes_ont_un_budget_de_requetes(client, editeur, django_assert_max_num_queries, model, n):
    _rows(n)
    client.force_login(editeur)
    with django_assert_max_num_queries(BUDGETS[model]):
        response = client.get(url(model))
    assert len(response.context["cl"].result_list) == n


# --- Every page of every model opens ------------------------------------------------------------------------


def test_chaque_page_s_ouvre_pour_un_superutilisateur(client, objets_05, django_user_model):
    from financement.services import rapport_create, reliquat_compute

    signe = objets_05[Versement].contrat
    rapport_create(contrat=signe, annee=2024)
    reliquat_compute(contrat=signe, annee=2024)
    ValeurIndicateurFactory(indicateur=objets_05[Indicateur])
    SignataireFactory(contrat=objets_05[Contrat])
    root = django_user_model.objects.create_superuser("root", "root@example.gouv.fr", "mot-de-passe-root")
    client.force_login(root)
    assert client.get(reverse("admin:index")).status_code == 200
    for model, model_admin in admin.site._registry.items():
        pages = [url(model), url(model, "add")]
        obj = model_admin.get_queryset(client.get(url(model)).wsgi_request).first()
        if obj is not None:
            pages += [url(obj, "change"), url(obj, "history")]
        for page in pages:
            response = client.get(page)
            assert response.status_code == (403 if page.endswith("/add/") and model in READ_ONLY else 200), page
            assert "INVALID_TEMPLATE_VARIABLE" not in response.content.decode(), page


READ_ONLY = {ModificationAvenant, Reliquat, RegleTypeContrat}


@pytest.mark.parametrize("persona", ["ddets", "collectivite", "prefecture"])
def test_chaque_page_s_ouvre_pour_chaque_persona(client, objets_05, persona):
    organisation = {
        "ddets": lambda: OrganisationFactory(ddets=True),
        "collectivite": lambda: OrganisationFactory(de_collectivite=True),
        "prefecture": lambda: OrganisationFactory(prefecture=True),
        "dreets": lambda: OrganisationFactory(dreets=True),
    }[persona]()
    ValeurIndicateurFactory(indicateur=objets_05[Indicateur])
    client.force_login(UserFactory(organisation=organisation))
    for model, model_admin in admin.site._registry.items():
        response = client.get(url(model))
        if not model_admin.has_module_permission(response.wsgi_request):
            continue
        assert response.status_code == 200, model
        assert client.get(url(model, "add")).status_code in (200, 403), model
        obj = model_admin.get_queryset(response.wsgi_request).first()
        if obj is not None:
            for page in (url(obj, "change"), url(obj, "history")):
                response = client.get(page)
                assert response.status_code == 200, page
                assert "INVALID_TEMPLATE_VARIABLE" not in response.content.decode(), page


# --- Stale forms: shown before another agent's save, or before the signature ------------------------------


def test_un_formulaire_perime_n_ecrase_rien_et_dit_ce_qui_a_change(client, editeur, contrat_05):
    fiche = FicheActionFactory(contrat=contrat_05, code="A1-01", intitule="Avant")
    etat = LigneFinancementFactory(fiche=fiche, annee=2024, prevu=Decimal("1000.00"))
    client.force_login(editeur)
    stale = as_post_data(client.get(url(fiche, "change")))
    # Meanwhile another agent changes the title and the 2024 State amount.
    other = UserFactory(username="agent-a", organisation=editeur.organisation)
    fiche_update(fiche=FicheAction.objects.get(pk=fiche.pk), intitule="Par A", by=other, version=fiche.version)
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("2000.00"))
    stale["partenaires"] = "CAF"  # the second agent changes something else, from its stale page
    response = client.post(url(fiche, "change"), stale)
    assert response.status_code == 200
    assert "a été modifié (intitulé) par agent-a" in errors(response)
    fiche.refresh_from_db()
    etat.refresh_from_db()
    assert (fiche.intitule, fiche.partenaires, etat.prevu) == ("Par A", "", Decimal("2000.00"))


def test_un_formulaire_sans_version_est_refuse(client, editeur, contrat_05):
    etat = LigneFinancementFactory(fiche=FicheActionFactory(contrat=contrat_05, code="A1-01"), prevu=Decimal("1.00"))
    client.force_login(editeur)
    data = as_post_data(client.get(url(etat, "change")))
    del data["pacte_version"]
    data["prevu"] = "2,00"
    response = client.post(url(etat, "change"), data)
    assert response.status_code == 200
    assert "Ce formulaire ne dit pas quelle version il modifie" in errors(response)
    etat.refresh_from_db()
    assert etat.prevu == Decimal("1.00")


def test_un_formulaire_affiche_avant_la_signature_est_refuse_apres(client, editeur, contrat_05):
    fiche = FicheActionFactory(contrat=contrat_05, code="A1-01")
    etat = LigneFinancementFactory(fiche=fiche, annee=2024, prevu=Decimal("1000.00"))
    client.force_login(editeur)
    data = as_post_data(client.get(url(etat, "change")))
    Contrat.objects.filter(pk=contrat_05.pk).update(statut=StatutContrat.SIGNE, date_signature=date(2024, 3, 4))
    data["prevu"] = "9 999,00"
    response = client.post(url(etat, "change"), data)
    assert response.status_code == 200
    assert "a été signé pendant votre saisie" in errors(response)
    etat.refresh_from_db()
    assert etat.prevu == Decimal("1000.00")


@pytest.mark.parametrize(
    ("saisi", "attendu"),
    [("12,5", "12.50"), ("1 000,00", "1000.00"), ("1\u00a0000,00\u00a0€", "1000.00"), ("1 234,50 €", "1234.50")],
)
def test_les_montants_se_saisissent_a_la_francaise(client, editeur, contrat_05, saisi, attendu):
    etat = LigneFinancementFactory(fiche=FicheActionFactory(contrat=contrat_05, code="A1-01"), annee=2024)
    client.force_login(editeur)
    data = as_post_data(client.get(url(etat, "change")))
    data["prevu"] = saisi
    assert client.post(url(etat, "change"), data).status_code == 302
    etat.refresh_from_db()
    assert etat.prevu == Decimal(attendu)


def test_les_montants_s_affichent_a_la_francaise(client, editeur, contrat_05):
    etat = LigneFinancementFactory(fiche=FicheActionFactory(contrat=contrat_05, code="A1-01"), prevu=Decimal("1234.5"))
    client.force_login(editeur)
    assert 'value="1\u00a0234,50"' in client.get(url(etat, "change")).content.decode()
