"""Territories, organisations and demo users: the scope of a seed, who works where, one account per persona."""

from __future__ import annotations

import os
import random
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth.hashers import make_password

from contrats.models import RegleTypeContrat
from demo.builder.base import BATCH, BuilderBase, familles_of
from demo.catalogue import CHEFS_LIEUX, DE_DEPARTEMENT, NOMS, PARTENAIRES, POPULATION, PRENOMS_F, PRENOMS_M
from financement.regles import regles_par_type
from pacte.enums import Role, TypeOrganisation
from pacte.models import Axe, Collectivite, Departement, Mesure, Objectif, Organisation, Region, User
from pacte.money import ZERO

DEMO_PASSWORD_DEFAULT = "demo-pacte-2024"


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEMO_PASSWORD_DEFAULT


# --- Demo users (one per persona) -------------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    username: str
    persona: str
    first_name: str
    last_name: str
    org: tuple | None  # organisation key, see ``org_specs``
    role: str
    superuser: bool = False


DEMO_USERS = (
    DemoUser("admin", "Super-administrateur (technique)", "Alex", "Admin", None, Role.EDITEUR, superuser=True),
    DemoUser("ddets05", "Agent DDETS, éditeur", "Claire", "Fabre", ("ddets", "05"), Role.EDITEUR),
    DemoUser("ddets05-lecteur", "Agent DDETS, lecteur", "Paul", "Reynaud", ("ddets", "05"), Role.LECTEUR),
    DemoUser("cd05", "Agent de la collectivité", "Sophie", "Arnaud", ("collectivite", "D05"), Role.EDITEUR),
    DemoUser("prefecture05", "Agent de préfecture", "Marc", "Gontard", ("prefecture", "05"), Role.EDITEUR),
    DemoUser("dreets-paca", "Commissaire / DREETS", "Hélène", "Bonnafoux", ("dreets", "93"), Role.LECTEUR),
    DemoUser("dgcs", "Administration centrale", "Nicolas", "Lemoine", ("centrale",), Role.EDITEUR),
    DemoUser("partenaire-caf05", "Partenaire porteur", "Julie", "Chabrand", ("partenaire", "05", "caf"), Role.LECTEUR),
    DemoUser("ddets69", "Agent DDETS, éditeur", "Karim", "Benali", ("ddets", "69"), Role.EDITEUR),
    DemoUser("metropole-lyon", "Agent de la collectivité", "Laura", "Vidal", ("collectivite", "M-LYO"), Role.EDITEUR),
)
DEMO_USERNAMES = tuple(u.username for u in DEMO_USERS)
# Territories the demo users need whatever the scale.
ALWAYS_DEPARTEMENTS = {"05", "69"}
ALWAYS_REGIONS = {"93"}
ALWAYS_COLLECTIVITES = {"D05", "M-LYO"}


# --- French names ------------------------------------------------------------------------------------

VOYELLES = tuple("AEIOUYÉÈÊÂÎÔ")


def de(nom: str) -> str:
    """``de Gap``, ``d'Avignon``, ``du Mans``, ``de La Rochelle``, ``de la Métropole…``."""
    if nom.startswith(("Métropole", "Collectivité")):
        return f"de la {nom}"
    if nom.startswith("Eurométropole"):
        return f"de l'{nom}"
    if nom.startswith("Le "):
        return f"du {nom[3:]}"
    if nom.startswith("Les "):
        return f"des {nom[4:]}"
    if nom.startswith(VOYELLES):
        return f"d'{nom}"
    return f"de {nom}"


# --- Organisations -----------------------------------------------------------------------------------


def luhn_key(digits: str) -> str:
    """The digit that makes ``digits`` + it pass the Luhn check (SIREN and SIRET keys)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        digit = int(char)
        if index % 2 == 0:  # doubled: it will sit at an odd position from the right once the key is added
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def siret_fictif(departement_code: str, kind: str) -> str:
    """A partner's SIRET for the demo: SIREN ``000`` + département + partner kind + key, establishment
    ``0001`` + key. Valid keys, stable across seeds and scales, and no real establishment: no SIREN
    starts with 000 (the carriers that the State pays need one, ``Versement.beneficiaire``)."""
    numero = {"2A": 201, "2B": 202}.get(departement_code) or int(departement_code)
    kinds = [key for key, _ in PARTENAIRES]
    siren = f"000{numero:03d}{kinds.index(kind):02d}"
    siren += luhn_key(siren)
    siret = f"{siren}0001"
    return siret + luhn_key(siret)


@dataclass(frozen=True)
class OrgSpec:
    type: str
    nom: str
    region_id: int | None = None
    departement_id: int | None = None
    collectivite_id: int | None = None
    siret: str = ""

    @property
    def db_key(self) -> tuple:
        return (self.type, self.nom, self.region_id, self.departement_id, self.collectivite_id)


def de_departement(dep: Departement, collectivites_by_code: dict[str, Collectivite]) -> str:
    c = collectivites_by_code.get(f"D{dep.code}")
    if c is not None and c.nom.startswith("Département "):
        return c.nom[len("Département ") :]
    return DE_DEPARTEMENT.get(dep.code) or de(dep.nom)


# Partners as earlier versions of the demo named them, before invented partners said so in their name:
# ``seed_demo --reset`` still removes them from a database seeded by such a version.
ANCIENS_PARTENAIRES = (
    ("ccas", "CCAS {de_ville}"),
    ("sauvegarde", "ADSEA – Sauvegarde de l'enfance et de l'adolescence {de}"),
    ("parents", "École des parents et des éducateurs {de}"),
    ("adil", "ADIL {de}"),
    ("banque_alimentaire", "Banque alimentaire {de}"),
    ("pimms", "PIMMS Médiation {de_ville}"),
    ("mobilite", "Plateforme mobilité solidaire {de}"),
    ("petits_freres", "Petits Frères des Pauvres – équipe {de}"),
    ("insertion", "Association Tremplin insertion {de}"),
)


def org_specs(
    departements: list[Departement],
    regions: list[Region],
    collectivites: list[Collectivite],
    all_collectivites,
    partenaires=PARTENAIRES,
) -> dict[tuple, OrgSpec]:
    """The demo organisations of a scope, by key: ("ddets", "05"), ("partenaire", "05", "caf")…
    (``partenaires``: the partners' keys and names, the catalogue's unless told otherwise)."""
    by_code = {c.code: c for c in all_collectivites}
    specs: dict[tuple, OrgSpec] = {("centrale",): OrgSpec(TypeOrganisation.ADMINISTRATION_CENTRALE, "DGCS")}
    for region in regions:
        prefix = "DEETS" if len(region.code) == 2 and region.code < "10" else "DREETS"
        specs[("dreets", region.code)] = OrgSpec(TypeOrganisation.DREETS, f"{prefix} {region.nom}", region_id=region.pk)
    for dep in departements:
        de_dep = de_departement(dep, by_code)
        ville = CHEFS_LIEUX.get(dep.code, dep.nom)
        specs[("ddets", dep.code)] = OrgSpec(TypeOrganisation.DDETS, f"DDETS {de_dep}", departement_id=dep.pk)
        specs[("prefecture", dep.code)] = OrgSpec(
            TypeOrganisation.PREFECTURE, f"Préfecture {de_dep}", departement_id=dep.pk
        )
        for kind, pattern in partenaires:
            nom = pattern.format(de=de_dep, de_ville=de(ville))
            siret = siret_fictif(dep.code, kind) if partenaires is PARTENAIRES else ""
            specs[("partenaire", dep.code, kind)] = OrgSpec(
                TypeOrganisation.PARTENAIRE, nom, departement_id=dep.pk, siret=siret
            )
    for c in collectivites:
        specs[("collectivite", c.code)] = OrgSpec(TypeOrganisation.COLLECTIVITE, c.nom, collectivite_id=c.pk)
    return specs


def all_demo_org_specs(partenaires=PARTENAIRES) -> dict[tuple, OrgSpec]:
    """Every organisation a seed may create, at any scale (used by ``purge``)."""
    collectivites = list(Collectivite.objects.all())
    return org_specs(
        list(Departement.objects.all()), list(Region.objects.all()), collectivites, collectivites, partenaires
    )


class TerritoiresMixin(BuilderBase):
    """The scope (collectivités, départements, régions), its organisations and the demo users."""

    def load_reference(self) -> None:
        self.axes = {a.numero: a for a in Axe.objects.all()}
        self.mesures = {m.code: m for m in Mesure.objects.select_related("axe", "objectif")}
        self.objectifs = {o.code: o for o in Objectif.objects.select_related("axe")}
        self.regles = regles_par_type()
        self.titres = dict(RegleTypeContrat.objects.values_list("type_contrat", "titre_defaut"))
        self.versement_aux_porteurs = set(
            RegleTypeContrat.objects.filter(versement_aux_porteurs=True).values_list("type_contrat", flat=True)
        )
        self.all_collectivites = list(
            Collectivite.objects.select_related("region").prefetch_related("departements").order_by("code")
        )
        if self.scale == "national":
            scope = self.all_collectivites
        else:
            if not Region.objects.filter(code=self.region_code).exists():
                raise ValueError(f"Région inconnue : {self.region_code} (code INSEE, ex. 93).")
            scope = [c for c in self.all_collectivites if c.region.code == self.region_code]
        self.scope = scope
        self.by_code = {c.code: c for c in self.all_collectivites}
        dep_codes = {d.code for c in scope for d in c.departements.all()} | ALWAYS_DEPARTEMENTS
        self.departements = {d.code: d for d in Departement.objects.filter(code__in=dep_codes)}
        region_codes = {c.region.code for c in scope} | ALWAYS_REGIONS
        self.regions = list(Region.objects.filter(code__in=region_codes))
        self.de_dep = {code: de_departement(d, self.by_code) for code, d in self.departements.items()}

    @staticmethod
    def main_departement(c: Collectivite) -> Departement:
        return min(c.departements.all(), key=lambda d: d.code)

    def weight(self, c: Collectivite) -> float:
        pop = sum(POPULATION.get(d.code, 300) for d in c.departements.all())
        w = max(0.35, min(2.6, (pop / 650) ** 0.7))
        return round(w * 0.55, 3) if c.est_metropole else w

    def ensure_organisations(self) -> None:
        collectivites = self.scope + [self.by_code[c] for c in sorted(ALWAYS_COLLECTIVITES) if c in self.by_code]
        specs = org_specs(list(self.departements.values()), self.regions, collectivites, self.all_collectivites)
        existing = {}
        for org in Organisation.objects.all():
            key = (org.type, org.nom, org.region_id, org.departement_id, org.collectivite_id)
            existing.setdefault(key, org)
        missing, without_siret = [], []
        self.orgs: dict[tuple, Organisation] = {}
        for key, spec in specs.items():
            org = existing.get(spec.db_key)
            if org is None:
                org = Organisation(
                    type=spec.type,
                    nom=spec.nom,
                    region_id=spec.region_id,
                    departement_id=spec.departement_id,
                    collectivite_id=spec.collectivite_id,
                    siret=spec.siret,
                )
                missing.append(org)
            elif spec.siret and not org.siret:  # created by an earlier version of the demo
                org.siret = spec.siret
                without_siret.append(org)
            self.orgs[key] = org
        Organisation.objects.bulk_create(missing, batch_size=BATCH)
        Organisation.objects.bulk_update(without_siret, ["siret"], batch_size=BATCH)

    def partenaire(self, c: Collectivite, kind: str) -> Organisation:
        if kind == "collectivite":
            return self.orgs[("collectivite", c.code)]
        return self.orgs[("partenaire", self.main_departement(c).code, kind)]

    def weights_by_region(self) -> dict[str, dict[str, Decimal]]:
        """The population weights of every région's collectivités (all of France, whatever the scale),
        summed by kind of contract: ``{"93": {"cls": …, "cdie": …, "cpt": …}}``."""
        weights: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        for c in self.all_collectivites:
            for famille in familles_of(c):
                weights[c.region.code][famille] += Decimal(str(self.weight(c)))
        return weights

    def ensure_users(self) -> dict[str, User]:
        password = make_password(demo_password())
        users = {}
        for spec in DEMO_USERS:
            users[spec.username], _ = User.objects.update_or_create(
                username=spec.username,
                defaults={
                    "first_name": spec.first_name,
                    "last_name": spec.last_name,
                    "email": f"{spec.username}@demo.pacte.example.gouv.fr",
                    "organisation": self.orgs.get(spec.org) if spec.org else None,
                    "role": spec.role,
                    "is_staff": True,
                    "is_superuser": spec.superuser,
                    "is_active": True,
                    "password": password,
                },
            )
        return users

    @staticmethod
    def person(rng: random.Random) -> tuple[str, bool]:
        feminine = rng.random() < 0.5
        prenom = rng.choice(PRENOMS_F if feminine else PRENOMS_M)
        return f"{prenom} {rng.choice(NOMS)}", feminine
