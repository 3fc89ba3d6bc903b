"""The demo's money is calibrated on the published figures (``demo.builder.calibrage``).

The national seed runs once for the module (it is rolled back at the end); every sum is done by the
database, on the State's planned 2024 amounts of the active fiches, as the consolidation does.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction
from contrats.enums import STATUTS_FIGES, TypeContrat
from contrats.models import Contrat
from demo.builder import DemoBuilder
from demo.builder.calibrage import (
    NATIONAL,
    OCCITANIE,
    OCCITANIE_PAR_AXE,
    OCCITANIE_PAR_FAMILLE,
    allocate,
    contrepartie_requise,
    round_to,
)
from financement.enums import Contrepartie, TypeFinanceur
from financement.models import LigneFinancement
from financement.regles import Regle, parite_violations, plafond_violations

MILLION = Decimal("1000000")


@pytest.fixture(scope="module")
def national(django_db_setup, django_db_blocker):
    """``seed_demo --scale national`` with the default seed, once; undone after the module's tests."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", scale="national", stdout=io.StringIO())
        yield
        transaction.set_rollback(True)


def etat_2024(**filters) -> Decimal:
    """The State's planned 2024 money of the active fiches matching ``filters``, summed by the database."""
    return LigneFinancement.objects.filter(
        type_financeur=TypeFinanceur.ETAT, annee=2024, fiche__statut__in=STATUTS_ACTIFS, **filters
    ).aggregate(s=Coalesce(Sum("prevu"), Value(Decimal("0")), output_field=DecimalField()))["s"]


def within(amount: Decimal, target: Decimal, tolerance: str) -> bool:
    return abs(amount - target) <= target * Decimal(tolerance)


# -- the published figures on the national seed


@pytest.mark.parametrize(("axe", "millions"), [(1, "2.6"), (2, "10.9"), (3, "3.3"), (4, "3.8")])
def test_occitanie_2024_by_axis(national, db, axe, millions):
    amount = etat_2024(fiche__contrat__collectivite__region__code="76", fiche__axe__numero=axe)
    assert within(amount, Decimal(millions) * MILLION, "0.01"), amount


def test_occitanie_2024_in_all_and_axis_2_mostly_cdie(national, db):
    total = etat_2024(fiche__contrat__collectivite__region__code="76")
    assert within(total, Decimal("20.6") * MILLION, "0.01"), total
    axe2 = etat_2024(fiche__contrat__collectivite__region__code="76", fiche__axe__numero=2)
    cdie = etat_2024(fiche__contrat__collectivite__region__code="76", fiche__contrat__type_contrat=TypeContrat.CDIE)
    assert cdie > axe2 * Decimal("0.8"), (cdie, axe2)


@pytest.mark.parametrize(
    ("types", "millions"),
    [
        ([TypeContrat.CLS_DEPARTEMENT, TypeContrat.CLS_METROPOLE], "90"),
        ([TypeContrat.CDIE], "170"),
        (list(TypeContrat.values), "260"),
    ],
)
def test_national_2024(national, db, types, millions):
    amount = etat_2024(fiche__contrat__type_contrat__in=types)
    assert within(amount, Decimal(millions) * MILLION, "0.05"), amount


def test_planned_amounts_are_whole_hundreds(national, db):
    """Calibrated planned amounts are rounded to 100 € (the remainder went to the largest lines)."""
    prevus = set(LigneFinancement.objects.values_list("prevu", flat=True))
    assert prevus and all(p > 0 and p % 100 == 0 and p == p.quantize(Decimal("0.01")) for p in prevus)


def test_every_signed_contract_keeps_parity_and_ceilings(national, db):
    """Calibration scales every line of an action by the same factor and restores the counterparts: the
    rules still hold for every signed contract of France."""
    signes = Contrat.objects.filter(statut__in=STATUTS_FIGES)
    assert signes.count() > 150
    assert parite_violations(FicheAction.objects.filter(contrat__in=signes, statut__in=STATUTS_ACTIFS)) == []
    for contrat in signes:
        assert plafond_violations(contrat) == [], contrat.reference


def test_pactes_locaux_are_calibrated_only_in_occitanie(national, db):
    """Outside Occitanie a pacte local keeps its raw amounts: a few million euros nationally."""
    cpt = etat_2024(fiche__contrat__type_contrat=TypeContrat.CPT)
    assert Decimal("1") * MILLION < cpt < Decimal("10") * MILLION, cpt
    sans_etat = FicheAction.objects.filter(contrat__type_contrat=TypeContrat.CPT).exclude(
        Q(financements__type_financeur=TypeFinanceur.ETAT)
    )
    assert sans_etat.exists()  # some priority actions are funded by the partners alone


# -- the targets


@pytest.mark.parametrize("scale", ["region", "national"])
def test_targets_do_not_depend_on_the_scale(db, scale):
    builder = DemoBuilder(scale=scale, region=OCCITANIE)
    builder.load_reference()
    targets = builder.cibles()
    assert {k: v for k, v in targets.items() if k[0] == OCCITANIE} == {
        (OCCITANIE, f"axe {n}"): v for n, v in OCCITANIE_PAR_AXE.items()
    }
    for famille, national in NATIONAL.items():
        autres = sum(v for (region, key), v in targets.items() if key == famille)
        assert autres + OCCITANIE_PAR_FAMILLE[famille] == national
    assert len({region for region, _ in targets}) == 18
    assert all(v > 0 and v % 100 == 0 for v in targets.values())


# -- the rounding and the counterparts, as tables


@pytest.mark.parametrize(
    ("target", "weights", "expected"),
    [
        ("1000", ["1", "1"], ["500", "500"]),
        ("1000", ["1", "1", "1"], ["400", "300", "300"]),  # 333,33 → 300 each, 100 more to the first largest
        ("1000", ["1", "2", "2"], ["200", "400", "400"]),
        ("1000", ["1", "1", "2"], ["300", "300", "400"]),  # 250 rounds half up to 300: 100 taken from the largest
        ("300", ["1", "1", "1", "1"], ["0", "100", "100", "100"]),  # 75 → 100 each, 100 too much
        ("200", ["1", "1", "1", "1"], ["0", "0", "100", "100"]),  # 50 rounds half up: 200 too much
        ("100", ["5"], ["100"]),
        ("12300", ["0", "2", "1"], ["0", "8200", "4100"]),
        ("0", ["1", "3"], ["0", "0"]),
        ("20600000", ["3427400", "16576600"], ["3529500", "17070500"]),
    ],
)
def test_allocate(target, weights, expected):
    shares = allocate(Decimal(target), [Decimal(w) for w in weights])
    assert shares == [Decimal(e) for e in expected]
    assert sum(shares) == Decimal(target)


@pytest.mark.parametrize("weights", [[], ["0"], ["0", "0"]])
def test_allocate_refuses_no_weight(weights):
    with pytest.raises(ValueError, match="Aucun poids positif"):
        allocate(Decimal("100"), [Decimal(w) for w in weights])


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("149.99", "100.00"), ("150", "200.00"), ("0", "0.00"), ("49.99", "0.00"), ("1234567.5", "1234600.00")],
)
def test_round_to(amount, expected):
    assert round_to(Decimal(amount)) == Decimal(expected)


CLS = Regle(Decimal("0.5"), Contrepartie.COLLECTIVITE, Decimal("1.00"))
COFINANCEURS = Regle(Decimal("0.5"), Contrepartie.COFINANCEURS, Decimal("1.00"))
CPT = Regle(Decimal("1"), Contrepartie.AUCUNE, Decimal("1.00"))
TAUX_80 = Regle(Decimal("0.8"), Contrepartie.AUCUNE, Decimal("1.00"))
JAMAIS_SEUL = Regle(Decimal("1"), Contrepartie.AUCUNE, Decimal("1.00"), etat_seul=False)


@pytest.mark.parametrize(
    ("regle", "etat", "autres", "expected"),
    [
        (CLS, "1000", "0", "1000"),  # exactly as much as the State
        (CLS, "1000", "5000", "1000"),  # other funders do not count in the collectivité's half
        (CLS, "0", "0", "0"),
        (COFINANCEURS, "1000", "400", "600"),
        (COFINANCEURS, "1000", "1500", "0"),
        (CPT, "1000", "0", "0"),  # a pacte local: no counterpart
        (TAUX_80, "800", "0", "200"),  # 80 % of 1 000
        (TAUX_80, "800", "300", "0"),
        (JAMAIS_SEUL, "1000", "0", "100"),  # someone else must put in something
        (JAMAIS_SEUL, "1000", "1", "0"),
        (JAMAIS_SEUL, "0", "0", "0"),
    ],
)
def test_contrepartie_requise(regle, etat, autres, expected):
    assert contrepartie_requise(regle, Decimal(etat), Decimal(autres)) == Decimal(expected)
