"""Input hygiene: Django validators for what people type, each raising a French ``ValidationError`` with a code.

Free text may hold any script but no invisible control or direction-changing character (they make
a reference read differently from what is stored); identifiers and SIRET hold ASCII only, because
Python's ``\\d`` and ``str.upper()`` would let other scripts' digits and ligatures through.
"""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from pacte.money import BIDI_CONTROLS, NBSP, describe_char, format_decimal, format_euros

_LINE_BREAKS = {
    "\n": "un retour à la ligne U+000A",
    "\r": "un retour chariot U+000D",
    "\t": "une tabulation U+0009",
    "\u2028": "un séparateur de ligne U+2028",
    "\u2029": "un séparateur de paragraphe U+2029",
}
_IDENTIFIER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
IDENTIFIER_MAX_LENGTH = 40
LA_POSTE_SIREN = "356000000"


def validate_text(value) -> None:
    """Multi-line free text: no control character other than line feed, carriage return and tab,
    and no bidirectional control (U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069)."""
    for index, char in enumerate(value or ""):
        if char in "\n\r\t":
            continue
        # Other invisible format characters (the zero-width joiner of emoji sequences…) are legitimate in text.
        if char in BIDI_CONTROLS or unicodedata.category(char) == "Cc":
            raise ValidationError(
                "Ce texte contient %(char)s (position %(position)s), qui ne s'affiche pas ou inverse le sens "
                "de lecture : retirez-le.",
                code="control_character",
                params={"char": describe_char(char), "position": index + 1},
            )


def validate_line(value) -> None:
    """Single-line text: ``validate_text`` and no line break or tab."""
    for index, char in enumerate(value or ""):
        if char in _LINE_BREAKS:
            raise ValidationError(
                "Ce champ tient sur une ligne, sans retour à la ligne ni tabulation (ici %(what)s "
                "en position %(position)s).",
                code="line_break",
                params={"what": _LINE_BREAKS[char], "position": index + 1},
            )
    validate_text(value)


def normalize_identifier(value: str) -> str:
    """``" a1-03 "`` → ``"A1-03"``: trims spaces and upper-cases ASCII letters only.

    ``str.upper()`` would turn the ligature ``ﬁ`` into ``FI`` or ``ß`` into ``SS``: other scripts
    are left as typed so that ``validate_identifier`` refuses them instead of storing a guess.
    """
    trimmed = (value or "").strip(" \t\r\n\u00a0\u202f")
    return "".join(char.upper() if "a" <= char <= "z" else char for char in trimmed)


def validate_identifier(value) -> None:
    """A code (contract reference ``CLS-2024-D05``, fiche code ``A1-03``, ``1.1``, organisation code):
    ASCII letters, digits, ``-``, ``_`` and ``.``, 1 to 40 characters, starting with a letter or digit."""
    value = value or ""
    if not 1 <= len(value) <= IDENTIFIER_MAX_LENGTH:
        raise ValidationError(
            "Un code compte de 1 à %(max)s caractères (ici %(length)s).",
            code="identifier_length",
            params={"max": IDENTIFIER_MAX_LENGTH, "length": len(value)},
        )
    for index, char in enumerate(value):
        if char not in _IDENTIFIER_CHARS:
            raise ValidationError(
                "Un code ne contient que des lettres sans accent, des chiffres de 0 à 9, « - », « _ » et « . » : "
                "%(char)s (position %(position)s) n'est pas accepté.",
                code="identifier_character",
                params={"char": describe_char(char), "position": index + 1},
            )
    if value[0] not in _ALNUM:
        raise ValidationError(
            "Un code commence par une lettre ou un chiffre, pas par %(char)s.",
            code="identifier_start",
            params={"char": describe_char(value[0])},
        )


def _luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def validate_siret(value) -> None:
    """14 ASCII digits with a valid Luhn key.

    La Poste's establishments (SIREN 356000000) are the INSEE's documented exception: their SIRET
    is valid when the sum of its 14 digits is a multiple of 5. Its head office, 356 000 000 00048,
    follows Luhn, so a La Poste SIRET is valid under either rule. Empty is left to ``blank``.
    """
    if not value:
        return
    if len(value) != 14 or not all(char in "0123456789" for char in value):
        raise ValidationError("Un SIRET compte 14 chiffres.", code="siret_format")
    if _luhn_valid(value):
        return
    if value.startswith(LA_POSTE_SIREN) and sum(int(char) for char in value) % 5 == 0:
        return
    raise ValidationError("Ce SIRET n'est pas valide (clé de contrôle).", code="siret_checksum")


def pacte_years() -> range:
    """The Pacte's years, inclusive of both ends, from the setting ``PACTE_PERIODE`` (``"2024-2027"``)."""
    periode = str(settings.PACTE_PERIODE)
    match = re.fullmatch(r"([0-9]{4})-([0-9]{4})", periode)
    if match is None or int(match[1]) > int(match[2]):
        raise ImproperlyConfigured(f"PACTE_PERIODE={periode!r} : attendu « AAAA-AAAA » (ex. 2024-2027).")
    return range(int(match[1]), int(match[2]) + 1)


def _periode(years: range) -> str:
    return f"{years[0]}-{years[-1]}"


def validate_year(value) -> None:
    """A year of the Pacte (an int within ``pacte_years()``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError("Saisissez une année (ex. 2025).", code="invalid_year")
    years = pacte_years()
    if value not in years:
        raise ValidationError(
            "L'année %(year)s est hors de la période du Pacte (%(periode)s).",
            code="year_out_of_range",
            params={"year": value, "periode": _periode(years)},
        )


def validate_pacte_date(value) -> None:
    """A date between 1 January of the Pacte's first year and 31 December of its last year."""
    if isinstance(value, datetime):
        value = value.date()
    if not isinstance(value, date):
        raise ValidationError("Saisissez une date (ex. 15/03/2025).", code="invalid_date")
    years = pacte_years()
    first, last = date(years[0], 1, 1), date(years[-1], 12, 31)
    if not first <= value <= last:
        raise ValidationError(
            "La date du %(date)s est hors de la période du Pacte (du %(first)s au %(last)s).",
            code="date_out_of_range",
            params={
                "date": value.strftime("%d/%m/%Y"),
                "first": first.strftime("%d/%m/%Y"),
                "last": last.strftime("%d/%m/%Y"),
            },
        )


def validate_amount(value) -> None:
    """An amount in euros: a finite Decimal, at least 0, at most the setting ``PACTE_MONTANT_MAX``."""
    if isinstance(value, bool) or not isinstance(value, Decimal | int) or not Decimal(value).is_finite():
        raise ValidationError("Saisissez un montant en euros (ex. 1 234,56).", code="invalid_amount")
    if value < 0:
        raise ValidationError("Un montant ne peut pas être négatif.", code="amount_negative")
    maximum = settings.PACTE_MONTANT_MAX
    if value > maximum:
        # Shown with every decimal it has, so that 100 000 000,001 € never reads as the maximum itself.
        places = max(2, -Decimal(value).as_tuple().exponent)
        raise ValidationError(
            "Le montant %(amount)s dépasse le maximum autorisé (%(max)s).",
            code="amount_max",
            params={"amount": f"{format_decimal(value, places)}{NBSP}€", "max": format_euros(maximum)},
        )


#: Free text (descriptions, diagnostics, motifs) is capped: a paragraph, not a file.
TEXT_MAX_LENGTH = 10_000


def validate_text_length(value) -> None:
    if value and len(value) > TEXT_MAX_LENGTH:
        raise ValidationError(
            "Ce texte fait %(length)s caractères ; il en compte %(max)s au plus.",
            code="text_too_long",
            params={"length": f"{len(value):,}".replace(",", NBSP), "max": f"{TEXT_MAX_LENGTH:,}".replace(",", NBSP)},
        )


#: The validators of each kind of field, for the models' declarations.
TEXT = [validate_text, validate_text_length]
LINE = [validate_line]
IDENTIFIER = [validate_identifier]


def validate_ej(value) -> None:
    """A Chorus legal commitment number (engagement juridique): 10 ASCII digits."""
    if value and not re.fullmatch(r"[0-9]{10}", value):
        raise ValidationError("Le numéro d'engagement juridique Chorus compte 10 chiffres.", code="ej")


#: An indicator counts people, households, sessions, or a rate: never negative, never absurd.
INDICATOR_MAX = Decimal("1000000000")


def validate_indicator_value(value) -> None:
    """An indicator's baseline, target or achieved value: between 0 and one billion."""
    if value is None:
        return
    if value < 0:
        raise ValidationError("La valeur d'un indicateur ne peut pas être négative.", code="indicator_negative")
    if value > INDICATOR_MAX:
        raise ValidationError(
            "La valeur %(value)s dépasse le maximum d'un indicateur (%(max)s).",
            code="indicator_max",
            params={"value": format_decimal(value), "max": format_decimal(INDICATOR_MAX, 0)},
        )
