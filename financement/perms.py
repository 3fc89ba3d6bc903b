"""Permission predicates of the money (the shared ones are in :mod:`pacte.perms`)."""

from __future__ import annotations

from financement.enums import TypeFinanceur
from pacte.perms import can_enter_execution, can_prepare


def can_edit_ligne(user, contrat, type_financeur: str | None) -> bool:
    """A funding line: the DDETS writes every funder's line, a collectivité's agent only the
    collectivité's (``type_financeur=None`` asks "some line")."""
    if can_prepare(user, contrat):
        return True
    return can_enter_execution(user, contrat) and type_financeur in (None, TypeFinanceur.COLLECTIVITE)
