"""What an import would change: names and codes looked up, each row matched by its natural key, each cell compared,
rights and the freeze checked; nothing is written."""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Q
from django.utils import timezone

from actions.enums import NatureAction, TypeIndicateur
from actions.forms import organisations_du_territoire
from actions.models import FicheAction, Indicateur
from actions.resources import COLONNES_FICHE, COLONNES_INDICATEUR
from actions.services import (
    code_errors,
)
from contrats.models import Contrat
from financement.enums import TypeFinanceur
from financement.importation.lecture import (
    FICHES,
    FINANCEMENTS,
    INDICATEURS,
    PLAT,
    TITRES,
    ColonneLue,
    Erreur,
    FeuilleLue,
    Position,
    Tableau,
    reconnaitre,
)
from financement.models import LigneFinancement
from financement.perms import can_edit_ligne
from financement.resources import (
    LIBELLES_CHAMPS,
    PREVU,
    EnteteFinanceur,
    cle_nom,
)
from pacte.enums import TypeOrganisation
from pacte.models import Axe, Mesure, Objectif, Organisation
from pacte.money import format_decimal
from pacte.perms import can_enter_execution, can_prepare
from pacte.resources import (
    CelluleInvalide,
    est_vide,
    lire_booleen,
    lire_date,
    lire_entier,
    lire_montant,
    lire_nombre,
    lire_texte,
    normaliser,
)
from pacte.validators import normalize_identifier

#: A row whose code (or first cell) says this is a total, not a fiche.
_TOTAUX = re.compile(r"^(sous )?(total|totaux)( .*)?$")

#: Columns of a fiche that the import may set (its status is not one).
CHAMPS_IMPORTES = tuple(c.cle for c in COLONNES_FICHE if not c.lecture_seule and c.cle not in ("contrat", "code"))
OBLIGATOIRES_FICHE = ("intitule", "axe", "nature", "porteur", "date_debut", "date_fin")
OBLIGATOIRES_INDICATEUR = ("type_indicateur", "unite")
LIBELLES = {c.cle: c.entete for c in (*COLONNES_FICHE, *COLONNES_INDICATEUR)}


# --- Looking up names and codes -----------------------------------------------------------------------------------


def _cle_code(texte: str) -> str:
    """The code at the start of a cell (``O1-1 – Familles précaires`` → ``O1-1``)."""
    return normalize_identifier(re.split(r"\s+[–—:-]\s+|\s*:\s*|\s+", texte.strip(), maxsplit=1)[0])


class Referentiel:
    """The names and codes a file may use, read once for the contract and the user: axes, objectives, measures,
    the contract's volets, the carriers and funders the user may choose (``organisations_du_territoire``), plus
    those the contract's fiches already have."""

    def __init__(self, contrat: Contrat, user):
        self.contrat = contrat
        self.axes = {axe.numero: axe for axe in Axe.objects.all()}
        self.axes_noms = {normaliser(a.intitule): a for a in self.axes.values()} | {
            normaliser(a.intitule_court): a for a in self.axes.values()
        }
        self.objectifs = {o.code: o for o in Objectif.objects.select_related("axe")}
        self.objectifs_noms = {normaliser(o.intitule): o for o in self.objectifs.values()}
        self.mesures = {m.code: m for m in Mesure.objects.select_related("axe", "objectif")}
        self.mesures_noms = {normaliser(m.intitule): m for m in self.mesures.values()}
        self.volets = {v.numero: v for v in contrat.volets.all()}
        deja = Q(fiches_portees__contrat=contrat) | Q(financements__fiche__contrat=contrat)
        organisations = set(organisations_du_territoire(user, contrat)) | set(
            Organisation.objects.filter(deja).distinct()
        )
        self.organisations: dict[str, list[Organisation]] = defaultdict(list)
        for organisation in sorted(organisations, key=lambda o: o.pk):
            self.organisations[cle_nom(organisation.nom)].append(organisation)
        self.collectivite = next(
            (
                o
                for o in sorted(organisations, key=lambda o: o.pk)
                if o.type == TypeOrganisation.COLLECTIVITE and o.collectivite_id == contrat.collectivite_id
            ),
            None,
        )

    def axe(self, valeur) -> Axe:
        texte = lire_texte(valeur)
        if match := re.fullmatch(r"(?:axe\s*)?([0-9]+)(?:\s*[–—:.\-]\s*.*|\s+.*)?", normaliser(texte)):
            axe = self.axes.get(int(match[1]))
        else:
            axe = self.axes_noms.get(normaliser(texte))
        if axe is None:
            raise CelluleInvalide(f"« {texte} » n'est pas un axe du Pacte : écrivez son numéro (1 à 4) ou « Axe 1 ».")
        return axe

    def _par_code(self, valeur, par_code: dict, par_nom: dict, quoi: str, exemple: str):
        texte = lire_texte(valeur)
        trouve = par_code.get(normalize_identifier(texte)) or par_code.get(_cle_code(texte))
        trouve = trouve or par_nom.get(normaliser(texte))
        if trouve is None:
            raise CelluleInvalide(f"« {texte} » n'est pas {quoi} : écrivez son code (ex. {exemple}) ou son intitulé.")
        return trouve

    def objectif(self, valeur) -> Objectif:
        return self._par_code(valeur, self.objectifs, self.objectifs_noms, "un objectif du Pacte", "O1-1")

    def mesure(self, valeur) -> Mesure:
        return self._par_code(valeur, self.mesures, self.mesures_noms, "une mesure nationale", "1.2")

    def volet(self, valeur):
        texte = lire_texte(valeur)
        match = re.fullmatch(r"(?:volet\s*)?([0-9]+)(?:\s.*)?", normaliser(texte))
        volet = self.volets.get(int(match[1])) if match else None
        if volet is None:
            numeros = ", ".join(str(n) for n in sorted(self.volets)) or "aucun"
            raise CelluleInvalide(
                f"« {texte} » n'est pas un volet du contrat {self.contrat.reference} (volets : {numeros})."
            )
        return volet

    def organisation(self, valeur, *, porteur: bool, cle: str | None = None) -> Organisation:
        """An organisation by its name (case, accents, « de », « la »… aside; ``cle``: the name already reduced,
        a funder's header without its « engagé »); for a carrier, « Département » or « Collectivité » is the
        signing collectivité."""
        texte = lire_texte(valeur)
        cle = cle_nom(texte) if cle is None else cle
        if porteur and cle in ("collectivite", "departement", "conseil departemental", "cd", "metropole"):
            if self.collectivite is None:
                raise CelluleInvalide(
                    f"« {texte} » : la collectivité {self.contrat.collectivite.nom} n'a pas d'organisation "
                    "enregistrée ; "
                    "demandez à l'administration centrale de la créer."
                )
            return self.collectivite
        trouves = self.organisations.get(cle, [])
        if not trouves and cle:
            trouves = [o for k, orgs in self.organisations.items() if k.startswith(cle + " ") for o in orgs]
        if len(trouves) == 1:
            return trouves[0]
        if len(trouves) > 1:
            noms = ", ".join(sorted({o.nom for o in trouves})[:5])
            raise CelluleInvalide(f"« {texte} » désigne plusieurs organisations ({noms}) : écrivez le nom complet.")
        proches = difflib.get_close_matches(cle, list(self.organisations), n=3, cutoff=0.6)
        suggestion = ""
        if proches:
            suggestion = (
                " Vouliez-vous dire : " + ", ".join(f"« {self.organisations[p][0].nom} »" for p in proches) + " ?"
            )
        role = "porteur" if porteur else "financeur"
        raise CelluleInvalide(
            f"« {texte} » : aucune organisation de ce nom parmi les {role}s possibles du contrat "
            f"{self.contrat.reference} "
            f"(collectivités et partenaires de son territoire).{suggestion} Une organisation nouvelle se crée d'abord "
            "dans le back-office (Organisations)."
        )


def _nature(valeur) -> str:
    texte = normaliser(valeur)
    if texte in ("n", "nouvelle", "nouveau", "creation") or texte.startswith(("nouv", "creat")):
        return NatureAction.NOUVELLE
    if texte in ("r", "renforcee", "renforce", "renforcement") or texte.startswith("renf"):
        return NatureAction.RENFORCEE
    raise CelluleInvalide(f"« {lire_texte(valeur)} » : écrivez « Nouvelle » ou « Renforcée ».")


def _type_indicateur(valeur) -> str:
    texte = normaliser(valeur)
    if texte.startswith("realis"):
        return TypeIndicateur.REALISATION
    if texte.startswith("resultat"):
        return TypeIndicateur.RESULTAT
    raise CelluleInvalide(f"« {lire_texte(valeur)} » : écrivez « Réalisation » ou « Résultat ».")


def lire_valeur(cle: str, valeur, referentiel: Referentiel):
    """A fiche's or an indicator's cell as the value its service takes (empty: ``None`` or ``""``)."""
    if est_vide(valeur):
        return None if cle in _NULLABLES else ""
    match cle:
        case "axe":
            return referentiel.axe(valeur)
        case "objectif":
            return referentiel.objectif(valeur)
        case "mesure":
            return referentiel.mesure(valeur)
        case "volet":
            return referentiel.volet(valeur)
        case "porteur":
            return referentiel.organisation(valeur, porteur=True)
        case "nature":
            return _nature(valeur)
        case "type_indicateur":
            return _type_indicateur(valeur)
        case "date_debut" | "date_fin":
            return lire_date(valeur)
        case "volume_public" | "annee":
            return lire_entier(valeur)
        case "etp" | "valeur_reference" | "cible" | "realise":
            return lire_nombre(valeur)
        case "territoire_departement_entier":
            return lire_booleen(valeur)
    return lire_texte(valeur)


_NULLABLES = frozenset(
    {
        "axe",
        "objectif",
        "mesure",
        "volet",
        "porteur",
        "date_debut",
        "date_fin",
        "volume_public",
        "etp",
        "territoire_departement_entier",
        "valeur_reference",
        "annee",
        "cible",
        "realise",
    }
)


def afficher(valeur) -> str:
    """A value in the preview: codes and names for references, French numbers and dates."""
    if valeur is None or valeur == "":
        return "(vide)"
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, Decimal):
        return format_decimal(valeur)
    if isinstance(valeur, date):
        return valeur.strftime("%d/%m/%Y")
    if isinstance(valeur, Axe):
        return f"Axe {valeur.numero}"
    if isinstance(valeur, Objectif | Mesure):
        return valeur.code
    if hasattr(valeur, "numero") and hasattr(valeur, "contrat_id"):
        return f"Volet {valeur.numero}"
    if isinstance(valeur, Organisation):
        return valeur.nom
    if valeur in NatureAction.values:
        return NatureAction(valeur).label
    if valeur in TypeIndicateur.values:
        return TypeIndicateur(valeur).label
    texte = " ".join(str(valeur).split())
    return texte if len(texte) <= 80 else texte[:79] + "…"


def _meme(avant, apres) -> bool:
    if hasattr(avant, "pk") or hasattr(apres, "pk"):
        return getattr(avant, "pk", None) == getattr(apres, "pk", None)
    if isinstance(avant, str) or isinstance(apres, str):
        return (avant or "").strip() == (apres or "").strip()
    return avant == apres


# --- The plan ---------------------------------------------------------------------------------------------------------


@dataclass
class Changement:
    position: Position
    champ: str
    avant: object
    apres: object
    cle: str = ""

    def as_dict(self) -> dict:
        return {
            **self.position.as_dict(),
            "champ": self.champ,
            "avant": afficher(self.avant),
            "apres": afficher(self.apres),
        }


@dataclass
class FichePrevue:
    """A fiche as the file gives it (several rows in the flat form)."""

    code: str
    position: Position
    valeurs: dict[str, tuple[object, Position]] = field(default_factory=dict)
    fiche: FicheAction | None = None
    changements: list[Changement] = field(default_factory=list)
    echec: bool = False

    @property
    def action(self) -> str:
        return "creer" if self.fiche is None else ("modifier" if self.changements else "inchangee")


@dataclass
class MontantPrevu:
    """One funder's amounts of a row: the cells given (``champ`` → (amount or None, position))."""

    entete: EnteteFinanceur
    financeur: Organisation | None
    libelle: str
    cellules: dict[str, tuple[Decimal | None, Position]] = field(default_factory=dict)
    ligne: LigneFinancement | None = None
    ecrire: dict[str, Decimal | None] = field(default_factory=dict)


@dataclass
class LignePrevue:
    """A row of « Financements »: a fiche, a year, its funders' amounts."""

    code: str
    annee: int
    position: Position
    montants: list[MontantPrevu] = field(default_factory=list)
    changements: list[Changement] = field(default_factory=list)
    nouvelle: bool = True

    @property
    def action(self) -> str:
        if not self.changements:
            return "inchangee"
        return "creer" if self.nouvelle else "modifier"


@dataclass
class IndicateurPrevu:
    code: str
    nom: str
    position: Position
    valeurs: dict[str, tuple[object, Position]] = field(default_factory=dict)
    annees: dict[int, dict[str, tuple[Decimal | None, Position]]] = field(default_factory=dict)
    indicateur: Indicateur | None = None
    changements: list[Changement] = field(default_factory=list)
    ecrire_champs: dict[str, object] = field(default_factory=dict)
    ecrire_annees: list[tuple[int, str, Decimal | None, Position]] = field(default_factory=list)

    @property
    def action(self) -> str:
        return "creer" if self.indicateur is None else ("modifier" if self.changements else "inchangee")


@dataclass
class Plan:
    contrat: Contrat
    fiches: dict[str, FichePrevue] = field(default_factory=dict)
    lignes: list[LignePrevue] = field(default_factory=list)
    indicateurs: list[IndicateurPrevu] = field(default_factory=list)
    erreurs: list[Erreur] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    feuilles: list[str] = field(default_factory=list)
    alertes: list[str] = field(default_factory=list)
    nb_lignes: int = 0
    #: The contract's fiches by code, as read when planning.
    existantes: dict[str, FicheAction] = field(default_factory=dict)

    def erreur(self, position: Position | None, message: str) -> None:
        self.erreurs.append(Erreur(position, message))

    @property
    def operations(self) -> int:
        return (
            sum(f.action != "inchangee" for f in self.fiches.values())
            + sum(ligne.action != "inchangee" for ligne in self.lignes)
            + sum(i.action != "inchangee" for i in self.indicateurs)
        )

    def empreinte(self) -> str:
        """What the import would write, with what it replaces: confirming refuses a plan that changed since its
        preview (someone else wrote in between)."""
        contenu = {
            "fiches": [[f.code, f.action, [c.as_dict() for c in f.changements]] for f in self.fiches.values()],
            "lignes": [[ligne.code, ligne.annee, [c.as_dict() for c in ligne.changements]] for ligne in self.lignes],
            "indicateurs": [[i.code, i.nom, i.action, [c.as_dict() for c in i.changements]] for i in self.indicateurs],
        }
        return hashlib.sha256(json.dumps(contenu, sort_keys=True, default=str).encode()).hexdigest()


def _verifier_contrat(plan: Plan, tableau: Tableau, numero: int, cellules: list) -> bool:
    valeur = tableau.valeur(cellules, "contrat")
    if est_vide(valeur):
        return True
    reference = normalize_identifier(lire_texte(valeur))
    if reference == plan.contrat.reference:
        return True
    plan.erreur(
        tableau.position(numero, "contrat"),
        f"Cette ligne porte sur le contrat {reference[:40]} : l'import se fait dans le contrat "
        f"{plan.contrat.reference} "
        "(exportez les fiches de ce seul contrat, ou videz la colonne).",
    )
    return False


def _code(plan: Plan, tableau: Tableau, numero: int, cellules: list) -> str | None:
    """The fiche's code of a row (``None``: a row to skip, or an error already noted)."""
    valeur = tableau.valeur(cellules, "code")
    texte = lire_texte(valeur)
    premier = next((lire_texte(v) for v in cellules if not est_vide(v)), "")
    if _TOTAUX.match(normaliser(texte)) or (not texte and _TOTAUX.match(normaliser(premier))):
        plan.notes.append(f"Feuille « {tableau.feuille.nom} », ligne {numero} ignorée (ligne de total).")
        return None
    if est_vide(valeur):
        plan.erreur(
            tableau.position(numero, "code") if "code" in tableau.colonnes else tableau.position(numero),
            "Code de la fiche manquant : chaque ligne nomme sa fiche par son code (ex. A1-03)."
            if "code" in tableau.colonnes
            else "Le tableau n'a pas de colonne « Code » : chaque ligne nomme sa fiche par son code (ex. A1-03).",
        )
        return None
    code = normalize_identifier(texte)
    if message := code_errors(code):
        plan.erreur(tableau.position(numero, "code"), message)
        return None
    return code


def _lire_fiches(plan: Plan, tableau: Tableau, referentiel: Referentiel) -> dict[tuple[int, str], str]:
    """The fiches of a « Fiches » or flat sheet; returns the code of each row read (for the flat form's money)."""
    codes_des_lignes: dict[tuple[int, str], str] = {}
    colonnes = [(cle, lue) for cle, lue in tableau.colonnes.items() if cle in CHAMPS_IMPORTES]
    vues: dict[str, int] = {}
    for numero, cellules in tableau.donnees:
        if not _verifier_contrat(plan, tableau, numero, cellules):
            continue
        code = _code(plan, tableau, numero, cellules)
        if code is None:
            continue
        codes_des_lignes[(numero, tableau.feuille.nom)] = code
        if tableau.genre == FICHES:
            if code in vues:
                plan.erreur(
                    tableau.position(numero, "code"),
                    f"La fiche {code} est déjà donnée ligne {vues[code]} : une ligne par fiche dans cette feuille.",
                )
                continue
            vues[code] = numero
        prevue = plan.fiches.setdefault(code, FichePrevue(code, tableau.position(numero, "code")))
        for cle, lue in colonnes:
            brut = cellules[lue.index] if lue.index < len(cellules) else None
            position = tableau.position(numero, lue)
            try:
                valeur = lire_valeur(cle, brut, referentiel)
            except CelluleInvalide as error:
                plan.erreur(position, str(error))
                prevue.echec = True
                continue
            if cle in prevue.valeurs:
                deja, ou = prevue.valeurs[cle]
                if est_vide(brut) or _meme(deja, valeur):
                    continue
                if deja is None or deja == "":
                    prevue.valeurs[cle] = (valeur, position)
                    continue
                plan.erreur(
                    position,
                    f"La fiche {code} a ici « {afficher(valeur)} » et « {afficher(deja)} » ligne {ou.ligne} : "
                    "ses colonnes sont les mêmes sur toutes ses lignes.",
                )
                prevue.echec = True
                continue
            prevue.valeurs[cle] = (valeur, position)
    return codes_des_lignes


def _objectif_effectif(valeurs: dict, fiche: FicheAction | None):
    """The objective the fiche will have: the one given, else its measure's (``fill_objectif``)."""
    objectif = valeurs["objectif"][0] if "objectif" in valeurs else (fiche.objectif if fiche else None)
    mesure = valeurs["mesure"][0] if "mesure" in valeurs else (fiche.mesure if fiche else None)
    if mesure is not None and objectif is None:
        return mesure.objectif
    return objectif


def _planifier_fiches(plan: Plan, existantes: dict[str, FicheAction], user) -> None:
    contrat = plan.contrat
    prepare = can_prepare(user, contrat)
    for code, prevue in plan.fiches.items():
        prevue.fiche = existantes.get(code)
        valeurs = prevue.valeurs
        if prevue.fiche is None:
            manquants = [LIBELLES[cle] for cle in OBLIGATOIRES_FICHE if valeurs.get(cle, (None,))[0] in (None, "")]
            if manquants:
                plan.erreur(
                    prevue.position,
                    f"La fiche {code} n'existe pas dans le contrat {contrat.reference} : pour la créer, renseignez "
                    f"{', '.join(manquants)}.",
                )
                prevue.echec = True
            elif contrat.est_fige:
                plan.erreur(
                    prevue.position,
                    f"Le contrat {contrat.reference} est signé : la fiche {code} ne peut pas y être ajoutée par import "
                    "(une nouvelle fiche s'ajoute par avenant).",
                )
                prevue.echec = True
            elif not prepare:
                plan.erreur(prevue.position, f"Créer la fiche {code} est réservé aux éditeurs de la DDETS.")
                prevue.echec = True
            continue
        for cle, (valeur, position) in valeurs.items():
            avant = getattr(prevue.fiche, cle)
            if cle == "territoire_departement_entier" and valeur is None:
                valeur = True
            if cle == "objectif":
                # Without an objective of its own, a fiche serves its measure's (the totals read it so too).
                valeur = _objectif_effectif(valeurs, prevue.fiche)
                if avant is None and prevue.fiche.mesure_id:
                    avant = prevue.fiche.mesure.objectif
            if _meme(avant, valeur):
                continue
            prevue.changements.append(Changement(position, LIBELLES[cle], avant, valeur, cle))
        if prevue.changements and contrat.est_fige:
            for changement in prevue.changements:
                plan.erreur(
                    changement.position,
                    f"Le contrat {contrat.reference} est signé : « {changement.champ} » de la fiche {code} ne change "
                    f"plus que par un avenant ({afficher(changement.avant)} → {afficher(changement.apres)}).",
                )
            prevue.echec = True
        elif prevue.changements and not prepare:
            plan.erreur(
                prevue.changements[0].position,
                f"Modifier le contenu de la fiche {code} est réservé aux éditeurs de la DDETS.",
            )
            prevue.echec = True


def _lire_financements(
    plan: Plan, tableau: Tableau, referentiel: Referentiel, codes: dict[tuple[int, str], str]
) -> None:
    """The rows of « Financements » (or of the flat form): a fiche, a year, the funders' cells."""
    colonnes: list[tuple[ColonneLue, EnteteFinanceur, Organisation | None, str]] = []
    for lue in tableau.financeurs:
        entete = lue.financeur
        financeur, libelle = (
            None,
            {TypeFinanceur.ETAT: "État", TypeFinanceur.COLLECTIVITE: "Collectivité"}.get(entete.type_financeur, ""),
        )
        if entete.type_financeur == TypeFinanceur.AUTRE:
            rempli = any(lue.index < len(c) and not est_vide(c[lue.index]) for _, c in tableau.donnees)
            try:
                financeur = referentiel.organisation(lue.entete, porteur=False, cle=entete.nom)
            except CelluleInvalide as error:
                if rempli:
                    plan.erreur(Position(tableau.feuille.nom, tableau.ligne_entete, lue.lettre, lue.entete), str(error))
                else:
                    plan.notes.append(
                        f"Feuille « {tableau.feuille.nom} », colonne {lue.lettre} « {lue.entete} » ignorée (vide, "
                        "aucun financeur de ce nom)."
                    )
                continue
            libelle = financeur.nom
        colonnes.append((lue, entete, financeur, libelle))
    cles = [(e.type_financeur, f.pk if f else None, e.champ) for _, e, f, _ in colonnes]
    for cle in {c for c in cles if cles.count(c) > 1}:
        lues = [lue for (lue, *_), c in zip(colonnes, cles, strict=True) if c == cle]
        plan.erreur(
            Position(tableau.feuille.nom, tableau.ligne_entete, lues[1].lettre, lues[1].entete),
            f"Les colonnes {', '.join(lue.lettre for lue in lues)} donnent le même montant du même financeur : "
            "gardez-en une.",
        )
    if "annee" not in tableau.colonnes:
        if colonnes:
            plan.erreur(
                Position(tableau.feuille.nom, tableau.ligne_entete),
                "Cette feuille donne des montants sans colonne « Année » (ou « Exercice ») : une ligne par fiche et "
                "par année.",
            )
        return
    vues: dict[tuple[str, int], int] = {}
    for numero, cellules in tableau.donnees:
        if tableau.genre == PLAT:
            code = codes.get((numero, tableau.feuille.nom))
            if code is None:
                continue
        else:
            if not _verifier_contrat(plan, tableau, numero, cellules):
                continue
            code = _code(plan, tableau, numero, cellules)
            if code is None:
                continue
        brut = tableau.valeur(cellules, "annee")
        montants_vides = all(lue.index >= len(cellules) or est_vide(cellules[lue.index]) for lue, *_ in colonnes)
        if est_vide(brut):
            if not montants_vides:
                plan.erreur(tableau.position(numero, "annee"), "Année manquante : les montants sont ceux d'une année.")
            continue
        try:
            annee = lire_entier(brut)
        except CelluleInvalide as error:
            plan.erreur(tableau.position(numero, "annee"), str(error))
            continue
        if annee not in plan.contrat.annees:
            contrat = plan.contrat
            plan.erreur(
                tableau.position(numero, "annee"),
                f"{annee} est hors de la période du contrat {contrat.reference} "
                f"({contrat.date_debut.year}-{contrat.date_fin.year}).",
            )
            continue
        if (code, annee) in vues:
            plan.erreur(
                tableau.position(numero, "annee"),
                f"La fiche {code} a déjà une ligne pour {annee} (ligne {vues[(code, annee)]}) : une ligne par fiche "
                "et par année.",
            )
            continue
        vues[(code, annee)] = numero
        ligne = LignePrevue(code, annee, tableau.position(numero, "code"))
        par_financeur: dict[tuple, MontantPrevu] = {}
        for lue, entete, financeur, libelle in colonnes:
            brut = cellules[lue.index] if lue.index < len(cellules) else None
            try:
                montant = lire_montant(brut)
            except CelluleInvalide as error:
                plan.erreur(tableau.position(numero, lue), str(error))
                continue
            cle = (entete.type_financeur, financeur.pk if financeur else None)
            prevu = par_financeur.get(cle)
            if prevu is None:
                prevu = par_financeur[cle] = MontantPrevu(entete, financeur, libelle)
                ligne.montants.append(prevu)
            prevu.cellules[entete.champ] = (montant, tableau.position(numero, lue))
        plan.lignes.append(ligne)


def _planifier_lignes(plan: Plan, existantes: dict[str, FicheAction], lignes: dict[tuple, LigneFinancement], user):
    contrat = plan.contrat
    peut = {type_: can_edit_ligne(user, contrat, type_) for type_ in TypeFinanceur.values}
    for ligne in plan.lignes:
        prevue = plan.fiches.get(ligne.code)
        if ligne.code not in existantes and prevue is None:
            plan.erreur(
                ligne.position,
                f"La fiche {ligne.code} n'existe ni dans le contrat {contrat.reference} ni dans la feuille des fiches.",
            )
            continue
        fiche = existantes.get(ligne.code)
        for montant in ligne.montants:
            cle = (
                fiche.pk if fiche else None,
                ligne.annee,
                montant.entete.type_financeur,
                montant.financeur.pk if montant.financeur else None,
            )
            montant.ligne = lignes.get(cle) if fiche else None
            if montant.ligne is not None:
                ligne.nouvelle = False
            libelle = montant.libelle
            for champ, (valeur, position) in montant.cellules.items():
                if montant.ligne is None:
                    if valeur is None:
                        continue
                    avant = None
                else:
                    avant = getattr(montant.ligne, champ)
                    if valeur is None and champ == PREVU:
                        valeur = Decimal("0.00")  # a line keeps its planned amount: 0 when nothing is planned
                if avant == valeur or (avant is not None and valeur is not None and avant.compare(valeur) == 0):
                    continue
                montant.ecrire[champ] = valeur
                changement = Changement(position, f"{libelle} {LIBELLES_CHAMPS[champ]}", avant, valeur)
                ligne.changements.append(changement)
                contractuel = champ == PREVU or montant.ligne is None
                quoi = f"fiche {ligne.code}, {ligne.annee}, {libelle} {LIBELLES_CHAMPS[champ]}"
                if contractuel and contrat.est_fige:
                    nouveau = " (nouvelle ligne de financement)" if montant.ligne is None else ""
                    plan.erreur(
                        position,
                        f"Le contrat {contrat.reference} est signé : le montant prévu ne change plus que par un "
                        f"avenant{nouveau} ({quoi} : {afficher(avant)} → {afficher(valeur)}). Seuls l'engagé et le "
                        "réalisé des lignes existantes se saisissent après signature.",
                    )
                elif not peut[montant.entete.type_financeur]:
                    plan.erreur(position, f"Vous ne pouvez pas saisir ce montant ({quoi}) : réservé à la DDETS.")


def _lire_indicateurs(plan: Plan, tableau: Tableau, referentiel: Referentiel) -> None:
    par_cle: dict[tuple[str, str], IndicateurPrevu] = {}
    vues: dict[tuple[str, str, int], int] = {}
    champs = [c for c in ("type_indicateur", "unite", "valeur_reference", "source") if c in tableau.colonnes]
    if "nom" not in tableau.colonnes:
        plan.erreur(
            Position(tableau.feuille.nom, tableau.ligne_entete),
            "La feuille des indicateurs n'a pas de colonne « Indicateur » (le nom de l'indicateur).",
        )
        return
    for numero, cellules in tableau.donnees:
        if not _verifier_contrat(plan, tableau, numero, cellules):
            continue
        code = _code(plan, tableau, numero, cellules)
        if code is None:
            continue
        nom = lire_texte(tableau.valeur(cellules, "nom"))
        if not nom:
            plan.erreur(tableau.position(numero, "nom"), "Nom de l'indicateur manquant.")
            continue
        cle = (code, normaliser(nom))
        prevu = par_cle.get(cle)
        if prevu is None:
            prevu = par_cle[cle] = IndicateurPrevu(code, nom, tableau.position(numero, "nom"))
            plan.indicateurs.append(prevu)
        for champ in champs:
            lue = tableau.colonnes[champ]
            brut = cellules[lue.index] if lue.index < len(cellules) else None
            try:
                valeur = lire_valeur(champ, brut, referentiel)
            except CelluleInvalide as error:
                plan.erreur(tableau.position(numero, lue), str(error))
                continue
            if champ in prevu.valeurs and not est_vide(brut) and not _meme(prevu.valeurs[champ][0], valeur):
                deja, ou = prevu.valeurs[champ]
                if deja in (None, ""):
                    prevu.valeurs[champ] = (valeur, tableau.position(numero, lue))
                    continue
                plan.erreur(
                    tableau.position(numero, lue),
                    f"L'indicateur « {nom} » a ici « {afficher(valeur)} » et « {afficher(deja)} » ligne {ou.ligne}.",
                )
                continue
            prevu.valeurs.setdefault(champ, (valeur, tableau.position(numero, lue)))
        brut = tableau.valeur(cellules, "annee")
        if est_vide(brut):
            continue
        try:
            annee = lire_entier(brut)
        except CelluleInvalide as error:
            plan.erreur(tableau.position(numero, "annee"), str(error))
            continue
        if annee not in plan.contrat.annees:
            contrat = plan.contrat
            plan.erreur(
                tableau.position(numero, "annee"),
                f"{annee} est hors de la période du contrat {contrat.reference} "
                f"({contrat.date_debut.year}-{contrat.date_fin.year}).",
            )
            continue
        if (*cle, annee) in vues:
            plan.erreur(
                tableau.position(numero, "annee"),
                f"L'indicateur « {nom} » de la fiche {code} a déjà une ligne pour {annee} "
                f"(ligne {vues[(*cle, annee)]}).",
            )
            continue
        vues[(*cle, annee)] = numero
        valeurs = {}
        for champ in ("cible", "realise"):
            if champ not in tableau.colonnes:
                continue
            try:
                valeurs[champ] = (lire_nombre(tableau.valeur(cellules, champ)), tableau.position(numero, champ))
            except CelluleInvalide as error:
                plan.erreur(tableau.position(numero, champ), str(error))
        prevu.annees[annee] = valeurs


def _planifier_indicateurs(plan: Plan, existantes: dict[str, FicheAction], indicateurs: dict, user) -> None:
    contrat = plan.contrat
    prepare, execution = can_prepare(user, contrat), can_enter_execution(user, contrat)
    today = timezone.localdate()
    for prevu in plan.indicateurs:
        fiche = existantes.get(prevu.code)
        if fiche is None and prevu.code not in plan.fiches:
            plan.erreur(
                prevu.position,
                f"La fiche {prevu.code} n'existe ni dans le contrat {contrat.reference} ni dans la feuille des fiches.",
            )
            continue
        trouves = indicateurs.get((fiche.pk, normaliser(prevu.nom)), []) if fiche else []
        if len(trouves) > 1:
            plan.erreur(
                prevu.position,
                f"La fiche {prevu.code} a plusieurs indicateurs « {prevu.nom} » : renommez-les dans l'application.",
            )
            continue
        prevu.indicateur = trouves[0] if trouves else None
        quoi = f"indicateur « {prevu.nom} » de la fiche {prevu.code}"
        contractuels: list[Changement] = []
        executions: list[Changement] = []
        if prevu.indicateur is None:
            manquants = [LIBELLES[c] for c in OBLIGATOIRES_INDICATEUR if prevu.valeurs.get(c, (None,))[0] in (None, "")]
            if manquants:
                plan.erreur(prevu.position, f"Pour créer l'{quoi}, renseignez {', '.join(manquants)}.")
                continue
            prevu.ecrire_champs = {c: v for c, (v, _) in prevu.valeurs.items()}
            contractuels.append(Changement(prevu.position, "Indicateur", None, prevu.nom))
            stockees = {}
        else:
            for champ, (valeur, position) in prevu.valeurs.items():
                avant = getattr(prevu.indicateur, champ)
                if not _meme(avant, valeur):
                    prevu.ecrire_champs[champ] = valeur
                    contractuels.append(Changement(position, LIBELLES[champ], avant, valeur))
            stockees = {v.annee: v for v in prevu.indicateur.valeurs.all()}
        for annee, cellules in sorted(prevu.annees.items()):
            stockee = stockees.get(annee)
            for champ, (valeur, position) in cellules.items():
                avant = getattr(stockee, champ) if stockee else None
                if _meme(avant, valeur) or (avant is not None and valeur is not None and avant.compare(valeur) == 0):
                    continue
                changement = Changement(position, f"{LIBELLES[champ]} {annee}", avant, valeur)
                prevu.ecrire_annees.append((annee, champ, valeur, position))
                if champ == "realise":
                    executions.append(changement)
                    if valeur is not None and annee > today.year:
                        plan.erreur(position, f"L'année {annee} n'a pas commencé : pas de valeur atteinte.")
                else:
                    contractuels.append(changement)
        prevu.changements = contractuels + executions
        if contractuels and contrat.est_fige:
            for changement in contractuels:
                plan.erreur(
                    changement.position,
                    f"Le contrat {contrat.reference} est signé : « {changement.champ} » de l'{quoi} ne change plus que "
                    f"par un avenant ({afficher(changement.avant)} → {afficher(changement.apres)}). Seules les valeurs "
                    "atteintes se saisissent après signature.",
                )
        elif contractuels and not prepare:
            plan.erreur(
                contractuels[0].position, f"Définir l'{quoi} et ses cibles est réservé aux éditeurs de la DDETS."
            )
        if executions and not execution:
            plan.erreur(executions[0].position, f"Vous ne pouvez pas saisir les valeurs atteintes de l'{quoi}.")


def planifier(feuilles: list[FeuilleLue], contrat: Contrat, user) -> Plan:
    """What the file would change in the contract, cell by cell, and what refuses it; writes nothing."""
    plan = Plan(contrat)
    if not (can_prepare(user, contrat) or can_enter_execution(user, contrat)):
        plan.erreur(None, f"Vous ne pouvez pas importer dans le contrat {contrat.reference}.")
        return plan
    for feuille in feuilles:
        for numero, cellules in sorted(feuille.sans_valeur.items()):
            plan.erreur(
                Position(feuille.nom, numero, re.sub("[0-9]", "", cellules[0])),
                f"La formule de la cellule {cellules[0]} n'a pas de valeur enregistrée : ouvrez le fichier dans un "
                "tableur et enregistrez-le, puis recommencez.",
            )
    tableaux = reconnaitre(feuilles, plan.erreurs, plan.notes)
    referentiel = Referentiel(contrat, user)
    codes: dict[tuple[int, str], str] = {}
    for tableau in tableaux:
        plan.feuilles.append(f"{tableau.feuille.nom} ({TITRES[tableau.genre]}, {len(tableau.donnees)} lignes)")
        plan.nb_lignes += len(tableau.donnees)
        if tableau.genre in (FICHES, PLAT):
            codes.update(_lire_fiches(plan, tableau, referentiel))
    for tableau in tableaux:
        if tableau.genre in (FINANCEMENTS, PLAT):
            _lire_financements(plan, tableau, referentiel, codes)
        elif tableau.genre == INDICATEURS:
            _lire_indicateurs(plan, tableau, referentiel)
    existantes = {
        f.code: f
        for f in FicheAction.objects.filter(contrat=contrat).select_related(
            "contrat__collectivite", "axe", "objectif", "mesure__objectif", "volet", "porteur"
        )
    }
    plan.existantes = existantes
    _planifier_fiches(plan, existantes, user)
    lignes = {
        (ligne.fiche_id, ligne.annee, ligne.type_financeur, ligne.financeur_id): ligne
        for ligne in LigneFinancement.objects.filter(fiche__contrat=contrat)
    }
    _planifier_lignes(plan, existantes, lignes, user)
    indicateurs: dict[tuple[int, str], list[Indicateur]] = defaultdict(list)
    if plan.indicateurs:
        for indicateur in Indicateur.objects.filter(fiche__contrat=contrat).prefetch_related("valeurs"):
            indicateurs[(indicateur.fiche_id, normaliser(indicateur.nom))].append(indicateur)
    _planifier_indicateurs(plan, existantes, indicateurs, user)
    if not plan.fiches and not plan.lignes and not plan.indicateurs and not plan.erreurs:
        plan.erreur(None, "Le fichier ne contient aucune ligne à importer.")
    return plan
