"""What the persona homes show: "what to do now", read over the user's perimeter.

Each function takes the signed-in user and returns what its home lists, in a number of queries that does not
grow with the number of contracts, fiches or lines: the sums are done by the database in grouped queries over
the whole perimeter, then the money rules' pure functions (``financement.regles.parite_messages``,
``plafond_messages``) decide, group by group, exactly as the services do at signature.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from actions.enums import STATUTS_ACTIFS, StatutFiche
from actions.models import FicheAction, ValeurIndicateur
from contrats.enums import STATUTS_AVENANT_OUVERTS, STATUTS_FIGES, StatutAvenant, StatutContrat, TypeContrat
from contrats.models import Avenant, Contrat
from financement.enums import StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel
from financement.regles import PREVU, parite_messages, plafonds_messages, regle_pour, regles_par_type
from pacte.enums import TypeOrganisation
from pacte.models import Collectivite
from pacte.money import ZERO
from pacte.perimeters import Niveau, perimetre_of

#: The contract types in a table's head (their full names are too long for a column).
TYPES_COURTS = {
    TypeContrat.CLS_DEPARTEMENT: "CLS (département)",
    TypeContrat.CLS_METROPOLE: "CLS (métropole)",
    TypeContrat.CDIE: "CDIE",
    TypeContrat.CONVENTION_UNIQUE: "Convention unique",
    TypeContrat.CPT: "CPT (pacte local)",
}

#: Contracts whose execution is being followed (spent amounts, indicator values, annual reports).
STATUTS_EN_EXECUTION = (StatutContrat.SIGNE, StatutContrat.EN_EXECUTION)


def persona(user) -> str:
    """Which home the user gets: ``ddets``, ``prefecture``, ``collectivite``, ``region``, ``nation``,
    ``partenaire`` or ``aucun`` (no organisation: nothing to show)."""
    match perimetre_of(user).niveau:
        case Niveau.NATION:
            return "nation"
        case Niveau.REGION:
            return "region"
        case Niveau.DEPARTEMENT:
            return "prefecture" if user.organisation.type == TypeOrganisation.PREFECTURE else "ddets"
        case Niveau.COLLECTIVITE:
            return "collectivite"
        case Niveau.PORTEUR:
            return "partenaire"
    return "aucun"


# --- DDETS: what to prepare ------------------------------------------------------------------------------------------


@dataclass
class ContratEnPreparation:
    """A contract not yet signed, with what stands between it and its signature."""

    reference: str
    titre: str
    statut: str
    fiches_proposees: list[FicheAction] = field(default_factory=list)
    #: (fiche code, fiche title, message) — the parity rule per action and year, on planned amounts
    parite: list[tuple[str, str, str]] = field(default_factory=list)
    #: the annual ceilings of the State
    plafonds: list[str] = field(default_factory=list)

    @property
    def alertes(self) -> bool:
        return bool(self.parite or self.plafonds)


def accueil_ddets(user) -> dict:
    """Fiches still proposed, parity and ceiling alerts of the contracts not yet signed; avenants in preparation.

    Seven queries whatever the number of contracts: contracts, proposed fiches, parity sums, the cofinancing
    rules, the State's sums per year and volet, the ceilings, the open avenants.
    """
    contrats_qs = Contrat.objects.for_user(user).exclude(statut__in=STATUTS_FIGES)
    contrats = {
        c.pk: ContratEnPreparation(c.reference, c.titre, c.get_statut_display())
        for c in contrats_qs.only("pk", "reference", "titre", "statut").order_by("reference")
    }
    fiches = (
        FicheAction.objects.filter(contrat__in=contrats_qs, statut=StatutFiche.PROPOSEE)
        .select_related("contrat")
        .only("code", "intitule", "statut", "contrat", "contrat__reference")
        .order_by("contrat__reference", "code_tri")
    )
    for fiche in fiches:
        contrats[fiche.contrat_id].fiches_proposees.append(fiche)
    for contrat_id, alertes in alertes_parite(contrats_qs).items():
        contrats[contrat_id].parite = alertes
    for contrat_id, alertes in alertes_plafonds(contrats_qs).items():
        contrats[contrat_id].plafonds = alertes
    avenants = (
        Avenant.objects.for_user(user)
        .filter(statut__in=STATUTS_AVENANT_OUVERTS)
        .select_related("contrat")
        .only("numero", "objet", "statut", "contrat", "contrat__reference")
        .order_by("contrat__reference", "numero")
    )
    en_preparation = list(contrats.values())
    return {
        "contrats_fiches": [c for c in en_preparation if c.fiches_proposees],
        "contrats_alertes": [c for c in en_preparation if c.alertes],
        "avenants": list(avenants),
    }


def _money():
    return DecimalField(max_digits=14, decimal_places=2)


def alertes_parite(contrats, *, champ: str = PREVU) -> dict[int, list[tuple[str, str, str]]]:
    """Parity breaches of the active fiches of ``contrats`` (a QuerySet), per contract id:
    ``[(fiche code, fiche title, message)]``.

    One grouped query (per fiche and year, as ``financement.regles.parite_violations``) and the rules' query;
    each group is judged by ``parite_messages`` under the rule ``regle_pour`` gives, as at signature.
    """

    def total(condition=None):
        return Coalesce(Sum(champ, filter=condition), Value(ZERO), output_field=_money())

    rows = (
        LigneFinancement.objects.filter(fiche__contrat__in=contrats, fiche__statut__in=STATUTS_ACTIFS)
        .values(
            "fiche__contrat_id",
            "fiche__code",
            "fiche__intitule",
            "annee",
            "fiche__contrat__type_contrat",
            "fiche__volet__numero",
            "fiche__contrat__collectivite__code",
            "fiche__contrat__collectivite__nature",
        )
        .annotate(
            etat=total(Q(type_financeur=TypeFinanceur.ETAT)),
            collectivite=total(Q(type_financeur=TypeFinanceur.COLLECTIVITE)),
            tous=total(),
        )
        .order_by("fiche__contrat__reference", "fiche__code_tri", "annee")
    )
    regles = None
    alertes: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for row in rows:
        if regles is None:
            regles = regles_par_type()
        regle = regle_pour(regles, row["fiche__contrat__type_contrat"], row["fiche__volet__numero"])
        partie = Collectivite(
            code=row["fiche__contrat__collectivite__code"], nature=row["fiche__contrat__collectivite__nature"]
        ).partie
        for message in parite_messages(
            annee=row["annee"],
            etat=row["etat"],
            collectivite=row["collectivite"],
            total=row["tous"],
            regle=regle,
            partie=partie,
            champ=champ,
        ):
            alertes[row["fiche__contrat_id"]].append((row["fiche__code"], row["fiche__intitule"], message))
    return dict(alertes)


def alertes_plafonds(contrats) -> dict[int, list[str]]:
    """The State's planned shares against the annual ceilings, per contract id of ``contrats`` (a QuerySet).

    Two queries for all the contracts (the State's sums per contract, year and volet; the ceilings), then
    ``financement.regles.plafonds_messages`` per contract: the decisions ``plafond_violations`` makes for one
    contract (tests/espace/test_accueil.py checks they agree case by case).
    """
    sommes: dict[int, list[tuple[int, int | None, int | None, Decimal]]] = defaultdict(list)
    rows = (
        LigneFinancement.objects.filter(
            fiche__contrat__in=contrats, fiche__statut__in=STATUTS_ACTIFS, type_financeur=TypeFinanceur.ETAT
        )
        .values("fiche__contrat_id", "annee", "fiche__volet_id", "fiche__volet__numero")
        .annotate(etat=Sum("prevu"))
        .order_by("fiche__contrat_id", "annee", "fiche__volet__numero")
    )
    for row in rows:
        sommes[row["fiche__contrat_id"]].append(
            (row["annee"], row["fiche__volet_id"], row["fiche__volet__numero"], row["etat"])
        )
    plafonds: dict[int, list[tuple[int, int | None, Decimal]]] = defaultdict(list)
    for row in Plafond.objects.filter(contrat__in=contrats).values("contrat_id", "annee", "volet_id", "montant"):
        plafonds[row["contrat_id"]].append((row["annee"], row["volet_id"], row["montant"]))
    alertes = {}
    for contrat_id in sommes.keys() | plafonds.keys():
        messages = plafonds_messages(sommes[contrat_id], plafonds[contrat_id])
        if messages:
            alertes[contrat_id] = messages
    return alertes


# --- Collectivité: what to enter -------------------------------------------------------------------------------------


@dataclass
class FicheASaisir:
    """A fiche of a contract in execution with execution data still missing."""

    fiche: FicheAction
    #: the collectivité's funding lines of past and current years without a spent amount
    lignes: list[LigneFinancement] = field(default_factory=list)
    #: the indicator values of past years without an achieved value
    valeurs: list[ValeurIndicateur] = field(default_factory=list)


def accueil_collectivite(user, *, aujourd_hui: date | None = None) -> dict:
    """On the signed contracts in execution: spent amounts and indicator values to enter, grouped per fiche; the
    annual reports not yet validated (overdue flagged). Three queries.

    The spent amounts listed are the collectivité's own lines, those its agents may write
    (``financement.perms.can_edit_ligne``), for the years begun (up to the current one); an indicator's achieved
    value is asked for the years over (the current year's comes next year).
    """
    aujourd_hui = aujourd_hui or timezone.localdate()
    contrats = Contrat.objects.for_user(user).filter(statut__in=STATUTS_EN_EXECUTION)
    fiches: dict[int, FicheASaisir] = {}

    def entree(fiche) -> FicheASaisir:
        return fiches.setdefault(fiche.pk, FicheASaisir(fiche))

    lignes = (
        LigneFinancement.objects.filter(
            fiche__contrat__in=contrats,
            fiche__statut__in=STATUTS_ACTIFS,
            type_financeur=TypeFinanceur.COLLECTIVITE,
            annee__lte=aujourd_hui.year,
            realise__isnull=True,
        )
        .select_related("fiche", "fiche__contrat")
        .order_by("fiche__contrat__reference", "fiche__code_tri", "annee")
    )
    for ligne in lignes:
        entree(ligne.fiche).lignes.append(ligne)
    valeurs = (
        ValeurIndicateur.objects.filter(
            indicateur__fiche__contrat__in=contrats,
            indicateur__fiche__statut__in=STATUTS_ACTIFS,
            annee__lt=aujourd_hui.year,
            realise__isnull=True,
        )
        .select_related("indicateur", "indicateur__fiche", "indicateur__fiche__contrat")
        .order_by("indicateur__fiche__contrat__reference", "indicateur__fiche__code_tri", "indicateur__nom", "annee")
    )
    for valeur in valeurs:
        entree(valeur.indicateur.fiche).valeurs.append(valeur)
    rapports = list(
        RapportAnnuel.objects.filter(contrat__in=contrats)
        .exclude(statut=StatutRapport.VALIDE)
        .avec_retard(aujourd_hui)
        .select_related("contrat")
        .order_by("date_limite", "contrat__reference", "annee")
    )
    a_saisir = sorted(fiches.values(), key=lambda f: (f.fiche.contrat.reference, f.fiche.code_tri))
    return {"fiches_a_saisir": a_saisir, "rapports": rapports}


# --- Préfecture: what to sign ----------------------------------------------------------------------------------------


def accueil_prefecture(user) -> dict:
    """Contracts and avenants ready for signature. Two queries."""
    contrats = (
        Contrat.objects.for_user(user)
        .filter(statut=StatutContrat.PRET_SIGNATURE)
        .select_related("collectivite")
        .order_by("reference")
    )
    avenants = (
        Avenant.objects.for_user(user)
        .filter(statut=StatutAvenant.PRET_SIGNATURE)
        .select_related("contrat")
        .order_by("contrat__reference", "numero")
    )
    return {"contrats_a_signer": list(contrats), "avenants_a_signer": list(avenants)}


# --- Région and nation: the state of the contracts -------------------------------------------------------------------


@dataclass
class Ligne:
    """One territory's counts, each with the address of the contract list filtered on it."""

    code: str
    nom: str
    cellules: list[tuple[int, str]]  # (count, url) per column
    total: tuple[int, str]


@dataclass
class Tableau:
    colonnes: list[str]
    lignes: list[Ligne]
    totaux: list[tuple[int, str]]
    total: tuple[int, str]


def accueil_territoires(user) -> dict:
    """The state of the contracts of a région (per département) or of the nation (per région): counts by status
    and by type, each linking to the contract list filtered (``ContratFilter``'s ``statut``, ``type_contrat``,
    ``departement``, ``region``: natural keys). Four grouped queries: per territory, and the totals (a
    collectivité covering two départements counts once in them), for statuses and for types."""
    if perimetre_of(user).niveau == Niveau.REGION:
        filtre, chemin, libelle = "departement", "collectivite__departements", "Département"
    else:
        filtre, chemin, libelle = "region", "collectivite__region", "Région"
    contrats = Contrat.objects.for_user(user)
    statuts = _tableau(contrats, chemin, filtre, "statut", StatutContrat.choices)
    types = _tableau(contrats, chemin, filtre, "type_contrat", [(t, TYPES_COURTS[t]) for t in TypeContrat])
    return {"territoire": libelle, "par_statut": statuts, "par_type": types}


def _url(**params) -> str:
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("espace:contrats") + (f"?{query}" if query else "")


def _tableau(contrats, chemin: str, filtre: str, facette: str, choices) -> Tableau:
    rows = (
        contrats.values(f"{chemin}__code", f"{chemin}__nom", facette)
        .annotate(n=Count("pk", distinct=True))
        .order_by(f"{chemin}__code", facette)
    )
    comptes: dict[tuple[str, str], dict[str, int]] = {}
    for row in rows:
        territoire = (row[f"{chemin}__code"], row[f"{chemin}__nom"])
        comptes.setdefault(territoire, {})[row[facette]] = row["n"]
    lignes = []
    for (code, nom), par_valeur in comptes.items():
        cellules = [(par_valeur.get(valeur, 0), _url(**{facette: valeur, filtre: code})) for valeur, _ in choices]
        lignes.append(Ligne(code, nom, cellules, (sum(par_valeur.values()), _url(**{filtre: code}))))
    totaux_par_valeur = dict(contrats.values_list(facette).annotate(n=Count("pk")).order_by(facette))
    totaux = [(totaux_par_valeur.get(valeur, 0), _url(**{facette: valeur})) for valeur, _ in choices]
    return Tableau(
        colonnes=[label for _, label in choices],
        lignes=lignes,
        totaux=totaux,
        total=(sum(totaux_par_valeur.values()), _url()),
    )


# --- Partner: the actions it carries ---------------------------------------------------------------------------------


def accueil_partenaire(user) -> dict:
    """The actions the partner carries, with their contract. One query."""
    fiches = (
        FicheAction.objects.for_user(user)
        .select_related("contrat", "axe")
        .exclude(statut=StatutFiche.ABANDONNEE)
        .order_by("contrat__reference", "code_tri")
    )
    return {"fiches_portees": list(fiches)}


SELECTEURS = {
    "ddets": accueil_ddets,
    "collectivite": accueil_collectivite,
    "prefecture": accueil_prefecture,
    "region": accueil_territoires,
    "nation": accueil_territoires,
    "partenaire": accueil_partenaire,
    "aucun": lambda user: {},
}
