"""The forms of the avenant pages: opening one, proposing each kind of change, removing one, signing.

A form reads and checks what is typed (French numbers, choices among the contract's own fiches, years,
volets and indicators); ``propose(by=…)`` hands it to the service that records the change
(``financement.services.avenant_propose_prevu``…). The service decides: its refusal comes back as a
``ValidationError`` that the view puts on the form (``espace.forms.service_errors_to_form``).
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db.models import Q

from actions.checks import from_json
from actions.enums import TRANSITIONS_FICHE, StatutFiche
from actions.models import CHAMPS_CONTRACTUELS, FicheAction, Indicateur, ValeurIndicateur
from actions.services import (
    avenant_propose_cible,
    avenant_propose_fiche_add,
    avenant_propose_fiche_change,
    avenant_propose_fiche_retrait,
    fiche_errors,
    fill_objectif,
)
from contrats.enums import NatureModification
from contrats.models import Avenant
from espace.forms import EspaceForm, EspaceModelForm
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from financement.services import avenant_propose_plafond, avenant_propose_prevu
from pacte.admin_base import saisie_formfield
from pacte.forms import MontantField
from pacte.models import Mesure, Objectif, Organisation
from pacte.validators import validate_text, validate_text_length


def _annees(contrat) -> list[tuple[int, str]]:
    return [(annee, str(annee)) for annee in contrat.annees]


class AvenantForm(EspaceForm):
    """Opening an avenant: what it is for (the service numbers it)."""

    objet = forms.CharField(
        label="Objet de l'avenant",
        help_text="Ce que l'avenant change et pourquoi, tel qu'il sera imprimé.",
        widget=forms.Textarea(attrs={"rows": 3}),
        validators=[validate_text, validate_text_length],
    )


class PropositionForm(EspaceForm):
    """A change proposed by the draft avenant ``avenant``, for the user ``user`` (who sees some organisations)."""

    #: the page's title and what the form asks
    titre = ""
    aide = ""

    def __init__(self, *args, avenant: Avenant, user, **kwargs):
        self.avenant, self.contrat, self.user = avenant, avenant.contrat, user
        super().__init__(*args, **kwargs)

    def propose(self, *, by):
        raise NotImplementedError


class PrevuForm(PropositionForm):
    titre = "Changer un montant prévu"
    aide = "Le montant prévu d'un financeur, pour une action et une année. Un montant à 0 retire sa part."

    fiche = forms.ChoiceField(label="Fiche action")
    annee = forms.TypedChoiceField(label="Année", coerce=int)
    type_financeur = forms.ChoiceField(label="Financeur", choices=TypeFinanceur.choices)
    financeur = forms.ModelChoiceField(
        label="Autre financeur",
        queryset=Organisation.objects.none(),
        required=False,
        help_text="Seulement pour un autre financeur que l'État et la collectivité.",
    )
    montant = MontantField(label="Nouveau montant prévu", help_text="En euros, par exemple 12 000,00.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        fiches = list(self.contrat.fiches.order_by("code_tri").values_list("code", "intitule"))
        ajoutees = self.avenant.modifications.filter(nature=NatureModification.FICHE_AJOUT).order_by("pk")
        fiches += [
            (m.cible["fiche"], f"{m.apres.get('intitule', '')} (ajoutée par l'avenant)")
            for m in ajoutees
            if isinstance(m.cible, dict) and "fiche" in m.cible and isinstance(m.apres, dict)
        ]
        self.fields["fiche"].choices = [("", "Choisir une fiche")] + [(c, f"{c} – {i}") for c, i in fiches]
        self.fields["annee"].choices = [("", "Choisir une année"), *_annees(self.contrat)]
        self.fields["financeur"].queryset = Organisation.objects.for_user(self.user).order_by("nom")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("type_financeur"):
            # The database's own rule on who is named (a CheckConstraint of the line), read now rather than
            # at the signature; the constraints on the other columns are not this form's.
            draft = LigneFinancement(type_financeur=cleaned["type_financeur"], financeur=cleaned.get("financeur"))
            try:
                draft.validate_constraints(exclude={"fiche", "annee", "prevu", "engage", "realise"})
            except ValidationError as error:
                for messages in error.message_dict.values():
                    for message in messages:
                        self.add_error("financeur", message)
        return cleaned

    def propose(self, *, by):
        data = self.cleaned_data
        return avenant_propose_prevu(
            avenant=self.avenant,
            fiche_code=data["fiche"],
            annee=data["annee"],
            type_financeur=data["type_financeur"],
            financeur=data["financeur"],
            montant=data["montant"],
            by=by,
        )


class PlafondForm(PropositionForm):
    titre = "Changer une enveloppe annuelle de l'État"
    aide = "L'enveloppe de l'État pour une année, pour tout le contrat ou pour un volet."

    annee = forms.TypedChoiceField(label="Année", coerce=int)
    volet = forms.ModelChoiceField(
        label="Volet", queryset=None, required=False, empty_label="Tout le contrat", help_text="Facultatif."
    )
    montant = MontantField(label="Nouvelle enveloppe", help_text="En euros, par exemple 80 000,00.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["annee"].choices = [("", "Choisir une année"), *_annees(self.contrat)]
        self.fields["volet"].queryset = self.contrat.volets.order_by("numero")
        if not self.contrat.volets.exists():
            del self.fields["volet"]

    def propose(self, *, by):
        data = self.cleaned_data
        return avenant_propose_plafond(
            avenant=self.avenant, annee=data["annee"], volet=data.get("volet"), montant=data["montant"], by=by
        )


class CibleForm(PropositionForm):
    titre = "Changer la cible d'un indicateur"
    aide = "La cible annuelle d'un indicateur d'une fiche. Laissez la cible vide pour la retirer."

    indicateur = forms.ModelChoiceField(label="Indicateur", queryset=None, empty_label="Choisir un indicateur")
    annee = forms.TypedChoiceField(label="Année", coerce=int)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["indicateur"].queryset = (
            Indicateur.objects.filter(fiche__contrat=self.contrat).select_related("fiche").order_by("fiche__code_tri")
        )
        self.fields["indicateur"].label_from_instance = lambda i: f"{i.fiche.code} – {i.nom} ({i.unite})"
        self.fields["annee"].choices = [("", "Choisir une année"), *_annees(self.contrat)]
        # The target's own field: its validators (never negative, within the stored digits) and French numbers.
        self.fields["cible"] = saisie_formfield(
            ValeurIndicateur._meta.get_field("cible"), label="Nouvelle cible", required=False
        )

    def propose(self, *, by):
        data = self.cleaned_data
        return avenant_propose_cible(
            avenant=self.avenant, indicateur=data["indicateur"], annee=data["annee"], cible=data["cible"], by=by
        )


class RetraitForm(PropositionForm):
    titre = "Retirer une fiche action du contrat"
    aide = (
        "À la signature de l'avenant, la fiche devient « abandonnée » : ses montants ne comptent plus dans la "
        "parité ni dans les enveloppes."
    )

    fiche = forms.ModelChoiceField(label="Fiche action à retirer", queryset=None, empty_label="Choisir une fiche")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        retirables = [s for s, suivants in TRANSITIONS_FICHE.items() if StatutFiche.ABANDONNEE in suivants]
        self.fields["fiche"].queryset = self.contrat.fiches.filter(statut__in=retirables).order_by("code_tri")
        self.fields["fiche"].to_field_name = "code"

    def propose(self, *, by):
        return avenant_propose_fiche_retrait(avenant=self.avenant, fiche=self.cleaned_data["fiche"], by=by)


def _formfield(db_field, **kwargs):
    return saisie_formfield(db_field, **kwargs) or db_field.formfield(**kwargs)


class _FicheForm(EspaceModelForm):
    """A fiche's contractual content, with the choices the contract offers (its axes and volets; the active
    measures and objectives plus the fiche's own; the organisations the user sees plus the fiche's carrier)."""

    titre = ""
    aide = ""

    class Meta:
        model = FicheAction
        fields = CHAMPS_CONTRACTUELS
        formfield_callback = _formfield

    def __init__(self, *args, avenant: Avenant, user, **kwargs):
        self.avenant, self.contrat, self.user = avenant, avenant.contrat, user
        super().__init__(*args, contrat=avenant.contrat, **kwargs)
        instance = self.instance
        fields = self.fields
        fields["axe"].queryset = self.contrat.axes.order_by("numero")
        fields["volet"].queryset = self.contrat.volets.order_by("numero")
        fields["mesure"].queryset = Mesure.objects.filter(Q(active=True) | Q(pk=instance.mesure_id)).order_by("code")
        fields["objectif"].queryset = Objectif.objects.filter(Q(active=True) | Q(pk=instance.objectif_id)).order_by(
            "code"
        )
        fields["porteur"].queryset = (
            Organisation.objects.filter(Q(pk__in=Organisation.objects.for_user(user)) | Q(pk=instance.porteur_id))
            .distinct()
            .order_by("nom")
        )
        for name in ("date_debut", "date_fin"):
            fields[name].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")

    def rule_errors(self) -> None:
        """The rules tying a fiche to its contract (``actions.services.fiche_errors``), read now on the fiche
        as it would become, rather than at the avenant's signature."""
        fill_objectif(self.instance, given=self.cleaned_data.get("objectif") is not None)
        errors = fiche_errors(self.instance)
        if errors:
            raise ValidationError(errors)


class FicheAjoutForm(_FicheForm):
    titre = "Ajouter une fiche action"
    aide = "La fiche naît « validée » à la signature de l'avenant ; ajoutez ensuite ses montants prévus."

    class Meta(_FicheForm.Meta):
        fields = ("code", *CHAMPS_CONTRACTUELS)

    def __init__(self, *args, avenant: Avenant, **kwargs):
        kwargs.setdefault("instance", FicheAction(contrat=avenant.contrat, statut=StatutFiche.VALIDEE))
        super().__init__(*args, avenant=avenant, **kwargs)

    def propose(self, *, by):
        fields = {name: self.cleaned_data[name] for name in CHAMPS_CONTRACTUELS}
        return avenant_propose_fiche_add(avenant=self.avenant, code=self.cleaned_data["code"], by=by, **fields)


class FicheChangeForm(_FicheForm):
    """Shows the fiche as the draft avenant already changes it; proposes every field that then differs from
    the signed fiche (one proposal per fiche: a new one replaces the earlier)."""

    titre = "Modifier une fiche action"
    aide = "Seuls les champs que vous changez par rapport à la fiche signée sont proposés."

    def __init__(self, *args, avenant: Avenant, **kwargs):
        fiche = kwargs["instance"]
        self.signee = {name: getattr(fiche, name) for name in CHAMPS_CONTRACTUELS}
        self.en_cours = avenant.modifications.filter(
            nature=NatureModification.FICHE, cible={"fiche": fiche.code}
        ).first()
        if self.en_cours is not None and isinstance(self.en_cours.apres, dict) and "statut" not in self.en_cours.apres:
            try:
                kwargs["initial"] = {
                    name: from_json(name, value, avenant.contrat)
                    for name, value in self.en_cours.apres.items()
                    if name in CHAMPS_CONTRACTUELS
                }
            except (ObjectDoesNotExist, ValueError, TypeError, ArithmeticError):
                kwargs["initial"] = {}  # a proposal that no longer reads: the signed fiche is shown
        super().__init__(*args, avenant=avenant, **kwargs)

    def changes(self) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self.signee and value != self.signee[name]
        }

    def propose(self, *, by):
        changes = self.changes()
        if not changes:
            raise ValidationError(f"Vous n'avez rien changé à la fiche {self.instance.code} : rien n'est proposé.")
        self.rule_errors()
        return avenant_propose_fiche_change(avenant=self.avenant, fiche=self.instance, by=by, **changes)


#: The natures the page proposes, in the URL's words.
PROPOSITIONS: dict[str, type] = {
    "prevu": PrevuForm,
    "plafond": PlafondForm,
    "fiche": FicheChangeForm,
    "fiche_ajout": FicheAjoutForm,
    "retrait": RetraitForm,
    "cible": CibleForm,
}


class RetraitModificationForm(EspaceForm):
    """Removing a proposed change: the version the page showed, so that a change edited since is not lost.

    The version travels in a hidden field: what is wrong with it is said on top of the page."""

    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def clean_version(self) -> int | None:
        value = self.cleaned_data["version"]
        if not value.isascii() or not value.isdigit():
            raise ValidationError("Cette page ne dit pas quelle version de la modification elle retire : rechargez-la.")
        return int(value)

    def clean(self):
        cleaned = super().clean()
        for message in self.errors.pop("version", []):
            self.add_error(None, message)
        return cleaned


class SignatureForm(EspaceForm):
    """What ``contrats.services.avenant_sign`` needs: the date and both signatories' names."""

    date_signature = forms.DateField(
        label="Date de signature",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="La date à laquelle le dernier des deux signataires a signé.",
    )
    signataire_etat = forms.CharField(label="Signataire pour l'État", max_length=200)
    signataire_collectivite = forms.CharField(label="Signataire pour la collectivité", max_length=200)
