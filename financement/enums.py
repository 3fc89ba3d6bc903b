from django.db import models


class TypeFinanceur(models.TextChoices):
    ETAT = "etat", "État"
    COLLECTIVITE = "collectivite", "Collectivité"
    AUTRE = "autre", "Autre financeur"


class NatureVersement(models.TextChoices):
    AVANCE = "avance", "Avance"
    SOLDE = "solde", "Solde"
    UNIQUE = "unique", "Versement unique"


class DecisionReliquat(models.TextChoices):
    DEDUCTION = "deduction", "Déduit du versement de l'année suivante"
    REVERSEMENT = "reversement", "Titre de reversement"


class StatutRapport(models.TextChoices):
    BROUILLON = "brouillon", "En rédaction (collectivité)"
    TRANSMIS = "transmis", "Transmis à la DDETS"
    A_COMPLETER = "a_completer", "Renvoyé pour compléments"
    VALIDE = "valide", "Validé"


TRANSITIONS_RAPPORT: dict[str, set[str]] = {
    StatutRapport.BROUILLON: {StatutRapport.TRANSMIS},
    StatutRapport.TRANSMIS: {StatutRapport.A_COMPLETER, StatutRapport.VALIDE},
    StatutRapport.A_COMPLETER: {StatutRapport.TRANSMIS},
    StatutRapport.VALIDE: set(),
}


class Contrepartie(models.TextChoices):
    """Who must put in at least as much as the State, per action and year (DOMAIN: the 50/50 rule)."""

    COLLECTIVITE = "collectivite", "La collectivité signataire"
    COFINANCEURS = "cofinanceurs", "L'ensemble des autres financeurs"
    AUCUNE = "aucune", "Aucune (pas de parité)"
