"""Input hygiene validators: tables of accepted and refused values, with their French messages and codes."""

import os
import subprocess
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.test import override_settings

from pacte.validators import (
    normalize_identifier,
    pacte_years,
    validate_amount,
    validate_identifier,
    validate_line,
    validate_pacte_date,
    validate_siret,
    validate_text,
    validate_year,
)

ROOT = Path(__file__).resolve().parents[2]


def _refused(validator, value) -> ValidationError:
    with pytest.raises(ValidationError) as excinfo:
        validator(value)
    return excinfo.value


# --- free text ------------------------------------------------------------------------------------------

ACCEPTED_TEXT = [
    pytest.param("", id="empty"),
    pytest.param("Accompagnement des jeunes sortant de l'ASE", id="french"),
    pytest.param("Élan, cœur, « guillemets », 12 € — fin…", id="accents-and-typography"),
    pytest.param("Nombre\u00a0: 1\u202f000", id="nbsp-and-narrow-nbsp"),
    pytest.param("مرحبا 你好 Привет", id="other-scripts-are-text"),
    pytest.param("emoji 👩\u200d👩\u200d👧", id="zero-width-joiner-in-emoji"),
]


@pytest.mark.parametrize("value", ACCEPTED_TEXT)
@pytest.mark.parametrize("validator", [validate_text, validate_line], ids=["text", "line"])
def test_text_and_line_accept(validator, value):
    validator(value)


@pytest.mark.parametrize(
    "value", ["ligne 1\nligne 2", "ligne 1\r\nligne 2", "colonne\tcolonne"], ids=["lf", "crlf", "tab"]
)
def test_text_accepts_line_breaks_and_tabs(value):
    validate_text(value)


REFUSED_INVISIBLE = [
    pytest.param("a\x00b", "U+0000", 2, id="nul"),
    pytest.param("\x1b[31mrouge", "U+001B", 1, id="escape"),
    pytest.param("abc\x7f", "U+007F", 4, id="delete"),
    pytest.param("a\x85b", "U+0085", 2, id="next-line"),
    pytest.param("a\x0bb", "U+000B", 2, id="vertical-tab"),
    pytest.param("a\x0cb", "U+000C", 2, id="form-feed"),
    pytest.param("CLS\u202e50D", "U+202E", 4, id="right-to-left-override"),
    pytest.param("\u202aabc", "U+202A", 1, id="left-to-right-embedding"),
    pytest.param("ab\u202bc", "U+202B", 3, id="right-to-left-embedding"),
    pytest.param("ab\u202cc", "U+202C", 3, id="pop-directional"),
    pytest.param("ab\u202dc", "U+202D", 3, id="left-to-right-override"),
    pytest.param("a\u061cb", "U+061C", 2, id="arabic-letter-mark"),
    pytest.param("a\u200eb", "U+200E", 2, id="left-to-right-mark"),
    pytest.param("a\u200fb", "U+200F", 2, id="right-to-left-mark"),
    pytest.param("a\u2066b", "U+2066", 2, id="left-to-right-isolate"),
    pytest.param("a\u2067b", "U+2067", 2, id="right-to-left-isolate"),
    pytest.param("a\u2068b", "U+2068", 2, id="first-strong-isolate"),
    pytest.param("a\u2069b", "U+2069", 2, id="pop-isolate"),
]


@pytest.mark.parametrize(("value", "code_point", "position"), REFUSED_INVISIBLE)
@pytest.mark.parametrize("validator", [validate_text, validate_line], ids=["text", "line"])
def test_text_and_line_refuse_control_and_bidi_characters(validator, value, code_point, position):
    error = _refused(validator, value)
    assert error.code == "control_character"
    (message,) = error.messages
    assert code_point in message
    assert f"position {position}" in message
    assert value not in message


@pytest.mark.parametrize(
    ("value", "what", "position"),
    [
        pytest.param("ligne 1\nligne 2", "un retour à la ligne U+000A", 8, id="lf"),
        pytest.param("ligne 1\rligne 2", "un retour chariot U+000D", 8, id="cr"),
        pytest.param("\tindenté", "une tabulation U+0009", 1, id="tab"),
        pytest.param("fin\n", "un retour à la ligne U+000A", 4, id="trailing-newline"),
        pytest.param("a\u2028b", "un séparateur de ligne U+2028", 2, id="line-separator"),
        pytest.param("a\u2029b", "un séparateur de paragraphe U+2029", 2, id="paragraph-separator"),
    ],
)
def test_line_refuses_line_breaks_and_tabs(value, what, position):
    error = _refused(validate_line, value)
    assert error.code == "line_break"
    assert error.messages == [
        f"Ce champ tient sur une ligne, sans retour à la ligne ni tabulation (ici {what} en position {position})."
    ]


# --- identifiers ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["CLS-2024-D05", "A1-03", "1.1", "FA-01", "D05", "M-LYO", "cdie_v2", "a", "9", "X" * 40, "A..B", "A-"],
)
def test_identifier_accepts(value):
    validate_identifier(value)


@pytest.mark.parametrize(
    ("value", "code", "fragment"),
    [
        pytest.param("", "identifier_length", "de 1 à 40 caractères (ici 0)", id="empty"),
        pytest.param("X" * 41, "identifier_length", "de 1 à 40 caractères (ici 41)", id="41-chars"),
        pytest.param("A١-03", "identifier_character", "le caractère « ١ » (U+0661) (position 2)", id="arabic-indic"),
        pytest.param("A１-03", "identifier_character", "« １ » (U+FF11)", id="full-width-digit"),
        pytest.param("Ａ1-03", "identifier_character", "« Ａ » (U+FF21)", id="full-width-letter"),
        pytest.param("ﬁ-01", "identifier_character", "« ﬁ » (U+FB01)", id="ligature"),
        pytest.param("É1-03", "identifier_character", "« É » (U+00C9) (position 1)", id="accent"),
        pytest.param("А1-03", "identifier_character", "« А » (U+0410)", id="cyrillic-a"),
        pytest.param("A1 03", "identifier_character", "le caractère d'espacement U+0020 (position 3)", id="space"),
        pytest.param("A1\u00a003", "identifier_character", "d'espacement U+00A0", id="nbsp"),
        pytest.param("A1\n", "identifier_character", "le caractère invisible U+000A (position 3)", id="newline"),
        pytest.param("CLS\u202e-D05", "identifier_character", "le caractère invisible U+202E", id="bidi"),
        pytest.param("A1/03", "identifier_character", "le caractère « / »", id="slash"),
        pytest.param("A1'03", "identifier_character", "le caractère « ' »", id="quote"),
        pytest.param("<script>", "identifier_character", "le caractère « < »", id="markup"),
        pytest.param("-A1", "identifier_start", "pas par le caractère « - »", id="starts-with-dash"),
        pytest.param(".1", "identifier_start", "pas par le caractère « . »", id="starts-with-dot"),
        pytest.param("_x", "identifier_start", "pas par le caractère « _ »", id="starts-with-underscore"),
    ],
)
def test_identifier_refuses(value, code, fragment):
    error = _refused(validate_identifier, value)
    assert error.code == code
    assert fragment in error.messages[0]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(" a1-03 ", "A1-03", id="trim-and-upper"),
        pytest.param("cls-2024-d05", "CLS-2024-D05", id="reference"),
        pytest.param("\u00a0fa-01\u202f", "FA-01", id="non-breaking-spaces"),
        pytest.param("\tA1\n", "A1", id="tab-and-newline"),
        pytest.param("A1-03", "A1-03", id="already-normal"),
        pytest.param("", "", id="empty"),
        pytest.param("ﬁ-01", "ﬁ-01", id="ligature-not-expanded"),
        pytest.param("straße", "STRAßE", id="sharp-s-not-expanded"),
        pytest.param("é1", "é1", id="accent-not-upper-cased"),
        pytest.param("a١", "A١", id="other-digits-not-converted"),
        pytest.param("ａ1", "ａ1", id="full-width-not-converted"),
        pytest.param("a 1", "A 1", id="inner-space-kept"),
    ],
)
def test_normalize_identifier(value, expected):
    assert normalize_identifier(value) == expected


@pytest.mark.parametrize("value", ["ﬁ-01", "straße", "a١", "ａ1", "é1"])
def test_normalized_other_scripts_are_still_refused(value):
    with pytest.raises(ValidationError):
        validate_identifier(normalize_identifier(value))


# --- SIRET ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("73282932000074", id="real-siret"),
        pytest.param("", id="empty-is-blank-business"),
        pytest.param("35600000000048", id="la-poste-head-office-luhn"),
        pytest.param("35600000049837", id="la-poste-sum-multiple-of-5-not-luhn"),
        pytest.param("35600000000006", id="la-poste-both-rules"),
        pytest.param("00000000000000", id="all-zeros-luhn"),
    ],
)
def test_siret_accepts(value):
    validate_siret(value)


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        pytest.param("73282932000075", "siret_checksum", "Ce SIRET n'est pas valide (clé de contrôle).", id="last"),
        pytest.param("73282932100074", "siret_checksum", "Ce SIRET n'est pas valide (clé de contrôle).", id="middle"),
        pytest.param("37282932000074", "siret_checksum", "Ce SIRET n'est pas valide (clé de contrôle).", id="swap"),
        pytest.param(
            "73282932000077", "siret_checksum", "Ce SIRET n'est pas valide (clé de contrôle).", id="sum5-not-la-poste"
        ),
        pytest.param(
            "35600000049838", "siret_checksum", "Ce SIRET n'est pas valide (clé de contrôle).", id="la-poste-neither"
        ),
        pytest.param("ABCDEFGHIJKLMN", "siret_format", "Un SIRET compte 14 chiffres.", id="letters"),
        pytest.param("ABCDEFGHIJ", "siret_format", "Un SIRET compte 14 chiffres.", id="ten-letters"),
        pytest.param("7328293200007", "siret_format", "Un SIRET compte 14 chiffres.", id="13-digits"),
        pytest.param("732829320000740", "siret_format", "Un SIRET compte 14 chiffres.", id="15-digits"),
        pytest.param("732 829 320 00074", "siret_format", "Un SIRET compte 14 chiffres.", id="spaces"),
        pytest.param("٧٣٢٨٢٩٣٢٠٠٠٠٧٤", "siret_format", "Un SIRET compte 14 chiffres.", id="arabic-indic"),
        pytest.param("７３２８２９３２０００７４", "siret_format", "Un SIRET compte 14 chiffres.", id="full-width"),
        pytest.param("7328293200007\n", "siret_format", "Un SIRET compte 14 chiffres.", id="newline"),
    ],
)
def test_siret_refuses(value, code, message):
    error = _refused(validate_siret, value)
    assert error.code == code
    assert error.messages == [message]


# --- the Pacte's years and dates ----------------------------------------------------------------------------


def test_pacte_years_default():
    assert pacte_years() == range(2024, 2028)


@override_settings(PACTE_PERIODE="2021-2021")
def test_pacte_years_follow_the_setting():
    assert list(pacte_years()) == [2021]


@pytest.mark.parametrize("periode", ["2027-2024", "24-27", "2024", "", "٢٠٢٤-٢٠٢٧"])
def test_pacte_years_refuse_a_bad_setting(periode):
    with override_settings(PACTE_PERIODE=periode), pytest.raises(ImproperlyConfigured, match="PACTE_PERIODE"):
        pacte_years()


@pytest.mark.parametrize(("value", "valid"), [(2023, False), (2024, True), (2025, True), (2027, True), (2028, False)])
def test_validate_year(value, valid):
    if valid:
        validate_year(value)
    else:
        error = _refused(validate_year, value)
        assert error.code == "year_out_of_range"
        assert error.messages == [f"L'année {value} est hors de la période du Pacte (2024-2027)."]


def test_validate_year_message_example():
    assert _refused(validate_year, 1950).messages == ["L'année 1950 est hors de la période du Pacte (2024-2027)."]


@override_settings(PACTE_PERIODE="2028-2031")
def test_validate_year_follows_the_setting():
    validate_year(2031)
    assert _refused(validate_year, 2027).messages == ["L'année 2027 est hors de la période du Pacte (2028-2031)."]


@pytest.mark.parametrize("value", ["2025", 2025.0, True, None, Decimal("2025")])
def test_validate_year_wants_an_int(value):
    assert _refused(validate_year, value).code == "invalid_year"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (date(2023, 12, 31), False),
        (date(2024, 1, 1), True),
        (date(2025, 6, 15), True),
        (date(2027, 12, 31), True),
        (date(2028, 1, 1), False),
        (datetime(2024, 1, 1, 0, 0), True),
        (datetime(2028, 1, 1, 0, 0), False),
    ],
)
def test_validate_pacte_date(value, valid):
    if valid:
        validate_pacte_date(value)
    else:
        error = _refused(validate_pacte_date, value)
        assert error.code == "date_out_of_range"
        shown = value.strftime("%d/%m/%Y")
        assert error.messages == [f"La date du {shown} est hors de la période du Pacte (du 01/01/2024 au 31/12/2027)."]


@pytest.mark.parametrize("value", ["2025-01-01", 2025, None])
def test_validate_pacte_date_wants_a_date(value):
    assert _refused(validate_pacte_date, value).code == "invalid_date"


# --- amounts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        Decimal("0"),
        Decimal("0.00"),
        Decimal("0.01"),
        Decimal("1234.56"),
        Decimal("100000000"),
        Decimal("100000000.00"),
        0,
    ],
)
def test_validate_amount_accepts(value):
    validate_amount(value)


@pytest.mark.parametrize(
    ("value", "code", "message"),
    [
        pytest.param(
            Decimal("100000000.01"),
            "amount_max",
            "Le montant 100\xa0000\xa0000,01\xa0€ dépasse le maximum autorisé (100\xa0000\xa0000,00\xa0€).",
            id="max-plus-one-cent",
        ),
        pytest.param(
            Decimal("100000000.001"),
            "amount_max",
            "Le montant 100\xa0000\xa0000,001\xa0€ dépasse le maximum autorisé (100\xa0000\xa0000,00\xa0€).",
            id="max-plus-a-tenth-of-cent-is-not-shown-as-the-max",
        ),
        pytest.param(
            Decimal("1E+12"),
            "amount_max",
            "Le montant 1\xa0000\xa0000\xa0000\xa0000,00\xa0€ dépasse le maximum autorisé (100\xa0000\xa0000,00\xa0€).",
            id="exponent",
        ),
        pytest.param(Decimal("-0.01"), "amount_negative", "Un montant ne peut pas être négatif.", id="minus-one-cent"),
        pytest.param(-1, "amount_negative", "Un montant ne peut pas être négatif.", id="negative-int"),
        pytest.param(Decimal("NaN"), "invalid_amount", "Saisissez un montant en euros (ex. 1 234,56).", id="nan"),
        pytest.param(Decimal("sNaN"), "invalid_amount", "Saisissez un montant en euros (ex. 1 234,56).", id="snan"),
        pytest.param(Decimal("Infinity"), "invalid_amount", "Saisissez un montant en euros (ex. 1 234,56).", id="inf"),
        pytest.param(0.5, "invalid_amount", "Saisissez un montant en euros (ex. 1 234,56).", id="float"),
        pytest.param("12", "invalid_amount", "Saisissez un montant en euros (ex. 1 234,56).", id="str"),
        pytest.param(True, "invalid_amount", "Saisissez un montant en euros (ex. 1 234,56).", id="bool"),
    ],
)
def test_validate_amount_refuses(value, code, message):
    error = _refused(validate_amount, value)
    assert error.code == code
    assert error.messages == [message]


@override_settings(PACTE_MONTANT_MAX=Decimal("1000.00"))
def test_validate_amount_follows_the_setting():
    validate_amount(Decimal("1000"))
    error = _refused(validate_amount, Decimal("1000.01"))
    assert error.messages == ["Le montant 1\xa0000,01\xa0€ dépasse le maximum autorisé (1\xa0000,00\xa0€)."]


# --- settings read and checked at startup -----------------------------------------------------------------


def _settings(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ENV", "PACTE_PERIODE", "PACTE_MONTANT_MAX"}}
    base.update({"DATABASE_URL": "sqlite:///:memory:", **env})
    code = "import pacte.settings as s; print(s.PACTE_PERIODE, repr(s.PACTE_MONTANT_MAX))"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param({}, "2024-2027 Decimal('100000000')", id="defaults"),
        pytest.param({"PACTE_PERIODE": " 2028-2031 "}, "2028-2031 Decimal('100000000')", id="periode-trimmed"),
        pytest.param({"PACTE_PERIODE": "2025-2025"}, "2025-2025 Decimal('100000000')", id="one-year"),
        pytest.param({"PACTE_MONTANT_MAX": "5000.50"}, "2024-2027 Decimal('5000.50')", id="max-with-cents"),
        pytest.param(
            {"PACTE_MONTANT_MAX": "999999999999.99"}, "2024-2027 Decimal('999999999999.99')", id="max-fits-14-digits"
        ),
    ],
)
def test_business_settings_are_read_from_the_environment(env, expected):
    result = _settings(**env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"PACTE_PERIODE": "2027-2024"}, id="periode-reversed"),
        pytest.param({"PACTE_PERIODE": "24-27"}, id="periode-two-digit-years"),
        pytest.param({"PACTE_PERIODE": "2024"}, id="periode-one-year"),
        pytest.param({"PACTE_PERIODE": "2024/2027"}, id="periode-slash"),
        pytest.param({"PACTE_PERIODE": "٢٠٢٤-٢٠٢٧"}, id="periode-arabic-indic"),
        pytest.param({"PACTE_PERIODE": ""}, id="periode-empty"),
        pytest.param({"PACTE_MONTANT_MAX": "0"}, id="max-zero"),
        pytest.param({"PACTE_MONTANT_MAX": "-1"}, id="max-negative"),
        pytest.param({"PACTE_MONTANT_MAX": "abc"}, id="max-text"),
        pytest.param({"PACTE_MONTANT_MAX": "1e8"}, id="max-exponent"),
        pytest.param({"PACTE_MONTANT_MAX": "NaN"}, id="max-nan"),
        pytest.param({"PACTE_MONTANT_MAX": "100 000 000"}, id="max-spaces"),
        pytest.param({"PACTE_MONTANT_MAX": "1.001"}, id="max-three-decimals"),
        pytest.param({"PACTE_MONTANT_MAX": "1000000000000"}, id="max-13-digits-overflows-the-column"),
    ],
)
def test_bad_business_settings_stop_the_start(env):
    result = _settings(**env)
    assert result.returncode != 0
    (name,) = env
    assert "ImproperlyConfigured" in result.stderr
    assert f"{name}=" in result.stderr
