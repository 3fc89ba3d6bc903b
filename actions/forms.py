"""Forms of a fiche action and of its indicators, for the pages that enter them (the front office).

They write nothing: the page calls ``actions.services`` and shows the service's refusal next to the
field it concerns. Their field errors come from the services' own functions (``fiche_errors``), never
from a copy of a rule. They derive from :class:`pacte.admin_base.ServiceForm` (version carried, stale
page refused, page shown before a signature refused after it); the front office mixes them with its
DSFR rendering (``espace.forms.EspaceModelForm``), which a lower app cannot import.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from actions.enums import NatureAction
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from actions.services import (
    CHAMPS_FICHE,
    fiche_errors,
    fill_objectif,
    indicateur_create,
    indicateur_delete,
    indicateur_save,
    indicateur_set_cible,
    indicateur_set_realise,
    valeur_indicateur_save,
)
from pacte.admin_base import ServiceForm, saisie_formfield, version_of
from pacte.enums import TypeOrganisation
from pacte.forms import CacheRapide, EntierField, decimal_formfield
from pacte.models import Mesure, Objectif, Organisation
from pacte.money import format_decimal
from pacte.services import ConflictError, conflict_message
from pacte.validators import normalize_identifier

#: Who may carry an action or fund it besides the State and the signing collectivité.
TYPES_PORTEURS = (TypeOrganisation.COLLECTIVITE, TypeOrganisation.PARTENAIRE)


def _formfield(db_field, **kwargs):
    """French numbers and ASCII digits (``pacte.admin_base.saisie_formfield``), Django's field otherwise."""
    return saisie_formfield(db_field, **kwargs) or db_field.formfield(**kwargs)


def territoire_q(contrat) -> Q:
    """Organisations of the contract's territory: the collectivité's own and the other collectivités of its
    départements, the partners of its départements or région, and the national partners."""
    collectivite = contrat.collectivite
    departements = collectivite.departements.values("pk")
    return (
        Q(collectivite_id=collectivite.pk)
        | Q(collectivite__departements__in=departements)
        | Q(departement__in=departements)
        | Q(region_id=collectivite.region_id)
        | Q(type=TypeOrganisation.PARTENAIRE, departement__isnull=True, region__isnull=True)
    )


def organisations_du_territoire(user, contrat, *, garder=None):
    """The carriers and funders a page offers for ``contrat``: collectivités and partners of its territory
    that ``user`` sees, plus ``garder`` (the organisation a fiche already has), in one query."""
    visibles = Organisation.objects.for_user(user).filter(territoire_q(contrat), type__in=TYPES_PORTEURS)
    condition = Q(pk__in=visibles.values("pk"))
    if garder is not None:
        condition |= Q(pk=garder)
    return Organisation.objects.filter(condition).order_by("nom", "pk")


def version_vue(instance, vue: int | None) -> int:
    """The version the page showed for a stored row. A page that shows none saw no row there: the row was
    added since, by someone else, and is not overwritten."""
    if vue is None:
        raise ConflictError(conflict_message(instance, 0))
    return vue


def supprime_pendant_la_saisie(libelle: str) -> ConflictError:
    """A row the page showed, removed since by someone else."""
    return ConflictError(
        f"{libelle} a été supprimée par un autre utilisateur pendant votre saisie : rien n'a été enregistré. "
        "Rechargez la page pour repartir de la version actuelle."
    )


def add_service_errors(form: forms.BaseForm, error, field_map=None) -> None:
    """A service's refusal on ``form``: each message on its field (``field_map`` renames the service's
    fields), the others on top."""
    field_map = field_map or {}
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            name = field_map.get(name, name)
            for message in (m for e in errors for m in e.messages):
                form.add_error(name if name in form.fields else None, message)
    else:
        for message in error.messages:
            form.add_error(None, message)


def _grouped(rows, selected_pk=None) -> list:
    """Choices grouped by axis (``<optgroup>``), an empty choice first."""
    groups: dict[str, list] = {}
    for row in rows:
        groups.setdefault(f"Axe {row.axe.numero} – {row.axe.intitule_court}", []).append((row.pk, str(row)))
    return [("", "—"), *groups.items()]


class FicheActionForm(ServiceForm):
    """A fiche's contractual content (``actions.services.CHAMPS_FICHE``) and its code.

    ``pacte_contrat`` (set before ``__init__``) is the fiche's contract: the axes offered are its axes,
    the objectives and measures those of its axes (active ones, plus the fiche's own), the volets its
    volets (none: no volet field), the carriers the organisations of its territory.
    """

    class Meta:
        model = FicheAction
        fields = ("code", *CHAMPS_FICHE)
        formfield_callback = _formfield
        widgets = {
            "date_debut": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "date_fin": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            **{
                name: forms.Textarea(attrs={"rows": 4})
                for name in (
                    "justification_renforcement",
                    "contexte",
                    "objectifs",
                    "description",
                    "public_cible",
                    "territoire_detail",
                    "partenaires",
                    "jalons",
                )
            },
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        contrat = self.pacte_contrat
        fiche = self.instance
        if fiche.pk is None:
            fiche.contrat = contrat
        user = self.request.user
        code = self.fields["code"]
        code.required = False
        code.help_text = (
            "Lettres sans accent et chiffres, séparés par « . », « - » ou « _ », 12 caractères au plus "
            "(A1-03, 1.1, FA-01). Vide : le prochain code libre de l'axe (A1-01, A1-02…)."
        )
        self.fields["axe"].queryset = contrat.axes.all()
        self.fields["axe"].empty_label = "—"
        axes = contrat.axes.values("pk")
        for name, model in (("objectif", Objectif), ("mesure", Mesure)):
            current = getattr(fiche, f"{name}_id")
            queryset = model.objects.filter(Q(axe__in=axes) & (Q(active=True) | Q(pk=current))).select_related("axe")
            field = self.fields[name]
            field.queryset = queryset.order_by("axe__numero", "code")
            field.choices = _grouped(field.queryset)
        self.fields["objectif"].help_text = "Avec une mesure nationale, l'objectif est celui de la mesure."
        volets = contrat.volets.all()
        if contrat.pk and any(True for _ in volets):
            self.fields["volet"].queryset = volets
            self.fields["volet"].empty_label = "—"
            self.fields["volet"].help_text = "Pour les actions de l'axe 2 seulement."
        else:
            del self.fields["volet"]
        self.fields["porteur"].queryset = organisations_du_territoire(user, contrat, garder=fiche.porteur_id)
        self.fields["porteur"].empty_label = "—"
        self.fields["nature"].choices = [("", "—"), *NatureAction.choices]

    #: How the page groups the fields.
    SECTIONS = (
        ("L'action", ("code", "intitule", "axe", "objectif", "mesure", "mesure_locale", "volet")),
        ("Nature de l'action", ("nature", "justification_renforcement")),
        ("Contenu", ("contexte", "objectifs", "description", "public_cible", "volume_public")),
        ("Territoire couvert", ("territoire_departement_entier", "territoire_detail")),
        ("Mise en œuvre", ("porteur", "partenaires", "date_debut", "date_fin", "jalons", "etp")),
    )

    def sections(self):
        """``(légende, champs)`` for the template, without the fields the contract does not offer (volet)."""
        for legend, names in self.SECTIONS:
            yield legend, [self[name] for name in names if name in self.fields]

    def clean(self):
        cleaned = super().clean()
        if isinstance(cleaned.get("code"), str):
            cleaned["code"] = normalize_identifier(cleaned["code"])
        # An empty code is numbered by fiche_create, under the contract's lock.
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        if self.instance.contrat.est_fige:
            return
        # As the services do: with a national measure and no objective chosen, the measure's objective.
        given = self.instance.pk is None or "objectif" in self.changed_data
        fill_objectif(self.instance, given=given)
        for field, message in fiche_errors(self.instance).items():
            if field in self.fields and field not in self.errors:
                self.add_error(field, message)
            elif field not in self.fields:
                self.add_error(None, message)

    def changes(self) -> dict:
        """The fields the user changed, for ``fiche_update``; every field for ``fiche_create``."""
        names = [name for name in self.fields if name in ("code", *CHAMPS_FICHE)]
        if self.instance.pk is None:
            return {name: self.cleaned_data[name] for name in names if name in self.cleaned_data}
        return {name: self.cleaned_data[name] for name in self.changed_data if name in names}


# --- Indicators --------------------------------------------------------------------------------------------


def _valeur_field(annee: int, label: str) -> forms.Field:
    """A yearly target or achieved value: the model column's own field (French numbers, never negative)."""
    db_field = ValeurIndicateur._meta.get_field("cible")
    return decimal_formfield(db_field, required=False, min_value=Decimal(0), label=f"{label} {annee}")


class IndicateurForm(ServiceForm):
    """One indicator: its name, type, unit, reference value, source, and its target for each year of the
    contract (``cible_<année>``, with the version of that year's row). ``supprimer`` removes it.

    ``annees`` are the contract's years; ``valeurs`` the indicator's yearly rows, by year.
    """

    class Meta:
        model = Indicateur
        fields = ("nom", "type_indicateur", "unite", "valeur_reference", "source")
        formfield_callback = _formfield

    def __init__(self, *args, annees=(), valeurs=None, supprimable=False, **kwargs):
        super().__init__(*args, **kwargs)
        self.annees = list(annees)
        self.valeurs = valeurs or {}
        for annee in self.annees:
            valeur = self.valeurs.get(annee)
            self.fields[f"cible_{annee}"] = _valeur_field(annee, "Cible")
            self.fields[f"cible_{annee}"].initial = valeur.cible if valeur else None
            self.fields[f"version_{annee}"] = EntierField(
                widget=CacheRapide, required=False, min_value=0, initial=valeur.version if valeur else None
            )
        if supprimable:
            self.fields["supprimer"] = forms.BooleanField(label="Supprimer cet indicateur", required=False)

    def cibles(self) -> list[tuple[int, Decimal | None, ValeurIndicateur | None, int | None]]:
        """``(année, cible saisie, ligne enregistrée, version affichée)`` for each year of the contract."""
        return [
            (
                annee,
                self.cleaned_data.get(f"cible_{annee}"),
                self.valeurs.get(annee),
                self.cleaned_data.get(f"version_{annee}"),
            )
            for annee in self.annees
        ]

    def indicator_changes(self) -> bool:
        return any(name in self.changed_data for name in self._meta.fields)

    def enregistrer(self, *, fiche: FicheAction, by) -> bool:
        """Writes the indicator (``indicateur_create``, ``indicateur_save`` or ``indicateur_delete`` with the
        version shown) and each target that changed (``indicateur_set_cible`` for a new year,
        ``valeur_indicateur_save`` with its version otherwise). Refusals land on their field; False then."""
        indicateur = self.instance
        try:
            if self.cleaned_data.get("supprimer"):
                indicateur_delete(indicateur=indicateur, by=by, version=version_of(self))
                return True
            if indicateur.pk is None:
                if not self.has_changed():
                    return True
                indicateur = indicateur_create(
                    fiche=fiche,
                    by=by,
                    **{name: self.cleaned_data.get(name) for name in self._meta.fields},
                )
            elif self.indicator_changes():
                indicateur_save(indicateur=indicateur, by=by, version=version_of(self))
        except ValidationError as error:
            add_service_errors(self, error)
            return False
        ok = True
        for annee, cible, valeur, vue in self.cibles():
            try:
                if valeur is None:
                    if vue is not None and cible is not None:
                        raise supprime_pendant_la_saisie(f"La cible {annee} de « {indicateur.nom} »")
                    if cible is not None:
                        indicateur_set_cible(indicateur=indicateur, annee=annee, cible=cible, by=by)
                elif cible != valeur.cible:
                    valeur.indicateur = indicateur
                    valeur.cible = cible
                    valeur_indicateur_save(valeur_indicateur=valeur, by=by, version=version_vue(valeur, vue))
            except ValidationError as error:
                add_service_errors(self, error, {"cible": f"cible_{annee}", "annee": f"cible_{annee}"})
                ok = False
        return ok

    def cible_fields(self):
        return [(annee, self[f"cible_{annee}"], self[f"version_{annee}"]) for annee in self.annees]


def _nombre(value: Decimal) -> str:
    """``100.00`` → ``100``, ``12.50`` → ``12,5``: a count reads without its zero decimals."""
    return format_decimal(value, max(0, -value.normalize().as_tuple().exponent))


class RealiseIndicateursForm(forms.Form):
    """The values achieved by a fiche's indicators (execution data), for each year already begun.

    ``indicateurs`` are the fiche's indicators with their yearly rows prefetched. A field
    ``realise-<indicateur>-<année>`` and the version of that year's row, ``version-<indicateur>-<année>``,
    for each year up to ``jusqua`` (the current year): a year to come has no achieved value.
    """

    def __init__(self, *args, indicateurs, annees, jusqua: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.lignes = []
        for indicateur in indicateurs:
            valeurs = {v.annee: v for v in indicateur.valeurs.all()}
            cellules = []
            for annee in annees:
                valeur = valeurs.get(annee)
                name = f"realise-{indicateur.pk}-{annee}" if annee <= jusqua else None
                if name:
                    self.fields[name] = _valeur_field(annee, f"{indicateur.nom}, valeur atteinte")
                    self.fields[name].initial = valeur.realise if valeur else None
                    self.fields[f"version-{indicateur.pk}-{annee}"] = EntierField(
                        widget=CacheRapide,
                        required=False,
                        min_value=0,
                        initial=valeur.version if valeur else None,
                    )
                cellules.append((annee, valeur, name))
            self.lignes.append((indicateur, cellules))
        for field in self.fields.values():
            if not field.widget.is_hidden:
                field.widget.attrs.setdefault("class", "fr-input")

    def rows(self):
        """For the template: each indicator with, per year, its target and the bound fields of its value
        (``None`` for a year to come)."""
        for indicateur, cellules in self.lignes:
            yield (
                indicateur,
                [
                    {
                        "annee": annee,
                        "cible": _nombre(valeur.cible) if valeur and valeur.cible is not None else "—",
                        "field": self[name] if name else None,
                        "version": self[f"version-{indicateur.pk}-{annee}"] if name else None,
                    }
                    for annee, valeur, name in cellules
                ],
            )

    def enregistrer(self, *, by) -> bool:
        """Writes each value entered differently from the stored one (``valeur_indicateur_save`` with the
        version shown, ``indicateur_set_realise`` for a year without a row); refusals land on their field."""
        ok = True
        for indicateur, annee, realise, valeur, vue, name in list(self.saisies()):
            try:
                if valeur is None:
                    if vue is not None:
                        raise supprime_pendant_la_saisie(f"La valeur {annee} de « {indicateur.nom} »")
                    indicateur_set_realise(indicateur=indicateur, annee=annee, realise=realise, by=by)
                else:
                    valeur.indicateur = indicateur
                    valeur.realise = realise
                    valeur_indicateur_save(valeur_indicateur=valeur, by=by, version=version_vue(valeur, vue))
            except ValidationError as error:
                add_service_errors(self, error, {"realise": name, "annee": name, "cible": name})
                ok = False
        return ok

    def hidden_errors(self) -> list[str]:
        """Errors of the hidden versions (a tampered page) and of the whole form, shown at the top."""
        hidden = [m for name in self.errors if name.startswith("version-") for m in self.errors[name]]
        return hidden + list(self.non_field_errors())

    def saisies(self):
        """``(indicateur, année, valeur saisie, ligne enregistrée, version affichée, nom du champ)`` of each
        value entered differently from the stored one."""
        for indicateur, cellules in self.lignes:
            for annee, valeur, name in cellules:
                if name is None or name not in self.cleaned_data:
                    continue
                realise = self.cleaned_data[name]
                if realise == (valeur.realise if valeur else None):
                    continue
                yield (
                    indicateur,
                    annee,
                    realise,
                    valeur,
                    self.cleaned_data.get(f"version-{indicateur.pk}-{annee}"),
                    name,
                )
