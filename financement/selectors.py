"""Reads of the money that are more than a filter: totals the dashboards and exports show.

Sums are done by the database, in one query whatever the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from financement.enums import TypeFinanceur
from pacte.models import natural_sort_key
from pacte.money import ZERO

CHAMPS = ("prevu", "engage", "realise")

# Where an action sits in the Pacte's reference list: kept apart in every total, so that a "total by
# measure" never silently drops the actions that serve an objective without a national measure.
MESURE_NATIONALE = "mesure nationale"
OBJECTIF_SEUL = "objectif seul"
MESURE_LOCALE = "mesure locale"
NON_RATTACHEE = "non rattachée"
RATTACHEMENTS = (MESURE_NATIONALE, OBJECTIF_SEUL, MESURE_LOCALE, NON_RATTACHEE)


@dataclass(frozen=True)
class TotalRattachement:
    """The State's and every funder's amounts of the actions filed at one place of the reference list."""

    axe: int
    axe_libelle: str
    objectif: str | None  # code of the objective (the fiche's, else its national measure's)
    objectif_intitule: str | None
    mesure: str | None  # code of the national measure
    mesure_intitule: str | None
    mesure_locale: str  # label of the local measure ("" when there is none)
    rattachement: str  # one of RATTACHEMENTS
    etat: Decimal
    total: Decimal


def rattachement(*, mesure: str | None, mesure_locale: str, objectif: str | None) -> str:
    """A national measure, else a local measure, else an objective only, else nothing."""
    if mesure:
        return MESURE_NATIONALE
    if mesure_locale:
        return MESURE_LOCALE
    if objectif:
        return OBJECTIF_SEUL
    return NON_RATTACHEE


def _ordre(total: TotalRattachement) -> tuple:
    # Per axis and objective (none last): national measures in natural order, then the objective alone,
    # then local measures by label; actions filed nowhere close the axis.
    return (
        total.axe,
        total.objectif is None,
        natural_sort_key(total.objectif or ""),
        RATTACHEMENTS.index(total.rattachement),
        natural_sort_key(total.mesure or ""),
        total.mesure_locale.casefold(),
    )


def totaux_par_rattachement(lignes, *, champ: str = "prevu") -> list[TotalRattachement]:
    """Sums ``champ`` (``prevu``, ``engage`` or ``realise``) of the funding lines ``lignes`` (a QuerySet of
    ``LigneFinancement``, already scoped and filtered by the caller: perimeter, years, statuses) per axis,
    objective, national measure and local measure, in one query.

    The objective of an action is its own, else its national measure's (rows written outside the
    services may lack it). Each total says whether it is a national measure's, an objective's only, a
    local measure's or that of actions filed nowhere (``rattachement``).
    """
    if champ not in CHAMPS:
        raise ValueError(f"Montant inconnu : « {champ} » (prevu, engage ou realise).")
    money = DecimalField(max_digits=16, decimal_places=2)

    def somme(condition=None):
        return Coalesce(Sum(champ, filter=condition), Value(ZERO), output_field=money)

    rows = (
        lignes.annotate(
            _objectif=Coalesce(F("fiche__objectif__code"), F("fiche__mesure__objectif__code")),
            _objectif_intitule=Coalesce(F("fiche__objectif__intitule"), F("fiche__mesure__objectif__intitule")),
        )
        .values(
            "fiche__axe__numero",
            "fiche__axe__intitule_court",
            "_objectif",
            "_objectif_intitule",
            "fiche__mesure__code",
            "fiche__mesure__intitule",
            "fiche__mesure_locale",
        )
        .annotate(etat=somme(Q(type_financeur=TypeFinanceur.ETAT)), total=somme())
        .order_by()
    )
    totaux = [
        TotalRattachement(
            axe=row["fiche__axe__numero"],
            axe_libelle=row["fiche__axe__intitule_court"],
            objectif=row["_objectif"],
            objectif_intitule=row["_objectif_intitule"],
            mesure=row["fiche__mesure__code"],
            mesure_intitule=row["fiche__mesure__intitule"],
            mesure_locale=row["fiche__mesure_locale"] or "",
            rattachement=rattachement(
                mesure=row["fiche__mesure__code"],
                mesure_locale=row["fiche__mesure_locale"] or "",
                objectif=row["_objectif"],
            ),
            etat=row["etat"],
            total=row["total"],
        )
        for row in rows
    ]
    return sorted(totaux, key=_ordre)


# --- An avenant read before it is signed: the value each change replaces, parity and ceilings after ----


@dataclass(frozen=True)
class PariteApres:
    """One action and year that the avenant changes: both parties' planned amounts before and after it,
    every funder's total after, and the parity messages after (empty: the rule holds)."""

    fiche: str
    intitule: str
    annee: int
    etat_avant: Decimal
    collectivite_avant: Decimal
    etat: Decimal
    collectivite: Decimal
    total: Decimal
    messages: tuple[str, ...]


@dataclass(frozen=True)
class PlafondApres:
    """The State's planned shares of one year (and one volet when ``libelle`` names it) against its
    ceiling, before and after the avenant; ``messages`` after (empty: within the ceiling)."""

    annee: int
    libelle: str  # "" (the contract), ", volet 2", ", hors volets"
    etat_avant: Decimal
    plafond_avant: Decimal | None
    etat: Decimal
    plafond: Decimal | None
    messages: tuple[str, ...]


@dataclass
class AvenantLu:
    """What the avenant page shows (``avenant_lecture``)."""

    modifications: list  # ModificationAvenant, in the order the signature applies them
    #: modification pk → the value it replaces: recorded at signature once applied, else read now, in the
    #: shape its applier records (``None``: nothing before, e.g. a new line or a new fiche)
    avant: dict[int, object]
    #: modification pk → why it could not be applied to the contract as it is now
    inapplicables: dict[int, str]
    #: names the changes refer to by key: organisation pk → name, indicator pk → "A1-01 – name"
    organisations: dict[int, str]
    indicateurs: dict[int, str]
    #: the money after the avenant (open avenants only: a signed one is in the contract already)
    apercu: bool = False
    parite: list[PariteApres] = field(default_factory=list)
    plafonds: list[PlafondApres] = field(default_factory=list)
    #: every parity and ceiling breach of the contract after the avenant, as signing it would list them
    messages: list[str] = field(default_factory=list)


def _plafond_groupes(etat: dict[tuple[int, int | None], Decimal], plafonds: dict[tuple[int, int | None], Decimal]):
    """The groups ``financement.regles.plafond_violations`` checks, from in-memory sums: ``etat`` is the
    State's planned amount per (year, volet number or None), ``plafonds`` the ceiling per (year, volet
    number or None). Yields (year, group, label, State amount, ceiling) in the order of its messages; the group
    is ``None`` for the contract, 0 for the actions outside any volet, the volet's number for a volet."""
    from collections import defaultdict

    par_annee: dict[int, Decimal] = defaultdict(lambda: ZERO)
    sans_volet: dict[int, Decimal] = defaultdict(lambda: ZERO)
    par_volet: dict[tuple[int, int], Decimal] = {}
    for (annee, volet), montant in etat.items():
        par_annee[annee] += montant
        if volet is None:
            sans_volet[annee] += montant
        else:
            par_volet[(annee, volet)] = montant
    plafonds_contrat = {a: m for (a, v), m in plafonds.items() if v is None}
    plafonds_volet = {(a, v): m for (a, v), m in plafonds.items() if v is not None}
    for annee in sorted(set(par_annee) | set(plafonds_contrat)):
        volets_plafonnes = {v for (a, v) in plafonds_volet if a == annee}
        if annee in plafonds_contrat or not volets_plafonnes:
            yield annee, None, "", par_annee[annee], plafonds_contrat.get(annee)
        else:
            yield annee, 0, ", hors volets", sans_volet[annee], None
        if volets_plafonnes:
            for (a, numero), montant in sorted(par_volet.items()):
                if a == annee:
                    plafond = plafonds_volet.get((annee, numero), plafonds_contrat.get(annee))
                    yield annee, numero, f", volet {numero}", montant, plafond


class _Etat:
    """The contract's money and active fiches, as the signature's checks read them, in memory."""

    def __init__(self, lignes: dict, plafonds: dict, fiches: dict):
        self.lignes = dict(lignes)  # (code, year, type de financeur, financeur pk) → prevu
        self.plafonds = dict(plafonds)  # (year, volet number or None) → amount
        self.fiches = {code: dict(f) for code, f in fiches.items()}  # code → statut, volet, intitule

    def copie(self) -> _Etat:
        return _Etat(self.lignes, self.plafonds, self.fiches)

    def actives(self) -> set[str]:
        from actions.enums import STATUTS_ACTIFS

        return {code for code, f in self.fiches.items() if f["statut"] in STATUTS_ACTIFS}

    def parts(self) -> dict[tuple[str, int], dict[str, Decimal]]:
        """Per (fiche, year) of an active fiche with a line: the State's, the collectivité's and every funder's."""
        actives = self.actives()
        sums: dict[tuple[str, int], dict[str, Decimal]] = {}
        for (code, annee, type_financeur, _), prevu in self.lignes.items():
            if code not in actives:
                continue
            row = sums.setdefault((code, annee), {"etat": ZERO, "collectivite": ZERO, "tous": ZERO})
            row["tous"] += prevu
            if type_financeur in (TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE):
                row[type_financeur] += prevu
        return sums

    def etat_par_annee_et_volet(self) -> dict[tuple[int, int | None], Decimal]:
        actives = self.actives()
        sums: dict[tuple[int, int | None], Decimal] = {}
        for (code, annee, type_financeur, _), prevu in self.lignes.items():
            if code in actives and type_financeur == TypeFinanceur.ETAT:
                key = (annee, self.fiches[code]["volet"])
                sums[key] = sums.get(key, ZERO) + prevu
        return sums


def avenant_lecture(avenant) -> AvenantLu:
    """Reads an avenant for its page, in a number of queries that does not grow with its changes.

    For each change, the value it replaces (recorded when applied; read now while the avenant is open).
    For an open avenant, the money after it, computed in memory from the contract's current lines and
    ceilings with the changes laid over them — nothing is written — and judged by the rule functions the
    signature runs (``financement.regles.parite_messages``, ``plafond_messages``, grouped as
    ``plafond_violations`` groups them): ``messages`` lists what ``parite_et_plafonds`` would answer after
    the signature, in its order. Fiche content rules (``fiches_signables``) are not previewed.
    """
    from actions.checks import to_json
    from actions.enums import StatutFiche
    from actions.models import FicheAction, Indicateur, ValeurIndicateur
    from contrats.enums import STATUTS_AVENANT_OUVERTS, NatureModification
    from contrats.models import EngagementPartenaire, LibelleAxe, ObjectifContrat
    from financement.models import LigneFinancement, Plafond
    from financement.regles import parite_messages, plafond_messages, regle_pour, regles_par_type

    contrat = avenant.contrat
    modifications = list(avenant.modifications.order_by("pk"))
    natures = {m.nature for m in modifications}
    lu = AvenantLu(modifications=modifications, avant={}, inapplicables={}, organisations={}, indicateurs={})
    ouvert = avenant.statut in STATUTS_AVENANT_OUVERTS
    for m in modifications:
        if m.applique_le is not None:
            lu.avant[m.pk] = m.avant

    fiches = {}
    if ouvert or natures & {NatureModification.FICHE, NatureModification.FICHE_AJOUT}:
        fiches = {
            f.code: f
            for f in FicheAction.objects.filter(contrat=contrat).select_related(
                "axe", "mesure", "objectif", "porteur", "volet"
            )
        }
    avant = _Etat(
        lignes={
            (code, annee, type_financeur, financeur): prevu
            for code, annee, type_financeur, financeur, prevu in LigneFinancement.objects.filter(
                fiche__contrat=contrat
            ).values_list("fiche__code", "annee", "type_financeur", "financeur_id", "prevu")
        }
        if ouvert or NatureModification.PREVU in natures
        else {},
        plafonds={
            (annee, volet): montant
            for annee, volet, montant in Plafond.objects.filter(contrat=contrat).values_list(
                "annee", "volet__numero", "montant"
            )
        }
        if ouvert or NatureModification.PLAFOND in natures
        else {},
        fiches={
            code: {"statut": f.statut, "volet": f.volet.numero if f.volet_id else None, "intitule": f.intitule}
            for code, f in fiches.items()
        },
    )
    apres = avant.copie()
    touchees: set[tuple[str, int | None]] = set()  # (fiche, year); year None: every year of the fiche

    valeurs = engagements = None
    organisations: set[int] = set()
    for m in modifications:
        cible = m.cible if isinstance(m.cible, dict) else {}
        try:
            if m.nature == NatureModification.PREVU:
                code, annee = cible["fiche"], int(cible["annee"])
                key = (code, annee, cible["type_financeur"], cible["financeur"])
                if cible["financeur"]:
                    organisations.add(int(cible["financeur"]))
                lu.avant.setdefault(m.pk, None if avant.lignes.get(key) is None else str(avant.lignes[key]))
                if code not in apres.fiches:
                    lu.inapplicables[m.pk] = f"La fiche {code} n'existe pas dans le contrat {contrat.reference}."
                    continue
                apres.lignes[key] = Decimal(m.apres)
                touchees.add((code, annee))
            elif m.nature == NatureModification.PLAFOND:
                key = (int(cible["annee"]), cible["volet"])
                lu.avant.setdefault(m.pk, None if avant.plafonds.get(key) is None else str(avant.plafonds[key]))
                apres.plafonds[key] = Decimal(m.apres)
            elif m.nature == NatureModification.FICHE:
                code = cible["fiche"]
                fiche = fiches.get(code)
                if fiche is None:
                    lu.inapplicables[m.pk] = f"La fiche {code} n'existe pas dans le contrat {contrat.reference}."
                    continue
                lu.avant.setdefault(
                    m.pk,
                    {
                        name: fiche.statut if name == "statut" else to_json(name, getattr(fiche, name))
                        for name in m.apres
                    },
                )
                for name in ("statut", "volet", "intitule"):
                    if name in m.apres:
                        apres.fiches[code][name] = m.apres[name]
                if {"statut", "volet"} & set(m.apres):
                    touchees.add((code, None))
            elif m.nature == NatureModification.FICHE_AJOUT:
                code = cible["fiche"]
                lu.avant.setdefault(m.pk, None)
                apres.fiches[code] = {
                    "statut": StatutFiche.VALIDEE,
                    "volet": m.apres.get("volet"),
                    "intitule": m.apres.get("intitule", ""),
                }
            elif m.nature == NatureModification.CIBLE:
                if valeurs is None:
                    valeurs = {
                        (i, a): c
                        for i, a, c in ValeurIndicateur.objects.filter(indicateur__fiche__contrat=contrat).values_list(
                            "indicateur_id", "annee", "cible"
                        )
                    }
                    lu.indicateurs = {
                        pk: f"{code} – {nom}"
                        for pk, code, nom in Indicateur.objects.filter(fiche__contrat=contrat).values_list(
                            "pk", "fiche__code", "nom"
                        )
                    }
                valeur = valeurs.get((int(cible["indicateur"]), int(cible["annee"])))
                lu.avant.setdefault(m.pk, {"cible": None if valeur is None else str(valeur)})
            elif m.nature == NatureModification.ENGAGEMENT:
                organisations.add(int(cible["organisation"]))
                if engagements is None:
                    engagements = {
                        (e.organisation_id, e.annee): {
                            "montant": str(e.montant),
                            "etp": None if e.etp is None else str(e.etp),
                            "en_nature": e.en_nature,
                        }
                        for e in EngagementPartenaire.objects.filter(contrat=contrat)
                    }
                lu.avant.setdefault(m.pk, engagements.get((int(cible["organisation"]), int(cible["annee"]))))
            elif m.nature == NatureModification.CONTENU and m.pk not in lu.avant:
                name = cible["champ"]
                if name == "objectifs":
                    lu.avant[m.pk] = list(
                        ObjectifContrat.objects.filter(contrat=contrat)
                        .order_by("ordre", "pk")
                        .values_list("libelle", flat=True)
                    )
                elif name == "libelles_axes":
                    libelles = dict(LibelleAxe.objects.filter(contrat=contrat).values_list("axe__numero", "libelle"))
                    lu.avant[m.pk] = {key: libelles.get(int(key)) for key in m.apres.get(name, {})}
                else:
                    lu.avant[m.pk] = getattr(contrat, name)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError):
            lu.inapplicables[m.pk] = "Cette modification est illisible : elle ne pourra pas être appliquée."
        if m.nature in (NatureModification.FICHE, NatureModification.FICHE_AJOUT):
            for valeur in (m.apres if isinstance(m.apres, dict) else {}, lu.avant.get(m.pk) or {}):
                if isinstance(valeur, dict) and isinstance(valeur.get("porteur"), int):
                    organisations.add(valeur["porteur"])
    if organisations:
        from pacte.models import Organisation

        lu.organisations = dict(Organisation.objects.filter(pk__in=organisations).values_list("pk", "nom"))
    if not ouvert:
        return lu

    # The money after the avenant, judged as the signature judges it.
    lu.apercu = True
    regles = regles_par_type()
    partie = contrat.collectivite.partie
    parts_avant, parts_apres, actives_avant = avant.parts(), apres.parts(), avant.actives()
    for code, annee in sorted(parts_apres, key=lambda k: (natural_sort_key(k[0]), k[1])):
        row = parts_apres[(code, annee)]
        regle = regle_pour(regles, contrat.type_contrat, apres.fiches[code]["volet"])
        messages = tuple(
            f"Fiche {code}, {msg}"
            for msg in parite_messages(
                annee=annee,
                etat=row["etat"],
                collectivite=row["collectivite"],
                total=row["tous"],
                regle=regle,
                partie=partie,
            )
        )
        lu.messages += messages
        if (code, annee) in touchees or (code, None) in touchees or code not in actives_avant:
            before = parts_avant.get((code, annee), {})
            lu.parite.append(
                PariteApres(
                    fiche=code,
                    intitule=apres.fiches[code]["intitule"],
                    annee=annee,
                    etat_avant=before.get("etat", ZERO),
                    collectivite_avant=before.get("collectivite", ZERO),
                    etat=row["etat"],
                    collectivite=row["collectivite"],
                    total=row["tous"],
                    messages=messages,
                )
            )
    # Fiches withdrawn by the avenant: their years leave the table of parity, shown at zero after.
    for code, annee in sorted(set(parts_avant) - set(parts_apres), key=lambda k: (natural_sort_key(k[0]), k[1])):
        before = parts_avant[(code, annee)]
        lu.parite.append(
            PariteApres(
                fiche=code,
                intitule=apres.fiches[code]["intitule"],
                annee=annee,
                etat_avant=before["etat"],
                collectivite_avant=before["collectivite"],
                etat=ZERO,
                collectivite=ZERO,
                total=ZERO,
                messages=(),
            )
        )
    avant_par_groupe = {
        (a, g): (lib, e, p) for a, g, lib, e, p in _plafond_groupes(avant.etat_par_annee_et_volet(), avant.plafonds)
    }
    rows = {}
    for annee, groupe, libelle, etat, plafond in _plafond_groupes(apres.etat_par_annee_et_volet(), apres.plafonds):
        messages = tuple(plafond_messages(annee=annee, etat=etat, plafond=plafond, libelle=libelle))
        lu.messages += messages
        _, etat_avant, plafond_avant = avant_par_groupe.get((annee, groupe), (libelle, ZERO, None))
        rows[(annee, groupe)] = PlafondApres(annee, libelle, etat_avant, plafond_avant, etat, plafond, messages)
    # A group the avenant empties (its fiches withdrawn or moved) is shown at zero after, its ceiling as it stays.
    for (annee, groupe), (libelle, etat_avant, plafond_avant) in avant_par_groupe.items():
        if (annee, groupe) not in rows:
            plafond = apres.plafonds.get((annee, groupe or None)) if groupe != 0 else None
            if groupe and plafond is None:
                plafond = apres.plafonds.get((annee, None))
            rows[(annee, groupe)] = PlafondApres(annee, libelle, etat_avant, plafond_avant, ZERO, plafond, ())
    lu.plafonds = [row for (annee, groupe), row in sorted(rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0))]
    return lu


# --- A contract's money page: axis × year × funder, ceilings and payments, cofinancing, reliquats ----------


@dataclass
class Montants:
    """Planned, committed and spent amounts (planned: active fiches; committed and spent: every fiche)."""

    prevu: Decimal = ZERO
    engage: Decimal = ZERO
    realise: Decimal = ZERO

    def __iadd__(self, other: Montants) -> Montants:
        self.prevu += other.prevu
        self.engage += other.engage
        self.realise += other.realise
        return self


@dataclass
class FinanceurAnnee:
    """One funder (``TypeFinanceur``) of one axis for one year."""

    type_financeur: str
    libelle: str
    montants: Montants


@dataclass
class AxeAnnee:
    """One axis of the contract for one year: its funders and their total."""

    numero: int
    libelle: str
    financeurs: list[FinanceurAnnee] = field(default_factory=list)
    total: Montants = field(default_factory=Montants)


@dataclass
class VoletAnnee:
    """A volet with its own ceiling (CDIE): the State's planned shares of its active fiches against it."""

    numero: int
    plafond: Decimal | None
    etat_prevu: Decimal


@dataclass
class AnneeArgent:
    """One year of the contract: its money by axis and funder, the State's ceiling and its use, the payments,
    the reliquat (State paid − State spent, ``reliquat_compute``'s definition) and the decision recorded on it."""

    annee: int
    axes: list[AxeAnnee] = field(default_factory=list)
    total: Montants = field(default_factory=Montants)
    etat: Montants = field(default_factory=Montants)
    plafond: Decimal | None = None
    volets: list[VoletAnnee] = field(default_factory=list)
    verse: Decimal = ZERO  # paid (dated)
    demande: Decimal = ZERO  # requested, not yet paid
    a_venir: Decimal = ZERO  # planned
    deduction: Decimal = ZERO  # the reliquat of the year before, decided as a deduction
    statut_rapport: str | None = None
    reliquat_enregistre: object = None  # the Reliquat row, if one was computed
    passee: bool = False  # the year is over: its reliquat is to be decided

    @property
    def engage_paiements(self) -> Decimal:
        """Requested or paid: what counts against the ceiling."""
        return self.verse + self.demande

    @property
    def versable(self) -> Decimal | None:
        """What the State may request or pay for the year: its ceiling less the deduction."""
        return None if self.plafond is None else self.plafond - self.deduction

    @property
    def reste_a_verser(self) -> Decimal | None:
        return None if self.versable is None else self.versable - self.engage_paiements

    @property
    def ecart_prevu(self) -> Decimal | None:
        """The State's planned shares beyond the ceiling (negative: room left)."""
        return None if self.plafond is None else self.etat.prevu - self.plafond

    @property
    def reliquat(self) -> Decimal:
        return max(ZERO, self.verse - self.etat.realise)

    @property
    def decision(self) -> str:
        """The decision recorded on this very amount ("" when none, or when the amount changed since)."""
        r = self.reliquat_enregistre
        return r.decision if r is not None and r.decision and r.montant == self.reliquat else ""

    @property
    def decision_perimee(self) -> bool:
        """A decision was taken on another amount: the payments or the spent amounts changed since."""
        r = self.reliquat_enregistre
        return r is not None and bool(r.decision) and r.montant != self.reliquat


#: Groups of warnings on the money page, in the order shown.
ALERTE_PLAFOND, ALERTE_VERSEMENTS, ALERTE_RELIQUAT = "plafond", "versements", "reliquat"
ALERTE_PARITE_PREVU, ALERTE_PARITE_REALISE = "parite_prevu", "parite_realise"


@dataclass(frozen=True)
class Alerte:
    """A warning of the money page: its message (where and by how much) and what it is about, so that the page
    can link it to the place to fix it: a fiche (``fiche``), an axis (``axe``), a year (``annee``)."""

    groupe: str
    message: str
    annee: int | None = None
    fiche: str | None = None
    axe: int | None = None


@dataclass
class ArgentContrat:
    """What the money page of a contract shows (``argent_contrat``)."""

    annees: list[AnneeArgent]
    total: Montants
    alertes: list[Alerte]
    versements: list
    regle_generale: object  # financement.regles.Regle of the contract type (volets may have their own)


def argent_contrat(contrat, *, aujourd_hui=None) -> ArgentContrat:
    """A contract's money for its page, in a number of queries that does not grow with its fiches and payments.

    Sums are done by the database: funding lines grouped by axis, volet, year and funder (planned on the active
    fiches, as parity and ceilings count them; committed and spent on every fiche, as the reliquat counts
    them), then by fiche and year for the cofinancing rule; payments grouped by year and status. The decisions
    are the rule functions of the signature and of the payments (``financement.regles.parite_messages``,
    ``plafonds_messages``, ``financement.services.versement_plafond_errors``): checked per action and per axis
    (and volet, whose rule may differ), on the planned and on the spent amounts.
    """
    from django.utils import timezone

    from actions.enums import STATUTS_ACTIFS
    from financement.enums import DecisionReliquat, StatutVersement
    from financement.models import PAYE, LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
    from financement.regles import PREVU, REALISE, parite_messages, plafonds_messages, regle_pour, regles_par_type
    from financement.services import versement_plafond_errors
    from pacte.money import format_euros, to_cents

    aujourd_hui = aujourd_hui or timezone.localdate()
    money = DecimalField(max_digits=16, decimal_places=2)
    actif = Q(fiche__statut__in=STATUTS_ACTIFS)

    def somme(champ, condition=None):
        return Coalesce(Sum(champ, filter=condition), Value(ZERO), output_field=money)

    lignes = LigneFinancement.objects.filter(fiche__contrat=contrat).order_by()
    par_axe = lignes.values(
        "fiche__axe__numero",
        "fiche__axe__intitule_court",
        "fiche__volet_id",
        "fiche__volet__numero",
        "annee",
        "type_financeur",
    ).annotate(prevu=somme("prevu", actif), engage=somme("engage"), realise=somme("realise"))
    etat, coll = Q(type_financeur=TypeFinanceur.ETAT), Q(type_financeur=TypeFinanceur.COLLECTIVITE)
    par_fiche = lignes.values(
        "fiche__code", "fiche__code_tri", "fiche__statut", "fiche__axe__numero", "fiche__volet__numero", "annee"
    ).annotate(
        etat_prevu=somme("prevu", etat),
        coll_prevu=somme("prevu", coll),
        tous_prevu=somme("prevu"),
        etat_realise=somme("realise", etat),
        coll_realise=somme("realise", coll),
        tous_realise=somme("realise"),
    )
    paiements = (
        Versement.objects.filter(contrat=contrat)
        .order_by()
        .values("annee")
        .annotate(
            verse=somme("montant", PAYE),
            demande=somme("montant", Q(statut=StatutVersement.DEMANDE) & ~PAYE),
            a_venir=somme("montant", Q(statut=StatutVersement.PREVU) & ~PAYE),
        )
    )
    plafonds = list(
        Plafond.objects.filter(contrat=contrat).values_list("annee", "volet_id", "volet__numero", "montant")
    )
    reliquats = {r.annee: r for r in Reliquat.objects.filter(contrat=contrat).select_related("decide_par")}
    rapports = dict(RapportAnnuel.objects.filter(contrat=contrat).values_list("annee", "statut"))
    versements = list(Versement.objects.filter(contrat=contrat).select_related("beneficiaire").order_by("annee", "pk"))
    regles = regles_par_type()

    annees: dict[int, AnneeArgent] = {a: AnneeArgent(a) for a in contrat.annees}

    def annee_de(a: int) -> AnneeArgent:
        return annees.setdefault(a, AnneeArgent(a))

    # Axis × year × funder; the State's planned shares by (year, volet) for the ceilings.
    libelles = dict(TypeFinanceur.choices)
    etat_par_volet: dict[tuple[int, int | None, int | None], Decimal] = {}
    axes: dict[tuple[int, int], AxeAnnee] = {}
    for row in par_axe:
        m = Montants(to_cents(row["prevu"]), to_cents(row["engage"]), to_cents(row["realise"]))
        a = annee_de(row["annee"])
        axe = axes.get((row["annee"], row["fiche__axe__numero"]))
        if axe is None:
            axe = axes[(row["annee"], row["fiche__axe__numero"])] = AxeAnnee(
                row["fiche__axe__numero"], row["fiche__axe__intitule_court"]
            )
            a.axes.append(axe)
        financeur = next((f for f in axe.financeurs if f.type_financeur == row["type_financeur"]), None)
        if financeur is None:
            financeur = FinanceurAnnee(row["type_financeur"], libelles[row["type_financeur"]], Montants())
            axe.financeurs.append(financeur)
        financeur.montants += m
        axe.total += m
        a.total += m
        if row["type_financeur"] == TypeFinanceur.ETAT:
            a.etat += m
            key = (row["annee"], row["fiche__volet_id"], row["fiche__volet__numero"])
            etat_par_volet[key] = etat_par_volet.get(key, ZERO) + m.prevu
    ordre = list(TypeFinanceur.values)
    for a in annees.values():
        a.axes.sort(key=lambda x: x.numero)
        for axe in a.axes:
            axe.financeurs.sort(key=lambda f: ordre.index(f.type_financeur))

    # Ceilings and payments.
    for annee, volet_id, _numero, montant in plafonds:
        if volet_id is None:
            annee_de(annee).plafond = montant
    for annee, volet_id, numero, montant in sorted(plafonds, key=lambda p: (p[0], p[2] or 0)):
        if volet_id is not None:
            a = annee_de(annee)
            a.volets.append(VoletAnnee(numero, montant, etat_par_volet.get((annee, volet_id, numero), ZERO)))
    for a in annees.values():
        if a.plafond is None and a.volets:
            a.plafond = sum((v.plafond for v in a.volets), ZERO)
    for row in paiements:
        a = annee_de(row["annee"])
        a.verse, a.demande, a.a_venir = to_cents(row["verse"]), to_cents(row["demande"]), to_cents(row["a_venir"])
    for annee, reliquat in reliquats.items():
        a = annee_de(annee)
        a.reliquat_enregistre = reliquat
        if reliquat.decision == DecisionReliquat.DEDUCTION and annee + 1 in annees:
            annees[annee + 1].deduction = reliquat.montant
    for annee, statut in rapports.items():
        annee_de(annee).statut_rapport = statut
    for a in annees.values():
        a.passee = a.annee < aujourd_hui.year

    alertes: list[Alerte] = []
    # The State's planned shares against the ceilings: the signature's rule, as it groups volets.
    sommes = [(annee, volet_id, numero, montant) for (annee, volet_id, numero), montant in etat_par_volet.items()]
    for message in plafonds_messages(
        sorted(sommes, key=lambda s: (s[0], s[2] or 0)), [p[:2] + p[3:] for p in plafonds]
    ):
        alertes.append(Alerte(ALERTE_PLAFOND, message, annee=int(message[:4])))
    # Payments requested or made against what the State may pay.
    for a in sorted(annees.values(), key=lambda x: x.annee):
        for message in versement_plafond_errors(
            annee=a.annee,
            montant=ZERO,
            autres=a.engage_paiements,
            plafond=a.plafond,
            deduction=a.deduction,
            ce_versement=False,
        ):
            alertes.append(Alerte(ALERTE_VERSEMENTS, message.rstrip("."), annee=a.annee))
    # Reliquats of the years that are over, without a decision on their present amount.
    for a in sorted(annees.values(), key=lambda x: x.annee):
        if not a.passee or not a.reliquat or a.decision:
            continue
        if a.decision_perimee:
            message = (
                f"{a.annee} : le reliquat est passé de {format_euros(a.reliquat_enregistre.montant)} à "
                f"{format_euros(a.reliquat)} depuis la décision du {a.reliquat_enregistre.decide_le:%d/%m/%Y} : "
                "décidez de nouveau"
            )
        else:
            message = (
                f"{a.annee} : l'État a versé {format_euros(a.verse)} et la part de l'État réalisée est de "
                f"{format_euros(a.etat.realise)} : reliquat de {format_euros(a.reliquat)} sans décision "
                "(déduction de l'exercice suivant ou titre de reversement)"
            )
        alertes.append(Alerte(ALERTE_RELIQUAT, message, annee=a.annee))

    # The cofinancing rule per action and per axis (and volet), planned and spent.
    partie = contrat.collectivite.partie
    par_axe_parite: dict[tuple[str, int, int | None, int], dict[str, Decimal]] = {}
    rows = sorted(par_fiche, key=lambda r: (r["fiche__code_tri"], r["annee"]))
    for champ, groupe in ((PREVU, ALERTE_PARITE_PREVU), (REALISE, ALERTE_PARITE_REALISE)):
        for row in rows:
            if champ == PREVU and row["fiche__statut"] not in STATUTS_ACTIFS:
                continue
            regle = regle_pour(regles, contrat.type_contrat, row["fiche__volet__numero"])
            parts = {k: to_cents(row[f"{k}_{champ}"]) for k in ("etat", "coll", "tous")}
            for message in parite_messages(
                annee=row["annee"],
                etat=parts["etat"],
                collectivite=parts["coll"],
                total=parts["tous"],
                regle=regle,
                partie=partie,
                champ=champ,
            ):
                alertes.append(
                    Alerte(
                        groupe,
                        f"Fiche {row['fiche__code']}, {message}",
                        annee=row["annee"],
                        fiche=row["fiche__code"],
                        axe=row["fiche__axe__numero"],
                    )
                )
            key = (champ, row["fiche__axe__numero"], row["fiche__volet__numero"], row["annee"])
            cumul = par_axe_parite.setdefault(key, {"etat": ZERO, "coll": ZERO, "tous": ZERO})
            for k, v in parts.items():
                cumul[k] += v
    for (champ, axe, volet, annee), parts in sorted(
        par_axe_parite.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or 0, kv[0][3])
    ):
        groupe = ALERTE_PARITE_PREVU if champ == PREVU else ALERTE_PARITE_REALISE
        ou = f"Axe {axe}" + (f", volet {volet}" if volet else "")
        for message in parite_messages(
            annee=annee,
            etat=parts["etat"],
            collectivite=parts["coll"],
            total=parts["tous"],
            regle=regle_pour(regles, contrat.type_contrat, volet),
            partie=partie,
            champ=champ,
        ):
            alertes.append(Alerte(groupe, f"{ou}, {message}", annee=annee, axe=axe))

    total = Montants()
    for a in annees.values():
        total += a.total
    return ArgentContrat(
        annees=[annees[a] for a in sorted(annees)],
        total=total,
        alertes=alertes,
        versements=versements,
        regle_generale=regle_pour(regles, contrat.type_contrat, None),
    )


# --- Consolidated dashboards: the summary (financement.synthese) read over a territory -------------------------------
#
# ``consolidation`` takes a QuerySet of ``SyntheseFinancement`` already scoped by the caller (the user's perimeter,
# the territory, the contracts' statuses) and sums it in two grouped queries: the summary holds a few rows per
# contract and place in the reference list, so the cost does not follow the number of funding lines. The groups are
# made on identifiers only (grouping on labels costs ten times more): the labels come from the reference lists.
# Amounts are those of the active fiches (``STATUTS_ACTIFS``: an abandoned action is out of the consolidated
# figures, as in parity and ceilings); the fiches are counted by status, abandoned ones included.


@dataclass
class Sommes:
    """Planned, committed and spent amounts, summed by the database."""

    prevu: Decimal = ZERO
    engage: Decimal = ZERO
    realise: Decimal = ZERO

    def ajouter(self, prevu, engage, realise) -> None:
        self.prevu += prevu or ZERO
        self.engage += engage or ZERO
        self.realise += realise or ZERO

    @property
    def taux(self) -> Decimal | None:
        """The execution rate, spent / planned (``None`` when nothing is planned)."""
        return self.realise / self.prevu if self.prevu else None


_FINANCEURS = tuple(TypeFinanceur.values)


def _par_financeur() -> dict[str, Sommes]:
    return {financeur: Sommes() for financeur in _FINANCEURS}


@dataclass
class Regroupement:
    """The amounts of the actions filed at one place (an axis, or an objective / measure of an axis)."""

    axe: int
    axe_libelle: str
    objectif: str | None = None
    objectif_intitule: str | None = None
    mesure: str | None = None
    mesure_intitule: str | None = None
    mesure_locale: str = ""
    rattachement: str = ""
    financeurs: dict[str, Sommes] = field(default_factory=_par_financeur)
    total: Sommes = field(default_factory=Sommes)
    fiches: int = 0


@dataclass
class Subdivision:
    """One part of a territory (a contract, or what adds contracts up: a collectivité, a département, a région) and
    its consolidated figures (active fiches)."""

    cle: str | int
    etat: Decimal = ZERO  # the State's planned amount
    total: Sommes = field(default_factory=Sommes)
    fiches: int = 0
    ruptures_prevu: int = 0  # fiches whose planned amounts break parity in some year
    ruptures_realise: int = 0  # … whose spent amounts do
    contrats_ruptures_prevu: int = 0  # contracts with such a fiche
    contrats_ruptures_realise: int = 0

    def ajouter(self, autre: Subdivision) -> None:
        self.etat += autre.etat
        self.total.ajouter(autre.total.prevu, autre.total.engage, autre.total.realise)
        self.fiches += autre.fiches
        self.ruptures_prevu += autre.ruptures_prevu
        self.ruptures_realise += autre.ruptures_realise
        self.contrats_ruptures_prevu += autre.contrats_ruptures_prevu
        self.contrats_ruptures_realise += autre.contrats_ruptures_realise


@dataclass
class Consolidation:
    """What a dashboard shows of a territory, all from the summary (:func:`consolidation`)."""

    annee: int | None  # the year of the amounts by axis, place, funder, status and contract (None: every year)
    axes: list[Regroupement]
    rattachements: list[Regroupement]
    annees: dict[int, dict[str, Sommes]]  # every year (whatever ``annee``) → funder → amounts
    financeurs: dict[str, Sommes]
    total: Sommes
    fiches: int  # active fiches
    #: (status, its label, number of fiches, planned amount) for every status of a fiche, abandoned included
    statuts: list[tuple[str, str, int, Decimal]]
    #: per contract id: its figures, with its parity breaches (1 in ``contrats_ruptures_*`` when it has some)
    contrats: dict[int, Subdivision]
    ruptures: Subdivision  # the territory's parity breaches: fiches and contracts

    def annee_totale(self, annee: int) -> Sommes:
        total = Sommes()
        for sommes in self.annees.get(annee, {}).values():
            total.ajouter(sommes.prevu, sommes.engage, sommes.realise)
        return total


def _argent(annee: int | None) -> Q:
    """The money rows (of ``annee`` when one is given)."""
    return Q(annee=annee) if annee is not None else Q(annee__isnull=False)


def _libelles():
    """The reference lists' labels, by id: axes, objectives, measures (three small queries)."""
    from pacte.models import Axe, Mesure, Objectif

    return (
        {pk: (numero, libelle) for pk, numero, libelle in Axe.objects.values_list("pk", "numero", "intitule_court")},
        {pk: (code, libelle) for pk, code, libelle in Objectif.objects.values_list("pk", "code", "intitule")},
        {pk: (code, libelle) for pk, code, libelle in Mesure.objects.values_list("pk", "code", "intitule")},
    )


def consolidation(synthese, *, annee: int | None = None) -> Consolidation:
    """Sums a territory's summary rows ``synthese``: the active fiches' amounts by axis, objective and measure, year
    and funder (one grouped query); every contract's amounts and parity breaches, and the fiches by status (another,
    per contract and status); three small queries read the labels. ``annee`` narrows every amount but those by
    year."""
    from actions.enums import STATUTS_ACTIFS, StatutFiche

    # Tuples, not dicts, and sums kept in lists until the end: the national summary groups into hundreds of rows.
    rows = (
        synthese.filter(statut_fiche__in=STATUTS_ACTIFS)
        .values_list("axe_id", "objectif_id", "mesure_id", "mesure_locale", "annee", "type_financeur")
        .annotate(Sum("prevu"), Sum("engage"), Sum("realise"), Sum("nb_fiches"))
        .order_by()
    )
    places: dict[tuple, list] = {}  # (axe, objectif, mesure, locale) → [fiches, {funder: [planned, committed, spent]}]
    annees: dict[int, dict[str, Sommes]] = {}
    for axe_id, objectif_id, mesure_id, locale, an, financeur, prevu, engage, realise, n in rows:
        place = places.setdefault((axe_id, objectif_id, mesure_id, locale), [0, {}])
        if an is None:  # a count row: the fiches of the place
            place[0] += n
            continue
        annees.setdefault(an, _par_financeur())[financeur].ajouter(prevu, engage, realise)
        if annee is None or an == annee:
            cumul = place[1].setdefault(financeur, [ZERO, ZERO, ZERO])
            cumul[0] += prevu or ZERO
            cumul[1] += engage or ZERO
            cumul[2] += realise or ZERO

    axes_ref, objectifs_ref, mesures_ref = _libelles()
    axes: dict[int, Regroupement] = {}
    rattachements = []
    financeurs = _par_financeur()
    total = Sommes()
    fiches = 0
    for (axe_id, objectif_id, mesure_id, locale), (n, montants) in places.items():
        numero, axe_libelle = axes_ref[axe_id]
        objectif, objectif_intitule = objectifs_ref.get(objectif_id, (None, None))
        mesure, mesure_intitule = mesures_ref.get(mesure_id, (None, None))
        place = Regroupement(
            numero,
            axe_libelle,
            objectif,
            objectif_intitule,
            mesure,
            mesure_intitule,
            locale,
            rattachement(mesure=mesure, mesure_locale=locale, objectif=objectif),
            fiches=n,
        )
        rattachements.append(place)
        axe = axes.get(numero)
        if axe is None:
            axe = axes[numero] = Regroupement(numero, axe_libelle)
        axe.fiches += n
        fiches += n
        for financeur, sommes in montants.items():
            for cible in (place.financeurs[financeur], place.total, axe.financeurs[financeur], axe.total):
                cible.ajouter(*sommes)
            financeurs[financeur].ajouter(*sommes)
            total.ajouter(*sommes)

    contrats, par_statut = _par_contrat(synthese, annee=annee)
    ruptures = Subdivision("ruptures")
    for part in contrats.values():
        ruptures.ajouter(part)
    return Consolidation(
        annee=annee,
        axes=[axes[numero] for numero in sorted(axes)],
        rattachements=sorted(rattachements, key=_ordre),
        annees={a: annees[a] for a in sorted(annees)},
        financeurs=financeurs,
        total=total,
        fiches=fiches,
        statuts=[(statut, libelle, *par_statut.get(statut, (0, ZERO))) for statut, libelle in StatutFiche.choices],
        contrats=contrats,
        ruptures=ruptures,
    )


def _par_contrat(synthese, *, annee: int | None = None) -> tuple[dict[int, Subdivision], dict[str, tuple]]:
    """Sums a territory's summary rows ``synthese`` per contract and fiche status, in one grouped query: each
    contract's figures (its active fiches: a caller adds contracts up per collectivité, département or région), and
    the fiches and planned amount of each status (abandoned included)."""
    from actions.enums import STATUTS_ACTIFS

    argent = _argent(annee)
    comptes = Q(annee__isnull=True)
    rows = (
        synthese.values_list("contrat_id", "statut_fiche")
        .annotate(
            s_etat=Sum("prevu", filter=argent & Q(type_financeur=TypeFinanceur.ETAT)),
            s_prevu=Sum("prevu", filter=argent),
            s_engage=Sum("engage", filter=argent),
            s_realise=Sum("realise", filter=argent),
            s_fiches=Sum("nb_fiches", filter=comptes),
            s_ruptures_prevu=Sum("nb_ruptures_prevu", filter=comptes),
            s_ruptures_realise=Sum("nb_ruptures_realise", filter=comptes),
        )
        .order_by()
    )
    parts: dict[int, Subdivision] = {}
    statuts: dict[str, list] = {}
    for contrat_id, statut, etat, prevu, engage, realise, fiches, ruptures_prevu, ruptures_realise in rows:
        compte = statuts.setdefault(statut, [0, ZERO])
        compte[0] += fiches or 0
        compte[1] += prevu or ZERO
        if statut not in STATUTS_ACTIFS:
            continue
        part = parts.get(contrat_id)
        if part is None:
            part = parts[contrat_id] = Subdivision(contrat_id)
        part.etat += etat or ZERO
        part.total.ajouter(prevu, engage, realise)
        part.fiches += fiches or 0
        part.ruptures_prevu += ruptures_prevu or 0
        part.ruptures_realise += ruptures_realise or 0
    for part in parts.values():
        part.contrats_ruptures_prevu = int(part.ruptures_prevu > 0)
        part.contrats_ruptures_realise = int(part.ruptures_realise > 0)
    return parts, {statut: tuple(compte) for statut, compte in statuts.items()}


@dataclass
class RapportsExercice:
    """The annual reports of one year: how many in each status, and how many late."""

    annee: int
    statuts: dict[str, int]
    en_retard: int

    @property
    def total(self) -> int:
        return sum(self.statuts.values())


def rapports_par_exercice(rapports, *, aujourd_hui) -> list[RapportsExercice]:
    """The reports ``rapports`` (a scoped QuerySet of ``RapportAnnuel``) counted per year and status, with those
    still waiting for the collectivité after their due date (``RapportAnnuelQuerySet.avec_retard``). One query."""
    from financement.enums import StatutRapport

    exercices: dict[int, RapportsExercice] = {}
    rows = (
        rapports.avec_retard(aujourd_hui)
        .values("annee", "statut")
        .annotate(n=Count("pk"), retard=Count("pk", filter=Q(en_retard=True)))
        .order_by("annee")
    )
    for row in rows:
        exercice = exercices.setdefault(
            row["annee"], RapportsExercice(row["annee"], dict.fromkeys(StatutRapport.values, 0), 0)
        )
        exercice.statuts[row["statut"]] = row["n"]
        exercice.en_retard += row["retard"]
    return [exercices[a] for a in sorted(exercices)]
