"""Form fields for numbers typed the French way, shared by the admin and the front office.

Django's ``DecimalField`` hands the raw text to Python's ``Decimal``, which takes ``1_000``, ``١٢٣``
or ``sNaN`` (and then crashes comparing it) but refuses ``1 000,00 €``. These fields parse with
``pacte.money.parse_decimal`` and show numbers back as ``1 234,50``.
"""

import re
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core import validators
from django.core.exceptions import ValidationError
from django.db.models.fields import PositiveIntegerRelDbTypeMixin
from django.forms.utils import flatatt
from django.utils.html import format_html
from django.utils.translation import ngettext_lazy

from pacte.money import MAX_DIGITS, SPACES, ZERO, format_decimal, format_euros, parse_decimal


def _format(value, decimal_places: int | None) -> str:
    """``1 234,50`` with ``decimal_places`` decimals, or as many as the value has when it is None."""
    if decimal_places is None:
        decimal_places = max(0, -Decimal(value).as_tuple().exponent)
    return format_decimal(value, decimal_places)


def _is_number(value) -> bool:
    return isinstance(value, Decimal | int) and not isinstance(value, bool) and Decimal(value).is_finite()


class EntreeRapide:
    """An ``<input>`` written in Python: the same HTML as Django's ``input.html`` template (type, name, value,
    then the attributes), without a template per field. A fiche's funding grid has two inputs per cell
    (amount, version): rendered through templates they were half the page's time."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        final = {"type": widget["type"], "name": widget["name"]}
        if widget["value"] is not None:
            final["value"] = str(widget["value"])
        return format_html("<input{}>", flatatt({**final, **widget["attrs"]}))


class CacheRapide(EntreeRapide, forms.HiddenInput):
    """A hidden input (a row's version) written without a template."""


class DecimalFrInput(EntreeRapide, forms.TextInput):
    """A text input (``inputmode="decimal"`` brings up the numeric keyboard) showing Decimals as ``1 234,50``."""

    def __init__(self, attrs=None, decimal_places: int | None = 2):
        super().__init__({"inputmode": "decimal", **(attrs or {})})
        self.decimal_places = decimal_places

    def format_value(self, value):
        if _is_number(value):
            return _format(value, self.decimal_places)
        # Text the user typed and that did not parse is shown back as typed, to be corrected.
        return super().format_value(value)


class DecimalFrField(forms.DecimalField):
    """A decimal typed the French way (``1 234,5``, ``1234.5``, ``12 €``), validated by ``parse_decimal``.

    Keeps Django's ``max_digits``, ``decimal_places``, ``min_value`` and ``max_value`` checks, with
    French messages showing the limits the French way.
    """

    widget = DecimalFrInput
    # Written in French (not translated): the plural follows %(max)s.
    default_error_messages = {
        "max_digits": ngettext_lazy(
            "Saisissez au plus %(max)s chiffre au total.", "Saisissez au plus %(max)s chiffres au total.", "max"
        ),
        "max_decimal_places": ngettext_lazy(
            "Saisissez au plus %(max)s décimale.", "Saisissez au plus %(max)s décimales.", "max"
        ),
        "max_whole_digits": ngettext_lazy(
            "Saisissez au plus %(max)s chiffre avant la virgule.",
            "Saisissez au plus %(max)s chiffres avant la virgule.",
            "max",
        ),
    }

    def __init__(self, *, max_value=None, min_value=None, max_digits=None, decimal_places=None, **kwargs):
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)
        # Django's own min/max validators would quote a limit as "100000000": ours write "100 000 000,00".
        self.min_value, self.max_value = min_value, max_value
        if min_value is not None:
            self.validators.append(validators.MinValueValidator(min_value, message=self.min_value_message(min_value)))
        if max_value is not None:
            self.validators.append(validators.MaxValueValidator(max_value, message=self.max_value_message(max_value)))
        if isinstance(self.widget, DecimalFrInput):
            self.widget.decimal_places = decimal_places

    def min_value_message(self, limit) -> str:
        return f"Saisissez une valeur supérieure ou égale à {_format(limit, self.decimal_places)}."

    def max_value_message(self, limit) -> str:
        return f"Saisissez une valeur inférieure ou égale à {_format(limit, self.decimal_places)}."

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            # An initial value (disabled field, has_changed), not typed text.
            if not _is_number(value):
                raise ValidationError("Saisissez un nombre fini.", code="invalid")
            return Decimal(value)
        if not isinstance(value, str):
            raise ValidationError("Saisissez un nombre (ex. 1 234,56).", code="invalid")
        if not value.strip(SPACES):
            return None
        places = self.decimal_places if self.decimal_places is not None else MAX_DIGITS
        return parse_decimal(value, decimal_places=places)

    def prepare_value(self, value):
        """Typed text that parses is shown back normalised (``1000,5 €`` → ``1 000,50``), any other as typed."""
        if isinstance(value, str) and value.strip(SPACES):
            try:
                return self.to_python(value)
            except ValidationError:
                return value
        return value


class MontantField(DecimalFrField):
    """An amount in euros: 2 decimals, from 0 to the setting ``PACTE_MONTANT_MAX``."""

    def __init__(self, *, max_digits=14, decimal_places=2, min_value=ZERO, max_value=None, **kwargs):
        if max_value is None:
            max_value = settings.PACTE_MONTANT_MAX
        super().__init__(
            max_digits=max_digits, decimal_places=decimal_places, min_value=min_value, max_value=max_value, **kwargs
        )

    def min_value_message(self, limit) -> str:
        if limit == 0:
            return "Un montant ne peut pas être négatif."
        return f"Saisissez un montant supérieur ou égal à {format_euros(limit)}."

    def max_value_message(self, limit) -> str:
        return f"Saisissez un montant inférieur ou égal à {format_euros(limit)}."


def decimal_formfield(db_field, **kwargs) -> forms.Field:
    """The form field for a model ``DecimalField``: a ``MontantField`` for amounts in euros (the fields
    checked by ``validate_amount``), otherwise a ``DecimalFrField`` (indicator values, rates, ETP).

    Built by the model field itself, so ``blank`` (required or not), the verbose name, help text,
    default, ``max_digits`` and ``decimal_places`` are those of the model; ``kwargs`` override them.
    """
    from pacte.validators import validate_amount

    form_class = MontantField if validate_amount in db_field.validators else DecimalFrField
    return db_field.formfield(**{"form_class": form_class, **kwargs})


class EntierField(forms.IntegerField):
    """An integer typed with the digits 0 to 9 only (``int()`` would take ``1_000``, ``١٢٣`` or ``２０２４``),
    within ``min_value``/``max_value``."""

    default_error_messages = {"invalid": "Saisissez un nombre entier, avec les chiffres de 0 à 9."}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        text = str(value).strip()
        if not re.fullmatch(r"-?[0-9]{1,18}", text):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return int(text)


def integer_formfield(db_field, **kwargs) -> forms.Field:
    """The form field of a model integer field: ASCII digits, within the range PostgreSQL stores for
    that kind of column (SQLite would store anything), and never negative for a positive field."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    low, high = BaseDatabaseOperations.integer_field_ranges.get(db_field.get_internal_type(), (None, None))
    if isinstance(db_field, PositiveIntegerRelDbTypeMixin):
        low = 0
    defaults = {"form_class": EntierField, "min_value": low, "max_value": high}
    return db_field.formfield(**{**defaults, **kwargs})


def harden_text_fields(form) -> None:
    """Every free-text field of a form refuses control and bidirectional characters; a text area is
    capped at ``TEXT_MAX_LENGTH``. For forms over models we do not own (users' names, site settings)."""
    from pacte.validators import TEXT_MAX_LENGTH, validate_line, validate_text, validate_text_length

    for field in form.fields.values():
        if not isinstance(field, forms.CharField) or isinstance(field, forms.EmailField | forms.URLField):
            continue
        if isinstance(field.widget, forms.Textarea):
            extra = [validate_text, validate_text_length]
            field.max_length = field.max_length or TEXT_MAX_LENGTH
        elif isinstance(field.widget, forms.PasswordInput | forms.HiddenInput):
            continue
        else:
            extra = [validate_line]
        field.validators = [*field.validators, *(v for v in extra if v not in field.validators)]
