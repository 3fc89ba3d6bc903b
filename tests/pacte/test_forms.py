"""Form fields for French numbers: parsing, limits with French messages, rendering and re-rendering."""

from decimal import Decimal

import pytest
from django import forms
from django.db import models
from django.test import override_settings

from financement.models import LigneFinancement
from pacte.forms import DecimalFrField, DecimalFrInput, MontantField, decimal_formfield
from pacte.validators import validate_amount

NBSP = "\xa0"


class NombreForm(forms.Form):
    nombre = DecimalFrField(max_digits=14, decimal_places=2, required=False)


class MontantForm(forms.Form):
    montant = MontantField()


def _errors(field: forms.Field, value) -> list[str]:
    with pytest.raises(forms.ValidationError) as excinfo:
        field.clean(value)
    return excinfo.value.messages


# --- parsing ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("1 000,50 €", Decimal("1000.50"), id="french-with-euro"),
        pytest.param(f"1{NBSP}000,50", Decimal("1000.50"), id="nbsp"),
        pytest.param("1\u202f000,50", Decimal("1000.50"), id="narrow-nbsp"),
        pytest.param("12,5", Decimal("12.5"), id="comma"),
        pytest.param("1234.5", Decimal("1234.5"), id="point"),
        pytest.param("-3", Decimal("-3"), id="negative"),
        pytest.param("", None, id="empty"),
        pytest.param("   ", None, id="spaces-only-is-empty"),
        pytest.param(None, None, id="none"),
        pytest.param(Decimal("12.50"), Decimal("12.50"), id="decimal-initial"),
        pytest.param(7, Decimal("7"), id="int-initial"),
    ],
)
def test_decimal_fr_field_accepts(text, expected):
    field = DecimalFrField(max_digits=14, decimal_places=2, required=False)
    assert field.clean(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("sNaN", "« sNaN » n'est pas un nombre", id="snan"),
        pytest.param("NaN", "« NaN » n'est pas un nombre", id="nan"),
        pytest.param("Infinity", "« Infinity » n'est pas un nombre", id="infinity"),
        pytest.param("1_000", "le caractère « _ »", id="underscore"),
        pytest.param("١٢٣", "chiffre d'une autre écriture", id="arabic-indic"),
        pytest.param("１２３", "chiffre d'une autre écriture", id="full-width"),
        pytest.param("1E3", "le caractère « E »", id="exponent"),
        pytest.param("12,345", "au centime près", id="third-decimal"),
        pytest.param("1.234,56", "mélange la virgule et le point", id="mixed"),
        pytest.param("1 23,00", "groupes de 3 chiffres", id="grouping"),
        pytest.param("1\u202e0", "U+202E", id="bidi"),
        pytest.param("1" * 31, "au plus 30 chiffres", id="too-long"),
        pytest.param("123456789012345", "Saisissez au plus 14 chiffres au total.", id="max-digits"),
        pytest.param(Decimal("NaN"), "Saisissez un nombre fini.", id="nan-initial"),
        pytest.param(Decimal("sNaN"), "Saisissez un nombre fini.", id="snan-initial"),
        pytest.param(1.5, "Saisissez un nombre (ex. 1 234,56).", id="float"),
    ],
)
def test_decimal_fr_field_refuses(text, fragment):
    field = DecimalFrField(max_digits=14, decimal_places=2, required=False)
    (message,) = _errors(field, text)
    assert fragment in message


def test_required_field_says_so_in_french():
    assert _errors(DecimalFrField(decimal_places=2), "  ") == ["Ce champ est obligatoire."]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("12345", "Saisissez au plus 4 chiffres avant la virgule.", id="whole-digits"),
        pytest.param("12345,67", "Saisissez au plus 6 chiffres au total.", id="total-digits"),
        pytest.param("1234,567", "« 1234,567 » a trop de décimales", id="decimals"),
    ],
)
def test_django_digit_limits_are_kept_in_french(text, message):
    field = DecimalFrField(max_digits=6, decimal_places=2)
    assert field.clean("1234,56") == Decimal("1234.56")
    (error,) = _errors(field, text)
    assert error.startswith(message)


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        pytest.param("1,49", ["Saisissez une valeur supérieure ou égale à 1,50."], id="under-min"),
        pytest.param("1,50", [], id="min"),
        pytest.param("1 234,50", [], id="max"),
        pytest.param("1 234,51", [f"Saisissez une valeur inférieure ou égale à 1{NBSP}234,50."], id="over-max"),
    ],
)
def test_min_and_max_values_are_written_the_french_way(text, errors):
    field = DecimalFrField(decimal_places=2, min_value=Decimal("1.5"), max_value=Decimal("1234.5"))
    if errors:
        assert _errors(field, text) == errors
    else:
        field.clean(text)


def test_field_without_decimal_places_keeps_every_decimal():
    field = DecimalFrField()
    assert field.clean("0,123456") == Decimal("0.123456")
    assert field.widget.format_value(Decimal("1234.125")) == f"1{NBSP}234,125"


# --- MontantField -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "errors"),
    [
        pytest.param("0", [], id="zero"),
        pytest.param("0,01", [], id="one-cent"),
        pytest.param("100 000 000", [], id="max"),
        pytest.param("100 000 000,00 €", [], id="max-with-cents-and-euro"),
        pytest.param(
            "100 000 000,01",
            [f"Saisissez un montant inférieur ou égal à 100{NBSP}000{NBSP}000,00{NBSP}€."],
            id="max-plus-one-cent",
        ),
        pytest.param("-0,01", ["Un montant ne peut pas être négatif."], id="minus-one-cent"),
        pytest.param("12,345", None, id="third-decimal"),
    ],
)
def test_montant_field(text, errors):
    field = MontantField()
    if errors is None:
        (message,) = _errors(field, text)
        assert "au centime près" in message
    elif errors:
        assert _errors(field, text) == errors
    else:
        assert field.clean(text) == Decimal(text.replace(" ", "").replace("€", "").replace(",", "."))


def test_montant_field_has_two_decimals_and_the_setting_as_maximum():
    field = MontantField()
    assert (field.decimal_places, field.max_digits) == (2, 14)
    assert (field.min_value, field.max_value) == (Decimal("0"), Decimal("100000000"))


@override_settings(PACTE_MONTANT_MAX=Decimal("5000"))
def test_montant_field_reads_the_maximum_when_built():
    field = MontantField()
    field.clean("5 000")
    assert _errors(field, "5 000,01") == [f"Saisissez un montant inférieur ou égal à 5{NBSP}000,00{NBSP}€."]


def test_montant_field_other_minimum():
    field = MontantField(min_value=Decimal("10"))
    assert _errors(field, "9,99") == ["Saisissez un montant supérieur ou égal à 10,00\xa0€."]


# --- rendering and the bound form round trip ------------------------------------------------------------------


def _value_attribute(form: forms.Form, name: str) -> str | None:
    bound = form[name]
    return bound.field.widget.format_value(bound.value())


def test_widget_is_a_text_input_with_decimal_keyboard():
    html = str(NombreForm()["nombre"])
    assert 'type="text"' in html
    assert 'inputmode="decimal"' in html
    assert "step=" not in html


def test_initial_value_is_shown_the_french_way():
    form = NombreForm(initial={"nombre": Decimal("1234.5")})
    assert _value_attribute(form, "nombre") == f"1{NBSP}234,50"
    assert f'value="1{NBSP}234,50"' in str(form["nombre"])


def test_bound_form_round_trip():
    form = NombreForm(data={"nombre": "1 000,50 €"})
    assert form.is_valid(), form.errors
    assert form.cleaned_data["nombre"] == Decimal("1000.50")
    # Re-rendered (another field may be in error): the number as understood, written the French way.
    assert _value_attribute(form, "nombre") == f"1{NBSP}000,50"
    assert f'value="1{NBSP}000,50"' in str(form["nombre"])
    # What is shown parses back to the same amount.
    again = NombreForm(data={"nombre": _value_attribute(form, "nombre")})
    assert again.is_valid() and again.cleaned_data["nombre"] == Decimal("1000.50")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("12,345", "au centime près", id="third-decimal"),
        pytest.param("sNaN", "n'est pas un nombre", id="snan"),
        pytest.param("١٢٣", "chiffre d'une autre écriture", id="arabic-indic"),
        pytest.param("1_000", "le caractère « _ »", id="underscore"),
    ],
)
def test_bound_form_with_bad_text_shows_it_back_as_typed_with_the_error(text, fragment):
    form = NombreForm(data={"nombre": text})
    assert not form.is_valid()
    (message,) = form.errors["nombre"]
    assert fragment in message
    assert _value_attribute(form, "nombre") == text
    html = form.as_div()
    assert f'value="{text}"' in html


def test_re_rendered_raw_text_is_escaped():
    form = NombreForm(data={"nombre": '"><script>alert(1)</script>'})
    assert not form.is_valid()
    html = str(form["nombre"])
    assert "<script>" not in html
    assert "&quot;&gt;&lt;script&gt;" in html


@pytest.mark.parametrize(
    ("data", "changed"),
    [
        pytest.param("1 000,5", False, id="same-amount-other-writing"),
        pytest.param("1000.50", False, id="same-amount-point"),
        pytest.param("1 000,51", True, id="one-cent-more"),
        pytest.param("abc", True, id="not-a-number"),
        pytest.param("", True, id="emptied"),
    ],
)
def test_has_changed_compares_amounts_not_text(data, changed):
    form = NombreForm(data={"nombre": data}, initial={"nombre": Decimal("1000.50")})
    assert form.has_changed() is changed


def test_disabled_field_keeps_its_initial_value():
    form = NombreForm(data={"nombre": "999"}, initial={"nombre": Decimal("12.50")})
    form.fields["nombre"].disabled = True
    assert form.is_valid()
    assert form.cleaned_data["nombre"] == Decimal("12.50")


@pytest.mark.parametrize(
    ("places", "value", "shown"),
    [
        (2, Decimal("0.5"), "0,50"),
        (4, Decimal("0.5"), "0,5000"),
        (0, Decimal("12"), "12"),
        (None, Decimal("0.125"), "0,125"),
        (2, "typed 1,2,3", "typed 1,2,3"),
        (2, None, None),
        (2, "", None),
    ],
)
def test_widget_format_value(places, value, shown):
    assert DecimalFrInput(decimal_places=places).format_value(value) == shown


# --- decimal_formfield ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("db_field", "form_class", "required", "max_digits", "decimal_places"),
    [
        pytest.param(
            models.DecimalField("montant", max_digits=14, decimal_places=2, validators=[validate_amount]),
            MontantField,
            True,
            14,
            2,
            id="amount",
        ),
        pytest.param(
            models.DecimalField(
                "engagé", max_digits=14, decimal_places=2, null=True, blank=True, validators=[validate_amount]
            ),
            MontantField,
            False,
            14,
            2,
            id="amount-blank",
        ),
        pytest.param(
            models.DecimalField("montant", max_digits=14, decimal_places=2, null=True, validators=[validate_amount]),
            MontantField,
            True,
            14,
            2,
            id="null-but-not-blank-is-required",
        ),
        pytest.param(
            models.DecimalField("ETP", max_digits=6, decimal_places=2, null=True, blank=True),
            DecimalFrField,
            False,
            6,
            2,
            id="etp-not-an-amount",
        ),
        pytest.param(
            models.DecimalField("taux", max_digits=5, decimal_places=4), DecimalFrField, True, 5, 4, id="rate"
        ),
        pytest.param(
            models.DecimalField("grand", max_digits=16, decimal_places=2), DecimalFrField, True, 16, 2, id="16-digits"
        ),
        pytest.param(
            models.DecimalField("cible", max_digits=14, decimal_places=2, null=True, blank=True),
            DecimalFrField,
            False,
            14,
            2,
            id="indicator-value-not-an-amount",
        ),
    ],
)
def test_decimal_formfield_follows_the_model_field(db_field, form_class, required, max_digits, decimal_places):
    field = decimal_formfield(db_field)
    assert type(field) is form_class
    assert field.required is required
    assert (field.max_digits, field.decimal_places) == (max_digits, decimal_places)
    assert field.label == db_field.verbose_name[0].upper() + db_field.verbose_name[1:]


def test_decimal_formfield_keeps_help_text_default_and_limits():
    db_field = models.DecimalField(
        "part maximale de l'État", max_digits=5, decimal_places=4, default=Decimal("0.5000"), help_text="0,5 = 50 %."
    )
    field = decimal_formfield(db_field)
    assert field.label == "Part maximale de l'État"
    assert field.help_text == "0,5 = 50 %."
    assert field.initial == Decimal("0.5000")
    assert field.widget.format_value(field.initial) == "0,5000"
    assert field.clean("0,5") == Decimal("0.5")
    assert "4 au plus" in _errors(field, "0,12345")[0]
    assert _errors(field, "12,5") == ["Saisissez au plus 1 chiffre avant la virgule."]


def test_decimal_formfield_kwargs_win():
    db_field = models.DecimalField("montant", max_digits=14, decimal_places=2, validators=[validate_amount])
    field = decimal_formfield(db_field, required=False, label="Autre libellé", max_value=Decimal("10"))
    assert (field.required, field.label, field.max_value) == (False, "Autre libellé", Decimal("10"))
    assert _errors(field, "10,01") == ["Saisissez un montant inférieur ou égal à 10,00\xa0€."]


def test_decimal_formfield_on_a_real_amount_column():
    field = decimal_formfield(LigneFinancement._meta.get_field("prevu"))
    assert isinstance(field, MontantField)
    assert field.clean("60 000,00 €") == Decimal("60000.00")
    assert _errors(field, "sNaN")[0].startswith("« sNaN » n'est pas un nombre")
