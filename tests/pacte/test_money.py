"""Money to the cent, formatted the French way (DOMAIN.md §5): pure functions, tables of cases."""

from decimal import Decimal

import pytest

from pacte.money import format_euros, to_cents
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
