"""The filters of the list of contracts (django-filter), on the user's perimeter.

``ContratFilter(request.GET, queryset=Contrat.objects.for_user(user), request=request)``: every facet
is in the query string (``?type_contrat=cls_departement&departement=05&annee=2025&tri=-reference``), the
natural keys of territories (collectivité code, département and région INSEE codes), never an id. The
choices of the territorial facets are those of the contracts the user sees. A value that is not among
the choices is refused by the form, in French, on its facet.

The sort (``tri``) may name two annotations that the caller puts on the queryset (this app knows
nothing of fiches or money): ``nb_fiches`` and ``etat_prevu``.
"""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q
from dsfr.forms import DsfrBaseForm

from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Contrat
from pacte.forms import harden_text_fields
from pacte.models import Collectivite, Departement, Region
from pacte.validators import pacte_years

#: ``?tri=`` value → (label, ordering). The reference closes every ordering, so that pages never overlap.
TRIS = {
    "reference": ("Référence", ("reference",)),
    "-reference": ("Référence (décroissante)", ("-reference",)),
    "titre": ("Titre", ("titre", "reference")),
    "type": ("Type", ("type_contrat", "reference")),
    "collectivite": ("Collectivité", ("collectivite__nom", "reference")),
    "debut": ("Début de la période", ("date_debut", "reference")),
    "-debut": ("Début de la période (le plus récent d'abord)", ("-date_debut", "reference")),
    "statut": ("Statut", ("statut", "reference")),
    "fiches": ("Nombre de fiches", ("nb_fiches", "reference")),
    "-fiches": ("Nombre de fiches (décroissant)", ("-nb_fiches", "reference")),
    "etat": ("Prévu de l'État", ("etat_prevu", "reference")),
    "-etat": ("Prévu de l'État (décroissant)", ("-etat_prevu", "reference")),
}
TRI_PAR_DEFAUT = "reference"


class ContratFilterForm(DsfrBaseForm):
    """The filters' form, rendered the DSFR way; free text refuses control and bidirectional characters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden_text_fields(self)


def _contrats(request):
    return Contrat.objects.for_user(request.user) if request is not None else Contrat.objects.none()


def _collectivites(request):
    return Collectivite.objects.filter(pk__in=_contrats(request).values("collectivite")).order_by("nom")


def _departements(request):
    return Departement.objects.filter(
        collectivites__in=Collectivite.objects.filter(pk__in=_contrats(request).values("collectivite"))
    ).distinct()


def _regions(request):
    return Region.objects.filter(pk__in=_contrats(request).values("collectivite__region")).order_by("nom")


class ContratFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(
        label="Rechercher",
        method="search",
        max_length=100,
        help_text="Référence, titre ou nom de la collectivité.",
    )
    type_contrat = django_filters.ChoiceFilter(label="Type", choices=TypeContrat.choices, empty_label="Tous")
    statut = django_filters.ChoiceFilter(label="Statut", choices=StatutContrat.choices, empty_label="Tous")
    collectivite = django_filters.ModelChoiceFilter(
        label="Collectivité", queryset=_collectivites, to_field_name="code", empty_label="Toutes"
    )
    departement = django_filters.ModelChoiceFilter(
        label="Département",
        queryset=_departements,
        to_field_name="code",
        method="in_departement",
        empty_label="Tous",
    )
    region = django_filters.ModelChoiceFilter(
        label="Région",
        queryset=_regions,
        to_field_name="code",
        field_name="collectivite__region",
        empty_label="Toutes",
    )
    annee = django_filters.ChoiceFilter(
        label="Année",
        choices=[(str(year), str(year)) for year in pacte_years()],
        method="during",
        empty_label="Toutes",
        help_text="Les contrats dont la période couvre cette année.",
    )
    tri = django_filters.ChoiceFilter(
        label="Trier par",
        choices=[(key, label) for key, (label, _) in TRIS.items()],
        method="sort",
        empty_label=None,
    )

    class Meta:
        model = Contrat
        fields = ["q", "type_contrat", "statut", "collectivite", "departement", "region", "annee", "tri"]
        form = ContratFilterForm

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        # Django's own messages are already French ("Sélectionnez un choix valide…"); the free-text box
        # is a search box, not a textarea.
        self.form.fields["q"].widget = forms.TextInput(attrs={"type": "search"})
        self.form.fields["tri"].required = False

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(reference__icontains=value)
            | Q(titre__icontains=value)
            | Q(collectivite__nom__icontains=value)
            | Q(collectivite__code__iexact=value)
        )

    def in_departement(self, queryset, name, value):
        return queryset.filter(collectivite__in=Collectivite.objects.filter(departements=value).values("pk"))

    def during(self, queryset, name, value):
        annee = int(value)  # one of the choices: four ASCII digits
        return queryset.filter(date_debut__year__lte=annee, date_fin__year__gte=annee)

    def sort(self, queryset, name, value):
        return queryset.order_by(*TRIS.get(value or TRI_PAR_DEFAUT, TRIS[TRI_PAR_DEFAUT])[1])

    @property
    def tri_actif(self) -> str:
        """The sort in force (the default one when none or an invalid one was asked)."""
        if self.is_bound and self.form.is_valid():
            return self.form.cleaned_data.get("tri") or TRI_PAR_DEFAUT
        return TRI_PAR_DEFAUT
