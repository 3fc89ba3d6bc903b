"""The money's sheets: « Financements » (one row per fiche and year, one column per funder) and the payments.

« Financements » holds, for a fiche (contract reference and code, ``actions.resources``) and a year, one column per
funder: ``État``, ``Collectivité`` and each other funder by its name (``CAF des Hautes-Alpes``), for the planned
amount; the committed and spent amounts in columns of their own (``État engagé``, ``État réalisé``…). A funder's
header is read by :func:`lire_entete_financeur`, whatever words agents put around it (``part État``, ``Montant prévu
Département``, ``Réalisé CAF``).
"""

from __future__ import annotations

from dataclasses import dataclass

from actions.resources import CODE, CONTRAT
from financement.enums import TypeFinanceur
from pacte.resources import Colonne, normaliser

ANNEE = Colonne(
    "annee",
    "Année",
    ("exercice", "an", "année budgétaire", "année de financement", "exercice budgétaire"),
    type="entier",
    largeur=8,
    aide="L'année financée, dans la période du contrat (une ligne par fiche et par année).",
    exemple="2024",
)
INTITULE_LU = Colonne(
    "intitule",
    "Intitulé",
    lecture_seule=True,
    largeur=35,
    aide="Rappel de l'intitulé de la fiche, pour la lecture ; c'est la feuille « Fiches » qui le fixe.",
)

#: The fixed columns of « Financements »; the funders' columns follow.
COLONNES_FINANCEMENT: tuple[Colonne, ...] = (CONTRAT, CODE, INTITULE_LU, ANNEE)

#: Which amount a funder's column holds, and how its header says it.
PREVU, ENGAGE, REALISE = "prevu", "engage", "realise"
CHAMPS = (PREVU, ENGAGE, REALISE)
LIBELLES_CHAMPS = {PREVU: "prévu", ENGAGE: "engagé", REALISE: "réalisé"}
SUFFIXES = {PREVU: "", ENGAGE: " engagé", REALISE: " réalisé"}

_MOTS_ENGAGE = frozenset({"engage", "engagee", "engages", "engagees", "engagement", "engagements"})
_MOTS_REALISE = frozenset(
    {"realise", "realisee", "realises", "realisees", "depense", "depensee", "depenses", "consomme", "paye", "payee"}
)
#: Words around a funder's name that say nothing of the funder.
_MOTS_VIDES = frozenset(
    {
        "prevu",
        "prevue",
        "prevus",
        "prevues",
        "previsionnel",
        "part",
        "parts",
        "montant",
        "montants",
        "financement",
        "financements",
        "apport",
        "apports",
        "contribution",
        "budget",
        "credits",
        "en",
        "eur",
        "euro",
        "euros",
        "ttc",
        "ht",
        "de",
        "du",
        "des",
        "d",
        "la",
        "le",
        "les",
        "l",
        "par",
        "au",
        "aux",
        "a",
    }
)
_ETAT = frozenset({"etat", "etat dgcs", "etat bop 304", "bop 304", "dgcs", "ddets", "prefecture"})
_COLLECTIVITE = frozenset(
    {
        "collectivite",
        "collectivite signataire",
        "departement",
        "conseil departemental",
        "cd",
        "metropole",
        "conseil general",
        "cg",
        "collectivite territoriale",
    }
)
#: Headers that hold no funder: totals and remarks (recomputed or kept by the agents, never imported).
IGNOREES = frozenset(
    normaliser(h)
    for h in (
        "Total",
        "Coût total",
        "Total général",
        "Total prévu",
        "Total engagé",
        "Total réalisé",
        "Coût total de l'action",
        "Commentaire",
        "Commentaires",
        "Observations",
        "Observation",
        "Remarques",
        "Remarque",
        "Notes",
    )
)


def cle_nom(texte: str) -> str:
    """A funder's or carrier's name as compared: normalized, without the words around it (« part », « de »…)."""
    return " ".join(mot for mot in normaliser(texte).split() if mot not in _MOTS_VIDES)


@dataclass(frozen=True)
class EnteteFinanceur:
    """What a funder's header says: the kind of funder, the other funder's name as written, the amount."""

    type_financeur: str
    nom: str  # the other funder's key (cle_nom), "" for the State and the collectivité
    champ: str


def lire_entete_financeur(entete: str) -> EnteteFinanceur | None:
    """``État`` → the State's planned amount; ``Département réalisé`` → the collectivité's spent amount; ``CAF des
    Hautes-Alpes engagé`` → an other funder's committed amount (its name to be looked up); ``None`` for an empty
    header or one that names no funder (« Total », « Commentaires »)."""
    norm = normaliser(entete)
    if not norm or norm in IGNOREES:
        return None
    mots = norm.split()
    champ = PREVU
    if any(mot in _MOTS_ENGAGE for mot in mots):
        champ = ENGAGE
    elif any(mot in _MOTS_REALISE for mot in mots):
        champ = REALISE
    reste = [mot for mot in mots if mot not in _MOTS_ENGAGE | _MOTS_REALISE]
    if reste and reste[0] in ("total", "cout"):
        return None
    cle = " ".join(mot for mot in reste if mot not in _MOTS_VIDES)
    if not cle:
        return None
    if cle in _ETAT or cle.startswith("etat "):
        return EnteteFinanceur(TypeFinanceur.ETAT, "", champ)
    if cle in _COLLECTIVITE:
        return EnteteFinanceur(TypeFinanceur.COLLECTIVITE, "", champ)
    return EnteteFinanceur(TypeFinanceur.AUTRE, cle, champ)


def entete_financeur(libelle: str, champ: str) -> str:
    """The header the exports write: ``État``, ``État engagé``, ``CAF des Hautes-Alpes réalisé``."""
    return f"{libelle}{SUFFIXES[champ]}"


#: The payments of a contract (``versements_export``).
COLONNES_VERSEMENT: tuple[Colonne, ...] = (
    Colonne("contrat", "Contrat", largeur=16),
    Colonne("annee", "Exercice", type="entier", largeur=9),
    Colonne("nature", "Nature", largeur=16),
    Colonne("statut", "Statut", largeur=10),
    Colonne("montant", "Montant", type="montant", largeur=14),
    Colonne("numero_ej", "N° d'engagement juridique", largeur=14),
    Colonne("date_engagement", "Engagé le", type="date", largeur=11),
    Colonne("date_demande", "Demandé le", type="date", largeur=11),
    Colonne("date_versement", "Versé le", type="date", largeur=11),
    Colonne("beneficiaire", "Bénéficiaire", largeur=35),
)
