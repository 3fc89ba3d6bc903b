"""Back-office of the reference data: territories, axes, objectives, measures, organisations, users.

Territories are loaded from ``pacte/data`` and never deleted; axes, the Pacte's objectives and the
national measures under them are maintained by the administration centrale (an objective or a
measure is retired with ``active``, never deleted).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.db import models
from django.db.models import Count, Q
from django.urls import reverse
from dsfr.admin import DsfrConfigAdmin, DsfrSocialMediaInline
from dsfr.models import DsfrConfig
from import_export.admin import ImportExportMixin
from import_export.formats import base_formats

from pacte.admin_base import (
    HardenedAdminMixin,
    HistoryAdmin,
    ReadOnlyInline,
    ServiceForm,
    changed_fields,
    version_of,
)
from pacte.enums import TypeOrganisation
from pacte.models import Axe, Collectivite, Departement, Mesure, Objectif, Organisation, Region, User
from pacte.perimeters import Niveau, perimetre_of
from pacte.perms import can_edit_reference, can_edit_territories, can_prepare, can_use_backoffice, in_perimeter
from pacte.resources import (
    AxeResource,
    CollectiviteResource,
    DepartementResource,
    MesureResource,
    ObjectifResource,
    OrganisationResource,
    RegionResource,
)
from pacte.services import (
    mesure_errors,
    mesure_save,
    objectif_errors,
    objectif_save,
    organisation_save,
    reference_delete,
    reference_save,
    user_save,
)

# Access follows the perimeter and the role (pacte.perms), not Django's groups: the groups page would
# only mislead, and its menu entry costs two permission queries on every page of the back-office.
admin.site.unregister(Group)


# Links are https (and Django 6's default: no deprecation warning).
HTTPS = {models.URLField: {"assume_scheme": "https"}}


class SiteSocialMediaInline(HardenedAdminMixin, DsfrSocialMediaInline):
    formfield_overrides = HTTPS


class SiteConfigAdmin(HardenedAdminMixin, DsfrConfigAdmin):
    """The site's DSFR settings: superusers only, decided without the permission tables' queries."""

    formfield_overrides = HTTPS
    inlines = [SiteSocialMediaInline]

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser


admin.site.unregister(DsfrConfig)
admin.site.register(DsfrConfig, SiteConfigAdmin)


# --- Territories: read-only, except for a superuser's correction; never deleted ----------------------


class ReferenceWrite:
    """Reference rows are saved by ``reference_save`` (validated, versioned, audited), many-to-many included."""

    reference = True
    save_service = staticmethod(reference_save)
    service_arg = "instance"

    def write(self, request, obj, form, change):
        m2m = {
            name: list(form.cleaned_data[name])
            for name in form.changed_data
            if name in {f.name for f in obj._meta.many_to_many}
        }
        reference_save(instance=obj, by=request.user, version=version_of(form), m2m=m2m)


class ReferenceImportExport(ImportExportMixin):
    """Export (csv, xlsx) for every agent who reads the list; import in two steps (django-import-export's preview,
    then confirmation) for whoever may change the rows (``peut_importer``: the administration centrale, the
    territories for superusers). Each row is written by the reference data's service with the acting user
    (``pacte.resources``), all or nothing; a new row only if the user may add one (``peut_ajouter``)."""

    import_formats = [base_formats.CSV, base_formats.XLSX]
    export_formats = [base_formats.CSV, base_formats.XLSX]

    def peut_importer(self, request) -> bool:
        return self.peut_modifier(request, None)

    def has_import_permission(self, request) -> bool:
        return self.has_view_permission(request) and self.peut_importer(request)

    def has_export_permission(self, request) -> bool:
        return self.has_view_permission(request)

    def get_export_context_data(self, **kwargs):
        # The export page's form posts to itself (django-import-export names its address only when the export
        # starts from a selection on the list).
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_export", current_app=self.admin_site.name)
        return {**super().get_export_context_data(**kwargs), "export_url": url}

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "peut_creer": self.peut_ajouter(request, None)}

    def get_import_data_kwargs(self, **kwargs):
        # One refused row and nothing is written (the preview already showed it).
        return {**super().get_import_data_kwargs(**kwargs), "rollback_on_validation_errors": True}


class TerritoireMixin(ReferenceWrite):
    def peut_modifier(self, request, obj) -> bool:
        return can_edit_territories(request.user)

    def peut_ajouter(self, request, obj) -> bool:
        return can_edit_territories(request.user)


class DepartementInline(ReadOnlyInline, admin.TabularInline):
    model = Departement
    reference = True
    fields = ("code", "nom")


@admin.register(Region)
class RegionAdmin(ReferenceImportExport, TerritoireMixin, HistoryAdmin):
    resource_classes = [RegionResource]
    list_display = ("code", "nom", "nb_departements")
    search_fields = ("code", "nom")
    ordering = ("code",)
    inlines = [DepartementInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_nb_departements=Count("departements"))

    @admin.display(description="départements", ordering="_nb_departements")
    def nb_departements(self, obj) -> int:
        return obj._nb_departements


@admin.register(Departement)
class DepartementAdmin(ReferenceImportExport, TerritoireMixin, HistoryAdmin):
    resource_classes = [DepartementResource]
    list_display = ("code", "nom", "region")
    list_filter = ("region",)
    list_select_related = ("region",)
    search_fields = ("code", "nom")
    ordering = ("code",)


@admin.register(Collectivite)
class CollectiviteAdmin(ReferenceImportExport, TerritoireMixin, HistoryAdmin):
    resource_classes = [CollectiviteResource]
    list_display = ("code", "nom", "nature", "region", "liste_departements")
    list_filter = ("nature", "region")
    list_select_related = ("region",)
    search_fields = ("code", "nom", "departements__code", "departements__nom")
    ordering = ("code",)
    filter_horizontal = ("departements",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("departements")

    @admin.display(description="départements")
    def liste_departements(self, obj) -> str:
        return ", ".join(d.code for d in obj.departements.all())


# --- Axes and measures: the administration centrale maintains them -----------------------------------


@admin.register(Axe)
class AxeAdmin(ReferenceImportExport, ReferenceWrite, HistoryAdmin):
    resource_classes = [AxeResource]
    list_display = ("numero", "intitule_court", "intitule")
    search_fields = ("intitule", "intitule_court")
    ordering = ("numero",)

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def peut_ajouter(self, request, obj) -> bool:
        # The four axes are those of the Pacte: only a superuser may add one.
        return can_edit_territories(request.user)

    def get_readonly_fields(self, request, obj=None):
        return ("numero",) if obj else ()


class RuleForm(ServiceForm):
    """Shows the refusals of a reference row's service (``rule``: ``mesure_errors``…) on the form's fields."""

    rule = None

    def _post_clean(self):
        super()._post_clean()
        for field, message in type(self).rule(self.instance).items():
            if field not in self.errors:
                self.add_error(field if field in self.fields else None, message)


class ObjectifForm(RuleForm):
    rule = staticmethod(objectif_errors)


class MesureForm(RuleForm):
    rule = staticmethod(mesure_errors)


def _objectifs_proposes(current_id):
    # A retired objective is no longer offered, but a row keeps the one it has.
    return Objectif.objects.select_related("axe").filter(Q(active=True) | Q(pk=current_id))


class MesureObjectifInline(ReadOnlyInline, admin.TabularInline):
    model = Mesure
    reference = True
    fields = ("code", "intitule", "active")
    verbose_name_plural = "mesures nationales qui servent cet objectif (chacune se modifie sur sa page)"


@admin.register(Objectif)
class ObjectifAdmin(ReferenceImportExport, ReferenceWrite, HistoryAdmin):
    """The objectives of the Pacte's instructions per axis: the first level of the reference list, above the
    national measures. Never deleted: retired with ``active``."""

    resource_classes = [ObjectifResource]

    form = ObjectifForm
    list_display = ("code", "intitule", "axe", "active")
    list_filter = ("axe", "active")
    list_select_related = ("axe",)
    search_fields = ("code", "intitule")
    ordering = ("code",)
    inlines = [MesureObjectifInline]

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def peut_ajouter(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def write(self, request, obj, form, change):
        objectif_save(objectif=obj, by=request.user, version=version_of(form))


@admin.register(Mesure)
class MesureAdmin(ReferenceImportExport, ReferenceWrite, HistoryAdmin):
    """The national measures, each under an objective of its axis. Never deleted: retired with ``active``."""

    resource_classes = [MesureResource]

    form = MesureForm
    list_display = ("code", "intitule", "axe", "objectif", "active")
    list_filter = ("axe", "objectif", "active")
    list_select_related = ("axe", "objectif")
    search_fields = ("code", "intitule", "objectif__code", "objectif__intitule")
    ordering = ("code",)

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def peut_ajouter(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def choices_for(self, db_field, request):
        if db_field.name == "objectif":
            return _objectifs_proposes(getattr(getattr(request, "pacte_objet", None), "objectif_id", None))
        return super().choices_for(db_field, request)

    def write(self, request, obj, form, change):
        mesure_save(mesure=obj, by=request.user, version=version_of(form))


# --- Organisations and users: what the perimeter shows --------------------------------------------------


@admin.register(Organisation)
class OrganisationAdmin(ReferenceImportExport, HistoryAdmin):
    """The administration centrale manages every organisation; a DDETS editor adds the partners and
    porteurs of its département (they carry or fund its actions). Imports: the administration centrale only."""

    resource_classes = [OrganisationResource]

    def peut_importer(self, request) -> bool:
        return can_edit_reference(request.user)

    list_display = ("nom", "type", "departement", "region", "collectivite", "siret")
    list_filter = ("type", "departement__region", "region")
    list_select_related = ("departement", "region", "collectivite")
    search_fields = ("nom", "siret", "collectivite__nom", "departement__nom")
    ordering = ("nom",)
    autocomplete_fields = ("collectivite",)

    def _partenaire_local(self, request, obj) -> bool:
        perimetre = perimetre_of(request.user)
        if not can_prepare(request.user) or perimetre.niveau != Niveau.DEPARTEMENT:
            return False
        return obj is None or (
            obj.type == TypeOrganisation.PARTENAIRE and obj.departement_id == perimetre.departement_id
        )

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_reference(request.user) or self._partenaire_local(request, obj)

    def peut_ajouter(self, request, obj) -> bool:
        return self.peut_modifier(request, obj)

    def peut_supprimer(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def get_readonly_fields(self, request, obj=None):
        if can_edit_reference(request.user):
            return ()
        return ("type", "region", "departement", "collectivite")

    def choices_for(self, db_field, request):
        if db_field.name == "collectivite":
            return perimetre_of(request.user).collectivites()
        return super().choices_for(db_field, request)

    delete_service = staticmethod(reference_delete)
    service_arg = "instance"

    def write(self, request, obj, form, change):
        local = None
        if not can_edit_reference(request.user):
            local = Departement.objects.get(pk=perimetre_of(request.user).departement_id)
        organisation_save(organisation=obj, by=request.user, version=version_of(form), departement_local=local)


class PacteUserChangeForm(ServiceForm, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User


class PacteUserCreationForm(ServiceForm, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User


@admin.register(User)
class UserAdmin(HistoryAdmin, DjangoUserAdmin):
    """Agents of the organisations in the perimeter; superusers are shown to superusers only.

    The administration centrale creates accounts and sets organisations and roles; only a superuser
    grants the superuser status or Django permissions.
    """

    fieldsets = (
        (None, {"fields": ("username", "password")}),
        ("Identité", {"fields": ("first_name", "last_name", "email")}),
        ("Rattachement", {"fields": ("organisation", "role")}),
        ("Accès", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("username", "usable_password", "password1", "password2", "organisation", "role"),
            },
        ),
    )
    list_display = ("username", "last_name", "first_name", "email", "organisation", "role", "is_active")
    list_filter = ("role", "is_active", "is_staff", "organisation__type")
    list_select_related = ("organisation",)
    search_fields = ("username", "first_name", "last_name", "email", "organisation__nom")
    ordering = ("username",)
    autocomplete_fields = ("organisation",)
    form = PacteUserChangeForm
    add_form = PacteUserCreationForm
    delete_service = staticmethod(reference_delete)
    service_arg = "instance"

    def write(self, request, obj, form, change):
        m2m = {name: list(form.cleaned_data[name]) for name in changed_fields(form, {"groups", "user_permissions"})}
        user_save(user=obj, by=request.user, version=version_of(form), m2m=m2m)

    def get_queryset(self, request):
        qs = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return qs
        return qs.filter(organisation__in=Organisation.objects.for_user(request.user), is_superuser=False)

    def has_view_permission(self, request, obj=None) -> bool:
        if not can_use_backoffice(request.user) or not in_perimeter(request.user, None):
            return False
        return obj is None or self.get_queryset(request).filter(pk=obj.pk).exists()

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_territories(request.user) or (
            can_edit_reference(request.user) and not (obj and obj.is_superuser)
        )

    def peut_ajouter(self, request, obj) -> bool:
        return self.peut_modifier(request, obj)

    def peut_supprimer(self, request, obj) -> bool:
        return can_edit_territories(request.user)

    def get_readonly_fields(self, request, obj=None):
        if can_edit_territories(request.user):
            return ("last_login", "date_joined")
        return ("is_superuser", "groups", "user_permissions", "last_login", "date_joined")
