"""Two writes of a draft avenant's content: removing a proposed change (contrats.services.modification_delete)
and proposing to withdraw a fiche (actions.services.avenant_propose_fiche_retrait, applied by
actions.checks.apply_fiche when the avenant is signed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from actions.enums import StatutFiche
from actions.models import FicheAction
from actions.services import avenant_propose_fiche_change, avenant_propose_fiche_retrait, fiche_transition
from contrats.enums import NatureModification, StatutAvenant
from contrats.models import ModificationAvenant
from contrats.services import avenant_create, avenant_sign, avenant_transition, modification_delete
from financement.checks import parite_et_plafonds
from financement.services import avenant_propose_plafond
from pacte.services import ConflictError
from tests.contrats.test_services import monde_signe
from tests.factories import FicheActionFactory, LigneFinancementFactory, UserFactory, axe

pytestmark = pytest.mark.django_db

D = Decimal


def signer(avenant):
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    return avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="P", signataire_collectivite="C")


# --- modification_delete ---------------------------------------------------------------------------------


def test_a_draft_change_is_removed_and_the_history_says_who():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    garde = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("20000"))
    retiree = avenant_propose_plafond(avenant=avenant, annee=2025, montant=D("1000"))
    agent, pk = UserFactory(), retiree.pk
    modification_delete(modification=retiree, by=agent, version=retiree.version)
    assert list(avenant.modifications.all()) == [garde]
    last = ModificationAvenant.history.filter(id=pk).latest("history_date")
    assert (last.history_type, last.history_user) == ("-", agent)


@pytest.mark.parametrize("statut", [StatutAvenant.PRET_SIGNATURE, StatutAvenant.ABANDONNE])
def test_a_change_of_an_avenant_that_is_not_a_draft_stays(statut):
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    modification = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("20000"))
    avenant_transition(avenant=avenant, to=statut)
    with pytest.raises(ValidationError) as exc:
        modification_delete(modification=modification, version=modification.version)
    label = {StatutAvenant.PRET_SIGNATURE: "prêt pour signature", StatutAvenant.ABANDONNE: "abandonné"}[statut]
    assert exc.value.messages == [
        f"L'avenant n° 1 est « {label} » : il ne se modifie plus (repassez-le en brouillon s'il n'est pas signé)."
    ]
    assert ModificationAvenant.objects.filter(pk=modification.pk).exists()


def test_a_signed_change_stays():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    modification = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("20000"))
    signer(avenant)
    modification.refresh_from_db()
    with pytest.raises(ValidationError, match="« signé » : il ne se modifie plus"):
        modification_delete(modification=modification, version=modification.version)
    assert ModificationAvenant.objects.filter(pk=modification.pk, applique_le__isnull=False).exists()


def test_a_change_edited_since_the_page_was_shown_stays():
    m = monde_signe()
    avenant = avenant_create(contrat=m.contrat, objet="Annexe")
    modification = avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("20000"))
    seen = modification.version
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("25000"))  # the same target: replaced
    with pytest.raises(ConflictError):
        modification_delete(modification=modification, version=seen)
    assert avenant.modifications.get().apres == "25000.00"


# --- avenant_propose_fiche_retrait ------------------------------------------------------------------------


def _deuxieme_fiche(m) -> FicheAction:
    fiche = FicheActionFactory(contrat=m.contrat, code="A1-02", axe=axe(1), validee=True)
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur="etat", prevu=D("5000"))
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur="collectivite", prevu=D("5000"))
    return fiche


def test_withdrawal_abandons_the_fiche_at_signature_and_frees_its_money():
    m = monde_signe()
    fiche = _deuxieme_fiche(m)
    # 15 000 € of State money planned in 2024 against the 15 000 € ceiling: the withdrawal frees 5 000 €
    avenant = avenant_create(contrat=m.contrat, objet="Retrait")
    modification = avenant_propose_fiche_retrait(avenant=avenant, fiche=fiche)
    assert (modification.nature, modification.cible, modification.apres, modification.libelle) == (
        NatureModification.FICHE,
        {"fiche": "A1-02"},
        {"statut": "abandonnee"},
        "Fiche A1-02 : retrait du contrat",
    )
    fiche.refresh_from_db()
    assert fiche.statut == StatutFiche.VALIDEE  # nothing before the signature
    signer(avenant)
    fiche.refresh_from_db()
    modification.refresh_from_db()
    assert fiche.statut == StatutFiche.ABANDONNEE
    assert modification.avant == {"statut": "validee"}
    assert parite_et_plafonds(m.contrat) == []


def test_withdrawal_then_a_content_change_of_the_same_fiche_replaces_it():
    m = monde_signe()
    fiche = _deuxieme_fiche(m)
    avenant = avenant_create(contrat=m.contrat, objet="Retrait")
    avenant_propose_fiche_retrait(avenant=avenant, fiche=fiche)
    avenant_propose_fiche_change(avenant=avenant, fiche=fiche, intitule="Gardée finalement")
    assert avenant.modifications.get().apres == {"intitule": "Gardée finalement"}


@pytest.mark.parametrize(
    ("statuts", "message"),
    [
        pytest.param(
            [StatutFiche.EN_COURS, StatutFiche.TERMINEE],
            "La fiche A1-02 est « terminée » : elle ne peut plus être retirée.",
            id="completed",
        ),
        pytest.param(
            [StatutFiche.ABANDONNEE],
            "La fiche A1-02 est « abandonnée » : elle ne peut plus être retirée.",
            id="already-abandoned",
        ),
    ],
)
def test_a_fiche_that_cannot_be_abandoned_is_not_withdrawn(statuts, message):
    m = monde_signe()
    fiche = _deuxieme_fiche(m)
    for statut in statuts:
        fiche = fiche_transition(fiche=fiche, to=statut)
    avenant = avenant_create(contrat=m.contrat, objet="Retrait")
    with pytest.raises(ValidationError) as exc:
        avenant_propose_fiche_retrait(avenant=avenant, fiche=fiche)
    assert exc.value.messages == [message]
    assert not avenant.modifications.exists()


def test_withdrawal_of_another_contract_s_fiche_is_refused():
    m = monde_signe()
    other = FicheActionFactory(validee=True)
    avenant = avenant_create(contrat=m.contrat, objet="Retrait")
    with pytest.raises(ValidationError, match="Cette fiche n'appartient pas au contrat de l'avenant."):
        avenant_propose_fiche_retrait(avenant=avenant, fiche=other)


def test_a_fiche_completed_after_the_proposal_makes_the_signature_apply_nothing():
    m = monde_signe()
    fiche = _deuxieme_fiche(m)
    avenant = avenant_create(contrat=m.contrat, objet="Retrait")
    avenant_propose_plafond(avenant=avenant, annee=2024, montant=D("30000"))
    avenant_propose_fiche_retrait(avenant=avenant, fiche=fiche)
    fiche_transition(fiche=fiche, to=StatutFiche.EN_COURS)
    fiche_transition(fiche=fiche, to=StatutFiche.TERMINEE)
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    with pytest.raises(ValidationError, match="La fiche A1-02 ne peut pas passer de « Terminée » à « Abandonnée »."):
        avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="P", signataire_collectivite="C")
    assert m.contrat.plafonds.get(annee=2024, volet=None).montant == D("15000")
    assert not avenant.modifications.filter(applique_le__isnull=False).exists()
