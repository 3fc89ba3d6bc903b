"""What every page of the back-office shares: the perimeter, the permissions and the audit trail.

The admin follows the same rules as the application (CONVENTIONS.md rules 1 and 3):

- every list and every object is read through ``Model.objects.for_user(user)``; an object outside the
  perimeter answers 404, exactly like an identifier that does not exist (change, delete and history
  pages alike);
- permissions come from the predicates of :mod:`pacte.perms`, not from Django's permission tables:
  the agents are staff without model permissions;
- every admin of a model with ``HistoricalRecords`` is a ``SimpleHistoryAdmin``, so the "Historique"
  page shows who changed what, when, before and after. Reverting from the history is disabled: it
  would bypass the services' rules (frozen contracts, statuses).
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from pacte import perms
from pacte.money import format_euros
from pacte.perimeters import Niveau, perimetre_of


def acces_backoffice(user) -> bool:
    """The back-office is open to active staff attached to an organisation, and to superusers."""
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and (user.is_superuser or user.organisation_id)
    )


def in_perimeter(request, obj) -> bool:
    """:func:`pacte.perms.in_perimeter`, remembered for the request.

    A change page asks the same question many times (the form, each inline, each button); one query
    per object and request is enough. Reference data (models without ``for_user``) is visible to all.
    """
    if obj is None:
        return perms.in_perimeter(request.user, None)
    if not hasattr(type(obj)._default_manager, "for_user"):
        return True
    if obj.pk is None:
        return False
    cache = request.__dict__.setdefault("_pacte_in_perimeter", {})
    key = (obj._meta.label, obj.pk)
    if key not in cache:
        cache[key] = perms.in_perimeter(request.user, obj)
    return cache[key]


def resolve(obj, path: str | None):
    """Follows a dotted path of attributes (``"fiche.contrat"``); ``""`` is the object itself."""
    if obj is None or path is None:
        return None
    for attr in filter(None, path.split(".")):
        obj = getattr(obj, attr, None)
        if obj is None:
            return None
    return obj


# Who writes what (DOMAIN.md §7). Each helper asks the predicate about the role and the kind of
# organisation, and the memoised perimeter about the contract.


def _with_contrat(request, allowed: bool, contrat) -> bool:
    return allowed and (contrat is None or in_perimeter(request, contrat))


def prepare(request, contrat=None) -> bool:
    """Contracts, fiches, the State's amounts, ceilings, avenants: DDETS editors."""
    return _with_contrat(request, perms.can_prepare_contrat(request.user), contrat)


def saisie_collectivite(request, contrat=None) -> bool:
    """The collectivité's amounts, indicator values, annual reports: collectivité (and DDETS) editors."""
    return _with_contrat(request, perms.can_enter_collectivite_data(request.user), contrat)


def signe(request, contrat=None) -> bool:
    """Signatories and signatures: préfecture (and DDETS) editors."""
    return _with_contrat(request, perms.can_sign(request.user), contrat)


def suit_versements(request, contrat=None) -> bool:
    """Payments and reliquats: DDETS editors."""
    return _with_contrat(request, perms.can_follow_payments(request.user), contrat)


def national(request) -> bool:
    """Reference data and cofinancing rules: editors of the administration centrale."""
    return perms.is_national_admin(request.user)


def report_errors(request, error: ValidationError, prefix: str = "") -> None:
    """Shows a service's refusal in French, one message per line."""
    for message in error.messages:
        messages.error(request, f"{prefix}{message}")


class PerimetreMixin:
    """Scoping and permissions, for model admins and inlines alike.

    Subclasses say who may write with :meth:`peut_modifier`, :meth:`peut_ajouter` and
    :meth:`peut_supprimer` (``obj`` is the object for a model admin, the parent object for an inline;
    ``None`` on lists and add pages). ``contrat_path`` leads from that object to its contract, which
    decides whether contractual data is frozen.
    """

    #: Reference data (territories, axes, rules) is read by every agent, whatever its perimeter.
    reference = False
    #: Dotted path from ``obj`` (see above) to its contract; ``None`` when there is none.
    contrat_path: str | None = None

    # --- Reading -----------------------------------------------------------------------------------

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if self.reference else qs.for_user(request.user)

    def has_module_permission(self, request) -> bool:
        return acces_backoffice(request.user)

    def has_view_permission(self, request, obj=None) -> bool:
        if not acces_backoffice(request.user) or not in_perimeter(request, None):
            return False
        return obj is None or self.reference or in_perimeter(request, obj)

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

    # --- Forms -------------------------------------------------------------------------------------

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
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ScopedInline(PerimetreMixin):
    """An inline: permissions are asked about the parent object, already read within the perimeter."""

    extra = 0
    show_change_link = True

    def get_formset(self, request, obj=None, **kwargs):
        request.pacte_objet = obj
        formset = super().get_formset(request, obj, **kwargs)
        # The form class is created anew by each call: these attributes belong to this request only.
        formset.form.request = request
        formset.form.parent = obj
        return formset


class ReadOnlyInline(ScopedInline):
    """A list of the related rows, each linking to its own page."""

    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)


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
        # modelform_factory creates a new class on each call: safe to hang the request on it.
        form.request = request
        return form

    def get_actions(self, request):
        actions = super().get_actions(request)
        # Deleting goes one object at a time, through the confirmation page and its checks.
        actions.pop("delete_selected", None)
        return actions

    def save_model(self, request, obj, form, change):
        # Submitting an untouched form must not write an empty line in the audit trail.
        if change and not form.has_changed():
            return
        super().save_model(request, obj, form, change)

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
