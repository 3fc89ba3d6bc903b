"""What the parts of the builder share: scales, the in-memory plans, the builder's state and helpers.

``DemoBuilder`` (``demo/builder/__init__.py``) is one class made of a mixin per concern
(``territoires``, ``contrats``, ``fiches``, ``argent``) over ``BuilderBase``; the mixins call one
another through ``self``, in the order ``DemoBuilder.build`` sets.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction
from contrats.enums import STATUTS_FIGES, TypeContrat
from contrats.models import Contrat, Volet
from demo.catalogue import Gabarit
from financement.models import LigneFinancement
from pacte.enums import NatureCollectivite
from pacte.models import Axe, Collectivite, Mesure, Objectif, Organisation, User
from pacte.money import ZERO

SCALES = ("region", "national")
DEFAULT_REGION = "93"
DEFAULT_SEED = 42
SHOWCASE = "D05"  # the collectivité whose contracts tell the full story (the demo users work on it)
BATCH = 1000

DEPARTEMENT_NATURES = {
    NatureCollectivite.DEPARTEMENT,
    NatureCollectivite.STATUT_PARTICULIER,
    NatureCollectivite.TERRITORIALE_UNIQUE,
}
STATUTS_SIGNES = STATUTS_FIGES  # signé, en exécution, clos, résilié


def types_of(c: Collectivite) -> list[str]:
    """The contracts a collectivité signs in the demo: a métropole its CLS and a pacte local, a
    département (or a collectivité with its powers) its CLS, its CDIE and a pacte local."""
    if c.est_metropole:
        return [TypeContrat.CLS_METROPOLE, TypeContrat.CPT]
    if c.nature in DEPARTEMENT_NATURES:
        return [TypeContrat.CLS_DEPARTEMENT, TypeContrat.CDIE, TypeContrat.CPT]
    return []


def famille(type_contrat: str) -> str:
    """``cls`` (département or métropole), ``cdie`` or ``cpt``: how the demo sizes and calibrates a contract."""
    if type_contrat in (TypeContrat.CLS_DEPARTEMENT, TypeContrat.CLS_METROPOLE):
        return "cls"
    return "cdie" if type_contrat == TypeContrat.CDIE else "cpt"


def familles_of(c: Collectivite) -> list[str]:
    return [famille(t) for t in types_of(c)]


# --- In-memory plan --------------------------------------------------------------------------------


@dataclass
class FichePlan:
    fiche: FicheAction
    gabarit: Gabarit
    years: list[int]
    porteur_kind: str = ""  # "collectivite" or a partner key
    autre_kind: str = ""  # the partner key of the third funder, if any
    lignes: dict[int, dict[str, LigneFinancement]] = field(default_factory=dict)  # year -> "etat"/"collectivite"/…

    @property
    def active(self) -> bool:
        return self.fiche.statut in STATUTS_ACTIFS

    def etat(self, year: int) -> Decimal:
        ligne = self.lignes.get(year, {}).get("etat")
        return ligne.prevu if ligne else ZERO


@dataclass
class ContratPlan:
    contrat: Contrat
    collectivite: Collectivite
    rng: random.Random
    fiches: list[FichePlan] = field(default_factory=list)
    volets: dict[int, Volet] = field(default_factory=dict)
    story: str = ""  # what this contract shows in the demo (see ``contrats.STORIES``)
    termine_le: date | None = None  # résiliation

    @property
    def signe(self) -> bool:
        return self.contrat.statut in STATUTS_SIGNES

    @property
    def famille(self) -> str:
        return famille(self.contrat.type_contrat)


class BuilderBase:
    """The state of a build and the helpers every part uses."""

    # Set by ``load_reference`` (territoires) and ``DemoBuilder.build``.
    axes: dict[int, Axe]
    mesures: dict[str, Mesure]
    objectifs: dict[str, Objectif]
    versement_aux_porteurs: set[str]
    all_collectivites: list[Collectivite]
    scope: list[Collectivite]
    orgs: dict[tuple, Organisation]
    users: dict[str, User]
    plafonds: dict[tuple[str, int, int | None], Decimal]
    signataire_noms: dict[str, tuple[str, str]]
    avenant_plafond: dict[str, tuple]

    def __init__(self, *, scale: str = "region", region: str = DEFAULT_REGION, seed: int = DEFAULT_SEED, today=None):
        if scale not in SCALES:
            raise ValueError(f"Échelle inconnue : {scale} (valeurs possibles : {', '.join(SCALES)}).")
        self.scale, self.region_code, self.seed = scale, region, seed
        self.today: date = today or timezone.localdate()
        self.uid_rng = random.Random(f"{seed}:uid")
        self.rows: dict[type, list] = defaultdict(list)
        self.plans: list[ContratPlan] = []

    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.uid_rng.getrandbits(128), version=4)

    def add(self, obj):
        self.rows[type(obj)].append(obj)
        return obj

    def past(self, d: date) -> date:
        return min(d, self.today)

    def past_years(self, years) -> list[int]:
        return [y for y in years if y < self.today.year]

    @staticmethod
    def day(rng: random.Random, start: date, span_days: int) -> date:
        return start + timedelta(days=rng.randint(0, span_days))
