"""Status transitions, written out as data in each app's ``enums.py`` and checked here, once."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models


def check_transition(
    *, sujet: str, genre: str, statuts: type[models.TextChoices], transitions: dict, current: str, to: str
) -> None:
    """Raises unless ``current → to`` is one of ``transitions``.

    ``sujet`` names the object in the message ("Le contrat CLS-2024-D05"), ``genre`` its kind
    ("de contrat", "d'avenant") for an unknown status.
    """
    if to not in statuts.values:
        raise ValidationError(f"Statut {genre} inconnu : « {to} ».")
    if to not in transitions[current]:
        raise ValidationError(f"{sujet} ne peut pas passer de « {statuts(current).label} » à « {statuts(to).label} ».")
