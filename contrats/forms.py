"""What the back-office and the front office both ask before an irreversible change of a contract's status.

Closing, terminating and signing go through a confirmation page (``pacte.admin_base.confirm_action`` in
the back-office, ``espace.confirmation.confirmer`` in the front office) that states the consequences and
asks what the service needs. The forms and the sentences live here, once: both pages show the same words.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from contrats.enums import TRANSITIONS_CONTRAT, StatutContrat
from contrats.models import Contrat
from pacte.admin_base import ConfirmationForm, confirmation_text_field


class ClotureForm(ConfirmationForm):
    motif = confirmation_text_field(
        Contrat._meta.get_field("motif_fin"),
        label="Motif de la clôture",
        help_text="Facultatif. Enregistré sur le contrat (champ « motif de clôture ou de résiliation »).",
    )


class ResiliationForm(ConfirmationForm):
    motif = confirmation_text_field(
        Contrat._meta.get_field("motif_fin"),
        label="Motif de la résiliation",
        required=True,
        required_message="Indiquez le motif de la résiliation.",
        help_text="Obligatoire. Enregistré sur le contrat (champ « motif de clôture ou de résiliation »).",
    )


def date_signature_field(*, label: str = "Date de signature", required: bool = False, help_text: str = ""):
    """A signature date: typed ``15/03/2025`` or picked (``type="date"``), French message when invalid."""
    return forms.DateField(
        label=label,
        required=required,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=help_text,
        error_messages={
            "invalid": "Saisissez une date valide (ex. 15/03/2025).",
            "required": f"Indiquez la {label[0].lower()}{label[1:]}.",
        },
    )


def pas_dans_le_futur(value):
    """The service refuses a future signature too; said on the form, the page is shown again with it."""
    if value is not None and value > timezone.localdate():
        raise ValidationError("La date de signature ne peut pas être dans le futur.")
    return value


class SignatureForm(ConfirmationForm):
    date_signature = date_signature_field(
        help_text="Laissée vide : la date de la dernière signature de chaque contrat."
    )

    def clean_date_signature(self):
        return pas_dans_le_futur(self.cleaned_data["date_signature"])


def statuts_depuis(to: str) -> str:
    """The statuses a contract may reach ``to`` from (``TRANSITIONS_CONTRAT``): « Signé » ou « En exécution »."""
    return " ou ".join(f"« {StatutContrat(s).label} »" for s, targets in TRANSITIONS_CONTRAT.items() if to in targets)


def derniere_signature(contrat: Contrat):
    """The latest date among the contract's signatories (``contrat.signataires`` may be prefetched)."""
    return max((s.date_signature for s in contrat.signataires.all() if s.date_signature), default=None)


CONSEQUENCES_SIGNATURE = [
    "Le contrat passera au statut « Signé » à la date indiquée ci-dessous, après un dernier contrôle "
    "(signataires de chaque partie, dates de signature, fiches validées, parité et enveloppes).",
    "Ses données contractuelles (fiches actions, montants prévus, enveloppes, signataires) seront "
    "figées : elles ne changeront plus que par un avenant.",
    "La signature ne s'annule pas.",
]

CONSEQUENCES_CLOTURE = [
    "Le contrat passera au statut « Clos ». Ce statut est définitif : le contrat ne changera plus de "
    "statut et aucun avenant ne pourra plus y être ouvert.",
    f"Seul un contrat {statuts_depuis(StatutContrat.CLOS)} peut être clos.",
    "Le motif saisi ci-dessous est enregistré sur le contrat ; l'historique garde votre nom et la date.",
]

CONSEQUENCES_RESILIATION = [
    "Le contrat passera au statut « Résilié ». Ce statut est définitif : le contrat ne changera plus "
    "de statut et aucun avenant ne pourra plus y être ouvert.",
    f"Seul un contrat {statuts_depuis(StatutContrat.RESILIE)} peut être résilié.",
    "Le motif de la résiliation est obligatoire ; il est enregistré sur le contrat et l'historique "
    "garde votre nom et la date.",
]
