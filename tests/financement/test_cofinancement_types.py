"""The cofinancing rule of every contract type and volet, through the database and the services.

Each target is a contract of one type (and, for a CDIE or a convention unique, an action of one volet),
built with the factories and filled through the services; each money scenario is one action's planned
amounts for 2024. The seeded ``RegleCofinancement`` rows decide (financement/migrations): the
collectivité matches the State, 50 % at most, everywhere except volet 1 of a CDIE or a convention unique
and the pacte local (CPT), where the State may pay up to 100 %, alone or with partners, without the
collectivité. The same rows are read by ``parite_violations``, by fiche validation and by the contract's
"prêt pour signature" and signature checks; a national administrator changing a rule in the back-office
changes what they accept.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from actions.enums import StatutFiche
from actions.models import FicheAction
from actions.services import fiche_transition
from contrats.enums import PREFIXES, PartieSignataire, StatutContrat, TypeContrat
from contrats.models import Contrat
from contrats.services import contrat_sign, contrat_transition, signataire_set, volet_create
from financement.enums import Contrepartie, TypeFinanceur
from financement.models import RegleCofinancement
from financement.regles import parite_violations
from financement.services import ligne_financement_set, plafond_set
from pacte.enums import TypeOrganisation
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    OrganisationFactory,
    UserFactory,
    axe,
    collectivite,
    departement,
)
from tests.test_admin import as_post_data

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
SIGNE_LE = date(2024, 3, 15)
CAF_SIRET = "73282932000074"


def eur(text: str) -> str:
    """``eur("10 000,00")`` → ``"10\xa0000,00\xa0€"``: amounts as the messages print them."""
    return text.replace(" ", "\xa0") + "\xa0€"


# --- Targets: a contract type, the collectivité that signs it, the action's axis and volet ---------------


class Cible:
    def __init__(self, type_contrat: str, code: str, axe_numero: int, volet: int | None, regle: str):
        self.type_contrat, self.code, self.axe_numero, self.volet = type_contrat, code, axe_numero, volet
        #: "parite": the collectivité matches the State, 50 % at most; "etat": up to 100 %, no counterpart.
        self.regle = regle

    @property
    def partie(self) -> str:
        return "de la Métropole" if self.code.startswith("M-") else "du Département"

    @property
    def fiche_code(self) -> str:
        return f"A{self.axe_numero}-01"


CIBLES = {
    "cls-departement": Cible(TypeContrat.CLS_DEPARTEMENT, "D05", 1, None, "parite"),
    "cls-metropole": Cible(TypeContrat.CLS_METROPOLE, "M-ROU", 1, None, "parite"),
    "cdie-sans-volet": Cible(TypeContrat.CDIE, "D05", 2, None, "parite"),
    "cdie-volet-1": Cible(TypeContrat.CDIE, "D05", 2, 1, "etat"),
    "cdie-volet-2": Cible(TypeContrat.CDIE, "D05", 2, 2, "parite"),
    "cdie-volet-3-sans-regle-propre": Cible(TypeContrat.CDIE, "D05", 2, 3, "parite"),
    "convention-unique-axe-1": Cible(TypeContrat.CONVENTION_UNIQUE, "D05", 1, None, "parite"),
    "convention-unique-volet-1": Cible(TypeContrat.CONVENTION_UNIQUE, "D05", 2, 1, "etat"),
    "convention-unique-volet-2": Cible(TypeContrat.CONVENTION_UNIQUE, "D05", 2, 2, "parite"),
    "cpt-pacte-local": Cible(TypeContrat.CPT, "D05", 1, None, "etat"),
}


def test_every_contract_type_has_a_target():
    assert {c.type_contrat for c in CIBLES.values()} == set(TypeContrat.values)


# --- Money scenarios: one action's planned amounts for 2024, and what the parity rule says ----------------


def depasse_collectivite(etat: str, coll: str, ecart: str, partie: str) -> str:
    return f"2024 : la part prévue de l'État ({eur(etat)}) dépasse celle {partie} ({eur(coll)}) de {eur(ecart)}"


def depasse_taux(etat: str, taux: str, total: str, ecart: str) -> str:
    return (
        f"2024 : la part prévue de l'État ({eur(etat)}) dépasse {taux}\xa0% du coût total prévu ({eur(total)}) "
        f"de {eur(ecart)}"
    )


# scenario: (lines {funder: amount}, messages under the "parite" rule as a function of the party)
SCENARIOS = {
    # A pacte local's typical action: the State and the partner that carries it, nothing from the Département.
    "etat-et-partenaire-sans-collectivite": (
        {ETAT: "10000", AUTRE: "10000"},
        lambda p: [depasse_collectivite("10 000,00", "0,00", "10 000,00", p)],
    ),
    # A diagnostic paid by the State alone: the collectivité is the missing funder.
    "etat-seul": (
        {ETAT: "5000"},
        lambda p: [
            depasse_collectivite("5 000,00", "0,00", "5 000,00", p),
            depasse_taux("5 000,00", "50", "5 000,00", "2 500,00"),
        ],
    ),
    "exactement-50-50": ({ETAT: "10000", COLL: "10000"}, lambda p: []),
    "1-euro-au-dessus-tolere": ({ETAT: "10001", COLL: "10000"}, lambda p: []),
    "1,01-euro-au-dessus-refuse": (
        {ETAT: "10001.01", COLL: "10000"},
        # 50 % of 20 001,01 € is 10 000,51 €: the rate is within the tolerance, the parity is not.
        lambda p: [depasse_collectivite("10 001,01", "10 000,00", "1,01", p)],
    ),
    "annee-a-zero": ({ETAT: "0", COLL: "0", AUTRE: "0"}, lambda p: []),
    "partenaire-ne-remplace-pas-la-collectivite": (
        {ETAT: "10000", COLL: "5000", AUTRE: "5000"},
        lambda p: [depasse_collectivite("10 000,00", "5 000,00", "5 000,00", p)],
    ),
}


def attendus(cible: Cible, scenario: str) -> list[str]:
    """What ``parite_violations`` says of the target's action (an "etat" rule accepts every scenario)."""
    messages = SCENARIOS[scenario][1](cible.partie) if cible.regle == "parite" else []
    return [f"Fiche {cible.fiche_code}, {m}" for m in messages]


# --- Building a contract ready to go through validation and signature -----------------------------------


def porteur():
    """The partner that carries the action (and adds its own money): a CAF with its SIRET."""
    return OrganisationFactory(
        nom="CAF des Hautes-Alpes", type=TypeOrganisation.PARTENAIRE, departement=departement("05"), siret=CAF_SIRET
    )


def contrat_pour(cible: Cible, lignes: dict, *, caf=None):
    """A contract in negotiation of the target's type with one proposed action financed by ``lignes`` (2024),
    its volets, a State ceiling, both signatories (and the carrier's for a pacte local); where the type needs
    an action on every axis (CLS de métropole), validated 50/50 actions on the other axes."""
    caf = caf or porteur()
    contrat = ContratFactory(
        collectivite=collectivite(cible.code),
        type_contrat=cible.type_contrat,
        reference=f"{PREFIXES[cible.type_contrat]}-2024-{cible.code}",
        date_fin=date(2024, 12, 31) if cible.type_contrat == TypeContrat.CDIE else date(2027, 12, 31),
    )
    volets = {n: volet_create(contrat=contrat, numero=n, intitule=f"Volet {n}") for n in range(1, 4) if cible.volet}
    fiche = FicheActionFactory(
        contrat=contrat,
        code=cible.fiche_code,
        axe=axe(cible.axe_numero),
        volet=volets[cible.volet] if cible.volet else None,
        porteur=caf,
        date_debut=contrat.date_debut,
        date_fin=contrat.date_fin,
        statut=StatutFiche.PROPOSEE,
    )
    for type_financeur, montant in lignes.items():
        ligne_financement_set(
            fiche=fiche,
            annee=2024,
            type_financeur=type_financeur,
            financeur=caf if type_financeur == AUTRE else None,
            prevu=D(montant),
        )
    if cible.type_contrat == TypeContrat.CLS_METROPOLE:
        for numero in (2, 3, 4):
            autre = FicheActionFactory(
                contrat=contrat, code=f"A{numero}-01", axe=axe(numero), porteur=caf, statut=StatutFiche.VALIDEE
            )
            for type_financeur in (ETAT, COLL):
                ligne_financement_set(fiche=autre, annee=2024, type_financeur=type_financeur, prevu=D("100"))
    plafond_set(contrat=contrat, annee=2024, montant=D("1000000"))
    signataires = [(PartieSignataire.ETAT, None, "Dominique Martin", "Préfet")]
    signataires.append((PartieSignataire.COLLECTIVITE, None, "Claire Blanc", "Présidente"))
    if cible.type_contrat == TypeContrat.CPT:
        signataires.append((PartieSignataire.PARTENAIRE, caf, "Paul Roux", "Directeur de la CAF"))
    for partie, organisation, nom, qualite in signataires:
        signataire_set(
            contrat=contrat, partie=partie, organisation=organisation, nom=nom, qualite=qualite, date_signature=SIGNE_LE
        )
    return contrat, fiche


def statut(obj) -> str:
    return type(obj).objects.values_list("statut", flat=True).get(pk=obj.pk)


def valider_puis_signer(contrat: Contrat, fiche: FicheAction, expected: list[str]) -> None:
    """Validates the action, marks the contract ready, signs it: each step passes when ``expected`` is empty,
    otherwise each refuses with exactly those messages (the step before is then forced in the database, to
    show that the next one refuses too), and nothing changes."""
    if not expected:
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE)
        contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE)
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
        assert (statut(fiche), statut(contrat)) == (StatutFiche.VALIDEE, StatutContrat.SIGNE)
        return
    with pytest.raises(ValidationError) as exc:
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE)
    assert exc.value.messages == [f"La fiche {fiche.code} ne peut pas être validée :", *expected]
    assert statut(fiche) == StatutFiche.PROPOSEE
    FicheAction.objects.filter(pk=fiche.pk).update(statut=StatutFiche.VALIDEE)
    with pytest.raises(ValidationError) as exc:
        contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE)
    assert exc.value.messages == [f"Le contrat {contrat.reference} n'est pas prêt pour signature :", *expected]
    assert statut(contrat) == StatutContrat.EN_NEGOCIATION
    Contrat.objects.filter(pk=contrat.pk).update(statut=StatutContrat.PRET_SIGNATURE)
    with pytest.raises(ValidationError) as exc:
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
    assert exc.value.messages == [f"Le contrat {contrat.reference} ne peut pas être signé :", *expected]
    assert statut(contrat) == StatutContrat.PRET_SIGNATURE


CASES = [
    pytest.param(cible, scenario, id=f"{cible_id}/{scenario}")
    for cible_id, cible in CIBLES.items()
    for scenario in SCENARIOS
]


@pytest.mark.parametrize(("cible", "scenario"), CASES)
def test_parite_violations_per_type_and_volet(cible, scenario):
    contrat, fiche = contrat_pour(cible, SCENARIOS[scenario][0])
    assert parite_violations(FicheAction.objects.filter(pk=fiche.pk)) == attendus(cible, scenario)


@pytest.mark.parametrize(("cible", "scenario"), CASES)
def test_validation_and_signature_per_type_and_volet(cible, scenario):
    contrat, fiche = contrat_pour(cible, SCENARIOS[scenario][0])
    valider_puis_signer(contrat, fiche, attendus(cible, scenario))


def test_pacte_local_signs_and_the_same_data_in_a_cls_is_refused():
    """The issue's check, spelled out: State + partner money and nothing from the Département."""
    lignes = {ETAT: "12000", AUTRE: "3000"}
    caf = porteur()
    cpt, fiche_cpt = contrat_pour(CIBLES["cpt-pacte-local"], lignes, caf=caf)
    valider_puis_signer(cpt, fiche_cpt, [])
    cls, fiche_cls = contrat_pour(CIBLES["cls-departement"], lignes, caf=caf)
    valider_puis_signer(
        cls,
        fiche_cls,
        [
            "Fiche A1-01, 2024 : la part prévue de l'État (12\xa0000,00\xa0€) dépasse celle du Département "
            "(0,00\xa0€) de 12\xa0000,00\xa0€",
            "Fiche A1-01, 2024 : la part prévue de l'État (12\xa0000,00\xa0€) dépasse 50\xa0% du coût total "
            "prévu (15\xa0000,00\xa0€) de 4\xa0500,00\xa0€",
        ],
    )


def test_a_zero_year_next_to_a_funded_one():
    """Each year is judged on its own: 2025 at zero does not hide nor excuse 2024."""
    cible = CIBLES["cls-departement"]
    contrat, fiche = contrat_pour(cible, {ETAT: "10001.01", COLL: "10000"})
    for type_financeur in (ETAT, COLL):
        ligne_financement_set(fiche=fiche, annee=2025, type_financeur=type_financeur, prevu=D("0"))
    assert parite_violations(FicheAction.objects.filter(pk=fiche.pk)) == attendus(cible, "1,01-euro-au-dessus-refuse")


# --- A national administrator changes the pacte local's rule in the back-office ---------------------------

SEUL = "Fiche A1-01, 2024 : l'État ne peut pas financer seul l'action (5\xa0000,00\xa0€ prévus)"


def autres_financeurs(etat: str, autres: str, ecart: str) -> str:
    return (
        f"Fiche A1-01, 2024 : la part prévue de l'État ({eur(etat)}) dépasse celle des autres financeurs "
        f"({eur(autres)}) de {eur(ecart)}"
    )


@pytest.fixture
def national(db):
    """An editor of the administration centrale (DGCS): keeps the reference rules."""
    return UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True))


def change_rule(client, user, changes: dict) -> RegleCofinancement:
    """Posts the CPT rule's change page as ``user`` with ``changes``; returns the rule as stored."""
    regle = RegleCofinancement.objects.get(type_contrat=TypeContrat.CPT, volet_numero=None)
    page = reverse("admin:financement_reglecofinancement_change", args=[regle.pk])
    client.force_login(user)
    data = as_post_data(client.get(page))
    for name, value in changes.items():
        if value is False:
            data.pop(name, None)  # an unchecked box is not sent
        else:
            data[name] = value
    response = client.post(page, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    regle.refresh_from_db()
    return regle


ETAT_SEUL_INTERDIT = {"etat_seul": False}
COFINANCEURS = {"contrepartie": Contrepartie.COFINANCEURS, "taux_etat_max": "0,5"}


@pytest.mark.parametrize(
    ("changes", "lignes", "expected"),
    [
        pytest.param(ETAT_SEUL_INTERDIT, {ETAT: "5000"}, [SEUL], id="etat-seul-interdit/diagnostic-refuse"),
        pytest.param(
            ETAT_SEUL_INTERDIT,
            {ETAT: "5000", AUTRE: "0"},
            [SEUL],
            id="etat-seul-interdit/partenaire-a-zero-ne-compte-pas",
        ),
        pytest.param(
            ETAT_SEUL_INTERDIT, {ETAT: "5000", AUTRE: "0.01"}, [], id="etat-seul-interdit/un-centime-de-partenaire"
        ),
        pytest.param(ETAT_SEUL_INTERDIT, {ETAT: "5000", COLL: "1"}, [], id="etat-seul-interdit/la-collectivite-compte"),
        pytest.param(ETAT_SEUL_INTERDIT, {ETAT: "0", AUTRE: "0"}, [], id="etat-seul-interdit/annee-a-zero"),
        pytest.param(
            ETAT_SEUL_INTERDIT, {ETAT: "10000", AUTRE: "10000"}, [], id="etat-seul-interdit/etat-et-partenaire"
        ),
        pytest.param(COFINANCEURS, {ETAT: "10000", AUTRE: "10000"}, [], id="cofinanceurs/exactement-50-50"),
        pytest.param(COFINANCEURS, {ETAT: "10000", AUTRE: "9999"}, [], id="cofinanceurs/1-euro-de-moins-tolere"),
        pytest.param(
            COFINANCEURS,
            {ETAT: "10000", AUTRE: "9998.99"},
            [autres_financeurs("10 000,00", "9 998,99", "1,01")],
            id="cofinanceurs/1,01-euro-de-moins-refuse",
        ),
        pytest.param(
            COFINANCEURS, {ETAT: "10000", COLL: "5000", AUTRE: "5000"}, [], id="cofinanceurs/collectivite-et-partenaire"
        ),
        pytest.param(
            COFINANCEURS,
            {ETAT: "5000"},
            [
                autres_financeurs("5 000,00", "0,00", "5 000,00"),
                "Fiche A1-01, 2024 : la part prévue de l'État (5\xa0000,00\xa0€) dépasse 50\xa0% du coût total prévu "
                "(5\xa0000,00\xa0€) de 2\xa0500,00\xa0€",
            ],
            id="cofinanceurs/diagnostic-refuse",
        ),
    ],
)
def test_a_national_administrator_changes_the_pacte_local_rule(client, national, changes, lignes, expected):
    regle = change_rule(client, national, changes)
    assert regle.history.latest().history_user == national
    if "etat_seul" in changes:
        assert regle.etat_seul is False
    if "contrepartie" in changes:
        assert (regle.contrepartie, regle.taux_etat_max) == (Contrepartie.COFINANCEURS, D("0.5"))
    contrat, fiche = contrat_pour(CIBLES["cpt-pacte-local"], lignes)
    assert parite_violations(FicheAction.objects.filter(pk=fiche.pk)) == expected
    valider_puis_signer(contrat, fiche, expected)


def test_the_cpt_rule_change_leaves_the_other_types_alone(client, national):
    change_rule(client, national, ETAT_SEUL_INTERDIT)
    contrat, fiche = contrat_pour(CIBLES["cdie-volet-1"], {ETAT: "5000"})
    valider_puis_signer(contrat, fiche, [])
