"""What the printed documents read (``financement/documents.py``): each document's data in a constant
number of queries, whatever the number of fiches, funders or years.

Every amount is summed by the database (``Sum`` with one filtered column per year, or per kind of amount),
at each level the documents print: a funder's line of an action, an action, an axis by kind of funder and
in all, the contract by kind of funder and in all. The convention counts the active fiches
(``actions.enums.STATUTS_ACTIFS``), as the parity and ceiling rules do. Everything returned is evaluated
(lists, dataclasses): a caller may read it after the transaction it was read in has been rolled back (the
preview of an unsigned avenant, ``avenant_data``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, Prefetch, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils.html import strip_tags
from django.utils.text import Truncator

from actions.enums import STATUTS_ACTIFS, NatureAction
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import NatureModification, PartieSignataire, StatutAvenant
from contrats.models import Avenant, Contrat, LibelleAxe, RegleTypeContrat, Signataire, Volet
from contrats.services import rich_text_clean
from financement.enums import Contrepartie, TypeFinanceur
from financement.models import (
    LigneFinancement,
    Plafond,
    RapportAction,
    RapportAnnuel,
    RegleCofinancement,
    Reliquat,
    Versement,
)
from financement.regles import REALISE, Regle, parite_messages, parite_violations, plafond_violations, regle_pour
from financement.services import (
    ChiffresAction,
    MontantsFinanceur,
    date_limite_rapport,
    fiches_du_rapport,
    rapport_chiffres,
)
from pacte import hooks
from pacte.enums import TypeOrganisation
from pacte.models import Organisation
from pacte.money import ZERO

_MONEY = DecimalField(max_digits=16, decimal_places=2)


# --- Sums ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Montants:
    """One row of amounts: a value per column (a year, or prévu / engagé / réalisé) and, where the table
    has one, the row's total. ``None`` in a column: nothing is set there (printed « — »)."""

    valeurs: tuple[Decimal | None, ...]
    total: Decimal | None = None


def somme(champ: str, condition: Q | None = None):
    """``Sum`` of a money field (0 when no line matches), as a Decimal to the cent."""
    return Coalesce(Sum(champ, filter=condition), Value(ZERO), output_field=_MONEY)


def colonnes_annees(annees: list[int], champ: str = "prevu") -> dict:
    """One column per year and the total, of ``champ``."""
    colonnes = {f"a_{annee}": somme(champ, Q(annee=annee)) for annee in annees}
    colonnes["total"] = somme(champ)
    return colonnes


def colonnes_execution() -> dict:
    """The planned, committed and spent amounts (of the lines' year), without a total."""
    return {"prevu": somme("prevu"), "engage": somme("engage"), "realise": somme("realise")}


def sommes(lignes, par: tuple[str, ...], colonnes: dict) -> dict[tuple, Montants]:
    """The aggregates ``colonnes`` (name → ``somme(...)``; ``total`` is the row's total) of the funding lines
    ``lignes`` per ``par`` (``values()`` names; empty: one grand total under the key ``()``), in one query."""
    if par:
        rows = {tuple(row[n] for n in par): row for row in lignes.order_by().values(*par).annotate(**colonnes)}
    else:
        rows = {(): lignes.order_by().aggregate(**colonnes)}
    noms = [n for n in colonnes if n != "total"]
    return {key: Montants(tuple(row[n] for n in noms), row.get("total")) for key, row in rows.items()}


# --- The financial table: action × column × funder ----------------------------------------------------------


@dataclass
class Ligne:
    """One row of a money table: a label and its amounts."""

    libelle: str
    montants: Montants
    classe: str = ""


@dataclass
class ActionFinancee:
    fiche: FicheAction
    financeurs: list[Ligne]
    total: Montants


@dataclass
class AxeFinance:
    numero: int
    libelle: str
    actions: list[ActionFinancee]
    financeurs: list[Ligne]
    total: Montants


@dataclass
class TableauFinancier:
    entetes: list[str]  # the amount columns' headings
    avec_total: bool  # a last column holds each row's total
    axes: list[AxeFinance]
    financeurs: list[Ligne]
    total: Montants
    #: every action by its fiche's primary key (a fiche's page prints its own part of the table)
    par_fiche: dict[int, ActionFinancee] = field(default_factory=dict)

    @property
    def colonnes(self) -> int:
        """The table's number of columns: the label, the amounts, the total."""
        return len(self.entetes) + 1 + int(self.avec_total)

    def financeur(self, type_financeur: str) -> Montants:
        """The contract's amounts of one kind of funder (État, collectivité, autres)."""
        for ligne in self.financeurs:
            if ligne.classe == type_financeur:
                return ligne.montants
        return Montants(tuple(ZERO for _ in self.entetes), ZERO if self.avec_total else None)


def libelle_financeur(type_financeur: str, nom: str | None, collectivite_nom: str) -> str:
    """How a document names a funder: ``État``, the collectivité's name, another funder's name."""
    if type_financeur == TypeFinanceur.ETAT:
        return "État"
    if type_financeur == TypeFinanceur.COLLECTIVITE:
        return collectivite_nom
    return nom or "Autre financeur"


def _ordre_financeur(type_financeur: str, nom: str | None) -> tuple:
    ordre = {TypeFinanceur.ETAT: 0, TypeFinanceur.COLLECTIVITE: 1, TypeFinanceur.AUTRE: 2}
    return (ordre.get(type_financeur, 3), (nom or "").casefold())


def tableau_financier(
    contrat: Contrat,
    fiches: list[FicheAction],
    libelles_axes: dict[int, str],
    *,
    colonnes: dict,
    entetes: list[str],
    lignes=None,
) -> TableauFinancier:
    """The money of ``fiches`` (in order) per action and funder, with the totals per action, per axis (by
    kind of funder and in all) and for all of them, each summed by the database (six queries).

    ``colonnes`` says what each column sums (``colonnes_annees``, ``colonnes_execution``); ``lignes`` narrows
    the funding lines (a report reads one year's)."""
    lignes = (lignes if lignes is not None else LigneFinancement.objects.all()).filter(fiche__in=[f.pk for f in fiches])
    cellules = sommes(lignes, ("fiche_id", "type_financeur", "financeur__nom"), colonnes)
    par_action = sommes(lignes, ("fiche_id",), colonnes)
    par_axe_type = sommes(lignes, ("fiche__axe__numero", "type_financeur"), colonnes)
    par_axe = sommes(lignes, ("fiche__axe__numero",), colonnes)
    par_type = sommes(lignes, ("type_financeur",), colonnes)
    total = sommes(lignes, (), colonnes)[()]
    avec_total = "total" in colonnes
    zero = Montants(tuple(ZERO for _ in entetes), ZERO if avec_total else None)

    collectivite = contrat.collectivite.nom
    financeurs_de: dict[int, list[tuple]] = defaultdict(list)
    for (fiche_id, type_financeur, nom), montants in cellules.items():
        financeurs_de[fiche_id].append((_ordre_financeur(type_financeur, nom), type_financeur, nom, montants))
    libelles_types = {
        TypeFinanceur.ETAT: "État",
        TypeFinanceur.COLLECTIVITE: collectivite,
        TypeFinanceur.AUTRE: "Autres financeurs",
    }

    def par_type_de(sommes_par_type: dict[str, Montants]) -> list[Ligne]:
        return [Ligne(libelles_types[t], sommes_par_type[t], classe=t) for t in libelles_types if t in sommes_par_type]

    axes: dict[int, AxeFinance] = {}
    par_fiche = {}
    for fiche in fiches:
        numero = fiche.axe.numero
        if numero not in axes:
            axes[numero] = AxeFinance(
                numero=numero,
                libelle=libelles_axes.get(numero) or fiche.axe.intitule,
                actions=[],
                financeurs=par_type_de({t: m for (a, t), m in par_axe_type.items() if a == numero}),
                total=par_axe.get((numero,), zero),
            )
        action = ActionFinancee(
            fiche=fiche,
            financeurs=[
                Ligne(libelle_financeur(t, nom, collectivite), montants, classe=t)
                for _, t, nom, montants in sorted(financeurs_de[fiche.pk], key=lambda x: x[0])
            ],
            total=par_action.get((fiche.pk,), zero),
        )
        axes[numero].actions.append(action)
        par_fiche[fiche.pk] = action
    return TableauFinancier(
        entetes=entetes,
        avec_total=avec_total,
        axes=[axes[k] for k in sorted(axes)],
        financeurs=par_type_de({t: m for (t,), m in par_type.items()}),
        total=total,
        par_fiche=par_fiche,
    )


def tableau_prevu(contrat: Contrat, fiches: list[FicheAction], libelles_axes: dict[int, str]) -> TableauFinancier:
    """The planned amounts per year of the contract, the convention's financial annex."""
    annees = list(contrat.annees)
    return tableau_financier(
        contrat, fiches, libelles_axes, colonnes=colonnes_annees(annees), entetes=[str(a) for a in annees]
    )


# --- Fiches and indicators ---------------------------------------------------------------------------------


@dataclass
class IndicateurImprime:
    indicateur: Indicateur
    #: value rows aligned on the document's years (None where nothing is recorded)
    valeurs: list[ValeurIndicateur | None]


def fiches_du_contrat(contrat, *, statuts=STATUTS_ACTIFS, pk: int | None = None) -> list[FicheAction]:
    """The contract's fiches of ``statuts`` (None: all) in axis then natural code order (or the one fiche
    ``pk``), with what a document prints of them: axis, objective, measures, volet, carrier, indicators and
    their yearly values (three queries)."""
    fiches = (
        FicheAction.objects.filter(contrat=contrat)
        .select_related("axe", "objectif", "mesure__objectif", "volet", "porteur")
        .prefetch_related(
            Prefetch(
                "indicateurs",
                queryset=Indicateur.objects.order_by("pk").prefetch_related(
                    Prefetch("valeurs", queryset=ValeurIndicateur.objects.order_by("annee"))
                ),
            )
        )
        .order_by("axe__numero", "code_tri")
    )
    if pk is not None:
        fiches = fiches.filter(pk=pk)
    elif statuts is not None:
        fiches = fiches.filter(statut__in=statuts)
    return list(fiches)


def indicateurs_imprimes(fiche: FicheAction, annees: list[int]) -> list[IndicateurImprime]:
    """A fiche's indicators with their values aligned on ``annees`` (from the prefetched rows)."""
    imprimes = []
    for indicateur in fiche.indicateurs.all():
        par_annee = {v.annee: v for v in indicateur.valeurs.all()}
        imprimes.append(IndicateurImprime(indicateur, [par_annee.get(a) for a in annees]))
    return imprimes


# --- What every document of a contract needs ------------------------------------------------------------------


@dataclass
class AxeImprime:
    numero: int
    intitule: str  # the national label
    libelle_local: str  # "" when the contract keeps the national label
    fiches: list[FicheAction]

    @property
    def libelle(self) -> str:
        return self.libelle_local or self.intitule


@dataclass
class RegleImprimee:
    """A cofinancing rule as the convention states it."""

    portee: str  # "Toutes les actions", "Actions du volet 1 – Pilotage"
    regle: Regle
    contrepartie: str  # the counterpart in words ("" when there is none)


@dataclass
class EngagementImprime:
    organisation: str
    est_collectivite: bool
    annees: list[tuple[int, Decimal, Decimal | None, str]]  # (année, montant, ETP, en nature)


def contrat_complet(contrat) -> Contrat:
    """The contract with its collectivité, pacte local, axes, local labels, objectives and volets (6 queries)."""
    return (
        Contrat.objects.select_related("collectivite__region", "pacte_local", "contrat_precedent")
        .prefetch_related("axes", "libelles_axes__axe", "objectifs", "volets")
        .get(pk=contrat.pk)
    )


def libelles_axes_de(contrat: Contrat) -> dict[int, str]:
    """The contract's local labels by axis number (from the prefetched rows)."""
    return {la.axe.numero: la.libelle for la in contrat.libelles_axes.all()}


def signataires_de(contrat) -> dict:
    """The State's, the collectivité's and the partners' signatories (one query)."""
    signataires = list(Signataire.objects.filter(contrat=contrat).select_related("organisation").order_by("pk"))
    return {
        "signataire_etat": next((s for s in signataires if s.partie == PartieSignataire.ETAT), None),
        "signataire_collectivite": next((s for s in signataires if s.partie == PartieSignataire.COLLECTIVITE), None),
        "signataires_partenaires": [s for s in signataires if s.partie == PartieSignataire.PARTENAIRE],
    }


def autorite(signataire_etat) -> str:
    """What the State's bloc-marque says: the préfet's title as signed (``Préfète de la Drôme``), else the
    Republic."""
    qualite = (signataire_etat.qualite if signataire_etat else "").strip()
    if qualite.casefold().startswith("préf") and " " in qualite:
        return qualite
    return "République française"


def enveloppes(contrat: Contrat, volets: list[Volet], annees: list[int]) -> list[Ligne]:
    """The State's annual ceilings: the contract's, then each volet's that has one (one query)."""
    plafonds = list(Plafond.objects.filter(contrat=contrat))
    lignes = []
    for volet in [None, *volets]:
        rows = {p.annee: p.montant for p in plafonds if p.volet_id == (volet.pk if volet else None)}
        if rows or volet is None:
            lignes.append(
                Ligne(
                    f"Volet {volet.numero} – {volet.intitule}" if volet else "Enveloppe du contrat",
                    Montants(tuple(rows.get(a) for a in annees), sum(rows.values(), ZERO)),
                )
            )
    return lignes


def _contrepartie(regle: Regle, partie: str) -> str:
    if regle.contrepartie == Contrepartie.COLLECTIVITE:
        return f"la part {partie}"
    if regle.contrepartie == Contrepartie.COFINANCEURS:
        return "la part de l'ensemble des autres financeurs"
    return ""


def regles_imprimees(contrat: Contrat, volets: list[Volet]) -> list[RegleImprimee]:
    """The cofinancing rule of the contract's type, and of each of its volets (one query)."""
    regles = {
        (r.type_contrat, r.volet_numero): Regle(r.taux_etat_max, r.contrepartie, r.tolerance, r.etat_seul)
        for r in RegleCofinancement.objects.filter(type_contrat=contrat.type_contrat)
    }
    partie = contrat.collectivite.partie
    generale = regle_pour(regles, contrat.type_contrat, None)
    imprimees = [
        RegleImprimee(
            "Actions hors volet" if volets else "Toutes les actions", generale, _contrepartie(generale, partie)
        )
    ]
    for volet in volets:
        regle = regle_pour(regles, contrat.type_contrat, volet.numero)
        imprimees.append(
            RegleImprimee(f"Actions du volet {volet.numero} – {volet.intitule}", regle, _contrepartie(regle, partie))
        )
    return imprimees


# --- The convention ----------------------------------------------------------------------------------------------


def convention_data(contrat) -> dict:
    """Everything the convention prints, read in a constant number of queries (about twenty)."""
    contrat = contrat_complet(contrat)
    annees = list(contrat.annees)
    libelles_axes = libelles_axes_de(contrat)
    fiches = fiches_du_contrat(contrat)
    tableau = tableau_prevu(contrat, fiches, libelles_axes)

    par_axe = defaultdict(list)
    for fiche in fiches:
        par_axe[fiche.axe.numero].append(fiche)
    axes = [
        AxeImprime(axe.numero, axe.intitule, libelles_axes.get(axe.numero, ""), par_axe.get(axe.numero, []))
        for axe in sorted(contrat.axes.all(), key=lambda a: a.numero)
    ]
    # Fiches on an axis the contract no longer has (written outside the services) are still printed.
    for numero in sorted(set(par_axe) - {a.numero for a in axes}):
        axe = par_axe[numero][0].axe
        axes.append(AxeImprime(numero, axe.intitule, libelles_axes.get(numero, ""), par_axe[numero]))
    volets = sorted(contrat.volets.all(), key=lambda v: v.numero)
    regle_type = RegleTypeContrat.objects.filter(type_contrat=contrat.type_contrat).first()

    engagements: dict[int, EngagementImprime] = {}
    for e in contrat.engagements.select_related("organisation").order_by("organisation__nom", "annee"):
        imprime = engagements.setdefault(
            e.organisation_id,
            EngagementImprime(e.organisation.nom, e.organisation.type == TypeOrganisation.COLLECTIVITE, []),
        )
        imprime.annees.append((e.annee, e.montant, e.etp, e.en_nature))

    autres_financeurs = sorted(
        {ligne.libelle for a in tableau.par_fiche.values() for ligne in a.financeurs if ligne.classe == "autre"},
        key=str.casefold,
    )
    return {
        "contrat": contrat,
        "annees": annees,
        **signataires_de(contrat),
        "preambule": rich_text_clean(contrat.preambule),
        "diagnostic": rich_text_clean(contrat.diagnostic),
        "objectifs": list(contrat.objectifs.all()),
        "axes": axes,
        "volets": volets,
        "fiches": [(f, tableau.par_fiche[f.pk], indicateurs_imprimes(f, annees)) for f in fiches],
        "tableau": tableau,
        "enveloppes": enveloppes(contrat, volets, annees),
        "regles": regles_imprimees(contrat, volets),
        "versement_aux_porteurs": bool(regle_type and regle_type.versement_aux_porteurs),
        "porteurs": sorted({f.porteur.nom for f in fiches}, key=str.casefold),
        "engagements_collectivite": [e for e in engagements.values() if e.est_collectivite],
        "engagements_partenaires": [e for e in engagements.values() if not e.est_collectivite],
        "autres_financeurs": autres_financeurs,
        "echeances_rapport": [(annee, date_limite_rapport(annee)) for annee in annees],
        "premiere_echeance": date_limite_rapport(annees[0]),
        "annee_mi_parcours": annees[len(annees) // 2] if len(annees) > 2 else None,
    }


# --- A fiche alone ------------------------------------------------------------------------------------------------


def fiche_data(fiche) -> dict:
    """A fiche action as its own document prints it: its content, its planned money per year and funder,
    its indicators (a constant number of queries)."""
    contrat = Contrat.objects.select_related("collectivite").get(pk=fiche.contrat_id)
    annees = list(contrat.annees)
    libelles_axes = dict(LibelleAxe.objects.filter(contrat=contrat).values_list("axe__numero", "libelle"))
    fiche = fiches_du_contrat(contrat, pk=fiche.pk)[0]
    tableau = tableau_prevu(contrat, [fiche], libelles_axes)
    return {
        "contrat": contrat,
        "annees": annees,
        "fiche": fiche,
        "libelle_axe": libelles_axes.get(fiche.axe.numero, ""),
        "financement": tableau.par_fiche[fiche.pk],
        "indicateurs": indicateurs_imprimes(fiche, annees),
        **signataires_de(contrat),
    }


# --- The annual execution report ----------------------------------------------------------------------------------


@dataclass
class IndicateurAnnuel:
    code: str  # the action's code
    nom: str
    unite: str
    cible: Decimal | None
    realise: Decimal | None

    @property
    def taux(self) -> Decimal | None:
        """The share of the target reached, when both are known and the target is not zero."""
        if self.cible in (None, ZERO) or self.realise is None:
            return None
        return (self.realise / self.cible).quantize(Decimal("0.001"))


@dataclass
class ActionRapportee:
    """One action of the report: what its section says (``None`` while it is not written) and its figures."""

    fiche: FicheAction
    section: RapportAction | None
    chiffres: ChiffresAction
    transmis: bool  # the figures are the copy sent with the report, not the lines as they are now


def _execution(chiffres: MontantsFinanceur) -> Montants:
    return Montants((chiffres.prevu, chiffres.engage, chiffres.realise))


def _ajouter(total: list[Decimal], montants: Montants) -> None:
    for i, valeur in enumerate(montants.valeurs):
        total[i] += valeur or ZERO


def rapport_data(rapport) -> dict:
    """The annual execution report as the collectivité writes it and the DDETS checks it: its synthesis, each
    action's section (what was done, where the action stands), each action's planned, committed and spent
    amounts of the year per funder and its indicators of the year, the State's payments and the reliquat of
    the year, the warnings on spent amounts (a constant number of queries).

    The actions and figures are the report's own (``financement.services``: ``fiches_du_rapport``,
    ``rapport_chiffres``): once the report is sent, each action's figures are the copy sent with it
    (``RapportAction.chiffres_transmis``), so that the printed report is the one the DDETS validated. The
    totals by axis and for the contract add these figures up (exact decimals): a sent copy is not in the
    database's lines any more.
    """
    rapport = RapportAnnuel.objects.select_related("contrat__collectivite").get(pk=rapport.pk)
    contrat, annee = rapport.contrat, rapport.annee
    libelles_axes = dict(LibelleAxe.objects.filter(contrat=contrat).values_list("axe__numero", "libelle"))
    ecrites = {s.fiche_id: s for s in RapportAction.objects.filter(rapport=rapport)}
    fiches = list(
        FicheAction.objects.filter(Q(pk__in=fiches_du_rapport(contrat, annee).values("pk")) | Q(pk__in=list(ecrites)))
        .select_related("axe")
        .order_by("axe__numero", "code_tri")
    )
    vivants = rapport_chiffres(annee=annee, fiches=[f.pk for f in fiches])

    actions, axes, par_type = [], {}, defaultdict(lambda: [ZERO, ZERO, ZERO])
    total = [ZERO, ZERO, ZERO]
    libelles_types = {
        TypeFinanceur.ETAT: "État",
        TypeFinanceur.COLLECTIVITE: contrat.collectivite.nom,
        TypeFinanceur.AUTRE: "Autres financeurs",
    }
    axe_types: dict[int, dict] = defaultdict(lambda: defaultdict(lambda: [ZERO, ZERO, ZERO]))
    axe_totaux: dict[int, list] = defaultdict(lambda: [ZERO, ZERO, ZERO])
    for fiche in fiches:
        section = ecrites.get(fiche.pk)
        transmis = section is not None and section.chiffres_transmis is not None and not rapport.en_redaction
        chiffres = ChiffresAction.depuis_json(section.chiffres_transmis) if transmis else vivants[fiche.pk]
        actions.append(ActionRapportee(fiche, section, chiffres, transmis))
        financeurs = [
            Ligne(
                libelle_financeur(m.type_financeur, m.libelle, contrat.collectivite.nom),
                _execution(m),
                m.type_financeur,
            )
            for m in chiffres.financeurs
        ]
        numero = fiche.axe.numero
        if numero not in axes:
            axes[numero] = AxeFinance(numero, libelles_axes.get(numero) or fiche.axe.intitule, [], [], None)
        axes[numero].actions.append(ActionFinancee(fiche, financeurs, _execution(chiffres.total)))
        for ligne in financeurs:
            _ajouter(axe_types[numero][ligne.classe], ligne.montants)
            _ajouter(par_type[ligne.classe], ligne.montants)
        _ajouter(axe_totaux[numero], _execution(chiffres.total))
        _ajouter(total, _execution(chiffres.total))

    def lignes_par_type(sommes_par_type) -> list[Ligne]:
        return [
            Ligne(libelles_types[t], Montants(tuple(sommes_par_type[t])), t)
            for t in libelles_types
            if t in sommes_par_type
        ]

    for numero, axe in axes.items():
        axe.financeurs = lignes_par_type(axe_types[numero])
        axe.total = Montants(tuple(axe_totaux[numero]))
    tableau = TableauFinancier(
        entetes=["Prévu", "Engagé", "Réalisé"],
        avec_total=False,
        axes=[axes[k] for k in sorted(axes)],
        financeurs=lignes_par_type(par_type),
        total=Montants(tuple(total)),
    )
    indicateurs = [
        IndicateurAnnuel(a.fiche.code, v.nom, v.unite, v.cible, v.realise)
        for a in actions
        for v in a.chiffres.indicateurs
    ]
    versements = list(
        Versement.objects.filter(contrat=contrat, annee=annee).select_related("beneficiaire").order_by("date_versement")
    )
    marque = f", {annee} :"
    alertes = [m for m in parite_violations(FicheAction.objects.filter(contrat=contrat), champ=REALISE) if marque in m]
    return {
        "rapport": rapport,
        "contrat": contrat,
        "annee": annee,
        "actions": actions,
        "transmis": any(a.transmis for a in actions),
        "tableau": tableau,
        "indicateurs": indicateurs,
        "versements": versements,
        "total_verse": sum((v.montant for v in versements if v.date_versement), ZERO),
        "reliquat": Reliquat.objects.filter(contrat=contrat, annee=annee).first(),
        "alertes": alertes,
        **signataires_de(contrat),
    }


# --- The avenant ----------------------------------------------------------------------------------------------------


@dataclass
class Changement:
    """One row of the avenant's table of changes: what, before, after."""

    quoi: str
    avant: str
    apres: str
    detail: str = ""


@dataclass
class ChangementMontant:
    """A planned amount (or a ceiling) before and after the avenant."""

    quoi: str
    annee: int
    financeur: str
    avant: Decimal | None
    apres: Decimal

    @property
    def ecart(self) -> Decimal:
        return self.apres - (self.avant or ZERO)


@dataclass
class PariteApres:
    """An action's planned money of one year after the avenant, and whether it keeps the cofinancing rule."""

    code: str
    annee: int
    etat: Decimal
    collectivite: Decimal
    total: Decimal
    messages: list[str]

    @property
    def part_etat(self) -> Decimal | None:
        return (self.etat / self.total).quantize(Decimal("0.001")) if self.total else None


class _Annulation(Exception):
    """Rolls back the preview of an unsigned avenant."""


def _fiche_valeur(nom: str, valeur, organisations: dict[int, str]) -> str:
    """A fiche field's value as an avenant stores it (``actions.checks.to_json``), in words."""
    from financement.templatetags.documents import date_longue, nombre

    if valeur is None or valeur == "":
        return "—"
    if nom == "axe":
        return f"Axe {valeur}"
    if nom == "volet":
        return f"Volet {valeur}"
    if nom == "porteur":
        return organisations.get(valeur, f"organisation n° {valeur}")
    if nom in ("date_debut", "date_fin"):
        from datetime import date

        return date_longue(date.fromisoformat(valeur))
    if nom == "etp":
        return f"{nombre(valeur)} ETP"
    if nom == "cible":
        return nombre(valeur)
    if nom == "nature":
        return NatureAction(valeur).label if valeur in NatureAction.values else str(valeur)
    if nom == "territoire_departement_entier":
        return "Oui" if valeur else "Non"
    return Truncator(strip_tags(str(valeur))).chars(400)


def _libelle_champ(nom: str) -> str:
    try:
        label = str(FicheAction._meta.get_field(nom).verbose_name)
    except Exception:  # a name an older avenant stored
        label = nom
    return label[:1].upper() + label[1:]


def _decimal(valeur) -> Decimal | None:
    """An amount as an avenant stores it (``"12000.00"``; older rows: ``{"prevu": "12000.00"}``), or None."""
    if isinstance(valeur, dict) and len(valeur) == 1:
        valeur = next(iter(valeur.values()))
    if valeur is None or valeur == "" or isinstance(valeur, (dict, list, bool)):
        return None
    try:
        return Decimal(str(valeur))
    except ArithmeticError:
        return None


def _etat_apres(contrat: Contrat, fiches_touchees: set[str]) -> dict:
    """The contract as it stands (after the avenant): its active fiches, financial table, ceilings, the
    parity of the actions the avenant touches, and every signature check's messages."""
    contrat = contrat_complet(contrat)
    annees = list(contrat.annees)
    libelles_axes = libelles_axes_de(contrat)
    fiches = fiches_du_contrat(contrat)
    tableau = tableau_prevu(contrat, fiches, libelles_axes)
    volets = sorted(contrat.volets.all(), key=lambda v: v.numero)
    from financement.regles import regles_par_type

    regles = regles_par_type()
    partie = contrat.collectivite.partie
    parite = []
    rows = (
        LigneFinancement.objects.filter(fiche__contrat=contrat, fiche__code__in=fiches_touchees)
        .values("fiche__code", "fiche__code_tri", "fiche__volet__numero", "annee")
        .annotate(
            etat=somme("prevu", Q(type_financeur=TypeFinanceur.ETAT)),
            collectivite=somme("prevu", Q(type_financeur=TypeFinanceur.COLLECTIVITE)),
            tous=somme("prevu"),
        )
        .order_by("fiche__code_tri", "annee")
    )
    for row in rows:
        regle = regle_pour(regles, contrat.type_contrat, row["fiche__volet__numero"])
        parite.append(
            PariteApres(
                row["fiche__code"],
                row["annee"],
                row["etat"],
                row["collectivite"],
                row["tous"],
                parite_messages(
                    annee=row["annee"],
                    etat=row["etat"],
                    collectivite=row["collectivite"],
                    total=row["tous"],
                    regle=regle,
                    partie=partie,
                ),
            )
        )
    actives = FicheAction.objects.filter(contrat=contrat, statut__in=STATUTS_ACTIFS)
    return {
        "contrat": contrat,
        "annees": annees,
        "fiches": fiches,
        "tableau": tableau,
        "intitules": dict(FicheAction.objects.filter(contrat=contrat).values_list("code", "intitule")),
        "enveloppes": enveloppes(contrat, volets, annees),
        "part_etat": tableau.financeur(TypeFinanceur.ETAT),
        "parite": parite,
        "controles": parite_violations(actives) + plafond_violations(contrat),
    }


def _apercu(avenant: Avenant, modifications: list, lire: Callable[[], dict]) -> tuple[dict | None, list[str]]:
    """Applies an unsigned avenant's changes exactly as its signature would (``avenant_sign``'s appliers,
    each keeping the value before in ``modification.avant``), reads the result with ``lire``, then rolls
    everything back: nothing is written. Returns what ``lire`` read, or the reasons the changes cannot
    be applied as they stand (and None)."""
    lu: dict = {}
    try:
        with transaction.atomic():
            for modification in modifications:
                modification.avant = hooks.applier(modification.nature)(modification, by=None)
            lu["data"] = lire()
            raise _Annulation
    except _Annulation:
        return lu["data"], []
    except ValidationError as error:
        messages = error.messages
    except (LookupError, ValueError, TypeError, ArithmeticError):
        # A change stored in a shape the appliers do not read (written outside the services).
        messages = ["Une modification de l'avenant est incomplète ou mal formée : elle ne peut pas être appliquée."]
    for modification in modifications:
        modification.avant = None
    return None, messages


def avenant_data(avenant) -> dict:
    """The avenant's changes as a table (actions added, withdrawn, modified; planned amounts per year and funder
    before → after; ceilings before → after; targets; content), the parity after it, and the consolidated
    financial annex.

    A signed avenant reads the values kept at its signature (``ModificationAvenant.avant``) and the contract as
    it stands. An unsigned one is previewed: its changes are applied as signing would, read, and rolled back;
    its « before » values are the current ones."""
    avenant = Avenant.objects.select_related("contrat__collectivite").get(pk=avenant.pk)
    contrat = avenant.contrat
    modifications = list(avenant.modifications.order_by("pk"))
    for modification in modifications:
        modification.avenant = avenant
    touchees = {
        m.cible.get("fiche")
        for m in modifications
        if m.nature in (NatureModification.PREVU, NatureModification.FICHE, NatureModification.FICHE_AJOUT)
    }
    signe = avenant.statut == StatutAvenant.SIGNE
    erreurs: list[str] = []
    if signe:
        apres = _etat_apres(contrat, touchees)
    else:
        apres, erreurs = _apercu(avenant, modifications, lambda: _etat_apres(contrat, touchees))
        if apres is None:
            apres = _etat_apres(contrat, set())

    # Names of the organisations and indicators the changes point at (two queries).
    org_pks = set()
    for m in modifications:
        if m.nature == NatureModification.PREVU and isinstance(m.cible.get("financeur"), int):
            org_pks.add(m.cible["financeur"])
        if m.nature == NatureModification.ENGAGEMENT and isinstance(m.cible.get("organisation"), int):
            org_pks.add(m.cible["organisation"])
        if m.nature in (NatureModification.FICHE, NatureModification.FICHE_AJOUT):
            org_pks.update(
                v["porteur"] for v in (m.avant, m.apres) if isinstance(v, dict) and isinstance(v.get("porteur"), int)
            )
    organisations = dict(Organisation.objects.filter(pk__in=org_pks).values_list("pk", "nom"))
    indicateurs = dict(
        Indicateur.objects.filter(
            pk__in=[
                m.cible["indicateur"]
                for m in modifications
                if m.nature == NatureModification.CIBLE and isinstance(m.cible.get("indicateur"), int)
            ]
        ).values_list("pk", "nom")
    )
    collectivite = contrat.collectivite.nom
    intitules = apres["intitules"]

    ajoutees, modifiees, montants, plafonds, cibles, autres = [], [], [], [], [], []
    deltas: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for m in modifications:
        code = m.cible.get("fiche", "")
        if m.nature == NatureModification.FICHE_AJOUT:
            valeurs = m.apres or {}
            axe = _fiche_valeur("axe", valeurs.get("axe"), organisations)
            porteur = _fiche_valeur("porteur", valeurs.get("porteur"), organisations)
            ajoutees.append(
                Changement(
                    f"{code} – {valeurs.get('intitule', intitules.get(code, ''))}",
                    "—",
                    "Ajoutée",
                    f"{axe}, porteur : {porteur}",
                )
            )
        elif m.nature == NatureModification.FICHE:
            avant = m.avant if isinstance(m.avant, dict) else {}
            for nom, valeur in (m.apres or {}).items():
                modifiees.append(
                    Changement(
                        f"{code} – {intitules.get(code, '')}",
                        _fiche_valeur(nom, avant.get(nom), organisations) if m.avant is not None else "—",
                        _fiche_valeur(nom, valeur, organisations),
                        _libelle_champ(nom),
                    )
                )
        elif m.nature == NatureModification.PREVU:
            cible = m.cible
            type_financeur = cible.get("type_financeur") or cible.get("financeur")
            nouveau, ancien = _decimal(m.apres) or ZERO, _decimal(m.avant)
            montants.append(
                ChangementMontant(
                    f"{code} – {intitules.get(code, '')}",
                    cible.get("annee"),
                    libelle_financeur(type_financeur, organisations.get(cible.get("financeur")), collectivite),
                    ancien,
                    nouveau,
                )
            )
            deltas[code] += nouveau - (ancien or ZERO)
        elif m.nature == NatureModification.PLAFOND:
            volet = m.cible.get("volet")
            plafonds.append(
                ChangementMontant(
                    f"Volet {volet}" if volet else "Enveloppe du contrat",
                    m.cible.get("annee"),
                    "État",
                    _decimal(m.avant),
                    _decimal(m.apres) or ZERO,
                )
            )
        elif m.nature == NatureModification.CIBLE:
            avant = (m.avant or {}).get("cible") if isinstance(m.avant, dict) else None
            cibles.append(
                Changement(
                    f"{code} – {indicateurs.get(m.cible.get('indicateur'), '')}",
                    _fiche_valeur("cible", _decimal(avant), organisations) if avant is not None else "—",
                    _fiche_valeur("cible", _decimal((m.apres or {}).get("cible")), organisations),
                    str(m.cible.get("annee", "")),
                )
            )
        elif m.nature == NatureModification.CONTENU:
            champ = m.cible.get("champ", "")
            apres_champ = m.apres.get(champ) if isinstance(m.apres, dict) else m.apres
            autres.append(
                Changement(
                    _LIBELLES_CONTENU.get(champ, m.libelle), _resume(m.avant, champ), _resume(apres_champ, champ)
                )
            )
        else:  # a partner's commitment for a year
            organisation = organisations.get(m.cible.get("organisation"), "")
            autres.append(Changement(f"{organisation}, {m.cible.get('annee', '')}", _resume(m.avant), _resume(m.apres)))

    # An action is withdrawn when the avenant brings all its planned money to zero.
    retirees = []
    for code, delta in sorted(deltas.items()):
        fiche = next((f for f in apres["fiches"] if f.code == code), None)
        total_apres = apres["tableau"].par_fiche[fiche.pk].total.total if fiche else ZERO
        total_avant = total_apres - delta
        if total_apres == ZERO and total_avant > ZERO:
            retirees.append(Changement(f"{code} – {intitules.get(code, '')}", _euros(total_avant), _euros(ZERO)))

    return {
        "avenant": avenant,
        "contrat": apres["contrat"],
        "annees": apres["annees"],
        "signe": signe,
        "erreurs": erreurs,
        "ajoutees": ajoutees,
        "retirees": retirees,
        "modifiees": modifiees,
        "montants": montants,
        "plafonds": plafonds,
        "cibles": cibles,
        "autres": autres,
        "parite": apres["parite"],
        "controles": apres["controles"],
        "enveloppes": apres["enveloppes"],
        "part_etat": apres["part_etat"],
        "tableau": apres["tableau"],
        **signataires_de(contrat),
    }


def _euros(value) -> str:
    from pacte.money import format_euros

    return format_euros(value)


_LIBELLES_CONTENU = {
    "preambule": "Préambule",
    "diagnostic": "Diagnostic",
    "objectifs": "Objectifs",
    "libelles_axes": "Intitulés locaux des axes",
    "montant": "Apport financier",
    "etp": "Personnel (ETP)",
    "en_nature": "En nature",
}


def _resume(valeur, cle: str = "") -> str:
    """A content or commitment change's value in a few words (texts cut, lists joined, amounts in euros)."""
    if valeur is None or valeur == "":
        return "—"
    if isinstance(valeur, list):
        return " ; ".join(str(v) for v in valeur) or "—"
    if isinstance(valeur, dict):
        parts = []
        for k, v in valeur.items():
            libelle = f"Axe {k}" if cle == "libelles_axes" else _LIBELLES_CONTENU.get(k, k)
            parts.append(f"{libelle} : {_resume(v, k)}")
        return " ; ".join(parts) or "—"
    if cle == "montant":
        return _euros(_decimal(valeur))
    return Truncator(strip_tags(str(valeur))).chars(300)
