"""Money: Decimal to the cent, formatted the French way (``1 234 567,89 €``)."""

from decimal import ROUND_HALF_UP, Decimal

NBSP = "\u00a0"
CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(value) -> Decimal:
    """Round any Decimal-compatible value to the cent (half up, as in accounting)."""
    if value is None:
        return ZERO
    if isinstance(value, float):
        raise TypeError("Les montants ne sont jamais des float : utilisez Decimal.")
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def format_euros(value) -> str:
    """``Decimal("1234567.891")`` → ``"1 234 567,89 €"`` (non-breaking spaces)."""
    amount = to_cents(value)
    sign = "-" if amount < 0 else ""
    units, cents = f"{abs(amount):.2f}".split(".")
    groups = []
    while units:
        groups.insert(0, units[-3:])
        units = units[:-3]
    return f"{sign}{NBSP.join(groups)},{cents}{NBSP}€"
