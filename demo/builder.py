"""Demo data for the Pacte des solidarités: contracts, fiches actions, money, follow-up, and demo users.

Used by ``manage.py seed_demo`` (and ``bench_seed``). Everything is built in memory and written with
``bulk_create`` in one transaction: the per-object services run ``full_clean`` and several queries
per row, far too slow for a national seed. The data still follows the product's rules, and
``tests/demo/test_seed_demo.py`` checks them through the services: every contract signed or later passes
``contrats.services.signature_errors``.

A few deliberate anomalies are planted so that the screens have something to show (DOMAIN.md §5):

- spent amounts breaking parity on some executed fiches (``financement.services.alertes_realise``);
- a CPT in negotiation whose planned amounts break parity (``signature_errors`` lists it);
- a draft CPT whose State shares exceed its annual ceiling.

The same ``--seed`` gives the same data: every collectivité draws from its own random generator
(seeded by the seed and its code), so a région looks the same at the région and the national scale.
No history rows are written for seeded data.
"""

from __future__ import annotations

import math
import os
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal

from django.apps import apps
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from actions.enums import STATUTS_ACTIFS, NatureAction, StatutFiche, TypeIndicateur
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import (
    PREFIXES,
    STATUTS_FIGES,
    NatureModification,
    PartieSignataire,
    StatutAvenant,
    StatutContrat,
    TypeComite,
    TypeContrat,
)
from contrats.models import Avenant, Comite, Contrat, ModificationAvenant, RegleTypeContrat, Signataire, Volet
from financement.enums import DecisionReliquat, NatureVersement, StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from financement.regles import Regle, regle_pour, regles_par_type
from financement.services import date_limite_rapport
from pacte.enums import NatureCollectivite, Role, TypeOrganisation
from pacte.models import Axe, Collectivite, Departement, Mesure, Organisation, Region, User
from pacte.money import ZERO, format_euros, to_cents

SCALES = ("region", "national")
DEFAULT_REGION = "93"
DEFAULT_SEED = 42
DEMO_PASSWORD_DEFAULT = "demo-pacte-2024"
SHOWCASE = "D05"  # the collectivité whose contracts tell the full story (the demo users work on it)
BATCH = 1000

DEPARTEMENT_NATURES = {
    NatureCollectivite.DEPARTEMENT,
    NatureCollectivite.STATUT_PARTICULIER,
    NatureCollectivite.TERRITORIALE_UNIQUE,
}
STATUTS_SIGNES = STATUTS_FIGES  # signé, en exécution, clos, résilié

R, S = TypeIndicateur.REALISATION, TypeIndicateur.RESULTAT


def demo_password() -> str:
    return os.environ.get("DEMO_PASSWORD") or DEMO_PASSWORD_DEFAULT


# --- Demo users (DOMAIN.md §7: one per persona) ----------------------------------------------------


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

CHEFS_LIEUX = {
    "01": "Bourg-en-Bresse", "02": "Laon", "03": "Moulins", "04": "Digne-les-Bains", "05": "Gap", "06": "Nice",
    "07": "Privas", "08": "Charleville-Mézières", "09": "Foix", "10": "Troyes", "11": "Carcassonne",
    "12": "Rodez", "13": "Marseille", "14": "Caen", "15": "Aurillac", "16": "Angoulême", "17": "La Rochelle",
    "18": "Bourges", "19": "Tulle", "2A": "Ajaccio", "2B": "Bastia", "21": "Dijon", "22": "Saint-Brieuc",
    "23": "Guéret", "24": "Périgueux", "25": "Besançon", "26": "Valence", "27": "Évreux", "28": "Chartres",
    "29": "Quimper", "30": "Nîmes", "31": "Toulouse", "32": "Auch", "33": "Bordeaux", "34": "Montpellier",
    "35": "Rennes", "36": "Châteauroux", "37": "Tours", "38": "Grenoble", "39": "Lons-le-Saunier",
    "40": "Mont-de-Marsan", "41": "Blois", "42": "Saint-Étienne", "43": "Le Puy-en-Velay", "44": "Nantes",
    "45": "Orléans", "46": "Cahors", "47": "Agen", "48": "Mende", "49": "Angers", "50": "Saint-Lô",
    "51": "Châlons-en-Champagne", "52": "Chaumont", "53": "Laval", "54": "Nancy", "55": "Bar-le-Duc",
    "56": "Vannes", "57": "Metz", "58": "Nevers", "59": "Lille", "60": "Beauvais", "61": "Alençon",
    "62": "Arras", "63": "Clermont-Ferrand", "64": "Pau", "65": "Tarbes", "66": "Perpignan", "67": "Strasbourg",
    "68": "Colmar", "69": "Lyon", "70": "Vesoul", "71": "Mâcon", "72": "Le Mans", "73": "Chambéry",
    "74": "Annecy", "75": "Paris", "76": "Rouen", "77": "Melun", "78": "Versailles", "79": "Niort",
    "80": "Amiens", "81": "Albi", "82": "Montauban", "83": "Toulon", "84": "Avignon", "85": "La Roche-sur-Yon",
    "86": "Poitiers", "87": "Limoges", "88": "Épinal", "89": "Auxerre", "90": "Belfort",
    "91": "Évry-Courcouronnes", "92": "Nanterre", "93": "Bobigny", "94": "Créteil", "95": "Cergy",
    "971": "Basse-Terre", "972": "Fort-de-France", "973": "Cayenne", "974": "Saint-Denis", "976": "Mamoudzou",
}  # fmt: skip

# Population in thousands (approximate, 2021): sizes the budgets and the number of actions.
POPULATION = {
    "01": 660, "02": 530, "03": 335, "04": 165, "05": 141, "06": 1100, "07": 330, "08": 270, "09": 155,
    "10": 310, "11": 375, "12": 280, "13": 2040, "14": 700, "15": 145, "16": 350, "17": 660, "18": 300,
    "19": 240, "2A": 160, "2B": 185, "21": 535, "22": 600, "23": 115, "24": 415, "25": 545, "26": 520,
    "27": 600, "28": 430, "29": 920, "30": 750, "31": 1420, "32": 190, "33": 1650, "34": 1190, "35": 1100,
    "36": 215, "37": 610, "38": 1280, "39": 260, "40": 420, "41": 330, "42": 770, "43": 230, "44": 1460,
    "45": 680, "46": 175, "47": 330, "48": 77, "49": 820, "50": 495, "51": 565, "52": 170, "53": 307,
    "54": 735, "55": 182, "56": 760, "57": 1045, "58": 200, "59": 2610, "60": 830, "61": 280, "62": 1460,
    "63": 665, "64": 690, "65": 230, "66": 480, "67": 1150, "68": 770, "69": 1880, "70": 235, "71": 550,
    "72": 565, "73": 440, "74": 830, "75": 2130, "76": 1250, "77": 1430, "78": 1450, "79": 375, "80": 570,
    "81": 390, "82": 260, "83": 1080, "84": 560, "85": 690, "86": 440, "87": 370, "88": 360, "89": 335,
    "90": 140, "91": 1300, "92": 1630, "93": 1660, "94": 1410, "95": 1250, "971": 385, "972": 360,
    "973": 285, "974": 870, "976": 300,
}  # fmt: skip

# "de …" forms of the départements that no "Département …" collectivité names.
DE_DEPARTEMENT = {
    "75": "de Paris",
    "67": "du Bas-Rhin",
    "68": "du Haut-Rhin",
    "2A": "de Corse-du-Sud",
    "2B": "de la Haute-Corse",
    "972": "de la Martinique",
    "973": "de la Guyane",
}

PRENOMS_F = (
    "Claire", "Sophie", "Isabelle", "Nathalie", "Catherine", "Anne", "Valérie", "Sandrine", "Hélène", "Émilie",
    "Camille", "Julie", "Marion", "Aurélie", "Florence", "Christine", "Laurence", "Élodie", "Agnès", "Martine",
)  # fmt: skip
PRENOMS_M = (
    "Jean", "Philippe", "Nicolas", "Christophe", "Laurent", "Olivier", "Thierry", "Stéphane", "Pierre", "François",
    "Éric", "Frédéric", "Julien", "Sébastien", "Patrick", "Michel", "Bruno", "Vincent", "Alain", "Thomas",
)  # fmt: skip
NOMS = (
    "Martin", "Bernard", "Dubois", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau", "Simon", "Laurent",
    "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel", "Girard",
    "André", "Mercier", "Dupont", "Lambert", "Bonnet", "Legrand", "Garnier", "Faure", "Rousseau", "Blanc",
    "Guérin", "Muller", "Henry", "Roussel", "Perrin", "Morin", "Mathieu", "Clément", "Gauthier", "Dumont",
    "Lopez", "Fontaine", "Chevalier", "Robin", "Masson", "Sanchez", "Meunier", "Brun", "Barbier",
)  # fmt: skip


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

# Partners created in every département of the scope: (key, name pattern). ``{de}`` is the
# département ("des Hautes-Alpes"), ``{de_ville}`` its chef-lieu ("de Gap").
PARTENAIRES = (
    ("caf", "CAF {de}"),
    ("cpam", "CPAM {de}"),
    ("france_travail", "France Travail – direction territoriale {de}"),
    ("ars", "ARS – délégation départementale {de}"),
    ("dsden", "Éducation nationale – DSDEN {de}"),
    ("commune", "Ville {de_ville}"),
    ("ccas", "CCAS {de_ville}"),
    ("mission_locale", "Mission locale {de_ville}"),
    ("sauvegarde", "ADSEA – Sauvegarde de l'enfance et de l'adolescence {de}"),
    ("parents", "École des parents et des éducateurs {de}"),
    ("udaf", "UDAF {de}"),
    ("adil", "ADIL {de}"),
    ("secours_populaire", "Secours populaire français – fédération {de}"),
    ("croix_rouge", "Croix-Rouge française – délégation territoriale {de}"),
    ("banque_alimentaire", "Banque alimentaire {de}"),
    ("pimms", "PIMMS Médiation {de_ville}"),
    ("mobilite", "Plateforme mobilité solidaire {de}"),
    ("petits_freres", "Petits Frères des Pauvres – équipe {de}"),
    ("insertion", "Association Tremplin insertion {de}"),
)
SIGNATAIRES_CPT = ("caf", "cpam", "france_travail", "ars", "dsden", "udaf")
QUALITE_PARTENAIRE = {  # (masculine, feminine)
    "caf": ("Directeur", "Directrice"),
    "cpam": ("Directeur", "Directrice"),
    "france_travail": ("Directeur territorial", "Directrice territoriale"),
    "ars": ("Délégué départemental", "Déléguée départementale"),
    "dsden": ("Directeur académique", "Directrice académique"),
    "udaf": ("Président", "Présidente"),
}


@dataclass(frozen=True)
class OrgSpec:
    type: str
    nom: str
    region_id: int | None = None
    departement_id: int | None = None
    collectivite_id: int | None = None

    @property
    def db_key(self) -> tuple:
        return (self.type, self.nom, self.region_id, self.departement_id, self.collectivite_id)


def de_departement(dep: Departement, collectivites_by_code: dict[str, Collectivite]) -> str:
    c = collectivites_by_code.get(f"D{dep.code}")
    if c is not None and c.nom.startswith("Département "):
        return c.nom[len("Département ") :]
    return DE_DEPARTEMENT.get(dep.code) or de(dep.nom)


def org_specs(
    departements: list[Departement], regions: list[Region], collectivites: list[Collectivite], all_collectivites
) -> dict[tuple, OrgSpec]:
    """The demo organisations of a scope, by key: ("ddets", "05"), ("partenaire", "05", "caf")…"""
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
        for kind, pattern in PARTENAIRES:
            nom = pattern.format(de=de_dep, de_ville=de(ville))
            specs[("partenaire", dep.code, kind)] = OrgSpec(TypeOrganisation.PARTENAIRE, nom, departement_id=dep.pk)
    for c in collectivites:
        specs[("collectivite", c.code)] = OrgSpec(TypeOrganisation.COLLECTIVITE, c.nom, collectivite_id=c.pk)
    return specs


def all_demo_org_specs() -> dict[tuple, OrgSpec]:
    """Every organisation a seed may create, at any scale (used by ``purge``)."""
    collectivites = list(Collectivite.objects.all())
    return org_specs(list(Departement.objects.all()), list(Region.objects.all()), collectivites, collectivites)


# --- Catalogue of actions (DOMAIN.md §4 examples) ----------------------------------------------------


@dataclass(frozen=True)
class Gabarit:
    intitule: str
    mesure: str | None
    porteur: str  # "collectivite" or a PARTENAIRES key
    public: str
    constat: str
    objectifs: str
    description: str
    indicateurs: tuple[tuple[str, str, str], ...]
    volume: tuple[int, int]
    cout: tuple[int, int]  # the State's yearly share, before the territory's weight
    autres: tuple[str, ...] = ()  # possible third funders
    volet: int | None = None  # CDIE volet (axis 2)


AXE1 = (
    Gabarit(
        "Bus des familles : lieu d'accueil parents-enfants itinérant", "1.2", "parents",
        "Familles avec enfants de moins de 6 ans des communes rurales et de montagne",
        "l'éloignement des services de la petite enfance isole les familles des territoires ruraux.",
        "Rompre l'isolement des parents, soutenir le lien parent-enfant, orienter vers les modes d'accueil.",
        "Un bus aménagé stationne chaque semaine dans une dizaine de communes : accueil libre, ateliers d'éveil, "
        "permanence d'une éducatrice de jeunes enfants et d'une conseillère en économie sociale et familiale.",
        (("Familles accueillies", R, "familles"), ("Communes desservies", R, "communes"),
         ("Familles orientées vers un mode d'accueil", S, "%")),
        (80, 260), (25_000, 60_000), ("caf",),
    ),
    Gabarit(
        "Centre parental : accompagnement des futurs et jeunes parents en difficulté", "1.2", "sauvegarde",
        "Futurs parents et parents d'enfants de moins de 3 ans en situation de vulnérabilité",
        "des placements de nourrissons pourraient être évités par un accompagnement précoce des deux parents.",
        "Prévenir les placements, accompagner la parentalité et l'accès à un logement autonome.",
        "Hébergement et accompagnement pluridisciplinaire des deux parents et de l'enfant pendant six à douze mois.",
        (("Familles accompagnées", R, "familles"), ("Sorties vers un logement autonome", S, "%")),
        (10, 30), (60_000, 140_000), ("caf",),
    ),
    Gabarit(
        "Prévention du décrochage scolaire : référent départemental et cellule de veille", None, "collectivite",
        "Collégiens de 11 à 16 ans en risque de décrochage et leurs familles",
        "un collégien sur vingt cumule absentéisme et difficultés sociales dans les secteurs les plus fragiles.",
        "Repérer tôt les élèves en risque de décrochage et construire une réponse éducative et sociale partagée.",
        "Un référent départemental anime une cellule de veille avec l'Éducation nationale, la prévention spécialisée "
        "et les services sociaux ; chaque situation fait l'objet d'un plan d'accompagnement.",
        (("Jeunes suivis par la cellule de veille", R, "jeunes"), ("Jeunes maintenus ou raccrochés", S, "%")),
        (60, 220), (20_000, 55_000),
    ),
    Gabarit(
        "Crèche à vocation d'insertion professionnelle (AVIP)", "1.1", "ccas",
        "Parents sans emploi, en priorité familles monoparentales, avec enfants de moins de 3 ans",
        "le manque de solutions de garde freine le retour à l'emploi des parents isolés.",
        "Offrir une place d'accueil au jeune enfant le temps du parcours d'insertion de son parent.",
        "Réservation de places en crèche labellisées AVIP et accompagnement renforcé du parent vers l'emploi.",
        (("Places AVIP ouvertes", R, "places"), ("Parents en emploi ou en formation à 6 mois", S, "%")),
        (12, 40), (20_000, 50_000), ("caf",),
    ),
    Gabarit(
        "Petits-déjeuners et repas équilibrés dans les écoles des quartiers prioritaires", "1.4", "commune",
        "Élèves des écoles maternelles et élémentaires des quartiers prioritaires",
        "de nombreux enfants arrivent à l'école le ventre vide dans les quartiers prioritaires.",
        "Lutter contre la malnutrition infantile et les inégalités dès l'école.",
        "Distribution de petits-déjeuners deux fois par semaine et ateliers d'éducation à l'alimentation.",
        (("Enfants bénéficiaires", R, "enfants"), ("Écoles participantes", R, "écoles")),
        (300, 1500), (15_000, 40_000),
    ),
    Gabarit(
        "Programme « Ouverture » : loisirs et vacances pour les enfants des familles modestes", "1.5", "caf",
        "Enfants de 3 à 17 ans des familles à bas revenus",
        "les enfants des familles modestes partent deux fois moins en vacances et accèdent peu aux loisirs.",
        "Garantir à chaque enfant l'accès à des loisirs de qualité et à un départ en vacances.",
        "Aides au départ, places réservées en accueils de loisirs et séjours collectifs, accompagnement des familles.",
        (("Enfants partis en séjour", R, "enfants"), ("Enfants inscrits en accueil de loisirs", R, "enfants")),
        (150, 600), (20_000, 50_000), ("caf", "commune"),
    ),
    Gabarit(
        "Mise à l'abri et accompagnement des familles avec enfants sans solution d'hébergement", "1.3",
        "croix_rouge",
        "Familles avec enfants à la rue ou hébergées à l'hôtel",
        "le nombre de familles avec enfants sans solution d'hébergement stable a augmenté depuis 2021.",
        "Mettre à l'abri et stabiliser les familles, scolariser les enfants, préparer l'accès au logement.",
        "Places d'hébergement adaptées aux familles, accompagnement social global et soutien à la scolarité.",
        (("Familles mises à l'abri", R, "familles"), ("Familles relogées", S, "familles")),
        (20, 80), (50_000, 120_000),
    ),
    Gabarit(
        "Prévention spécialisée : éducateurs de rue dans deux quartiers prioritaires", None, "sauvegarde",
        "Jeunes de 11 à 25 ans en risque de marginalisation",
        "deux quartiers prioritaires ne bénéficient d'aucune présence éducative de rue.",
        "Aller vers les jeunes en rupture, prévenir la marginalisation, les raccrocher au droit commun.",
        "Une équipe de trois éducateurs intervient en soirée et le samedi, en lien avec les collèges et la mission "
        "locale.",
        (("Jeunes accompagnés", R, "jeunes"), ("Jeunes en formation ou en emploi à la sortie", S, "%")),
        (80, 200), (40_000, 90_000), ("commune",),
    ),
    Gabarit(
        "Maison des 1 000 premiers jours", "1.2", "collectivite",
        "Futurs et jeunes parents, de la grossesse aux 2 ans de l'enfant",
        "les professionnels de PMI constatent un isolement croissant des jeunes parents.",
        "Offrir un lieu ressource unique aux jeunes parents, prévenir l'épuisement parental.",
        "Lieu d'accueil animé par la PMI : consultations, ateliers collectifs, groupes de parole, relais vers la CAF.",
        (("Parents accueillis", R, "parents"), ("Ateliers collectifs organisés", R, "ateliers")),
        (150, 500), (25_000, 60_000), ("caf", "ars"),
    ),
    Gabarit(
        "Soutien à la parentalité des familles monoparentales", "1.2", "udaf",
        "Parents isolés allocataires de minima sociaux",
        "un tiers des familles monoparentales vit sous le seuil de pauvreté.",
        "Rompre l'isolement des parents seuls et les soutenir dans leur rôle éducatif.",
        "Groupes de parole, médiation familiale, relais de garde ponctuelle et accompagnement budgétaire.",
        (("Parents accompagnés", R, "parents"), ("Parents déclarant un mieux-être à 6 mois", S, "%")),
        (60, 200), (15_000, 40_000), ("caf",),
    ),
    Gabarit(
        "Repérage et prise en charge de la malnutrition infantile par la PMI", "1.4", "collectivite",
        "Enfants de 0 à 6 ans suivis par la PMI et leurs familles",
        "les bilans de santé en école maternelle relèvent une hausse des situations de surpoids et de carence.",
        "Repérer précocement les troubles nutritionnels et accompagner les familles.",
        "Dépistage lors des bilans de 4 ans, consultations diététiques et ateliers cuisine parents-enfants.",
        (("Enfants dépistés", R, "enfants"), ("Familles accompagnées par une diététicienne", R, "familles")),
        (400, 1500), (15_000, 35_000), ("ars",),
    ),
    Gabarit(
        "Accès des enfants des familles précaires aux modes d'accueil collectifs (bonus mixité)", "1.1", "caf",
        "Enfants de moins de 3 ans de familles à bas revenus",
        "moins de 5 % des enfants des familles pauvres sont accueillis en crèche.",
        "Augmenter la part d'enfants de familles modestes accueillis en établissement d'accueil du jeune enfant.",
        "Bonus versé aux crèches qui accueillent des enfants de familles précaires et coordination des admissions.",
        (("Enfants de familles précaires accueillis", R, "enfants"), ("Part d'enfants de familles précaires", S, "%")),
        (40, 160), (20_000, 45_000),
    ),
    Gabarit(
        "Médiation santé et scolarité pour les enfants des familles hébergées à l'hôtel", "1.3", "croix_rouge",
        "Enfants de familles hébergées à l'hôtel au titre de l'urgence",
        "les enfants hébergés à l'hôtel cumulent retards de soins et ruptures de scolarité.",
        "Garantir la scolarisation et l'accès aux soins des enfants hébergés.",
        "Deux médiateurs assurent le lien entre les hôtels, les écoles, la PMI et les centres de santé.",
        (("Enfants suivis", R, "enfants"), ("Enfants scolarisés à 3 mois", S, "%")),
        (60, 220), (20_000, 45_000), ("ars",),
    ),
)  # fmt: skip

AXE3 = (
    Gabarit(
        "Rendez-vous des droits élargis et accompagnement à l'ouverture des droits", "3.1", "caf",
        "Allocataires et ménages repérés en situation de non-recours",
        "le non-recours aux prestations reste élevé, en particulier pour la prime d'activité et la complémentaire "
        "santé solidaire.",
        "Réduire le non-recours en examinant l'ensemble des droits des ménages lors d'un rendez-vous unique.",
        "Rendez-vous des droits proposés par la CAF, élargis aux droits ouverts par le Département, la CPAM et les "
        "communes, avec un suivi jusqu'à l'ouverture effective.",
        (("Rendez-vous des droits réalisés", R, "rendez-vous"), ("Droits ouverts à l'issue du rendez-vous", S, "%")),
        (400, 1800), (20_000, 55_000), ("cpam",),
    ),
    Gabarit(
        "Formation des bénévoles et des travailleurs sociaux à l'accès aux droits", "3.1", "udaf",
        "Bénévoles associatifs, agents d'accueil et travailleurs sociaux",
        "les bénévoles des associations caritatives se disent démunis face à la complexité des démarches.",
        "Outiller les acteurs de proximité pour repérer le non-recours et orienter vers les bons interlocuteurs.",
        "Cycle de formations d'une journée sur les principales prestations, les outils numériques et l'orientation.",
        (("Personnes formées", R, "personnes"), ("Sessions organisées", R, "sessions")),
        (80, 300), (10_000, 25_000), ("caf",),
    ),
    Gabarit(
        "Médiateurs numériques pour l'accès aux droits", "3.1", "pimms",
        "Personnes éloignées du numérique, en particulier seniors et allocataires de minima sociaux",
        "près d'un habitant sur cinq renonce à une démarche en ligne faute de savoir-faire ou d'équipement.",
        "Accompagner les démarches en ligne et rendre les personnes autonomes dans leurs démarches.",
        "Permanences de médiateurs numériques dans les France services et les CCAS, ateliers collectifs.",
        (("Personnes accompagnées", R, "personnes"), ("Personnes autonomes après 3 ateliers", S, "%")),
        (300, 1200), (20_000, 50_000), ("commune",),
    ),
    Gabarit(
        "« 1 jeune 1 senior » : binômes intergénérationnels contre l'isolement", None, "petits_freres",
        "Personnes âgées isolées et jeunes volontaires en service civique",
        "l'isolement des personnes âgées s'est aggravé depuis la crise sanitaire, surtout en milieu rural.",
        "Rompre l'isolement des aînés et valoriser l'engagement des jeunes.",
        "Des binômes jeune-senior se rencontrent chaque semaine : visites, sorties, aide aux démarches numériques.",
        (("Binômes constitués", R, "binômes"), ("Seniors se déclarant moins isolés", S, "%")),
        (30, 120), (10_000, 30_000),
    ),
    Gabarit(
        "Lutte contre l'isolement des personnes âgées en situation de précarité", None, "petits_freres",
        "Personnes de plus de 60 ans isolées et à faibles ressources",
        "un tiers des bénéficiaires de l'ASPA vit seul, sans visite régulière.",
        "Repérer les personnes âgées isolées et recréer du lien social.",
        "Repérage avec les CCAS et les services d'aide à domicile, visites de convivialité, appels réguliers.",
        (("Personnes âgées accompagnées", R, "personnes"), ("Bénévoles mobilisés", R, "bénévoles")),
        (60, 250), (15_000, 35_000), ("commune",),
    ),
    Gabarit(
        "Prévention des expulsions locatives : diagnostics sociaux et financiers précoces", "3.2", "adil",
        "Locataires en impayé de loyer, dès le premier mois d'impayé",
        "les commandements de payer ont augmenté et les ménages sont souvent rencontrés trop tard.",
        "Intervenir dès les premiers impayés pour maintenir les ménages dans leur logement.",
        "Une équipe mobile réalise les diagnostics sociaux et financiers et mobilise le fonds de solidarité logement.",
        (("Diagnostics réalisés", R, "ménages"), ("Ménages maintenus dans leur logement", S, "%")),
        (80, 350), (25_000, 60_000), ("caf",),
    ),
    Gabarit(
        "Maraudes mixtes sanitaires et sociales", "3.3", "croix_rouge",
        "Personnes sans abri et en grande exclusion",
        "les personnes à la rue cumulent problèmes de santé non soignés et absence de droits.",
        "Aller vers les personnes à la rue, soigner, ouvrir les droits et orienter vers l'hébergement.",
        "Maraudes en binôme infirmier-travailleur social trois soirs par semaine, en lien avec le SIAO.",
        (("Personnes rencontrées", R, "personnes"), ("Personnes orientées vers un hébergement", S, "personnes")),
        (150, 600), (30_000, 70_000), ("ars",),
    ),
    Gabarit(
        "Accueil de jour et halte de nuit pour femmes en situation de précarité", "3.3", "secours_populaire",
        "Femmes seules ou avec enfants, sans domicile ou mal logées",
        "les femmes représentent une part croissante des personnes sans domicile.",
        "Offrir un lieu sécurisant et un accompagnement vers la santé, les droits et le logement.",
        "Accueil de jour avec douches, bagagerie, consultations de sages-femmes et permanences sociales.",
        (("Femmes accueillies", R, "personnes"), ("Femmes orientées vers un logement", S, "personnes")),
        (80, 300), (30_000, 80_000), ("ars",),
    ),
    Gabarit(
        "Domiciliation et accès aux droits des personnes sans domicile stable", "3.1", "ccas",
        "Personnes sans domicile stable",
        "les délais de domiciliation retardent l'ouverture des droits des personnes sans domicile.",
        "Garantir une domiciliation rapide et l'ouverture des droits qui en dépendent.",
        "Renfort du service de domiciliation du CCAS et accompagnement aux démarches d'ouverture de droits.",
        (("Personnes domiciliées", R, "personnes"), ("Délai moyen de domiciliation", S, "jours")),
        (200, 900), (10_000, 30_000),
    ),
    Gabarit(
        "Guichet d'accès aux droits itinérant en zone rurale", "3.1", "collectivite",
        "Habitants des communes rurales éloignées des services publics",
        "les habitants des zones rurales sont à plus de 30 minutes d'un accueil social.",
        "Rapprocher les services sociaux des habitants des zones rurales.",
        "Un véhicule aménagé assure des permanences hebdomadaires avec les travailleurs sociaux du Département.",
        (("Permanences tenues", R, "permanences"), ("Personnes reçues", R, "personnes")),
        (100, 500), (20_000, 50_000), ("caf", "cpam"),
    ),
    Gabarit(
        "Points conseil budget et prévention du surendettement", "3.1", "udaf",
        "Ménages en difficulté budgétaire",
        "les dossiers de surendettement repartent à la hausse avec l'inflation.",
        "Prévenir le surendettement par un conseil budgétaire gratuit et confidentiel.",
        "Points conseil budget labellisés : diagnostic, médiation avec les créanciers, accompagnement.",
        (("Ménages conseillés", R, "ménages"), ("Dossiers de surendettement évités", S, "ménages")),
        (100, 400), (15_000, 35_000),
    ),
    Gabarit(
        "Parcours de soins des personnes en grande précarité (PASS mobile)", "3.3", "croix_rouge",
        "Personnes sans droits ouverts ou en rupture de soins",
        "les urgences hospitalières restent la seule porte d'entrée dans le soin pour les plus précaires.",
        "Ramener les personnes précaires vers le soin et le droit commun.",
        "Une permanence d'accès aux soins mobile intervient dans les accueils de jour et les centres d'hébergement.",
        (("Personnes prises en charge", R, "personnes"), ("Personnes ayant ouvert leurs droits santé", S, "%")),
        (100, 400), (25_000, 60_000), ("ars", "cpam"),
    ),
    Gabarit(
        "Accueil inconditionnel de proximité dans les centres sociaux", "3.1", "ccas",
        "Tout public, en priorité les personnes en situation de non-recours",
        "les habitants ne savent pas à quel guichet s'adresser et multiplient les démarches.",
        "Garantir à toute personne un premier accueil social inconditionnel à moins de 30 minutes.",
        "Labellisation de lieux d'accueil inconditionnel et formation commune des agents d'accueil.",
        (("Lieux labellisés", R, "lieux"), ("Personnes accueillies", R, "personnes")),
        (500, 2500), (10_000, 30_000), ("caf",),
    ),
)  # fmt: skip

AXE4 = (
    Gabarit(
        "Accès à une alimentation durable et de qualité pour les ménages modestes", "4.1", "banque_alimentaire",
        "Ménages bénéficiaires de l'aide alimentaire",
        "l'aide alimentaire reste pauvre en fruits, légumes et produits frais.",
        "Améliorer la qualité nutritionnelle de l'aide alimentaire et la part de produits locaux.",
        "Achats de produits frais auprès des producteurs locaux, chaîne du froid et ateliers cuisine.",
        (("Tonnes de produits frais distribués", R, "tonnes"), ("Part de produits locaux", S, "%")),
        (40, 200), (25_000, 60_000), ("commune",),
    ),
    Gabarit(
        "Coordinateur départemental de l'aide alimentaire", "4.1", "banque_alimentaire",
        "Associations d'aide alimentaire et leurs bénéficiaires",
        "les associations d'aide alimentaire interviennent sans coordination et des zones blanches subsistent.",
        "Coordonner l'offre d'aide alimentaire et couvrir les zones blanches.",
        "Un coordinateur anime le réseau, mutualise la logistique et organise la couverture des zones blanches.",
        (("Associations coordonnées", R, "associations"), ("Communes en zone blanche couvertes", S, "communes")),
        (10, 40), (20_000, 45_000),
    ),
    Gabarit(
        "Épicerie sociale et solidaire itinérante", "4.1", "secours_populaire",
        "Ménages à faibles ressources des communes rurales",
        "les épiceries sociales sont concentrées dans les villes.",
        "Donner accès à une alimentation choisie et à petit prix hors des centres urbains.",
        "Un camion-épicerie dessert chaque semaine douze communes rurales, avec un accompagnement budgétaire.",
        (("Ménages inscrits", R, "ménages"), ("Communes desservies", R, "communes")),
        (100, 400), (20_000, 50_000), ("commune",),
    ),
    Gabarit(
        "Jardins partagés et ateliers cuisine dans les quartiers prioritaires", "4.1", "ccas",
        "Habitants des quartiers prioritaires",
        "les habitants des quartiers prioritaires ont peu accès aux produits frais et aux espaces verts.",
        "Favoriser une alimentation saine et le lien social autour du jardinage et de la cuisine.",
        "Création de parcelles partagées, animation par un jardinier-animateur et ateliers cuisine mensuels.",
        (("Jardiniers inscrits", R, "personnes"), ("Ateliers cuisine organisés", R, "ateliers")),
        (40, 150), (10_000, 25_000), ("commune",),
    ),
    Gabarit(
        "Cantine à 1 € dans les communes rurales", "4.2", "collectivite",
        "Élèves des écoles des communes rurales fragiles",
        "de nombreuses petites communes ne pratiquent pas de tarification sociale de la cantine.",
        "Permettre à tous les enfants de déjeuner à la cantine grâce à une tarification sociale.",
        "Accompagnement des communes éligibles à la mise en place d'une tarification à 1 € maximum.",
        (("Communes engagées", R, "communes"), ("Repas servis à 1 € ou moins", R, "repas")),
        (15, 60), (15_000, 40_000), ("commune",),
    ),
    Gabarit(
        "Plateforme mobilité solidaire : prêt de véhicules, auto-école sociale et covoiturage", "4.3", "mobilite",
        "Personnes en insertion sans solution de transport",
        "l'absence de moyen de transport est le premier frein à l'emploi cité par les allocataires du RSA.",
        "Lever les freins de mobilité par un diagnostic et des solutions adaptées.",
        "Diagnostic mobilité, location de véhicules et de deux-roues à tarif solidaire, auto-école sociale, "
        "covoiturage solidaire.",
        (("Personnes accompagnées", R, "personnes"), ("Personnes ayant retrouvé une solution de mobilité", S, "%")),
        (150, 600), (30_000, 70_000), ("france_travail",),
    ),
    Gabarit(
        "Aide à l'achat de vélos et ateliers de réparation solidaires", "4.3", "mobilite",
        "Ménages modestes et jeunes en insertion",
        "le vélo reste peu accessible aux ménages modestes faute d'équipement et d'entretien.",
        "Faciliter les déplacements du quotidien à bas coût et à faible impact.",
        "Aide à l'achat de vélos reconditionnés et ateliers d'autoréparation animés par une association.",
        (("Vélos remis", R, "vélos"), ("Ateliers de réparation", R, "ateliers")),
        (60, 300), (10_000, 30_000), ("commune",),
    ),
    Gabarit(
        "Lutte contre la précarité énergétique : visites à domicile et petits équipements", "4.4", "collectivite",
        "Ménages en situation de précarité énergétique",
        "un ménage sur six consacre plus de 8 % de ses revenus à l'énergie.",
        "Réduire les dépenses d'énergie des ménages modestes.",
        "Visites à domicile par des ambassadeurs de l'énergie, petits équipements économes et orientation vers les "
        "aides à la rénovation.",
        (("Visites réalisées", R, "ménages"), ("Économie moyenne estimée par ménage", S, "€/an")),
        (100, 400), (15_000, 40_000),
    ),
    Gabarit(
        "Tarification sociale de l'eau et accompagnement au chèque énergie", "4.4", "ccas",
        "Ménages à faibles ressources",
        "un tiers des chèques énergie n'est pas utilisé.",
        "Contenir les dépenses contraintes des ménages modestes.",
        "Information et accompagnement à l'usage du chèque énergie, mise en place d'une tarification sociale de l'eau.",
        (("Ménages accompagnés", R, "ménages"), ("Taux d'utilisation du chèque énergie", S, "%")),
        (200, 800), (10_000, 25_000),
    ),
    Gabarit(
        "Ressourcerie solidaire : équipement de la maison à petit prix", None, "insertion",
        "Ménages accédant à un logement, en priorité sortants d'hébergement",
        "les ménages qui accèdent au logement n'ont souvent pas les moyens de s'équiper.",
        "Équiper les ménages à bas coût tout en réduisant les déchets.",
        "Collecte, remise en état et revente à prix solidaire de meubles et d'électroménager par un chantier "
        "d'insertion.",
        (("Ménages équipés", R, "ménages"), ("Tonnes de déchets évitées", S, "tonnes")),
        (80, 300), (15_000, 35_000),
    ),
)  # fmt: skip

EMPLOI = (
    Gabarit(
        "Orientation rapide des allocataires du RSA : premier rendez-vous sous quinze jours", "2.2", "collectivite",
        "Nouveaux allocataires du RSA",
        "le délai moyen entre l'ouverture du droit au RSA et le premier rendez-vous dépasse trois mois.",
        "Orienter chaque nouvel allocataire dans le mois et signer un contrat d'engagement réciproque.",
        "Rendez-vous d'orientation collectifs hebdomadaires avec France Travail et diagnostic partagé des besoins.",
        (("Allocataires orientés", R, "personnes"), ("Allocataires orientés en moins d'un mois", S, "%")),
        (400, 1800), (40_000, 110_000), ("france_travail",), volet=2,
    ),
    Gabarit(
        "Accompagnement socioprofessionnel renforcé des allocataires du RSA", "2.2", "insertion",
        "Allocataires du RSA éloignés de l'emploi",
        "la moitié des allocataires du RSA le sont depuis plus de quatre ans.",
        "Construire des parcours d'insertion combinant levée des freins et immersion en entreprise.",
        "Accompagnement par des conseillers dédiés (30 personnes par conseiller), immersions et mises en situation.",
        (("Personnes accompagnées", R, "personnes"), ("Sorties vers l'emploi ou la formation", S, "%")),
        (150, 600), (60_000, 160_000), ("france_travail",), volet=2,
    ),
    Gabarit(
        "Parcours santé insertion pour les allocataires du RSA", "2.3", "cpam",
        "Allocataires du RSA dont la santé fait obstacle à l'emploi",
        "un allocataire du RSA sur trois déclare un problème de santé limitant sa recherche d'emploi.",
        "Lever les freins de santé à l'insertion professionnelle.",
        "Bilan de santé, coordination avec les médecins traitants et accompagnement vers les soins.",
        (("Bilans de santé réalisés", R, "personnes"), ("Parcours d'insertion repris", S, "%")),
        (80, 300), (30_000, 80_000), ("ars", "cpam"), volet=3,
    ),
    Gabarit(
        "Solutions de garde d'enfants pour les parents en parcours d'insertion", "2.3", "ccas",
        "Parents allocataires du RSA avec enfants de moins de 6 ans",
        "l'absence de solution de garde empêche l'entrée en formation de nombreux parents isolés.",
        "Proposer une solution de garde, y compris en horaires atypiques, dès l'entrée en parcours.",
        "Places réservées en crèche et garde à domicile en horaires décalés, financées le temps du parcours.",
        (("Parents bénéficiaires", R, "parents"), ("Parents entrés en formation ou en emploi", S, "%")),
        (40, 160), (25_000, 60_000), ("caf",), volet=3,
    ),
    Gabarit(
        "Contrat d'engagement jeune pour les jeunes en rupture", "2.2", "mission_locale",
        "Jeunes de 16 à 25 ans sans emploi, sans formation et sans accompagnement",
        "plusieurs centaines de jeunes ne sont suivis par aucune structure.",
        "Repérer et accompagner vers l'emploi les jeunes les plus éloignés.",
        "Repérage en lien avec la prévention spécialisée, accompagnement intensif et allocation.",
        (("Jeunes entrés en CEJ", R, "jeunes"), ("Jeunes en emploi ou en formation à la sortie", S, "%")),
        (60, 250), (40_000, 100_000), ("france_travail",), volet=2,
    ),
    Gabarit(
        "Travail alternatif payé à la journée (TAPAJ)", "2.2", "insertion",
        "Jeunes en errance et en situation de grande précarité",
        "les jeunes en errance échappent aux dispositifs classiques d'insertion.",
        "Proposer une première étape d'activité rémunérée sans engagement de durée.",
        "Chantiers d'une demi-journée payés le jour même, puis accompagnement vers un contrat plus long.",
        (("Jeunes mobilisés", R, "jeunes"), ("Jeunes entrés dans un parcours d'insertion", S, "jeunes")),
        (30, 120), (20_000, 50_000), ("ars",), volet=2,
    ),
    Gabarit(
        "Aide à la mobilité vers l'emploi : permis et location de véhicules", "2.3", "mobilite",
        "Demandeurs d'emploi et allocataires du RSA sans moyen de transport",
        "la moitié des offres d'emploi du territoire ne sont pas accessibles en transport en commun.",
        "Permettre l'accès à l'emploi grâce à une solution de mobilité.",
        "Financement du permis de conduire et location de véhicules à tarif solidaire pendant les premiers mois "
        "d'emploi.",
        (("Permis financés", R, "personnes"), ("Personnes en emploi à 6 mois", S, "%")),
        (60, 250), (30_000, 80_000), ("france_travail",), volet=3,
    ),
    Gabarit(
        "Aides financières ponctuelles à la reprise d'activité", "2.1", "collectivite",
        "Allocataires du RSA reprenant un emploi",
        "les frais de reprise d'emploi (transport, garde, équipement) découragent certains allocataires.",
        "Lever les freins financiers ponctuels au retour à l'emploi.",
        "Aide forfaitaire versée à la signature du contrat de travail, sur prescription du référent.",
        (("Aides versées", R, "aides"), ("Bénéficiaires en emploi à 6 mois", S, "%")),
        (80, 400), (20_000, 60_000), volet=3,
    ),
    Gabarit(
        "Logement temporaire pour l'accès à l'emploi", "2.3", "insertion",
        "Personnes recrutées ou en formation loin de leur domicile",
        "le manque de logements temporaires fait échouer des recrutements dans les secteurs en tension.",
        "Proposer un logement temporaire le temps de la prise de poste ou de la formation.",
        "Captation de logements meublés et accompagnement vers un logement durable.",
        (("Personnes logées", R, "personnes"), ("Personnes en emploi durable à la sortie", S, "%")),
        (20, 80), (20_000, 50_000), ("france_travail",), volet=3,
    ),
    Gabarit(
        "Clauses sociales et emplois d'insertion dans les marchés publics", "2.2", "collectivite",
        "Demandeurs d'emploi de longue durée et allocataires du RSA",
        "les heures d'insertion des marchés publics restent peu mobilisées au profit des allocataires du RSA.",
        "Développer les heures d'insertion au profit des publics éloignés de l'emploi.",
        "Un facilitateur accompagne les acheteurs publics et les entreprises dans la mise en œuvre des clauses.",
        (("Heures d'insertion réalisées", R, "heures"), ("Personnes en emploi durable", S, "personnes")),
        (5_000, 30_000), (20_000, 50_000), volet=2,
    ),
)  # fmt: skip

PILOTAGE = (
    Gabarit(
        "Chef de projet départemental du réseau pour l'emploi", None, "collectivite",
        "Membres du réseau pour l'emploi",
        "la réforme France Travail impose une coordination nouvelle entre le Département, l'État et France Travail.",
        "Piloter la mise en œuvre de la réforme et l'orientation de tous les allocataires.",
        "Recrutement d'un chef de projet, animation du comité départemental et des comités locaux pour l'emploi.",
        (("Comités locaux pour l'emploi réunis", R, "réunions"), ("Taux d'inscription des allocataires", S, "%")),
        (5, 20), (60_000, 140_000), volet=1,
    ),
    Gabarit(
        "Outils partagés d'orientation et de suivi des parcours", None, "collectivite",
        "Agents du Département, de France Travail et des partenaires de l'insertion",
        "chaque acteur suit les parcours dans son propre outil, sans vision partagée.",
        "Disposer d'outils communs d'orientation et de suivi des personnes accompagnées.",
        "Paramétrage des outils nationaux, reprise des données et formation des agents.",
        (("Agents formés", R, "agents"), ("Parcours suivis dans l'outil partagé", S, "%")),
        (50, 300), (40_000, 100_000), volet=1,
    ),
    Gabarit(
        "Animation des comités locaux pour l'emploi", None, "collectivite",
        "Acteurs locaux de l'emploi et de l'insertion",
        "les bassins d'emploi n'ont pas d'instance commune de coordination.",
        "Coordonner localement les acteurs de l'emploi et de l'insertion.",
        "Secrétariat et animation des comités locaux, tableaux de bord partagés.",
        (("Réunions de comités locaux", R, "réunions"),),
        (10, 40), (30_000, 70_000), volet=1,
    ),
)  # fmt: skip

CPT = (
    Gabarit(
        "Aller-vers les publics invisibles : bus des solidarités", "3.1", "caf",
        "Habitants éloignés des services, en priorité en zone rurale",
        "les partenaires constatent un non-recours massif dans les territoires sans accueil physique.",
        "Aller au-devant des publics invisibles avec tous les partenaires à bord.",
        "Un bus itinérant accueille chaque semaine la CAF, la CPAM, France Travail et les services du Département.",
        (("Haltes du bus", R, "haltes"), ("Personnes reçues", R, "personnes")),
        (300, 1200), (15_000, 40_000), ("caf", "cpam"),
    ),
    Gabarit(
        "Guichet partenarial unique d'accès aux droits", "3.1", "collectivite",
        "Tout public en situation de non-recours",
        "les personnes multiplient les démarches auprès de guichets qui ne se parlent pas.",
        "Une seule porte d'entrée pour l'ensemble des droits sociaux.",
        "Accueil commun, dossier partagé et référent de parcours désigné entre partenaires.",
        (("Personnes accompagnées", R, "personnes"), ("Droits ouverts", S, "droits")),
        (300, 1500), (15_000, 40_000), ("caf", "cpam"),
    ),
    Gabarit(
        "Repérage précoce et accompagnement des familles vulnérables", "1.2", "caf",
        "Familles avec jeunes enfants repérées par la PMI, la CAF ou l'école",
        "les situations de vulnérabilité familiale sont repérées tardivement.",
        "Repérer tôt et coordonner l'accompagnement des familles vulnérables.",
        "Protocole de repérage partagé entre la PMI, la CAF et l'Éducation nationale et référent unique.",
        (("Familles repérées", R, "familles"), ("Familles accompagnées", R, "familles")),
        (60, 250), (10_000, 30_000), ("caf",),
    ),
    Gabarit(
        "Coordination territoriale de l'aide alimentaire et lutte contre le gaspillage", "4.1", "banque_alimentaire",
        "Associations d'aide alimentaire et ménages bénéficiaires",
        "les dons alimentaires sont inégalement répartis entre les territoires.",
        "Mieux répartir les denrées et réduire le gaspillage.",
        "Plateforme logistique partagée et conventions de dons avec la grande distribution et les producteurs.",
        (("Tonnes de denrées redistribuées", R, "tonnes"),),
        (50, 250), (10_000, 30_000), ("commune",),
    ),
    Gabarit(
        "Parcours coordonnés vers l'emploi des allocataires du RSA", "2.2", "france_travail",
        "Allocataires du RSA orientés vers l'emploi",
        "les parcours d'insertion souffrent de ruptures entre les accompagnements.",
        "Assurer la continuité des parcours entre Département, France Travail et associations.",
        "Référent unique, diagnostic partagé et revue commune des situations bloquées.",
        (("Personnes accompagnées", R, "personnes"), ("Sorties vers l'emploi", S, "%")),
        (150, 600), (15_000, 45_000), ("france_travail",),
    ),
    Gabarit(
        "Équipe mobile partenariale santé-précarité", "3.3", "croix_rouge",
        "Personnes en grande précarité éloignées du soin",
        "l'accès aux soins des personnes précaires repose sur des dispositifs cloisonnés.",
        "Ramener vers le soin les personnes en grande précarité.",
        "Équipe mobile commune à l'hôpital, à l'ARS, à la CPAM et aux associations.",
        (("Personnes prises en charge", R, "personnes"),),
        (100, 400), (15_000, 40_000), ("ars", "cpam"),
    ),
)  # fmt: skip

CATALOGUE = {1: AXE1, 2: EMPLOI, 3: AXE3, 4: AXE4}
VOLETS_CDIE = {
    1: "Pilotage et ingénierie de la réforme France Travail",
    2: "Accompagnement des allocataires du RSA vers l'emploi",
    3: "Levée des freins périphériques à l'emploi",
}
JUSTIFICATIONS = (
    "Extension à trois cantons ruraux qui n'étaient pas couverts.",
    "Doublement du nombre de personnes accompagnées par an.",
    "Ouverture aux familles monoparentales et aux jeunes de 18 à 25 ans.",
    "Élargissement des horaires et permanence le samedi matin.",
    "Déploiement dans deux quartiers prioritaires supplémentaires.",
    "Nouveaux publics : personnes âgées isolées et travailleurs pauvres.",
)
SOURCES = (
    "Rapport d'activité du porteur",
    "Système d'information du Département",
    "Données CAF",
    "Tableau de bord du porteur",
    "France Travail",
)
MOTIFS_RESILIATION = (
    "Résiliation d'un commun accord : les actions sont reprises dans une convention unique 2025-2027.",
    "Résiliation à la demande de la collectivité après la réorganisation de ses services sociaux.",
)


# --- In-memory plan --------------------------------------------------------------------------------


@dataclass
class FichePlan:
    fiche: FicheAction
    gabarit: Gabarit
    years: list[int]
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
    story: str = ""  # what this contract shows in the demo (see ``STORIES``)
    termine_le: date | None = None  # résiliation

    @property
    def signe(self) -> bool:
        return self.contrat.statut in STATUTS_SIGNES


# Forced statuses: the showcase collectivité and three others tell every part of the story.
STORIES = {
    # slot: {type: (status, story)}
    "A": {
        "cls": (StatutContrat.EN_EXECUTION, "vitrine"),
        "cdie": (StatutContrat.CLOS, ""),
        "cpt": (StatutContrat.EN_NEGOCIATION, "parite_prevue"),
    },
    "B": {"cls": (StatutContrat.EN_EXECUTION, "rapport_a_completer"), "cpt": (StatutContrat.RESILIE, "")},
    "C": {"cls": (StatutContrat.EN_EXECUTION, "avenant"), "cpt": (StatutContrat.PRET_SIGNATURE, "")},
    "D": {"cls": (StatutContrat.SIGNE, ""), "cpt": (StatutContrat.BROUILLON, "plafond_depasse")},
}
POIDS_STATUTS = {
    "cls": {
        StatutContrat.EN_EXECUTION: 55,
        StatutContrat.SIGNE: 20,
        StatutContrat.PRET_SIGNATURE: 7,
        StatutContrat.EN_NEGOCIATION: 10,
        StatutContrat.BROUILLON: 5,
        StatutContrat.RESILIE: 3,
    },
    "cdie": {
        StatutContrat.EN_EXECUTION: 35,
        StatutContrat.CLOS: 30,
        StatutContrat.SIGNE: 20,
        StatutContrat.PRET_SIGNATURE: 5,
        StatutContrat.EN_NEGOCIATION: 5,
        StatutContrat.BROUILLON: 5,
    },
    "cpt": {
        StatutContrat.SIGNE: 30,
        StatutContrat.EN_EXECUTION: 30,
        StatutContrat.EN_NEGOCIATION: 15,
        StatutContrat.PRET_SIGNATURE: 10,
        StatutContrat.BROUILLON: 10,
        StatutContrat.RESILIE: 5,
    },
}


# Multipliers of the catalogue's costs, so that the national totals of 2024 come close to the published
# ones (DOMAIN.md §5: about 90 M€ for the CLS and 170 M€ for the CDIE).
CALIBRAGE_CLS = {1: 1.6, 2: 1.6, 3: 1.9, 4: 3.0}  # by axis
CALIBRAGE_CDIE = {False: 3.8, True: 6.6}  # volet 1 (pilotage), other volets


def _famille(type_contrat: str) -> str:
    if type_contrat in (TypeContrat.CLS_DEPARTEMENT, TypeContrat.CLS_METROPOLE):
        return "cls"
    return "cdie" if type_contrat == TypeContrat.CDIE else "cpt"


def euros(amount: float, step: int = 100) -> Decimal:
    """A planned amount: rounded to ``step`` euros."""
    return Decimal(int(round(amount / step)) * step).quantize(Decimal("0.01"))


def cents(amount: Decimal, ratio: float) -> Decimal:
    """``amount × ratio`` to the cent (spent amounts are rarely round)."""
    return to_cents(amount * Decimal(str(round(ratio, 4))))


def ceil_to(amount: Decimal, step: int) -> Decimal:
    return Decimal(math.ceil(amount / step) * step).quantize(Decimal("0.01"))


def floor_to(amount: Decimal, step: int) -> Decimal:
    return Decimal(math.floor(amount / step) * step).quantize(Decimal("0.01"))


def state_cap(regle: Regle, collectivite: Decimal, autres: Decimal) -> Decimal | None:
    """The largest State share the rule allows, given the other shares (None: no limit)."""
    cap = collectivite if regle.parite else None
    if regle.taux_etat_max < 1:
        by_rate = ((collectivite + autres) * regle.taux_etat_max / (1 - regle.taux_etat_max)).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )
        cap = by_rate if cap is None else min(cap, by_rate)
    return cap


# --- The builder ---------------------------------------------------------------------------------------


class DemoBuilder:
    """Builds the demo data of a scope in memory, then writes it with ``bulk_create``."""

    def __init__(self, *, scale: str = "region", region: str = DEFAULT_REGION, seed: int = DEFAULT_SEED, today=None):
        if scale not in SCALES:
            raise ValueError(f"Échelle inconnue : {scale} (valeurs possibles : {', '.join(SCALES)}).")
        self.scale, self.region_code, self.seed = scale, region, seed
        self.today: date = today or timezone.localdate()
        self.uid_rng = random.Random(f"{seed}:uid")
        self.rows: dict[type, list] = defaultdict(list)
        self.plans: list[ContratPlan] = []

    # -- helpers

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
    def person(rng: random.Random) -> tuple[str, bool]:
        feminine = rng.random() < 0.5
        prenom = rng.choice(PRENOMS_F if feminine else PRENOMS_M)
        return f"{prenom} {rng.choice(NOMS)}", feminine

    @staticmethod
    def day(rng: random.Random, start: date, span_days: int) -> date:
        return start + timedelta(days=rng.randint(0, span_days))

    # -- reference data and scope

    def load_reference(self) -> None:
        self.axes = {a.numero: a for a in Axe.objects.all()}
        self.mesures = {m.code: m for m in Mesure.objects.select_related("axe")}
        self.regles = regles_par_type()
        self.titres = dict(RegleTypeContrat.objects.values_list("type_contrat", "titre_defaut"))
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

    # -- organisations and users

    def ensure_organisations(self) -> None:
        collectivites = self.scope + [self.by_code[c] for c in sorted(ALWAYS_COLLECTIVITES) if c in self.by_code]
        specs = org_specs(list(self.departements.values()), self.regions, collectivites, self.all_collectivites)
        existing = {}
        for org in Organisation.objects.all():
            key = (org.type, org.nom, org.region_id, org.departement_id, org.collectivite_id)
            existing.setdefault(key, org)
        missing = []
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
                )
                missing.append(org)
            self.orgs[key] = org
        Organisation.objects.bulk_create(missing, batch_size=BATCH)

    def partenaire(self, c: Collectivite, kind: str) -> Organisation:
        if kind == "collectivite":
            return self.orgs[("collectivite", c.code)]
        return self.orgs[("partenaire", self.main_departement(c).code, kind)]

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

    # -- contracts

    def contract_list(self) -> list[tuple[Collectivite, str]]:
        out = []
        for c in self.scope:
            if c.est_metropole:
                types = [TypeContrat.CLS_METROPOLE, TypeContrat.CPT]
            elif c.nature in DEPARTEMENT_NATURES:
                types = [TypeContrat.CLS_DEPARTEMENT, TypeContrat.CDIE, TypeContrat.CPT]
            else:
                continue
            out += [(c, t) for t in types]
        return out

    def story_slots(self) -> dict[str, Collectivite]:
        """A: the showcase (D05 when in scope), B: another département, C and D: métropoles (or départements)."""
        deps = [c for c in self.scope if not c.est_metropole and c.nature in DEPARTEMENT_NATURES]
        metros = [c for c in self.scope if c.est_metropole]
        if not deps:
            return {}
        showcase = self.by_code.get(SHOWCASE) if self.by_code.get(SHOWCASE) in deps else deps[0]

        def near(cs):  # same région as the showcase first
            return sorted(cs, key=lambda c: (c.region_id != showcase.region_id, c.code))

        order = [showcase] + near([c for c in deps if c != showcase])
        metros = near(metros)
        slots = {"A": showcase}
        rest = order[1:]
        if rest:
            slots["B"] = rest.pop(0)
        for slot in ("C", "D"):
            pool = metros or rest
            if pool:
                slots[slot] = pool.pop(0)
        return slots

    def assign_statuses(self, plans: list[ContratPlan]) -> None:
        slots = {c.code: s for s, c in self.story_slots().items()}
        forced = set()
        for plan in plans:
            famille = _famille(plan.contrat.type_contrat)
            weights = POIDS_STATUTS[famille]
            plan.contrat.statut = plan.rng.choices(list(weights), weights=list(weights.values()))[0]
            slot = slots.get(plan.collectivite.code)
            if slot and famille in STORIES[slot]:
                plan.contrat.statut, plan.story = STORIES[slot][famille]
                forced.add(plan.contrat.reference)
        # Every status shows up somewhere (when the scope has enough contracts).
        present = {p.contrat.statut for p in plans}
        for statut in StatutContrat.values:
            if statut in present:
                continue
            candidates = [
                p
                for p in plans
                if p.contrat.reference not in forced
                and (statut != StatutContrat.CLOS or p.contrat.type_contrat == TypeContrat.CDIE)
            ]
            if candidates:
                candidates[0].contrat.statut = statut
                forced.add(candidates[0].contrat.reference)
                present.add(statut)

    def build_contracts(self) -> None:
        for c, type_contrat in self.contract_list():
            rng = random.Random(f"{self.seed}:{c.code}:{type_contrat}")
            cdie = type_contrat == TypeContrat.CDIE
            debut = date(2024, 1, 1)
            fin = date(2024, 12, 31) if cdie else date(2027, 12, 31)
            titre = self.titres.get(type_contrat, "")
            if type_contrat == TypeContrat.CLS_DEPARTEMENT and rng.random() < 0.2:
                titre = "Contrat départemental des solidarités"
            contrat = Contrat(
                uid=self.uid(),
                reference=f"{PREFIXES[type_contrat]}-{debut.year}-{c.code}",
                type_contrat=type_contrat,
                titre=f"{titre} 2024-{fin.year} – {c.nom}" if not cdie else f"{titre} 2024 – {c.nom}",
                collectivite=c,
                date_debut=debut,
                date_fin=fin,
            )
            self.plans.append(ContratPlan(contrat, c, rng))
        self.assign_statuses(self.plans)
        for plan in self.plans:
            self.build_contract(plan)

    def build_contract(self, plan: ContratPlan) -> None:
        contrat, rng = plan.contrat, plan.rng
        famille = _famille(contrat.type_contrat)
        self.add(contrat)
        if plan.signe:
            start = {"cls": date(2024, 2, 1), "cdie": date(2024, 3, 1), "cpt": date(2024, 4, 1)}[famille]
            contrat.date_signature = self.past(self.day(rng, start, 150))
            if contrat.statut == StatutContrat.RESILIE:
                plan.termine_le = date(2025, rng.choice([3, 6, 9]), 30)
                contrat.motif_fin = rng.choice(MOTIFS_RESILIATION)
            elif contrat.statut == StatutContrat.CLOS:
                contrat.motif_fin = "Convention arrivée à échéance ; bilan présenté en comité de pilotage."
        axes = {"cls": [1, 3, 4], "cdie": [2], "cpt": [1, 2, 3, 4]}[famille]
        if contrat.type_contrat == TypeContrat.CLS_METROPOLE:
            axes = [1, 2, 3, 4]
        for numero in axes:
            self.add(Contrat.axes.through(contrat=contrat, axe=self.axes[numero]))
        if famille == "cdie":
            self.build_cdie_fiches(plan)
        elif famille == "cpt":
            self.build_cpt_fiches(plan)
        else:
            self.build_cls_fiches(plan, axes)
        self.build_signataires(plan)
        self.build_story_money(plan)
        self.build_plafonds(plan)
        self.finish_avenant_plafond(plan)
        if plan.story == "vitrine":
            self.build_avenant_brouillon(plan)
        if plan.signe:
            self.build_execution_follow_up(plan)

    # -- fiches

    def fiche_statut(self, plan: ContratPlan, fiche: FicheAction, index: int) -> str:
        statut, rng = plan.contrat.statut, plan.rng
        if statut == StatutContrat.BROUILLON:
            return StatutFiche.PROPOSEE
        if statut == StatutContrat.EN_NEGOCIATION:
            return StatutFiche.VALIDEE if rng.random() < 0.6 else StatutFiche.PROPOSEE
        if statut == StatutContrat.PRET_SIGNATURE:
            return StatutFiche.VALIDEE
        if statut == StatutContrat.SIGNE:
            return StatutFiche.EN_COURS if rng.random() < 0.3 else StatutFiche.VALIDEE
        if statut == StatutContrat.CLOS or fiche.date_fin < self.today:
            return StatutFiche.TERMINEE
        if index > 0 and rng.random() < 0.04:
            return StatutFiche.ABANDONNEE
        return StatutFiche.EN_COURS

    def new_fiche(
        self,
        plan: ContratPlan,
        gabarit: Gabarit,
        axe: int,
        code: str,
        index: int,
        *,
        volet: Volet | None = None,
        base: float,
        coll_ratio: float,
        etat: bool = True,
        force_caf: bool = False,
    ) -> FichePlan:
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        w = self.weight(c)
        if contrat.type_contrat == TypeContrat.CDIE:
            debut, fin = contrat.date_debut, contrat.date_fin
        else:
            r = rng.random()
            if r < 0.6:
                debut = date(2024, 1, 1)
            elif r < 0.9:
                debut = date(2024, rng.choice([3, 4, 6, 9]), 1)
            else:
                debut = date(2025, 1, 1)
            fin = date(2025, 12, 31) if rng.random() < 0.12 else contrat.date_fin
        porteur_kind = "caf" if force_caf else gabarit.porteur
        if not force_caf and gabarit.porteur != "collectivite" and rng.random() < 0.2:
            porteur_kind = "collectivite"
        renforcee = rng.random() < 0.4
        partenaires = rng.sample([k for k, _ in PARTENAIRES if k != porteur_kind], 3)
        volume = max(1, round(rng.randint(*gabarit.volume) * (0.6 + 0.4 * w)))
        ville = CHEFS_LIEUX.get(self.main_departement(c).code, "")
        entier = rng.random() < 0.75
        fiche = FicheAction(
            uid=self.uid(),
            contrat=contrat,
            code=code,
            intitule=gabarit.intitule,
            axe=self.axes[axe],
            mesure=self.mesures.get(gabarit.mesure) if gabarit.mesure else None,
            volet=volet,
            nature=NatureAction.RENFORCEE if renforcee else NatureAction.NOUVELLE,
            justification_renforcement=rng.choice(JUSTIFICATIONS) if renforcee else "",
            contexte=f"Diagnostic territorial 2023 : {gabarit.constat}",
            objectifs=gabarit.objectifs,
            description=gabarit.description,
            public_cible=gabarit.public,
            volume_public=volume,
            territoire_departement_entier=entier,
            territoire_detail="" if entier else f"Quartiers prioritaires et communes du bassin de vie : {ville}",
            porteur=self.partenaire(c, porteur_kind),
            partenaires=", ".join(self.partenaire(c, k).nom for k in partenaires),
            date_debut=debut,
            date_fin=fin,
            jalons=(
                f"{debut:%m/%Y} : lancement et recrutement ; {debut.year} : premiers accueils ; "
                f"{min(debut.year + 1, fin.year)} : bilan intermédiaire en comité de suivi."
            ),
            etp=Decimal(rng.choice(["0.50", "1.00", "1.50", "2.00", "3.00"])) if rng.random() < 0.8 else None,
        )
        fiche.statut = self.fiche_statut(plan, fiche, index)
        years = [y for y in contrat.annees if debut.year <= y <= fin.year]
        fp = FichePlan(self.add(fiche), gabarit, years)
        plan.fiches.append(fp)
        self.build_money(plan, fp, base=base * w, coll_ratio=coll_ratio, etat=etat)
        self.build_indicateurs(plan, fp)
        return fp

    def coll_ratio(self, rng: random.Random) -> float:
        return 1.0 if rng.random() < 0.7 else rng.uniform(1.05, 1.6)

    def build_cls_fiches(self, plan: ContratPlan, axes: list[int]) -> None:
        rng, w = plan.rng, self.weight(plan.collectivite)
        metro = plan.contrat.type_contrat == TypeContrat.CLS_METROPOLE
        n = round(rng.uniform(10, 16) + 4 * (w - 1)) if not metro else round(rng.uniform(10, 15) + 3 * w)
        n = max(10, min(25 if not metro else 22, n))
        shares = {1: 0.4, 3: 0.35, 4: 0.25} if not metro else {1: 0.3, 2: 0.2, 3: 0.3, 4: 0.2}
        per_axe = {a: max(1 if metro else 2, round(n * shares[a])) for a in axes}
        first = axes[0]
        per_axe[first] += n - sum(per_axe.values())
        for axe in axes:
            count = min(per_axe[axe], len(CATALOGUE[axe]))
            catalogue = CATALOGUE[axe]
            # Every CLS has the CAF's "rendez-vous des droits" (the partner persona carries it).
            chosen = [catalogue[0]] + rng.sample(catalogue[1:], count - 1) if axe == 3 else rng.sample(catalogue, count)
            for i, gabarit in enumerate(chosen):
                self.new_fiche(
                    plan,
                    gabarit,
                    axe,
                    f"A{axe}-{i + 1:02d}",
                    i,
                    base=rng.uniform(*gabarit.cout) * CALIBRAGE_CLS[axe],
                    coll_ratio=self.coll_ratio(rng),
                    force_caf=axe == 3 and i == 0,
                )

    def build_cdie_fiches(self, plan: ContratPlan) -> None:
        rng, contrat = plan.rng, plan.contrat
        nb_volets = 3 if rng.random() < 0.6 else 2
        code = 0
        for numero in range(1, nb_volets + 1):
            volet = self.add(Volet(contrat=contrat, numero=numero, intitule=VOLETS_CDIE[numero]))
            plan.volets[numero] = volet
            if numero == 1:
                chosen = rng.sample(PILOTAGE, rng.randint(1, 2))
            else:
                pool = [g for g in EMPLOI if g.volet == numero or (nb_volets == 2 and g.volet == 3)]
                chosen = rng.sample(pool, rng.randint(2, 3))
            for gabarit in chosen:
                code += 1
                self.new_fiche(
                    plan,
                    gabarit,
                    2,
                    f"A2-{code:02d}",
                    code - 1,
                    volet=volet,
                    base=rng.uniform(*gabarit.cout) * CALIBRAGE_CDIE[numero > 1],
                    coll_ratio=0.0 if numero == 1 else self.coll_ratio(rng),
                )

    def build_cpt_fiches(self, plan: ContratPlan) -> None:
        rng = plan.rng
        chosen = rng.sample(CPT, rng.randint(1, 3))
        counters: dict[int, int] = defaultdict(int)
        for i, gabarit in enumerate(chosen):
            axe = self.mesures[gabarit.mesure].axe.numero if gabarit.mesure else 3
            counters[axe] += 1
            funded = i == 0 or rng.random() < 0.6  # some priority actions have no State money
            self.new_fiche(
                plan,
                gabarit,
                axe,
                f"A{axe}-{counters[axe]:02d}",
                i,
                base=rng.uniform(*gabarit.cout),
                coll_ratio=self.coll_ratio(rng),
                etat=funded,
            )

    # -- money

    def ligne(self, fp: FichePlan, year: int, kind: str, prevu: Decimal, financeur: Organisation | None = None):
        ligne = LigneFinancement(
            fiche=fp.fiche,
            annee=year,
            type_financeur=TypeFinanceur.AUTRE if financeur else kind,
            financeur=financeur,
            prevu=prevu,
        )
        fp.lignes.setdefault(year, {})["autre" if financeur else kind] = self.add(ligne)
        return ligne

    def build_money(self, plan: ContratPlan, fp: FichePlan, *, base: float, coll_ratio: float, etat: bool) -> None:
        rng, contrat, fiche = plan.rng, plan.contrat, fp.fiche
        regle = regle_pour(self.regles, contrat.type_contrat, fiche.volet.numero if fiche.volet else None)
        autre_org = None
        if fp.gabarit.autres and rng.random() < 0.3:
            autre_org = self.partenaire(plan.collectivite, rng.choice(fp.gabarit.autres))
        autre_ratio = rng.uniform(0.2, 0.6)
        for i, year in enumerate(fp.years):
            factor = 1 + i * rng.uniform(0, 0.05)
            if year == fiche.date_debut.year and fiche.date_debut.month > 1:
                factor *= (13 - fiche.date_debut.month) / 12
            part_etat = euros(base * factor) if etat else ZERO
            coll = max(part_etat, euros(base * coll_ratio * factor)) if coll_ratio else ZERO
            autre = euros(base * autre_ratio * factor) if autre_org else ZERO
            cap = state_cap(regle, coll, autre)
            if cap is not None:
                part_etat = min(part_etat, cap)
            if part_etat > 0:
                self.ligne(fp, year, TypeFinanceur.ETAT, part_etat)
            if coll > 0:
                self.ligne(fp, year, TypeFinanceur.COLLECTIVITE, coll)
            if autre > 0:
                self.ligne(fp, year, TypeFinanceur.AUTRE, autre, financeur=autre_org)
        if plan.signe:
            self.build_execution_money(plan, fp)

    def execution_years(self, plan: ContratPlan, fp: FichePlan) -> list[int]:
        years = self.past_years(fp.years)
        if plan.termine_le:
            years = [y for y in years if y <= plan.termine_le.year]
        if fp.fiche.statut == StatutFiche.ABANDONNEE:
            years = years[:1]
        return years

    def build_execution_money(self, plan: ContratPlan, fp: FichePlan) -> None:
        rng = plan.rng
        for year in self.execution_years(plan, fp):
            lignes = fp.lignes.get(year, {})
            r_etat = rng.uniform(0.72, 1.0)
            r_coll = min(1.08, r_etat + rng.uniform(0, 0.08))
            for kind, ligne in lignes.items():
                ratio = r_etat if kind == "etat" else r_coll if kind == "collectivite" else rng.uniform(0.6, 1.0)
                ligne.realise = cents(ligne.prevu, ratio)
                ligne.engage = max(ligne.realise, cents(ligne.prevu, rng.uniform(max(ratio, 0.9), 1.0)))
            # A few spent amounts break parity (warnings, never blocking).
            if "etat" in lignes and "collectivite" in lignes and rng.random() < 0.005:
                self.break_realise(lignes)

    @staticmethod
    def break_realise(lignes: dict[str, LigneFinancement]) -> None:
        etat, coll = lignes["etat"], lignes["collectivite"]
        coll.realise = cents(etat.realise, 0.8)
        coll.engage = max(coll.realise, cents(etat.engage, 0.85))

    def build_story_money(self, plan: ContratPlan) -> None:
        """The deliberate anomalies and avenants, applied before ceilings are sized."""
        story = plan.story
        funded = [fp for fp in plan.fiches if fp.active and any("etat" in lg for lg in fp.lignes.values())]
        if story == "vitrine" and len(funded) > 1:
            # Spent amounts of 2024 breaking parity on one action.
            fp = funded[1]
            lignes = fp.lignes.get(2024) or fp.lignes[fp.years[0]]
            if "collectivite" in lignes and lignes["etat"].realise is not None:
                self.break_realise(lignes)
        if story == "parite_prevue" and funded:
            # Planned amounts breaking parity: the contract cannot be signed (nor the fiche validated).
            fp = funded[0]
            year = fp.years[min(1, len(fp.years) - 1)]
            lignes = fp.lignes[year]
            coll = lignes.get("collectivite")
            if "etat" in lignes:
                lignes["etat"].prevu = (coll.prevu if coll else ZERO) + euros(plan.rng.uniform(5_000, 15_000))
                fp.fiche.statut = StatutFiche.PROPOSEE
        amendable = plan.signe and plan.contrat.type_contrat != TypeContrat.CDIE and not plan.termine_le
        random_avenant = plan.contrat.statut == StatutContrat.EN_EXECUTION and plan.rng.random() < 0.2
        if amendable and funded and (story in ("vitrine", "avenant") or random_avenant):
            self.build_avenant_signe(plan, funded)

    # -- ceilings

    def state_sums(self, plan: ContratPlan) -> dict[tuple[int, int | None], Decimal]:
        """The State's planned shares by (year, volet), abandoned actions included: the ceiling then
        holds whether or not the check counts them."""
        sums: dict[tuple[int, int | None], Decimal] = defaultdict(lambda: ZERO)
        for fp in plan.fiches:
            volet = fp.fiche.volet.numero if fp.fiche.volet else None
            for year in fp.years:
                sums[(year, volet)] += fp.etat(year)
        return sums

    def build_plafonds(self, plan: ContratPlan) -> None:
        contrat, rng = plan.contrat, plan.rng
        if contrat.statut == StatutContrat.BROUILLON and plan.story != "plafond_depasse" and rng.random() < 0.5:
            return  # not negotiated yet: no ceiling
        sums = self.state_sums(plan)
        margin = rng.uniform(1.0, 1.06)
        exceeded = plan.story == "plafond_depasse"
        for (year, volet), total in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            if total <= 0:
                continue
            montant = ceil_to(total * Decimal(str(round(margin, 4))), 5_000)
            if exceeded:  # a draft whose State shares overshoot the ceiling
                montant, exceeded = max(ZERO, floor_to(total * Decimal("0.85"), 5_000)), False
            self.add(Plafond(contrat=contrat, volet=plan.volets.get(volet), annee=year, montant=montant))
            self.plafonds[(contrat.reference, year, volet)] = montant

    # -- avenants

    def build_avenant_signe(self, plan: ContratPlan, funded: list[FichePlan]) -> None:
        contrat, rng = plan.contrat, plan.rng
        candidates = [fp for fp in funded if 2025 in fp.lignes and "etat" in fp.lignes[2025]]
        if not candidates or self.today < date(2025, 3, 1):
            return
        fp = candidates[0]
        signed_on = self.past(max(contrat.date_signature + timedelta(days=60), self.day(rng, date(2025, 1, 15), 60)))
        avenant = self.add(
            Avenant(
                uid=self.uid(),
                contrat=contrat,
                numero=1,
                objet=f"Actualisation de l'annexe financière 2025 et renforcement de l'action {fp.fiche.code}",
                statut=StatutAvenant.SIGNE,
                date_signature=signed_on,
                signataire_etat=self.signataire_noms[contrat.reference][0],
                signataire_collectivite=self.signataire_noms[contrat.reference][1],
            )
        )
        applied = timezone.make_aware(datetime.combine(signed_on, time(11, 0)))
        lignes = fp.lignes[2025]
        delta = euros(float(lignes["etat"].prevu) * rng.uniform(0.1, 0.25), 500) or Decimal("1000.00")
        for kind in ("etat", "collectivite"):
            ligne = lignes.get(kind)
            if ligne is None:
                continue
            avant, ligne.prevu = ligne.prevu, ligne.prevu + delta
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.PREVU,
                    libelle=(
                        f"Fiche {fp.fiche.code}, 2025, {TypeFinanceur(kind).label} : {format_euros(ligne.prevu)} prévus"
                    ),
                    cible={"fiche": fp.fiche.code, "annee": 2025, "type_financeur": kind, "financeur": None},
                    avant=str(avant),
                    apres=str(ligne.prevu),
                    applique_le=applied,
                )
            )
        if fp.fiche.volume_public:
            avant_volume = fp.fiche.volume_public
            fp.fiche.volume_public = round(avant_volume * 1.25)
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.FICHE,
                    libelle=f"Fiche {fp.fiche.code} : volume de public attendu",
                    cible={"fiche": fp.fiche.code},
                    avant={"volume_public": avant_volume},
                    apres={"volume_public": fp.fiche.volume_public},
                    applique_le=applied,
                )
            )
        # The ceiling of 2025 follows: recorded once ceilings are sized (see ``finish_avenant_plafond``).
        self.avenant_plafond[contrat.reference] = (avenant, 2025, delta, applied)

    def finish_avenant_plafond(self, plan: ContratPlan) -> None:
        pending = self.avenant_plafond.pop(plan.contrat.reference, None)
        if not pending:
            return
        avenant, year, delta, applied = pending
        apres = self.plafonds.get((plan.contrat.reference, year, None))
        if apres is None:
            return
        avant = ceil_to(self.state_sums(plan)[(year, None)] - delta, 5_000)
        if avant >= apres:
            return
        self.add(
            ModificationAvenant(
                avenant=avenant,
                nature=NatureModification.PLAFOND,
                libelle=f"Enveloppe {year} : {format_euros(apres)}",
                cible={"annee": year, "volet": None},
                avant=str(avant),
                apres=str(apres),
                applique_le=applied,
            )
        )

    def build_avenant_brouillon(self, plan: ContratPlan) -> None:
        """The one open avenant of the demo: a new action, its 2026 money and ceiling, not signed yet
        (it can be signed through the services as it stands)."""
        contrat, rng, c = plan.contrat, plan.rng, plan.collectivite
        numero = 1 + sum(1 for a in self.rows[Avenant] if a.contrat is contrat)
        avenant = self.add(
            Avenant(
                uid=self.uid(),
                contrat=contrat,
                numero=numero,
                objet="Annexe financière 2026 et nouvelle action « Aide à l'achat de vélos »",
            )
        )
        used = {fp.fiche.code for fp in plan.fiches if fp.fiche.axe.numero == 4}
        code = next(f"A4-{i:02d}" for i in range(1, 100) if f"A4-{i:02d}" not in used)
        gabarit = next(g for g in AXE4 if g.intitule.startswith("Aide à l'achat de vélos"))
        porteur = self.partenaire(c, gabarit.porteur)
        self.add(
            ModificationAvenant(
                avenant=avenant,
                nature=NatureModification.FICHE_AJOUT,
                libelle=f"Nouvelle fiche {code} : {gabarit.intitule}",
                cible={"fiche": code},
                apres={
                    "intitule": gabarit.intitule,
                    "axe": 4,
                    "mesure": gabarit.mesure,
                    "nature": str(NatureAction.NOUVELLE),
                    "objectifs": gabarit.objectifs,
                    "description": gabarit.description,
                    "public_cible": gabarit.public,
                    "porteur": porteur.pk,
                    "date_debut": "2026-01-01",
                    "date_fin": "2027-12-31",
                },
            )
        )
        montant = euros(rng.uniform(12_000, 20_000), 500)
        for kind in (TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE):
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.PREVU,
                    libelle=f"Fiche {code}, 2026, {TypeFinanceur(kind).label} : {format_euros(montant)} prévus",
                    cible={"fiche": code, "annee": 2026, "type_financeur": str(kind), "financeur": None},
                    apres=str(montant),
                )
            )
        plafond = self.plafonds.get((contrat.reference, 2026, None))
        if plafond is not None:
            apres = plafond + ceil_to(montant, 5_000)
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.PLAFOND,
                    libelle=f"Enveloppe 2026 : {format_euros(apres)}",
                    cible={"annee": 2026, "volet": None},
                    apres=str(apres),
                )
            )

    # -- signatories

    def build_signataires(self, plan: ContratPlan) -> None:
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        dep = self.main_departement(c)
        de_dep = self.de_dep[dep.code]
        prefet, prefete = self.person(rng)
        president, presidente = self.person(rng)
        self.signataire_noms[contrat.reference] = (prefet, president)
        if contrat.statut not in STATUTS_SIGNES and contrat.statut != StatutContrat.PRET_SIGNATURE:
            return
        signed_on = contrat.date_signature
        etat_date = signed_on
        coll_date = signed_on - timedelta(days=rng.randint(0, 10)) if signed_on else None
        if contrat.statut == StatutContrat.PRET_SIGNATURE:  # signatures being collected
            etat_date, coll_date = None, self.past(self.day(rng, date(2026, 9, 1), 60)) if rng.random() < 0.5 else None
        self.add(
            Signataire(
                contrat=contrat,
                partie=PartieSignataire.ETAT,
                nom=prefet,
                qualite=f"{'Préfète' if prefete else 'Préfet'} {de_dep}",
                date_signature=etat_date,
            )
        )
        self.add(
            Signataire(
                contrat=contrat,
                partie=PartieSignataire.COLLECTIVITE,
                nom=president,
                qualite=qualite_president(c, presidente, de_dep),
                date_signature=coll_date,
            )
        )
        if contrat.type_contrat == TypeContrat.CPT:
            for kind in rng.sample(SIGNATAIRES_CPT, rng.randint(2, 4)):
                nom, feminine = self.person(rng)
                org = self.partenaire(c, kind)
                self.add(
                    Signataire(
                        contrat=contrat,
                        partie=PartieSignataire.PARTENAIRE,
                        organisation=org,
                        nom=nom,
                        qualite=f"{QUALITE_PARTENAIRE[kind][feminine]}, {org.nom}",
                        date_signature=coll_date,
                    )
                )

    # -- indicators

    def build_indicateurs(self, plan: ContratPlan, fp: FichePlan) -> None:
        rng = plan.rng
        templates = fp.gabarit.indicateurs
        count = rng.randint(1, len(templates))
        executed = set(self.execution_years(plan, fp)) if plan.signe else set()
        volume = fp.fiche.volume_public or 100
        for nom, type_indicateur, unite in templates[:count]:
            pct = unite == "%"
            base = rng.uniform(40, 70) if pct else volume * rng.uniform(0.5, 1.0)
            indicateur = self.add(
                Indicateur(
                    fiche=fp.fiche,
                    nom=nom,
                    type_indicateur=type_indicateur,
                    unite=unite,
                    valeur_reference=Decimal(round(base * 0.8)) if rng.random() < 0.5 else None,
                    source=rng.choice(SOURCES),
                )
            )
            for i, year in enumerate(fp.years):
                cible = base + i * 3 if pct else base * (1 + 0.1 * i)
                realise = None
                if year in executed:
                    atteint = cible * rng.uniform(0.65, 1.15)
                    realise = Decimal(round(min(atteint, 100) if pct else atteint))
                self.add(
                    ValeurIndicateur(
                        indicateur=indicateur,
                        annee=year,
                        cible=Decimal(round(min(cible, 100) if pct else cible)),
                        realise=realise,
                    )
                )

    # -- execution follow-up: payments, reliquats, reports, committees

    def paid_base(self, plan: ContratPlan, year: int) -> Decimal:
        return sum((fp.etat(year) for fp in plan.fiches if fp.active), ZERO)

    def build_execution_follow_up(self, plan: ContratPlan) -> None:
        contrat, rng = plan.contrat, plan.rng
        cdie = contrat.type_contrat == TypeContrat.CDIE
        years = self.past_years(contrat.annees)
        if plan.termine_le:
            years = [y for y in years if y <= plan.termine_le.year]
        for year in years:
            base = self.paid_base(plan, year)
            if base <= 0:
                continue
            ej = str(rng.randint(2_100_000_000, 2_199_999_999))
            start = max(contrat.date_signature, date(year, 3, 1)) + timedelta(days=rng.randint(20, 60))
            engagement = self.past(start - timedelta(days=rng.randint(5, 15)))
            if cdie:
                self.versement(contrat, year, NatureVersement.UNIQUE, base, ej, engagement, self.past(start))
                continue
            avance = to_cents(base * Decimal("0.5"))
            self.versement(contrat, year, NatureVersement.AVANCE, avance, ej, engagement, self.past(start))
            if plan.termine_le and year == plan.termine_le.year:
                continue
            solde_le = self.day(rng, date(year, 11, 10), 40)
            if year == self.today.year - 1 and rng.random() < 0.1:
                solde_le = None  # balance still to come
            self.versement(
                contrat, year, NatureVersement.SOLDE, base - avance, ej, engagement, solde_le and self.past(solde_le)
            )
        self.build_comites(plan, years)
        self.build_rapports(plan, years)

    def versement(self, contrat, year, nature, montant, ej, engagement, verse_le) -> None:
        if montant <= 0:
            return
        self.add(
            Versement(
                uid=self.uid(),
                contrat=contrat,
                annee=year,
                nature=nature,
                montant=montant,
                numero_ej=ej,
                date_engagement=engagement,
                date_versement=verse_le,
            )
        )

    def build_comites(self, plan: ContratPlan, years: list[int]) -> None:
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        de_dep = self.de_dep[self.main_departement(c).code]
        participants = (
            f"Préfecture {de_dep}, {c.nom}, DDETS {de_dep}, CAF, CPAM, France Travail, ARS, "
            "associations porteuses des actions"
        )
        for year in years:
            self.add(
                Comite(
                    uid=self.uid(),
                    contrat=contrat,
                    type_comite=TypeComite.PILOTAGE,
                    date=self.past(self.day(rng, date(year, 11, 15), 30)),
                    lieu=f"Préfecture {de_dep}" if rng.random() < 0.5 else f"Salle du conseil – {c.nom}",
                    participants=participants,
                    decisions=(
                        f"Bilan de l'exécution {year} présenté et approuvé. "
                        + (
                            "Clôture de la convention."
                            if contrat.type_contrat == TypeContrat.CDIE
                            else f"Programmation {year + 1} validée ; les actions en sous-réalisation font l'objet "
                            "d'un point d'étape au prochain comité de suivi."
                        )
                    ),
                )
            )
            if contrat.type_contrat != TypeContrat.CDIE and year > 2024:
                self.add(
                    Comite(
                        uid=self.uid(),
                        contrat=contrat,
                        type_comite=TypeComite.SUIVI,
                        date=self.past(self.day(rng, date(year, 6, 1), 25)),
                        lieu=f"DDETS {de_dep}",
                        participants=f"DDETS {de_dep}, services de la collectivité, porteurs des actions",
                        decisions="Point d'étape sur les indicateurs ; relance des porteurs en retard de saisie.",
                    )
                )

    def build_rapports(self, plan: ContratPlan, years: list[int]) -> None:
        contrat, rng = plan.contrat, plan.rng
        for year in years:
            if year > 2025:
                continue
            r = rng.random()
            statut = (
                StatutRapport.VALIDE if r < 0.6 else StatutRapport.TRANSMIS if r < 0.85 else StatutRapport.BROUILLON
            )
            if contrat.statut == StatutContrat.CLOS or (plan.story == "vitrine" and year == 2024):
                statut = StatutRapport.VALIDE
            if plan.story == "rapport_a_completer" and year == 2024:
                statut = StatutRapport.A_COMPLETER
            transmis = self.past(self.day(rng, date(year + 1, 3, 1), 45))
            rapport = self.add(
                RapportAnnuel(
                    uid=self.uid(),
                    contrat=contrat,
                    annee=year,
                    statut=statut,
                    date_limite=date_limite_rapport(year),
                    synthese=(
                        f"En {year}, {sum(1 for fp in plan.fiches if fp.active)} actions ont été mises en œuvre. "
                        "La montée en charge est conforme à la programmation pour la plupart d'entre elles ; "
                        "quelques actions ont démarré avec retard faute de recrutement."
                        if statut != StatutRapport.BROUILLON
                        else ""
                    ),
                    transmis_le=None if statut == StatutRapport.BROUILLON else transmis,
                    valide_le=self.past(transmis + timedelta(days=rng.randint(15, 60)))
                    if statut == StatutRapport.VALIDE
                    else None,
                    observations_ddets=(
                        "Merci de compléter les valeurs atteintes des indicateurs et de justifier la sous-réalisation "
                        "des actions de l'axe 3."
                        if statut == StatutRapport.A_COMPLETER
                        else ""
                    ),
                )
            )
            if year == 2024 and statut == StatutRapport.VALIDE:
                self.maybe_reliquat(plan, rapport)

    def maybe_reliquat(self, plan: ContratPlan, rapport: RapportAnnuel) -> None:
        contrat, rng, year = plan.contrat, plan.rng, rapport.annee
        if plan.story != "vitrine" and rng.random() > 0.35:
            return
        verse = sum(
            (v.montant for v in self.rows[Versement] if v.contrat is contrat and v.annee == year and v.date_versement),
            ZERO,
        )
        realise = sum(
            (lg["etat"].realise or ZERO for fp in plan.fiches for lg in [fp.lignes.get(year, {})] if "etat" in lg),
            ZERO,
        )
        montant = max(ZERO, verse - realise)
        reliquat = Reliquat(contrat=contrat, annee=year, verse=verse, realise_etat=realise, montant=montant)
        if montant > 0 and (plan.story == "vitrine" or rng.random() < 0.65):
            last_year = year >= contrat.date_fin.year
            reliquat.decision = (
                DecisionReliquat.REVERSEMENT if last_year or rng.random() < 0.3 else DecisionReliquat.DEDUCTION
            )
            reliquat.decide_le = self.past(rapport.valide_le + timedelta(days=rng.randint(5, 30)))
            reliquat.decide_par = self.users.get("ddets05") if plan.collectivite.code == SHOWCASE else None
            reliquat.commentaire = (
                "Reliquat déduit de l'avance de l'exercice suivant."
                if reliquat.decision == DecisionReliquat.DEDUCTION
                else "Titre de reversement émis."
            )
        self.add(reliquat)

    # -- run

    def build(self) -> None:
        self.load_reference()
        self.ensure_organisations()
        self.users = self.ensure_users()
        self.plafonds: dict[tuple[str, int, int | None], Decimal] = {}
        self.signataire_noms: dict[str, tuple[str, str]] = {}
        self.avenant_plafond: dict[str, tuple] = {}
        self.build_contracts()
        self.ensure_one_report_to_complete()

    def ensure_one_report_to_complete(self) -> None:
        """The demo always has one report sent back for more information (slot B when it exists)."""
        rapports = self.rows[RapportAnnuel]
        if rapports and not any(r.statut == StatutRapport.A_COMPLETER for r in rapports):
            rapport = next((r for r in rapports if r.statut == StatutRapport.TRANSMIS), None)
            if rapport:
                rapport.statut = StatutRapport.A_COMPLETER
                rapport.observations_ddets = "Merci de compléter les valeurs atteintes des indicateurs."

    def write(self) -> None:
        order = [
            Contrat,
            Contrat.axes.through,
            Volet,
            Signataire,
            Plafond,
            FicheAction,
            LigneFinancement,
            Indicateur,
            ValeurIndicateur,
            Avenant,
            ModificationAvenant,
            Comite,
            Versement,
            Reliquat,
            RapportAnnuel,
        ]
        for model in order:
            model.objects.bulk_create(self.rows.get(model, []), batch_size=BATCH)

    @transaction.atomic
    def run(self) -> None:
        self.build()
        self.write()


def qualite_president(c: Collectivite, feminine: bool, de_dep: str) -> str:
    titre = "Présidente" if feminine else "Président"
    if c.code == "VILLE-PARIS":
        return "Maire de Paris"
    if c.code in ("CDC", "CTM"):
        return f"{titre} du conseil exécutif {de(c.nom.split(' de ')[-1])}"
    if c.nature == NatureCollectivite.DEPARTEMENT:
        return f"{titre} du conseil départemental {de_dep}"
    return f"{titre} {de(c.nom)}"


# --- Purge and counts ------------------------------------------------------------------------------------


def domain_models_in_delete_order() -> list:
    """Contracts and every model that references them, directly or not (history tables and the axes
    table included), children first so that the database's foreign keys hold at each step."""
    every = apps.get_models(include_auto_created=True)

    def targets(model) -> set:
        return {f.related_model for f in model._meta.concrete_fields if f.is_relation and f.related_model}

    below = {Contrat}
    changed = True
    while changed:
        changed = False
        for model in every:
            if model not in below and targets(model) & below:
                below.add(model)
                changed = True
        for model in list(below):  # a history table does not point to its model
            history = getattr(getattr(model, "history", None), "model", None)
            if history is not None and history not in below:
                below.add(history)
                changed = True
    order, remaining = [], set(below)
    while remaining:
        # A model can go once no remaining model points to it.
        free = sorted(
            (m for m in remaining if not any(m in targets(o) for o in remaining if o is not m)),
            key=lambda m: m._meta.label,
        )
        if not free:
            raise RuntimeError(f"Cycle de clés étrangères : {sorted(m._meta.label for m in remaining)}")
        order += free
        remaining -= set(free)
    return order


def _delete_all(model) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


@transaction.atomic
def purge() -> None:
    """Deletes every contract and everything below (with their history), the demo users, and the demo
    organisations that nobody else uses. Reference data (territories, axes, rules) is kept.

    Plain ``DELETE`` statements: the ORM would load every row and write a history row for each.
    """
    for model in domain_models_in_delete_order():
        _delete_all(model)
    User.objects.filter(username__in=DEMO_USERNAMES).delete()
    keys = {spec.db_key for spec in all_demo_org_specs().values()}
    used = set(User.objects.exclude(organisation=None).values_list("organisation_id", flat=True))
    ids = [
        pk
        for pk, *key in Organisation.objects.values_list(
            "pk", "type", "nom", "region_id", "departement_id", "collectivite_id"
        )
        if tuple(key) in keys and pk not in used
    ]
    table = connection.ops.quote_name(Organisation._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)


def counts() -> dict[str, int]:
    """Row counts of the domain, as printed by ``seed_demo`` and ``bench_seed``."""
    return {
        "contrats": Contrat.objects.count(),
        "volets": Volet.objects.count(),
        "signataires": Signataire.objects.count(),
        "enveloppes annuelles": Plafond.objects.count(),
        "fiches actions": FicheAction.objects.count(),
        "lignes de financement": LigneFinancement.objects.count(),
        "indicateurs": Indicateur.objects.count(),
        "valeurs d'indicateurs": ValeurIndicateur.objects.count(),
        "avenants": Avenant.objects.count(),
        "modifications d'avenant": ModificationAvenant.objects.count(),
        "comités": Comite.objects.count(),
        "versements": Versement.objects.count(),
        "reliquats": Reliquat.objects.count(),
        "rapports annuels": RapportAnnuel.objects.count(),
        "organisations": Organisation.objects.count(),
        "utilisateurs de démo": User.objects.filter(username__in=DEMO_USERNAMES).count(),
    }
