"""Rules of a fiche action (docs/regles.md) and its workflow, through ``actions.services``: tables of cases."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from actions.enums import TRANSITIONS_FICHE, NatureAction, StatutFiche
from actions.models import FicheAction, ValeurIndicateur
from actions.services import (
    fiche_create,
    fiche_errors,
    fiche_transition,
    fiche_update,
    indicateur_create,
    indicateur_set_cible,
    indicateur_set_realise,
    next_code,
)
from contrats.enums import STATUTS_FIGES, StatutContrat, TypeContrat
from financement.enums import TypeFinanceur
from pacte.models import Axe, Mesure, Objectif
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    VoletFactory,
    axe,
)

pytestmark = pytest.mark.django_db

D = Decimal


def contrat_cls(**kwargs):
    """A CLS of a département (axes 1, 3, 4), 2024-01-01 to 2027-12-31, in negotiation."""
    if kwargs.get("statut") in STATUTS_FIGES:
        kwargs.setdefault("date_signature", date(2024, 3, 15))
    return ContratFactory(reference="CLS-2024-D05", **kwargs)


def champs(**overrides):
    """Valid fields of a new fiche on axis 1 of a CLS; ``overrides`` change some."""
    values = {
        "intitule": "Bus des familles",
        "axe": axe(1),
        "nature": NatureAction.NOUVELLE,
        "porteur": OrganisationFactory(),
        "date_debut": date(2024, 1, 1),
        "date_fin": date(2027, 12, 31),
    }
    values.update(overrides)
    return values


def mesure(code):
    return Mesure.objects.get(code=code)


def objectif(code):
    return Objectif.objects.get(code=code)


def mesure_sans_objectif():
    return Mesure.objects.create(code="1.9", axe=axe(1), intitule="Mesure sans objectif")


RENFORCEE = "Une action renforcée doit être justifiée (plus de personnes, nouveaux publics, nouveaux territoires)."
CODE_REFUSE = (
    "Le code « {} » n'est pas un code de fiche : des lettres sans accent et des chiffres, séparés par un seul "
    "« . », « - » ou « _ » (par exemple A1-03, 1.1 ou FA-01)."
)


def messages_of(exc) -> list[str]:
    return exc.value.messages


# --- fiche_create: the rules that tie a fiche to its contract -----------------------------------------

FICHE_CASES = [
    # id, overrides (callables are evaluated in the test), code, expected (field, message) or None
    ("valid", {}, "", None),
    ("starts-on-the-contract-first-day", {"date_debut": date(2024, 1, 1)}, "", None),
    (
        "starts-the-day-before-the-contract",
        {"date_debut": date(2023, 12, 31)},
        "",
        ("date_debut", "L'action commence le 31/12/2023, avant le contrat (01/01/2024)."),
    ),
    ("ends-on-the-contract-last-day", {"date_fin": date(2027, 12, 31)}, "", None),
    (
        "ends-the-day-after-the-contract",
        {"date_fin": date(2028, 1, 1)},
        "",
        ("date_fin", "L'action finit le 01/01/2028, après le contrat (31/12/2027)."),
    ),
    ("one-day-action", {"date_debut": date(2025, 6, 1), "date_fin": date(2025, 6, 1)}, "", None),
    (
        "ends-before-it-starts",
        {"date_debut": date(2025, 6, 2), "date_fin": date(2025, 6, 1)},
        "",
        ("__all__", "La date de fin de l'action doit suivre sa date de début."),
    ),
    (
        "axis-not-in-the-contract",
        {"axe": lambda: axe(2)},
        "",
        ("axe", "L'axe 2 n'est pas un axe du contrat CLS-2024-D05 (axes 1, 3, 4)."),
    ),
    ("axis-3", {"axe": lambda: axe(3)}, "", None),
    ("measure-of-the-axis", {"mesure": lambda: mesure("1.2")}, "", None),
    (
        "measure-of-another-axis",
        {"mesure": lambda: mesure("3.1")},
        "",
        ("mesure", "La mesure 3.1 relève de l'axe 3, pas de l'axe 1."),
    ),
    # Where the action sits in the reference list: a national measure, an objective only, a local measure.
    ("objective-only", {"objectif": lambda: objectif("O1-2")}, "", None),
    (
        "objective-of-another-axis",
        {"objectif": lambda: objectif("O3-1")},
        "",
        ("objectif", "L'objectif O3-1 relève de l'axe 3, pas de l'axe 1."),
    ),
    ("measure-with-its-objective", {"mesure": lambda: mesure("1.4"), "objectif": lambda: objectif("O1-2")}, "", None),
    (
        "measure-with-another-objective",
        {"mesure": lambda: mesure("1.4"), "objectif": lambda: objectif("O1-1")},
        "",
        (
            "objectif",
            "La mesure 1.4 sert l'objectif O1-2, pas l'objectif O1-1 : "
            "l'objectif d'une action est celui de sa mesure nationale.",
        ),
    ),
    (
        "measure-without-objective-and-an-objective",
        {"mesure": mesure_sans_objectif, "objectif": lambda: objectif("O1-1")},
        "",
        (
            "objectif",
            "La mesure 1.9 n'est rattachée à aucun objectif du Pacte : l'action ne peut pas déclarer l'objectif O1-1.",
        ),
    ),
    ("local-measure", {"mesure_locale": "Maison des familles de Gap"}, "", None),
    (
        "local-measure-under-an-objective",
        {"mesure_locale": "Maison des familles", "objectif": lambda: objectif("O1-1")},
        "",
        None,
    ),
    (
        "local-measure-objective-of-another-axis",
        {"mesure_locale": "Maison des familles", "objectif": lambda: objectif("O4-1")},
        "",
        ("objectif", "L'objectif O4-1 relève de l'axe 4, pas de l'axe 1."),
    ),
    (
        "national-and-local-measure",
        {"mesure": lambda: mesure("1.2"), "mesure_locale": "Maison des familles"},
        "",
        ("mesure_locale", "Une action relève d'une mesure nationale ou d'une mesure locale, pas des deux."),
    ),
    ("national-and-blank-local-measure", {"mesure": lambda: mesure("1.2"), "mesure_locale": "  \t "}, "", None),
    # Codes: free within a safe ASCII pattern, 12 characters at most; the axis digit is not checked.
    *(
        (f"code-accepted-{code}", {}, code, None)
        for code in (
            "A1-07",
            "A1-100",
            "1.1",
            "FA-01",
            "A1-1",
            "A1-03",
            "A3-01",
            "B1-01",
            "A5-01",
            "A1-0001",
            "A1_01",
            "1.2.3",
            "X",
            "ABCDEFGHIJKL",
        )
    ),
    *(
        (f"code-refused-{code}", {}, code, ("code", CODE_REFUSE.format(code)))
        for code in (
            "A1--01",
            "A1-",
            "-A1",
            ".1",
            "1..1",
            "A1-_1",
            "A1 01",
            "A1/01",
            "FICHE#1",
            "É1-01",
            "A1-٠١",
            "A1-０1",
        )
    ),
    (
        "code-13-characters",
        {},
        "ABCDEFGHIJKLM",
        ("code", "Le code « ABCDEFGHIJKLM » compte 13 caractères : 12 au plus."),
    ),
    # A reinforced action may be entered without its justification: validation requires it.
    ("renforcee-without-justification", {"nature": NatureAction.RENFORCEE, "justification_renforcement": ""}, "", None),
    (
        "renforcee-whitespace-justification",
        {"nature": NatureAction.RENFORCEE, "justification_renforcement": "  \n\t "},
        "",
        None,
    ),
    (
        "renforcee-justified",
        {"nature": NatureAction.RENFORCEE, "justification_renforcement": "Deux fois plus de familles"},
        "",
        None,
    ),
    ("nouvelle-needs-no-justification", {"nature": NatureAction.NOUVELLE, "justification_renforcement": ""}, "", None),
]


@pytest.mark.parametrize(
    ("overrides", "code", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in FICHE_CASES],
)
def test_fiche_create(overrides, code, expected):
    contrat = contrat_cls()
    fields = champs(**{k: v() if callable(v) else v for k, v in overrides.items()})
    if expected is None:
        fiche = fiche_create(contrat=contrat, code=code, **fields)
        fiche.refresh_from_db()
        assert fiche.statut == StatutFiche.PROPOSEE
        assert fiche.code == (code or f"A{fields['axe'].numero}-01")
        return
    with pytest.raises(ValidationError) as exc:
        fiche_create(contrat=contrat, code=code, **fields)
    field, message = expected
    assert exc.value.message_dict[field] == [message]
    assert not FicheAction.objects.filter(contrat=contrat).exists()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [pytest.param(case[1], case[3], id=case[0]) for case in FICHE_CASES if not case[2] and case[3]],
)
def test_fiche_update_applies_the_same_rules(overrides, expected):
    fiche = FicheActionFactory(contrat=contrat_cls(), code="A1-01", intitule="Avant")
    fields = {k: v() if callable(v) else v for k, v in overrides.items()}
    with pytest.raises(ValidationError) as exc:
        fiche_update(fiche=fiche, intitule="Après", **fields)
    field, message = expected
    assert exc.value.message_dict[field] == [message]
    fiche.refresh_from_db()
    assert fiche.intitule == "Avant"


def test_fiche_update_saves():
    fiche = FicheActionFactory(contrat=contrat_cls(), code="A1-01")
    fiche_update(fiche=fiche, intitule="Après", axe=axe(3), code="a3-01 ", mesure=mesure("3.2"))
    fiche.refresh_from_db()
    assert (fiche.intitule, fiche.axe.numero, fiche.code, fiche.mesure.code, fiche.objectif.code) == (
        "Après",
        3,
        "A3-01",
        "3.2",
        "O3-2",
    )


# --- The objective follows the national measure ---------------------------------------------------------

OBJECTIF_CASES = [
    # id, measure code (or None), objective passed ("absent": not passed), expected objective code
    ("measure-alone-takes-its-objective", "1.4", "absent", "O1-2"),
    ("measure-and-empty-objective-takes-its-objective", "1.4", None, "O1-2"),
    ("measure-and-its-own-objective", "1.4", "O1-2", "O1-2"),
    ("objective-alone-is-kept", None, "O1-3", "O1-3"),
    ("nothing", None, "absent", None),
    ("nothing-and-empty-objective", None, None, None),
]


@pytest.mark.parametrize(
    ("code_mesure", "code_objectif", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in OBJECTIF_CASES],
)
def test_fiche_create_sets_the_objective_of_its_measure(code_mesure, code_objectif, expected):
    fields = champs(mesure=mesure(code_mesure) if code_mesure else None)
    if code_objectif != "absent":
        fields["objectif"] = objectif(code_objectif) if code_objectif else None
    fiche = fiche_create(contrat=contrat_cls(), **fields)
    fiche.refresh_from_db()
    assert (fiche.objectif.code if fiche.objectif else None) == expected


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({"mesure": "1.4"}, ("1.4", "O1-2", ""), id="new-measure-brings-its-objective"),
        pytest.param({"mesure": None}, (None, "O1-1", ""), id="measure-removed-objective-kept"),
        pytest.param({"mesure": None, "objectif": "O1-3"}, (None, "O1-3", ""), id="moved-to-another-objective"),
        pytest.param(
            {"mesure": None, "mesure_locale": " Bus des familles "},
            (None, "O1-1", "Bus des familles"),
            id="national-to-local-measure-under-the-same-objective",
        ),
        pytest.param({"intitule": "Autre"}, ("1.2", "O1-1", ""), id="other-change-keeps-both"),
    ],
)
def test_fiche_update_keeps_the_objective_of_its_measure(changes, expected):
    fiche = fiche_create(contrat=contrat_cls(), **champs(mesure=mesure("1.2")))
    assert fiche.objectif.code == "O1-1"
    values = {
        k: (mesure(v) if k == "mesure" else objectif(v)) if k in ("mesure", "objectif") and v else v
        for k, v in changes.items()
    }
    fiche_update(fiche=fiche, **values)
    fiche.refresh_from_db()
    assert (fiche.mesure.code if fiche.mesure else None, fiche.objectif.code, fiche.mesure_locale) == expected


def test_fiche_update_refuses_an_objective_contradicting_its_measure():
    fiche = fiche_create(contrat=contrat_cls(), **champs(mesure=mesure("1.2")))
    with pytest.raises(ValidationError) as exc:
        fiche_update(fiche=fiche, objectif=objectif("O1-3"))
    assert exc.value.message_dict["objectif"] == [
        "La mesure 1.2 sert l'objectif O1-1, pas l'objectif O1-3 : l'objectif d'une action est celui de sa mesure "
        "nationale."
    ]
    fiche.refresh_from_db()
    assert fiche.objectif.code == "O1-1"


@pytest.mark.parametrize(
    ("service", "fields", "message"),
    [
        pytest.param("create", {"statut": StatutFiche.VALIDEE}, "Champs inconnus : statut.", id="create-statut"),
        pytest.param("update", {"statut": StatutFiche.VALIDEE}, "Champs non modifiables ici : statut.", id="update"),
        pytest.param("update", {"contrat": None}, "Champs non modifiables ici : contrat.", id="update-contrat"),
    ],
)
def test_fiche_services_refuse_fields_outside_the_contractual_content(service, fields, message):
    contrat = contrat_cls()
    with pytest.raises(ValidationError) as exc:
        if service == "create":
            fiche_create(contrat=contrat, **champs(**fields))
        else:
            fiche_update(fiche=FicheActionFactory(contrat=contrat), **fields)
    assert messages_of(exc) == [message]


@pytest.mark.parametrize(
    ("existing", "other_contract", "code", "ok"),
    [
        pytest.param(["A1-01"], False, "A1-01", False, id="same-code-same-contract"),
        pytest.param(["A1-01"], True, "A1-01", True, id="same-code-another-contract"),
        pytest.param(["A1-01"], False, "A1-02", True, id="another-code"),
    ],
)
def test_code_unique_in_the_contract(existing, other_contract, code, ok):
    contrat = contrat_cls()
    owner = ContratFactory() if other_contract else contrat
    for c in existing:
        FicheActionFactory(contrat=owner, code=c)
    if ok:
        assert fiche_create(contrat=contrat, code=code, **champs()).code == code
    else:
        with pytest.raises(ValidationError) as exc:
            fiche_create(contrat=contrat, code=code, **champs())
        assert messages_of(exc) == ["Ce code de fiche existe déjà dans le contrat."]
        assert contrat.fiches.count() == len(existing)


def test_code_unique_on_update():
    contrat = contrat_cls()
    FicheActionFactory(contrat=contrat, code="A1-01")
    fiche = FicheActionFactory(contrat=contrat, code="A1-02")
    with pytest.raises(ValidationError, match="Ce code de fiche existe déjà dans le contrat."):
        fiche_update(fiche=fiche, code="A1-01")
    fiche.refresh_from_db()
    assert fiche.code == "A1-02"


@pytest.mark.parametrize(
    ("existing", "axe_numero", "expected"),
    [
        pytest.param([], 1, "A1-01", id="first"),
        pytest.param(["A1-01", "A1-02"], 1, "A1-03", id="next"),
        pytest.param(["A1-01", "A1-05"], 1, "A1-06", id="after-the-highest-not-in-a-gap"),
        pytest.param(["A3-07", "A4-02"], 1, "A1-01", id="other-axes-do-not-count"),
        pytest.param(["A1-01", "A3-07"], 3, "A3-08", id="per-axis"),
        pytest.param(["A1-09"], 1, "A1-10", id="two-digits"),
        pytest.param(["A1-99"], 1, "A1-100", id="three-digits"),
        pytest.param(["A1-100"], 1, "A1-101", id="after-three-digits"),
        pytest.param(["A1-1", "A1-10"], 1, "A1-11", id="one-digit-codes-in-natural-order"),
        pytest.param(["A1-2", "A1-1"], 1, "A1-03", id="one-digit-codes"),
        pytest.param(["A1-0"], 1, "A1-01", id="zero"),
        pytest.param(["1.1", "FA-01", "A1-03B", "A1.5", "A1-2-1", "AA1-09"], 1, "A1-01", id="other-forms-skipped"),
        pytest.param(["1.1", "A1-04", "FA-07"], 1, "A1-05", id="other-forms-beside-proposed-ones"),
        pytest.param(["A1-999999999"], 1, "A1-01", id="past-the-longest-code-smallest-free"),
        pytest.param(["A1-01", "A1-02", "A1-999999999"], 1, "A1-03", id="past-the-longest-code-after-a-run"),
        pytest.param(["A1-99999999"], 1, "A1-100000000", id="longest-code-still-fits"),
    ],
)
def test_next_code(existing, axe_numero, expected):
    contrat = contrat_cls()
    for code in existing:
        FicheActionFactory(contrat=contrat, code=code)
    FicheActionFactory(code="A1-50")  # another contract
    assert next_code(contrat, axe_numero) == expected


def test_next_code_counts_abandoned_fiches():
    """A code is never given twice, even when its fiche was abandoned."""
    contrat = contrat_cls()
    FicheActionFactory(contrat=contrat, code="A1-01", statut=StatutFiche.ABANDONNEE)
    assert fiche_create(contrat=contrat, **champs()).code == "A1-02"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("a1-01", "A1-01"),
        (" A1-01", "A1-01"),
        ("A1-01 ", "A1-01"),
        ("A1-01\n", "A1-01"),
        ("\ta1-01 ", "A1-01"),
        ("fa-01", "FA-01"),
        (" 1.1 ", "1.1"),
        ("a1-1", "A1-1"),
        ("\u00a0a1_b\u202f", "A1_B"),
    ],
)
def test_fiche_code_is_trimmed_and_upper_cased(typed, stored):
    fiche = fiche_create(contrat=contrat_cls(), code=typed, **champs())
    fiche.refresh_from_db()
    assert fiche.code == stored


@pytest.mark.parametrize("typed", ["A1\n-01", "A1-0\u202e1", "A1-01\x00"])
def test_fiche_code_with_a_control_character_inside_is_refused(typed):
    contrat = contrat_cls()
    with pytest.raises(ValidationError) as exc:
        fiche_create(contrat=contrat, code=typed, **champs())
    assert "code" in exc.value.message_dict
    assert not FicheAction.objects.filter(contrat=contrat).exists()


def test_fiche_create_numbers_in_sequence():
    contrat = contrat_cls()
    codes = [fiche_create(contrat=contrat, **champs(axe=axe(n))).code for n in (1, 3, 1, 4, 1)]
    assert codes == ["A1-01", "A3-01", "A1-02", "A4-01", "A1-03"]


# --- CDIE volets --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("with_volets", "volet", "expected"),
    [
        pytest.param(True, "own", None, id="volet-of-the-contract"),
        pytest.param(
            True,
            None,
            ("volet", "Le contrat CDIE-TEST a des volets : rattachez l'action de l'axe 2 à l'un d'eux."),
            id="missing-volet",
        ),
        pytest.param(
            True, "other", ("volet", "Ce volet appartient à un autre contrat."), id="volet-of-another-contract"
        ),
        pytest.param(False, None, None, id="cdie-without-volets"),
        pytest.param(
            False, "other", ("volet", "Ce volet appartient à un autre contrat."), id="foreign-volet-no-volets"
        ),
    ],
)
def test_cdie_volet(with_volets, volet, expected):
    contrat = ContratFactory(cdie=True, reference="CDIE-TEST")
    own = VoletFactory(contrat=contrat, numero=1) if with_volets else None
    volets = {"own": own, "other": VoletFactory(numero=1), None: None}
    fields = champs(axe=axe(2), volet=volets[volet], date_fin=date(2024, 12, 31))
    if expected is None:
        fiche = fiche_create(contrat=contrat, **fields)
        assert fiche.volet == volets[volet]
    else:
        with pytest.raises(ValidationError) as exc:
            fiche_create(contrat=contrat, **fields)
        assert exc.value.message_dict[expected[0]] == [expected[1]]


@pytest.mark.parametrize(("axe_numero", "ok"), [(1, False), (2, True), (3, False), (4, False)])
def test_only_axis_2_actions_sit_on_a_volet(axe_numero, ok):
    """A volet (CDIE part) brings its own rule (volet 1: 100 % State): only axis-2 actions may use one."""
    contrat = ContratFactory(
        type_contrat=TypeContrat.CONVENTION_UNIQUE, reference="CU-TEST", axes=list(Axe.objects.all())
    )
    volet = VoletFactory(contrat=contrat, numero=1)
    fields = champs(axe=axe(axe_numero), volet=volet, code=f"A{axe_numero}-01")
    if ok:
        assert fiche_create(contrat=contrat, **fields).volet == volet
        return
    with pytest.raises(ValidationError) as exc:
        fiche_create(contrat=contrat, **fields)
    assert exc.value.message_dict["volet"] == [
        f"Seules les actions de l'axe 2 relèvent d'un volet (cette action est sur l'axe {axe_numero})."
    ]
    assert not contrat.fiches.exists()


def test_unknown_status_is_a_validation_error():
    fiche = FicheActionFactory()
    with pytest.raises(ValidationError, match="Statut de fiche inconnu : « perdue »."):
        fiche_transition(fiche=fiche, to="perdue")


def test_fiche_errors_is_a_pure_report():
    """``fiche_errors`` reports every broken rule at once, field by field, without saving."""
    contrat = contrat_cls()
    fiche = FicheAction(
        contrat=contrat,
        code="A1--01",
        axe=axe(1),
        mesure=mesure("4.1"),
        objectif=objectif("O3-1"),
        mesure_locale="Maison des familles",
        nature=NatureAction.RENFORCEE,
        statut=StatutFiche.VALIDEE,
        date_debut=date(2023, 1, 1),
        date_fin=date(2030, 1, 1),
    )
    assert sorted(fiche_errors(fiche)) == [
        "code",
        "date_debut",
        "date_fin",
        "justification_renforcement",
        "mesure",
        "mesure_locale",
        "objectif",
    ]
    assert not FicheAction.objects.exists()


# --- Transitions of a fiche: every (from, to) pair -----------------------------------------------------

PAIRS = [(a, b) for a in StatutFiche.values for b in StatutFiche.values]


def fiche_in(statut, contrat=None, etat="10000", collectivite="10000"):
    fiche = FicheActionFactory(contrat=contrat or contrat_cls(), code="A1-01", statut=statut)
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=D(etat))
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D(collectivite))
    return fiche


@pytest.mark.parametrize(("before", "after"), [pytest.param(a, b, id=f"{a}->{b}") for a, b in PAIRS])
def test_fiche_transitions(before, after):
    fiche = fiche_in(before)
    if after in TRANSITIONS_FICHE[before]:
        result = fiche_transition(fiche=fiche, to=after)
        assert result.statut == after
        fiche.refresh_from_db()
        assert fiche.statut == after
    else:
        with pytest.raises(ValidationError) as exc:
            fiche_transition(fiche=fiche, to=after)
        assert messages_of(exc) == [
            f"La fiche A1-01 ne peut pas passer de « {StatutFiche(before).label} » à « {StatutFiche(after).label} »."
        ]
        fiche.refresh_from_db()
        assert fiche.statut == before


def test_transitions_table():
    """The workflow of docs/regles.md: proposed → validated → in progress → completed, or abandoned."""
    assert TRANSITIONS_FICHE == {
        "proposee": {"validee", "abandonnee"},
        "validee": {"proposee", "en_cours", "abandonnee"},
        "en_cours": {"terminee", "abandonnee"},
        "terminee": set(),
        "abandonnee": set(),
    }


@pytest.mark.parametrize(
    ("etat", "collectivite", "ok"),
    [
        pytest.param("10000", "10000", True, id="50-50"),
        pytest.param("10001", "10000", True, id="1-euro-over-tolerated"),
        pytest.param("10001.01", "10000", False, id="1.01-over"),
        pytest.param("10000", "0", False, id="no-collectivite-money"),
        pytest.param("0", "0", True, id="zero"),
    ],
)
def test_validation_checks_parity(etat, collectivite, ok):
    fiche = fiche_in(StatutFiche.PROPOSEE, etat=etat, collectivite=collectivite)
    if ok:
        assert fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE).statut == StatutFiche.VALIDEE
        return
    with pytest.raises(ValidationError) as exc:
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE)
    assert messages_of(exc)[0] == "La fiche A1-01 ne peut pas être validée :"
    assert "dépasse celle du Département" in messages_of(exc)[1]
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.PROPOSEE


# --- A reinforced action: justified to be validated, not to be entered ---------------------------------


@pytest.mark.parametrize(
    ("justification", "ok"),
    [
        pytest.param("", False, id="empty"),
        pytest.param("  \n\t ", False, id="whitespace"),
        pytest.param("x", True, id="one-character"),
        pytest.param("Deux fois plus de familles", True, id="justified"),
    ],
)
def test_renforcee_entered_without_justification_validated_once_justified(justification, ok):
    fiche = fiche_in(StatutFiche.PROPOSEE)
    fiche_update(fiche=fiche, nature=NatureAction.RENFORCEE, justification_renforcement=justification)
    fiche.refresh_from_db()
    assert (fiche.nature, fiche.statut) == (NatureAction.RENFORCEE, StatutFiche.PROPOSEE)
    if ok:
        assert fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE).statut == StatutFiche.VALIDEE
        return
    with pytest.raises(ValidationError) as exc:
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE)
    assert messages_of(exc) == ["La fiche A1-01 ne peut pas être validée :", RENFORCEE]
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.PROPOSEE
    # Once completed, the same fiche is validated.
    fiche_update(fiche=fiche, justification_renforcement="Deux fois plus de familles")
    assert fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE).statut == StatutFiche.VALIDEE


def test_renforcee_validation_reports_parity_too():
    fiche = fiche_in(StatutFiche.PROPOSEE, etat="10000", collectivite="0")
    fiche_update(fiche=fiche, nature=NatureAction.RENFORCEE)
    with pytest.raises(ValidationError) as exc:
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE)
    assert messages_of(exc)[:2] == ["La fiche A1-01 ne peut pas être validée :", RENFORCEE]
    assert "dépasse celle du Département" in messages_of(exc)[2]


@pytest.mark.parametrize(
    ("statut", "changes", "ok"),
    [
        pytest.param(StatutFiche.VALIDEE, {"justification_renforcement": ""}, False, id="validated-loses-it"),
        pytest.param(StatutFiche.VALIDEE, {"justification_renforcement": " "}, False, id="validated-blanked"),
        pytest.param(StatutFiche.VALIDEE, {"justification_renforcement": "Autre raison"}, True, id="validated-rewords"),
        pytest.param(
            StatutFiche.VALIDEE,
            {"nature": NatureAction.NOUVELLE, "justification_renforcement": ""},
            True,
            id="validated-becomes-new",
        ),
        pytest.param(StatutFiche.PROPOSEE, {"justification_renforcement": ""}, True, id="proposed-may-lose-it"),
    ],
)
def test_a_validated_fiche_keeps_its_justification(statut, changes, ok):
    fiche = FicheActionFactory(
        contrat=contrat_cls(),
        code="A1-01",
        statut=statut,
        nature=NatureAction.RENFORCEE,
        justification_renforcement="Deux fois plus de familles",
    )
    if ok:
        fiche_update(fiche=fiche, **changes)
        fiche.refresh_from_db()
        assert all(getattr(fiche, k) == v for k, v in changes.items())
        return
    with pytest.raises(ValidationError) as exc:
        fiche_update(fiche=fiche, **changes)
    assert exc.value.message_dict == {"justification_renforcement": [RENFORCEE]}
    fiche.refresh_from_db()
    assert fiche.justification_renforcement == "Deux fois plus de familles"


@pytest.mark.parametrize(
    ("statut", "nature", "justification", "expected"),
    [
        pytest.param(
            StatutFiche.PROPOSEE,
            NatureAction.RENFORCEE,
            "",
            ["Fiche A1-01 : elle n'est pas validée.", f"Fiche A1-01 : {RENFORCEE}"],
            id="proposed-unjustified",
        ),
        pytest.param(
            StatutFiche.VALIDEE, NatureAction.RENFORCEE, "", [f"Fiche A1-01 : {RENFORCEE}"], id="validated-unjustified"
        ),
        pytest.param(StatutFiche.VALIDEE, NatureAction.RENFORCEE, "Plus de familles", [], id="validated-justified"),
        pytest.param(StatutFiche.VALIDEE, NatureAction.NOUVELLE, "", [], id="validated-new"),
        pytest.param(StatutFiche.ABANDONNEE, NatureAction.RENFORCEE, "", ["aucune fiche"], id="abandoned-not-counted"),
    ],
)
def test_signature_requires_the_justification(statut, nature, justification, expected):
    from actions.checks import fiches_signables

    contrat = contrat_cls()
    # Written as data entered before this rule could be (the factory bypasses the services).
    FicheActionFactory(
        contrat=contrat, code="A1-01", statut=statut, nature=nature, justification_renforcement=justification
    )
    errors = fiches_signables(contrat)
    if expected == ["aucune fiche"]:
        assert errors == ["Le contrat CLS-2024-D05 ne contient aucune fiche action."]
    else:
        assert errors == expected


@pytest.mark.parametrize(
    ("justification", "ok"), [pytest.param("", False, id="unjustified"), pytest.param("Plus", True, id="justified")]
)
def test_a_fiche_added_by_avenant_is_born_validated_so_justified(justification, ok):
    from actions.services import avenant_propose_fiche_add
    from tests.factories import AvenantFactory

    avenant = AvenantFactory(contrat=contrat_cls(statut=StatutContrat.SIGNE))
    fields = champs(nature=NatureAction.RENFORCEE, justification_renforcement=justification)
    if ok:
        modification = avenant_propose_fiche_add(avenant=avenant, code=" a1-05", **fields)
        assert modification.cible == {"fiche": "A1-05"}
        return
    with pytest.raises(ValidationError) as exc:
        avenant_propose_fiche_add(avenant=avenant, code="A1-05", **fields)
    assert exc.value.message_dict == {"justification_renforcement": [RENFORCEE]}
    assert not avenant.modifications.exists()


@pytest.mark.parametrize(
    ("statut_contrat", "ok"),
    [pytest.param(s, s not in STATUTS_FIGES, id=s) for s in StatutContrat.values],
)
def test_back_to_proposed_refused_once_the_contract_is_signed(statut_contrat, ok):
    fiche = fiche_in(StatutFiche.VALIDEE, contrat=contrat_cls(statut=statut_contrat))
    if ok:
        assert fiche_transition(fiche=fiche, to=StatutFiche.PROPOSEE).statut == StatutFiche.PROPOSEE
        return
    with pytest.raises(ValidationError, match="ne changent plus que par un avenant"):
        fiche_transition(fiche=fiche, to=StatutFiche.PROPOSEE)
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.VALIDEE


@pytest.mark.parametrize("statut_contrat", [StatutContrat.SIGNE, StatutContrat.EN_EXECUTION])
@pytest.mark.parametrize(
    "chemin",
    [
        pytest.param([StatutFiche.EN_COURS, StatutFiche.TERMINEE], id="in-progress-then-completed"),
        pytest.param([StatutFiche.ABANDONNEE], id="abandoned"),
        pytest.param([StatutFiche.EN_COURS, StatutFiche.ABANDONNEE], id="in-progress-then-abandoned"),
    ],
)
def test_execution_statuses_after_signature(statut_contrat, chemin):
    fiche = fiche_in(StatutFiche.VALIDEE, contrat=contrat_cls(statut=statut_contrat))
    for statut in chemin:
        fiche = fiche_transition(fiche=fiche, to=statut)
    fiche.refresh_from_db()
    assert fiche.statut == chemin[-1]


def test_transition_reads_the_status_from_the_database():
    """A stale instance cannot skip a step: the status is read again before moving."""
    fiche = fiche_in(StatutFiche.PROPOSEE)
    stale = FicheAction.objects.get(pk=fiche.pk)
    fiche_transition(fiche=fiche, to=StatutFiche.ABANDONNEE)
    with pytest.raises(ValidationError, match="ne peut pas passer de « Abandonnée »"):
        fiche_transition(fiche=stale, to=StatutFiche.VALIDEE)


# --- Indicators ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annee", "ok"),
    [
        pytest.param(2023, False, id="year-before"),
        pytest.param(2024, True, id="first-year"),
        pytest.param(2027, True, id="last-year"),
        pytest.param(2028, False, id="year-after"),
    ],
)
def test_indicator_target_within_the_contract_period(annee, ok):
    indicateur = IndicateurFactory(fiche=FicheActionFactory(contrat=contrat_cls()))
    if ok:
        assert indicateur_set_cible(indicateur=indicateur, annee=annee, cible=D("120")).cible == D("120")
        return
    with pytest.raises(ValidationError) as exc:
        indicateur_set_cible(indicateur=indicateur, annee=annee, cible=D("120"))
    assert exc.value.message_dict["annee"] == [f"{annee} est hors de la période du contrat (2024-2027)."]
    assert not ValeurIndicateur.objects.exists()


def test_indicator_target_is_updated_not_duplicated():
    indicateur = IndicateurFactory(fiche=FicheActionFactory(contrat=contrat_cls()))
    indicateur_set_cible(indicateur=indicateur, annee=2024, cible=D("100"))
    indicateur_set_cible(indicateur=indicateur, annee=2024, cible=D("150"))
    assert list(ValeurIndicateur.objects.values_list("annee", "cible")) == [(2024, D("150"))]


@pytest.mark.parametrize(
    ("delta", "ok"),
    [pytest.param(0, True, id="this-year"), pytest.param(-1, True, id="last-year"), pytest.param(1, False, id="next")],
)
def test_indicator_achieved_value_not_in_a_future_year(delta, ok):
    annee = date.today().year + delta
    contrat = ContratFactory(date_debut=date(annee - 2, 1, 1), date_fin=date(annee + 2, 12, 31))
    indicateur = IndicateurFactory(fiche=FicheActionFactory(contrat=contrat))
    if ok:
        assert indicateur_set_realise(indicateur=indicateur, annee=annee, realise=D("42")).realise == D("42")
        return
    with pytest.raises(ValidationError) as exc:
        indicateur_set_realise(indicateur=indicateur, annee=annee, realise=D("42"))
    assert exc.value.message_dict["annee"] == [f"L'année {annee} n'a pas commencé : pas de valeur atteinte."]


def test_indicator_create():
    fiche = FicheActionFactory(contrat=contrat_cls())
    indicateur = indicateur_create(
        fiche=fiche, nom="Familles accueillies", type_indicateur="resultat", unite="familles", valeur_reference=D("10")
    )
    assert indicateur.fiche == fiche
    with pytest.raises(ValidationError):
        indicateur_create(fiche=fiche, nom="X", type_indicateur="inconnu", unite="u")
