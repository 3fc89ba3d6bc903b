"""Measures in two levels: the Pacte's objectives per axis and the national measures under them, kept by the
administration centrale; a fiche points to a measure, to an objective only, or declares a local measure."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError

from actions.models import FicheAction
from pacte.models import Mesure, Objectif
from pacte.services import mesure_save, objectif_save
from tests.factories import ContratFactory, FicheActionFactory, OrganisationFactory, UserFactory, axe, collectivite
from tests.test_admin import as_post_data, url

pytestmark = pytest.mark.django_db


def mesure(code):
    return Mesure.objects.get(code=code)


def objectif(code):
    return Objectif.objects.get(code=code)


@pytest.fixture
def national(db):
    """An editor of the administration centrale."""
    return UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True))


# --- The rules of the reference data -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "changes", "expected"),
    [
        # expected: (axis, objective) once saved, or the French refusal
        pytest.param("1.1", {"objectif": "O1-2"}, (1, "O1-2"), id="objective-of-its-axis"),
        pytest.param("1.1", {"objectif": None}, (1, None), id="no-objective"),
        pytest.param(
            "1.1",
            {"objectif": "O2-1"},
            "La mesure 1.1 est sur l'axe 1 : l'objectif O2-1 relève de l'axe 2.",
            id="objective-of-another-axis",
        ),
        pytest.param(
            "1.1",
            {"axe": 2},
            "La mesure 1.1 est sur l'axe 2 : l'objectif O1-1 relève de l'axe 1.",
            id="moved-to-another-axis-alone",
        ),
        pytest.param("1.1", {"axe": 2, "objectif": "O2-1"}, (2, "O2-1"), id="moved-with-an-objective-of-that-axis"),
        pytest.param("1.1", {"axe": 2, "objectif": None}, (2, None), id="moved-without-objective"),
        pytest.param("4.4", {"objectif": "O4-3"}, (4, "O4-3"), id="last-axis"),
    ],
)
def test_a_measure_serves_an_objective_of_its_axis(national, code, changes, expected):
    row = mesure(code)
    before = (row.axe_id, row.objectif_id, row.version)
    for name, value in changes.items():
        if name == "axe":
            row.axe = axe(value)
        else:
            row.objectif = objectif(value) if value else None
    if isinstance(expected, tuple):
        mesure_save(mesure=row, by=national, version=row.version)
        row.refresh_from_db()
        assert (row.axe.numero, row.objectif.code if row.objectif else None) == expected
        assert row.history.latest().history_user == national
        return
    error = expected
    with pytest.raises(ValidationError) as exc:
        mesure_save(mesure=row, by=national, version=row.version)
    assert exc.value.message_dict == {"objectif": [error]}
    row.refresh_from_db()
    assert (row.axe_id, row.objectif_id, row.version) == before


@pytest.mark.parametrize(
    ("code", "changes", "error"),
    [
        pytest.param(
            "O1-1",
            {"axe": 2},
            "L'objectif O1-1 ne peut pas changer d'axe : les mesures 1.1, 1.2, 1.3 le servent sur leur axe. "
            "Rattachez-les d'abord à un autre objectif.",
            id="served-by-three-measures",
        ),
        pytest.param(
            "O1-2",
            {"axe": 3},
            "L'objectif O1-2 ne peut pas changer d'axe : la mesure 1.4 le sert sur son axe. "
            "Rattachez-la d'abord à un autre objectif.",
            id="served-by-one-measure",
        ),
        pytest.param("O1-4", {"axe": 2}, None, id="served-by-no-measure"),
        pytest.param("O1-1", {"axe": 1, "intitule": "Familles précaires"}, None, id="same-axis-new-label"),
        pytest.param("O1-1", {"active": False}, None, id="retired"),
    ],
)
def test_an_objective_keeps_the_axis_of_its_measures(national, code, changes, error):
    row = objectif(code)
    before = (row.axe_id, row.intitule, row.active)
    for name, value in changes.items():
        setattr(row, name, axe(value) if name == "axe" else value)
    if error is None:
        objectif_save(objectif=row, by=national, version=row.version)
        row.refresh_from_db()
        assert all((getattr(row, n).numero if n == "axe" else getattr(row, n)) == v for n, v in changes.items())
        return
    with pytest.raises(ValidationError) as exc:
        objectif_save(objectif=row, by=national, version=row.version)
    assert exc.value.message_dict == {"axe": [error]}
    row.refresh_from_db()
    assert (row.axe_id, row.intitule, row.active) == before


@pytest.mark.parametrize(("typed", "stored"), [("O4-9", "O4-9"), (" o4-9 ", "O4-9")])
def test_a_new_objective_and_a_new_measure_have_normalized_codes(national, typed, stored):
    created = objectif_save(objectif=Objectif(code=typed, axe=axe(4), intitule="Numérique solidaire"), by=national)
    assert (created.code, created.active, created.history.get().history_user) == (stored, True, national)
    nouvelle = mesure_save(
        mesure=Mesure(code=typed.replace("o", "m").replace("O", "M"), axe=axe(4), objectif=created, intitule="Kits"),
        by=national,
    )
    assert (nouvelle.code, nouvelle.objectif) == (stored.replace("O", "M"), created)


def test_a_duplicate_objective_code_is_refused_in_french(national):
    with pytest.raises(ValidationError) as exc:
        objectif_save(objectif=Objectif(code="o1-1", axe=axe(1), intitule="Doublon"), by=national)
    assert exc.value.message_dict == {"code": ["Un objet Objectif du Pacte avec ce champ Code existe déjà."]}
    assert Objectif.objects.filter(code="O1-1").count() == 1


# --- Their pages in the back-office -------------------------------------------------------------------------


def test_the_administration_centrale_keeps_the_objectives(client, national):
    client.force_login(national)
    response = client.post(
        url(Objectif, "add"), {"code": "O4-9", "axe": axe(4).pk, "intitule": "Numérique solidaire", "active": "on"}
    )
    assert response.status_code == 302
    created = objectif("O4-9")
    data = as_post_data(client.get(url(created, "change")))
    data["active"] = ""
    assert client.post(url(created, "change"), data).status_code == 302
    created.refresh_from_db()
    assert created.active is False
    # Its measures are listed on its page.
    response = client.get(url(objectif("O1-1"), "change"))
    (formset,) = [inline.formset for inline in response.context["inline_admin_formsets"]]
    assert [form.instance.code for form in formset.forms] == ["1.1", "1.2", "1.3"]


def test_an_objective_refused_on_its_page_changes_nothing(client, national):
    client.force_login(national)
    row = objectif("O1-2")
    data = as_post_data(client.get(url(row, "change")))
    data["axe"] = axe(3).pk
    response = client.post(url(row, "change"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["axe"] == [
        "L'objectif O1-2 ne peut pas changer d'axe : la mesure 1.4 le sert sur son axe. "
        "Rattachez-la d'abord à un autre objectif."
    ]
    row.refresh_from_db()
    assert row.axe.numero == 1


def test_a_measure_page_sets_its_objective_on_its_axis(client, national):
    client.force_login(national)
    row = mesure("1.1")
    data = as_post_data(client.get(url(row, "change")))
    data["objectif"] = objectif("O2-1").pk
    response = client.post(url(row, "change"), data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["objectif"] == [
        "La mesure 1.1 est sur l'axe 1 : l'objectif O2-1 relève de l'axe 2."
    ]
    data["objectif"] = objectif("O1-3").pk
    assert client.post(url(row, "change"), data).status_code == 302
    row.refresh_from_db()
    assert row.objectif.code == "O1-3"


def test_a_retired_objective_is_offered_only_where_it_is_used(client, national):
    retired = objectif("O1-2")
    retired.active = False
    objectif_save(objectif=retired, by=national, version=retired.version)
    client.force_login(national)

    def offered(page):
        return set(client.get(page).context["adminform"].form.fields["objectif"].queryset)

    assert retired in offered(url(mesure("1.4"), "change"))  # 1.4 serves it
    assert retired not in offered(url(mesure("1.1"), "change"))
    assert retired not in offered(url(Mesure, "add"))
    assert objectif("O1-1") in offered(url(Mesure, "add"))


@pytest.mark.parametrize("persona", ["editeur", "lecteur"])
def test_a_ddets_reads_the_objectives_without_changing_them(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    row = objectif("O1-1")
    response = client.get(url(row, "change"))
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    assert client.post(url(row, "change"), {"intitule": "Autre"}).status_code == 403
    assert client.post(url(Objectif, "add"), {"code": "O4-9"}).status_code == 403
    row.refresh_from_db()
    assert row.intitule != "Autre"


@pytest.mark.parametrize("persona", ["national", "superuser"])
def test_nobody_deletes_an_objective(client, request, persona, django_user_model):
    if persona == "superuser":
        user = django_user_model.objects.create_superuser("root", "root@example.gouv.fr", "mot-de-passe-root")
    else:
        user = request.getfixturevalue(persona)
    client.force_login(user)
    row = objectif("O1-4")
    assert client.get(url(row, "delete")).status_code == 403
    assert client.post(url(row, "delete"), {"post": "yes"}).status_code == 403
    assert Objectif.objects.filter(pk=row.pk).exists()


# --- The fiche page: a national measure, an objective only, a local measure -----------------------------------


def _fiche_data(contrat, **overrides):
    return {
        "contrat": contrat.pk,
        "code": "",
        "intitule": "Bus des familles",
        "axe": axe(1).pk,
        "nature": "nouvelle",
        "porteur": OrganisationFactory().pk,
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
        "territoire_departement_entier": "on",
        **overrides,
    }


@pytest.mark.parametrize(
    ("posted", "stored", "error"),
    [
        pytest.param({"mesure": "1.4"}, ("1.4", "O1-2", ""), None, id="measure-brings-its-objective"),
        pytest.param({"mesure": "1.4", "objectif": "O1-2"}, ("1.4", "O1-2", ""), None, id="measure-and-its-objective"),
        pytest.param({"objectif": "O1-3"}, (None, "O1-3", ""), None, id="objective-only"),
        pytest.param(
            {"mesure_locale": " Maison des familles ", "objectif": "O1-1"},
            (None, "O1-1", "Maison des familles"),
            None,
            id="local-measure-under-an-objective",
        ),
        pytest.param({"mesure_locale": "Maison des familles"}, (None, None, "Maison des familles"), None, id="local"),
        pytest.param(
            {"mesure": "1.4", "objectif": "O1-1"},
            None,
            (
                "objectif",
                "La mesure 1.4 sert l'objectif O1-2, pas l'objectif O1-1 : "
                "l'objectif d'une action est celui de sa mesure nationale.",
            ),
            id="contradicting-objective",
        ),
        pytest.param(
            {"objectif": "O2-1"},
            None,
            ("objectif", "L'objectif O2-1 relève de l'axe 2, pas de l'axe 1."),
            id="objective-of-another-axis",
        ),
        pytest.param(
            {"mesure": "1.2", "mesure_locale": "Maison des familles"},
            None,
            ("mesure_locale", "Une action relève d'une mesure nationale ou d'une mesure locale, pas des deux."),
            id="national-and-local",
        ),
    ],
)
def test_a_fiche_entered_in_the_admin(client, editeur, contrat_05, posted, stored, error):
    client.force_login(editeur)
    values = {
        name: (mesure(v).pk if name == "mesure" else objectif(v).pk if name == "objectif" else v)
        for name, v in posted.items()
    }
    response = client.post(url(FicheAction, "add"), _fiche_data(contrat_05, **values))
    if error is None:
        assert response.status_code == 302
        fiche = contrat_05.fiches.get()
        assert (
            fiche.mesure.code if fiche.mesure else None,
            fiche.objectif.code if fiche.objectif else None,
            fiche.mesure_locale,
        ) == stored
        return
    assert response.status_code == 200
    assert response.context["adminform"].form.errors[error[0]] == [error[1]]
    assert not contrat_05.fiches.exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"mesure": "1.4"}, ("1.4", "O1-2"), id="new-measure-its-objective-follows"),
        pytest.param({"mesure": ""}, (None, "O1-1"), id="measure-removed-objective-kept"),
        pytest.param({"intitule": "Autre"}, ("1.2", "O1-1"), id="untouched"),
    ],
)
def test_changing_the_measure_of_a_fiche_in_the_admin(client, editeur, contrat_05, changes, expected):
    from actions.services import fiche_create

    fiche = fiche_create(
        contrat=contrat_05,
        intitule="Bus",
        axe=axe(1),
        mesure=mesure("1.2"),
        nature="nouvelle",
        porteur=OrganisationFactory(),
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
    )
    client.force_login(editeur)
    data = as_post_data(client.get(url(fiche, "change")))
    for name, value in changes.items():
        data[name] = mesure(value).pk if name == "mesure" and value else value
    response = client.post(url(fiche, "change"), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    fiche.refresh_from_db()
    assert (fiche.mesure.code if fiche.mesure else None, fiche.objectif.code) == expected


def test_the_fiche_page_offers_active_objectives_and_the_fiche_s_own(client, editeur, contrat_05, national):
    retired = objectif("O1-3")
    retired.active = False
    objectif_save(objectif=retired, by=national)
    avec = FicheActionFactory(contrat=contrat_05, code="A1-01", objectif=retired)
    sans = FicheActionFactory(contrat=contrat_05, code="A1-02", objectif=objectif("O1-1"))
    client.force_login(editeur)

    def offered(page):
        form = client.get(page).context["adminform"].form
        assert {"objectif", "mesure", "mesure_locale"} <= set(form.fields)
        return set(form.fields["objectif"].queryset)

    assert retired in offered(url(avec, "change"))
    assert retired not in offered(url(sans, "change"))
    assert retired not in offered(url(FicheAction, "add"))
    assert objectif("O4-1") in offered(url(FicheAction, "add"))


def test_after_signature_the_fiche_s_attachment_is_read_only(client, editeur):
    signe = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", signe=True)
    fiche = FicheActionFactory(contrat=signe, code="A1-01", objectif=objectif("O1-1"), mesure_locale="Maison")
    client.force_login(editeur)
    response = client.get(url(fiche, "change"))
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert not {"objectif", "mesure", "mesure_locale"} & set(form.fields)
    readonly = response.context["adminform"].readonly_fields
    assert {"objectif", "mesure", "mesure_locale"} <= set(readonly)
