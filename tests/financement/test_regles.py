"""The money rules of docs/regles.md, as tables of cases: parity per action and year, annual ceilings.

First the pure functions (no database), then the same rules through the database sums, with the
cofinancing rules that the migrations seed (CDIE volet 1: 100 % State, no parity).
"""

from decimal import Decimal

import pytest

from actions.enums import StatutFiche
from actions.models import FicheAction
from contrats.enums import TypeContrat
from financement.enums import Contrepartie, TypeFinanceur
from financement.models import RegleCofinancement
from financement.regles import (
    REALISE,
    REGLE_PAR_DEFAUT,
    Regle,
    format_taux,
    parite_messages,
    parite_violations,
    plafond_messages,
    plafond_violations,
    regle_pour,
    regles_par_type,
)
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    VoletFactory,
    axe,
    collectivite,
)

D = Decimal
E = "\xa0€"
DEP = "du Département"
COLLECTIVITE, COFINANCEURS, AUCUNE = Contrepartie.COLLECTIVITE, Contrepartie.COFINANCEURS, Contrepartie.AUCUNE
CINQUANTE = Regle(D("0.5"), COLLECTIVITE, D("1.00"))


def eur(text: str) -> str:
    """``eur("60 000,00")`` → ``"60\xa0000,00\xa0€"``: amounts as the messages print them."""
    return text.replace(" ", "\xa0") + E


# --- Parity, pure function ----------------------------------------------------------------------------


def depasse_collectivite(etat, coll, ecart, partie=DEP, part="prévue"):
    return f"2024 : la part {part} de l'État ({eur(etat)}) dépasse celle {partie} ({eur(coll)}) de {eur(ecart)}"


def depasse_taux(etat, taux, total, ecart, part=("prévue", "prévu")):
    return (
        f"2024 : la part {part[0]} de l'État ({eur(etat)}) dépasse {taux}\xa0% du coût total {part[1]} "
        f"({eur(total)}) de {eur(ecart)}"
    )


PARITE_CASES = [
    # id, etat, collectivite, total (all funders), regle, expected messages
    ("exactly-50-50", "100", "100", "200", CINQUANTE, []),
    ("state-below", "40", "60", "100", CINQUANTE, []),
    ("zero-year", "0", "0", "0", CINQUANTE, []),
    (
        "1-euro-over-collectivite-tolerated",
        "50001",
        "50000",
        "100001",
        CINQUANTE,
        # 50 001 ≤ 50 % × 100 001 + 1 € : both checks are within the tolerance
        [],
    ),
    (
        "1.01-over-collectivite-rejected",
        "50001.01",
        "50000",
        "100001.01",
        CINQUANTE,
        [depasse_collectivite("50 001,01", "50 000,00", "1,01")],
    ),
    (
        "0.01-over-with-zero-tolerance",
        "100.01",
        "100",
        "200.01",
        Regle(D("0.5"), COLLECTIVITE, D("0")),
        [depasse_collectivite("100,01", "100,00", "0,01")],
    ),
    (
        "missing-collectivite",
        "1000",
        "0",
        "1000",
        CINQUANTE,
        [depasse_collectivite("1 000,00", "0,00", "1 000,00"), depasse_taux("1 000,00", "50", "1 000,00", "500,00")],
    ),
    ("other-funders-on-top", "50", "50", "200", CINQUANTE, []),
    (
        "other-funders-never-fill-the-collectivite-half",
        "60",
        "50",
        "1110",
        CINQUANTE,
        [depasse_collectivite("60,00", "50,00", "10,00")],
    ),
    (
        "parity-holds-but-rate-breached",
        # at 50 % the rate check follows from parity; with a lower rate it bites on its own
        "60",
        "60",
        "120",
        Regle(D("0.4"), COLLECTIVITE, D("1.00")),
        [depasse_taux("60,00", "40", "120,00", "12,00")],
    ),
    (
        "taux-30-rejects-40-of-100",
        "40",
        "60",
        "100",
        Regle(D("0.3"), COLLECTIVITE, D("1.00")),
        [depasse_taux("40,00", "30", "100,00", "10,00")],
    ),
    ("taux-30-accepts-30-of-100", "30", "70", "100", Regle(D("0.3"), COLLECTIVITE, D("1.00")), []),
    ("taux-30-tolerates-1-euro", "31", "69", "100", Regle(D("0.3"), COLLECTIVITE, D("1.00")), []),
    (
        "taux-30-rejects-1.01",
        "31.01",
        "68.99",
        "100",
        Regle(D("0.3"), COLLECTIVITE, D("1.00")),
        [depasse_taux("31,01", "30", "100,00", "1,01")],
    ),
    ("no-parity-100-percent-state", "100", "0", "100", Regle(D("1"), AUCUNE, D("1.00")), []),
    (
        "no-parity-but-rate-still-applies",
        "80",
        "0",
        "100",
        Regle(D("0.7"), AUCUNE, D("1.00")),
        [depasse_taux("80,00", "70", "100,00", "10,00")],
    ),
    # Every other funder as the State's counterpart (no collectivité money needed).
    ("cofunders-match-the-state", "100", "0", "200", Regle(D("0.5"), COFINANCEURS, D("1.00")), []),
    ("cofunders-1-euro-short-tolerated", "101", "0", "201", Regle(D("0.5"), COFINANCEURS, D("1.00")), []),
    (
        "cofunders-2-euros-short",
        "102",
        "0",
        "202",
        Regle(D("1"), COFINANCEURS, D("1.00")),
        [
            "2024 : la part prévue de l'État (102,00\xa0€) dépasse celle des autres financeurs "
            "(100,00\xa0€) de 2,00\xa0€"
        ],
    ),
    # A pacte local: the State pays the carrier, alone if need be, partners may add.
    ("state-alone-allowed", "5000", "0", "5000", Regle(D("1"), AUCUNE, D("1.00"), etat_seul=True), []),
    (
        "state-alone-refused",
        "5000",
        "0",
        "5000",
        Regle(D("1"), AUCUNE, D("1.00"), etat_seul=False),
        ["2024 : l'État ne peut pas financer seul l'action (5\xa0000,00\xa0€ prévus)"],
    ),
    ("state-with-a-partner", "5000", "0", "5001", Regle(D("1"), AUCUNE, D("1.00"), etat_seul=False), []),
    ("nothing-planned-is-not-state-alone", "0", "0", "0", Regle(D("1"), AUCUNE, D("1.00"), etat_seul=False), []),
]


@pytest.mark.parametrize(
    ("etat", "coll", "total", "regle", "expected"),
    [pytest.param(*case[1:], id=case[0]) for case in PARITE_CASES],
)
def test_parite_messages(etat, coll, total, regle, expected):
    assert parite_messages(annee=2024, etat=D(etat), collectivite=D(coll), total=D(total), regle=regle, partie=DEP) == (
        expected
    )


@pytest.mark.parametrize(
    ("partie", "expected"),
    [
        pytest.param("du Département", "dépasse celle du Département", id="departement"),
        pytest.param("de la Métropole", "dépasse celle de la Métropole", id="metropole"),
        pytest.param("de la Collectivité", "dépasse celle de la Collectivité", id="collectivite"),
    ],
)
def test_parite_messages_name_the_party(partie, expected):
    (message,) = parite_messages(
        annee=2024, etat=D("20"), collectivite=D("10"), total=D("40"), regle=CINQUANTE, partie=partie
    )
    assert expected in message


def test_parite_messages_on_spent_amounts_speak_of_realise():
    messages = parite_messages(
        annee=2024, etat=D("100"), collectivite=D("0"), total=D("100"), regle=CINQUANTE, partie=DEP, champ=REALISE
    )
    assert messages == [
        depasse_collectivite("100,00", "0,00", "100,00", part="réalisée"),
        depasse_taux("100,00", "50", "100,00", "50,00", part=("réalisée", "réalisé")),
    ]


@pytest.mark.parametrize(
    ("taux", "expected"),
    [
        pytest.param(D("0.5"), "50\xa0%", id="half"),
        pytest.param(D("0.5000"), "50\xa0%", id="db-precision"),
        pytest.param(D("1"), "100\xa0%", id="full"),
        pytest.param(D("0.3"), "30\xa0%", id="thirty"),
        pytest.param(D("0.3333"), "33,33\xa0%", id="decimal-comma"),
        pytest.param(D("0"), "0\xa0%", id="zero"),
    ],
)
def test_format_taux(taux, expected):
    assert format_taux(taux) == expected


# --- Which rule applies -------------------------------------------------------------------------------

VOLET_1 = Regle(D("1"), AUCUNE, D("1.00"))
TYPE_CDIE = Regle(D("0.4"), COLLECTIVITE, D("1.00"))


@pytest.mark.parametrize(
    ("type_contrat", "volet", "expected"),
    [
        pytest.param("cdie", 1, VOLET_1, id="volet-rule-beats-type-rule"),
        pytest.param("cdie", 2, TYPE_CDIE, id="volet-without-rule-falls-back-on-type"),
        pytest.param("cdie", None, TYPE_CDIE, id="no-volet-type-rule"),
        pytest.param("cpt", None, REGLE_PAR_DEFAUT, id="no-rule-default-50-50"),
        pytest.param("cpt", 1, REGLE_PAR_DEFAUT, id="volet-of-a-type-without-rules"),
    ],
)
def test_regle_pour(type_contrat, volet, expected):
    regles = {("cdie", 1): VOLET_1, ("cdie", None): TYPE_CDIE}
    assert regle_pour(regles, type_contrat, volet) == expected


def test_default_rule_is_50_50_with_parity_and_1_euro():
    assert REGLE_PAR_DEFAUT == Regle(D("0.5"), COLLECTIVITE, D("1.00"))


@pytest.mark.django_db
def test_seeded_rules():
    """The migration seeds 50/50 with the collectivité everywhere, except volet 1 of a CDIE (and of a
    convention unique): 100 % State; and a pacte local (CPT): the State pays the carrier, alone if need
    be, partners may add, no parity with the collectivité."""
    regles = regles_par_type()
    for type_contrat in set(TypeContrat.values) - {TypeContrat.CPT}:
        assert regles[(type_contrat, None)] == CINQUANTE
    assert regles[(TypeContrat.CPT, None)] == Regle(D("1"), AUCUNE, D("1.00"), etat_seul=True)
    assert regles[("cdie", 1)] == VOLET_1
    assert regles[("convention_unique", 1)] == VOLET_1
    assert len(regles) == len(TypeContrat.values) + 2


# --- Parity through the database ----------------------------------------------------------------------


def fiche_avec(contrat=None, lignes=(), annee=2024, **fiche_kwargs):
    """A fiche with its funding lines: ``lignes`` = [(type_financeur, prevu, realise), …]."""
    fiche = FicheActionFactory(contrat=contrat or ContratFactory(), **fiche_kwargs)
    for type_financeur, prevu, realise in lignes:
        LigneFinancementFactory(
            fiche=fiche,
            annee=annee,
            type_financeur=type_financeur,
            financeur=OrganisationFactory() if type_financeur == TypeFinanceur.AUTRE else None,
            prevu=D(prevu),
            realise=None if realise is None else D(realise),
        )
    return fiche


ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lignes", "expected"),
    [
        pytest.param([(ETAT, "60000", None), (COLL, "60000", None)], [], id="exactly-50-50"),
        pytest.param([(ETAT, "60001", None), (COLL, "60000", None)], [], id="1-euro-over-tolerated"),
        pytest.param(
            [(ETAT, "60001.01", None), (COLL, "60000", None)],
            [f"Fiche A1-01, {depasse_collectivite('60 001,01', '60 000,00', '1,01')}"],
            id="1.01-over-rejected",
        ),
        pytest.param([(ETAT, "0", None), (COLL, "0", None)], [], id="zero-year"),
        pytest.param([], [], id="no-line-at-all"),
        pytest.param(
            [(ETAT, "1000", None)],
            [
                f"Fiche A1-01, {depasse_collectivite('1 000,00', '0,00', '1 000,00')}",
                f"Fiche A1-01, {depasse_taux('1 000,00', '50', '1 000,00', '500,00')}",
            ],
            id="missing-collectivite-funder",
        ),
        pytest.param([(ETAT, "50", None), (COLL, "50", None), (AUTRE, "100", None)], [], id="other-funder-on-top"),
        pytest.param(
            [(ETAT, "60", None), (COLL, "50", None), (AUTRE, "1000", None), (AUTRE, "1000", None)],
            [f"Fiche A1-01, {depasse_collectivite('60,00', '50,00', '10,00')}"],
            id="other-funders-never-count-in-the-state-half",
        ),
        pytest.param([(ETAT, "100", "500"), (COLL, "100", "0")], [], id="realise-is-not-checked-as-planned"),
    ],
)
def test_parite_violations_prevu(lignes, expected):
    fiche = fiche_avec(lignes=lignes, code="A1-01")
    assert parite_violations(FicheAction.objects.filter(pk=fiche.pk)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("lignes", "expected"),
    [
        pytest.param([(ETAT, "100", "50"), (COLL, "100", "50")], [], id="spent-50-50"),
        pytest.param([(ETAT, "100", None), (COLL, "100", None)], [], id="nothing-spent-yet"),
        pytest.param(
            [(ETAT, "100", "80"), (COLL, "100", "60")],
            [
                f"Fiche A1-01, {depasse_collectivite('80,00', '60,00', '20,00', part='réalisée')}",
                f"Fiche A1-01, {depasse_taux('80,00', '50', '140,00', '10,00', part=('réalisée', 'réalisé'))}",
            ],
            id="state-spent-more",
        ),
        pytest.param(
            [(ETAT, "100", "80"), (COLL, "200", None)],
            [
                f"Fiche A1-01, {depasse_collectivite('80,00', '0,00', '80,00', part='réalisée')}",
                f"Fiche A1-01, {depasse_taux('80,00', '50', '80,00', '40,00', part=('réalisée', 'réalisé'))}",
            ],
            id="collectivite-spending-not-reported",
        ),
        pytest.param([(ETAT, "500", "60"), (COLL, "100", "60")], [], id="planned-breach-is-not-a-spent-breach"),
    ],
)
def test_parite_violations_realise(lignes, expected):
    fiche = fiche_avec(lignes=lignes, code="A1-01")
    assert parite_violations(FicheAction.objects.filter(pk=fiche.pk), champ=REALISE) == expected


@pytest.mark.django_db
def test_parite_violations_per_year_and_per_fiche():
    contrat = ContratFactory()
    a = fiche_avec(contrat, [(ETAT, "100", None), (COLL, "100", None)], annee=2024, code="A1-01")
    for type_financeur, montant in ((ETAT, "300"), (COLL, "200")):
        LigneFinancementFactory(fiche=a, annee=2025, type_financeur=type_financeur, prevu=D(montant))
    fiche_avec(contrat, [(ETAT, "20", None), (COLL, "10", None)], code="A3-02", axe=axe(3))
    messages = parite_violations(FicheAction.objects.filter(contrat=contrat))
    assert messages == [
        "Fiche A1-01, 2025 : la part prévue de l'État (300,00\xa0€) dépasse celle du Département (200,00\xa0€) "
        "de 100,00\xa0€",
        "Fiche A1-01, 2025 : la part prévue de l'État (300,00\xa0€) dépasse 50\xa0% du coût total prévu "
        "(500,00\xa0€) de 50,00\xa0€",
        f"Fiche A3-02, {depasse_collectivite('20,00', '10,00', '10,00')}",
        f"Fiche A3-02, {depasse_taux('20,00', '50', '30,00', '5,00')}",
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        pytest.param("D05", "du Département", id="departement"),
        pytest.param("M-ROU", "de la Métropole", id="metropole"),
        pytest.param("M-LYO", "de la Métropole", id="metropole-de-lyon-statut-particulier"),
        pytest.param("M-AMI", "de la Métropole", id="invited-metropole"),
        pytest.param("CEA", "de la Collectivité", id="collectivite-europeenne-d-alsace"),
        pytest.param("CTM", "de la Collectivité", id="collectivite-territoriale-unique"),
        pytest.param("VILLE-PARIS", "de la Collectivité", id="paris"),
    ],
)
def test_parite_violations_name_the_party(code, expected):
    contrat = ContratFactory(collectivite=collectivite(code), type_contrat=TypeContrat.CLS_DEPARTEMENT)
    fiche = fiche_avec(contrat, [(ETAT, "200", None), (COLL, "100", None)], code="A1-01")
    (first, _) = parite_violations(FicheAction.objects.filter(pk=fiche.pk))
    assert first == f"Fiche A1-01, {depasse_collectivite('200,00', '100,00', '100,00', partie=expected)}"


def cdie_fiche(numero_volet, lignes):
    contrat = ContratFactory(cdie=True)
    volet = VoletFactory(contrat=contrat, numero=numero_volet) if numero_volet else None
    return fiche_avec(contrat, lignes, axe=axe(2), volet=volet, code="A2-01")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("volet", "lignes", "ok"),
    [
        pytest.param(1, [(ETAT, "100000", None)], True, id="volet-1-100-percent-state"),
        pytest.param(1, [(ETAT, "100000", None), (COLL, "1", None)], True, id="volet-1-no-parity"),
        pytest.param(2, [(ETAT, "100000", None)], False, id="volet-2-50-50"),
        pytest.param(2, [(ETAT, "50000", None), (COLL, "50000", None)], True, id="volet-2-50-50-ok"),
        pytest.param(None, [(ETAT, "100000", None)], False, id="no-volet-50-50"),
    ],
)
def test_cdie_volet_rules(volet, lignes, ok):
    fiche = cdie_fiche(volet, lignes)
    assert (parite_violations(FicheAction.objects.filter(pk=fiche.pk)) == []) is ok


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("change", "volet", "lignes", "expected_fragment"),
    [
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie", volet_numero=None).update(
                taux_etat_max=D("0.3")
            ),
            2,
            [(ETAT, "40", None), (COLL, "60", None)],
            "dépasse 30\xa0% du coût total prévu (100,00\xa0€) de 10,00\xa0€",
            id="volet-without-rule-follows-the-type-rule",
        ),
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie", volet_numero=None).update(
                taux_etat_max=D("0.3")
            ),
            1,
            [(ETAT, "100", None)],
            None,
            id="volet-rule-still-beats-the-changed-type-rule",
        ),
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie", volet_numero=1).update(
                taux_etat_max=D("0.8")
            ),
            1,
            [(ETAT, "100", None)],
            "dépasse 80\xa0% du coût total prévu (100,00\xa0€) de 20,00\xa0€",
            id="volet-rule-rate-is-read",
        ),
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie", volet_numero=1).update(
                contrepartie="collectivite"
            ),
            1,
            [(ETAT, "100", None), (COLL, "10", None)],
            "dépasse celle du Département (10,00\xa0€) de 90,00\xa0€",
            id="volet-rule-parity-switch-is-read",
        ),
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie").delete(),
            1,
            [(ETAT, "60", None), (COLL, "40", None)],
            "dépasse celle du Département (40,00\xa0€) de 20,00\xa0€",
            id="no-rule-at-all-default-50-50",
        ),
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie", volet_numero=None).update(tolerance=D("5")),
            2,
            [(ETAT, "55", None), (COLL, "50", None)],
            None,
            id="tolerance-is-read",
        ),
        pytest.param(
            lambda: RegleCofinancement.objects.filter(type_contrat="cdie", volet_numero=None).update(tolerance=D("5")),
            2,
            [(ETAT, "55.01", None), (COLL, "50", None)],
            "dépasse celle du Département (50,00\xa0€) de 5,01\xa0€",
            id="tolerance-is-read-edge",
        ),
    ],
)
def test_configured_rules_are_applied(change, volet, lignes, expected_fragment):
    change()
    fiche = cdie_fiche(volet, lignes)
    messages = parite_violations(FicheAction.objects.filter(pk=fiche.pk))
    if expected_fragment is None:
        assert messages == []
    else:
        assert messages
        assert any(expected_fragment in m for m in messages), messages


@pytest.mark.django_db
def test_cls_type_rule_rate_is_read():
    RegleCofinancement.objects.filter(type_contrat="cls_departement", volet_numero=None).update(taux_etat_max=D("0.3"))
    fiche = fiche_avec(lignes=[(ETAT, "40", None), (COLL, "60", None)], code="A1-01")
    assert parite_violations(FicheAction.objects.filter(pk=fiche.pk)) == [
        f"Fiche A1-01, {depasse_taux('40,00', '30', '100,00', '10,00')}"
    ]


# --- Annual ceiling, pure function --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("etat", "plafond", "expected"),
    [
        pytest.param("100000", "100000", [], id="equal"),
        pytest.param("99999.99", "100000", [], id="under"),
        pytest.param(
            "100000.01",
            "100000",
            [
                "2024 : les parts prévues de l'État (100\xa0000,01\xa0€) dépassent l'enveloppe annuelle "
                "(100\xa0000,00\xa0€) de 0,01\xa0€"
            ],
            id="one-cent-over",
        ),
        pytest.param("0", None, [], id="zero-without-ceiling"),
        pytest.param(
            "0.01",
            None,
            ["2024 : aucune enveloppe de l'État n'est fixée pour 0,01\xa0€ de parts prévues"],
            id="money-without-ceiling",
        ),
        pytest.param(
            "1",
            "0",
            ["2024 : les parts prévues de l'État (1,00\xa0€) dépassent l'enveloppe annuelle (0,00\xa0€) de 1,00\xa0€"],
            id="zero-ceiling-no-tolerance",
        ),
        pytest.param("0", "0", [], id="zero-ceiling-zero-money"),
    ],
)
def test_plafond_messages(etat, plafond, expected):
    assert plafond_messages(annee=2024, etat=D(etat), plafond=None if plafond is None else D(plafond)) == expected


def test_plafond_messages_name_the_volet():
    assert plafond_messages(annee=2024, etat=D("2"), plafond=D("1"), libelle=", volet 2") == [
        "2024, volet 2 : les parts prévues de l'État (2,00\xa0€) dépassent l'enveloppe annuelle (1,00\xa0€) "
        "de 1,00\xa0€"
    ]


# --- Annual ceiling through the database --------------------------------------------------------------


def cls_avec_etat(parts, plafonds, statuts=None):
    """A CLS whose fiches have State shares ``parts`` = {(axe, annee): montant}, ceilings {annee: montant}."""
    contrat = ContratFactory()
    statuts = statuts or {}
    fiches = {}
    for (numero, annee), montant in parts.items():
        if numero not in fiches:
            fiches[numero] = FicheActionFactory(
                contrat=contrat, axe=axe(numero), code=f"A{numero}-01", statut=statuts.get(numero, StatutFiche.VALIDEE)
            )
        LigneFinancementFactory(fiche=fiches[numero], annee=annee, type_financeur=ETAT, prevu=D(montant))
        LigneFinancementFactory(fiche=fiches[numero], annee=annee, type_financeur=COLL, prevu=D(montant) * 10)
    for annee, montant in plafonds.items():
        PlafondFactory(contrat=contrat, annee=annee, montant=D(montant))
    return contrat


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parts", "plafonds", "statuts", "expected"),
    [
        pytest.param({(1, 2024): "60000", (3, 2024): "40000"}, {2024: "100000"}, {}, [], id="equal"),
        pytest.param(
            {(1, 2024): "60000", (3, 2024): "40000.01"},
            {2024: "100000"},
            {},
            [
                "2024 : les parts prévues de l'État (100\xa0000,01\xa0€) dépassent l'enveloppe annuelle "
                "(100\xa0000,00\xa0€) de 0,01\xa0€"
            ],
            id="one-cent-over",
        ),
        pytest.param(
            {(1, 2024): "10", (1, 2025): "10"},
            {2024: "100"},
            {},
            ["2025 : aucune enveloppe de l'État n'est fixée pour 10,00\xa0€ de parts prévues"],
            id="no-ceiling-for-a-year-with-state-money",
        ),
        pytest.param({(1, 2024): "10", (1, 2025): "0"}, {2024: "100"}, {}, [], id="zero-year-without-ceiling"),
        pytest.param({}, {2024: "100"}, {}, [], id="ceiling-without-money"),
        pytest.param(
            {(1, 2024): "60000", (3, 2024): "50000"},
            {2024: "100000"},
            {3: StatutFiche.ABANDONNEE},
            [],
            id="abandoned-fiches-excluded",
        ),
        pytest.param(
            {(1, 2024): "60000", (3, 2024): "50000"},
            {2024: "100000"},
            {3: StatutFiche.PROPOSEE},
            [
                "2024 : les parts prévues de l'État (110\xa0000,00\xa0€) dépassent l'enveloppe annuelle "
                "(100\xa0000,00\xa0€) de 10\xa0000,00\xa0€"
            ],
            id="proposed-fiches-count",
        ),
        pytest.param(
            {(1, 2024): "90000", (3, 2024): "5000", (4, 2024): "5000"},
            {2024: "100000"},
            {},
            [],
            id="fungible-between-axes",
        ),
        pytest.param(
            {(1, 2024): "100000", (1, 2025): "100000"},
            {2024: "150000", 2025: "50000"},
            {},
            [
                "2025 : les parts prévues de l'État (100\xa0000,00\xa0€) dépassent l'enveloppe annuelle "
                "(50\xa0000,00\xa0€) de 50\xa0000,00\xa0€"
            ],
            id="no-transfer-between-years",
        ),
    ],
)
def test_plafond_violations(parts, plafonds, statuts, expected):
    contrat = cls_avec_etat(parts, plafonds, statuts)
    assert plafond_violations(contrat) == expected


def cdie_avec_volets(parts, plafonds_volet, plafond_contrat=None, hors_volet="0"):
    """A CDIE with volets 1 and 2: ``parts`` = {volet: State share 2024}, ceilings per volet / contract."""
    contrat = ContratFactory(cdie=True)
    volets = {n: VoletFactory(contrat=contrat, numero=n, intitule=f"Volet {n}") for n in (1, 2)}
    for numero, montant in parts.items():
        fiche = FicheActionFactory(contrat=contrat, axe=axe(2), volet=volets[numero], code=f"A2-0{numero}")
        LigneFinancementFactory(fiche=fiche, type_financeur=ETAT, prevu=D(montant))
    if hors_volet != "0":
        fiche = FicheActionFactory(contrat=contrat, axe=axe(2), code="A2-09")
        LigneFinancementFactory(fiche=fiche, type_financeur=ETAT, prevu=D(hors_volet))
    for numero, montant in plafonds_volet.items():
        PlafondFactory(contrat=contrat, volet=volets[numero], montant=D(montant))
    if plafond_contrat is not None:
        PlafondFactory(contrat=contrat, montant=D(plafond_contrat))
    return contrat


def volet_over(numero, etat, plafond, ecart):
    return (
        f"2024, volet {numero} : les parts prévues de l'État ({eur(etat)}) dépassent l'enveloppe annuelle "
        f"({eur(plafond)}) de {eur(ecart)}"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("parts", "plafonds_volet", "plafond_contrat", "hors_volet", "expected"),
    [
        pytest.param({1: "100", 2: "100"}, {1: "100", 2: "100"}, None, "0", [], id="each-volet-at-its-ceiling"),
        pytest.param(
            {1: "150", 2: "30"},
            {1: "100", 2: "100"},
            None,
            "0",
            [volet_over(1, "150,00", "100,00", "50,00")],
            id="volets-not-fungible",
        ),
        pytest.param(
            {1: "150", 2: "30"},
            {1: "100", 2: "100"},
            "200",
            "0",
            [volet_over(1, "150,00", "100,00", "50,00")],
            id="volets-not-fungible-even-under-a-contract-ceiling",
        ),
        pytest.param(
            {1: "100.01", 2: "0"},
            {1: "100"},
            None,
            "0",
            [volet_over(1, "100,01", "100,00", "0,01")],
            id="volet-one-cent-over",
        ),
        pytest.param(
            {1: "50", 2: "50"},
            {1: "100"},
            None,
            "0",
            ["2024, volet 2 : aucune enveloppe de l'État n'est fixée pour 50,00\xa0€ de parts prévues"],
            id="volet-without-its-ceiling",
        ),
        pytest.param(
            {1: "50", 2: "50"},
            {1: "100"},
            "80",
            "0",
            [
                "2024 : les parts prévues de l'État (100,00\xa0€) dépassent l'enveloppe annuelle (80,00\xa0€) "
                "de 20,00\xa0€"
            ],
            id="volet-without-ceiling-uses-the-contract-ceiling",
        ),
        pytest.param(
            {1: "50"},
            {1: "100"},
            None,
            "10",
            ["2024, hors volets : aucune enveloppe de l'État n'est fixée pour 10,00\xa0€ de parts prévues"],
            id="money-outside-the-volets",
        ),
        pytest.param({1: "150", 2: "30"}, {}, "180", "0", [], id="no-volet-ceiling-contract-ceiling-fungible"),
    ],
)
def test_plafond_violations_volets(parts, plafonds_volet, plafond_contrat, hors_volet, expected):
    contrat = cdie_avec_volets(parts, plafonds_volet, plafond_contrat, hors_volet)
    assert plafond_violations(contrat) == expected


@pytest.mark.django_db
def test_plafond_violations_ignore_other_contracts():
    contrat = cls_avec_etat({(1, 2024): "100"}, {2024: "100"})
    other = cls_avec_etat({(1, 2024): "500"}, {2024: "500"})
    assert plafond_violations(contrat) == []
    assert plafond_violations(other) == []


@pytest.mark.django_db
def test_plafond_violations_ignore_other_funders():
    contrat = cls_avec_etat({(1, 2024): "100"}, {2024: "100"})
    fiche = contrat.fiches.get()
    LigneFinancementFactory(fiche=fiche, type_financeur=AUTRE, financeur=OrganisationFactory(), prevu=D("1000"))
    assert plafond_violations(contrat) == []
