"""The life of a contract end to end, through the services only (docs/regles.md)."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from actions.enums import NatureAction, StatutFiche
from actions.services import avenant_propose_fiche_change, fiche_create, fiche_transition
from contrats.enums import PartieSignataire, StatutAvenant, StatutContrat, TypeContrat
from contrats.services import (
    avenant_create,
    avenant_sign,
    avenant_transition,
    contrat_create,
    contrat_sign,
    contrat_transition,
    signataire_set,
)
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from financement.services import avenant_propose_prevu, ligne_financement_set, plafond_set
from tests.factories import OrganisationFactory, axe, collectivite

pytestmark = pytest.mark.django_db


def test_un_contrat_de_la_redaction_a_l_avenant(editeur):
    contrat = contrat_create(
        collectivite=collectivite("D05"),
        type_contrat=TypeContrat.CLS_DEPARTEMENT,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
        by=editeur,
    )
    assert contrat.reference == "CLS-2024-D05"
    assert sorted(contrat.axes.values_list("numero", flat=True)) == [1, 3, 4]
    contrat_transition(contrat=contrat, to=StatutContrat.EN_NEGOCIATION, by=editeur)
    fiche = fiche_create(
        contrat=contrat,
        intitule="Bus des familles",
        axe=axe(1),
        nature=NatureAction.NOUVELLE,
        porteur=OrganisationFactory(),
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
        by=editeur,
    )
    assert fiche.code == "A1-01"
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("60000"))
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("50000"))
    with pytest.raises(ValidationError) as exc:
        fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE, by=editeur)
    assert (
        "Fiche A1-01, 2024 : la part prévue de l'État (60\xa0000,00\xa0€) dépasse celle du Département "
        "(50\xa0000,00\xa0€) de 10\xa0000,00\xa0€" in exc.value.messages
    )
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("60000"))
    fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE, by=editeur)

    with pytest.raises(ValidationError, match="aucune enveloppe"):
        contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE, by=editeur)
    plafond_set(contrat=contrat, annee=2024, montant=Decimal("60000"))
    contrat_transition(contrat=contrat, to=StatutContrat.PRET_SIGNATURE, by=editeur)
    signataire_set(
        contrat=contrat,
        partie=PartieSignataire.ETAT,
        nom="A. Préfet",
        qualite="Préfet",
        date_signature=date(2024, 3, 1),
    )
    with pytest.raises(ValidationError, match="signataire pour la collectivité"):
        contrat_sign(contrat=contrat, signed_on=date(2024, 3, 2), by=editeur)
    signataire_set(
        contrat=contrat,
        partie=PartieSignataire.COLLECTIVITE,
        nom="B. Présidente",
        qualite="Présidente du conseil départemental",
        date_signature=date(2024, 3, 2),
    )
    contrat = contrat_sign(contrat=contrat, signed_on=date(2024, 3, 2), by=editeur)
    assert contrat.statut == StatutContrat.SIGNE

    with pytest.raises(ValidationError, match="avenant"):
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("1"))
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, realise=Decimal("55000"))

    avenant = avenant_create(contrat=contrat, objet="Annexe financière 2024", by=editeur)
    assert avenant.numero == 1
    avenant_propose_prevu(
        avenant=avenant, fiche_code="A1-01", annee=2024, type_financeur=TypeFinanceur.ETAT, montant=Decimal("70000")
    )
    avenant_propose_fiche_change(avenant=avenant, fiche=fiche, intitule="Bus des familles itinérant")
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    with pytest.raises(ValidationError, match="dépasse celle du Département"):
        avenant_sign(avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="P", signataire_collectivite="C")
    etat = LigneFinancement.objects.get(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT)
    assert etat.prevu == Decimal("60000.00")  # rolled back
    avenant_transition(avenant=avenant, to=StatutAvenant.BROUILLON)
    avenant_propose_prevu(
        avenant=avenant,
        fiche_code="A1-01",
        annee=2024,
        type_financeur=TypeFinanceur.COLLECTIVITE,
        montant=Decimal("70000"),
    )
    from financement.services import avenant_propose_plafond

    avenant_propose_plafond(avenant=avenant, annee=2024, montant=Decimal("70000"))
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    avenant = avenant_sign(
        avenant=avenant, signed_on=date(2024, 9, 1), signataire_etat="P", signataire_collectivite="C"
    )
    etat.refresh_from_db()
    fiche.refresh_from_db()
    assert etat.prevu == Decimal("70000.00")
    assert fiche.intitule == "Bus des familles itinérant"
    avant_apres = {m.nature: (m.avant, m.apres) for m in avenant.modifications.all()}
    assert avant_apres["fiche"] == ({"intitule": "Bus des familles"}, {"intitule": "Bus des familles itinérant"})
    assert avant_apres["plafond"] == ("60000.00", "70000.00")
