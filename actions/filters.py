"""The fiches list's filters: facets with their counts, and full-text search (``FicheFilter``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import django_filters
from django import forms
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection, models
from django.db.models import Q
from django.db.models.functions import Coalesce
from django.forms.utils import flatatt
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from dsfr.forms import DsfrBaseForm

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction
from contrats.enums import TypeContrat
from pacte.forms import harden_text_fields
from pacte.models import Organisation, natural_sort_key

#: The fields the search reads (the carrier's name through ``porteur__nom``).
CHAMPS_RECHERCHE = ("code", "intitule", "description", "objectifs", "public_cible", "porteur__nom")
#: On PostgreSQL, the fiche's own fields make one text vector, indexed (GIN, migration
#: ``actions.0007_index_recherche``): the query below must build it exactly as the index does, or the
#: index is not used. The carrier's name is matched on its own (another table: no index can join it).
CHAMPS_VECTEUR = CHAMPS_RECHERCHE[:-1]


def vecteur_recherche() -> SearchVector:
    """The text vector of a fiche's own fields, as indexed on PostgreSQL (``french`` configuration)."""
    return SearchVector(*CHAMPS_VECTEUR, config="french")


def requete_recherche(value: str, fiches=None):
    """PostgreSQL: the fiches (of ``fiches``, a queryset: the perimeter; all of them by default) whose own fields
    match ``value`` (a ``websearch``
    query: words, "quoted phrase", -excluded), whose carrier's name matches it, or whose code is ``value``
    whole (``A1-03``, whatever the parser makes of it): a union of three queries, the first through the GIN
    index (a single query with OR could not use it)."""
    requete = SearchQuery(value, config="french", search_type="websearch")
    fiches = (FicheAction._base_manager if fiches is None else fiches).order_by()
    porteurs = (
        Organisation.objects.order_by()
        .annotate(recherche_vecteur=SearchVector("nom", config="french"))
        .filter(recherche_vecteur=requete)
        .values("pk")
    )
    return (
        fiches.annotate(recherche_vecteur=vecteur_recherche())
        .filter(recherche_vecteur=requete)
        .values("pk")
        .union(fiches.filter(porteur__in=porteurs).values("pk"), fiches.filter(code__iexact=value).values("pk"))
    )


#: A search is at most this long, and at most this many words on SQLite.
RECHERCHE_MAX = 200
MOTS_MAX = 10


def _types_financeur() -> list[tuple[str, str]]:
    """The funder types, read from the funding lines' field through the reverse relation: ``actions``
    does not import ``financement`` (docs/architecture.md), whose model says what a funder is."""
    ligne = FicheAction._meta.get_field("financements").related_model
    return list(ligne._meta.get_field("type_financeur").choices)


@dataclass(frozen=True)
class Facette:
    """One facet of the list: the value a fiche has (``cle``), the text shown for it (``texte``, or the
    labels of ``choix``), and how choices sort."""

    nom: str
    libelle: str
    tous: str
    cle: str | models.Expression
    texte: str | models.Expression | None = None
    choix: Callable[[], list[tuple[str, str]]] | None = None
    tri: Callable[[str, str], object] | None = None
    #: Lookup of the funding line the value is read on: a fiche has several, the facet counts each fiche once.
    ligne: str | None = None
    #: The value is a number (an id, a year): anything else is left out before any query.
    entier: bool = False
    #: How a choice reads, from its value and text.
    afficher: Callable[[str, str], str] = lambda valeur, texte: texte  # noqa: E731

    def condition(self, valeur: str) -> Q:
        """The fiches that have ``valeur`` (facets on funding lines: see :meth:`FicheFilter.condition`)."""
        if self.nom == "objectif":
            # The objective of a fiche is its own, else its national measure's (docs/regles.md).
            return Q(objectif__code=valeur) | Q(objectif__isnull=True, mesure__objectif__code=valeur)
        return Q(**{self.cle: valeur})


def _enum(choices) -> Callable[[], list[tuple[str, str]]]:
    return lambda: list(choices)


FACETTES = (
    Facette(
        "axe",
        "Axe",
        "Tous les axes",
        "axe__numero",
        "axe__intitule_court",
        tri=lambda v, t: int(v),
        entier=True,
        afficher=lambda v, t: f"Axe {v} – {t}",
    ),
    Facette(
        "objectif",
        "Objectif du Pacte",
        "Tous les objectifs",
        Coalesce("objectif__code", "mesure__objectif__code"),
        Coalesce("objectif__intitule", "mesure__objectif__intitule"),
        tri=lambda v, t: natural_sort_key(v),
        afficher=lambda v, t: f"{v} – {t}",
    ),
    Facette(
        "mesure",
        "Mesure nationale",
        "Toutes les mesures",
        "mesure__code",
        "mesure__intitule",
        tri=lambda v, t: natural_sort_key(v),
        afficher=lambda v, t: f"{v} – {t}",
    ),
    Facette("statut", "Statut", "Tous les statuts", "statut", choix=_enum(StatutFiche.choices)),
    Facette("nature", "Nature", "Toutes les natures", "nature", choix=_enum(NatureAction.choices)),
    Facette(
        "porteur",
        "Porteur",
        "Tous les porteurs",
        "porteur_id",
        "porteur__nom",
        tri=lambda v, t: t.casefold(),
        entier=True,
    ),
    Facette(
        "financeur",
        "Financeur",
        "Tous les financeurs",
        "financements__type_financeur",
        choix=_types_financeur,
        ligne="type_financeur",
    ),
    Facette(
        "annee",
        "Année financée",
        "Toutes les années",
        "financements__annee",
        ligne="annee",
        tri=lambda v, t: int(v),
        entier=True,
    ),
    Facette(
        "collectivite",
        "Collectivité",
        "Toutes les collectivités",
        "contrat__collectivite__code",
        "contrat__collectivite__nom",
        tri=lambda v, t: v,
    ),
    Facette("contrat", "Contrat", "Tous les contrats", "contrat__reference", tri=lambda v, t: natural_sort_key(v)),
    Facette(
        "type_contrat", "Type de contrat", "Tous les types", "contrat__type_contrat", choix=_enum(TypeContrat.choices)
    ),
)
PAR_NOM = {facette.nom: facette for facette in FACETTES}
#: The facets read on the fiche (its axe, its carrier…) and those read on its funding lines (funder, year).
SIMPLES = tuple(facette for facette in FACETTES if not facette.ligne)
LIGNES = tuple(facette for facette in FACETTES if facette.ligne)


@dataclass(frozen=True)
class Choix:
    valeur: str
    texte: str
    nombre: int  # fiches of the list with this value, the other facets and the search applied


class SelectRapide(forms.Select):
    """A ``<select>`` whose options are written in Python, not through one template per option: the
    national list has thousands of carriers (same HTML as Django's ``Select``)."""

    def render(self, name, value, attrs=None, renderer=None):
        valeurs = set(self.format_value(value))
        options = []
        for valeur, texte in self.choices:
            if isinstance(texte, list | tuple):  # an optgroup: Django's own rendering
                return super().render(name, value, attrs, renderer)
            valeur = "" if valeur is None else str(valeur)
            choisi = " selected" if valeur in valeurs else ""
            options.append(f'<option value="{escape(valeur)}"{choisi}>{escape(texte)}</option>')
        final = self.build_attrs(self.attrs, attrs)
        final["name"] = name
        return format_html("<select{}>{}</select>", flatatt(final), mark_safe("".join(options)))


class FicheFilterForm(DsfrBaseForm):
    """The filters' form, rendered the DSFR way; the search refuses control characters."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        harden_text_fields(self)


class FicheFilter(django_filters.FilterSet):
    """Filters a queryset of fiches (already limited to the user's perimeter by the caller).

    **Facets** (``FACETTES``): axe, objectif, mesure, statut, nature, porteur, financeur (type of funder:
    a fiche with at least one funding line of that type), annee (a funding line that year; with
    ``financeur``, a line of that funder that year), collectivite, contrat, type_contrat. The choices are
    the values found in the queryset given (the perimeter), each with the number of fiches that the
    list would show with it, the other facets and the search applied (:attr:`facettes`): computed in
    Python from two queries (three with a search), whatever the number of fiches and of facets. A value
    outside the choices (an unknown axe, ``annee=abc``) is an error of the form, in French, and that filter is left out.

    **Search** ``q``, chosen by ``connection.vendor``:

    - PostgreSQL: a ``SearchVector`` (configuration ``french``: lower case, French stems) over the code,
      intitulé, description, objectifs, public cible and carrier's name, matched with a ``websearch``
      query (words, "quoted phrase", -excluded); the ``pertinence`` annotation (``SearchRank``) lets the
      caller rank the results. A code typed whole (``A1-03``) matches too, whatever the parser makes of it.
    - SQLite (development, tests): every word must appear (``icontains``) in one of those fields; case is
      ignored for ASCII letters only (SQLite's ``LIKE``: "insertion" finds "Insertion", "ÉTÉ" does not
      find "été"), no stemming, no ranking (``pertinence`` is absent).
    """

    q = django_filters.CharFilter(
        label="Rechercher",
        method="rechercher",
        max_length=RECHERCHE_MAX,
        help_text="Un mot du code, de l'intitulé, de la description, des objectifs, du public ou du porteur.",
    )

    class Meta:
        model = FicheAction
        fields: list[str] = []
        form = FicheFilterForm

    def __init__(self, data=None, queryset=None, *, request=None, prefix=None):
        super().__init__(data, queryset, request=request, prefix=prefix)
        self._trouvees: dict[str, list[int]] = {}
        for facette in FACETTES:
            self.filters[facette.nom] = django_filters.ChoiceFilter(
                label=facette.libelle, empty_label=facette.tous, choices=[], widget=SelectRapide
            )
            self.filters[facette.nom].model = self.queryset.model
            self.filters[facette.nom].parent = self
        self.filters.move_to_end("q", last=False)
        self.facettes = self._facettes()
        for facette in FACETTES:
            self.filters[facette.nom].extra["choices"] = [
                (choix.valeur, f"{choix.texte} ({choix.nombre})") for choix in self.facettes[facette.nom]
            ]

    # --- Values given --------------------------------------------------------------------------------

    def _recherche_donnee(self) -> str:
        """The search typed, if the form would accept it ("" otherwise)."""
        try:
            return self.filters["q"].field.clean(self.data.get("q", "")) or ""
        except forms.ValidationError:
            return ""

    def _donnees(self) -> dict[str, str]:
        """The facets' values given that a query can hold (the choices are checked afterwards)."""
        valeurs = {}
        for facette in FACETTES:
            valeur = self.data.get(facette.nom)
            if not isinstance(valeur, str) or not valeur or len(valeur) > 100:
                continue
            if facette.entier and not (valeur.isascii() and valeur.isdigit() and len(valeur) <= 9):
                continue
            valeurs[facette.nom] = valeur
        return valeurs

    # --- Filtering -----------------------------------------------------------------------------------

    def condition(self, queryset, valeurs: dict[str, str], recherche: str):
        """``queryset`` narrowed to the fiches having every value of ``valeurs`` and matching ``recherche``."""
        lignes = {}
        for nom, valeur in valeurs.items():
            facette = PAR_NOM[nom]
            if facette.ligne:
                lignes[facette.ligne] = valeur
            else:
                queryset = queryset.filter(facette.condition(valeur))
        if lignes:
            # One funding line with every value asked (that funder, that year): a subquery, no join that
            # would repeat rows (the caller sums amounts over these fiches).
            avec = FicheAction._default_manager.filter(**{f"financements__{k}": v for k, v in lignes.items()})
            queryset = queryset.filter(pk__in=avec.values("pk"))
        if recherche:
            queryset = self.rechercher(queryset, "q", recherche)
        return queryset

    def filter_queryset(self, queryset):
        data = self.form.cleaned_data
        valeurs = {facette.nom: data[facette.nom] for facette in FACETTES if data.get(facette.nom)}
        return self.condition(queryset, valeurs, data.get("q") or "")

    def rechercher(self, queryset, name, value):
        value = " ".join(str(value).split())
        if not value:
            return queryset
        if connection.vendor == "postgresql":
            requete = SearchQuery(value, config="french", search_type="websearch")
            return queryset.filter(pk__in=self.trouvees_postgresql(value)).annotate(
                pertinence=SearchRank(vecteur_recherche(), requete)
            )
        for mot in value.split()[:MOTS_MAX]:
            una = Q()
            for champ in CHAMPS_RECHERCHE:
                una |= Q(**{f"{champ}__icontains": mot})
            queryset = queryset.filter(una)
        return queryset

    def trouvees_postgresql(self, value: str) -> list[int]:
        """The ids of the fiches of the queryset (the perimeter) the search finds on PostgreSQL, read once per
        filter: their own fields through their index (``requete_recherche``), then the list, its count and its
        totals filter on these ids instead of computing every fiche's text vector again."""
        if self._trouvees.get(value) is None:
            self._trouvees[value] = list(requete_recherche(value, self.queryset).values_list("pk", flat=True))
        return self._trouvees[value]

    # --- Facets --------------------------------------------------------------------------------------

    def _facettes(self) -> dict[str, list[Choix]]:
        recherche = self._recherche_donnee()
        valeurs = self._donnees()
        faits = self._lire(recherche)
        facettes = self._compter(faits, valeurs)
        # A value outside the perimeter's choices would empty every other count: count again without it
        # (the form says it is not a valid choice). Choices do not depend on the other facets: once is enough.
        connues = {
            nom: valeur for nom, valeur in valeurs.items() if any(choix.valeur == valeur for choix in facettes[nom])
        }
        if connues != valeurs:
            facettes = self._compter(faits, connues)
        return facettes

    def _lire(self, recherche: str) -> dict:
        """What the counts need, in two queries (three with a search), whatever the number of fiches and of
        facets: each fiche of the queryset with its value (and text) for every facet not on funding lines
        (a tuple in the order of ``SIMPLES``), its distinct (funder type, year) pairs, and the ids matching
        the search."""

        def expression(cle):
            return models.F(cle) if isinstance(cle, str) else cle

        valeurs = [expression(facette.cle) for facette in SIMPLES]
        avec_texte = [(i, facette) for i, facette in enumerate(SIMPLES) if facette.texte is not None]
        rows = self.queryset.order_by().values_list(
            "pk", *valeurs, *(expression(facette.texte) for _, facette in avec_texte)
        )
        n = len(SIMPLES)
        fiches: dict[int, tuple] = {}
        textes: dict[str, dict[str, str]] = {facette.nom: {} for facette in FACETTES}
        for row in rows:
            cles = tuple(None if v is None or v == "" else str(v) for v in row[1 : n + 1])
            fiches[row[0]] = cles
            for k, (i, facette) in enumerate(avec_texte):
                valeur = cles[i]
                if valeur is not None and valeur not in textes[facette.nom]:
                    textes[facette.nom][valeur] = row[n + 1 + k] or ""
        lignes: dict[int, set[tuple[str, str]]] = {pk: set() for pk in fiches}
        champs = [f"financements__{facette.ligne}" for facette in LIGNES]
        assert len(champs) == 2  # financeur, annee: a pair per line
        for pk, premier, second in self.queryset.order_by().values_list("pk", *champs).distinct():
            if premier not in (None, "") and second is not None:
                lignes[pk].add((str(premier), str(second)))
        trouvees = None
        if recherche:
            if connection.vendor == "postgresql":
                trouvees = set(self.trouvees_postgresql(" ".join(recherche.split())))
            else:
                trouvees = set(self.rechercher(self.queryset.order_by(), "q", recherche).values_list("pk", flat=True))
        return {"fiches": fiches, "lignes": lignes, "textes": textes, "trouvees": trouvees}

    def _compter(self, faits: dict, valeurs: dict[str, str]) -> dict[str, list[Choix]]:
        """Each facet's choices with the number of fiches the list would show, the OTHER facets and the
        search applied, computed from :meth:`_lire`'s rows (no query): one pass over the fiches, counters."""
        filtres = [(i, valeurs[f.nom]) for i, f in enumerate(SIMPLES) if f.nom in valeurs]
        sur_ligne = {i: valeurs[f.nom] for i, f in enumerate(LIGNES) if f.nom in valeurs}
        trouvees = faits["trouvees"]
        fiches, toutes_lignes = faits["fiches"], faits["lignes"]

        def ligne_va(ligne, exigences) -> bool:
            return all(ligne[i] == v for i, v in exigences.items())

        # Every value of the perimeter is a choice, with 0 when no fiche of the list has it.
        colonnes = list(zip(*fiches.values(), strict=True)) if fiches else [() for _ in SIMPLES]
        compteurs = [Counter({v: 0 for v in set(colonne) if v is not None}) for colonne in colonnes]
        paires = set().union(*toutes_lignes.values())
        compteurs_lignes = [Counter({ligne[i]: 0 for ligne in paires}) for i in range(len(LIGNES))]
        autres_exigences = [{j: v for j, v in sur_ligne.items() if j != i} for i in range(len(LIGNES))]
        for pk, cles in fiches.items():
            if trouvees is not None and pk not in trouvees:
                continue
            ecarts = [i for i, v in filtres if cles[i] != v]
            if len(ecarts) > 1:
                continue
            lignes = toutes_lignes[pk]
            lignes_ok = not sur_ligne or any(ligne_va(ligne, sur_ligne) for ligne in lignes)
            if lignes_ok:
                if ecarts:
                    i = ecarts[0]
                    compteurs[i][cles[i]] += 1
                else:
                    for i, valeur in enumerate(cles):
                        if valeur is not None:
                            compteurs[i][valeur] += 1
            if ecarts:
                continue
            # Facets on funding lines: the other line facets apply to the same line.
            for i, exigences in enumerate(autres_exigences):
                compteur = compteurs_lignes[i]
                for valeur in {ligne[i] for ligne in lignes if not exigences or ligne_va(ligne, exigences)}:
                    compteur[valeur] += 1
        nombres = {f.nom: compteurs[i] for i, f in enumerate(SIMPLES)}
        nombres.update({f.nom: compteurs_lignes[i] for i, f in enumerate(LIGNES)})
        return {
            facette.nom: self._choix(facette, nombres[facette.nom], faits["textes"][facette.nom])
            for facette in FACETTES
        }

    def _choix(self, facette: Facette, nombres: dict[str, int], textes: dict[str, str]) -> list[Choix]:
        libelles = {str(valeur): texte for valeur, texte in facette.choix()} if facette.choix else {}
        choix = [
            Choix(valeur, textes.get(valeur) or libelles.get(valeur, valeur), nombre)
            for valeur, nombre in nombres.items()
        ]
        if facette.choix:
            ordre = list(libelles)
            choix.sort(key=lambda c: ordre.index(c.valeur) if c.valeur in ordre else len(ordre))
        elif facette.tri:
            choix.sort(key=lambda c: facette.tri(c.valeur, c.texte))
        return [Choix(c.valeur, facette.afficher(c.valeur, c.texte), c.nombre) for c in choix]
