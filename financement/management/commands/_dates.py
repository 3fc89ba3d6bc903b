"""What the report commands share: ``--date``, the day they act as if it were (a frozen "today" for tests and for
catching up a day the job did not run)."""

from __future__ import annotations

from datetime import date

from django.core.management.base import CommandError
from django.utils import timezone


def ajouter_option_date(parser) -> None:
    parser.add_argument(
        "--date",
        dest="jour",
        metavar="AAAA-MM-JJ",
        help="Agir comme si l'on était ce jour-là (par défaut : aujourd'hui).",
    )


def jour_de(valeur: str | None) -> date:
    """The day given by ``--date``, or today."""
    if not valeur:
        return timezone.localdate()
    try:
        return date.fromisoformat(valeur.strip())
    except ValueError:
        raise CommandError(f"« {valeur} » n'est pas une date : écrivez-la AAAA-MM-JJ (ex. 2025-03-31).") from None
