"""Writes on money (docs/regles.md-§6) through ``financement.services``: amounts, blocking and warning
checks, payments, reliquats and annual reports, as tables of cases."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from actions.enums import StatutFiche
from actions.services import fiche_transition
from contrats.enums import STATUTS_FIGES, PartieSignataire, StatutContrat
from contrats.services import contrat_sign, contrat_transition
from financement.enums import TRANSITIONS_RAPPORT, DecisionReliquat, StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from financement.services import (
    alertes_realise,
    date_limite_rapport,
    ligne_financement_set,
    plafond_set,
    rapport_create,
    rapport_transition,
    reliquat_compute,
    reliquat_decide,
    versement_create,
)
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    VersementFactory,
    VoletFactory,
    axe,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
SIGNE_LE = date(2024, 3, 15)


def contrat_en(statut=StatutContrat.EN_NEGOCIATION, **kwargs):
    if statut in STATUTS_FIGES:
        kwargs.setdefault("date_signature", SIGNE_LE)
    return ContratFactory(statut=statut, reference="CLS-2024-D05", **kwargs)


def fiche_de(contrat, statut=StatutFiche.VALIDEE, code="A1-01", **kwargs):
    return FicheActionFactory(contrat=contrat, statut=statut, code=code, axe=axe(int(code[1])), **kwargs)


# --- Amounts: Decimal to the cent, never float, never negative, within the contract's years --------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(D("1234.5"), D("1234.50"), id="decimal"),
        pytest.param(D("1234.50"), D("1234.50"), id="decimal-cents"),
        pytest.param(D("1234.500"), D("1234.50"), id="trailing-zero-is-still-a-cent"),
        pytest.param("1234.56", D("1234.56"), id="string"),
        pytest.param(1234, D("1234.00"), id="int"),
        pytest.param(D("0"), D("0.00"), id="zero"),
        pytest.param(D("100000000.00"), D("100000000.00"), id="largest"),
    ],
)
def test_amount_accepted(value, expected):
    fiche = fiche_de(contrat_en())
    ligne = ligne_financement_set(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=value)
    ligne.refresh_from_db()
    assert ligne.prevu == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(1234.5, "Les montants sont des décimaux, jamais des flottants.", id="float"),
        pytest.param(0.0, "Les montants sont des décimaux, jamais des flottants.", id="float-zero"),
        pytest.param(D("10.001"), "10.001 : un montant s'exprime au centime près.", id="three-decimals"),
        pytest.param("0.005", "0.005 : un montant s'exprime au centime près.", id="half-cent"),
        pytest.param(D("-0.01"), "Le montant ne peut pas être négatif (-0,01\xa0€).", id="negative-cent"),
        pytest.param("-100", "Le montant ne peut pas être négatif (-100,00\xa0€).", id="negative"),
        pytest.param("abc", "« abc » n'est pas un montant.", id="not-a-number"),
        pytest.param("12,50", "« 12,50 » n'est pas un montant.", id="french-comma"),
        pytest.param("NaN", "« NaN » n'est pas un montant.", id="nan"),
        pytest.param("Infinity", "« Infinity » n'est pas un montant.", id="infinity"),
        pytest.param(D("-Infinity"), "« -Infinity » n'est pas un montant.", id="minus-infinity"),
        pytest.param(D("1E+30"), "« 1E+30 » n'est pas un montant.", id="absurd-magnitude"),
        pytest.param(
            D("100000000.01"),
            "Le montant 100\xa0000\xa0000,01\xa0€ dépasse le maximum autorisé (100\xa0000\xa0000,00\xa0€).",
            id="too-big",
        ),
    ],
)
@pytest.mark.parametrize("champ", ["prevu", "engage", "realise"])
def test_amount_refused(value, message, champ):
    fiche = fiche_de(contrat_en())
    with pytest.raises(ValidationError) as exc:
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=ETAT, **{champ: value})
    assert exc.value.message_dict == {champ: [message]}
    assert not LigneFinancement.objects.exists()


@pytest.mark.parametrize(
    ("champ", "ok"), [pytest.param("prevu", False, id="prevu"), pytest.param("engage", True, id="engage")]
)
def test_none_amount(champ, ok):
    """A planned amount is required (0 when nothing is planned); committed and spent may be unknown."""
    ligne = LigneFinancementFactory(fiche=fiche_de(contrat_en()), engage=D("5"), realise=D("5"))
    if ok:
        ligne_financement_set(fiche=ligne.fiche, annee=2024, type_financeur=ETAT, **{champ: None})
        ligne.refresh_from_db()
        assert getattr(ligne, champ) is None
        return
    with pytest.raises(ValidationError) as exc:
        ligne_financement_set(fiche=ligne.fiche, annee=2024, type_financeur=ETAT, **{champ: None})
    assert exc.value.message_dict == {"prevu": ["Le montant prévu est obligatoire (0 si rien n'est prévu)."]}


@pytest.mark.parametrize(
    ("annee", "ok"),
    [
        pytest.param(2023, False, id="year-before"),
        pytest.param(2024, True, id="first-year"),
        pytest.param(2027, True, id="last-year"),
        pytest.param(2028, False, id="year-after"),
    ],
)
@pytest.mark.parametrize("service", ["ligne", "plafond"])
def test_year_within_the_contract_period(annee, ok, service):
    contrat = contrat_en()
    fiche = fiche_de(contrat)

    def write():
        if service == "ligne":
            return ligne_financement_set(fiche=fiche, annee=annee, type_financeur=ETAT, prevu=D("1"))
        return plafond_set(contrat=contrat, annee=annee, montant=D("1"))

    if ok:
        assert write().annee == annee
        return
    with pytest.raises(ValidationError) as exc:
        write()
    assert exc.value.message_dict == {"annee": [f"{annee} est hors de la période du contrat CLS-2024-D05 (2024-2027)."]}
    assert not LigneFinancement.objects.exists() and not Plafond.objects.exists()


@pytest.mark.parametrize(
    ("type_financeur", "with_financeur", "ok"),
    [
        pytest.param(ETAT, False, True, id="state"),
        pytest.param(COLL, False, True, id="collectivite"),
        pytest.param(AUTRE, True, True, id="other-named"),
        pytest.param(AUTRE, False, False, id="other-unnamed"),
        pytest.param(ETAT, True, False, id="state-named"),
    ],
)
def test_other_funders_are_named(type_financeur, with_financeur, ok):
    fiche = fiche_de(contrat_en())
    kwargs = {"financeur": OrganisationFactory(nom="CAF")} if with_financeur else {}
    if ok:
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=type_financeur, prevu=D("1"), **kwargs)
        assert LigneFinancement.objects.count() == 1
        return
    with pytest.raises(ValidationError, match="Un autre financeur doit être nommé ; l'État et la collectivité ne"):
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=type_financeur, prevu=D("1"), **kwargs)


def test_ligne_financement_set_updates_one_line_per_funder_and_year():
    fiche = fiche_de(contrat_en())
    caf, cpam = OrganisationFactory(nom="CAF"), OrganisationFactory(nom="CPAM")
    for _ in range(2):
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("10"))
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=AUTRE, financeur=caf, prevu=D("20"))
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=AUTRE, financeur=cpam, prevu=D("30"))
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=ETAT, engage=D("8"))
    assert sorted(LigneFinancement.objects.values_list("type_financeur", "prevu", "engage")) == [
        (AUTRE, D("20"), None),
        (AUTRE, D("30"), None),
        (ETAT, D("10"), D("8")),
    ]


def test_plafond_set_volet_of_another_contract():
    contrat = ContratFactory(cdie=True)
    with pytest.raises(ValidationError) as exc:
        plafond_set(contrat=contrat, annee=2024, montant=D("1"), volet=VoletFactory())
    assert exc.value.message_dict == {"volet": ["Ce volet appartient à un autre contrat."]}


def test_plafond_set_per_volet_and_contract():
    contrat = ContratFactory(cdie=True)
    volet = VoletFactory(contrat=contrat)
    plafond_set(contrat=contrat, annee=2024, montant=D("100"))
    plafond_set(contrat=contrat, annee=2024, montant=D("40"), volet=volet)
    plafond_set(contrat=contrat, annee=2024, montant=D("50"), volet=volet)
    assert sorted(Plafond.objects.values_list("volet__numero", "montant"), key=str) == [(1, D("50")), (None, D("100"))]


# --- Parity and ceilings block validation and signature ---------------------------------------------------

BLOCKING_CASES = [
    pytest.param({ETAT: "50000", COLL: "50000"}, None, id="exactly-50-50"),
    pytest.param({ETAT: "50001", COLL: "50000"}, None, id="1-euro-over-tolerated"),
    pytest.param(
        {ETAT: "50001.01", COLL: "50000"},
        "la part prévue de l'État (50\xa0001,01\xa0€) dépasse celle du Département (50\xa0000,00\xa0€) de 1,01\xa0€",
        id="1.01-over",
    ),
    pytest.param(
        {ETAT: "1000"},
        "la part prévue de l'État (1\xa0000,00\xa0€) dépasse celle du Département (0,00\xa0€) de 1\xa0000,00\xa0€",
        id="missing-collectivite",
    ),
    pytest.param({ETAT: "0", COLL: "0"}, None, id="zero-year"),
    pytest.param({ETAT: "50", COLL: "50", AUTRE: "100"}, None, id="other-funder-on-top"),
]


def contrat_finance(statut, lignes, plafond="100000"):
    contrat = contrat_en(statut)
    fiche = fiche_de(contrat, statut=StatutFiche.PROPOSEE if statut == StatutContrat.EN_NEGOCIATION else "validee")
    for type_financeur, montant in lignes.items():
        LigneFinancementFactory(
            fiche=fiche,
            type_financeur=type_financeur,
            financeur=OrganisationFactory() if type_financeur == AUTRE else None,
            prevu=D(montant),
        )
    PlafondFactory(contrat=contrat, montant=D(plafond))
    for partie in (PartieSignataire.ETAT, PartieSignataire.COLLECTIVITE):
        SignataireFactory(contrat=contrat, partie=partie, date_signature=SIGNE_LE)
    return contrat, fiche


@pytest.mark.parametrize(("lignes", "expected"), BLOCKING_CASES)
@pytest.mark.parametrize("step", ["validate-fiche", "ready-for-signature", "sign"])
def test_parity_blocks(lignes, expected, step):
    statut = StatutContrat.PRET_SIGNATURE if step == "sign" else StatutContrat.EN_NEGOCIATION
    contrat, fiche = contrat_finance(statut, lignes)
    if step == "ready-for-signature":
        fiche.statut = StatutFiche.VALIDEE
        fiche.save()
    go = {
        "validate-fiche": lambda: fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE),
        "ready-for-signature": lambda: contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE),
        "sign": lambda: contrat_sign(contrat=contrat, signed_on=SIGNE_LE),
    }[step]
    watched = fiche if step == "validate-fiche" else contrat
    before = type(watched).objects.values_list("statut", flat=True).get(pk=watched.pk)
    if expected is None:
        go()
        assert type(watched).objects.values_list("statut", flat=True).get(pk=watched.pk) != before
        return
    with pytest.raises(ValidationError) as exc:
        go()
    assert f"Fiche A1-01, 2024 : {expected}" in exc.value.messages
    assert type(watched).objects.values_list("statut", flat=True).get(pk=watched.pk) == before


@pytest.mark.parametrize(
    ("plafond", "expected"),
    [
        pytest.param("50000", None, id="ceiling-equal"),
        pytest.param(
            "49999.99",
            "2024 : les parts prévues de l'État (50\xa0000,00\xa0€) dépassent l'enveloppe annuelle "
            "(49\xa0999,99\xa0€) de 0,01\xa0€",
            id="ceiling-one-cent-under",
        ),
    ],
)
@pytest.mark.parametrize("step", ["ready-for-signature", "sign"])
def test_ceiling_blocks(plafond, expected, step):
    statut = StatutContrat.PRET_SIGNATURE if step == "sign" else StatutContrat.EN_NEGOCIATION
    contrat, _ = contrat_finance(statut, {ETAT: "50000", COLL: "50000"}, plafond=plafond)
    contrat.fiches.update(statut=StatutFiche.VALIDEE)
    go = {
        "ready-for-signature": lambda: contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE),
        "sign": lambda: contrat_sign(contrat=contrat, signed_on=SIGNE_LE),
    }[step]
    if expected is None:
        go()
        return
    with pytest.raises(ValidationError) as exc:
        go()
    assert expected in exc.value.messages
    contrat.refresh_from_db()
    assert contrat.statut == statut


# --- Spent amounts: warnings, never blocking -------------------------------------------------------------


@pytest.mark.parametrize(
    ("realise", "expected"),
    [
        pytest.param({ETAT: "40000", COLL: "40000"}, [], id="spent-50-50"),
        pytest.param({ETAT: "40001", COLL: "40000"}, [], id="1-euro-over-tolerated"),
        pytest.param(
            {ETAT: "40001.01", COLL: "40000"},
            [
                "Fiche A1-01, 2024 : la part réalisée de l'État (40\xa0001,01\xa0€) dépasse celle du Département "
                "(40\xa0000,00\xa0€) de 1,01\xa0€"
            ],
            id="1.01-over",
        ),
        pytest.param({}, [], id="nothing-spent"),
        pytest.param(
            {ETAT: "60000", COLL: "40000"},
            [
                "Fiche A1-01, 2024 : la part réalisée de l'État (60\xa0000,00\xa0€) dépasse celle du Département "
                "(40\xa0000,00\xa0€) de 20\xa0000,00\xa0€",
                "Fiche A1-01, 2024 : la part réalisée de l'État (60\xa0000,00\xa0€) dépasse 50\xa0% du coût total "
                "réalisé (100\xa0000,00\xa0€) de 10\xa0000,00\xa0€",
            ],
            id="state-spent-more-than-planned-share",
        ),
    ],
)
@pytest.mark.parametrize("statut", [StatutContrat.SIGNE, StatutContrat.EN_EXECUTION])
def test_spent_amounts_give_warnings_and_are_saved(realise, expected, statut):
    contrat, fiche = contrat_finance(statut, {ETAT: "50000", COLL: "50000"})
    for type_financeur, montant in realise.items():
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=type_financeur, realise=D(montant))
    saved = dict(LigneFinancement.objects.filter(fiche=fiche).values_list("type_financeur", "realise"))
    assert saved == {ETAT: None, COLL: None, **{k: D(v) for k, v in realise.items()}}
    assert alertes_realise(contrat) == expected
    contrat.refresh_from_db()
    assert contrat.statut == statut


# --- Payments -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("statut", "ok"), [pytest.param(s, s in STATUTS_FIGES, id=s) for s in StatutContrat.values])
def test_versement_only_on_a_signed_contract(statut, ok):
    contrat = contrat_en(statut)
    kwargs = {"annee": 2024, "nature": "unique", "montant": D("50000"), "date_versement": date(2024, 6, 1)}
    PlafondFactory(contrat=contrat, annee=2024, montant=D("50000"))  # a payment made stays within the ceiling
    if ok:
        assert versement_create(contrat=contrat, **kwargs).montant == D("50000")
        return
    with pytest.raises(ValidationError) as exc:
        versement_create(contrat=contrat, **kwargs)
    assert exc.value.messages == ["L'État ne verse qu'au titre d'un contrat signé."]
    assert not Versement.objects.exists()


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param({}, None, id="valid"),
        pytest.param({"numero_ej": ""}, None, id="ej-not-yet-known"),
        pytest.param({"numero_ej": "0000000001"}, None, id="ej-leading-zeros"),
        pytest.param(
            {"numero_ej": "210012345"},
            "Le numéro d'engagement juridique Chorus compte 10 chiffres.",
            id="ej-9-digits",
        ),
        pytest.param(
            {"numero_ej": "21001234AB"},
            "Le numéro d'engagement juridique Chorus compte 10 chiffres.",
            id="ej-letters",
        ),
        pytest.param(
            {"numero_ej": "2100 12345"},
            "Le numéro d'engagement juridique Chorus compte 10 chiffres.",
            id="ej-space",
        ),
        pytest.param(
            {"numero_ej": "21001234567"},
            "Assurez-vous que cette valeur comporte au plus 10 caractères (actuellement 11).",
            id="ej-11-digits",
        ),
        pytest.param({"montant": D("0")}, "Un versement est d'un montant positif.", id="zero-amount"),
        pytest.param({"montant": D("-1")}, "Le montant ne peut pas être négatif (-1,00\xa0€).", id="negative"),
        pytest.param({"montant": 1.5}, "Les montants sont des décimaux, jamais des flottants.", id="float"),
        pytest.param({"annee": 2028}, "2028 est hors de la période du contrat CLS-2024-D05 (2024-2027).", id="year"),
        pytest.param({"nature": "acompte"}, "La valeur «\xa0'acompte'\xa0» n’est pas un choix valide.", id="nature"),
    ],
)
def test_versement_fields(changes, expected):
    contrat = contrat_en(StatutContrat.SIGNE)
    kwargs = {"annee": 2024, "nature": "avance", "montant": D("25000"), "numero_ej": "2100123456"} | changes
    if expected is None:
        versement = versement_create(contrat=contrat, **kwargs)
        assert versement.numero_ej == kwargs["numero_ej"]
        return
    with pytest.raises(ValidationError) as exc:
        versement_create(contrat=contrat, **kwargs)
    assert expected in exc.value.messages
    assert not Versement.objects.exists()


# --- Reliquats ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("versements", "realise", "expected"),
    [
        # versements: [(annee, montant, paid)], realise: [(annee, type_financeur, montant)]
        pytest.param([(2024, "50000", True)], [], ("50000", "0", "50000"), id="nothing-spent"),
        pytest.param([(2024, "50000", True)], [(2024, ETAT, "50000")], ("50000", "50000", "0"), id="all-spent"),
        pytest.param([(2024, "50000", True)], [(2024, ETAT, "30000")], ("50000", "30000", "20000"), id="part-spent"),
        pytest.param([(2024, "50000", True)], [(2024, ETAT, "60000")], ("50000", "60000", "0"), id="overspent-is-0"),
        pytest.param(
            [(2024, "30000", True), (2024, "20000", False)],
            [(2024, ETAT, "10000")],
            ("30000", "10000", "20000"),
            id="unpaid-scheduled-payment-not-counted",
        ),
        pytest.param(
            [(2024, "30000", True), (2024, "20000", True)],
            [(2024, ETAT, "10000")],
            ("50000", "10000", "40000"),
            id="advance-and-balance",
        ),
        pytest.param(
            [(2024, "50000", True), (2025, "70000", True)],
            [(2024, ETAT, "45000"), (2025, ETAT, "1")],
            ("50000", "45000", "5000"),
            id="other-years-not-counted",
        ),
        pytest.param(
            [(2024, "50000", True)],
            [(2024, ETAT, "20000"), (2024, COLL, "50000"), (2024, AUTRE, "50000")],
            ("50000", "20000", "30000"),
            id="only-the-state-share-counts",
        ),
        pytest.param(
            [(2024, "50000", True)],
            [(2024, ETAT, "20000"), (2024, "A3-01", "15000")],
            ("50000", "35000", "15000"),
            id="every-fiche-counts",
        ),
        pytest.param([], [(2024, ETAT, "10")], ("0", "10", "0"), id="nothing-paid"),
        pytest.param([(2024, "0.01", True)], [], ("0.01", "0", "0.01"), id="one-cent"),
        pytest.param(
            [(2024, "1234.56", True), (2024, "0.10", True), (2024, "0.20", True)],
            [(2024, ETAT, "1000.01"), (2024, "A3-01", "0.02")],
            ("1234.86", "1000.03", "234.83"),
            id="cents-summed-exactly",
        ),
    ],
)
def test_reliquat_compute(versements, realise, expected):
    contrat = contrat_en(StatutContrat.EN_EXECUTION)
    fiches = {"A1-01": fiche_de(contrat), "A3-01": fiche_de(contrat, code="A3-01")}
    for annee, montant, paid in versements:
        VersementFactory(
            contrat=contrat, annee=annee, montant=D(montant), date_versement=date(annee, 6, 1) if paid else None
        )
    for annee, qui, montant in realise:
        fiche, type_financeur = (fiches[qui], ETAT) if qui in fiches else (fiches["A1-01"], qui)
        LigneFinancementFactory(
            fiche=fiche,
            annee=annee,
            type_financeur=type_financeur,
            financeur=OrganisationFactory() if type_financeur == AUTRE else None,
            prevu=D("0"),
            realise=D(montant),
        )
    reliquat = reliquat_compute(contrat=contrat, annee=2024)
    reliquat.refresh_from_db()
    assert (reliquat.verse, reliquat.realise_etat, reliquat.montant) == tuple(D(x) for x in expected)


def reliquat_de(montant="20000", annee=2024, **contrat_kwargs):
    contrat = contrat_en(StatutContrat.EN_EXECUTION, **contrat_kwargs)
    VersementFactory(contrat=contrat, annee=annee, montant=D("50000"), date_versement=date(annee, 6, 1))
    spent = D("50000") - D(montant)
    LigneFinancementFactory(fiche=fiche_de(contrat), annee=annee, type_financeur=ETAT, realise=spent)
    return reliquat_compute(contrat=contrat, annee=annee)


@pytest.mark.parametrize(
    ("annee", "decision", "montant", "expected"),
    [
        pytest.param(2024, DecisionReliquat.DEDUCTION, "20000", None, id="deduction"),
        pytest.param(2026, DecisionReliquat.DEDUCTION, "20000", None, id="deduction-year-before-last"),
        pytest.param(
            2027,
            DecisionReliquat.DEDUCTION,
            "20000",
            "Dernier exercice du contrat : le reliquat ne peut qu'être reversé.",
            id="deduction-on-the-last-year",
        ),
        pytest.param(2027, DecisionReliquat.REVERSEMENT, "20000", None, id="reversement-on-the-last-year"),
        pytest.param(2024, DecisionReliquat.REVERSEMENT, "20000", None, id="reversement"),
        pytest.param(
            2024,
            DecisionReliquat.REVERSEMENT,
            "0",
            "Il n'y a pas de reliquat à traiter pour cet exercice.",
            id="zero-reliquat",
        ),
        pytest.param(2024, DecisionReliquat.REVERSEMENT, "0.01", None, id="one-cent-reliquat"),
        pytest.param(
            2024, "abandon", "20000", "Choisissez la déduction ou le titre de reversement.", id="unknown-decision"
        ),
    ],
)
def test_reliquat_decide(annee, decision, montant, expected):
    reliquat = reliquat_de(montant, annee)
    user = UserFactory()
    if expected is None:
        reliquat_decide(reliquat=reliquat, decision=decision, by=user, commentaire="Vu en COPIL")
        reliquat.refresh_from_db()
        assert (reliquat.decision, reliquat.decide_le, reliquat.decide_par, reliquat.commentaire) == (
            decision,
            timezone.localdate(),
            user,
            "Vu en COPIL",
        )
        return
    with pytest.raises(ValidationError) as exc:
        reliquat_decide(reliquat=reliquat, decision=decision, by=user)
    assert expected in exc.value.messages
    reliquat.refresh_from_db()
    assert (reliquat.decision, reliquat.decide_le, reliquat.decide_par) == ("", None, None)


def test_cdie_last_year_is_its_only_year():
    reliquat = reliquat_de(cdie=True)
    with pytest.raises(ValidationError, match="Dernier exercice du contrat"):
        reliquat_decide(reliquat=reliquat, decision=DecisionReliquat.DEDUCTION, by=UserFactory())


@pytest.mark.parametrize(
    ("new_realise", "kept"),
    [
        pytest.param("30000", True, id="same-amount-keeps-the-decision"),
        pytest.param("35000", False, id="changed-amount-clears-the-decision"),
        pytest.param("50000", False, id="reliquat-gone-clears-the-decision"),
    ],
)
def test_recomputing_a_reliquat(new_realise, kept):
    reliquat = reliquat_de("20000")
    reliquat_decide(reliquat=reliquat, decision=DecisionReliquat.REVERSEMENT, by=UserFactory())
    LigneFinancement.objects.update(realise=D(new_realise))
    again = reliquat_compute(contrat=reliquat.contrat, annee=2024)
    assert Reliquat.objects.count() == 1
    again.refresh_from_db()
    assert again.montant == D("50000") - D(new_realise)
    if kept:
        assert (again.decision, again.decide_le) == (DecisionReliquat.REVERSEMENT, timezone.localdate())
    else:
        assert (again.decision, again.decide_le, again.decide_par) == ("", None, None)


def test_reliquat_year_within_the_contract():
    contrat = contrat_en(StatutContrat.EN_EXECUTION)
    with pytest.raises(ValidationError, match="2028 est hors de la période du contrat"):
        reliquat_compute(contrat=contrat, annee=2028)


# --- Annual reports -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("echeance", "annee", "expected"),
    [
        pytest.param(None, 2024, date(2025, 3, 31), id="default-31-march"),
        pytest.param(None, 2027, date(2028, 3, 31), id="last-year"),
        pytest.param("04-15", 2024, date(2025, 4, 15), id="configured"),
        pytest.param("02-29", 2027, date(2028, 2, 29), id="leap-year"),
    ],
)
def test_rapport_date_limite(settings, echeance, annee, expected):
    if echeance is not None:
        settings.PACTE_RAPPORT_ECHEANCE = echeance
    else:
        assert settings.PACTE_RAPPORT_ECHEANCE == "03-31"
    assert date_limite_rapport(annee) == expected
    rapport = rapport_create(contrat=contrat_en(StatutContrat.SIGNE), annee=annee)
    rapport.refresh_from_db()
    assert (rapport.date_limite, rapport.statut) == (expected, StatutRapport.BROUILLON)


@pytest.mark.parametrize(("statut", "ok"), [pytest.param(s, s in STATUTS_FIGES, id=s) for s in StatutContrat.values])
def test_rapport_only_on_a_signed_contract(statut, ok):
    contrat = contrat_en(statut)
    if ok:
        assert rapport_create(contrat=contrat, annee=2024).annee == 2024
        return
    with pytest.raises(ValidationError, match="Un rapport d'exécution porte sur un contrat signé."):
        rapport_create(contrat=contrat, annee=2024)


@pytest.mark.parametrize(
    ("annee", "expected"),
    [
        pytest.param(2028, "2028 est hors de la période du contrat CLS-2024-D05 (2024-2027).", id="outside"),
        pytest.param(2024, "Ce contrat a déjà un rapport pour cet exercice.", id="duplicate"),
    ],
)
def test_rapport_create_refused(annee, expected):
    contrat = contrat_en(StatutContrat.SIGNE)
    rapport_create(contrat=contrat, annee=2024)
    with pytest.raises(ValidationError) as exc:
        rapport_create(contrat=contrat, annee=annee)
    assert expected in exc.value.messages
    assert RapportAnnuel.objects.count() == 1


RAPPORT_PAIRS = [(a, b) for a in StatutRapport.values for b in StatutRapport.values]


@pytest.mark.parametrize(("before", "after"), [pytest.param(a, b, id=f"{a}->{b}") for a, b in RAPPORT_PAIRS])
def test_rapport_transitions(before, after):
    rapport = RapportAnnuel.objects.create(
        contrat=contrat_en(StatutContrat.EN_EXECUTION), annee=2024, statut=before, date_limite=date(2025, 3, 31)
    )
    if after not in TRANSITIONS_RAPPORT[before]:
        with pytest.raises(ValidationError) as exc:
            rapport_transition(rapport=rapport, to=after, observations="Précisez les publics")
        labels = dict(StatutRapport.choices)
        assert exc.value.messages == [
            f"Le rapport 2024 ne peut pas passer de « {labels[before]} » à « {labels[after]} »."
        ]
        rapport.refresh_from_db()
        assert rapport.statut == before
        return
    rapport_transition(rapport=rapport, to=after, observations="Précisez les publics")
    rapport.refresh_from_db()
    assert rapport.statut == after
    today = timezone.localdate()
    assert rapport.transmis_le == (today if after == StatutRapport.TRANSMIS else None)
    assert rapport.valide_le == (today if after == StatutRapport.VALIDE else None)


@pytest.mark.parametrize(
    ("observations", "ok"),
    [
        pytest.param("", False, id="none"),
        pytest.param("  \n", False, id="blank"),
        pytest.param("Indicateurs 2024 manquants", True, id="given"),
    ],
)
def test_sending_back_needs_observations(observations, ok):
    rapport = rapport_create(contrat=contrat_en(StatutContrat.SIGNE), annee=2024)
    rapport = rapport_transition(rapport=rapport, to=StatutRapport.TRANSMIS)
    if ok:
        rapport_transition(rapport=rapport, to=StatutRapport.A_COMPLETER, observations=observations)
        rapport.refresh_from_db()
        assert (rapport.statut, rapport.observations_ddets) == (StatutRapport.A_COMPLETER, observations)
        return
    with pytest.raises(ValidationError) as exc:
        rapport_transition(rapport=rapport, to=StatutRapport.A_COMPLETER, observations=observations)
    assert exc.value.message_dict == {"observations_ddets": ["Dites ce qu'il faut compléter."]}
    rapport.refresh_from_db()
    assert rapport.statut == StatutRapport.TRANSMIS


def test_rapport_round_trip():
    rapport = rapport_create(contrat=contrat_en(StatutContrat.SIGNE), annee=2024)
    for statut in (StatutRapport.TRANSMIS, StatutRapport.A_COMPLETER, StatutRapport.TRANSMIS, StatutRapport.VALIDE):
        rapport = rapport_transition(rapport=rapport, to=statut, observations="Compléter" * (statut == "a_completer"))
    assert rapport.statut == StatutRapport.VALIDE
    assert rapport.observations_ddets == "Compléter"
    assert rapport.valide_le == timezone.localdate() - timedelta(days=0)


# --- Avenant changes of planned amounts: the target names a funder the line can have --------------------------


@pytest.mark.parametrize(
    ("type_financeur", "avec_financeur", "champ"),
    [("inconnu", False, "type_financeur"), ("autre", False, "financeur"), ("etat", True, "financeur")],
)
def test_avenant_propose_prevu_refuses_a_funder_the_line_cannot_have(type_financeur, avec_financeur, champ):
    from contrats.services import avenant_create
    from financement.services import avenant_propose_prevu
    from tests.factories import ContratFactory, FicheActionFactory, OrganisationFactory, collectivite

    contrat = ContratFactory(collectivite=collectivite("D05"), signe=True)
    FicheActionFactory(contrat=contrat, code="A1-01")
    avenant = avenant_create(contrat=contrat, objet="Actualisation")
    with pytest.raises(ValidationError) as refus:
        avenant_propose_prevu(
            avenant=avenant,
            fiche_code="A1-01",
            annee=2025,
            type_financeur=type_financeur,
            montant="1000",
            financeur=OrganisationFactory() if avec_financeur else None,
        )
    assert champ in refus.value.message_dict
    assert not avenant.modifications.exists()


def test_a_modification_recorded_in_another_shape_is_refused_in_french_at_signature():
    from contrats.enums import NatureModification
    from contrats.models import ModificationAvenant
    from financement.checks import apply_prevu
    from tests.factories import AvenantFactory, ContratFactory, collectivite

    contrat = ContratFactory(collectivite=collectivite("D05"), signe=True)
    avenant = AvenantFactory(contrat=contrat, numero=1)
    modification = ModificationAvenant.objects.create(
        avenant=avenant, nature=NatureModification.PREVU, libelle="Ancienne forme", cible={"fiche": "A1-01"}, apres={}
    )
    with pytest.raises(ValidationError, match="Ancienne forme.*incomplète"):
        apply_prevu(modification)
