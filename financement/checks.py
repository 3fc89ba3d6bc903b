"""What ``financement`` adds to fiche validation and contract signature, and how avenants change money."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction
from contrats.enums import NatureModification
from financement.models import LigneFinancement, Plafond
from financement.regles import parite_violations, plafond_violations
from pacte import hooks
from pacte.services import save_validated


@hooks.register_check(hooks.FICHE_VALIDATION)
def parite_fiche(fiche: FicheAction) -> list[str]:
    """Blocking: the fiche's planned amounts respect parity every year."""
    return parite_violations(FicheAction.objects.filter(pk=fiche.pk))


@hooks.register_check(hooks.CONTRAT_SIGNATURE)
def parite_et_plafonds(contrat) -> list[str]:
    """Blocking: every active fiche respects parity, and the State's shares fit the annual ceilings."""
    fiches = FicheAction.objects.filter(contrat=contrat, statut__in=STATUTS_ACTIFS)
    return parite_violations(fiches) + plafond_violations(contrat)


@hooks.register_applier(NatureModification.PREVU)
def apply_prevu(modification, *, by=None):
    cible = modification.cible
    contrat = modification.avenant.contrat
    try:
        fiche = FicheAction.objects.get(contrat=contrat, code=cible["fiche"])
    except FicheAction.DoesNotExist:
        raise ValidationError(f"La fiche {cible['fiche']} n'existe pas dans le contrat {contrat.reference}.") from None
    ligne = LigneFinancement.objects.filter(
        fiche=fiche,
        annee=cible["annee"],
        type_financeur=cible["type_financeur"],
        financeur_id=cible["financeur"],
    ).first() or LigneFinancement(
        fiche=fiche,
        annee=cible["annee"],
        type_financeur=cible["type_financeur"],
        financeur_id=cible["financeur"],
    )
    avant = str(ligne.prevu) if ligne.pk else None
    ligne.prevu = Decimal(modification.apres)
    save_validated(ligne, by=by)
    return avant


@hooks.register_applier(NatureModification.PLAFOND)
def apply_plafond(modification, *, by=None):
    cible = modification.cible
    contrat = modification.avenant.contrat
    plafond = Plafond.objects.filter(contrat=contrat, annee=cible["annee"], volet__numero=cible["volet"]).first()
    if cible["volet"] is None:
        plafond = Plafond.objects.filter(contrat=contrat, annee=cible["annee"], volet__isnull=True).first()
    if plafond is None:
        volet = contrat.volets.get(numero=cible["volet"]) if cible["volet"] else None
        plafond = Plafond(contrat=contrat, annee=cible["annee"], volet=volet)
    avant = str(plafond.montant) if plafond.pk else None
    plafond.montant = Decimal(modification.apres)
    save_validated(plafond, by=by)
    return avant
