"""Money to the cent, formatted the French way (docs/regles.md): pure functions, tables of cases."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from pacte.money import format_decimal, format_euros, parse_decimal, to_cents
from pacte.templatetags.pacte import euros

NBSP = "\xa0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(Decimal("0"), "0,00\xa0€", id="zero"),
        pytest.param(Decimal("0.005"), "0,01\xa0€", id="half-cent-rounds-up"),
        pytest.param(Decimal("0.004"), "0,00\xa0€", id="under-half-cent-rounds-down"),
        pytest.param(Decimal("0.025"), "0,03\xa0€", id="half-up-not-bankers"),
        pytest.param(Decimal("999.995"), "1\xa0000,00\xa0€", id="rounding-carries-into-thousands"),
        pytest.param(Decimal("1"), "1,00\xa0€", id="one-euro"),
        pytest.param(Decimal("999.99"), "999,99\xa0€", id="no-group-under-1000"),
        pytest.param(Decimal("1000"), "1\xa0000,00\xa0€", id="thousands"),
        pytest.param(Decimal("60000"), "60\xa0000,00\xa0€", id="sixty-thousand"),
        pytest.param(Decimal("1234567.89"), "1\xa0234\xa0567,89\xa0€", id="millions"),
        pytest.param(Decimal("1234567.891"), "1\xa0234\xa0567,89\xa0€", id="third-decimal-dropped"),
        pytest.param(Decimal("-1234.5"), "-1\xa0234,50\xa0€", id="negative"),
        pytest.param(Decimal("-0.005"), "-0,01\xa0€", id="negative-half-cent-rounds-away-from-zero"),
        pytest.param(Decimal("-0.004"), "0,00\xa0€", id="negative-zero-has-no-sign"),
        pytest.param(None, "0,00\xa0€", id="none-is-zero"),
        pytest.param(1000000, "1\xa0000\xa0000,00\xa0€", id="int"),
        pytest.param("12.5", "12,50\xa0€", id="str"),
    ],
)
def test_format_euros(value, expected):
    assert format_euros(value) == expected


def test_format_euros_uses_non_breaking_spaces_only():
    formatted = format_euros(Decimal("1234567.89"))
    assert " " not in formatted
    assert formatted.count(NBSP) == 3


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, Decimal("0.00"), id="none"),
        pytest.param(Decimal("0.005"), Decimal("0.01"), id="half-up"),
        pytest.param(Decimal("0.015"), Decimal("0.02"), id="half-up-odd"),
        pytest.param(Decimal("0.025"), Decimal("0.03"), id="half-up-even"),
        pytest.param(Decimal("-0.005"), Decimal("-0.01"), id="negative-half"),
        pytest.param(Decimal("1.234"), Decimal("1.23"), id="down"),
        pytest.param("1.235", Decimal("1.24"), id="str"),
        pytest.param(5, Decimal("5.00"), id="int"),
    ],
)
def test_to_cents(value, expected):
    result = to_cents(value)
    assert result == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize("func", [to_cents, format_euros], ids=["to_cents", "format_euros"])
@pytest.mark.parametrize("value", [0.1, 1.5, 0.0], ids=["0.1", "1.5", "0.0"])
def test_floats_are_refused(func, value):
    with pytest.raises(TypeError, match="jamais des float"):
        func(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(None, "", id="none-is-empty"),
        pytest.param("", "", id="empty-string"),
        pytest.param(Decimal("0"), "0,00\xa0€", id="zero-is-shown"),
        pytest.param(Decimal("1234.5"), "1\xa0234,50\xa0€", id="amount"),
    ],
)
def test_euros_template_filter(value, expected):
    assert euros(value) == expected


# --- parse_decimal: the one door through which typed numbers become Decimals ---------------------------

NNBSP = "\u202f"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("12", Decimal("12"), id="integer"),
        pytest.param("0", Decimal("0"), id="zero"),
        pytest.param("12,5", Decimal("12.5"), id="comma"),
        pytest.param("12.5", Decimal("12.5"), id="point-from-spreadsheets"),
        pytest.param("1234.5", Decimal("1234.5"), id="point-thousands-ungrouped"),
        pytest.param("0,01", Decimal("0.01"), id="one-cent"),
        pytest.param("1234567,89", Decimal("1234567.89"), id="no-grouping"),
        pytest.param("1 234 567,89", Decimal("1234567.89"), id="grouped-space"),
        pytest.param(f"1{NBSP}234{NBSP}567,89", Decimal("1234567.89"), id="grouped-nbsp"),
        pytest.param(f"1{NNBSP}234{NNBSP}567,89", Decimal("1234567.89"), id="grouped-narrow-nbsp"),
        pytest.param(f"1 234{NBSP}567{NNBSP}890", Decimal("1234567890"), id="grouped-mixed-spaces"),
        pytest.param("1 000,00", Decimal("1000.00"), id="thousand"),
        pytest.param("1 234.56", Decimal("1234.56"), id="grouped-with-point"),
        pytest.param("1 000,00 €", Decimal("1000.00"), id="euro-after-space"),
        pytest.param(f"1 000,00{NBSP}€", Decimal("1000.00"), id="euro-after-nbsp"),
        pytest.param("1 000,00€", Decimal("1000.00"), id="euro-glued"),
        pytest.param("12 EUR", Decimal("12"), id="eur"),
        pytest.param(f"12{NBSP}EUR", Decimal("12"), id="eur-after-nbsp"),
        pytest.param("-12,5", Decimal("-12.5"), id="negative"),
        pytest.param("-1 000 €", Decimal("-1000"), id="negative-grouped-euro"),
        pytest.param("  12,5  ", Decimal("12.5"), id="surrounding-spaces"),
        pytest.param(f"{NBSP}12,5{NNBSP}", Decimal("12.5"), id="surrounding-nbsp"),
        pytest.param("12,340", Decimal("12.34"), id="trailing-zero-beyond-cents-is-exact"),
        pytest.param("12,3000", Decimal("12.30"), id="trailing-zeros-beyond-cents"),
        pytest.param("007", Decimal("7"), id="leading-zeros-ungrouped"),
        pytest.param("-0", Decimal("0"), id="negative-zero-is-zero"),
        pytest.param("-0,00", Decimal("0.00"), id="negative-zero-cents-is-zero"),
        pytest.param("1" * 30, Decimal("1" * 30), id="30-digits"),
        pytest.param("99 999 999 999,99", Decimal("99999999999.99"), id="large-amount"),
    ],
)
def test_parse_decimal_accepts(text, expected):
    result = parse_decimal(text)
    assert result == expected
    assert result.is_finite()
    assert not result.is_signed() or result < 0


@pytest.mark.parametrize(
    ("text", "places", "expected"),
    [
        pytest.param("0,5", 4, Decimal("0.5"), id="rate"),
        pytest.param("0,1234", 4, Decimal("0.1234"), id="four-places"),
        pytest.param("1.234", 4, Decimal("1.234"), id="point-is-decimal-never-thousands"),
        pytest.param("12", 0, Decimal("12"), id="integer-field"),
        pytest.param("12,0", 0, Decimal("12"), id="integer-field-zero-decimal"),
    ],
)
def test_parse_decimal_other_decimal_places(text, places, expected):
    assert parse_decimal(text, decimal_places=places) == expected


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        pytest.param("", "empty", "la valeur est vide", id="empty"),
        pytest.param("   ", "empty", "la valeur est vide", id="only-spaces"),
        pytest.param(f"{NBSP}{NNBSP}", "empty", "la valeur est vide", id="only-nbsp"),
        pytest.param(
            "1_000", "invalid", "« 1_000 » n'est pas un nombre : le caractère « _ » (position 2)", id="underscore"
        ),
        pytest.param("١٢٣", "invalid_character", "« ١٢٣ » contient un chiffre d'une autre écriture", id="arabic-indic"),
        pytest.param("۱۲", "invalid_character", "(U+06F1)", id="extended-arabic-indic"),
        pytest.param("１２３", "invalid_character", "seuls les chiffres 0 à 9", id="full-width"),
        pytest.param("1２", "invalid_character", "position 2", id="full-width-mixed"),
        pytest.param("१२", "invalid_character", "(U+0967)", id="devanagari"),
        pytest.param("12²", "invalid_character", "(U+00B2)", id="superscript"),
        pytest.param("½", "invalid_character", "(U+00BD)", id="vulgar-fraction"),
        pytest.param("sNaN", "invalid", "« sNaN » n'est pas un nombre", id="snan"),
        pytest.param("NaN", "invalid", "« NaN » n'est pas un nombre", id="nan"),
        pytest.param("-NaN", "invalid", "n'est pas un nombre", id="negative-nan"),
        pytest.param("Infinity", "invalid", "« Infinity » n'est pas un nombre", id="infinity"),
        pytest.param("-Inf", "invalid", "n'est pas un nombre", id="negative-inf"),
        pytest.param("1e309", "invalid", "le caractère « e » (position 2)", id="exponent-overflow"),
        pytest.param("1E3", "invalid", "le caractère « E » (position 2)", id="exponent"),
        pytest.param("0x10", "invalid", "le caractère « x »", id="hexadecimal"),
        pytest.param("1,2,3", "invalid", "plusieurs séparateurs décimaux", id="two-commas"),
        pytest.param("1.2.3", "invalid", "plusieurs séparateurs décimaux", id="two-points"),
        pytest.param("1 23,00", "invalid", "groupes de 3 chiffres", id="group-of-two"),
        pytest.param("1 2345", "invalid", "groupes de 3 chiffres", id="group-of-four"),
        pytest.param("1234 567", "invalid", "groupes de 3 chiffres", id="first-group-of-four"),
        pytest.param("0 123", "invalid", "groupes de 3 chiffres", id="grouped-leading-zero"),
        pytest.param("1  000", "invalid", "groupes de 3 chiffres", id="double-space"),
        pytest.param("1,234 567", "invalid", "groupes de 3 chiffres", id="grouped-decimals"),
        pytest.param("1.234,56", "invalid", "mélange la virgule et le point", id="mixed-separators"),
        pytest.param("1,234.56", "invalid", "mélange la virgule et le point", id="mixed-separators-english"),
        pytest.param("--1", "invalid", "n'est pas un nombre valide", id="double-minus"),
        pytest.param("+-1", "invalid", "le caractère « + »", id="plus-minus"),
        pytest.param("+1", "invalid", "le caractère « + »", id="plus"),
        pytest.param("1-", "invalid", "n'est pas un nombre valide", id="trailing-minus"),
        pytest.param("- 1", "invalid", "n'est pas un nombre valide", id="minus-space"),
        pytest.param("\u22121", "invalid", "(U+2212)", id="unicode-minus"),
        pytest.param("12,", "invalid", "n'est pas un nombre valide", id="no-decimals-after-comma"),
        pytest.param(",5", "invalid", "n'est pas un nombre valide", id="no-units"),
        pytest.param("€12", "invalid", "n'est pas un nombre valide", id="euro-first"),
        pytest.param("12 €€", "invalid", "n'est pas un nombre valide", id="two-euros"),
        pytest.param("12 EURO", "invalid", "le caractère « E » (position 4)", id="euro-word"),
        pytest.param("12 $", "invalid", "le caractère « $ »", id="dollar"),
        pytest.param("12%", "invalid", "le caractère « % »", id="percent"),
        pytest.param("1'000", "invalid", "le caractère « ' »", id="swiss-apostrophe"),
        pytest.param("1\u2009000", "invalid", "le caractère d'espacement U+2009", id="thin-space"),
        pytest.param("1\t000", "invalid_character", "U+0009, position 2", id="tab"),
        pytest.param("12\n", "invalid_character", "U+000A, position 3", id="newline"),
        pytest.param("1\x00", "invalid_character", "U+0000", id="nul"),
        pytest.param("1\x1b2", "invalid_character", "U+001B", id="escape"),
        pytest.param("1\x852", "invalid_character", "U+0085", id="next-line"),
        pytest.param("1\u202e000", "invalid_character", "« 1[U+202E]000 »", id="right-to-left-override"),
        pytest.param("\u200e12", "invalid_character", "U+200E, position 1", id="left-to-right-mark"),
        pytest.param("12\u2066", "invalid_character", "U+2066", id="isolate"),
        pytest.param("1\u200b000", "invalid_character", "U+200B", id="zero-width-space"),
        pytest.param("  1\u202e", "invalid_character", "position 4", id="position-counts-leading-spaces"),
        pytest.param("1" * 31, "too_long", "au plus 30 chiffres", id="31-digits"),
        pytest.param("1" * 25 + ",123456", "too_long", "au plus 30 chiffres", id="31-digits-with-decimals"),
        pytest.param("-" * 61, "too_long", "trop long", id="long-garbage"),
        pytest.param("12,345", "max_decimal_places", "2 au plus (au centime près pour un montant)", id="third-decimal"),
        pytest.param("0,001", "max_decimal_places", "au centime près", id="tenth-of-cent"),
        pytest.param("12,3401", "max_decimal_places", "au centime près", id="non-zero-after-zero"),
        pytest.param("1.234", "max_decimal_places", "au centime près", id="point-thousands-is-refused-not-guessed"),
    ],
)
def test_parse_decimal_refuses(text, code, message):
    with pytest.raises(ValidationError) as excinfo:
        parse_decimal(text)
    assert excinfo.value.code == code
    (rendered,) = excinfo.value.messages
    assert message in rendered


@pytest.mark.parametrize(
    ("text", "places", "message"),
    [
        pytest.param("1,5", 0, "saisissez un nombre entier", id="integer-field"),
        pytest.param("0,12345", 4, "4 au plus", id="rate-five-places"),
    ],
)
def test_parse_decimal_refuses_extra_decimals(text, places, message):
    with pytest.raises(ValidationError, match=message) as excinfo:
        parse_decimal(text, decimal_places=places)
    assert excinfo.value.code == "max_decimal_places"


def test_parse_decimal_quotes_long_input_cut():
    with pytest.raises(ValidationError) as excinfo:
        parse_decimal("x" * 50)
    (rendered,) = excinfo.value.messages
    assert "« " + "x" * 39 + "… »" in rendered


def test_parse_decimal_message_keeps_percent_signs_of_the_input():
    with pytest.raises(ValidationError) as excinfo:
        parse_decimal("50 %(value)s")
    assert "« 50 %(value)s »" in excinfo.value.messages[0]


@pytest.mark.parametrize("value", [Decimal("12"), 12, None, b"12"], ids=["decimal", "int", "none", "bytes"])
def test_parse_decimal_takes_text_only(value):
    with pytest.raises(TypeError):
        parse_decimal(value)


# --- format_decimal --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "places", "expected"),
    [
        pytest.param(None, 2, "", id="none-is-empty"),
        pytest.param(Decimal("1234.5"), 2, "1\xa0234,50", id="thousands"),
        pytest.param(Decimal("0"), 2, "0,00", id="zero"),
        pytest.param(Decimal("999.99"), 2, "999,99", id="no-group-under-1000"),
        pytest.param(Decimal("1000"), 2, "1\xa0000,00", id="one-thousand"),
        pytest.param(Decimal("1234567.891"), 2, "1\xa0234\xa0567,89", id="millions-rounded"),
        pytest.param(Decimal("0.005"), 2, "0,01", id="half-up"),
        pytest.param(Decimal("-1234.5"), 2, "-1\xa0234,50", id="negative"),
        pytest.param(Decimal("-0.004"), 2, "0,00", id="negative-zero-has-no-sign"),
        pytest.param(Decimal("-0"), 2, "0,00", id="negative-zero"),
        pytest.param(Decimal("0.5"), 4, "0,5000", id="four-places"),
        pytest.param(Decimal("1234.5"), 0, "1\xa0235", id="no-places-rounds-half-up"),
        pytest.param(Decimal("1E+3"), 2, "1\xa0000,00", id="exponent-notation"),
        pytest.param(Decimal("1" * 30), 2, "111\xa0" * 9 + "111,00", id="thirty-digits-beyond-context-precision"),
        pytest.param(1234, 2, "1\xa0234,00", id="int"),
        pytest.param("12.5", 2, "12,50", id="str"),
    ],
)
def test_format_decimal(value, places, expected):
    assert format_decimal(value, places) == expected


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("sNaN"), Decimal("Infinity")], ids=["nan", "snan", "inf"])
def test_format_decimal_refuses_non_finite(value):
    with pytest.raises(ValueError, match="nombre fini"):
        format_decimal(value)


def test_format_decimal_refuses_floats():
    with pytest.raises(TypeError, match="jamais des float"):
        format_decimal(0.1)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0.00"),
        Decimal("0.01"),
        Decimal("999.99"),
        Decimal("1000.00"),
        Decimal("-1234567.89"),
        Decimal("999999999999.99"),
    ],
)
def test_format_then_parse_is_identity(value):
    assert parse_decimal(format_decimal(value)) == value
    assert parse_decimal(format_euros(value)) == value


def test_format_then_parse_keeps_every_digit_of_a_large_value():
    value = Decimal("1" * 28 + ".11")
    assert parse_decimal(format_decimal(value)) == value
