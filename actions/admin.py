"""Back-office of the fiches actions, their indicators and the indicators' yearly values.

Once the contract is signed, the contractual content of a fiche (``actions.services.CHAMPS_FICHE``), its
indicators and their targets are read-only; the achieved values stay editable. The status changes
through the admin actions, which call ``fiche_transition`` (parity checks on validation).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter
from django.db.models import Q

from actions.enums import StatutFiche
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from actions.services import (
    CHAMPS_FICHE,
    fiche_create,
    fiche_delete,
    fiche_errors,
    fiche_transition,
    fiche_update,
    fill_objectif,
    indicateur_delete,
    indicateur_save,
    valeur_indicateur_delete,
    valeur_indicateur_save,
)
from contrats.admin import ContratAdmin, contrats_modifiables
from contrats.enums import STATUTS_FIGES
from contrats.models import Volet
from pacte.admin_base import (
    HistoryAdmin,
    ReadOnlyInline,
    ScopedInline,
    ServiceForm,
    adopt,
    changed_fields,
    register_inline,
    version_of,
)
from pacte.models import Mesure, Objectif
from pacte.perms import can_enter_execution, can_prepare
from pacte.validators import normalize_identifier


def _ecrit(request, contrat) -> bool:
    return can_prepare(request.user, contrat) or can_enter_execution(request.user, contrat)


# --- On the contract's page: the list of its fiches -------------------------------------------------------


class FicheInline(ReadOnlyInline, admin.TabularInline):
    model = FicheAction
    position = 10
    fields = ("code", "intitule", "axe", "statut")
    verbose_name_plural = "fiches actions (chacune se modifie sur sa page)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("axe", "contrat").order_by("code_tri")


register_inline(ContratAdmin, FicheInline)


# --- Fiche action -----------------------------------------------------------------------------------------


class FicheActionForm(ServiceForm):
    """Runs ``fiche_errors`` (the rules tying a fiche to its contract) like ``fiche_create`` does."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "code" in self.fields:
            self.fields["code"].required = False
            self.fields["code"].help_text = (
                "Lettres sans accent et chiffres, séparés par « . », « - » ou « _ », 12 caractères au plus "
                "(A1-03, 1.1, FA-01). Vide : le prochain code libre de l'axe (A1-01, A1-02…)."
            )

    def clean(self):
        cleaned = super().clean()
        if isinstance(cleaned.get("code"), str):
            cleaned["code"] = normalize_identifier(cleaned["code"])
        # An empty code is numbered by fiche_create, under the contract's lock: two fiches added at the same
        # moment never get the same number.
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if not self.instance.contrat_id or self.instance.contrat.est_fige:
            return
        # As the services do: with a national measure and no objective chosen, the measure's objective.
        given = "objectif" in self.fields and (self.instance.pk is None or "objectif" in self.changed_data)
        fill_objectif(self.instance, given=given)
        for field, message in fiche_errors(self.instance).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
            elif field not in self.fields:
                self.add_error(None, message)


class IndicateurInline(ScopedInline, admin.TabularInline):
    model = Indicateur
    position = 20
    contrat_path = "contrat"
    fields = ("nom", "type_indicateur", "unite", "valeur_reference", "source")
    verbose_name_plural = "indicateurs (les valeurs annuelles se saisissent sur la page de chaque indicateur)"
    save_service = staticmethod(indicateur_save)
    delete_service = staticmethod(indicateur_delete)

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier


@admin.register(FicheAction)
class FicheActionAdmin(HistoryAdmin):
    form = FicheActionForm
    contrat_path = "contrat"
    list_display = ("code_fiche", "intitule", "contrat", "collectivite", "axe_numero", "statut", "nature", "porteur")
    list_filter = (
        "statut",
        "nature",
        "axe",
        "contrat__type_contrat",
        ("contrat__collectivite", RelatedOnlyFieldListFilter),
    )
    list_select_related = ("contrat", "contrat__collectivite", "axe", "porteur")
    search_fields = ("code", "intitule", "contrat__reference", "porteur__nom")
    # Codes sort as people read them: A1-2 before A1-10 (``code_tri``).
    ordering = ("contrat__reference", "code_tri")
    show_full_result_count = False
    autocomplete_fields = ("porteur",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "contrat",
                    "code",
                    "intitule",
                    "axe",
                    "objectif",
                    "mesure",
                    "mesure_locale",
                    "volet",
                    "statut",
                    "origine",
                )
            },
        ),
        ("Nature", {"fields": ("nature", "justification_renforcement")}),
        ("Contenu", {"fields": ("contexte", "objectifs", "description", "public_cible", "volume_public")}),
        ("Territoire", {"fields": ("territoire_departement_entier", "territoire_detail")}),
        ("Mise en œuvre", {"fields": ("porteur", "partenaires", ("date_debut", "date_fin"), "jalons", "etp")}),
        ("Suivi", {"fields": ("cree_le", "modifie_le")}),
    )
    inlines = [IndicateurInline]
    actions = ["valider", "rouvrir", "demarrer", "terminer", "abandonner"]

    @admin.display(description="code", ordering="code_tri")
    def code_fiche(self, obj) -> str:
        return obj.code

    @admin.display(description="collectivité", ordering="contrat__collectivite__nom")
    def collectivite(self, obj):
        return obj.contrat.collectivite

    @admin.display(description="axe", ordering="axe__numero")
    def axe_numero(self, obj) -> int:
        return obj.axe.numero

    # --- Who writes what -------------------------------------------------------------------------------

    def peut_modifier(self, request, obj) -> bool:
        # The collectivité's agents edit the funding lines on this page; the fiche's fields stay read-only.
        return _ecrit(request, self.contrat_de(obj))

    def peut_ajouter(self, request, obj) -> bool:
        return can_prepare(request.user)

    def peut_supprimer(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    def has_prepare_permission(self, request) -> bool:
        return can_prepare(request.user)

    def has_execution_permission(self, request) -> bool:
        return _ecrit(request, None)

    def get_readonly_fields(self, request, obj=None):
        toujours = ("statut", "origine", "cree_le", "modifie_le")
        if obj is None:
            return toujours
        if not can_prepare(request.user, obj.contrat):
            return self.every_field(request, obj)
        if obj.contrat.est_fige:
            return (*toujours, "contrat", "code", *CHAMPS_FICHE)
        return (*toujours, "contrat")

    def choices_for(self, db_field, request):
        fiche = getattr(request, "pacte_objet", None)
        if db_field.name == "contrat":
            return contrats_modifiables(request)
        if db_field.name == "volet":
            volets = Volet.objects.for_user(request.user)
            return volets.filter(contrat_id=fiche.contrat_id) if fiche else volets
        if db_field.name == "mesure":
            # A retired measure is no longer offered, but a fiche keeps the one it has.
            return Mesure.objects.filter(Q(active=True) | Q(pk=getattr(fiche, "mesure_id", None)))
        if db_field.name == "objectif":
            # Likewise for the Pacte's objectives.
            return Objectif.objects.filter(Q(active=True) | Q(pk=getattr(fiche, "objectif_id", None)))
        return super().choices_for(db_field, request)

    def write(self, request, obj, form, change):
        if change:
            changes = changed_fields(form, {*CHAMPS_FICHE, "code"})
            fiche_update(fiche=obj, by=request.user, version=version_of(form), **changes)
            return
        fields = {name: getattr(obj, name) for name in CHAMPS_FICHE}
        adopt(obj, fiche_create(contrat=obj.contrat, code=obj.code, by=request.user, **fields))

    delete_service = staticmethod(fiche_delete)
    service_arg = "fiche"

    # --- Status, through fiche_transition --------------------------------------------------------------

    def _transition(self, request, queryset, to: str, success: str) -> None:
        self.run_service(request, queryset, lambda f: fiche_transition(fiche=f, to=to, by=request.user), success)

    @admin.action(description="Valider (contrôle de la parité)", permissions=["prepare"])
    def valider(self, request, queryset):
        self._transition(request, queryset, StatutFiche.VALIDEE, "{n} fiche(s) validée(s).")

    @admin.action(description="Repasser en proposée (contrat non signé)", permissions=["prepare"])
    def rouvrir(self, request, queryset):
        self._transition(request, queryset, StatutFiche.PROPOSEE, "{n} fiche(s) repassée(s) en proposée.")

    @admin.action(description="Démarrer (en cours)", permissions=["execution"])
    def demarrer(self, request, queryset):
        self._transition(request, queryset, StatutFiche.EN_COURS, "{n} fiche(s) en cours.")

    @admin.action(description="Terminer", permissions=["execution"])
    def terminer(self, request, queryset):
        self._transition(request, queryset, StatutFiche.TERMINEE, "{n} fiche(s) terminée(s).")

    @admin.action(description="Abandonner", permissions=["prepare"])
    def abandonner(self, request, queryset):
        self._transition(request, queryset, StatutFiche.ABANDONNEE, "{n} fiche(s) abandonnée(s).")


# --- Indicators and their yearly values -------------------------------------------------------------------


class ValeurIndicateurForm(ServiceForm):
    """A year of an indicator; the rules are ``valeur_indicateur_save``'s. Once the contract is signed the
    year of an existing value is shown, not edited."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        indicateur = self._indicateur()
        # The year of an existing value of a signed contract is part of what was signed.
        if self.instance.pk and indicateur is not None and indicateur.fiche.contrat.est_fige and "annee" in self.fields:
            self.fields["annee"].disabled = True

    def _indicateur(self, cleaned=None):
        if self.instance.indicateur_id:
            return self.instance.indicateur
        return getattr(self, "parent", None) or (cleaned or {}).get("indicateur")


class ValeurIndicateurInline(ScopedInline, admin.TabularInline):
    model = ValeurIndicateur
    form = ValeurIndicateurForm
    save_service = staticmethod(valeur_indicateur_save)
    delete_service = staticmethod(valeur_indicateur_delete)
    contrat_path = "fiche.contrat"
    fields = ("annee", "cible", "realise")
    show_change_link = False

    def get_queryset(self, request):
        # Each row's form asks whether its indicator's contract is signed: read with the rows.
        return super().get_queryset(request).select_related("indicateur__fiche__contrat")

    def peut_modifier(self, request, obj) -> bool:
        return _ecrit(request, self.contrat_de(obj))

    # A value achieved in a new year is execution data: rows are added after signature too.
    peut_ajouter = peut_modifier

    def peut_supprimer(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    def get_readonly_fields(self, request, obj=None):
        if not can_prepare(request.user, self.contrat_de(obj)) or self.est_fige(obj):
            return ("cible",)
        return ()


@admin.register(Indicateur)
class IndicateurAdmin(HistoryAdmin):
    contrat_path = "fiche.contrat"
    save_service = staticmethod(indicateur_save)
    delete_service = staticmethod(indicateur_delete)
    list_display = ("nom", "fiche", "contrat", "type_indicateur", "unite", "valeur_reference")
    list_filter = ("type_indicateur", "fiche__axe", ("fiche__contrat__collectivite", RelatedOnlyFieldListFilter))
    list_select_related = ("fiche", "fiche__contrat")
    search_fields = ("nom", "fiche__code", "fiche__intitule", "fiche__contrat__reference")
    ordering = ("fiche__contrat__reference", "fiche__code_tri", "pk")
    fields = ("fiche", "nom", "type_indicateur", "unite", "valeur_reference", "source")
    autocomplete_fields = ("fiche",)
    inlines = [ValeurIndicateurInline]

    @admin.display(description="contrat", ordering="fiche__contrat__reference")
    def contrat(self, obj):
        return obj.fiche.contrat

    def peut_modifier(self, request, obj) -> bool:
        # The collectivité's agents enter the achieved values on this page.
        return _ecrit(request, self.contrat_de(obj))

    def peut_ajouter(self, request, obj) -> bool:
        return can_prepare(request.user)

    def peut_supprimer(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if not can_prepare(request.user, self.contrat_de(obj)) or self.est_fige(obj):
            return self.fields
        return ("fiche",)

    def choices_for(self, db_field, request):
        if db_field.name == "fiche":
            return FicheAction.objects.for_user(request.user).exclude(contrat__statut__in=STATUTS_FIGES)
        return super().choices_for(db_field, request)


@admin.register(ValeurIndicateur)
class ValeurIndicateurAdmin(HistoryAdmin):
    form = ValeurIndicateurForm
    save_service = staticmethod(valeur_indicateur_save)
    delete_service = staticmethod(valeur_indicateur_delete)
    contrat_path = "indicateur.fiche.contrat"
    list_display = ("indicateur", "fiche", "annee", "cible", "realise")
    list_filter = ("annee", ("indicateur__fiche__contrat__collectivite", RelatedOnlyFieldListFilter))
    list_select_related = ("indicateur", "indicateur__fiche")
    search_fields = ("indicateur__nom", "indicateur__fiche__code", "indicateur__fiche__contrat__reference")
    ordering = ("indicateur__fiche__contrat__reference", "indicateur__fiche__code_tri", "indicateur", "annee")
    fields = ("indicateur", "annee", "cible", "realise")
    autocomplete_fields = ("indicateur",)

    @admin.display(description="fiche", ordering="indicateur__fiche__code_tri")
    def fiche(self, obj):
        return obj.indicateur.fiche.code

    def peut_modifier(self, request, obj) -> bool:
        return _ecrit(request, self.contrat_de(obj))

    peut_ajouter = peut_modifier

    def peut_supprimer(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        readonly = ["indicateur"]
        if self.est_fige(obj):
            readonly.append("annee")
        if self.est_fige(obj) or not can_prepare(request.user, self.contrat_de(obj)):
            readonly.append("cible")
        return readonly
