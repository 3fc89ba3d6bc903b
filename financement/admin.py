"""Back-office of the money: funding lines, ceilings, payments, reliquats, annual reports, rules.

Planned amounts and ceilings are contractual (read-only once the contract is signed); committed and
spent amounts are execution data and stay editable. The DDETS writes every line, the collectivité's
agents only the collectivité's lines.
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.admin import RelatedOnlyFieldListFilter

from actions.admin import FicheActionAdmin
from actions.models import FicheAction
from contrats.admin import ContratAdmin, contrats_modifiables
from contrats.enums import STATUTS_FIGES
from contrats.models import Contrat, Volet
from financement.enums import TRANSITIONS_RAPPORT, DecisionReliquat, StatutRapport, TypeFinanceur
from financement.models import (
    LigneFinancement,
    Plafond,
    RapportAction,
    RapportAnnuel,
    RegleCofinancement,
    Reliquat,
    Versement,
)
from financement.perms import can_edit_ligne
from financement.services import (
    TYPES_BENEFICIAIRES,
    beneficiaires_possibles,
    ligne_financement_delete,
    ligne_financement_save,
    plafond_delete,
    plafond_save,
    rapport_save,
    rapport_section_save,
    rapport_transition,
    regle_cofinancement_delete,
    regle_cofinancement_save,
    reliquat_compute,
    reliquat_decide,
    versement_delete,
    versement_save,
)
from pacte.admin_base import (
    ConfirmationForm,
    HistoryAdmin,
    ScopedInline,
    ServiceForm,
    confirm_action,
    confirmation_text_field,
    euros_display,
    register_inline,
)
from pacte.models import Organisation
from pacte.perms import can_edit_reference, can_enter_execution, can_follow_payments, can_prepare

# --- Funding lines ---------------------------------------------------------------------------------------


class LigneFinancementForm(ServiceForm):
    """A funding line; the rules are ``ligne_financement_save``'s. A collectivité's agent edits only its own lines."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = getattr(self, "request", None)
        if request is None or can_prepare(request.user):
            return
        # A collectivité's agent: the other funders' rows are shown, not editable; new rows are its own.
        if self.instance.pk and self.instance.type_financeur != TypeFinanceur.COLLECTIVITE:
            for field in self.fields.values():
                field.disabled = True
        elif "type_financeur" in self.fields:
            field = self.fields["type_financeur"]
            field.choices = [(TypeFinanceur.COLLECTIVITE.value, TypeFinanceur.COLLECTIVITE.label)]
            field.initial = TypeFinanceur.COLLECTIVITE

    def clean(self):
        cleaned = super().clean()
        type_financeur = cleaned.get("type_financeur", self.instance.type_financeur)
        request = self.request
        parent = getattr(self, "parent", None)
        fiche = parent or (self.instance.fiche if self.instance.fiche_id else cleaned.get("fiche"))
        contrat = fiche.contrat if fiche is not None else None
        if request is not None and self.has_changed() and not can_edit_ligne(request.user, contrat, type_financeur):
            self.add_error(None, "Vous ne saisissez que les montants de votre collectivité.")
        return cleaned


class PrevuFigeMixin:
    """Once the contract is signed, the planned amount is shown as text, formatted like the lists."""

    @admin.display(description="prévu", ordering="prevu")
    def prevu_eur(self, obj) -> str:
        return euros_display(obj.prevu)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return ["prevu_eur" if f == "prevu" else f for f in fields] if self.est_fige(obj) else fields


class LigneFinancementInline(PrevuFigeMixin, ScopedInline, admin.TabularInline):
    model = LigneFinancement
    form = LigneFinancementForm
    save_service = staticmethod(ligne_financement_save)
    delete_service = staticmethod(ligne_financement_delete)
    position = 10
    contrat_path = "contrat"
    fields = ("annee", "type_financeur", "financeur", "prevu", "engage", "realise")
    autocomplete_fields = ("financeur",)
    show_change_link = False

    def get_queryset(self, request):
        # Each row's label names its fiche (``fiche.code``) and its funder: read with the rows.
        rows = super().get_queryset(request).select_related("fiche", "financeur")
        return rows.order_by("annee", "type_financeur", "pk")

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_ligne(request.user, self.contrat_de(obj), None)

    def peut_ajouter(self, request, obj) -> bool:
        return self.peut_modifier(request, obj) and not self.est_fige(obj)

    def peut_supprimer(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    def get_readonly_fields(self, request, obj=None):
        return ("annee", "type_financeur", "financeur", "prevu_eur") if self.est_fige(obj) else ()


register_inline(FicheActionAdmin, LigneFinancementInline)


@admin.register(LigneFinancement)
class LigneFinancementAdmin(PrevuFigeMixin, HistoryAdmin):
    form = LigneFinancementForm
    save_service = staticmethod(ligne_financement_save)
    delete_service = staticmethod(ligne_financement_delete)
    contrat_path = "fiche.contrat"
    list_display = ("fiche_code", "contrat", "annee", "financeur_display", "prevu_eur", "engage_eur", "realise_eur")
    list_filter = (
        "annee",
        "type_financeur",
        "fiche__axe",
        "fiche__contrat__type_contrat",
        ("fiche__contrat__collectivite", RelatedOnlyFieldListFilter),
    )
    list_select_related = ("fiche", "fiche__contrat", "financeur")
    search_fields = ("fiche__code", "fiche__intitule", "fiche__contrat__reference", "financeur__nom")
    ordering = ("fiche__contrat__reference", "fiche__code_tri", "annee", "type_financeur", "pk")
    show_full_result_count = False
    fields = ("fiche", "annee", "type_financeur", "financeur", "prevu", "engage", "realise")
    autocomplete_fields = ("fiche", "financeur")

    @admin.display(description="fiche", ordering="fiche__code_tri")
    def fiche_code(self, obj) -> str:
        return obj.fiche.code

    @admin.display(description="contrat", ordering="fiche__contrat__reference")
    def contrat(self, obj):
        return obj.fiche.contrat

    @admin.display(description="financeur", ordering="type_financeur")
    def financeur_display(self, obj) -> str:
        return obj.libelle_financeur

    @admin.display(description="engagé", ordering="engage")
    def engage_eur(self, obj) -> str:
        return euros_display(obj.engage)

    @admin.display(description="réalisé", ordering="realise")
    def realise_eur(self, obj) -> str:
        return euros_display(obj.realise)

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_ligne(request.user, self.contrat_de(obj), obj.type_financeur if obj else None)

    peut_ajouter = peut_modifier

    def peut_supprimer(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if self.est_fige(obj):
            return ("fiche", "annee", "type_financeur", "financeur", "prevu_eur")
        return ("fiche",)

    def choices_for(self, db_field, request):
        if db_field.name == "fiche":
            return FicheAction.objects.for_user(request.user).exclude(contrat__statut__in=STATUTS_FIGES)
        return super().choices_for(db_field, request)


# --- Ceilings and payments, on the contract's page and on their own ---------------------------------------


def _volets_du_contrat(request):
    contrat = getattr(request, "pacte_objet", None)
    volets = Volet.objects.for_user(request.user)
    if isinstance(contrat, Contrat):
        return volets.filter(contrat=contrat)
    if contrat is not None:  # a ceiling's own page
        return volets.filter(contrat_id=contrat.contrat_id)
    return volets


class PlafondInline(ScopedInline, admin.TabularInline):
    model = Plafond
    save_service = staticmethod(plafond_save)
    delete_service = staticmethod(plafond_delete)
    position = 40
    contrat_path = ""
    fields = ("annee", "volet", "montant")
    show_change_link = False

    def get_queryset(self, request):
        # Each row's label names its contract and volet: read with the rows.
        return super().get_queryset(request).select_related("contrat", "volet")

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, obj) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    def choices_for(self, db_field, request):
        if db_field.name == "volet":
            return _volets_du_contrat(request)
        return super().choices_for(db_field, request)


def _beneficiaires(request, contrat):
    """The organisations a payment of ``contrat`` may go to (``beneficiaires_possibles``), within the user's
    perimeter; without a contract yet (a payment's add page), the partners and collectivités of the perimeter,
    the service deciding at save time."""
    organisations = Organisation.objects.for_user(request.user)
    if contrat is None:
        return organisations.filter(type__in=TYPES_BENEFICIAIRES)
    return organisations.filter(pk__in=beneficiaires_possibles(contrat).values("pk"))


class VersementInline(ScopedInline, admin.TabularInline):
    model = Versement
    save_service = staticmethod(versement_save)
    delete_service = staticmethod(versement_delete)
    position = 50
    contrat_path = ""
    fields = (
        "annee",
        "nature",
        "montant",
        "beneficiaire",
        "numero_ej",
        "date_engagement",
        "statut",
        "date_versement",
    )
    # The status moves on the contract's money page (espace:versement_statut); a date of payment typed here on a
    # new row records a payment made.
    readonly_fields = ("statut",)
    show_change_link = False

    def get_queryset(self, request):
        # Each row's label names its contract: read with the rows.
        return super().get_queryset(request).select_related("contrat")

    def choices_for(self, db_field, request):
        if db_field.name == "beneficiaire":
            contrat = getattr(request, "pacte_objet", None)
            return _beneficiaires(request, contrat if isinstance(contrat, Contrat) else None)
        return super().choices_for(db_field, request)

    def peut_modifier(self, request, obj) -> bool:
        return can_follow_payments(request.user, obj)

    def peut_ajouter(self, request, obj) -> bool:
        return can_follow_payments(request.user, obj) and self.est_fige(obj)

    peut_supprimer = peut_modifier


register_inline(ContratAdmin, PlafondInline)
register_inline(ContratAdmin, VersementInline)


class ContratFilsAdmin(HistoryAdmin):
    contrat_path = "contrat"
    list_select_related = ("contrat", "contrat__collectivite")

    def get_readonly_fields(self, request, obj=None):
        return ("contrat",) if obj else ()


@admin.register(Plafond)
class PlafondAdmin(ContratFilsAdmin):
    save_service = staticmethod(plafond_save)
    delete_service = staticmethod(plafond_delete)
    list_display = ("contrat", "collectivite", "volet", "annee", "montant_eur")
    list_filter = ("annee", "contrat__type_contrat", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    list_select_related = ("contrat", "contrat__collectivite", "volet")
    search_fields = ("contrat__reference", "contrat__collectivite__nom")
    ordering = ("contrat__reference", "annee", "volet__numero")
    fields = ("contrat", "volet", "annee", "montant")

    @admin.display(description="collectivité", ordering="contrat__collectivite__nom")
    def collectivite(self, obj):
        return obj.contrat.collectivite

    @admin.display(description="montant maximal de l'État", ordering="montant")
    def montant_eur(self, obj) -> str:
        return euros_display(obj.montant)

    def peut_modifier(self, request, obj) -> bool:
        return can_prepare(request.user, self.contrat_de(obj)) and not self.est_fige(obj)

    peut_ajouter = peut_supprimer = peut_modifier

    def choices_for(self, db_field, request):
        if db_field.name == "contrat":
            return contrats_modifiables(request)
        if db_field.name == "volet":
            return _volets_du_contrat(request)
        return super().choices_for(db_field, request)


@admin.register(Versement)
class VersementAdmin(ContratFilsAdmin):
    save_service = staticmethod(versement_save)
    delete_service = staticmethod(versement_delete)
    list_display = (
        "contrat",
        "collectivite",
        "annee",
        "nature",
        "montant_eur",
        "beneficiaire_display",
        "numero_ej",
        "statut",
        "date_versement",
    )
    list_filter = ("annee", "nature", "statut", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    list_select_related = ("contrat", "contrat__collectivite", "beneficiaire")
    search_fields = ("contrat__reference", "numero_ej", "contrat__collectivite__nom", "beneficiaire__nom")
    ordering = ("contrat__reference", "annee", "date_versement")
    fields = (
        "contrat",
        "annee",
        "nature",
        "montant",
        "beneficiaire",
        "numero_ej",
        "date_engagement",
        "statut",
        "date_demande",
        "date_versement",
    )

    def get_readonly_fields(self, request, obj=None):
        # The status and the date of the request move on the contract's money page (espace:versement_statut).
        return (*super().get_readonly_fields(request, obj), "statut", "date_demande")

    @admin.display(description="collectivité", ordering="contrat__collectivite__nom")
    def collectivite(self, obj):
        return obj.contrat.collectivite

    @admin.display(description="bénéficiaire", ordering="beneficiaire__nom")
    def beneficiaire_display(self, obj) -> str:
        return obj.beneficiaire.nom if obj.beneficiaire_id else f"{obj.contrat.collectivite} (collectivité)"

    @admin.display(description="montant", ordering="montant")
    def montant_eur(self, obj) -> str:
        return euros_display(obj.montant)

    def peut_modifier(self, request, obj) -> bool:
        return can_follow_payments(request.user, self.contrat_de(obj))

    peut_ajouter = peut_supprimer = peut_modifier

    def choices_for(self, db_field, request):
        if db_field.name == "contrat":
            return Contrat.objects.for_user(request.user).filter(statut__in=STATUTS_FIGES)
        if db_field.name == "beneficiaire":
            versement = getattr(request, "pacte_objet", None)
            return _beneficiaires(request, versement.contrat if isinstance(versement, Versement) else None)
        return super().choices_for(db_field, request)


# --- Reliquats: computed by the service, decided by the DDETS ---------------------------------------------


@admin.register(Reliquat)
class ReliquatAdmin(ContratFilsAdmin):
    """Read-only rows: ``reliquat_compute`` writes them, ``reliquat_decide`` records the decision."""

    list_display = ("contrat", "annee", "verse_eur", "realise_etat_eur", "montant_eur", "decision", "decide_le")
    list_filter = ("annee", "decision", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    search_fields = ("contrat__reference",)
    ordering = ("contrat__reference", "annee")
    actions = ["recalculer", "decider_deduction", "decider_reversement"]

    @admin.display(description="versé", ordering="verse")
    def verse_eur(self, obj) -> str:
        return euros_display(obj.verse)

    @admin.display(description="réalisé (part de l'État)", ordering="realise_etat")
    def realise_etat_eur(self, obj) -> str:
        return euros_display(obj.realise_etat)

    @admin.display(description="reliquat", ordering="montant")
    def montant_eur(self, obj) -> str:
        return euros_display(obj.montant)

    def has_payments_permission(self, request) -> bool:
        return can_follow_payments(request.user)

    @admin.action(description="Recalculer", permissions=["payments"])
    def recalculer(self, request, queryset):
        self.run_service(
            request,
            queryset,
            lambda r: reliquat_compute(contrat=r.contrat, annee=r.annee, by=request.user),
            "{n} reliquat(s) recalculé(s).",
        )

    # A decision goes through a confirmation page (pacte.admin_base.confirm_action) with its comment.

    class DecisionForm(ConfirmationForm):
        commentaire = confirmation_text_field(
            Reliquat._meta.get_field("commentaire"),
            help_text="Facultatif. Laissé vide : le commentaire déjà enregistré sur le reliquat est gardé.",
        )

    @staticmethod
    def _decrit(reliquat) -> str:
        actuelle = f" – décision actuelle : {reliquat.get_decision_display().lower()}" if reliquat.decision else ""
        return f"{reliquat} ({reliquat.contrat.collectivite}) : {euros_display(reliquat.montant)}{actuelle}"

    def _decide(self, request, queryset, *, action: str, decision: str, title: str, consequences: list[str]):
        return confirm_action(
            self,
            request,
            queryset,
            action=action,
            title=title,
            consequences=[
                *consequences,
                "La décision est datée du jour et enregistrée à votre nom ; elle remplace une décision déjà prise "
                "sur ce reliquat.",
                "Si le reliquat est recalculé et que son montant change, la décision est effacée.",
            ],
            form_class=self.DecisionForm,
            apply=lambda r, data: reliquat_decide(
                reliquat=r, decision=decision, by=request.user, commentaire=data["commentaire"] or r.commentaire
            ),
            success="{n} décision(s) enregistrée(s).",
            initial=lambda reliquats: {"commentaire": reliquats[0].commentaire} if len(reliquats) == 1 else {},
            describe=self._decrit,
        )

    @admin.action(description="Décider : déduire du versement de l'année suivante…", permissions=["payments"])
    def decider_deduction(self, request, queryset):
        return self._decide(
            request,
            queryset,
            action="decider_deduction",
            decision=DecisionReliquat.DEDUCTION,
            title="Déduire des reliquats du versement de l'année suivante",
            consequences=[
                "Le reliquat sera déduit du versement de l'État de l'exercice suivant.",
                "Pour le dernier exercice du contrat, la déduction est impossible : le reliquat ne peut qu'être "
                "reversé.",
            ],
        )

    @admin.action(description="Décider : émettre un titre de reversement…", permissions=["payments"])
    def decider_reversement(self, request, queryset):
        return self._decide(
            request,
            queryset,
            action="decider_reversement",
            decision=DecisionReliquat.REVERSEMENT,
            title="Émettre un titre de reversement pour des reliquats",
            consequences=[
                "Le reliquat sera repris : un titre de reversement de son montant est à émettre à l'encontre du "
                "bénéficiaire des versements.",
            ],
        )


# --- Annual reports --------------------------------------------------------------------------------------


class RapportActionInline(ScopedInline, admin.StackedInline):
    """A report's sections, one per action: written by the collectivité (or the DDETS) while the report is in
    redaction (``rapport_section_save``), read-only once sent; never added nor removed by hand (the services open
    them: ``rapport_create``, ``rapport_sections_completer``)."""

    model = RapportAction
    save_service = staticmethod(rapport_section_save)
    contrat_path = "contrat"
    fields = ("fiche", "avancement", "recit")
    readonly_fields = ("fiche",)
    show_change_link = False
    can_delete = False

    def get_queryset(self, request):
        # Each row's label names its report's year and its fiche's code: read with the rows.
        return super().get_queryset(request).select_related("rapport", "fiche")

    def peut_modifier(self, request, obj) -> bool:
        return obj is not None and obj.en_redaction and can_enter_execution(request.user, self.contrat_de(obj))

    def get_readonly_fields(self, request, obj=None):
        return self.fields if not self.peut_modifier(request, obj) else self.readonly_fields


@admin.register(RapportAnnuel)
class RapportAnnuelAdmin(ContratFilsAdmin):
    save_service = staticmethod(rapport_save)
    inlines = [RapportActionInline]
    list_display = ("contrat", "annee", "statut", "date_limite", "transmis_le", "valide_le")
    list_filter = ("statut", "annee", ("contrat__collectivite", RelatedOnlyFieldListFilter))
    search_fields = ("contrat__reference", "contrat__collectivite__nom")
    ordering = ("contrat__reference", "annee")
    fields = (
        "contrat",
        "annee",
        "statut",
        "date_limite",
        "synthese",
        "observations_ddets",
        "transmis_le",
        "valide_le",
    )
    actions = ["transmettre", "valider", "renvoyer"]

    def peut_modifier(self, request, obj) -> bool:
        contrat = self.contrat_de(obj)
        return can_enter_execution(request.user, contrat) or can_follow_payments(request.user, contrat)

    def peut_ajouter(self, request, obj) -> bool:
        return can_enter_execution(request.user)

    def has_saisie_permission(self, request) -> bool:
        return can_enter_execution(request.user)

    def has_instruction_permission(self, request) -> bool:
        # Returning or validating a report is the DDETS's check of the year's execution, which opens the balance
        # payment and the reliquat: who follows the payments (docs/regles.md, Rapports annuels).
        return can_follow_payments(request.user)

    def get_readonly_fields(self, request, obj=None):
        readonly = ["statut", "date_limite", "transmis_le", "valide_le"]
        if obj is None:
            return [*readonly, "observations_ddets"]
        readonly += ["contrat", "annee"]
        if not (can_enter_execution(request.user, obj.contrat) and obj.en_redaction):
            readonly.append("synthese")
        if not (can_follow_payments(request.user, obj.contrat) and obj.statut == StatutRapport.TRANSMIS):
            readonly.append("observations_ddets")
        return readonly

    def choices_for(self, db_field, request):
        if db_field.name == "contrat":
            return Contrat.objects.for_user(request.user).filter(statut__in=STATUTS_FIGES)
        return super().choices_for(db_field, request)

    def _transition(self, request, queryset, to: str, success: str) -> None:
        self.run_service(
            request,
            queryset,
            lambda r: rapport_transition(rapport=r, to=to, by=request.user, observations=r.observations_ddets),
            success,
        )

    @admin.action(description="Transmettre à la DDETS", permissions=["saisie"])
    def transmettre(self, request, queryset):
        self._transition(request, queryset, StatutRapport.TRANSMIS, "{n} rapport(s) transmis.")

    class ValidationForm(ConfirmationForm):
        observations = confirmation_text_field(
            RapportAnnuel._meta.get_field("observations_ddets"),
            help_text="Facultatives. Laissées vides : les observations déjà saisies sur le rapport sont gardées.",
        )

    @admin.action(description="Valider…", permissions=["instruction"])
    def valider(self, request, queryset):
        # Validating cannot be undone: a confirmation page (pacte.admin_base.confirm_action) says so.
        depuis = " ou ".join(
            f"« {StatutRapport(s).label} »"
            for s, targets in TRANSITIONS_RAPPORT.items()
            if StatutRapport.VALIDE in targets
        )
        return confirm_action(
            self,
            request,
            queryset,
            action="valider",
            title="Valider des rapports annuels d'exécution",
            consequences=[
                "Le rapport passera au statut « Validé ». Ce statut est définitif : la synthèse et les observations "
                "de la DDETS ne se modifieront plus.",
                "Le versement du solde de l'exercice peut alors être engagé, et le reliquat calculé.",
                f"Seul un rapport {depuis} peut être validé.",
            ],
            form_class=self.ValidationForm,
            apply=lambda r, data: rapport_transition(
                rapport=r, to=StatutRapport.VALIDE, by=request.user, observations=data["observations"]
            ),
            success="{n} rapport(s) validé(s).",
            initial=lambda rapports: {"observations": rapports[0].observations_ddets} if len(rapports) == 1 else {},
            describe=lambda r: f"{r} ({r.contrat.collectivite}, {r.get_statut_display().lower()})",
        )

    @admin.action(description="Renvoyer pour compléments (observations saisies)", permissions=["instruction"])
    def renvoyer(self, request, queryset):
        self._transition(request, queryset, StatutRapport.A_COMPLETER, "{n} rapport(s) renvoyé(s).")


# --- Cofinancing rules (administration centrale) ---------------------------------------------------------


@admin.register(RegleCofinancement)
class RegleCofinancementAdmin(HistoryAdmin):
    reference = True
    save_service = staticmethod(regle_cofinancement_save)
    delete_service = staticmethod(regle_cofinancement_delete)
    list_display = ("type_contrat", "volet_numero", "taux_etat_max", "contrepartie", "etat_seul", "tolerance")
    list_filter = ("type_contrat", "contrepartie")
    ordering = ("type_contrat", "volet_numero")

    def peut_modifier(self, request, obj) -> bool:
        return can_edit_reference(request.user)

    peut_ajouter = peut_modifier

    def peut_supprimer(self, request, obj) -> bool:
        # The general rule of a type is needed by every check; a volet's own rule may go.
        return can_edit_reference(request.user) and (obj is None or obj.volet_numero is not None)
