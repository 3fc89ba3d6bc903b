"""Writes on fiches actions and indicators."""

from __future__ import annotations

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from actions.enums import RETOURS_INTERDITS_APRES_SIGNATURE, TRANSITIONS_FICHE, NatureAction, StatutFiche
from actions.models import CHAMPS_CONTRACTUELS, FicheAction, Indicateur, ValeurIndicateur
from contrats.models import Contrat
from contrats.services import ensure_modifiable, lock_contrat
from pacte import hooks
from pacte.services import delete_validated, save_validated
from pacte.validators import normalize_identifier
from pacte.workflow import check_transition

CODE_RE = re.compile(r"A[1-4]-[0-9]{2,3}")


def fiche_errors(fiche: FicheAction) -> dict[str, str]:
    """Rules that tie a fiche to its contract (docs/regles.md), as ``{field: message}``."""
    contrat = fiche.contrat
    errors: dict[str, str] = {}
    if fiche.axe_id and not contrat.axes.filter(pk=fiche.axe_id).exists():
        axes = ", ".join(str(n) for n in contrat.axes.values_list("numero", flat=True))
        errors["axe"] = f"L'axe {fiche.axe.numero} n'est pas un axe du contrat {contrat.reference} (axes {axes})."
    if fiche.mesure_id and fiche.axe_id and fiche.mesure.axe_id != fiche.axe_id:
        errors["mesure"] = (
            f"La mesure {fiche.mesure.code} relève de l'axe {fiche.mesure.axe.numero}, pas de l'axe {fiche.axe.numero}."
        )
    if fiche.volet_id and fiche.volet.contrat_id != contrat.pk:
        errors["volet"] = "Ce volet appartient à un autre contrat."
    elif fiche.volet_id and fiche.axe_id and fiche.axe.numero != 2:
        # Volets split the CDIE (axis 2); elsewhere a volet would wrongly bring its rule (volet 1: 100 % État).
        errors["volet"] = (
            f"Seules les actions de l'axe 2 relèvent d'un volet (cette action est sur l'axe {fiche.axe.numero})."
        )
    if not fiche.volet_id and contrat.volets.exists() and fiche.axe_id and fiche.axe.numero == 2:
        errors["volet"] = f"Le contrat {contrat.reference} a des volets : rattachez l'action de l'axe 2 à l'un d'eux."
    if fiche.date_debut and fiche.date_debut < contrat.date_debut:
        errors["date_debut"] = (
            f"L'action commence le {fiche.date_debut:%d/%m/%Y}, avant le contrat ({contrat.date_debut:%d/%m/%Y})."
        )
    if fiche.date_fin and fiche.date_fin > contrat.date_fin:
        errors["date_fin"] = (
            f"L'action finit le {fiche.date_fin:%d/%m/%Y}, après le contrat ({contrat.date_fin:%d/%m/%Y})."
        )
    if fiche.code and not CODE_RE.fullmatch(fiche.code):
        errors["code"] = f"Le code « {fiche.code} » doit avoir la forme A<axe>-<numéro>, par exemple A1-03."
    elif fiche.code and fiche.axe_id and fiche.code[1] != str(fiche.axe.numero):
        errors["code"] = f"Le code « {fiche.code} » ne correspond pas à l'axe {fiche.axe.numero}."
    if fiche.nature == NatureAction.RENFORCEE and not fiche.justification_renforcement.strip():
        errors["justification_renforcement"] = (
            "Une action renforcée doit être justifiée (plus de personnes, nouveaux publics, nouveaux territoires)."
        )
    return errors


def _validate_and_save(fiche: FicheAction, by, version: int | None = None) -> FicheAction:
    errors = fiche_errors(fiche)
    if errors:
        raise ValidationError(errors)
    save_validated(fiche, by=by, version=version)
    return fiche


def next_code(contrat: Contrat, axe_numero: int) -> str:
    """The next free code on an axis: A1-01, A1-02…"""
    prefix = f"A{axe_numero}-"
    used = [
        int(c[len(prefix) :]) for c in contrat.fiches.filter(code__startswith=prefix).values_list("code", flat=True)
    ]
    return f"{prefix}{(max(used, default=0) + 1):02d}"


@transaction.atomic
def fiche_create(*, contrat: Contrat, by=None, code: str = "", **fields) -> FicheAction:
    """Creates a proposed fiche on a contract that is not signed (a signed one takes an avenant)."""
    ensure_modifiable(contrat)
    unknown = set(fields) - set(CHAMPS_CONTRACTUELS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    fiche = FicheAction(contrat=contrat, **fields)
    code = normalize_identifier(code) if isinstance(code, str) else code
    fiche.code = code or (next_code(contrat, fiche.axe.numero) if fiche.axe_id else "")
    return _validate_and_save(fiche, by)


@transaction.atomic
def fiche_update(*, fiche: FicheAction, by=None, version: int | None = None, **fields) -> FicheAction:
    """Changes a fiche's contractual content, while its contract is not signed."""
    ensure_modifiable(fiche.contrat)
    unknown = set(fields) - set(CHAMPS_CONTRACTUELS) - {"code"}
    if unknown:
        raise ValidationError(f"Champs non modifiables ici : {', '.join(sorted(unknown))}.")
    if isinstance(fields.get("code"), str):
        fields["code"] = normalize_identifier(fields["code"])
    for name, value in fields.items():
        setattr(fiche, name, value)
    return _validate_and_save(fiche, by, version)


@transaction.atomic
def fiche_delete(*, fiche: FicheAction, by=None, version: int | None = None) -> None:
    """Deletes a fiche of a contract that is not signed (after signature it is abandoned, by avenant)."""
    ensure_modifiable(fiche.contrat)
    delete_validated(fiche, by=by, version=version)


# What validating a fiche checks, lent by financement: parity of its planned amounts, every year.
CONTROLES_VALIDATION = ("financement.checks.parite_fiche",)


@transaction.atomic
def fiche_transition(*, fiche: FicheAction, to: str, by=None) -> FicheAction:
    """Moves a fiche along ``TRANSITIONS_FICHE``. Validation runs the blocking checks (parity)."""
    # The contract first, then the fiche: the lock order of every contractual writer.
    lock_contrat(fiche.contrat_id)
    fiche = FicheAction.objects.select_for_update(of=("self",)).select_related("contrat").get(pk=fiche.pk)
    check_transition(
        sujet=f"La fiche {fiche.code}",
        genre="de fiche",
        statuts=StatutFiche,
        transitions=TRANSITIONS_FICHE,
        current=fiche.statut,
        to=to,
    )
    if (fiche.statut, to) in RETOURS_INTERDITS_APRES_SIGNATURE:
        ensure_modifiable(fiche.contrat)
    if to == StatutFiche.VALIDEE:
        errors = hooks.run_checks(hooks.FICHE_VALIDATION, fiche, expected=CONTROLES_VALIDATION)
        if errors:
            raise ValidationError([f"La fiche {fiche.code} ne peut pas être validée :", *errors])
    fiche.statut = to
    save_validated(fiche, by=by)
    return fiche


@transaction.atomic
def indicateur_create(
    *, fiche: FicheAction, nom: str, type_indicateur: str, unite: str, by=None, **fields
) -> Indicateur:
    """Adds an indicator to a fiche (contractual: before signature only)."""
    indicateur = Indicateur(fiche=fiche, nom=nom, type_indicateur=type_indicateur, unite=unite, **fields)
    return indicateur_save(indicateur=indicateur, by=by)


@transaction.atomic
def indicateur_save(*, indicateur: Indicateur, by=None, version: int | None = None) -> Indicateur:
    """Creates or changes an indicator (contractual: before signature only)."""
    ensure_modifiable(indicateur.fiche.contrat)
    save_validated(indicateur, by=by, version=version)
    return indicateur


@transaction.atomic
def indicateur_delete(*, indicateur: Indicateur, by=None, version: int | None = None) -> None:
    """Removes an indicator and its yearly values, before signature."""
    ensure_modifiable(indicateur.fiche.contrat)
    delete_validated(indicateur, by=by, version=version)


def _check_annee(contrat: Contrat, annee: int) -> None:
    if annee not in contrat.annees:
        raise ValidationError(
            {"annee": f"{annee} est hors de la période du contrat ({contrat.date_debut.year}-{contrat.date_fin.year})."}
        )


def _valeur(indicateur: Indicateur, annee: int) -> ValeurIndicateur:
    _check_annee(indicateur.fiche.contrat, annee)
    return ValeurIndicateur.objects.filter(indicateur=indicateur, annee=annee).first() or ValeurIndicateur(
        indicateur=indicateur, annee=annee
    )


@transaction.atomic
def indicateur_set_cible(*, indicateur: Indicateur, annee: int, cible: Decimal | None, by=None) -> ValeurIndicateur:
    """Sets the target of a year (contractual: before signature, afterwards through an avenant)."""
    ensure_modifiable(indicateur.fiche.contrat)
    valeur = _valeur(indicateur, annee)
    valeur.cible = cible
    save_validated(valeur, by=by)
    return valeur


@transaction.atomic
def indicateur_set_realise(*, indicateur: Indicateur, annee: int, realise: Decimal | None, by=None) -> ValeurIndicateur:
    """Records the value achieved in a year (execution data: allowed after signature)."""
    if annee > timezone.localdate().year:
        raise ValidationError({"annee": f"L'année {annee} n'a pas commencé : pas de valeur atteinte."})
    valeur = _valeur(indicateur, annee)
    valeur.realise = realise
    save_validated(valeur, by=by)
    return valeur


@transaction.atomic
def valeur_indicateur_save(
    *, valeur_indicateur: ValeurIndicateur, by=None, version: int | None = None
) -> ValeurIndicateur:
    """Saves one year of an indicator as a form sends it, whichever of its parts changed.

    The target and the year are contractual (refused once the contract is signed); the achieved
    value is execution data, for a year already begun.
    """
    valeur = valeur_indicateur
    contrat = valeur.indicateur.fiche.contrat
    stored = ValeurIndicateur.objects.filter(pk=valeur.pk).values("annee", "cible", "realise").first() or {}
    _check_annee(contrat, valeur.annee)
    contractuel = not stored or stored["annee"] != valeur.annee or stored["cible"] != valeur.cible
    if contractuel and (stored or valeur.cible is not None):
        ensure_modifiable(contrat)
    if (
        valeur.realise is not None
        and valeur.realise != stored.get("realise")
        and valeur.annee > timezone.localdate().year
    ):
        raise ValidationError({"realise": f"L'année {valeur.annee} n'a pas commencé : pas de valeur atteinte."})
    save_validated(valeur, by=by, version=version)
    return valeur


@transaction.atomic
def valeur_indicateur_delete(*, valeur_indicateur: ValeurIndicateur, by=None, version: int | None = None) -> None:
    """Removes one year of an indicator, before signature."""
    ensure_modifiable(valeur_indicateur.indicateur.fiche.contrat)
    delete_validated(valeur_indicateur, by=by, version=version)


# --- Changes proposed by an avenant ------------------------------------------------------------------


def avenant_propose_fiche_change(*, avenant, fiche: FicheAction, by=None, **changes):
    """Proposes changes to a signed fiche's contractual content; applied when the avenant is signed."""
    from actions.checks import to_json
    from contrats.enums import NatureModification
    from contrats.services import modification_add

    if fiche.contrat_id != avenant.contrat_id:
        raise ValidationError("Cette fiche n'appartient pas au contrat de l'avenant.")
    unknown = set(changes) - set(CHAMPS_CONTRACTUELS)
    if unknown:
        raise ValidationError(f"Champs non modifiables par avenant : {', '.join(sorted(unknown))}.")
    return modification_add(
        avenant=avenant,
        nature=NatureModification.FICHE,
        libelle=f"Fiche {fiche.code} : {', '.join(FicheAction._meta.get_field(n).verbose_name for n in changes)}",
        cible={"fiche": fiche.code},
        apres={name: to_json(name, value) for name, value in changes.items()},
        by=by,
    )


def avenant_propose_fiche_add(*, avenant, code: str, by=None, **fields):
    """Proposes a new fiche; it is created (validated) when the avenant is signed."""
    from actions.checks import to_json
    from contrats.enums import NatureModification
    from contrats.services import modification_add

    contrat = avenant.contrat
    if contrat.fiches.filter(code=code).exists():
        raise ValidationError({"code": f"Le code {code} existe déjà dans le contrat {contrat.reference}."})
    draft = FicheAction(contrat=contrat, code=code, **fields)
    errors = fiche_errors(draft)
    if errors:
        raise ValidationError(errors)
    draft.full_clean(exclude=["contrat"], validate_unique=False, validate_constraints=False)
    return modification_add(
        avenant=avenant,
        nature=NatureModification.FICHE_AJOUT,
        libelle=f"Nouvelle fiche {code} : {fields.get('intitule', '')}",
        cible={"fiche": code},
        apres={name: to_json(name, value) for name, value in fields.items()},
        by=by,
    )


def avenant_propose_cible(*, avenant, indicateur: Indicateur, annee: int, cible: Decimal | None, by=None):
    """Proposes a new yearly target for an indicator."""
    from contrats.enums import NatureModification
    from contrats.services import modification_add

    if indicateur.fiche.contrat_id != avenant.contrat_id:
        raise ValidationError("Cet indicateur n'appartient pas au contrat de l'avenant.")
    return modification_add(
        avenant=avenant,
        nature=NatureModification.CIBLE,
        libelle=f"Fiche {indicateur.fiche.code}, {indicateur.nom}, cible {annee}",
        cible={"fiche": indicateur.fiche.code, "indicateur": indicateur.pk, "annee": annee},
        # Wrapped in a dict: a bare None cannot be stored (``apres`` is not nullable) and means "no target".
        apres={"cible": None if cible is None else str(cible)},
        by=by,
    )
