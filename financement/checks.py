"""What ``financement`` adds to fiche validation and contract signature, and how avenants change money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction
from contrats.enums import NatureModification
from financement.models import LigneFinancement, Plafond
from financement.regles import parite_violations, plafond_violations
from financement.synthese import synthese_refresh
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


def _cible(modification, *keys: str) -> dict:
    """The modification's target, with every key its application reads, or a French refusal (a
    modification recorded in another shape never turns into a server error at signature)."""
    cible = modification.cible if isinstance(modification.cible, dict) else {}
    manque = [key for key in keys if key not in cible]
    if manque:
        raise ValidationError(
            f"La modification « {modification.libelle} » est incomplète ({', '.join(manque)} manquant) : "
            "retirez-la de l'avenant et proposez-la de nouveau."
        )
    return cible


def _montant_apres(modification) -> Decimal:
    try:
        return Decimal(str(modification.apres))
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(
            f"La modification « {modification.libelle} » ne dit pas le nouveau montant : "
            "retirez-la de l'avenant et proposez-la de nouveau."
        ) from None


@hooks.register_applier(NatureModification.PREVU)
def apply_prevu(modification, *, by=None):
    cible = _cible(modification, "fiche", "annee", "type_financeur", "financeur")
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
    ligne.prevu = _montant_apres(modification)
    save_validated(ligne, by=by)
    synthese_refresh(contrat.pk)
    return avant


@hooks.register_applier(NatureModification.PLAFOND)
def apply_plafond(modification, *, by=None):
    cible = _cible(modification, "annee", "volet")
    contrat = modification.avenant.contrat
    plafond = Plafond.objects.filter(contrat=contrat, annee=cible["annee"], volet__numero=cible["volet"]).first()
    if cible["volet"] is None:
        plafond = Plafond.objects.filter(contrat=contrat, annee=cible["annee"], volet__isnull=True).first()
    if plafond is None:
        volet = contrat.volets.get(numero=cible["volet"]) if cible["volet"] else None
        plafond = Plafond(contrat=contrat, annee=cible["annee"], volet=volet)
    avant = str(plafond.montant) if plafond.pk else None
    plafond.montant = _montant_apres(modification)
    save_validated(plafond, by=by)
    return avant


# --- After a fiche's write in actions: the dashboards' summary (actions.services.SUITES_FICHE) --------------------


@hooks.register_handler(hooks.FICHE_MODIFIEE)
def synthese_de_la_fiche(fiche) -> None:
    """The dashboards' summary of the fiche's contract follows its status, axis, objective, measure and volet (and
    loses its lines when it is deleted): ``financement.synthese``."""
    synthese_refresh(fiche.contrat_id)


# --- After a signature: the signed document is frozen (contrats.services.APRES_SIGNATURE) ------------------------


@hooks.register_handler(hooks.CONTRAT_SIGNE)
def figer_convention_signee(contrat) -> None:
    """The signed convention is generated once, sealed and stored, in the background after the commit."""
    from financement.services import document_signe_figer

    document_signe_figer(contrat=contrat)


@hooks.register_handler(hooks.AVENANT_SIGNE)
def figer_avenant_signe(avenant) -> None:
    """The signed avenant is generated once, sealed and stored, in the background after the commit."""
    from financement.services import document_signe_figer

    document_signe_figer(avenant=avenant)


def _sans_page_des_taches() -> None:
    """django-tasks-db registers an admin page of its task rows; the back-office is for the agents and every one of
    its pages is walked by the tests with data of the domain: the documents' and prints' pages show their tasks."""
    from django.contrib import admin
    from django_tasks_db.models import DBTaskResult

    if admin.site.is_registered(DBTaskResult):
        admin.site.unregister(DBTaskResult)


_sans_page_des_taches()
