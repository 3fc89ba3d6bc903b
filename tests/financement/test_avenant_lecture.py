"""financement.selectors.avenant_lecture: an avenant read before it is signed.

The money after the avenant is computed in memory; these tests hold it to what the signature would
really find: every change applied by its applier (pacte.hooks) inside a savepoint, then the signature's
own check (financement.checks.parite_et_plafonds) — same messages, same order — and the value each change
replaces equal to the one the signature records.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction

from actions.enums import NatureAction, StatutFiche
from actions.services import avenant_propose_fiche_change, avenant_propose_fiche_retrait
from contrats.enums import NatureModification, StatutAvenant
from contrats.models import ModificationAvenant
from contrats.services import avenant_create, avenant_sign, avenant_transition
from financement.checks import parite_et_plafonds
from financement.enums import TypeFinanceur
from financement.models import Plafond
from financement.selectors import avenant_lecture
from financement.services import avenant_propose_plafond, avenant_propose_prevu
from pacte import hooks
from tests.contrats.test_services import AVENANTS_APPLIQUES, AVENANTS_IRREGULIERS, monde_signe
from tests.factories import FicheActionFactory, LigneFinancementFactory, PlafondFactory, VoletFactory, axe

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE


def what_signing_finds(avenant) -> list[str] | None:
    """The signature's money check on the contract with every change applied (``None``: a change itself is
    refused), read inside a savepoint rolled back."""
    sid = transaction.savepoint()
    try:
        for modification in avenant.modifications.order_by("pk"):
            hooks.applier(modification.nature)(modification, by=None)
        return parite_et_plafonds(avenant.contrat)
    except ValidationError:
        return None
    finally:
        transaction.savepoint_rollback(sid)


def brouillon(m, proposer):
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    proposer(avenant, m)
    return avenant


@pytest.mark.parametrize(("proposer", "_expected", "_applied"), AVENANTS_APPLIQUES)
def test_regular_avenants_read_as_the_signature_records_them(proposer, _expected, _applied):
    m = monde_signe()
    avenant = brouillon(m, proposer)
    lu = avenant_lecture(avenant)
    assert lu.apercu and lu.messages == what_signing_finds(avenant) == []
    assert not lu.inapplicables
    avant = dict(lu.avant)
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="P", signataire_collectivite="C")
    recorded = {mod.pk: mod.avant for mod in avenant.modifications.all()}
    assert avant == recorded
    # Signed: the recorded values, and no money "after" (it is the contract's now)
    avenant.refresh_from_db()
    lu = avenant_lecture(avenant)
    assert lu.avant == recorded and not lu.apercu and lu.parite == lu.plafonds == lu.messages == []


#: The money breaches of contrats' table (a fiche out of the contract's period is its own rule, not money's).
IRREGULIERS_ARGENT = [p for p in AVENANTS_IRREGULIERS if p.id != "fiche-out-of-the-period"]


@pytest.mark.parametrize(("proposer", "expected"), IRREGULIERS_ARGENT)
def test_irregular_avenants_give_the_signature_messages(proposer, expected):
    m = monde_signe()
    avenant = brouillon(m, proposer)
    lu = avenant_lecture(avenant)
    assert lu.messages == what_signing_finds(avenant)
    assert any(expected in message for message in lu.messages), lu.messages


def _volets(m):
    """The convention unique gets two volets with their own ceilings, and A2-01 (axis 2) in volet 1:
    100 % State there (the volet's rule), 12 000 € of State money in 2024."""
    volet_1 = VoletFactory(contrat=m.contrat, numero=1)
    volet_2 = VoletFactory(contrat=m.contrat, numero=2)
    fiche = FicheActionFactory(contrat=m.contrat, code="A2-01", axe=axe(2), volet=volet_1, validee=True)
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("12000"))
    PlafondFactory(contrat=m.contrat, annee=2024, volet=volet_1, montant=D("12000"))
    PlafondFactory(contrat=m.contrat, annee=2024, volet=volet_2, montant=D("1000"))
    Plafond.objects.filter(contrat=m.contrat, volet__isnull=True).delete()
    return fiche


MONEY_CASES = [
    pytest.param(lambda a, m: None, id="nothing"),
    pytest.param(
        lambda a, m: avenant_propose_prevu(
            avenant=a, fiche_code="A2-01", annee=2024, type_financeur=ETAT, montant=D("12000.01")
        ),
        id="volet-1-over-its-ceiling",
    ),
    pytest.param(
        lambda a, m: avenant_propose_fiche_change(avenant=a, fiche=m.contrat.fiches.get(code="A2-01"), volet=m.volet_2),
        id="fiche-moved-to-volet-2-takes-its-rule-and-ceiling",
    ),
    pytest.param(
        lambda a, m: (
            avenant_propose_fiche_change(avenant=a, fiche=m.contrat.fiches.get(code="A2-01"), volet=m.volet_2),
            avenant_propose_plafond(avenant=a, annee=2024, volet=m.volet_2, montant=D("12000")),
            avenant_propose_prevu(avenant=a, fiche_code="A2-01", annee=2024, type_financeur=COLL, montant=D("12000")),
        ),
        id="moved-with-its-ceiling-and-counterpart",
    ),
    pytest.param(
        lambda a, m: avenant_propose_plafond(avenant=a, annee=2024, montant=D("5000")),
        id="contract-ceiling-over-volets",
    ),
    pytest.param(
        lambda a, m: avenant_propose_fiche_retrait(avenant=a, fiche=m.contrat.fiches.get(code="A2-01")),
        id="withdrawn-fiche-leaves-the-money",
    ),
    pytest.param(
        lambda a, m: (
            avenant_propose_prevu(
                avenant=a, fiche_code="A1-01", annee=2025, type_financeur=AUTRE, financeur=m.caf, montant=D("500")
            ),
            avenant_propose_prevu(avenant=a, fiche_code="A1-01", annee=2025, type_financeur=ETAT, montant=D("400")),
        ),
        id="new-year-other-funder-no-ceiling",
    ),
]


@pytest.mark.parametrize("proposer", MONEY_CASES)
def test_volets_moves_and_withdrawals_read_as_the_signature_finds_them(proposer):
    m = monde_signe()
    _volets(m)
    m.volet_2 = m.contrat.volets.get(numero=2)
    avenant = brouillon(m, proposer)
    assert avenant_lecture(avenant).messages == what_signing_finds(avenant)


def test_rows_say_before_and_after_for_what_the_avenant_touches():
    m = monde_signe()
    fiche = _volets(m)
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    avenant_propose_prevu(avenant=avenant, fiche_code="A1-01", annee=2024, type_financeur=ETAT, montant=D("11000"))
    avenant_propose_fiche_retrait(avenant=avenant, fiche=fiche)
    lu = avenant_lecture(avenant)
    assert [
        (p.fiche, p.annee, p.etat_avant, p.etat, p.collectivite_avant, p.collectivite, p.total) for p in lu.parite
    ] == [
        ("A1-01", 2024, D("10000"), D("11000"), D("10000"), D("10000"), D("21000")),
        ("A2-01", 2024, D("12000"), D("0"), D("0"), D("0"), D("0")),
    ]
    assert lu.parite[0].messages == (
        "Fiche A1-01, 2024 : la part prévue de l'État (11\xa0000,00\xa0€) dépasse celle du Département "
        "(10\xa0000,00\xa0€) de 1\xa0000,00\xa0€",
        "Fiche A1-01, 2024 : la part prévue de l'État (11\xa0000,00\xa0€) dépasse 50\xa0% du coût total prévu "
        "(21\xa0000,00\xa0€) de 500,00\xa0€",
    )
    # Volets have their own ceilings and the contract none: A1-01 (no volet) is "hors volets"
    assert [(p.annee, p.libelle, p.etat_avant, p.etat, p.plafond_avant, p.plafond) for p in lu.plafonds] == [
        (2024, ", hors volets", D("10000"), D("11000"), None, None),
        (2024, ", volet 1", D("12000"), D("0"), D("12000"), D("12000")),
    ]
    assert lu.plafonds[0].messages == (
        "2024, hors volets : aucune enveloppe de l'État n'est fixée pour 11\xa0000,00\xa0€ de parts prévues",
    )
    assert lu.avant == {
        avenant.modifications.get(nature=NatureModification.PREVU).pk: "10000.00",
        avenant.modifications.get(nature=NatureModification.FICHE).pk: {"statut": StatutFiche.VALIDEE},
    }


def test_a_change_that_no_longer_applies_is_said_and_left_out():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    gone = ModificationAvenant.objects.create(
        avenant=avenant,
        nature=NatureModification.PREVU,
        libelle="Fiche disparue",
        cible={"fiche": "ZZ-01", "annee": 2024, "type_financeur": "etat", "financeur": None},
        apres="999999.00",
    )
    unreadable = ModificationAvenant.objects.create(
        avenant=avenant,
        nature=NatureModification.PREVU,
        libelle="Ancien format",
        cible={"fiche": "A1-01", "annee": 2025, "financeur": "etat"},
        apres={"prevu": "12000.00"},
    )
    fiche_gone = ModificationAvenant.objects.create(
        avenant=avenant, nature=NatureModification.FICHE, libelle="x", cible={"fiche": "ZZ-02"}, apres={"intitule": "x"}
    )
    lu = avenant_lecture(avenant)
    assert lu.inapplicables == {
        gone.pk: "La fiche ZZ-01 n'existe pas dans le contrat CU-2024-D05.",
        unreadable.pk: "Cette modification est illisible : elle ne pourra pas être appliquée.",
        fiche_gone.pk: "La fiche ZZ-02 n'existe pas dans le contrat CU-2024-D05.",
    }
    assert lu.messages == [] and lu.parite == []


def test_a_new_fiche_is_read_with_its_volet_and_money():
    m = monde_signe()
    _volets(m)
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    from actions.services import avenant_propose_fiche_add

    avenant_propose_fiche_add(
        avenant=avenant,
        code="A2-02",
        intitule="Référents de parcours",
        axe=axe(2),
        volet=m.contrat.volets.get(numero=2),
        nature=NatureAction.NOUVELLE,
        porteur=m.porteur,
        date_debut=date(2024, 6, 1),
        date_fin=date(2027, 12, 31),
    )
    avenant_propose_prevu(avenant=avenant, fiche_code="A2-02", annee=2024, type_financeur=ETAT, montant=D("900"))
    lu = avenant_lecture(avenant)
    assert lu.messages == what_signing_finds(avenant)
    assert [(p.fiche, p.etat_avant, p.etat) for p in lu.parite] == [("A2-02", D("0"), D("900"))]
    assert ("A2-02", "Référents de parcours") == (lu.parite[0].fiche, lu.parite[0].intitule)


@pytest.mark.parametrize("n", [2, 20])
def test_queries_do_not_grow_with_the_changes(django_assert_max_num_queries, n):
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    for i in range(n):
        fiche = FicheActionFactory(contrat=m.contrat, code=f"A1-{i + 10}", axe=axe(1), validee=True)
        LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("10"))
        avenant_propose_prevu(avenant=avenant, fiche_code=fiche.code, annee=2024, type_financeur=COLL, montant=D("10"))
        avenant_propose_fiche_change(avenant=avenant, fiche=fiche, intitule=f"Nouveau {i}", porteur=m.caf)
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("90000"))
    # modifications, fiches, lines, ceilings, organisations, rules, and the collectivité (its name in the messages)
    with django_assert_max_num_queries(7):
        lu = avenant_lecture(avenant)
    assert len(lu.modifications) == 2 * n + 1 and lu.messages == []
