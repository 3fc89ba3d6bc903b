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
from pacte.services import check_version, delete_validated, save_validated
from pacte.validators import normalize_identifier
from pacte.workflow import check_transition

#: What a fiche's contractual content holds, with where it sits in the reference list (the objective it
#: serves, or a local measure's label): entered by ``fiche_create`` and ``fiche_update``.
CHAMPS_FICHE = CHAMPS_CONTRACTUELS

#: A fiche code as real documents number them (``A1-03``, ``1.1``, ``FA-01``, ``A1-1``): ASCII letters and
#: digits, in groups joined by one ``.``, ``-`` or ``_``; stored trimmed and upper-cased.
CODE_RE = re.compile(r"[A-Z0-9]+(?:[.\-_][A-Z0-9]+)*")
CODE_MAX_LENGTH = 12

# A validated fiche (and one carried out since) keeps what validation required.
STATUTS_VALIDES = frozenset({StatutFiche.VALIDEE, StatutFiche.EN_COURS, StatutFiche.TERMINEE})

MESSAGE_RENFORCEE = (
    "Une action renforcée doit être justifiée (plus de personnes, nouveaux publics, nouveaux territoires)."
)


def code_errors(code: str) -> str | None:
    """Why ``code`` (already normalized) is not a fiche code, in French; ``None`` when it is one."""
    if len(code) > CODE_MAX_LENGTH:
        return f"Le code « {code} » compte {len(code)} caractères : {CODE_MAX_LENGTH} au plus."
    if not CODE_RE.fullmatch(code):
        return (
            f"Le code « {code} » n'est pas un code de fiche : des lettres sans accent et des chiffres, "
            "séparés par un seul « . », « - » ou « _ » (par exemple A1-03, 1.1 ou FA-01)."
        )
    return None


def _rattachement_errors(fiche: FicheAction) -> dict[str, str]:
    """Where the fiche sits in the reference list: a national measure (its objective is the measure's), an
    objective only, or a local measure (optionally under an objective); all on the fiche's axis."""
    errors: dict[str, str] = {}
    axe = fiche.axe if fiche.axe_id else None
    mesure = fiche.mesure if fiche.mesure_id else None
    objectif = fiche.objectif if fiche.objectif_id else None
    if mesure and axe and mesure.axe_id != axe.pk:
        errors["mesure"] = f"La mesure {mesure.code} relève de l'axe {mesure.axe.numero}, pas de l'axe {axe.numero}."
    if objectif and axe and objectif.axe_id != axe.pk:
        errors["objectif"] = (
            f"L'objectif {objectif.code} relève de l'axe {objectif.axe.numero}, pas de l'axe {axe.numero}."
        )
    elif objectif and mesure and mesure.objectif_id != objectif.pk:
        if mesure.objectif_id is None:
            errors["objectif"] = (
                f"La mesure {mesure.code} n'est rattachée à aucun objectif du Pacte : "
                f"l'action ne peut pas déclarer l'objectif {objectif.code}."
            )
        else:
            errors["objectif"] = (
                f"La mesure {mesure.code} sert l'objectif {mesure.objectif.code}, pas l'objectif {objectif.code} : "
                "l'objectif d'une action est celui de sa mesure nationale."
            )
    if mesure and (fiche.mesure_locale or "").strip():
        errors["mesure_locale"] = "Une action relève d'une mesure nationale ou d'une mesure locale, pas des deux."
    return errors


def fill_objectif(fiche: FicheAction, *, given: bool) -> None:
    """A fiche with a national measure serves the measure's objective: when no objective was given (or an
    empty one), it takes the measure's. A given one is kept, so that ``fiche_errors`` refuses it if it
    contradicts the measure."""
    if fiche.mesure_id and (not given or fiche.objectif_id is None):
        fiche.objectif = fiche.mesure.objectif


def fiche_validation_errors(fiche: FicheAction) -> dict[str, str]:
    """What validating a fiche requires beyond its entry (docs/regles.md): a reinforced action is justified.

    Checked when the fiche is validated (``fiche_transition``), whenever a validated fiche changes
    (``fiche_errors``) and at signature (``actions.checks.fiches_signables``); not at entry, since real
    published lists often give the justification later.
    """
    if fiche.nature == NatureAction.RENFORCEE and not (fiche.justification_renforcement or "").strip():
        return {"justification_renforcement": MESSAGE_RENFORCEE}
    return {}


def fiche_errors(fiche: FicheAction) -> dict[str, str]:
    """Rules that tie a fiche to its contract (docs/regles.md), as ``{field: message}``; a validated fiche
    also keeps what validation required (``fiche_validation_errors``)."""
    contrat = fiche.contrat
    errors: dict[str, str] = {}
    if fiche.axe_id and not contrat.axes.filter(pk=fiche.axe_id).exists():
        axes = ", ".join(str(n) for n in contrat.axes.values_list("numero", flat=True))
        errors["axe"] = f"L'axe {fiche.axe.numero} n'est pas un axe du contrat {contrat.reference} (axes {axes})."
    errors.update(_rattachement_errors(fiche))
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
    if fiche.code and (message := code_errors(fiche.code)):
        errors["code"] = message
    if fiche.statut in STATUTS_VALIDES:
        errors.update(fiche_validation_errors(fiche))
    return errors


# What a fiche's write lends to financement, run after it in its transaction: the dashboards' summary of its
# contract follows the fiche's status, axis, objective, measure and volet, and loses its lines when it is deleted.
SUITES_FICHE = ("financement.checks.synthese_de_la_fiche",)


def suites_fiche(fiche: FicheAction) -> None:
    """Runs ``SUITES_FICHE`` after a fiche was created, changed or deleted (here and by an avenant's appliers)."""
    hooks.run_handlers(hooks.FICHE_MODIFIEE, fiche, expected=SUITES_FICHE)


def _validate_and_save(fiche: FicheAction, by, version: int | None = None) -> FicheAction:
    errors = fiche_errors(fiche)
    if errors:
        raise ValidationError(errors)
    save_validated(fiche, by=by, version=version)
    suites_fiche(fiche)
    return fiche


def next_code(contrat: Contrat, axe_numero: int) -> str:
    """The next code on an axis: ``A1-01``, ``A1-02``… after the highest ``A<axe>-<number>`` of the contract
    (``A1-1`` and ``A1-01`` are both number 1; codes of other forms, ``1.1`` or ``FA-01``, do not count).
    Past the longest code, the smallest number left free."""
    prefix = f"A{axe_numero}-"
    pattern = re.compile(rf"{prefix}([0-9]+)")
    used = set()
    for code in contrat.fiches.filter(code__startswith=prefix).values_list("code", flat=True):
        if match := pattern.fullmatch(code):
            used.add(int(match[1]))
    code = f"{prefix}{(max(used, default=0) + 1):02d}"
    if len(code) > CODE_MAX_LENGTH:
        code = f"{prefix}{min(n for n in range(1, len(used) + 2) if n not in used):02d}"
    return code


def _normalize(fields: dict) -> None:
    """Codes are trimmed and upper-cased, a local measure's label trimmed (blank: no local measure)."""
    if isinstance(fields.get("code"), str):
        fields["code"] = normalize_identifier(fields["code"])
    if isinstance(fields.get("mesure_locale"), str):
        fields["mesure_locale"] = fields["mesure_locale"].strip()


@transaction.atomic
def fiche_create(*, contrat: Contrat, by=None, code: str = "", **fields) -> FicheAction:
    """Creates a proposed fiche on a contract that is not signed (a signed one takes an avenant)."""
    ensure_modifiable(contrat)
    unknown = set(fields) - set(CHAMPS_FICHE)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    _normalize(fields)
    code = normalize_identifier(code) if isinstance(code, str) else code
    fiche = FicheAction(contrat=contrat, **fields)
    fill_objectif(fiche, given="objectif" in fields)
    fiche.code = code or (next_code(contrat, fiche.axe.numero) if fiche.axe_id else "")
    return _validate_and_save(fiche, by)


@transaction.atomic
def fiche_update(*, fiche: FicheAction, by=None, version: int | None = None, **fields) -> FicheAction:
    """Changes a fiche's contractual content, while its contract is not signed."""
    ensure_modifiable(fiche.contrat)
    check_version(fiche, version)  # a stale form hears of the conflict, not of rules on old data
    unknown = set(fields) - set(CHAMPS_FICHE) - {"code"}
    if unknown:
        raise ValidationError(f"Champs non modifiables ici : {', '.join(sorted(unknown))}.")
    _normalize(fields)
    for name, value in fields.items():
        setattr(fiche, name, value)
    fill_objectif(fiche, given="objectif" in fields)
    return _validate_and_save(fiche, by, version)


@transaction.atomic
def fiche_delete(*, fiche: FicheAction, by=None, version: int | None = None) -> None:
    """Deletes a fiche of a contract that is not signed (after signature it is abandoned, by avenant)."""
    ensure_modifiable(fiche.contrat)
    delete_validated(fiche, by=by, version=version)
    suites_fiche(fiche)


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
        errors = [
            *fiche_validation_errors(fiche).values(),
            *hooks.run_checks(hooks.FICHE_VALIDATION, fiche, expected=CONTROLES_VALIDATION),
        ]
        if errors:
            raise ValidationError([f"La fiche {fiche.code} ne peut pas être validée :", *errors])
    fiche.statut = to
    save_validated(fiche, by=by)
    suites_fiche(fiche)
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
    code = normalize_identifier(code) if isinstance(code, str) else code
    if contrat.fiches.filter(code=code).exists():
        raise ValidationError({"code": f"Le code {code} existe déjà dans le contrat {contrat.reference}."})
    draft = FicheAction(contrat=contrat, code=code, **fields)
    # The fiche is born validated when the avenant is signed: it needs what validation requires.
    draft.statut = StatutFiche.VALIDEE
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


def avenant_propose_fiche_retrait(*, avenant, fiche: FicheAction, by=None):
    """Proposes to withdraw a fiche from the signed contract: it becomes « abandonnée » when the avenant is
    signed (``actions.checks.apply_fiche``), and its amounts leave parity and ceilings. Same target as a
    change of its content: proposing one replaces the other."""
    from contrats.enums import NatureModification
    from contrats.services import modification_add

    if fiche.contrat_id != avenant.contrat_id:
        raise ValidationError("Cette fiche n'appartient pas au contrat de l'avenant.")
    if StatutFiche.ABANDONNEE not in TRANSITIONS_FICHE[fiche.statut]:
        raise ValidationError(
            f"La fiche {fiche.code} est « {fiche.get_statut_display().lower()} » : elle ne peut plus être retirée."
        )
    return modification_add(
        avenant=avenant,
        nature=NatureModification.FICHE,
        libelle=f"Fiche {fiche.code} : retrait du contrat",
        cible={"fiche": fiche.code},
        apres={"statut": StatutFiche.ABANDONNEE.value},
        by=by,
    )
