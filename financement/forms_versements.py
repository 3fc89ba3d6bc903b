"""Forms of the State's payments and of the reliquat decision (the front office's money page).

They write nothing: the page calls ``financement.services`` (``versement_save``, ``versement_transition``,
``reliquat_settle``) and puts each refusal next to its field. The front office renders them the DSFR way by
mixing them with its own base forms (``espace.forms``); ``financement`` does not know about it.
"""

from __future__ import annotations

from django import forms
from django.utils import timezone

from financement.enums import DecisionReliquat, NatureVersement
from financement.models import Versement
from pacte.admin_base import ServiceForm
from pacte.forms import MontantField


def date_field(label: str, *, required: bool, help_text: str = "") -> forms.DateField:
    """A date typed ``15/03/2025`` or picked (``type="date"``), French messages."""
    return forms.DateField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "invalid": "Saisissez une date valide (ex. 15/03/2025).",
            "required": f"Indiquez la {label[0].lower()}{label[1:]}.",
        },
    )


def pas_dans_le_futur(value, quoi: str):
    """Said on the form too (the service refuses it as well), so that the page shows it next to the field."""
    if value is not None and value > timezone.localdate():
        raise forms.ValidationError(f"La {quoi} ne peut pas être dans le futur.")
    return value


class VersementForm(ServiceForm):
    """A payment's entry: year, nature, amount, beneficiary, Chorus legal commitment and its date.

    The status and its dates (request, payment) move with ``versement_transition``, not here. ``annees`` are
    the contract's years, ``beneficiaires`` the organisations the payment may go to (``beneficiaires_possibles``
    within the user's perimeter), ``collectivite`` the name of the signing collectivité (the empty choice).
    """

    annee = forms.TypedChoiceField(label="Exercice", coerce=int)
    montant = MontantField(label="Montant", help_text="En euros, par exemple 12 500,00.")
    date_engagement = date_field("Date de l'engagement juridique", required=False)

    class Meta:
        model = Versement
        fields = ("annee", "nature", "montant", "beneficiaire", "numero_ej", "date_engagement")
        labels = {"numero_ej": "N° d'engagement juridique (Chorus)"}
        help_texts = {"numero_ej": "10 chiffres ; obligatoire pour demander le paiement."}

    def __init__(self, *args, annees=(), beneficiaires=None, collectivite: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["annee"].choices = [("", "Choisissez l'exercice")] + [(a, str(a)) for a in annees]
        self.fields["annee"].error_messages["invalid_choice"] = "Choisissez un exercice du contrat."
        self.fields["nature"].choices = [("", "Choisissez la nature"), *NatureVersement.choices]
        self.fields["nature"].error_messages["invalid_choice"] = "Choisissez l'avance, le solde ou le versement unique."
        beneficiaire = self.fields["beneficiaire"]
        if beneficiaires is not None:
            beneficiaire.queryset = beneficiaires
        beneficiaire.empty_label = f"{collectivite} (collectivité signataire)" if collectivite else "La collectivité"
        beneficiaire.required = False
        beneficiaire.help_text = "Vide : la collectivité signataire. Pacte local : le porteur de l'action."
        beneficiaire.error_messages["invalid_choice"] = "Choisissez un bénéficiaire possible de ce contrat."


class VersionForm(forms.Form):
    """The version of the payment the confirmation page showed (a change made since refuses the action)."""

    version = forms.CharField(widget=forms.HiddenInput, required=False, max_length=20)

    def clean_version(self):
        # Hidden: an altered value is said on top of the page, where it is seen.
        value = self.cleaned_data["version"]
        if value in (None, ""):
            return None
        if not value.isascii() or not value.isdigit():
            self.add_error(None, "Cette page a été altérée : rechargez-la. Rien n'a été enregistré.")
            return None
        return int(value)


class DemandeVersementForm(VersionForm):
    """Asking the accounting office to pay: the date of the request (today by default)."""

    date_demande = date_field(
        "Date de la demande de paiement", required=False, help_text="Laissée vide : la date du jour."
    )

    def clean_date_demande(self):
        return pas_dans_le_futur(self.cleaned_data["date_demande"], "date de la demande")


class PaiementVersementForm(VersionForm):
    """Recording the payment: its date, required."""

    date_versement = date_field("Date du versement", required=True, help_text="La date du paiement dans Chorus.")

    def clean_date_versement(self):
        return pas_dans_le_futur(self.cleaned_data["date_versement"], "date de versement")


class ReliquatDecisionForm(forms.Form):
    """What is done with a year's reliquat, on the amount the page showed (``montant``, hidden)."""

    decision = forms.ChoiceField(
        label="Décision",
        choices=[("", "Choisissez la décision"), *DecisionReliquat.choices],
        error_messages={
            "required": "Choisissez la déduction ou le titre de reversement.",
            "invalid_choice": "Choisissez la déduction ou le titre de reversement.",
        },
    )
    commentaire = forms.CharField(
        label="Commentaire", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    montant = forms.DecimalField(widget=forms.HiddenInput, max_digits=14, decimal_places=2, min_value=0)
