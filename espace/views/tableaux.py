"""Consolidated dashboards: the nation, a région, a département, a collectivité; and every table's export.

A dashboard reads the summary kept up to date on every write (``financement.synthese``), never the funding lines:
its cost does not follow their number. It is locked to the user's perimeter: a territory is shown only to a user
whose perimeter holds all of it (the nation to the national level; a région to the nation and to that région's
DREETS; a département to them and to its DDETS and préfecture; a collectivité to everyone whose perimeter holds
it); any other answers 404, like an unknown code. ``tableaux/`` is the user's own territory; a partner (its
perimeter is the actions it carries) and a user without organisation have none: 403.

Every table is also an export (``tableaux/export.csv`` and ``.xlsx``, the same query string as the page plus
``tableau=<key>``): the same figures from the same code, French headers, amounts as numbers. Charts are drawn on
the server (``financement.graphiques``) and each is followed by its table.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from html import escape  # the standard one: Django's wraps it for lazy strings; a page calls it a thousand times
from urllib.parse import quote, urlencode

import tablib
from django import forms
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.safestring import mark_safe

from actions.enums import STATUTS_ACTIFS, StatutFiche
from contrats.enums import STATUTS_FIGES, StatutContrat
from contrats.models import Contrat
from espace.forms import EspaceForm
from espace.selectors import alertes_parite
from financement.enums import StatutRapport, TypeFinanceur
from financement.exports import csv_francais
from financement.graphiques import BARRES, COURBES, EMPILE, Graphique, graphique
from financement.models import RapportAnnuel, SyntheseFinancement
from financement.regles import PREVU, REALISE
from financement.selectors import Consolidation, Sommes, Subdivision, consolidation, rapports_par_exercice
from pacte.context_processors import identite
from pacte.models import Collectivite, Departement, Region
from pacte.money import ZERO, format_euros
from pacte.perimeters import Niveau, perimetre_of
from pacte.validators import pacte_years

NATION, REGION, DEPARTEMENT, COLLECTIVITE = "nation", "region", "departement", "collectivite"
FINANCEURS = [
    (TypeFinanceur.ETAT, "État"),
    (TypeFinanceur.COLLECTIVITE, "Collectivité"),
    (TypeFinanceur.AUTRE, "Autres"),
]
FORMATS = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
#: Execution rates in the tile grid of the départements: the lower bound of each class (0, 25, 50, 75, 100 %).
CLASSES_TAUX = (Decimal("1"), Decimal("0.75"), Decimal("0.5"), Decimal("0.25"), ZERO)


# --- Territories and who may see them ----------------------------------------------------------------------------


@dataclass
class Territoire:
    """A territory of a dashboard: its level, its natural key (``""`` for the nation), its name, its object."""

    niveau: str
    code: str
    nom: str
    objet: object = None

    def q(self, chemin: str) -> Q:
        """The rows whose collectivité (reached through ``chemin``) lies in the territory."""
        prefix = f"{chemin}__" if chemin else ""
        match self.niveau:
            case "region":
                return Q(**{f"{prefix}region_id": self.objet.pk})
            case "departement":
                couvrent = Collectivite.objects.filter(departements=self.objet).values("pk")
                return Q(**{f"{prefix}pk__in": couvrent})
            case "collectivite":
                return Q(**{f"{prefix}pk": self.objet.pk})
        return Q()

    @property
    def url(self) -> str:
        if self.niveau == NATION:
            return reverse("espace:tableau")
        # One reverse() per level, not per row: a national page links to a hundred départements.
        return _adresse(self.niveau, get_script_prefix()).replace(_CODE, quote(self.code, safe=""))


_CODE = "__code__"


@functools.cache
def _adresse(niveau: str, prefixe: str) -> str:
    return reverse(f"espace:tableau_{niveau}", kwargs={"code": _CODE})


def _nation() -> Territoire:
    return Territoire(NATION, "", "France entière")


def _region(region: Region) -> Territoire:
    return Territoire(REGION, region.code, f"Région {region.nom}", region)


def _departement(departement: Departement) -> Territoire:
    return Territoire(DEPARTEMENT, departement.code, f"{departement.nom} ({departement.code})", departement)


def _collectivite(collectivite: Collectivite) -> Territoire:
    return Territoire(COLLECTIVITE, collectivite.code, f"{collectivite.nom} ({collectivite.code})", collectivite)


def territoire_de(user) -> Territoire:
    """The user's own territory (``tableaux/``), from its organisation (loaded with its territory by ``identite``);
    403 for a partner or a user without organisation."""
    perimetre = perimetre_of(user)
    organisation = user.organisation if user.organisation_id else None
    match perimetre.niveau:
        case Niveau.NATION:
            return _nation()
        case Niveau.REGION:
            return _region(organisation.region)
        case Niveau.DEPARTEMENT:
            return _departement(organisation.departement)
        case Niveau.COLLECTIVITE:
            return _collectivite(organisation.collectivite)
    raise PermissionDenied


def territoire_or_404(user, niveau: str, code: str) -> Territoire:
    """The territory ``niveau``/``code`` if the user's perimeter holds all of it, else 404 (unknown code alike)."""
    perimetre = perimetre_of(user)
    nation = perimetre.niveau == Niveau.NATION
    match niveau:
        case "nation":
            if nation:
                return _nation()
        case "region":
            region = get_object_or_404(Region, code=code)
            if nation or (perimetre.niveau == Niveau.REGION and region.pk == perimetre.region_id):
                return _region(region)
        case "departement":
            departement = get_object_or_404(Departement, code=code)
            if (
                nation
                or (perimetre.niveau == Niveau.REGION and departement.region_id == perimetre.region_id)
                or (perimetre.niveau == Niveau.DEPARTEMENT and departement.pk == perimetre.departement_id)
            ):
                return _departement(departement)
        case "collectivite":
            collectivite = get_object_or_404(Collectivite, code=code)
            if perimetre.niveau in (Niveau.NATION, Niveau.REGION, Niveau.DEPARTEMENT, Niveau.COLLECTIVITE) and (
                perimetre.collectivites().filter(pk=collectivite.pk).exists()
            ):
                return _collectivite(collectivite)
    raise Http404


def _ascendants(user, territoire: Territoire) -> list[Territoire]:
    """The territories above ``territoire`` that the user may open, from the widest: the breadcrumb."""
    niveau = perimetre_of(user).niveau
    chaine = []
    if territoire.niveau != NATION and niveau == Niveau.NATION:
        chaine.append(_nation())
    objet = territoire.objet
    if territoire.niveau in (DEPARTEMENT, COLLECTIVITE) and niveau in (Niveau.NATION, Niveau.REGION):
        chaine.append(_region(objet.region))
    if territoire.niveau == COLLECTIVITE and niveau == Niveau.DEPARTEMENT:
        chaine.append(_departement(user.organisation.departement))
    return chaine


# --- Filters ---------------------------------------------------------------------------------------------------


class FiltreTableau(EspaceForm):
    """What a dashboard shows: one year or all, every contract or the signed ones only."""

    annee = forms.TypedChoiceField(label="Année", required=False, coerce=int, empty_value=None)
    contrats = forms.ChoiceField(
        label="Contrats",
        required=False,
        choices=[
            ("", "Tous les contrats, en préparation compris"),
            ("signes", "Contrats signés (signés, en exécution, clos, résiliés)"),
        ],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["annee"].choices = [("", "Toutes les années")] + [(a, str(a)) for a in pacte_years()]
        self.fields["annee"].error_messages["invalid_choice"] = (
            "Choisissez une année du Pacte ou « Toutes les années »."
        )
        self.fields["contrats"].error_messages["invalid_choice"] = (
            "Choisissez tous les contrats ou les contrats signés."
        )


@dataclass
class Filtre:
    annee: int | None = None
    signes: bool = False
    erreurs: list[str] = field(default_factory=list)

    @property
    def query(self) -> dict[str, str]:
        return {k: v for k, v in {"annee": self.annee or "", "contrats": "signes" if self.signes else ""}.items() if v}


def _filtre(request) -> tuple[FiltreTableau, Filtre]:
    data = {k: request.GET.get(k, "") for k in ("annee", "contrats")}
    form = FiltreTableau(data=data)
    if form.is_valid():
        return form, Filtre(form.cleaned_data["annee"], form.cleaned_data["contrats"] == "signes")
    # An invalid criterion is said, in French, and left out; the others apply.
    cleaned = form.cleaned_data
    erreurs = [message for messages in form.errors.values() for message in messages]
    return form, Filtre(cleaned.get("annee"), cleaned.get("contrats") == "signes", erreurs)


# --- Tables: what the page shows and the exports write -----------------------------------------------------------

TEXTE, MONTANT, NOMBRE, TAUX = "texte", "montant", "nombre", "taux"


@dataclass(frozen=True)
class Colonne:
    libelle: str
    genre: str = TEXTE


@dataclass
class Ligne:
    cellules: list
    lien: str = ""  # where a cell leads (drill-down)
    colonne_lien: int = 0  # which cell


def texte_nombre(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def texte_taux(taux: Decimal | None) -> str:
    """``Decimal("0.4234")`` → ``42,3 %``; ``—`` when nothing is planned."""
    if taux is None:
        return "—"
    return f"{(taux * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}".replace(".", ",") + "\u00a0%"


def _texte(colonne: Colonne, valeur) -> str:
    match colonne.genre:
        case "montant":
            return format_euros(valeur)
        case "nombre":
            return texte_nombre(valeur)
        case "taux":
            return texte_taux(valeur)
    return str(valeur)


@dataclass
class Tableau:
    """A table of a dashboard: its key (the export's ``tableau=``), caption, columns, rows and total."""

    cle: str
    titre: str
    colonnes: list[Colonne]
    lignes: list[Ligne]
    total: Ligne | None = None
    note: str = ""
    graphique: Graphique | None = None
    exports: dict[str, str] = field(default_factory=dict)

    @property
    def section(self) -> str:
        return SECTIONS[self.cle]

    @property
    def corps(self) -> str:
        """The body's rows as HTML (the total last): French amounts, counts and rates, the drill-down links. Built
        here rather than by the template language: the national page has thousands of cells, and this is ten times
        faster. Every text is escaped."""
        rangees = [self._rangee(ligne) for ligne in self.lignes]
        if self.total is not None:
            rangees.append(self._rangee(self.total, classe=' class="pacte-tableau__total"'))
        return mark_safe("".join(rangees))  # every piece escaped in _rangee

    def _rangee(self, ligne: Ligne, classe: str = "") -> str:
        cellules = []
        for i, (colonne, valeur) in enumerate(zip(self.colonnes, ligne.cellules, strict=True)):
            contenu = escape(_texte(colonne, valeur))
            if ligne.lien and i == ligne.colonne_lien:
                contenu = f'<a href="{escape(ligne.lien)}">{contenu}</a>'
            if i == 0:
                cellules.append(f'<th scope="row">{contenu}</th>')
            elif colonne.genre != TEXTE:
                cellules.append(f'<td class="pacte-chiffre">{contenu}</td>')
            else:
                cellules.append(f"<td>{contenu}</td>")
        return f"<tr{classe}>{''.join(cellules)}</tr>"


#: The heading of each table's section on the page.
SECTIONS = {
    "regions": "Par région",
    "departements": "Par département",
    "collectivites": "Par collectivité",
    "contrats": "Par contrat",
    "ruptures": "Actions dont la parité est rompue",
    "axes": "Par axe",
    "mesures": "Par objectif et mesure",
    "annees": "Par année",
    "financeurs_annees": "Par année et par financeur",
    "financeurs": "Par financeur",
    "statuts": "Actions par statut",
    "parite": "Santé du cofinancement",
    "rapports": "Rapports annuels d'exécution",
}


def _taux(sommes: Sommes) -> Decimal | None:
    return sommes.taux


COLONNES_MONTANTS = [
    Colonne("Prévu total", MONTANT),
    Colonne("Engagé", MONTANT),
    Colonne("Réalisé", MONTANT),
    Colonne("Taux d'exécution", TAUX),
]


def _montants(sommes: Sommes) -> list:
    return [sommes.prevu, sommes.engage, sommes.realise, _taux(sommes)]


def _pour(annee: int | None) -> str:
    return f" en {annee}" if annee else ", toutes années"


def tableau_axes(c: Consolidation) -> Tableau:
    colonnes = [
        Colonne("Axe"),
        *[Colonne(f"Prévu {libelle.lower() if code != 'etat' else libelle}", MONTANT) for code, libelle in FINANCEURS],
        *COLONNES_MONTANTS,
        Colonne("Actions", NOMBRE),
    ]
    lignes = [
        Ligne(
            [
                f"Axe {axe.axe} – {axe.axe_libelle}",
                *[axe.financeurs[code].prevu for code, _ in FINANCEURS],
                *_montants(axe.total),
                axe.fiches,
            ]
        )
        for axe in c.axes
    ]
    total = Ligne(["Total", *[c.financeurs[code].prevu for code, _ in FINANCEURS], *_montants(c.total), c.fiches])
    return Tableau("axes", f"Montants par axe{_pour(c.annee)}", colonnes, lignes, total)


def tableau_mesures(c: Consolidation) -> Tableau:
    colonnes = [
        Colonne("Axe"),
        Colonne("Objectif"),
        Colonne("Mesure"),
        Colonne("Rattachement"),
        Colonne("Prévu État", MONTANT),
        *COLONNES_MONTANTS,
        Colonne("Actions", NOMBRE),
    ]
    lignes = []
    for r in c.rattachements:
        objectif = f"{r.objectif} – {r.objectif_intitule}" if r.objectif else "—"
        mesure = f"{r.mesure} – {r.mesure_intitule}" if r.mesure else (r.mesure_locale or "—")
        lignes.append(
            Ligne(
                [
                    f"Axe {r.axe}",
                    objectif,
                    mesure,
                    r.rattachement,
                    r.financeurs[TypeFinanceur.ETAT].prevu,
                    *_montants(r.total),
                    r.fiches,
                ]
            )
        )
    total = Ligne(["Total", "", "", "", c.financeurs[TypeFinanceur.ETAT].prevu, *_montants(c.total), c.fiches])
    return Tableau(
        "mesures",
        f"Montants par objectif et mesure{_pour(c.annee)}",
        colonnes,
        lignes,
        total,
        note="Mesures nationales, objectifs seuls et mesures locales restent à part : aucun montant n'est perdu.",
    )


def tableau_annees(c: Consolidation) -> Tableau:
    colonnes = [Colonne("Année"), Colonne("Prévu", MONTANT), *COLONNES_MONTANTS[1:]]
    lignes = []
    total = Sommes()
    for annee in c.annees:
        sommes = c.annee_totale(annee)
        total.ajouter(sommes.prevu, sommes.engage, sommes.realise)
        lignes.append(Ligne([str(annee), *_montants(sommes)]))
    return Tableau(
        "annees",
        "Exécution par année",
        colonnes,
        lignes,
        Ligne(["Total", *_montants(total)]),
        note="Toutes les années, quelle que soit l'année choisie.",
    )


def tableau_financeurs_annees(c: Consolidation) -> Tableau:
    colonnes = [Colonne("Année"), *[Colonne(libelle, MONTANT) for _, libelle in FINANCEURS], Colonne("Total", MONTANT)]
    lignes, totaux = [], dict.fromkeys([code for code, _ in FINANCEURS], ZERO)
    for annee, financeurs in c.annees.items():
        montants = [financeurs[code].prevu for code, _ in FINANCEURS]
        for (code, _), montant in zip(FINANCEURS, montants, strict=True):
            totaux[code] += montant
        lignes.append(Ligne([str(annee), *montants, sum(montants, ZERO)]))
    total = Ligne(["Total", *totaux.values(), sum(totaux.values(), ZERO)])
    return Tableau(
        "financeurs_annees",
        "Montants prévus par année et par financeur",
        colonnes,
        lignes,
        total,
        note="Toutes les années, quelle que soit l'année choisie.",
    )


def tableau_financeurs(c: Consolidation) -> Tableau:
    colonnes = [Colonne("Financeur"), Colonne("Prévu", MONTANT), *COLONNES_MONTANTS[1:]]
    lignes = [Ligne([libelle, *_montants(c.financeurs[code])]) for code, libelle in FINANCEURS]
    total = Ligne(["Total", *_montants(c.total)])
    return Tableau("financeurs", f"Exécution par financeur{_pour(c.annee)}", colonnes, lignes, total)


def tableau_statuts(c: Consolidation) -> Tableau:
    colonnes = [Colonne("Statut de l'action"), Colonne("Actions", NOMBRE), Colonne("Prévu", MONTANT)]
    lignes = [Ligne([libelle, n, prevu]) for _, libelle, n, prevu in c.statuts]
    total = Ligne(["Total", sum(n for _, _, n, _ in c.statuts), sum((p for _, _, _, p in c.statuts), ZERO)])
    return Tableau(
        "statuts",
        f"Actions par statut (montants prévus{_pour(c.annee)})",
        colonnes,
        lignes,
        total,
        note="Les actions abandonnées sont comptées ici, mais jamais dans les autres montants.",
    )


def tableau_parite(c: Consolidation) -> Tableau:
    colonnes = [Colonne("Montants"), Colonne("Actions en rupture", NOMBRE), Colonne("Contrats concernés", NOMBRE)]
    lignes = [
        Ligne(["Prévus (bloquant à la signature)", c.ruptures.ruptures_prevu, c.ruptures.contrats_ruptures_prevu]),
        Ligne(["Réalisés (alerte)", c.ruptures.ruptures_realise, c.ruptures.contrats_ruptures_realise]),
    ]
    return Tableau(
        "parite",
        "Santé du cofinancement : actions dont la part de l'État dépasse ce que permet la règle",
        colonnes,
        lignes,
        note=f"Sur {c.fiches} action{'s' if c.fiches > 1 else ''} active{'s' if c.fiches > 1 else ''}, "
        "toutes années confondues, selon la règle de cofinancement de chaque contrat et volet.",
    )


def tableau_rapports(rapports) -> Tableau:
    statuts = list(StatutRapport.choices)
    colonnes = [
        Colonne("Exercice"),
        *[Colonne(libelle, NOMBRE) for _, libelle in statuts],
        Colonne("En retard", NOMBRE),
        Colonne("Total", NOMBRE),
    ]
    lignes = [Ligne([str(r.annee), *[r.statuts[s] for s, _ in statuts], r.en_retard, r.total]) for r in rapports]
    total = Ligne(
        [
            "Total",
            *[sum(r.statuts[s] for r in rapports) for s, _ in statuts],
            sum(r.en_retard for r in rapports),
            sum(r.total for r in rapports),
        ]
    )
    return Tableau(
        "rapports",
        "Rapports annuels d'exécution par exercice",
        colonnes,
        lignes,
        total,
        note="En retard : encore attendu de la collectivité (en rédaction ou renvoyé) après la date limite.",
    )


COLONNES_SUBDIVISION = [
    Colonne("Contrats", NOMBRE),
    Colonne("Actions", NOMBRE),
    Colonne("Prévu État", MONTANT),
    *COLONNES_MONTANTS,
    Colonne("Actions en rupture de parité (prévu)", NOMBRE),
    Colonne("Actions en rupture de parité (réalisé)", NOMBRE),
]


def _cellules_subdivision(contrats: int, part: Subdivision) -> list:
    return [contrats, part.fiches, part.etat, *_montants(part.total), part.ruptures_prevu, part.ruptures_realise]


def _total_subdivisions(c: Consolidation, contrats: int) -> Ligne:
    return Ligne(
        [
            "Total",
            contrats,
            c.fiches,
            c.financeurs[TypeFinanceur.ETAT].prevu,
            *_montants(c.total),
            c.ruptures.ruptures_prevu,
            c.ruptures.ruptures_realise,
        ]
    )


# --- The dashboard ------------------------------------------------------------------------------------------------


@dataclass
class Tableaux:
    """Everything a dashboard shows, read once: the page and the export build on it."""

    territoire: Territoire
    filtre: Filtre
    consolidation: Consolidation
    contrats: int
    tableaux: dict[str, Tableau]
    tuiles: list[dict] = field(default_factory=list)  # the départements' tile grid (nation, région)


def _lien(territoire: Territoire, filtre: Filtre) -> str:
    query = urlencode(filtre.query)
    return territoire.url + (f"?{query}" if query else "")


@dataclass
class _Part:
    """A subdivision being added up from its contracts."""

    figures: Subdivision
    contrats: int = 0


def _cumul(c: Consolidation, contrats: list[dict], parts_de) -> dict:
    """Adds the contracts up into subdivisions: ``parts_de(contrat)`` names the keys a contract counts in (several for
    a collectivité that covers several départements)."""
    cumul: dict = {}
    for contrat in contrats:
        for cle in parts_de(contrat):
            part = cumul.setdefault(cle, _Part(Subdivision(cle)))
            part.contrats += 1
            if contrat["pk"] in c.contrats:
                part.figures.ajouter(c.contrats[contrat["pk"]])
    return cumul


def _table(cle, titre, premiere, nommees, cumul, c, total_contrats, filtre, note="") -> Tableau:
    """A drill-down table: one row per subdivision ``nommees`` (key, name, territory), zeros included."""
    lignes = []
    for code, nom, territoire in nommees:
        part = cumul.get(code, _Part(Subdivision(code)))
        lignes.append(Ligne([nom, *_cellules_subdivision(part.contrats, part.figures)], lien=_lien(territoire, filtre)))
    colonnes = [Colonne(premiere), *COLONNES_SUBDIVISION]
    return Tableau(cle, titre, colonnes, lignes, _total_subdivisions(c, total_contrats), note=note)


NOTE_DEPARTEMENTS = (
    "Une collectivité qui couvre plusieurs départements compte dans chacun ; le total la compte une fois."
)


def _departements_des_collectivites(collectivites) -> dict[int, list[str]]:
    """The codes of the départements each collectivité covers (one query)."""
    lien = Collectivite.departements.through
    codes: dict[int, list[str]] = {}
    for collectivite_id, code in lien.objects.filter(collectivite__in=collectivites).values_list(
        "collectivite_id", "departement__code"
    ):
        codes.setdefault(collectivite_id, []).append(code)
    return codes


def _subdivisions(t: Territoire, filtre: Filtre, c: Consolidation, contrats: list[dict]):
    """The drill-down tables of ``t`` (and the départements' tiles), keyed as the exports name them: the contracts'
    figures (``Consolidation.contrats``) added up per région, département, collectivité, in a few small queries."""
    tableaux: dict[str, Tableau] = {}
    tuiles: list[dict] = []
    annee, total = filtre.annee, len(contrats)
    if t.niveau in (NATION, REGION):
        collectivites = Collectivite.objects.filter(t.q(""))
        departements_de = _departements_des_collectivites(collectivites)
        par_departement = _cumul(c, contrats, lambda contrat: departements_de.get(contrat["collectivite_id"], []))
        departements = Departement.objects.order_by("code")
        if t.niveau == REGION:
            departements = departements.filter(region=t.objet)
        nommes = [(d.code, f"{d.nom} ({d.code})", _departement(d)) for d in departements]
        tuiles = _tuiles(nommes, par_departement, filtre)
        tableaux["departements"] = _table(
            "departements",
            f"Par département{_pour(annee)}",
            "Département",
            nommes,
            par_departement,
            c,
            total,
            filtre,
            note=NOTE_DEPARTEMENTS,
        )
    if t.niveau == NATION:
        region_de = dict(Collectivite.objects.values_list("pk", "region__code"))
        par_region = _cumul(c, contrats, lambda contrat: [region_de[contrat["collectivite_id"]]])
        nommees = [(r.code, r.nom, _region(r)) for r in Region.objects.order_by("code")]
        tableaux["regions"] = _table(
            "regions", f"Par région{_pour(annee)}", "Région", nommees, par_region, c, total, filtre
        )
    elif t.niveau in (REGION, DEPARTEMENT):
        par_collectivite = _cumul(c, contrats, lambda contrat: [contrat["collectivite_id"]])
        nommees = [
            (coll.pk, f"{coll.nom} ({coll.code})", _collectivite(coll))
            for coll in Collectivite.objects.filter(t.q("")).order_by("code")
        ]
        tableaux["collectivites"] = _table(
            "collectivites",
            f"Par collectivité{_pour(annee)}",
            "Collectivité",
            nommees,
            par_collectivite,
            c,
            total,
            filtre,
        )
    elif t.niveau == COLLECTIVITE:
        tableaux["contrats"] = _tableau_contrats(c, contrats, filtre)
    return tableaux, tuiles


def _classe_taux(taux: Decimal | None) -> str:
    if taux is None:
        return "pacte-tuile--vide"
    for rang, seuil in enumerate(CLASSES_TAUX):
        if taux >= seuil:
            return f"pacte-tuile--{len(CLASSES_TAUX) - 1 - rang}"
    return "pacte-tuile--0"


def _tuiles(departements, cumul, filtre: Filtre) -> list[dict]:
    tuiles = []
    for code, nom, territoire in departements:
        part = cumul.get(code, _Part(Subdivision(code)))
        taux = part.figures.total.taux
        tuiles.append(
            {
                "code": code,
                "nom": nom,
                "taux": taux,
                "taux_texte": texte_taux(taux),
                "classe": _classe_taux(taux),
                "url": _lien(territoire, filtre),
            }
        )
    return tuiles


def tuiles_html(tuiles: list[dict]) -> str:
    """The tiles as HTML (a hundred on the national page: built here, as the tables' bodies are; texts escaped)."""
    return mark_safe(  # every piece escaped
        "".join(
            f'<li class="pacte-tuile {t["classe"]}"><a href="{escape(t["url"])}" '
            f'title="{escape(t["nom"])} : {escape(t["taux_texte"])}">'
            f'<span class="pacte-tuile__code">{escape(t["code"])}</span> '
            f'<span class="pacte-tuile__taux">{escape(t["taux_texte"])}</span> '
            f'<span class="fr-sr-only">{escape(t["nom"])}</span></a></li>'
            for t in tuiles
        )
    )


def _tableau_contrats(c: Consolidation, contrats: list[dict], filtre: Filtre) -> Tableau:
    statuts = dict(StatutContrat.choices)
    lignes = []
    for contrat in contrats:
        part = c.contrats.get(contrat["pk"], Subdivision(contrat["pk"]))
        lignes.append(
            Ligne(
                [f"{contrat['reference']} – {statuts[contrat['statut']]}", *_cellules_subdivision(1, part)],
                lien=reverse("espace:contrat", kwargs={"reference": contrat["reference"]}),
            )
        )
    return Tableau(
        "contrats",
        f"Par contrat{_pour(filtre.annee)}",
        [Colonne("Contrat"), *COLONNES_SUBDIVISION],
        lignes,
        _total_subdivisions(c, len(contrats)),
    )


def _tableau_ruptures(contrats_qs, contrats: list[dict]) -> Tableau:
    """The actions of the collectivité's contracts whose planned or spent amounts break parity, with the message of
    the rule functions (``espace.selectors.alertes_parite``, as at signature), each linking to its fiche."""
    references = {contrat["pk"]: contrat["reference"] for contrat in contrats}
    lignes = []
    for champ, libelle in ((PREVU, "Prévu"), (REALISE, "Réalisé")):
        for contrat_id, alertes in alertes_parite(contrats_qs, champ=champ).items():  # in reference order
            reference = references[contrat_id]
            for code, intitule, message in alertes:
                lien = reverse("espace:fiche", kwargs={"reference": reference, "code": code})
                lignes.append(Ligne([libelle, reference, f"{code} – {intitule}", message], lien=lien, colonne_lien=2))
    colonnes = [Colonne("Montants"), Colonne("Contrat"), Colonne("Action"), Colonne("Règle de cofinancement")]
    return Tableau(
        "ruptures",
        "Actions dont la part de l'État dépasse ce que permet la règle de cofinancement",
        colonnes,
        lignes,
        note="Actions actives, toutes années ; sur les montants prévus, la signature est bloquée.",
    )


def lire_tableaux(user, territoire: Territoire, filtre: Filtre) -> Tableaux:
    """Reads a territory's dashboard: a constant number of grouped queries, whatever the number of lines."""
    synthese = SyntheseFinancement.objects.for_user(user).filter(territoire.q("contrat__collectivite"))
    contrats_qs = Contrat.objects.for_user(user).filter(territoire.q("collectivite"))
    rapports = RapportAnnuel.objects.for_user(user).filter(territoire.q("contrat__collectivite"))
    if filtre.signes:
        synthese = synthese.filter(contrat__statut__in=STATUTS_FIGES)
        contrats_qs = contrats_qs.filter(statut__in=STATUTS_FIGES)
        rapports = rapports.filter(contrat__statut__in=STATUTS_FIGES)
    c = consolidation(synthese, annee=filtre.annee)
    contrats = list(contrats_qs.values("pk", "reference", "statut", "collectivite_id").order_by("reference"))
    tableaux, tuiles = _subdivisions(territoire, filtre, c, contrats)
    for tableau in (
        tableau_axes(c),
        tableau_mesures(c),
        tableau_annees(c),
        tableau_financeurs_annees(c),
        tableau_financeurs(c),
        tableau_statuts(c),
        tableau_parite(c),
        tableau_rapports(rapports_par_exercice(rapports, aujourd_hui=timezone.localdate())),
    ):
        tableaux[tableau.cle] = tableau
    if territoire.niveau == COLLECTIVITE:
        tableaux["ruptures"] = _tableau_ruptures(contrats_qs, contrats)
    return Tableaux(territoire, filtre, c, len(contrats), tableaux, tuiles)


def _graphiques(lus: Tableaux) -> None:
    c, pour = lus.consolidation, _pour(lus.filtre.annee)
    lus.tableaux["axes"].graphique = graphique(
        genre=BARRES,
        titre=f"Montants prévus par axe et par financeur{pour}",
        categories=[f"Axe {axe.axe}" for axe in c.axes],
        series=[(libelle, [axe.financeurs[code].prevu for axe in c.axes]) for code, libelle in FINANCEURS],
        alt=f"Diagramme en barres des montants prévus par axe et par financeur{pour} ; "
        "les montants sont dans le tableau qui suit.",
    )
    annees = list(c.annees)
    totaux = [c.annee_totale(a) for a in annees]
    lus.tableaux["annees"].graphique = graphique(
        genre=COURBES,
        titre="Prévu, engagé et réalisé par année",
        categories=[str(a) for a in annees],
        series=[
            ("Prévu", [t.prevu for t in totaux]),
            ("Engagé", [t.engage for t in totaux]),
            ("Réalisé", [t.realise for t in totaux]),
        ],
        alt="Courbes des montants prévus, engagés et réalisés par année ; les montants sont dans le tableau qui suit.",
    )
    lus.tableaux["financeurs_annees"].graphique = graphique(
        genre=EMPILE,
        titre="Montants prévus par année, empilés par financeur",
        categories=[str(a) for a in annees],
        series=[(libelle, [c.annees[a][code].prevu for a in annees]) for code, libelle in FINANCEURS],
        alt="Barres empilées des montants prévus par année et par financeur ; "
        "les montants sont dans le tableau qui suit.",
    )


#: The order of the sections of a page.
ORDRE = (
    "regions",
    "departements",
    "collectivites",
    "contrats",
    "axes",
    "mesures",
    "annees",
    "financeurs_annees",
    "financeurs",
    "statuts",
    "parite",
    "ruptures",
    "rapports",
)


def _exports(lus: Tableaux) -> None:
    t = lus.territoire
    for tableau in lus.tableaux.values():
        query = {"tableau": tableau.cle, "niveau": t.niveau, **({"code": t.code} if t.code else {}), **lus.filtre.query}
        tableau.exports = {
            fmt: reverse("espace:tableau_export", kwargs={"format": fmt}) + "?" + urlencode(query) for fmt in FORMATS
        }


def _page(request, territoire: Territoire):
    form, filtre = _filtre(request)
    lus = lire_tableaux(request.user, territoire, filtre)
    _graphiques(lus)
    _exports(lus)
    ascendants = _ascendants(request.user, territoire)
    c = lus.consolidation
    context = {
        "title": f"Tableau de bord – {territoire.nom}",
        "territoire": territoire,
        "form": form,
        "filtre": filtre,
        "c": c,
        "contrats": lus.contrats,
        "taux": texte_taux(c.total.taux),
        "tableaux": [lus.tableaux[cle] for cle in ORDRE if cle in lus.tableaux and cle != "departements"]
        if territoire.niveau == NATION
        else [lus.tableaux[cle] for cle in ORDRE if cle in lus.tableaux],
        "departements": lus.tableaux.get("departements") if territoire.niveau == NATION else None,
        "tuiles": tuiles_html(lus.tuiles) if lus.tuiles else "",
        "statuts_actifs": ", ".join(s.label.lower() for s in StatutFiche if s in STATUTS_ACTIFS),
        "breadcrumb_data": {
            "links": [{"url": _lien(a, filtre), "title": a.nom} for a in ascendants],
            "current": territoire.nom,
        },
    }
    return render(request, "espace/tableaux/tableau.html", context)


def tableau(request):
    """The user's own territory's dashboard (403 without one: a partner, a user without organisation)."""
    identite(request.user)  # the organisation with its territory, once, for the whole page
    return _page(request, territoire_de(request.user))


def tableau_region(request, code: str):
    return _page(request, territoire_or_404(request.user, REGION, code))


def tableau_departement(request, code: str):
    return _page(request, territoire_or_404(request.user, DEPARTEMENT, code))


def tableau_collectivite(request, code: str):
    return _page(request, territoire_or_404(request.user, COLLECTIVITE, code))


# --- Exports ------------------------------------------------------------------------------------------------------


def _valeur(colonne: Colonne, valeur):
    """A cell as the file holds it: amounts as numbers (euros, to the cent), rates as percentages to 0.1."""
    if valeur is None or valeur == "":
        return None if colonne.genre != TEXTE else ""
    if colonne.genre == TAUX:
        return (valeur * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if colonne.genre == MONTANT:
        return Decimal(valeur).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return valeur


def _entete(colonne: Colonne) -> str:
    if colonne.genre == MONTANT:
        return f"{colonne.libelle} (€)"
    if colonne.genre == TAUX:
        return f"{colonne.libelle} (%)"
    return colonne.libelle


def dataset(tableau: Tableau) -> tablib.Dataset:
    """A table as a tablib dataset: French headers (with the unit), one row per line, the total last."""
    data = tablib.Dataset(headers=[_entete(col) for col in tableau.colonnes], title=tableau.cle[:31])
    for ligne in [*tableau.lignes, *([tableau.total] if tableau.total else [])]:
        data.append([_valeur(col, v) for col, v in zip(tableau.colonnes, ligne.cellules, strict=True)])
    return data


def tableau_export(request, format: str):
    """One table of a dashboard as CSV or xlsx: ``?tableau=<key>&niveau=<level>&code=<code>`` and the page's filters.
    The territory follows the page's rules (own territory without ``niveau``; 404 outside the perimeter)."""
    if format not in FORMATS:
        raise Http404
    niveau = request.GET.get("niveau", "")
    if niveau:
        territoire = territoire_or_404(request.user, niveau, request.GET.get("code", ""))
    else:
        identite(request.user)
        territoire = territoire_de(request.user)
    cle = request.GET.get("tableau", "axes")
    _, filtre = _filtre(request)
    lus = lire_tableaux(request.user, territoire, filtre)
    if cle not in lus.tableaux:
        raise Http404
    data = dataset(lus.tableaux[cle])
    # The csv as the lists' exports write it (French Excel: ``;``, decimal commas, a BOM for the accents).
    contenu = csv_francais(data.headers, data) if format == "csv" else data.export("xlsx")
    nom = "-".join(p for p in ("tableau", cle, territoire.niveau, territoire.code, str(filtre.annee or "")) if p)
    response = HttpResponse(contenu, content_type=FORMATS[format])
    response["Content-Disposition"] = f'attachment; filename="{nom}.{format}"'
    return response
