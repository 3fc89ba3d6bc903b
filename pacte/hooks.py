"""Checks and appliers that a higher app lends to a lower one.

Dependencies flow one way (pacte ← contrats ← actions ← financement), yet signing a contract must
run the parity rule of ``financement`` and validating a fiche must too. The lower app asks for the
checks of an event; the higher apps register theirs in ``AppConfig.ready``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from django.core.exceptions import ImproperlyConfigured

_checks: dict[str, list[Callable[[object], list[str]]]] = defaultdict(list)
_handlers: dict[str, list[Callable[[object], None]]] = defaultdict(list)
_appliers: dict[str, Callable] = {}

CONTRAT_SIGNATURE = "contrat_signature"
FICHE_VALIDATION = "fiche_validation"
# Events after a write, in its transaction: what a higher app does once a signature is recorded.
CONTRAT_SIGNE = "contrat_signe"
AVENANT_SIGNE = "avenant_signe"
# After a fiche is created, changed (content, status, by avenant) or deleted: what a higher app keeps from it
# (financement's dashboards summary, ``financement.synthese``).
FICHE_MODIFIEE = "fiche_modifiee"


def register_check(event: str):
    """Decorator: ``fn(obj) -> list[str]`` returns the blocking errors for ``event``."""

    def decorator(fn):
        if fn not in _checks[event]:
            _checks[event].append(fn)
        return fn

    return decorator


def _name(fn) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _expected(registry: dict, event: str, expected: tuple[str, ...], what: str) -> dict[str, Callable]:
    registered = {_name(fn): fn for fn in registry[event]}
    missing = [name for name in expected if name not in registered]
    if missing:
        raise ImproperlyConfigured(
            f"{what} manquants pour « {event} » : {', '.join(missing)}. Rien n'est enregistré sans eux."
        )
    return registered


def run_checks(event: str, obj, *, expected: tuple[str, ...]) -> list[str]:
    """Runs the checks of ``event``, which must be exactly ``expected`` (dotted names, listed where the
    workflow runs so a reader sees them). A missing one fails closed: nothing is signed or validated
    without every rule (e.g. if an app were not installed)."""
    registered = _expected(_checks, event, expected, "Contrôles")
    errors: list[str] = []
    for name in expected:
        errors.extend(registered[name](obj))
    return errors


def register_handler(event: str):
    """Decorator: ``fn(obj) -> None`` runs after the write ``event`` names, inside its transaction (work that
    takes time is queued with ``transaction.on_commit``); an exception rolls the write back."""

    def decorator(fn):
        if fn not in _handlers[event]:
            _handlers[event].append(fn)
        return fn

    return decorator


def run_handlers(event: str, obj, *, expected: tuple[str, ...]) -> None:
    """Runs the handlers of ``event``, which must be exactly ``expected`` (named where the write happens). A
    missing one fails closed, as for the checks: e.g. no contract is signed without its document being frozen."""
    registered = _expected(_handlers, event, expected, "Suites")
    for name in expected:
        registered[name](obj)


def register_applier(nature: str):
    """Decorator: ``fn(modification) -> before`` applies one kind of avenant modification."""

    def decorator(fn):
        _appliers[nature] = fn
        return fn

    return decorator


def applier(nature: str) -> Callable:
    try:
        return _appliers[nature]
    except KeyError:
        raise LookupError(f"Aucune application connue pour une modification « {nature} ».") from None
