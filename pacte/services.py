"""What every service shares: validate and save, optimistic versions, French errors for the database's refusals.

Every write of the application goes through a service of its app (``contrats.services``,
``actions.services``…), and every service saves through :func:`save_validated` and deletes through
:func:`delete_validated`. So a rule, a version check or a uniqueness error is written once, whoever
writes: an admin page, a front-office form, an import row or a command.
"""

from __future__ import annotations

import re

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import UniqueConstraint
from django.db.models.deletion import ProtectedError, RestrictedError
from django.utils import timezone


def attribute_history(instance, by) -> None:
    """Record ``by`` as the author of the next history row of ``instance`` (outside a request too)."""
    if by is not None:
        instance._history_user = by


class ConflictError(ValidationError):
    """The object changed since the form that edits it was shown: nothing is overwritten."""


def _label(model, name: str) -> str:
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name


def conflict_message(instance, seen_version: int) -> str:
    """Says who changed what since ``seen_version``, from the audit trail when the model has one."""
    model = type(instance)
    name = f"{model._meta.verbose_name} « {instance} »"
    history = getattr(instance, "history", None)
    if history is not None and instance.pk:
        records = list(history.filter(version__gte=seen_version).order_by("history_date", "history_id"))
        # The last row of that version: a many-to-many change (contract axes) adds a row without a new version.
        seen = next((r for r in reversed(records) if r.version == seen_version), None)
        latest = records[-1] if records else None
        if seen is not None and latest is not None and latest.version != seen_version:
            changed = [
                _label(model, change.field)
                for change in latest.diff_against(seen).changes
                if change.field not in ("version", "modifie_le")
            ]
            who = latest.history_user.get_username() if latest.history_user_id else "un autre utilisateur"
            when = timezone.localtime(latest.history_date).strftime("%d/%m/%Y à %H:%M")
            what = f" ({', '.join(changed)})" if changed else ""
            return (
                f"{name[0].upper()}{name[1:]} a été modifié{what} par {who} le {when}, pendant votre saisie : "
                "rien n'a été enregistré. Rechargez la page pour repartir de la version actuelle."
            )
    return (
        f"{name[0].upper()}{name[1:]} a été modifié par un autre utilisateur pendant votre saisie : "
        "rien n'a été enregistré. Rechargez la page pour repartir de la version actuelle."
    )


def check_version(instance, version: int | None) -> None:
    """Raises :class:`ConflictError` unless the stored row still has ``version`` (the one the form showed).

    The row is locked until the end of the transaction, so two saves of the same version serialize:
    the second one sees the first one's version and is refused. Lock order, everywhere: the contract
    first (``ensure_modifiable``), then the row.
    """
    if version is None or instance.pk is None or not hasattr(instance, "version"):
        return
    # Unordered and ``of=self``: the model's default ordering may join its parents (a line → its fiche →
    # its contract), and FOR UPDATE would lock them too, in the wrong order (see ensure_modifiable).
    rows = type(instance)._default_manager.filter(pk=instance.pk).order_by()
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update(of=("self",))
    current = rows.values_list("version", flat=True).first()
    if current is None:
        raise ConflictError("Cet enregistrement a été supprimé pendant votre saisie : rien n'a été enregistré.")
    if current != int(version):
        raise ConflictError(conflict_message(instance, int(version)))


def _constraint_message(model, error: IntegrityError) -> str:
    """The French message of the constraint the database refused (PostgreSQL names the constraint,
    SQLite its columns)."""
    text = str(error)
    for constraint in model._meta.constraints:
        if constraint.name in text:
            return str(constraint.violation_error_message % {"name": constraint.name})
    # SQLite names the columns; PostgreSQL names a unique field's index and details its key.
    failed = re.search(r"UNIQUE constraint failed: (.+)", text) or re.search(r"Key \(([^)]+)\)=", text)
    if failed:
        columns = {part.strip().split(".")[-1].strip('"') for part in failed[1].split(",")}
        for constraint in model._meta.constraints:
            fields = getattr(constraint, "fields", ())
            if fields and {model._meta.get_field(f).column for f in fields} == columns:
                return str(constraint.violation_error_message % {"name": constraint.name})
        for field in model._meta.fields:
            if field.unique and {field.column} == columns:
                # The very message full_clean gives for the same duplicate.
                return str(field.error_messages["unique"]) % {
                    "model_name": str(model._meta.verbose_name).capitalize(),
                    "field_label": str(field.verbose_name),
                }
    return (
        "Cette saisie ferait un doublon ou une incohérence avec un enregistrement existant : rien n'a été enregistré."
    )


def _on_fields(model, error: ValidationError) -> ValidationError:
    """A unique constraint over several fields is reported on its last field (the code in the contract,
    the year of the line…), where a form shows it, rather than at the top of the form."""
    if not hasattr(error, "error_dict") or NON_FIELD_ERRORS not in error.error_dict:
        return error
    by_message: dict[str, str] = {}
    for constraint in model._meta.constraints:
        if isinstance(constraint, UniqueConstraint) and constraint.fields:
            by_message.setdefault(str(constraint.violation_error_message), constraint.fields[-1])
    errors: dict[str, list] = {k: v for k, v in error.error_dict.items() if k != NON_FIELD_ERRORS}
    for item in error.error_dict[NON_FIELD_ERRORS]:
        field = by_message.get(item.messages[0], NON_FIELD_ERRORS)
        errors.setdefault(field, []).append(item)
    return ValidationError(errors)


@transaction.atomic
def save_validated(instance, *, by=None, exclude=None, version: int | None = None) -> None:
    """Checks the version, ``full_clean()``, then saves, recording ``by`` in the audit trail.

    A constraint the database still refuses (two writers racing past ``full_clean``) becomes a French
    ``ValidationError``, never an ``IntegrityError``.
    """
    check_version(instance, version)
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as error:
        raise _on_fields(type(instance), error) from None
    attribute_history(instance, by)
    if hasattr(instance, "version") and instance.pk is not None:
        instance.version = (instance.version or 0) + 1
    try:
        with transaction.atomic():
            instance.save()
    except IntegrityError as error:
        raise ValidationError(_constraint_message(type(instance), error)) from None


@transaction.atomic
def delete_validated(instance, *, by=None, version: int | None = None) -> None:
    """Deletes ``instance`` after the version check; rows that still depend on it refuse it in French."""
    check_version(instance, version)
    attribute_history(instance, by)
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as error:
        blocking = sorted({str(obj._meta.verbose_name_plural) for obj in error.protected_objects})
        raise ValidationError(
            f"{str(type(instance)._meta.verbose_name).capitalize()} « {instance} » ne peut pas être supprimé : "
            f"des {', '.join(blocking)} en dépendent."
        ) from None


# --- Reference data and accounts (administration centrale, superusers) --------------------------------


@transaction.atomic
def reference_save(*, instance, by=None, version: int | None = None, m2m: dict | None = None):
    """Saves a row of reference data (territory, axis, measure): validated, versioned, audited."""
    save_validated(instance, by=by, version=version)
    for name, values in (m2m or {}).items():
        getattr(instance, name).set(values)
    return instance


@transaction.atomic
def reference_delete(*, instance, by=None, version: int | None = None) -> None:
    """Deletes a row of reference data that nothing uses any more."""
    delete_validated(instance, by=by, version=version)


@transaction.atomic
def organisation_save(*, organisation, by=None, version: int | None = None, departement_local=None):
    """Saves an organisation. ``departement_local``: a DDETS agent adds or edits only partners of its
    own département (they carry or fund its actions)."""
    from pacte.enums import TypeOrganisation

    if departement_local is not None:
        organisation.type = TypeOrganisation.PARTENAIRE
        organisation.departement = departement_local
        organisation.region = None
        organisation.collectivite = None
    save_validated(organisation, by=by, version=version)
    return organisation


@transaction.atomic
def user_save(*, user, by=None, version: int | None = None, m2m: dict | None = None):
    """Saves an agent's account (its organisation and role give its perimeter and rights)."""
    save_validated(user, by=by, version=version, exclude=["password"] if not user.password else None)
    for name, values in (m2m or {}).items():
        getattr(user, name).set(values)
    return user


# --- The Pacte's objectives and national measures (administration centrale) ------------------------------


def mesure_errors(mesure) -> dict[str, str]:
    """A national measure serves an objective of its own axis (docs/regles.md), as ``{field: message}``."""
    if mesure.objectif_id and mesure.axe_id and mesure.objectif.axe_id != mesure.axe_id:
        return {
            "objectif": (
                f"La mesure {mesure.code} est sur l'axe {mesure.axe.numero} : l'objectif {mesure.objectif.code} "
                f"relève de l'axe {mesure.objectif.axe.numero}."
            )
        }
    return {}


@transaction.atomic
def mesure_save(*, mesure, by=None, version: int | None = None):
    """Saves a national measure (code trimmed and upper-cased): validated (``mesure_errors``), versioned,
    audited. Retired with ``active``, never deleted."""
    from pacte.validators import normalize_identifier

    mesure.code = normalize_identifier(mesure.code) if isinstance(mesure.code, str) else mesure.code
    errors = mesure_errors(mesure)
    if errors:
        raise ValidationError(errors)
    save_validated(mesure, by=by, version=version)
    return mesure


def objectif_errors(objectif) -> dict[str, str]:
    """An objective keeps the axis of the national measures that serve it (docs/regles.md)."""
    if objectif.pk is None or not objectif.axe_id:
        return {}
    autres = list(objectif.mesures.exclude(axe_id=objectif.axe_id).order_by("code").values_list("code", flat=True))
    if not autres:
        return {}
    if len(autres) == 1:
        qui = f"la mesure {autres[0]} le sert sur son axe. Rattachez-la"
    else:
        qui = f"les mesures {', '.join(autres)} le servent sur leur axe. Rattachez-les"
    return {"axe": f"L'objectif {objectif.code} ne peut pas changer d'axe : {qui} d'abord à un autre objectif."}


@transaction.atomic
def objectif_save(*, objectif, by=None, version: int | None = None):
    """Saves an objective of the Pacte (code trimmed and upper-cased): validated (``objectif_errors``),
    versioned, audited. Retired with ``active``, never deleted."""
    from pacte.validators import normalize_identifier

    objectif.code = normalize_identifier(objectif.code) if isinstance(objectif.code, str) else objectif.code
    errors = objectif_errors(objectif)
    if errors:
        raise ValidationError(errors)
    save_validated(objectif, by=by, version=version)
    return objectif
