"""What every page of the back-office shares: the perimeter, the permissions, the one write path, the audit trail.

The admin follows the same rules as the application (docs/architecture.md):

- every list and every object is read through ``Model.objects.for_user(user)``; an object outside the
  perimeter answers 404, exactly like an identifier that does not exist (change, delete and history
  pages alike);
- permissions come from the predicates of :mod:`pacte.perms`, not from Django's permission tables:
  the agents are staff without model permissions;
- **nothing is saved by the admin itself**: ``save_model``, ``save_formset``, ``delete_model`` and the
  actions call the services (each admin says which in :meth:`PerimetreMixin.write` and
  :meth:`PerimetreMixin.remove`). The services lock the contract, re-check its freeze and the
  object's version, and refuse in French; a refusal at save time is shown on the form, with nothing
  saved (:meth:`ScopedAdmin.changeform_view`);
- every form carries the version of its object (and the main form whether the contract was signed
  when the page was shown), so a form shown before another agent's save, or before the signature,
  overwrites nothing;
- every admin of a model with ``HistoricalRecords`` is a ``SimpleHistoryAdmin``, so the "Historique"
  page shows who changed what, when, before and after. Reverting from the history is disabled: it
  would bypass the services' rules (frozen contracts, statuses).
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import InlineModelAdmin
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.forms.models import _get_foreign_key
from django.http import Http404, HttpResponseRedirect
from simple_history.admin import SimpleHistoryAdmin

from pacte import perms
from pacte.forms import decimal_formfield, harden_text_fields, integer_formfield
from pacte.money import format_euros
from pacte.perimeters import Niveau, perimetre_of
from pacte.services import conflict_message

VERSION_FIELD = "pacte_version"
FIGE_FIELD = "pacte_fige"


def resolve(obj, path: str | None):
    """Follows a dotted path of attributes (``"fiche.contrat"``); ``""`` is the object itself."""
    if obj is None or path is None:
        return None
    for attr in filter(None, path.split(".")):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


def report_errors(request, error: ValidationError, prefix: str = "") -> None:
    """Shows a service's refusal in French, one message per line."""
    for message in error.messages:
        messages.error(request, f"{prefix}{message}")


def changed_fields(form, names=None) -> dict:
    """The cleaned values of the model fields the user changed (``names`` limits them)."""
    model_fields = {f.name for f in form._meta.model._meta.get_fields()}
    return {
        name: form.cleaned_data[name]
        for name in form.changed_data
        if name in model_fields and name in form.cleaned_data and (names is None or name in names)
    }


def adopt(obj, created) -> None:
    """The admin goes on with its own instance after ``save_model``: give it the service's result."""
    obj.__dict__.update({k: v for k, v in created.__dict__.items() if k != "_state"})
    obj._state.adding = False


def version_of(form) -> int | None:
    """The version of the object when the form was shown (``None`` for a new row)."""
    if form.instance.pk is None:
        return None
    return form.cleaned_data.get(VERSION_FIELD)


class ServiceForm(forms.ModelForm):
    """The base of every back-office form: it writes nothing itself (the admin calls the services).

    It carries the object's version, refuses a stale one with the name of what changed, and shows the
    refusal of a service at save time (see ``ScopedAdmin.changeform_view``).
    """

    pacte_version = forms.IntegerField(widget=forms.HiddenInput, required=False, min_value=0)
    pacte_fige = forms.CharField(widget=forms.HiddenInput, required=False, max_length=1)

    #: Set on the form class by the admin, for one request: the request, and for the main form of a
    #: change page the contract that decides the freeze.
    request = None
    pacte_contrat = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden_text_fields(self)
        if VERSION_FIELD not in self.fields:
            return
        if self.instance.pk is not None:
            self.fields[VERSION_FIELD].initial = getattr(self.instance, "version", None)
        contrat = self.pacte_contrat
        self.fields[FIGE_FIELD].initial = "" if contrat is None else ("1" if contrat.est_fige else "0")

    def clean(self):
        cleaned = super().clean()
        seen = cleaned.get(VERSION_FIELD)
        current = getattr(self.instance, "version", None)
        if VERSION_FIELD in self.fields and self.instance.pk is not None and seen is None and current is not None:
            # Every edit form carries the version it showed: without it, nothing says the page is current.
            raise ValidationError(
                "Ce formulaire ne dit pas quelle version il modifie : rechargez la page, rien n'a été enregistré.",
                code="version_manquante",
            )
        if self.instance.pk is not None and seen is not None and current is not None and seen != current:
            raise ValidationError(conflict_message(self.instance, seen), code="conflit")
        contrat = self.pacte_contrat
        if contrat is not None and cleaned.get(FIGE_FIELD) == "0" and contrat.est_fige:
            raise ValidationError(
                f"Le contrat {contrat.reference} a été signé pendant votre saisie : ses données contractuelles "
                "ne changent plus que par un avenant. Rien n'a été enregistré ; rechargez la page.",
                code="fige",
            )
        error = getattr(self.request, "_pacte_write_error", None)
        if error is not None and not getattr(self, "_pacte_is_inline", False):
            for field, messages_ in _by_field(error).items():
                for message in messages_:
                    self.add_error(field if field in self.fields else None, message)
        return cleaned


def _by_field(error: ValidationError) -> dict:
    if hasattr(error, "error_dict"):
        return {field: [m for e in errors for m in e.messages] for field, errors in error.error_dict.items()}
    return {None: error.messages}


def _prefixed(error: ValidationError, prefix: str) -> ValidationError:
    """An inline row's refusal, shown on the page's main form: every message names the row."""
    return ValidationError([f"{prefix}{line}" for lines in _by_field(error).values() for line in lines])


class PerimetreMixin:
    """Scoping, permissions and the write path, for model admins and inlines alike.

    Subclasses say who may write with :meth:`peut_modifier`, :meth:`peut_ajouter` and
    :meth:`peut_supprimer` (``obj`` is the object for a model admin, the parent object for an inline;
    ``None`` on lists and add pages), and which service writes with :meth:`write` and :meth:`remove`.
    ``contrat_path`` leads from that object to its contract, which decides whether contractual data is
    frozen.
    """

    form = ServiceForm
    #: Reference data (territories, axes, rules) is read by every agent, whatever its perimeter.
    reference = False
    #: Dotted path from ``obj`` (see above) to its contract; ``None`` when there is none.
    contrat_path: str | None = None

    # --- Reading -----------------------------------------------------------------------------------

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if self.reference else qs.for_user(request.user)

    def has_module_permission(self, request) -> bool:
        return perms.can_use_backoffice(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        if not perms.can_use_backoffice(request.user) or not perms.in_perimeter(request.user, None):
            return False
        return obj is None or self.reference or perms.in_perimeter(request.user, obj)

    # --- Writing -----------------------------------------------------------------------------------

    def contrat_de(self, obj):
        return resolve(obj, self.contrat_path)

    def est_fige(self, obj) -> bool:
        contrat = self.contrat_de(obj)
        return contrat is not None and contrat.est_fige

    def peut_modifier(self, request, obj) -> bool:
        return False

    def peut_ajouter(self, request, obj) -> bool:
        return False

    def peut_supprimer(self, request, obj) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj) and self.peut_modifier(request, obj)

    def has_add_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj) and self.peut_ajouter(request, obj)

    def has_delete_permission(self, request, obj=None) -> bool:
        return self.has_view_permission(request, obj) and self.peut_supprimer(request, obj)

    #: The services that save and delete one object of the page, called as
    #: ``save_service(<model_name>=obj, by=user, version=n)``; an admin whose writes need more
    #: overrides :meth:`write` / :meth:`remove` instead. Without them the page cannot write.
    save_service = None
    delete_service = None
    #: The keyword under which the services take the object (the model's class name in snake case:
    #: ``LigneFinancement`` → ``ligne_financement``).
    service_arg: str | None = None

    def _arg(self) -> str:
        return self.service_arg or re.sub(r"(?<!^)(?=[A-Z])", "_", self.model.__name__).lower()

    def write(self, request, obj, form, change: bool) -> None:
        """Saves ``obj`` (already holding the form's values) through its service."""
        if self.save_service is None:
            raise NotImplementedError(f"{type(self).__name__} n'indique pas le service qui enregistre.")
        self.save_service(**{self._arg(): obj}, by=request.user, version=version_of(form))

    def remove(self, request, obj, version: int | None = None) -> None:
        """Deletes ``obj`` through its service."""
        if self.delete_service is None:
            raise NotImplementedError(f"{type(self).__name__} n'indique pas le service qui supprime.")
        self.delete_service(**{self._arg(): obj}, by=request.user, version=version)

    # --- Forms -------------------------------------------------------------------------------------

    def every_field(self, request, obj=None) -> list[str]:
        """The fields shown on the page (without the hidden version fields): to make them all read-only."""
        return [f for f in flatten_fieldsets(self.get_fieldsets(request, obj)) if f not in (VERSION_FIELD, FIGE_FIELD)]

    def get_fieldsets(self, request, obj=None):
        """Every form carries the hidden version (and freeze) fields, so they are posted back."""
        fieldsets = list(super().get_fieldsets(request, obj))
        writable = (
            self.has_change_permission(request, obj) if obj is not None else self.has_add_permission(request, obj)
        )
        if not writable:
            return fieldsets
        name, options = fieldsets[0]
        fieldsets[0] = (name, {**options, "fields": (*options["fields"], VERSION_FIELD, FIGE_FIELD)})
        return fieldsets

    def choices_for(self, db_field, request):
        """The choices of a foreign key: the user's perimeter when the related model has one.

        ``request.pacte_objet`` is the object being edited (the parent object in an inline), for
        subclasses that refine the choices.
        """
        manager = db_field.related_model._default_manager
        if hasattr(manager, "for_user"):
            return manager.for_user(request.user)
        return None

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if "queryset" not in kwargs:
            queryset = self.choices_for(db_field, request)
            if queryset is not None:
                kwargs["queryset"] = queryset
        if "widget" not in kwargs and db_field.name in self.get_autocomplete_fields(request):
            kwargs["widget"] = CachedAutocompleteSelect(db_field, self.admin_site, using=kwargs.get("using"))
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return cache_choices(
            field, request, (type(self).__name__, db_field.name), rows=page_rows(self, request, db_field)
        )

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return saisie_formfield(db_field, **kwargs) or super().formfield_for_dbfield(db_field, request, **kwargs)


def saisie_formfield(db_field, **kwargs):
    """French numbers (never negative) in decimal fields, ASCII digits within the column's range in integer fields;
    ``None`` for the other fields (the admin's own)."""
    if db_field.choices or db_field.primary_key:
        return None
    if isinstance(db_field, models.DecimalField):
        # No decimal of this application is negative (amounts, rates, ETP, indicators, widths).
        return decimal_formfield(db_field, **{"min_value": 0, **kwargs})
    if isinstance(db_field, models.IntegerField) and not isinstance(db_field, models.ForeignKey):
        return integer_formfield(db_field, **kwargs)
    return None


def refuse_bad_selection(request):
    """A selection is a list of identifiers: anything else is refused in French, not a 500."""
    selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    if any(not value.isascii() or not value.isdigit() for value in selected):
        messages.error(request, "Sélection invalide : rien n'a été fait.")
        return HttpResponseRedirect(request.get_full_path())
    return None


class HardenedForm(forms.ModelForm):
    """A form over a model we do not own (site settings): its free text gets our hygiene."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden_text_fields(self)


class HardenedAdminMixin:
    """The same input hygiene for an admin page that is not scoped (the DSFR site settings)."""

    form = HardenedForm

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        return saisie_formfield(db_field, **kwargs) or super().formfield_for_dbfield(db_field, request, **kwargs)

    def response_action(self, request, queryset):
        return refuse_bad_selection(request) or super().response_action(request, queryset)


class PageChoices:
    """What one foreign key of a page reads from the database during one request, for all its rows.

    ``options`` are the select's options, read once. ``objects`` are the related objects already read,
    by the string of their key (``None``: not among the choices); ``rows`` is a queryset of the values
    the page's inline rows hold, read with the first lookup so that every row finds its object there.
    """

    def __init__(self, rows=None):
        self.options = None
        self.objects: dict[str, models.Model | None] = {}
        self.rows = rows

    def lookup(self, field, values) -> dict:
        """The objects among ``field``'s choices whose key is in ``values`` (strings), by value; one query
        at most. A value that is not a key (``"abc"`` for a number) finds nothing, without a query."""
        key = field.to_field_name or "pk"
        model = field.queryset.model
        key_field = model._meta.pk if key == "pk" else model._meta.get_field(key)
        keys = {}
        for value in values:
            try:
                keys[value] = str(key_field.to_python(value))
            except (ValidationError, ValueError, TypeError):
                continue
        if self.rows is not None:
            rows, self.rows = self.rows, None
            self._read(key, field.queryset.filter(**{f"{key}__in": rows}))
        missing = {k for k in keys.values() if k not in self.objects}
        if missing:
            self._read(key, field.queryset.filter(**{f"{key}__in": missing}))
            for k in missing:
                self.objects.setdefault(k, None)
        return {value: self.objects[k] for value, k in keys.items() if self.objects[k] is not None}

    def _read(self, key, queryset) -> None:
        for obj in queryset:
            self.objects[str(getattr(obj, key))] = obj


def page_rows(model_admin, request, db_field):
    """The values of ``db_field`` in the rows an inline shows on its parent's page; ``None`` elsewhere."""
    parent = getattr(request, "pacte_objet", None)
    if not isinstance(model_admin, InlineModelAdmin) or not isinstance(parent, model_admin.parent_model):
        return None
    if parent.pk is None:
        return None
    try:
        fk = _get_foreign_key(model_admin.parent_model, model_admin.model, fk_name=model_admin.fk_name)
    except ValueError:
        return None
    return model_admin.get_queryset(request).filter(**{fk.name: parent}).values(db_field.attname)


class CachedAutocompleteSelect(AutocompleteSelect):
    """An autocomplete whose selected option is read from the page's :class:`PageChoices`.

    Django's widget reads the selected object once per row; here the first row reads those of every
    row in one query, within the field's choices (the user's perimeter) like Django's.
    """

    pacte_choices: PageChoices | None = None

    def optgroups(self, name, value, attr=None):
        choices = self.pacte_choices
        field = self.choices.field
        if choices is None:
            return super().optgroups(name, value, attr)
        default = (None, [], 0)
        selected_choices = {str(v) for v in value if str(v) not in field.empty_values}
        if not self.is_required and not self.allow_multiple_selected:
            default[1].append(self.create_option(name, "", "", False, 0))
        has_selected = False
        for option_value, obj in sorted(choices.lookup(field, selected_choices).items()):
            selected = option_value in value and (has_selected is False or self.allow_multiple_selected)
            has_selected |= selected
            label = field.label_from_instance(obj)
            default[1].append(self.create_option(name, option_value, label, selected_choices, len(default[1])))
        return [default]


def cache_choices(field, request, key, rows=None):
    """A foreign key's choices are read once per request, however many inline rows show or post them.

    A ``ModelChoiceField`` runs its query each time a row renders it, an autocomplete widget one per
    row for the selected value, and posting a page one per row to find the chosen object. All three
    read here from one :class:`PageChoices` per request and field, shared by the copies of the field
    that each row's form makes. ``rows`` (see :func:`page_rows`) lets the first row read the objects
    of every row at once. The choices stay the field's queryset (the admin's ``choices_for``).
    """
    if field is None or not isinstance(field, forms.ModelChoiceField):
        return field
    cache = request.__dict__.setdefault("_pacte_choices", {})
    if key not in cache:
        cache[key] = PageChoices(rows)
    choices = cache[key]
    base = field.iterator

    class CachedIterator(base):
        def _all(self):
            if choices.options is None:
                choices.options = list(base.__iter__(self))
            return choices.options

        def __iter__(self):
            return iter(self._all())

        def __len__(self):
            return len(self._all())

        def __bool__(self):
            return bool(self._all())

    field.iterator = CachedIterator
    field.__class__ = _cached_field_class(type(field))
    field.pacte_choices = choices
    field.widget.choices = field.choices
    if isinstance(field.widget, CachedAutocompleteSelect):
        field.widget.pacte_choices = choices
    return field


_CACHED_FIELD_CLASSES: dict[type, type] = {}


def _cached_field_class(field_class: type) -> type:
    """``field_class`` whose ``to_python`` finds the posted object in the page's :class:`PageChoices`."""
    if getattr(field_class, "pacte_cached", False):
        return field_class
    if field_class not in _CACHED_FIELD_CLASSES:

        def to_python(self, value):
            if isinstance(value, int | str) and value not in self.empty_values:
                found = self.pacte_choices.lookup(self, {str(value)}).get(str(value))
                if found is not None:
                    return found
            return field_class.to_python(self, value)

        _CACHED_FIELD_CLASSES[field_class] = type(
            field_class.__name__, (field_class,), {"to_python": to_python, "pacte_cached": True}
        )
    return _CACHED_FIELD_CLASSES[field_class]


class ExistingRowField(forms.ModelChoiceField):
    """The hidden identifier of an inline row, found among the rows its formset read (one query for all).

    Django's own field reads each posted row again, one query per row; this one asks the formset first
    and the database only for an identifier that is not among the formset's rows (Django's answer).
    """

    formset = None

    def to_python(self, value):
        if self.formset is not None and isinstance(value, int | str) and value not in self.empty_values:
            try:
                pk = self.queryset.model._meta.pk.to_python(value)
            except ValidationError:
                pk = None
            row = self.formset._existing_object(pk) if pk is not None else None
            if row is not None:
                return row
        return super().to_python(value)


class PageInlineFormSet(forms.BaseInlineFormSet):
    """The formset of every inline: posting a page costs the same whatever the rows left untouched.

    Each row's identifier is found among the rows read once (:class:`ExistingRowField`), and a row the
    user did not change is not validated again against the database (its foreign keys, uniqueness and
    constraints, one query each): it is not saved either (``ScopedAdmin.save_formset`` skips it). A
    changed, new or deleted row is validated in full, as before.
    """

    def add_fields(self, form, index):
        super().add_fields(form, index)
        name = self._pk_field.name
        field = form.fields.get(name)
        if type(field) is forms.ModelChoiceField and self._pk_field.remote_field is None:
            row_field = ExistingRowField(field.queryset, initial=field.initial, required=False, widget=field.widget)
            row_field.formset = self
            form.fields[name] = row_field

    def _construct_form(self, i, **kwargs):
        form = super()._construct_form(i, **kwargs)
        if i < self.initial_form_count():
            post_clean = form._post_clean

            def _post_clean():
                if form.instance.pk is not None and not form.has_changed():
                    return
                post_clean()

            form._post_clean = _post_clean
        return form


def _drop_hidden_unless_listed(form_class, fields) -> None:
    """A read-only page has no version to send back: its form holds no field at all."""
    if fields is not None and VERSION_FIELD not in fields:
        for name in (VERSION_FIELD, FIGE_FIELD):
            form_class.base_fields.pop(name, None)


class ScopedInline(PerimetreMixin):
    """An inline: permissions are asked about the parent object, already read within the perimeter."""

    extra = 0
    show_change_link = True
    formset = PageInlineFormSet

    def get_formset(self, request, obj=None, **kwargs):
        request.pacte_objet = obj
        formset = super().get_formset(request, obj, **kwargs)
        _drop_hidden_unless_listed(formset.form, kwargs.get("fields"))
        # The classes are created anew by each call: these attributes belong to this request only.
        formset.form.request = request
        formset.form.parent = obj
        formset.form._pacte_is_inline = True
        formset.pacte_inline = self
        return formset

    def row_label(self, obj) -> str:
        return f"{str(self.model._meta.verbose_name).capitalize()} « {obj} » : " if obj.pk else "Nouvelle ligne : "


class ReadOnlyInline(ScopedInline):
    """A list of the related rows, each linking to its own page."""

    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_fieldsets(self, request, obj=None):
        return admin.options.BaseModelAdmin.get_fieldsets(self, request, obj)


class ScopedAdmin(PerimetreMixin, admin.ModelAdmin):
    """A model admin scoped by perimeter (models without an audit trail)."""

    list_per_page = 50
    #: Inlines are shown once the object exists: their checks need it (the contract's years, type…).
    inlines_on_add = False

    def get_inlines(self, request, obj):
        if obj is None and not self.inlines_on_add:
            return []
        return super().get_inlines(request, obj)

    def get_object(self, request, object_id, from_field=None):
        """Out of perimeter or non-existent: the same 404 (never a redirect that would tell them apart)."""
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"Aucun objet {self.opts.verbose_name} ne correspond à cet identifiant.")
        return obj

    def get_form(self, request, obj=None, change=False, **kwargs):
        request.pacte_objet = obj
        form = super().get_form(request, obj, change=change, **kwargs)
        _drop_hidden_unless_listed(form, kwargs.get("fields"))
        # modelform_factory creates a new class on each call: safe to hang the request on it.
        form.request = request
        form.pacte_contrat = self.contrat_de(obj) if obj is not None else None
        return form

    def response_action(self, request, queryset):
        return refuse_bad_selection(request) or super().response_action(request, queryset)

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting goes one object at a time, through the confirmation page and its checks.
        actions.pop("delete_selected", None)
        return actions

    # --- The one write path ------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A service's refusal at save time (a rule, a frozen contract, a version, a duplicate) rolls the
        whole page back, then the page is shown again with the refusal on the form."""
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or getattr(request, "_pacte_write_error", None) is not None:
                raise
            request._pacte_write_error = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as error:
            report_errors(request, error)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        # Submitting an untouched form must not write an empty line in the audit trail.
        if change and not form.has_changed():
            return
        self.write(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # Many-to-many fields are written by the services (``write``), never by ``form.save_m2m``.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(self, request, form, formset, change):
        inline = getattr(formset, "pacte_inline", None)
        if inline is None:
            raise NotImplementedError(f"Les lignes « {formset.prefix} » n'ont pas de service d'écriture.")
        deleted = set()
        # What the admin's change message and log read (``formset.save()`` would have set them).
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
        for row in formset.deleted_forms:
            deleted.add(row.prefix)
            if row.instance.pk is not None:
                try:
                    inline.remove(request, row.instance, version_of(row))
                except ValidationError as error:
                    raise _prefixed(error, inline.row_label(row.instance)) from None
                formset.deleted_objects.append(row.instance)
        for row in formset.forms:
            if row.prefix in deleted or not row.has_changed():
                continue
            new = row.instance.pk is None
            try:
                inline.write(request, row.instance, row, change=not new)
            except ValidationError as error:
                raise _prefixed(error, inline.row_label(row.instance)) from None
            if new:
                formset.new_objects.append(row.instance)
            else:
                formset.changed_objects.append((row.instance, row.changed_data))

    def delete_model(self, request, obj):
        self.remove(request, obj, None)

    def run_service(self, request, queryset, service, success: str) -> None:
        """Applies ``service(obj)`` to each selected object; a refusal becomes a message, not an error."""
        done = 0
        for obj in queryset:
            try:
                service(obj)
            except ValidationError as error:
                report_errors(request, error, prefix=f"{obj} : ")
            else:
                done += 1
        if done:
            messages.success(request, success.format(n=done))


class HistoryAdmin(ScopedAdmin, SimpleHistoryAdmin):
    """A scoped model admin whose "Historique" page is django-simple-history's (who, when, before/after)."""

    def history_view(self, request, object_id, extra_context=None):
        # SimpleHistoryAdmin falls back on the history of a missing object, which would show the
        # history of an object outside the perimeter: check the perimeter first. The national level
        # still reads the history of deleted objects.
        if perimetre_of(request.user).niveau != Niveau.NATION:
            self.get_object(request, unquote(object_id))
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if perimetre_of(request.user).niveau != Niveau.NATION:
            self.get_object(request, unquote(object_id))
        if request.method == "POST":
            raise PermissionDenied("Une version passée se consulte ; elle ne se restaure pas.")
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None) -> bool:
        return True


def register_inline(model_admin_class, inline_class) -> None:
    """Adds an inline defined by a higher app (dependencies flow pacte ← contrats ← actions ← financement):
    the contract page shows fiches and payments that ``contrats`` cannot import. Inlines are kept in
    the order of their ``position``."""
    inlines = [*model_admin_class.inlines, inline_class]
    model_admin_class.inlines = sorted(inlines, key=lambda inline: getattr(inline, "position", 100))


def euros_display(value) -> str:
    return "" if value is None else format_euros(value)


# --- Confirmation of irreversible actions -------------------------------------------------------------


def confirmation_text_field(
    model_field, *, label: str = "", required: bool = False, required_message: str = "", help_text: str = ""
):
    """The free text a confirmation page asks (motif, comment, observations) for ``model_field``, where the
    service stores it: checked by that field's own validators (length, characters), so that bad input is
    refused on the page, in French, before anything runs."""
    from pacte.validators import validate_text

    error_messages = {"required": required_message} if required_message else {}
    return forms.CharField(
        label=label or str(model_field.verbose_name).capitalize(),
        required=required,
        validators=[validate_text, *(v for v in model_field.validators if v is not validate_text)],
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text=help_text,
        error_messages=error_messages,
    )


class ConfirmationForm(forms.Form):
    """What a confirmation page asks besides "Confirmer": nothing by default; subclasses add the motif,
    the date or the comment the service takes. ``action``, ``post``, ``index``, ``select_across`` and
    ``_selected_action`` are the changelist's own names: no field may use them."""


def confirm_action(
    model_admin,
    request,
    queryset,
    *,
    action: str,
    title: str,
    consequences: list[str],
    apply,
    success: str,
    form_class: type[forms.Form] = ConfirmationForm,
    initial=None,
    describe=str,
):
    """An admin action that cannot be undone goes through a page that says what will happen.

    The idiom of Django's ``delete_selected``: the changelist's POST shows the selected objects, the
    ``consequences`` (French sentences) and ``form_class``; that page posts back the same ``action``
    with the same ``_selected_action`` and ``post=yes``. With a valid form, ``apply(obj, cleaned_data)``
    runs for each object through :meth:`ScopedAdmin.run_service` (a service's refusal becomes a
    message, the other objects go on) and ``None`` sends the user back to the changelist. An invalid
    form shows the page again with its errors, and nothing is written.

    ``queryset`` is what the admin passes to the action, already read through ``for_user``; the
    action's ``permissions`` decide who is offered it. ``initial(objects)`` gives the form's initial
    values, ``describe(obj)`` the line that names an object on the page.
    """
    from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
    from django.template.response import TemplateResponse

    objects = list(queryset)
    if not objects:
        messages.warning(request, "Aucun des éléments sélectionnés ne peut être traité.")
        return None
    confirmed = request.POST.get("post") == "yes"
    form = form_class(data=request.POST if confirmed else None, initial=initial(objects) if initial else None)
    if confirmed and form.is_valid():
        model_admin.run_service(request, objects, lambda obj: apply(obj, form.cleaned_data), success)
        return None
    opts = model_admin.model._meta
    request.current_app = model_admin.admin_site.name
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "subtitle": None,
        "opts": opts,
        "action": action,
        "action_checkbox_name": ACTION_CHECKBOX_NAME,
        "objects": [(obj.pk, describe(obj)) for obj in objects],
        "consequences": consequences,
        "form": form,
        "changelist_url": request.get_full_path(),
        "media": model_admin.media + form.media,
    }
    return TemplateResponse(request, "admin/pacte/confirmation.html", context)
