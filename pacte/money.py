"""Money and numbers the French way: Decimal to the cent, formatted ``1 234 567,89 €``, parsed strictly.

``parse_decimal`` is the one door through which typed numbers become Decimals: Python's ``Decimal``
alone would accept ``1_000``, ``١٢٣``, full-width digits, ``sNaN`` and ``1E3``, none of which an
agent means, and refuse ``1 000,00 €``, which is what they type.
"""

import re
import unicodedata
from decimal import ROUND_HALF_UP, Decimal, localcontext

from django.core.exceptions import ValidationError

NBSP = "\u00a0"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")

# A space between thousands, as typed (normal) or pasted from a document (non-breaking, narrow non-breaking).
SPACES = " \u00a0\u202f"
MAX_DIGITS = 30
# Invisible characters that reorder text: a number containing one does not read as it is stored.
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")

_NUMBER = re.compile(
    r"(?P<sign>-)?"
    r"(?P<units>[0-9]+|[1-9][0-9]{0,2}(?:[ \u00a0\u202f][0-9]{3})+)"
    r"(?:[,.](?P<decimals>[0-9]+))?"
    r"(?:[ \u00a0\u202f]?€|[ \u00a0\u202f]EUR)?"
)
_ALLOWED = frozenset("0123456789,.-€" + SPACES)
_DIGIT_SPACE_DIGIT = re.compile(r"[0-9][ \u00a0\u202f]+[0-9]")
_EXAMPLE = "écrivez par exemple 1 234,56"


def to_cents(value) -> Decimal:
    """Round any Decimal-compatible value to the cent (half up, as in accounting)."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        raise TypeError("Les montants ne sont jamais des float : utilisez Decimal.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_decimal(value, decimal_places: int = 2) -> str:
    """``Decimal("1234.5")`` → ``"1 234,50"`` (non-breaking thousands separator, no unit); ``None`` → ``""``.

    Rounded half up to ``decimal_places``; a rounded zero has no sign.
    """
    if value is None:
        return ""
    if isinstance(value, float):
        raise TypeError("Les montants ne sont jamais des float : utilisez Decimal.")
    number = Decimal(value)
    if not number.is_finite():
        raise ValueError(f"{value!r} n'est pas un nombre fini.")
    with localcontext() as context:
        # Enough precision for any magnitude: quantize must never fail on a large value.
        context.prec = max(context.prec, number.adjusted() + decimal_places + 2)
        number = number.quantize(Decimal(1).scaleb(-decimal_places), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    units, _, decimals = f"{number.copy_abs():f}".partition(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{NBSP.join(groups)}" + (f",{decimals}" if decimals else "")


def format_euros(value) -> str:
    """``Decimal("1234567.891")`` → ``"1 234 567,89 €"`` (non-breaking spaces)."""
    return f"{format_decimal(to_cents(value))}{NBSP}€"


def code_point(char: str) -> str:
    """``"\u202e"`` → ``"U+202E"``: how a message names a character that cannot be shown."""
    return f"U+{ord(char):04X}"


def is_invisible(char: str) -> bool:
    """A control, format or bidirectional character: invisible, or changes how the text around it reads."""
    return char in BIDI_CONTROLS or unicodedata.category(char) in {"Cc", "Cf"}


def describe_char(char: str) -> str:
    """A character as a French message can name it, whether or not it can be seen.

    ``le caractère « _ »``, ``le caractère « é » (U+00E9)``, ``le caractère invisible U+202E``,
    ``le caractère d'espacement U+2009``.
    """
    category = unicodedata.category(char)
    if category.startswith("Z"):
        return f"le caractère d'espacement {code_point(char)}"
    if is_invisible(char) or category.startswith("M"):
        return f"le caractère invisible {code_point(char)}"
    if char.isascii():
        return f"le caractère « {char} »"
    return f"le caractère « {char} » ({code_point(char)})"


def _shown(text: str) -> str:
    """The input as it can be quoted back safely: invisible characters named, long input cut."""
    shown = "".join(f"[{code_point(c)}]" if is_invisible(c) else c for c in text)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def _error(message: str, code: str, text: str, **params) -> ValidationError:
    return ValidationError(message, code=code, params={"value": _shown(text), **params})


def parse_decimal(text: str, *, decimal_places: int = 2) -> Decimal:
    """A number typed the French way → a finite Decimal, or a ``ValidationError`` in French.

    Accepts ``1234,5``, ``1 234 567,89`` (thousands grouped by 3 with a normal, non-breaking or
    narrow non-breaking space), ``1234.5`` (spreadsheets), a leading ``-``, a trailing ``€``
    (``12 €``, ``12€``) or `` EUR``, and surrounding spaces. Trailing zeros beyond
    ``decimal_places`` are dropped (``12,340`` is 12.34 to the cent); any other extra decimal is
    refused rather than rounded. Only the ASCII digits 0 to 9 count as digits.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_decimal attend un texte, pas {type(text).__name__}.")
    stripped = text.strip(SPACES)
    if not stripped:
        raise ValidationError("Saisissez un nombre : la valeur est vide.", code="empty")
    offset = len(text) - len(text.lstrip(SPACES))

    for index, char in enumerate(stripped):
        position = offset + index + 1
        if is_invisible(char):
            raise _error(
                "« %(value)s » contient un caractère invisible ou de contrôle (%(char)s, position %(position)s) : "
                "retapez le nombre.",
                "invalid_character",
                text,
                char=code_point(char),
                position=position,
            )
        if char.isnumeric() and char not in "0123456789":
            raise _error(
                "« %(value)s » contient un chiffre d'une autre écriture, %(char)s en position %(position)s : "
                "seuls les chiffres 0 à 9 sont acceptés.",
                "invalid_character",
                text,
                char=describe_char(char),
                position=position,
            )

    if sum(char in "0123456789" for char in stripped) > MAX_DIGITS or len(stripped) > 2 * MAX_DIGITS:
        raise _error(
            "« %(value)s » est trop long : un nombre compte au plus %(max)s chiffres.", "too_long", text, max=MAX_DIGITS
        )

    match = _NUMBER.fullmatch(stripped)
    if match is None:
        raise _diagnose(text, stripped, offset)

    decimals = match["decimals"] or ""
    if len(decimals) > decimal_places:
        if decimals[decimal_places:].strip("0"):
            if decimal_places == 0:
                raise _error("« %(value)s » : saisissez un nombre entier, sans décimales.", "max_decimal_places", text)
            raise _error(
                "« %(value)s » a trop de décimales : %(max)s au plus (au centime près pour un montant).",
                "max_decimal_places",
                text,
                max=decimal_places,
            )
        decimals = decimals[:decimal_places]
    units = "".join(char for char in match["units"] if char in "0123456789")
    number = Decimal(f"{match['sign'] or ''}{units}.{decimals}" if decimals else f"{match['sign'] or ''}{units}")
    # "-0" is zero: never store or show a negative zero.
    return number.copy_abs() if number.is_zero() else number


def _diagnose(text: str, stripped: str, offset: int) -> ValidationError:
    """The most precise reason why ``stripped`` is not a French number."""
    body = stripped.removesuffix(" EUR").removesuffix("\u00a0EUR").removesuffix("\u202fEUR")
    for index, char in enumerate(body):
        if char not in _ALLOWED:
            return _error(
                "« %(value)s » n'est pas un nombre : %(char)s (position %(position)s) "
                "n'est pas accepté ; " + _EXAMPLE + ".",
                "invalid",
                text,
                char=describe_char(char),
                position=offset + index + 1,
            )
    if "," in stripped and "." in stripped:
        return _error(
            "« %(value)s » mélange la virgule et le point : les milliers se séparent par une espace, "
            "les décimales par une virgule (" + _EXAMPLE + ").",
            "invalid",
            text,
        )
    if stripped.count(",") + stripped.count(".") > 1:
        return _error(
            "« %(value)s » contient plusieurs séparateurs décimaux : " + _EXAMPLE + ".",
            "invalid",
            text,
        )
    if _DIGIT_SPACE_DIGIT.search(stripped):
        return _error(
            "« %(value)s » : les espaces séparent les milliers par groupes de 3 chiffres (ex. 1 234 567,89).",
            "invalid",
            text,
        )
    return _error("« %(value)s » n'est pas un nombre valide : " + _EXAMPLE + ".", "invalid", text)
