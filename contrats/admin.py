"""Back-office of the contracts: contract, signatories, volets, avenants, committees, type rules.

Statuses never change by editing a field: the admin actions call the services
(``contrat_transition``, ``contrat_sign``, ``avenant_transition``), which run the same checks as the
application. Once a contract is signed, its contractual fields are read-only here too.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.utils.module_loading import import_string

from contrats.enums import (
    STATUTS_AVENANT_POSSIBLE,
    STATUTS_FIGES,
    StatutAvenant,
    StatutContrat,
)
from contrats.forms import (
    CONSEQUENCES_CLOTURE,
    CONSEQUENCES_RESILIATION,
    CONSEQUENCES_SIGNATURE,
    ClotureForm,
    ResiliationForm,
    SignatureForm,
    derniere_signature,
)
from contrats.models import (
    Avenant,
    Comite,
    Contrat,
    EngagementPartenaire,
    LibelleAxe,
    ModificationAvenant,
    ObjectifContrat,
    PacteLocal,
    RegleTypeContrat,
    Signataire,
    Volet,
)
from contrats.services import (
    avenant_create,
    avenant_errors,
    avenant_transition,
    avenant_update,
    comite_delete,
    comite_save,
    contrat_create,
    contrat_delete,
    contrat_errors,
    contrat_sign,
    contrat_transition,
    contrat_update,
    engagement_partenaire_delete,
    engagement_partenaire_save,
    libelle_axe_delete,
    libelle_axe_errors,
    libelle_axe_save,
    objectif_contrat_delete,
    objectif_contrat_errors,
    objectif_contrat_save,
    pacte_local_save,
    reference_par_defaut,
    regle_du_type,
    regle_type_save,
    signataire_delete,
    signataire_save,
    volet_delete,
    volet_errors,
    volet_save,
)
from pacte.admin_base import (
    HistoryAdmin,
    ReadOnlyInline,
    ScopedInline,
    ServiceForm,
    adopt,
    changed_fields,
    confirm_action,
    register_inline,
    version_of,
)
from pacte.enums import TypeOrganisation
from pacte.models import Organisation
from pacte.perimeters import perimetre_of
from pacte.perms import can_edit_reference, can_prepare, can_sign


def contrats_modifiables(request):
    """Contracts whose contractual data may still change: in the perimeter and not signed."""
    return Contrat.objects.for_user(request.user).exclude(statut__in=STATUTS_FIGES)


# --- Contract ---------------------------------------------------------------------------------------------


class ContratForm(ServiceForm):
    """The checks of ``contrat_create`` / ``contrat_update``, where the admin form can show them."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("reference", "titre"):
            if name in self.fields:
                self.fields[name].required = False
                self.fields[name].help_text = "Vide : valeur par défaut du type de contrat."

    def clean(self):
        cleaned = super().clean()
        contrat = self.instance
        type_contrat = cleaned.get("type_contrat", contrat.type_contrat)
        collectivite = cleaned.get("collectivite") or (contrat.collectivite if contrat.collectivite_id else None)
        if not type_contrat or collectivite is None:
            return cleaned
        try:
            errors = contrat_errors(
                collectivite=collectivite,
                type_contrat=type_contrat,
                axes=list(cleaned["axes"]) if "axes" in self.fields and "axes" in cleaned else None,
                contrat=contrat,
            )
            regle = regle_du_type(type_contrat)
        except ValidationError as error:
            self.add_error(None, error)
            return cleaned
        for field, message in errors.items():
            self.add_error(field if field in self.fields else None, message)
        if "titre" in self.fields and not cleaned.get("titre"):
            cleaned["titre"] = regle.titre_defaut
        if "reference" in self.fields and not cleaned.get("reference") and cleaned.get("date_debut"):
            cleaned["reference"] = reference_par_defaut(
                type_contrat=type_contrat, annee=cleaned["date_debut"].year, collectivite=collectivite
            )
        return cleaned


class SignataireInline(ScopedInline, admin.TabularInline):
    model = Signataire
    position = 20
    contrat_path = ""
    fields = ("partie", "organisation", "nom", "qualite", "date_signature")
    autocomplete_fields = ("organisation",)
    show_change_link = False

    def get_queryset(self, request):
        # Once the contract is signed the organisation is shown as text: read with the rows.
        return super().get_queryset(request).select_related("organisation")

    def peut_modifier(self, request, obj) -> bool:
        return (can_prepare(request.user, obj) or can_sign(request.user, obj)) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(signataire_save)
    delete_service = staticmethod(signataire_delete)


class VoletForm(ServiceForm):
    def clean(self):
        cleaned = super().clean()
        contrat = getattr(self, "parent", None) or (self.instance.contrat if self.instance.contrat_id else None)
        contrat = contrat or cleaned.get("contrat")
        numero = cleaned.get("numero")
        if contrat is not None and numero:
            for field, message in volet_errors(contrat=contrat, numero=numero).items():
                self.add_error(field, message)
        return cleaned


class VoletInline(ScopedInline, admin.TabularInline):
    model = Volet
    form = VoletForm
    position = 30
    contrat_path = ""
    fields = ("numero", "intitule")
    show_change_link = False

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, obj) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(volet_save)
    delete_service = staticmethod(volet_delete)


class EngagementPartenaireInline(ScopedInline, admin.TabularInline):
    """What each partner commits to the contract, per year (contractual: read-only once signed)."""

    model = EngagementPartenaire
    position = 35
    contrat_path = ""
    fields = ("organisation", "annee", "montant", "etp", "en_nature")
    show_change_link = False

    save_service = staticmethod(engagement_partenaire_save)
    delete_service = staticmethod(engagement_partenaire_delete)

    def get_queryset(self, request):
        # Each row's label names its partner: read with the rows.
        return super().get_queryset(request).select_related("organisation")

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, obj) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    def choices_for(self, db_field, request):
        if db_field.name == "organisation":
            # The partners of the user's perimeter, and the signing collectivité's own organisation.
            contrat = getattr(request, "pacte_objet", None)
            mine = Q(type=TypeOrganisation.COLLECTIVITE)
            if isinstance(contrat, Contrat):
                mine &= Q(collectivite_id=contrat.collectivite_id)
            return Organisation.objects.for_user(request.user).filter(Q(type=TypeOrganisation.PARTENAIRE) | mine)
        return super().choices_for(db_field, request)


class AvenantInline(ReadOnlyInline, admin.TabularInline):
    model = Avenant
    position = 60
    fields = ("numero", "objet", "statut", "date_signature")
    verbose_name_plural = "avenants (chacun se modifie sur sa page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contrat")


class ComiteInline(ScopedInline, admin.StackedInline):
    model = Comite
    position = 70
    contrat_path = ""
    fields = (("type_comite", "date", "lieu"), "participants", "decisions")

    def peut_modifier(self, request, obj) -> bool:
        # Execution data: recorded after signature too.
        return can_prepare(request.user, obj) or can_sign(request.user, obj)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(comite_save)
    delete_service = staticmethod(comite_delete)


@admin.register(Contrat)
class ContratAdmin(HistoryAdmin):
    form = ContratForm
    contrat_path = ""
    list_display = (
        "reference",
        "type_contrat",
        "collectivite",
        "statut",
        "date_debut",
        "date_fin",
        "date_signature",
        "nb_fiches",
    )
    list_filter = (
        "statut",
        "type_contrat",
        ("collectivite__region", RelatedOnlyFieldListFilter),
        ("collectivite", RelatedOnlyFieldListFilter),
    )
    list_select_related = ("collectivite",)
    search_fields = ("reference", "titre", "collectivite__nom", "collectivite__code")
    ordering = ("reference",)
    fieldsets = (
        (None, {"fields": ("reference", "type_contrat", "titre", "collectivite", "axes", ("date_debut", "date_fin"))}),
        (
            "Contenu du contrat",
            {
                "fields": ("preambule", "diagnostic"),
                "description": "Texte mis en forme : paragraphes (p), retours à la ligne (br), gras (strong), "
                "italique (em), listes (ul, ol, li), titres (h3, h4) et liens http, https ou mailto (a). "
                "Tout le reste est retiré à l'enregistrement.",
            },
        ),
        ("Pacte local", {"fields": ("pacte_local", "contrat_precedent")}),
        ("Signature", {"fields": ("statut", "date_signature", "document_signe", "empreinte_document")}),
        ("Fin du contrat", {"fields": ("motif_fin",)}),
        ("Suivi", {"fields": ("cree_le", "modifie_le")}),
    )
    inlines = [SignataireInline, VoletInline, EngagementPartenaireInline, AvenantInline, ComiteInline]
    actions = [
        "passer_en_negociation",
        "revenir_en_negociation",
        "marquer_pret_pour_signature",
        "enregistrer_signature",
        "passer_en_execution",
        "clore",
        "resilier",
        "renouveler",
    ]

    TOUJOURS_LECTURE = (
        "pacte_local",
        "contrat_precedent",
        "statut",
        "date_signature",
        "document_signe",
        "empreinte_document",
        "motif_fin",
        "cree_le",
        "modifie_le",
    )

    def get_queryset(self, request):
        # The change page shows the pacte local and the renewed contract, the list the collectivité: read with
        # the contract (a select_related here replaces the list's ``list_select_related``).
        rows = super().get_queryset(request).select_related("collectivite", "pacte_local", "contrat_precedent")
        return rows.annotate(_nb_fiches=Count("fiches", distinct=True))

    @admin.display(description="fiches", ordering="_nb_fiches")
    def nb_fiches(self, obj) -> int:
        return obj._nb_fiches

    # --- Who writes what -------------------------------------------------------------------------------

    def peut_modifier(self, request, obj) -> bool:
        # The préfecture edits the signatories on the contract's page, the rest is read-only for it.
        return can_prepare(request.user, obj) or can_sign(request.user, obj)

    def peut_ajouter(self, request, obj) -> bool:
        return can_prepare(request.user)

    def peut_supprimer(self, request, obj) -> bool:
        # A draft can be deleted (its fiches protect it); anything further is closed or terminated.
        return can_prepare(request.user, obj) and (obj is None or obj.statut == StatutContrat.BROUILLON)

    def has_prepare_permission(self, request) -> bool:
        return can_prepare(request.user)

    def has_sign_permission(self, request) -> bool:
        return can_sign(request.user)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return self.TOUJOURS_LECTURE
        every_field = self.every_field(request, obj)
        if not can_prepare(request.user, obj):
            return every_field
        if obj.est_fige:
            return every_field
        return (*self.TOUJOURS_LECTURE, "motif_fin", "reference", "type_contrat", "collectivite")

    def choices_for(self, db_field, request):
        if db_field.name == "collectivite":
            return perimetre_of(request.user).collectivites()
        return super().choices_for(db_field, request)

    def write(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            created = contrat_create(
                collectivite=data["collectivite"],
                type_contrat=data["type_contrat"],
                date_debut=data["date_debut"],
                date_fin=data["date_fin"],
                reference=data.get("reference", ""),
                titre=data.get("titre", ""),
                axes=list(data["axes"]) if "axes" in data else None,
                preambule=data.get("preambule", ""),
                diagnostic=data.get("diagnostic", ""),
                by=request.user,
            )
            adopt(obj, created)
            return
        changes = changed_fields(form, {"titre", "date_debut", "date_fin", "preambule", "diagnostic"})
        axes = list(data["axes"]) if "axes" in form.changed_data else None
        contrat_update(contrat=obj, by=request.user, version=version_of(form), axes=axes, **changes)

    def remove(self, request, obj, version=None):
        contrat_delete(contrat=obj, by=request.user, version=version)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    # --- Workflow, through the services -------------------------------------------------------------

    def _transition(self, request, queryset, to: str, success: str) -> None:
        self.run_service(request, queryset, lambda c: contrat_transition(contrat=c, to=to, by=request.user), success)

    # Closing, terminating and signing cannot be undone: they go through a confirmation page
    # (pacte.admin_base.confirm_action) that states the consequences and asks what the service needs.

    ClotureForm = ClotureForm
    ResiliationForm = ResiliationForm
    SignatureForm = SignatureForm

    @staticmethod
    def _decrit(contrat) -> str:
        return f"{contrat.reference} – {contrat.titre} ({contrat.collectivite}, {contrat.get_statut_display().lower()})"

    _derniere_signature = staticmethod(derniere_signature)

    def _fin(self, request, queryset, *, action: str, to: str, form_class, title: str, consequences, success: str):
        return confirm_action(
            self,
            request,
            queryset,
            action=action,
            title=title,
            consequences=consequences,
            form_class=form_class,
            apply=lambda c, data: contrat_transition(contrat=c, to=to, by=request.user, motif=data["motif"]),
            success=success,
            describe=self._decrit,
        )

    @admin.action(description="Passer en négociation", permissions=["prepare"])
    def passer_en_negociation(self, request, queryset):
        self._transition(request, queryset, StatutContrat.EN_NEGOCIATION, "{n} contrat(s) passé(s) en négociation.")

    @admin.action(description="Revenir en négociation", permissions=["prepare"])
    def revenir_en_negociation(self, request, queryset):
        self._transition(request, queryset, StatutContrat.EN_NEGOCIATION, "{n} contrat(s) revenu(s) en négociation.")

    @admin.action(description="Marquer prêt pour signature", permissions=["prepare"])
    def marquer_pret_pour_signature(self, request, queryset):
        self._transition(request, queryset, StatutContrat.PRET_SIGNATURE, "{n} contrat(s) prêt(s) pour signature.")

    @admin.action(description="Enregistrer la signature…", permissions=["sign"])
    def enregistrer_signature(self, request, queryset):
        def sign(contrat, data):
            signed_on = data["date_signature"] or self._derniere_signature(contrat)
            if signed_on is None:
                raise ValidationError("Aucun signataire n'a de date de signature.")
            contrat_sign(contrat=contrat, signed_on=signed_on, by=request.user)

        def decrit(contrat) -> str:
            derniere = self._derniere_signature(contrat)
            quand = f"dernière signature le {derniere:%d/%m/%Y}" if derniere else "aucune date de signature"
            return f"{self._decrit(contrat)} – {quand}"

        def initial(contrats) -> dict:
            # One contract: its last signatory's date, to be checked; several: each its own (field left empty).
            return {"date_signature": self._derniere_signature(contrats[0])} if len(contrats) == 1 else {}

        return confirm_action(
            self,
            request,
            queryset.prefetch_related("signataires"),
            action="enregistrer_signature",
            title="Enregistrer la signature",
            consequences=CONSEQUENCES_SIGNATURE,
            form_class=self.SignatureForm,
            apply=sign,
            success="{n} contrat(s) signé(s).",
            initial=initial,
            describe=decrit,
        )

    @admin.action(description="Passer en exécution", permissions=["prepare"])
    def passer_en_execution(self, request, queryset):
        self._transition(request, queryset, StatutContrat.EN_EXECUTION, "{n} contrat(s) en exécution.")

    @admin.action(description="Clore…", permissions=["prepare"])
    def clore(self, request, queryset):
        return self._fin(
            request,
            queryset,
            action="clore",
            to=StatutContrat.CLOS,
            form_class=self.ClotureForm,
            title="Clore des contrats",
            consequences=CONSEQUENCES_CLOTURE,
            success="{n} contrat(s) clos.",
        )

    @admin.action(description="Résilier…", permissions=["prepare"])
    def resilier(self, request, queryset):
        return self._fin(
            request,
            queryset,
            action="resilier",
            to=StatutContrat.RESILIE,
            form_class=self.ResiliationForm,
            title="Résilier des contrats",
            consequences=CONSEQUENCES_RESILIATION,
            success="{n} contrat(s) résilié(s).",
        )

    # Renewing copies fiches and money: its service lives in financement, the highest app it needs. It is
    # named here and imported when the action runs, so that contrats imports nothing from above when loaded.
    SERVICE_RENOUVELLEMENT = "financement.renouvellement.contrat_renew"

    @admin.action(description="Renouveler (CDIE de l'année suivante)…", permissions=["prepare"])
    def renouveler(self, request, queryset):
        contrat_renew = import_string(self.SERVICE_RENOUVELLEMENT)
        return confirm_action(
            self,
            request,
            queryset.select_related("collectivite"),
            action="renouveler",
            title="Renouveler des CDIE pour l'année suivante",
            consequences=[
                "Un nouveau CDIE sera créé en brouillon pour l'année qui suit le contrat, pour la même collectivité "
                "(référence CDIE-<année>-<collectivité>), dans le même pacte local, avec les mêmes axes, volets, "
                "objectifs et intitulés locaux.",
                "Chaque fiche active y sera reprise au statut « proposée », avec son code et un lien vers la fiche "
                "d'origine ; ses indicateurs (cibles de la dernière année), ses montants prévus (portés sur la "
                "nouvelle année) et les enveloppes de l'État seront recopiés.",
                "Seul un CDIE signé, en exécution ou clos, et pas encore renouvelé, peut l'être. Le contrat "
                "renouvelé ne change pas.",
            ],
            apply=lambda contrat, data: contrat_renew(contrat=contrat, by=request.user),
            success="{n} CDIE renouvelé(s) : chaque nouveau contrat est en brouillon, ses fiches sont proposées.",
            describe=self._decrit,
        )


# --- Signatories, volets, committees on their own pages ------------------------------------------------


class ContratChildAdmin(HistoryAdmin):
    """A row that belongs to a contract: the contract is chosen in the perimeter, then fixed."""

    contrat_path = "contrat"
    list_select_related = ("contrat", "contrat__collectivite")

    def get_readonly_fields(self, request, obj=None):
        return ("contrat",) if obj else ()

    def choices_for(self, db_field, request):
        if db_field.name == "contrat":
            return contrats_modifiables(request)
        return super().choices_for(db_field, request)


@admin.register(Signataire)
class SignataireAdmin(ContratChildAdmin):
    list_display = ("nom", "qualite", "partie", "contrat", "date_signature")
    list_filter = ("partie", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    search_fields = ("nom", "qualite", "contrat__reference", "organisation__nom")
    autocomplete_fields = ("organisation",)
    ordering = ("contrat__reference", "partie", "pk")

    def peut_modifier(self, request, obj) -> bool:
        contrat = self.contrat_de(obj)
        return (can_prepare(request.user, contrat) or can_sign(request.user, contrat)) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(signataire_save)
    delete_service = staticmethod(signataire_delete)


@admin.register(Volet)
class VoletAdmin(ContratChildAdmin):
    form = VoletForm
    list_display = ("contrat", "numero", "intitule")
    search_fields = ("contrat__reference", "intitule")
    ordering = ("contrat__reference", "numero")

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(volet_save)
    delete_service = staticmethod(volet_delete)


@admin.register(Comite)
class ComiteAdmin(ContratChildAdmin):
    list_display = ("__str__", "contrat", "type_comite", "date", "lieu")
    list_filter = ("type_comite", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    search_fields = ("contrat__reference", "lieu", "decisions")
    ordering = ("-date",)
    date_hierarchy = "date"

    def peut_modifier(self, request, obj) -> bool:
        contrat = self.contrat_de(obj)
        return can_prepare(request.user, contrat) or can_sign(request.user, contrat)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(comite_save)
    delete_service = staticmethod(comite_delete)

    def choices_for(self, db_field, request):
        if db_field.name == "contrat":  # committees meet during execution
            return Contrat.objects.for_user(request.user)
        return super().choices_for(db_field, request)


# --- Avenants -----------------------------------------------------------------------------------------


class AvenantForm(ServiceForm):
    """The checks of ``avenant_create``: a signed contract, one open avenant at a time."""

    def clean(self):
        cleaned = super().clean()
        contrat = cleaned.get("contrat")
        if self.instance.pk is None and contrat is not None:
            for message in avenant_errors(contrat):
                self.add_error("contrat", message)
        return cleaned


class ModificationInline(ReadOnlyInline, admin.TabularInline):
    model = ModificationAvenant
    fields = ("nature", "libelle", "cible", "avant", "apres", "applique_le")
    verbose_name_plural = "modifications (proposées depuis l'application)"


@admin.register(Avenant)
class AvenantAdmin(HistoryAdmin):
    form = AvenantForm
    contrat_path = "contrat"
    list_display = ("__str__", "contrat", "numero", "statut", "date_signature", "nb_modifications")
    list_filter = ("statut", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    list_select_related = ("contrat", "contrat__collectivite")
    search_fields = ("contrat__reference", "objet")
    ordering = ("contrat__reference", "numero")
    fields = (
        "contrat",
        "numero",
        "objet",
        "statut",
        "date_signature",
        "signataire_etat",
        "signataire_collectivite",
        "document_signe",
        "empreinte_document",
        "cree_le",
    )
    inlines = [ModificationInline]
    actions = ["marquer_pret_pour_signature", "repasser_en_brouillon", "abandonner"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_nb_modifications=Count("modifications"))

    @admin.display(description="modifications", ordering="_nb_modifications")
    def nb_modifications(self, obj) -> int:
        return obj._nb_modifications

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and (
            obj is None or obj.statut == StatutAvenant.BROUILLON
        )

    def peut_ajouter(self, request, obj) -> bool:
        return can_prepare(request.user)

    def has_prepare_permission(self, request) -> bool:
        return can_prepare(request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = [f for f in self.fields if f not in ("contrat", "objet")]
        return [*readonly, "contrat"] if obj else readonly

    def choices_for(self, db_field, request):
        if db_field.name == "contrat":
            return Contrat.objects.for_user(request.user).filter(statut__in=STATUTS_AVENANT_POSSIBLE)
        return super().choices_for(db_field, request)

    def write(self, request, obj, form, change):
        if change:
            avenant_update(avenant=obj, objet=form.cleaned_data["objet"], by=request.user, version=version_of(form))
        else:
            adopt(
                obj,
                avenant_create(contrat=form.cleaned_data["contrat"], objet=form.cleaned_data["objet"], by=request.user),
            )

    def _transition(self, request, queryset, to: str, success: str) -> None:
        self.run_service(request, queryset, lambda a: avenant_transition(avenant=a, to=to, by=request.user), success)

    @admin.action(description="Marquer prêt pour signature", permissions=["prepare"])
    def marquer_pret_pour_signature(self, request, queryset):
        self._transition(request, queryset, StatutAvenant.PRET_SIGNATURE, "{n} avenant(s) prêt(s) pour signature.")

    @admin.action(description="Repasser en brouillon", permissions=["prepare"])
    def repasser_en_brouillon(self, request, queryset):
        self._transition(request, queryset, StatutAvenant.BROUILLON, "{n} avenant(s) repassé(s) en brouillon.")

    @admin.action(description="Abandonner", permissions=["prepare"])
    def abandonner(self, request, queryset):
        self._transition(request, queryset, StatutAvenant.ABANDONNE, "{n} avenant(s) abandonné(s).")


@admin.register(ModificationAvenant)
class ModificationAvenantAdmin(HistoryAdmin):
    """Read-only: changes are proposed through the services, and applied when the avenant is signed."""

    list_display = ("libelle", "nature", "avenant", "applique_le")
    list_filter = ("nature",)
    list_select_related = ("avenant", "avenant__contrat")
    search_fields = ("libelle", "avenant__contrat__reference")
    ordering = ("avenant__contrat__reference", "avenant__numero", "pk")


# --- Rules of the contract types (administration centrale) ---------------------------------------------


@admin.register(RegleTypeContrat)
class RegleTypeContratAdmin(HistoryAdmin):
    reference = True
    list_display = ("type_contrat", "titre_defaut", "liste_axes", "chaque_axe_requis", "volets_max", "duree_annees")
    ordering = ("type_contrat",)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("axes")

    @admin.display(description="axes")
    def liste_axes(self, obj) -> str:
        return ", ".join(str(a.numero) for a in obj.axes.all())

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        kwargs.setdefault("widget", forms.CheckboxSelectMultiple)
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    def peut_ajouter(self, request, obj) -> bool:
        return False  # the contract types are those of the Pacte

    def get_readonly_fields(self, request, obj=None):
        return ("type_contrat",) if obj else ()

    def write(self, request, obj, form, change):
        axes = list(form.cleaned_data["axes"]) if "axes" in form.changed_data else None
        regle_type_save(regle=obj, axes=axes, by=request.user, version=version_of(form))


# --- Contract content (objectives, local axis labels) and the pacte local -------------------------------


class ObjectifContratForm(ServiceForm):
    """An objective's rank may be left empty (it goes after the others); the rules are the service's."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "ordre" in self.fields:
            self.fields["ordre"].required = False
            self.fields["ordre"].help_text = "Vide : à la suite des autres."

    def clean(self):
        cleaned = super().clean()
        contrat = getattr(self, "parent", None)
        if contrat is not None and "libelle" in cleaned:
            draft = ObjectifContrat(contrat=contrat, ordre=cleaned.get("ordre"), libelle=cleaned.get("libelle"))
            for field, message in objectif_contrat_errors(draft).items():
                self.add_error(field if field in self.fields else None, message)
        return cleaned


class ObjectifContratInline(ScopedInline, admin.TabularInline):
    """The objectives the contract states, in order (contractual: read-only once signed, changed by avenant)."""

    model = ObjectifContrat
    form = ObjectifContratForm
    position = 12
    contrat_path = ""
    fields = ("ordre", "libelle")
    show_change_link = False

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "libelle":
            kwargs["widget"] = forms.Textarea(attrs={"rows": 2, "cols": 80})
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, obj) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    save_service = staticmethod(objectif_contrat_save)
    delete_service = staticmethod(objectif_contrat_delete)


class LibelleAxeForm(ServiceForm):
    def clean(self):
        cleaned = super().clean()
        contrat = getattr(self, "parent", None)
        if contrat is not None and cleaned.get("axe") is not None and "libelle" in cleaned:
            draft = LibelleAxe(contrat=contrat, axe=cleaned["axe"], libelle=cleaned["libelle"])
            for field, message in libelle_axe_errors(draft).items():
                self.add_error(field if field in self.fields else None, message)
        return cleaned


class LibelleAxeInline(ScopedInline, admin.TabularInline):
    """How the contract words an axis where the territory words it differently from the national label."""

    model = LibelleAxe
    form = LibelleAxeForm
    position = 14
    contrat_path = ""
    fields = ("axe", "libelle")
    show_change_link = False

    def get_queryset(self, request):
        # Each row's label names its axis: read with the rows.
        return super().get_queryset(request).select_related("axe")

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, obj) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    def choices_for(self, db_field, request):
        contrat = getattr(request, "pacte_objet", None)
        if db_field.name == "axe" and isinstance(contrat, Contrat):
            return contrat.axes.all()  # the axes the contract carries
        return super().choices_for(db_field, request)

    save_service = staticmethod(libelle_axe_save)
    delete_service = staticmethod(libelle_axe_delete)


register_inline(ContratAdmin, ObjectifContratInline)
register_inline(ContratAdmin, LibelleAxeInline)


class ContratDuPacteInline(ReadOnlyInline, admin.TabularInline):
    model = Contrat
    fk_name = "pacte_local"
    fields = ("reference", "type_contrat", "titre", "statut", "date_debut", "date_fin", "contrat_precedent")
    verbose_name = "contrat"
    verbose_name_plural = "contrats du pacte local (chacun se modifie sur sa page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("contrat_precedent")


class PacteLocalForm(ServiceForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "intitule" in self.fields and self.instance.pk is None:
            self.fields["intitule"].required = False
            self.fields["intitule"].help_text = "Vide : « Pacte local des solidarités – <collectivité> »."


@admin.register(PacteLocal)
class PacteLocalAdmin(HistoryAdmin):
    """A collectivité's pacte local: its CLS, CDIE (and their renewals) and CPT of the period, read together.

    It is created with the collectivité's first contract (``contrat_create``), or here ahead of it; then only
    its title changes. The back-office does not delete it.
    """

    form = PacteLocalForm
    list_display = ("intitule", "collectivite", "annee_debut", "annee_fin", "nb_contrats")
    list_filter = (("collectivite__region", RelatedOnlyFieldListFilter),)
    list_select_related = ("collectivite",)
    search_fields = ("intitule", "collectivite__nom", "collectivite__code")
    ordering = ("collectivite__code", "annee_debut")
    fields = ("collectivite", "annee_debut", "annee_fin", "intitule")
    inlines = [ContratDuPacteInline]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_nb_contrats=Count("contrats", distinct=True))

    @admin.display(description="contrats", ordering="_nb_contrats")
    def nb_contrats(self, obj) -> int:
        return obj._nb_contrats

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, obj)

    def peut_ajouter(self, request, obj) -> bool:
        return can_prepare(request.user)

    def get_readonly_fields(self, request, obj=None):
        # The period is the Pacte's (set by the service); the collectivité is chosen once.
        return ("collectivite", "annee_debut", "annee_fin") if obj else ("annee_debut", "annee_fin")

    def choices_for(self, db_field, request):
        if db_field.name == "collectivite":
            return perimetre_of(request.user).collectivites()
        return super().choices_for(db_field, request)

    save_service = staticmethod(pacte_local_save)
