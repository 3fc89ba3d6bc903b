"""Fiche codes as real documents number them: free within a safe ASCII pattern, normalized, unique per
contract, sorted naturally (``A1-2`` before ``A1-10``) in the database, the services and the back-office."""

import pytest
from django.urls import reverse

from actions.models import FicheAction
from actions.services import fiche_create, next_code
from pacte.models import natural_sort_key
from tests.factories import ContratFactory, FicheActionFactory, OrganisationFactory, axe, collectivite

pytestmark = pytest.mark.django_db

# Typed in any order; read in this one.
CODES_IN_NATURAL_ORDER = ["1.2", "1.10", "A1-1", "A1-2", "A1-03", "A1-10", "A1-100", "A3-9", "FA-01", "FA-2"]


def _fiches(contrat, codes):
    for code in reversed(codes):
        FicheActionFactory(contrat=contrat, code=code)


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        pytest.param(["A1-10", "A1-2"], ["A1-2", "A1-10"], id="two-before-ten"),
        pytest.param(["A1-10", "A1-9", "A1-1"], ["A1-1", "A1-9", "A1-10"], id="one-digit-numbers"),
        pytest.param(["A1-03", "A1-2", "A1-1"], ["A1-1", "A1-2", "A1-03"], id="padded-and-not"),
        pytest.param(["1.10", "1.2", "2.1"], ["1.2", "1.10", "2.1"], id="dotted"),
        pytest.param(["A2-1", "A10-1", "A1-20"], ["A1-20", "A2-1", "A10-1"], id="axis-number-first"),
        pytest.param(CODES_IN_NATURAL_ORDER[::-1], CODES_IN_NATURAL_ORDER, id="mixed-forms"),
    ],
)
def test_the_fiches_of_a_contract_come_in_natural_order(contrat_05, codes, expected):
    _fiches(contrat_05, codes)
    FicheActionFactory(code="A1-5")  # another contract
    assert [f.code for f in contrat_05.fiches.all()] == expected
    assert list(FicheAction.objects.filter(contrat=contrat_05).values_list("code", flat=True)) == expected


@pytest.mark.parametrize(
    ("code", "key"),
    [
        ("A1-2", "A0000000001-0000000002"),
        ("A1-10", "A0000000001-0000000010"),
        ("FA-01", "FA-0000000001"),
        ("1.1", "0000000001.0000000001"),
        ("ABC", "ABC"),
    ],
)
def test_the_sort_key_is_stored_on_save(contrat_05, code, key):
    fiche = fiche_create(
        contrat=contrat_05,
        code=code,
        intitule="Bus des familles",
        axe=axe(1),
        nature="nouvelle",
        porteur=OrganisationFactory(),
        date_debut=contrat_05.date_debut,
        date_fin=contrat_05.date_fin,
    )
    assert FicheAction.objects.filter(pk=fiche.pk).values_list("code_tri", flat=True).get() == key
    assert natural_sort_key(code) == key


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        pytest.param(["A1-1", "A1-2", "A1-10"], "A1-11", id="one-digit-codes-up-to-ten"),
        pytest.param(["A1-1", "A1-9"], "A1-10", id="one-digit-codes-up-to-nine"),
        pytest.param(["1.1", "1.2", "FA-01"], "A1-01", id="only-other-forms"),
    ],
)
def test_next_code_reads_numbers_not_strings(contrat_05, existing, expected):
    _fiches(contrat_05, existing)
    assert next_code(contrat_05, 1) == expected


# --- In the back-office ---------------------------------------------------------------------------------


def _changelist_codes(client, query: str = "") -> list[str]:
    response = client.get(reverse("admin:actions_ficheaction_changelist") + query)
    assert response.status_code == 200
    return [f.code for f in response.context["cl"].result_list]


@pytest.mark.parametrize(
    ("query", "reverse_order"),
    [
        pytest.param("", False, id="default-ordering"),
        pytest.param("?o=1", False, id="code-column-ascending"),
        pytest.param("?o=-1", True, id="code-column-descending"),
    ],
)
def test_the_admin_list_sorts_codes_naturally(client, editeur, contrat_05, query, reverse_order):
    _fiches(contrat_05, CODES_IN_NATURAL_ORDER)
    client.force_login(editeur)
    expected = CODES_IN_NATURAL_ORDER[::-1] if reverse_order else CODES_IN_NATURAL_ORDER
    assert _changelist_codes(client, query) == expected


def test_the_contract_page_lists_its_fiches_in_natural_order(client, editeur, contrat_05):
    _fiches(contrat_05, CODES_IN_NATURAL_ORDER)
    client.force_login(editeur)
    response = client.get(reverse("admin:contrats_contrat_change", args=[contrat_05.pk]))
    assert response.status_code == 200
    (formset,) = [
        inline.formset for inline in response.context["inline_admin_formsets"] if inline.formset.model is FicheAction
    ]
    assert [form.instance.code for form in formset.forms] == CODES_IN_NATURAL_ORDER


def _post_fiche(client, contrat, **overrides):
    data = {
        "contrat": contrat.pk,
        "intitule": "Bus des familles",
        "axe": axe(1).pk,
        "nature": "nouvelle",
        "porteur": OrganisationFactory().pk,
        "date_debut": "2024-01-01",
        "date_fin": "2027-12-31",
        "territoire_departement_entier": "on",
        **overrides,
    }
    return client.post(reverse("admin:actions_ficheaction_add"), data)


@pytest.mark.parametrize(
    ("existing", "typed", "stored", "error"),
    [
        pytest.param([], " fa-01 ", "FA-01", None, id="trimmed-and-upper-cased"),
        pytest.param([], "1.1", "1.1", None, id="dotted"),
        pytest.param(["A1-1"], "", "A1-02", None, id="empty-takes-the-next-code"),
        pytest.param(["A1-01"], "a1-01", None, "Ce code de fiche existe déjà dans le contrat.", id="duplicate"),
        # The form's own checks of the field speak first, in French too.
        pytest.param(
            [],
            "A1 01",
            None,
            "Un code ne contient que des lettres sans accent, des chiffres de 0 à 9, « - », « _ » et « . » : "
            "le caractère d'espacement U+0020 (position 3) n'est pas accepté.",
            id="space-inside",
        ),
        pytest.param(
            [],
            "A1-0000000001",
            None,
            "Assurez-vous que cette valeur comporte au plus 12 caractères (actuellement 13).",
            id="too-long",
        ),
        pytest.param(
            [],
            "A1--01",
            None,
            "Le code « A1--01 » n'est pas un code de fiche : des lettres sans accent et des chiffres, séparés par un "
            "seul « . », « - » ou « _ » (par exemple A1-03, 1.1 ou FA-01).",
            id="double-separator",
        ),
    ],
)
def test_a_code_typed_in_the_admin(client, editeur, contrat_05, existing, typed, stored, error):
    _fiches(contrat_05, existing)
    client.force_login(editeur)
    response = _post_fiche(client, contrat_05, code=typed)
    if error is None:
        assert response.status_code == 302
        assert contrat_05.fiches.filter(code=stored).exists()
        return
    assert response.status_code == 200
    form_errors = response.context["adminform"].form.errors
    assert error in [*form_errors.get("code", []), *form_errors.get("__all__", [])]
    assert contrat_05.fiches.count() == len(existing)


def test_the_same_code_in_another_contract_is_free(client, editeur, contrat_05):
    autre = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2025-D05")
    FicheActionFactory(contrat=autre, code="FA-01")
    client.force_login(editeur)
    assert _post_fiche(client, contrat_05, code="fa-01").status_code == 302
    assert contrat_05.fiches.get().code == "FA-01"
