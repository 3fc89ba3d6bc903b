"""Hostile input for the back-office walk (tests/test_saisies_hostiles.py).

What is here:

- ``HOSTILES``, the table of values that a form field of each kind must refuse, whatever the model;
- :func:`kind_of`, which tells the kind of a form field from its widget and its model field;
- :class:`FormParser`, which reads an admin page's ``<form>`` and gives back what a browser would
  post (checked boxes only, the selected options, hidden fields, the inlines' management forms);
- :func:`error_texts`, the error messages a page shows (``errornote``, ``errorlist``, error messages);
- :class:`Snapshot`, a fingerprint of every row of the project's models, and its readable diff.

The walk's verdict for one hostile post: never a 500, nothing changed in the database, and a page
that says what is wrong, in French.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from django import forms
from django.apps import apps
from django.db import connection, models

# --- The table of hostile values -----------------------------------------------------------------------
#
# Every value of a kind must be refused by every field of that kind: a value that a field may
# legitimately accept is left out (an empty optional field, a year of the contract, a real SIRET).
# Where a value depends on the field (an empty required field, a primary key outside the field's
# choices, a third decimal on an amount), the walk adds it, see ``values_for``.

TEXTE_MAX = 10_000  # the cap the lead puts on free text

_NOMBRES = (
    "sNaN",  # signalling NaN: Decimal comparisons raise InvalidOperation
    "NaN",
    "1e309",  # overflows a float, finite for Decimal
    "-1",
    "1_000",  # int() and Decimal() accept underscores
    "١٢٣",  # Arabic-Indic digits: int() and Decimal() accept any Unicode digit
    "１２３",  # full-width digits
    "999999999999999",
    "douze",
)

HOSTILES: dict[str, tuple] = {
    # DecimalField, IntegerField (counts, numbers, rates…)
    "nombre": _NOMBRES,
    # DecimalField(max_digits=14, decimal_places=2): the money of the project (and indicator values,
    # stored the same way); a trillion euros is no line of the Pacte.
    "montant": (*_NOMBRES, "12.345", "999999999999.99"),
    # A year (``annee``): the Pacte runs 2024-2027, its contracts within 2019-2035.
    "annee": (*_NOMBRES, "1950", "2999", "２０２４"),
    # DateField (the admin's text input, French or ISO format)
    "date": ("1900-01-01", "3000-12-31", "31/02/2024", "2024-13-01", "demain"),
    # <input type=text> (CharField, EmailField, URLField): control characters, bidi override, size
    "texte": ("\u202eevil", "a\nb", "\x00", "\x1b[31m", "x" * TEXTE_MAX),
    # Natural keys (reference, code, numero_ej, siret): only ASCII digits, one line. A trailing
    # newline is not in the table: Django's CharField strips it before anything is checked.
    "identifiant": ("\u202eevil", "a\nb", "\x00", "\x1b[31m", "x" * TEXTE_MAX, "A3-٠٢", "Ａ1-01", "CLS-2024-\nD05"),
    "siret": ("\u202eevil", "a\nb", "\x00", "x" * TEXTE_MAX, "A3-٠٢", "Ａ1-01", "ABCDEFGHIJ", "123456789012３４"),
    # <textarea>: free text, capped at 10 000 characters
    "texte_long": ("\x00", "\u202e", "x" * (TEXTE_MAX + 1)),
    # <input type=password>: anything printable is a password
    "mot_de_passe": ("\x00",),
    # <select>, radio buttons, foreign keys: plus a primary key that exists outside the field's choices
    "choix": ("999999", "abc"),
    # <select multiple>, checkbox lists: the same, as a list
    "choix_multiple": (("999999",), ("abc",)),
    # Hidden inputs, tampered (a browser never sends them changed): the verdict asks no message for
    # them, only no 500 and nothing saved. The formsets' management forms…
    "gestion": ("abc", "-1"),
    # …and the rest: a row's id, its parent's key, the version the form was read at.
    "cache": ("abc", "-1", "999999"),
}

#: Model field names that hold a natural key.
IDENTIFIANTS = {"reference", "code", "numero_ej"}
#: Model field names that hold a year.
ANNEES = {"annee"}

#: Phrases of Django's English messages: a page that shows one has not been translated.
ENGLISH = (
    "Enter a",
    "Enter the",
    "This field",
    "Ensure this",
    "Ensure that",
    "Select a valid",
    "is not a valid",
    "already exists",
    "is required",
    "Null characters",
    "must be",
    "Please correct",
    "does not exist",
    "are not allowed",
    "valid date",
    "valid number",
    "whole number",
)


def show(value) -> str:
    """A value as it reads in a report: repr, long strings shortened."""
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, str) and len(value) > 40:
        return f"{value[:10]!r}… ({len(value)} caractères)"
    return repr(value)


# --- Kinds of fields -----------------------------------------------------------------------------------


def model_field(form: forms.BaseForm, name: str):
    model = getattr(getattr(form, "_meta", None), "model", None)
    if model is None:
        return None
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


def kind_of(form: forms.BaseForm, name: str, html_type: str) -> str | None:
    """The kind of the form field ``name`` (a key of ``HOSTILES``), ``None`` when it is not walked
    (booleans, files, the time half of a date and time)."""
    field = form.fields[name]
    mfield = model_field(form, name)
    widget = field.widget
    if isinstance(field, forms.BooleanField | forms.NullBooleanField | forms.FileField):
        return None
    if isinstance(field, forms.ModelMultipleChoiceField | forms.MultipleChoiceField):
        return "choix_multiple"
    if isinstance(field, forms.ModelChoiceField | forms.ChoiceField):
        return "choix"
    if isinstance(field, forms.SplitDateTimeField):
        return "date"  # the date half; see ``targets``
    if isinstance(field, forms.DateField | forms.DateTimeField):
        return "date"
    if isinstance(field, forms.IntegerField | forms.DecimalField | forms.FloatField):
        if name in ANNEES:
            return "annee"
        if isinstance(mfield, models.DecimalField) and (mfield.max_digits, mfield.decimal_places) == (14, 2):
            return "montant"
        return "nombre"
    if isinstance(field, forms.CharField):
        if isinstance(widget, forms.PasswordInput) or html_type == "password":
            return "mot_de_passe"
        if isinstance(widget, forms.Textarea):
            return "texte_long"
        if name == "siret":
            return "siret"
        if name in IDENTIFIANTS:
            return "identifiant"
        return "texte"
    if isinstance(field, forms.JSONField):
        return "texte_long"
    return "texte"


def outside_choices(field: forms.Field) -> list[str]:
    """A value that exists but that the field does not offer: a row of the related model outside the
    queryset (another contract's fiche, a signed contract…), a model choice the form removed."""
    if isinstance(field, forms.ModelChoiceField):
        queryset = field.queryset
        key = field.to_field_name or "pk"
        other = (
            queryset.model._base_manager.exclude(**{f"{key}__in": queryset.values(key)})
            .order_by("pk")
            .values_list(key, flat=True)
            .first()
        )
        return [] if other is None else [str(other)]
    return []


def _flat_choices(choices):
    for value, label in choices:
        if isinstance(label, list | tuple):  # a group of options
            yield from _flat_choices(label)
        else:
            yield str(getattr(value, "value", value))


def values_for(kind: str, field: forms.Field, form: forms.BaseForm, name: str) -> list:
    """The hostile values posted into one field: the table's, and those that depend on the field."""
    values = list(HOSTILES[kind])
    mfield = model_field(form, name)
    if kind in ("texte", "identifiant", "siret", "texte_long", "mot_de_passe") and field.required:
        values.append("")
    if kind == "nombre" and isinstance(field, forms.DecimalField) and (field.decimal_places or 0) < 3:
        values.extend(["12,345", "12.345"])
    if kind in ("choix", "choix_multiple"):
        outside = outside_choices(field)
        if not outside and mfield is not None and getattr(mfield, "choices", None):
            offered = set(_flat_choices(getattr(field, "choices", [])))
            outside = [str(v) for v, _ in mfield.flatchoices if str(v) not in offered][:1]
        values.extend([tuple(outside)] if kind == "choix_multiple" and outside else outside)
    return values


# --- Reading a page ------------------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
NOT_SENT = {"submit", "button", "reset", "image", "file"}


@dataclass
class Control:
    """An input, select or textarea of the form."""

    name: str
    tag: str
    type: str
    value: str = ""
    checked: bool = False
    disabled: bool = False
    options: list[tuple[str, bool]] = field(default_factory=list)

    def sent(self) -> list[str]:
        """What a browser sends for this control."""
        if self.disabled:
            return []
        if self.tag == "select":
            selected = [v for v, s in self.options if s]
            if not selected and self.type == "select" and self.options:
                selected = [self.options[0][0]]
            return selected
        if self.type in ("checkbox", "radio"):
            return [self.value or "on"] if self.checked else []
        if self.type in NOT_SENT:
            return []
        return [self.value]


class FormParser(HTMLParser):
    """The controls of the ``<form id=form_id>`` of a page (the first form when ``form_id`` is None)."""

    def __init__(self, form_id: str | None = None):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.found = False
        self.controls: list[Control] = []
        self._in_form = False
        self._select: Control | None = None
        self._option: list | None = None
        self._textarea: Control | None = None
        self._text: list[str] = []

    @classmethod
    def parse(cls, html: str, form_id: str | None = None) -> FormParser:
        parser = cls(form_id)
        parser.feed(html)
        parser.close()
        return parser

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            if not self.found and (self.form_id is None or a.get("id") == self.form_id):
                self.found = self._in_form = True
            return
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            self.controls.append(
                Control(
                    name=name,
                    tag="input",
                    type=(a.get("type") or "text").lower(),
                    value=a.get("value") or "",
                    checked="checked" in a,
                    disabled="disabled" in a,
                )
            )
        elif tag == "select" and name:
            self._select = Control(
                name=name,
                tag="select",
                type="select-multiple" if "multiple" in a else "select",
                disabled="disabled" in a,
            )
        elif tag == "option" and self._select is not None:
            self._end_option()
            self._option = [a.get("value"), "selected" in a, []]
        elif tag == "textarea" and name:
            self._textarea = Control(name=name, tag="textarea", type="textarea", disabled="disabled" in a)
            self._text = []

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._text.append(data)
        elif self._option is not None:
            self._option[2].append(data)

    def _end_option(self):
        if self._option is not None and self._select is not None:
            value, selected, text = self._option
            self._select.options.append((value if value is not None else "".join(text).strip(), selected))
        self._option = None

    def handle_endtag(self, tag):
        if tag == "form" and self._in_form:
            self._in_form = False
        elif tag == "option":
            self._end_option()
        elif tag == "select" and self._select is not None:
            self._end_option()
            self.controls.append(self._select)
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            text = "".join(self._text)
            # Browsers drop the newline that follows <textarea>, which Django's template writes.
            self._textarea.value = text[2:] if text.startswith("\r\n") else text[1:] if text.startswith("\n") else text
            self.controls.append(self._textarea)
            self._textarea = None

    def data(self) -> dict[str, list[str]]:
        """What a browser posts: ``{name: [values]}``."""
        posted: dict[str, list[str]] = {}
        for control in self.controls:
            posted.setdefault(control.name, [])
            posted[control.name].extend(control.sent())
        return posted


class _ErrorParser(HTMLParser):
    """Collects the text of the elements whose class says they hold an error, with their id."""

    CLASSES = {
        "errornote": "note",
        "errorlist": "liste",
        "error": "message",
        # The front office's DSFR classes: a field's message, a form's alert.
        "fr-error-text": "liste",
        "fr-message--error": "liste",
        "fr-alert--error": "message",
    }

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, str]] = []
        self._stack: list[tuple[str, str | None, str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID:
            return
        a = dict(attrs)
        classes = (a.get("class") or "").split()
        kind = next((self.CLASSES[c] for c in classes if c in self.CLASSES), None)
        self._stack.append((tag, kind, a.get("id") or "", []))

    def handle_data(self, data):
        for _tag, kind, _id, text in self._stack:
            if kind:
                text.append(data)

    def handle_endtag(self, tag):
        if tag in VOID or not any(t == tag for t, _, _, _ in self._stack):
            return
        while self._stack:
            open_tag, kind, id_, text = self._stack.pop()
            if kind:
                self.found.append((kind, " ".join("".join(text).split()), id_))
            if open_tag == tag:
                break


def _errors(html: str) -> list[tuple[str, str, str]]:
    parser = _ErrorParser()
    parser.feed(html)
    parser.close()
    return [found for found in parser.found if found[1]]


def error_texts(html: str) -> list[tuple[str, str]]:
    """``[(kind, text)]`` of the errors a page shows: ``note`` (the admin's "please correct"),
    ``liste`` (a field's or a form's errors), ``message`` (a message of level error)."""
    return [(kind, text) for kind, text, _ in _errors(html)]


def field_errors(html: str) -> tuple[dict[str, str], list[str]]:
    """The errors of each field, by HTML name (Django gives a field's error list the id
    ``id_<name>_error``), and the other error texts (the form's, the formset's, messages)."""
    by_field: dict[str, str] = {}
    others: list[str] = []
    for kind, text, id_ in _errors(html):
        if kind == "liste" and id_.startswith("id_") and id_.endswith("_error"):
            by_field[id_[3:-6]] = text
        elif kind != "note":
            others.append(text)
    return by_field, others


def english(text: str) -> str | None:
    return next((phrase for phrase in ENGLISH if phrase.lower() in text.lower()), None)


# --- The database's fingerprint ------------------------------------------------------------------------


def _is_history(model) -> bool:
    return model.__name__.startswith("Historical") or model._meta.db_table.endswith("_history")


def _columns(model) -> list[str]:
    skipped = {"last_login"}  # logging in writes it
    return [
        f.attname
        for f in model._meta.concrete_fields
        if not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False) and f.attname not in skipped
    ]


@dataclass
class Snapshot:
    """Every row of the models of ``app_labels`` (audit trail tables and automatic timestamps left
    out), to tell what a request changed."""

    rows: dict[str, dict[object, tuple]]

    @classmethod
    def models(cls, app_labels) -> list:
        return [
            m
            for m in apps.get_models(include_auto_created=True)
            if m._meta.app_label in app_labels and not m._meta.proxy and not _is_history(m)
        ]

    @classmethod
    def take(cls, models_) -> Snapshot:
        rows = {}
        for model in models_:
            columns = _columns(model)
            rows[model._meta.label] = {
                row[0]: row for row in model._base_manager.order_by("pk").values_list("pk", *columns)
            }
        return cls(rows)

    def changes_since(self, ecrit: int, models_) -> list[str]:
        """What changed since this snapshot, read only when rows were written since ``ecrit`` (:func:`ecritures`
        read when the snapshot was the database's state)."""
        if ecritures() == ecrit:
            return []
        return self.diff(Snapshot.take(models_), models_)

    def diff(self, other: Snapshot, models_) -> list[str]:
        """What changed from ``self`` to ``other``, one line per row (a few rows per model)."""
        changes = []
        for model in models_:
            label = model._meta.label
            before, after = self.rows[label], other.rows[label]
            if before == after:
                continue
            columns = ["pk", *_columns(model)]
            lines = []
            for pk in sorted(set(before) | set(after), key=str):
                old, new = before.get(pk), after.get(pk)
                if old == new:
                    continue
                if old is None:
                    lines.append(f"{label} pk={pk} ajouté")
                elif new is None:
                    lines.append(f"{label} pk={pk} supprimé")
                else:
                    fields = [
                        f"{c}: {show(o)} → {show(n)}" for c, o, n in zip(columns, old, new, strict=True) if o != n
                    ]
                    lines.append(f"{label} pk={pk} " + ", ".join(fields))
            changes.extend(lines[:3] + ([f"{label}: … {len(lines) - 3} de plus"] if len(lines) > 3 else []))
        return changes


def ecritures() -> int:
    """Rows written so far (inserted, updated, deleted), all tables together: by the current transaction on
    PostgreSQL (``pg_stat_xact_all_tables``), by the connection on SQLite (``total_changes()``). One query: a
    walk of hundreds of posts reads it before and after each one, and only when it moved takes a
    :class:`Snapshot` to say what changed (an UPDATE that rewrote the same values is no change)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT COALESCE(SUM(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_all_tables")
        else:
            cursor.execute("SELECT total_changes()")
        return int(cursor.fetchone()[0])
