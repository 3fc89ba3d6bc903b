"""Totals by place in the reference list (``financement.selectors.totaux_par_rattachement``): national
measures, objectives alone and local measures kept apart, sums done by the database in one query."""

from collections import defaultdict
from datetime import date
from decimal import Decimal

import pytest

from actions.enums import NatureAction
from actions.services import fiche_create
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from financement.selectors import (
    MESURE_LOCALE,
    MESURE_NATIONALE,
    NON_RATTACHEE,
    OBJECTIF_SEUL,
    rattachement,
    totaux_par_rattachement,
)
from pacte.models import Mesure, Objectif
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    axe,
    collectivite,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE

# key: (contract, code, axis, national measure, objective, local measure). Written through the services, except
# "legacy": a fiche with a measure and no objective, as rows written before objectives existed.
FICHES = {
    "nat-1.2": ("D05", "A1-01", 1, "1.2", None, ""),
    "nat-1.1": ("D05", "A1-02", 1, "1.1", None, ""),
    "obj-O1-2": ("D05", "A1-03", 1, None, "O1-2", ""),
    "loc-O1-1": ("D05", "A1-04", 1, None, "O1-1", "Maison des familles"),
    "loc-none": ("D05", "A3-01", 3, None, None, "Bus solidaire"),
    "nothing": ("D05", "A4-01", 4, None, None, ""),
    "legacy": ("D05", "A1-05", 1, "1.2", None, ""),
    "loc-other-contract": ("D69", "A1-01", 1, None, "O1-1", "Maison des familles"),
}

# fiche, year, funder, planned, spent (None: not entered)
LIGNES = [
    ("nat-1.2", 2024, ETAT, "10000", "9000"),
    ("nat-1.2", 2024, COLL, "10000", "10000"),
    ("nat-1.2", 2025, ETAT, "5000", None),
    ("nat-1.2", 2025, COLL, "6000", None),
    ("nat-1.2", 2025, AUTRE, "1000", "250.50"),
    ("nat-1.1", 2024, ETAT, "2000", "2000"),
    ("obj-O1-2", 2024, ETAT, "3000", None),
    ("obj-O1-2", 2024, COLL, "3000.01", None),
    ("loc-O1-1", 2024, ETAT, "4000", "1000"),
    ("loc-O1-1", 2025, ETAT, "4000", None),
    ("loc-O1-1", 2025, COLL, "4000", None),
    ("loc-none", 2025, ETAT, "700", "0"),
    ("nothing", 2024, ETAT, "100", None),
    ("nothing", 2024, COLL, "50", None),
    ("nothing", 2026, COLL, "0", None),
    ("legacy", 2024, ETAT, "1", None),
    ("loc-other-contract", 2024, ETAT, "500", "500"),
]


def _build():
    contrats = {
        "D05": ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05"),
        "D69": ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69"),
    }
    partenaire = OrganisationFactory(nom="CAF")
    fiches = {}
    for key, (contrat, code, numero, mesure, objectif, locale) in FICHES.items():
        fields = {
            "intitule": key,
            "axe": axe(numero),
            "nature": NatureAction.NOUVELLE,
            "porteur": partenaire,
            "date_debut": date(2024, 1, 1),
            "date_fin": date(2027, 12, 31),
            "mesure": Mesure.objects.get(code=mesure) if mesure else None,
            "objectif": Objectif.objects.get(code=objectif) if objectif else None,
            "mesure_locale": locale,
        }
        if key == "legacy":
            fiches[key] = FicheActionFactory(contrat=contrats[contrat], code=code, **fields)
            assert fiches[key].objectif_id is None
        else:
            fiches[key] = fiche_create(contrat=contrats[contrat], code=code, **fields)
    for key, annee, financeur, prevu, realise in LIGNES:
        LigneFinancementFactory(
            fiche=fiches[key],
            annee=annee,
            type_financeur=financeur,
            financeur=partenaire if financeur == AUTRE else None,
            prevu=D(prevu),
            realise=None if realise is None else D(realise),
        )
    return contrats


def _rows(totaux):
    return [(t.axe, t.objectif, t.mesure, t.mesure_locale, t.rattachement, t.etat, t.total) for t in totaux]


EXPECTED_PREVU = [
    # axis, objective, national measure, local measure, attachment, State, total
    (1, "O1-1", "1.1", "", MESURE_NATIONALE, D("2000"), D("2000")),
    (1, "O1-1", "1.2", "", MESURE_NATIONALE, D("15001"), D("32001")),
    (1, "O1-1", None, "Maison des familles", MESURE_LOCALE, D("8500"), D("12500")),
    (1, "O1-2", None, "", OBJECTIF_SEUL, D("3000"), D("6000.01")),
    (3, None, None, "Bus solidaire", MESURE_LOCALE, D("700"), D("700")),
    (4, None, None, "", NON_RATTACHEE, D("100"), D("150")),
]


def test_totals_keep_measures_objectives_and_local_measures_apart(django_assert_num_queries):
    _build()
    with django_assert_num_queries(1):
        totaux = totaux_par_rattachement(LigneFinancement.objects.all())
    assert _rows(totaux) == EXPECTED_PREVU


@pytest.mark.parametrize("champ", ["prevu", "realise"])
def test_totals_equal_the_sums_of_the_lines(champ):
    _build()
    totaux = totaux_par_rattachement(LigneFinancement.objects.all(), champ=champ)
    lines = list(LigneFinancement.objects.select_related("fiche__mesure", "fiche__objectif"))
    assert len(lines) == len(LIGNES)
    etat, total = defaultdict(Decimal), defaultdict(Decimal)
    for line in lines:
        fiche = line.fiche
        objectif = fiche.objectif or (fiche.mesure.objectif if fiche.mesure else None)
        key = (fiche.axe.numero, objectif.code if objectif else None, fiche.mesure.code if fiche.mesure else None)
        key = (*key, fiche.mesure_locale)
        amount = getattr(line, champ) or D("0")
        total[key] += amount
        if line.type_financeur == ETAT:
            etat[key] += amount
    assert {(t.axe, t.objectif, t.mesure, t.mesure_locale): (t.etat, t.total) for t in totaux} == {
        key: (etat[key], total[key]) for key in total
    }
    assert sum(t.total for t in totaux) == sum((getattr(line, champ) or D("0")) for line in lines)


@pytest.mark.parametrize(
    ("filtre", "expected"),
    [
        pytest.param(
            {"annee": 2025},
            [
                (1, "O1-1", "1.2", "", MESURE_NATIONALE, D("5000"), D("12000")),
                (1, "O1-1", None, "Maison des familles", MESURE_LOCALE, D("4000"), D("8000")),
                (3, None, None, "Bus solidaire", MESURE_LOCALE, D("700"), D("700")),
            ],
            id="one-year",
        ),
        pytest.param(
            {"fiche__contrat__reference": "CLS-2024-D69"},
            [(1, "O1-1", None, "Maison des familles", MESURE_LOCALE, D("500"), D("500"))],
            id="one-contract",
        ),
        pytest.param({"annee": 2027}, [], id="no-line"),
        pytest.param(
            {"annee": 2026},
            [(4, None, None, "", NON_RATTACHEE, D("0"), D("0"))],
            id="a-zero-line",
        ),
    ],
)
def test_totals_of_the_lines_given(filtre, expected):
    _build()
    assert _rows(totaux_par_rattachement(LigneFinancement.objects.filter(**filtre))) == expected


def test_realise_not_entered_counts_zero():
    _build()
    rows = {
        (t.objectif, t.mesure, t.mesure_locale): (t.etat, t.total)
        for t in totaux_par_rattachement(LigneFinancement.objects.all(), champ="realise")
    }
    assert rows[("O1-1", "1.2", "")] == (D("9000"), D("19250.50"))
    assert rows[("O1-2", None, "")] == (D("0"), D("0"))  # the objective alone: nothing spent yet, still shown
    assert rows[(None, None, "Bus solidaire")] == (D("0"), D("0"))


@pytest.mark.parametrize("fois", [1, 10])
def test_one_query_whatever_the_number_of_fiches(django_assert_num_queries, fois):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    for n in range(fois * 4):
        numero = (1, 3, 4)[n % 3]
        fiche = FicheActionFactory(
            contrat=contrat,
            code=f"A{numero}-{n + 1}",
            axe=axe(numero),
            mesure_locale=f"Action locale {n % 5}" if n % 2 else "",
            objectif=Objectif.objects.filter(axe__numero=numero).first() if n % 3 == 0 else None,
        )
        LigneFinancementFactory(fiche=fiche, annee=2024, prevu=D("10"))
    with django_assert_num_queries(1):
        totaux = totaux_par_rattachement(LigneFinancement.objects.all())
    assert sum(t.total for t in totaux) == D("10") * fois * 4


@pytest.mark.parametrize(
    ("mesure", "mesure_locale", "objectif", "expected"),
    [
        ("1.2", "", "O1-1", MESURE_NATIONALE),
        ("1.2", "", None, MESURE_NATIONALE),
        (None, "Maison des familles", "O1-1", MESURE_LOCALE),
        (None, "Maison des familles", None, MESURE_LOCALE),
        (None, "", "O1-2", OBJECTIF_SEUL),
        (None, "", None, NON_RATTACHEE),
    ],
)
def test_rattachement(mesure, mesure_locale, objectif, expected):
    assert rattachement(mesure=mesure, mesure_locale=mesure_locale, objectif=objectif) == expected


@pytest.mark.parametrize("champ", ["engage", "realise", "prevu"])
def test_every_amount_can_be_summed(champ):
    assert totaux_par_rattachement(LigneFinancement.objects.all(), champ=champ) == []


@pytest.mark.parametrize("champ", ["montant", "prevu; DROP TABLE", ""])
def test_an_unknown_amount_is_refused(champ):
    with pytest.raises(ValueError, match="Montant inconnu"):
        totaux_par_rattachement(LigneFinancement.objects.all(), champ=champ)
