"""The perimeter: one place computes it, every QuerySet filters with it (docs/regles.md)."""

import pytest

from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.models import Avenant, Contrat
from financement.models import LigneFinancement, Plafond, Versement
from pacte.models import Organisation, User
from pacte.perimeters import Niveau, perimetre_of
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VersementFactory,
    collectivite,
    departement,
    region,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def contrats():
    """One contract per collectivité of interest: D05 (PACA), D69 and M-LYO (both on 69, AURA), CEA (67+68)."""
    return {
        code: ContratFactory(collectivite=collectivite(code), reference=f"CLS-2024-{code}")
        for code in ("D05", "D69", "M-LYO", "CEA")
    }


def _user(**org):
    return UserFactory(organisation=OrganisationFactory(**org))


PERSONAS = {
    "ddets05": lambda: _user(ddets=True, departement=departement("05")),
    "prefecture69": lambda: _user(prefecture=True, departement=departement("69")),
    "ddets68": lambda: _user(ddets=True, departement=departement("68")),
    "cd69": lambda: _user(de_collectivite=True, collectivite=collectivite("D69")),
    "metropole-lyon": lambda: _user(de_collectivite=True, collectivite=collectivite("M-LYO")),
    "dreets-paca": lambda: _user(dreets=True, region=region("93")),
    "dreets-aura": lambda: _user(dreets=True, region=region("84")),
    "dgcs": lambda: _user(centrale=True),
    "sans-organisation": lambda: UserFactory(organisation=None),
}


@pytest.mark.parametrize(
    ("persona", "visibles"),
    [
        ("ddets05", {"D05"}),
        ("prefecture69", {"D69", "M-LYO"}),
        ("ddets68", {"CEA"}),
        ("cd69", {"D69"}),
        ("metropole-lyon", {"M-LYO"}),
        ("dreets-paca", {"D05"}),
        ("dreets-aura", {"D69", "M-LYO"}),
        ("dgcs", {"D05", "D69", "M-LYO", "CEA"}),
        ("sans-organisation", set()),
    ],
)
def test_contracts_visible_per_persona(contrats, persona, visibles):
    user = PERSONAS[persona]()
    seen = set(Contrat.objects.for_user(user).values_list("collectivite__code", flat=True))
    assert seen == visibles


def test_superuser_sees_the_nation_and_anonymous_nothing(contrats):
    from django.contrib.auth.models import AnonymousUser

    admin = UserFactory(is_superuser=True, organisation=None)
    assert perimetre_of(admin).niveau == Niveau.NATION
    assert Contrat.objects.for_user(admin).count() == 4
    assert Contrat.objects.for_user(AnonymousUser()).count() == 0


def test_inactive_user_sees_nothing(contrats):
    user = PERSONAS["dgcs"]()
    user.is_active = False
    assert Contrat.objects.for_user(user).count() == 0


@pytest.mark.parametrize(
    ("model", "make"),
    [
        (FicheAction, lambda c: FicheActionFactory(contrat=c)),
        (LigneFinancement, lambda c: LigneFinancementFactory(fiche__contrat=c)),
        (Indicateur, lambda c: ValeurIndicateurFactory(indicateur__fiche__contrat=c).indicateur),
        (ValeurIndicateur, lambda c: ValeurIndicateurFactory(indicateur__fiche__contrat=c)),
        (Plafond, lambda c: PlafondFactory(contrat=c)),
        (Versement, lambda c: VersementFactory(contrat=c)),
        (Avenant, lambda c: AvenantFactory(contrat=c)),
    ],
)
def test_every_model_below_a_contract_follows_its_perimeter(contrats, model, make):
    mine, theirs = make(contrats["D05"]), make(contrats["D69"])
    ddets05 = PERSONAS["ddets05"]()
    visible = set(model.objects.for_user(ddets05).values_list("pk", flat=True))
    assert mine.pk in visible
    assert theirs.pk not in visible


def test_partner_sees_only_the_actions_it_carries(contrats):
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))
    portee = FicheActionFactory(contrat=contrats["D05"], porteur=caf)
    FicheActionFactory(contrat=contrats["D05"])
    partner = UserFactory(organisation=caf)
    assert list(FicheAction.objects.for_user(partner)) == [portee]
    assert list(Contrat.objects.for_user(partner)) == [contrats["D05"]]
    assert Plafond.objects.for_user(partner).count() == 0


def test_organisations_and_users_follow_the_perimeter(contrats):
    ddets05 = PERSONAS["ddets05"]()
    cd05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    cd69 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D69"))
    assoc05 = OrganisationFactory(nom="Association gapençaise", departement=departement("05"))
    national = OrganisationFactory(nom="France Travail")
    visible = set(Organisation.objects.for_user(ddets05))
    assert {ddets05.organisation, cd05, assoc05, national} <= visible
    assert cd69 not in visible
    cd_user = UserFactory(organisation=cd05)
    visible_for_cd = set(Organisation.objects.for_user(cd_user))
    assert {cd05, assoc05, national} <= visible_for_cd
    assert ddets05.organisation not in visible_for_cd
    assert (
        User.objects.filter(organisation__in=Organisation.objects.for_user(cd_user)).filter(pk=ddets05.pk).count() == 0
    )


def test_perimeter_query_count_does_not_grow(contrats, django_assert_num_queries):
    user = PERSONAS["prefecture69"]()
    user = User.objects.select_related("organisation").get(pk=user.pk)
    with django_assert_num_queries(1):
        list(Contrat.objects.for_user(user))
    for i in range(10):
        ContratFactory(collectivite=collectivite("D69"), reference=f"CDIE-2024-X{i}")
    with django_assert_num_queries(1):
        assert len(list(Contrat.objects.for_user(user))) == 12
