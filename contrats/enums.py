from django.db import models


class TypeContrat(models.TextChoices):
    CLS_DEPARTEMENT = "cls_departement", "CLS – contrat local des solidarités (département)"
    CLS_METROPOLE = "cls_metropole", "CLS – contrat local des solidarités (métropole)"
    CDIE = "cdie", "CDIE – convention départementale pour l'insertion et l'emploi"
    CONVENTION_UNIQUE = "convention_unique", "Convention unique (CLS + CDIE)"
    CPT = "cpt", "CPT – convention partenariale territoriale"


PREFIXES = {
    TypeContrat.CLS_DEPARTEMENT: "CLS",
    TypeContrat.CLS_METROPOLE: "CLS",
    TypeContrat.CDIE: "CDIE",
    TypeContrat.CONVENTION_UNIQUE: "CU",
    TypeContrat.CPT: "CPT",
}


class StatutContrat(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    EN_NEGOCIATION = "en_negociation", "En négociation"
    PRET_SIGNATURE = "pret_signature", "Prêt pour signature"
    SIGNE = "signe", "Signé"
    EN_EXECUTION = "en_execution", "En exécution"
    CLOS = "clos", "Clos"
    RESILIE = "resilie", "Résilié"


TRANSITIONS_CONTRAT: dict[str, set[str]] = {
    StatutContrat.BROUILLON: {StatutContrat.EN_NEGOCIATION},
    StatutContrat.EN_NEGOCIATION: {StatutContrat.BROUILLON, StatutContrat.PRET_SIGNATURE},
    StatutContrat.PRET_SIGNATURE: {StatutContrat.EN_NEGOCIATION, StatutContrat.SIGNE},
    StatutContrat.SIGNE: {StatutContrat.EN_EXECUTION, StatutContrat.RESILIE},
    StatutContrat.EN_EXECUTION: {StatutContrat.CLOS, StatutContrat.RESILIE},
    StatutContrat.CLOS: set(),
    StatutContrat.RESILIE: set(),
}

# From these statuses on, contractual data only changes through an avenant.
STATUTS_FIGES = frozenset({StatutContrat.SIGNE, StatutContrat.EN_EXECUTION, StatutContrat.CLOS, StatutContrat.RESILIE})
# An avenant can be opened on a contract in these statuses.
STATUTS_AVENANT_POSSIBLE = frozenset({StatutContrat.SIGNE, StatutContrat.EN_EXECUTION})


class StatutAvenant(models.TextChoices):
    BROUILLON = "brouillon", "Brouillon"
    PRET_SIGNATURE = "pret_signature", "Prêt pour signature"
    SIGNE = "signe", "Signé"
    ABANDONNE = "abandonne", "Abandonné"


TRANSITIONS_AVENANT: dict[str, set[str]] = {
    StatutAvenant.BROUILLON: {StatutAvenant.PRET_SIGNATURE, StatutAvenant.ABANDONNE},
    StatutAvenant.PRET_SIGNATURE: {StatutAvenant.BROUILLON, StatutAvenant.SIGNE, StatutAvenant.ABANDONNE},
    StatutAvenant.SIGNE: set(),
    StatutAvenant.ABANDONNE: set(),
}
STATUTS_AVENANT_OUVERTS = frozenset({StatutAvenant.BROUILLON, StatutAvenant.PRET_SIGNATURE})


class PartieSignataire(models.TextChoices):
    ETAT = "etat", "État"
    COLLECTIVITE = "collectivite", "Collectivité"
    PARTENAIRE = "partenaire", "Partenaire"


class NatureModification(models.TextChoices):
    PREVU = "prevu", "Montant prévu d'un financeur"
    PLAFOND = "plafond", "Enveloppe annuelle de l'État"
    FICHE = "fiche", "Contenu d'une fiche action"
    FICHE_AJOUT = "fiche_ajout", "Nouvelle fiche action"
    CIBLE = "cible", "Cible annuelle d'un indicateur"
    CONTENU = "contenu", "Contenu du contrat"
    ENGAGEMENT = "engagement", "Engagement d'un partenaire"


class TypeComite(models.TextChoices):
    SUIVI = "suivi", "Comité de suivi"
    PILOTAGE = "pilotage", "Comité de pilotage"
