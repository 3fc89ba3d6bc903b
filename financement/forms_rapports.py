"""Forms of the annual execution report: its synthesis, one form per action's section, the DDETS's observations
when it returns or validates the report, and the filters of the list of reports.

They write nothing: the page calls ``financement.services`` (``rapport_save``, ``rapport_section_save``,
``rapport_transition``) and shows their refusals next to the field concerned. The front office renders them the DSFR
way (``espace.views.rapports`` mixes them with its own form classes).
"""

from __future__ import annotations

from django import forms

from financement.enums import StatutRapport
from financement.models import RapportAction, RapportAnnuel
from pacte.admin_base import ServiceForm, confirmation_text_field
from pacte.validators import pacte_years


class RapportSyntheseForm(ServiceForm):
    """The synthesis of the year (optional: each action's section says what was done)."""

    class Meta:
        model = RapportAnnuel
        fields = ["synthese"]
        widgets = {"synthese": forms.Textarea(attrs={"rows": 6})}
        help_texts = {
            "synthese": "Facultative : le bilan d'ensemble de l'année, les faits marquants, les perspectives.",
        }


class RapportSectionForm(ServiceForm):
    """One action's section: what was done in the year and where the action stands (both needed to send)."""

    class Meta:
        model = RapportAction
        fields = ["avancement", "recit"]
        widgets = {"recit": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["avancement"].choices = [("", "À indiquer"), *self.fields["avancement"].choices[1:]]


_OBSERVATIONS = RapportAnnuel._meta.get_field("observations_ddets")


class RenvoiForm(forms.Form):
    """What the DDETS asks the collectivité to complete. Required, by the service: ``Dites ce qu'il faut
    compléter.`` on this field (named as the model's, so that the service's message lands here)."""

    observations_ddets = confirmation_text_field(
        _OBSERVATIONS,
        label="Ce qu'il faut compléter",
        help_text="La collectivité le lit sur le rapport et dans les relances.",
    )


class ValidationForm(forms.Form):
    """The DDETS's last observations on a report it validates (optional: left empty, those already written stay)."""

    observations_ddets = confirmation_text_field(
        _OBSERVATIONS,
        label="Observations de la DDETS",
        help_text="Facultatives. Laissées vides : les observations déjà saisies sur le rapport sont gardées.",
    )


class RapportsFiltreForm(forms.Form):
    """The filters of the list of reports (GET)."""

    annee = forms.TypedChoiceField(label="Exercice", required=False, coerce=int, empty_value=None)
    statut = forms.ChoiceField(label="Statut", required=False)
    en_retard = forms.TypedChoiceField(
        label="Échéance",
        required=False,
        choices=[("", "Tous les rapports"), ("oui", "En retard seulement")],
        coerce=lambda value: value == "oui",
        empty_value=False,
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["annee"].choices = [("", "Tous les exercices"), *((a, a) for a in pacte_years())]
        self.fields["statut"].choices = [("", "Tous les statuts"), *StatutRapport.choices]
