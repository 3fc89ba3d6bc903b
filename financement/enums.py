from django.db import models


class TypeFinanceur(models.TextChoices):
    ETAT = "etat", "État"
    COLLECTIVITE = "collectivite", "Collectivité"
    AUTRE = "autre", "Autre financeur"


class NatureVersement(models.TextChoices):
    AVANCE = "avance", "Avance"
    SOLDE = "solde", "Solde"
    UNIQUE = "unique", "Versement unique"


class StatutVersement(models.TextChoices):
    """Where a payment of the State stands: planned, requested from the accounting office (Chorus), paid."""

    PREVU = "prevu", "Prévu"
    DEMANDE = "demande", "Demandé"
    VERSE = "verse", "Versé"


TRANSITIONS_VERSEMENT: dict[str, set[str]] = {
    StatutVersement.PREVU: {StatutVersement.DEMANDE},
    # A request withdrawn (or rejected by the accounting office) goes back to planned.
    StatutVersement.DEMANDE: {StatutVersement.VERSE, StatutVersement.PREVU},
    StatutVersement.VERSE: set(),
}
#: A payment the State has asked for or made: it counts against the year's ceiling.
STATUTS_VERSEMENT_ENGAGES = frozenset({StatutVersement.DEMANDE, StatutVersement.VERSE})


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

#: The report waits for the collectivité: it is written (and may be changed) only then, and it is late once its due
#: date has passed (a report sent to the DDETS is not late, whatever the date).
STATUTS_RAPPORT_REDACTION = frozenset({StatutRapport.BROUILLON, StatutRapport.A_COMPLETER})


class AvancementAction(models.TextChoices):
    """Where an action stands at the end of the year, as the collectivité declares it in its annual report (the
    fiche's own status is the DDETS's workflow; this is what the report says)."""

    NON_DEMARREE = "non_demarree", "Non démarrée"
    EN_COURS = "en_cours", "En cours"
    TERMINEE = "terminee", "Terminée"
    SUSPENDUE = "suspendue", "Suspendue"
    ABANDONNEE = "abandonnee", "Abandonnée"


class NatureRelance(models.TextChoices):
    """The e-mails that remind a collectivité of its annual report (``manage.py relancer_rapports``)."""

    AVANT = "avant", "Rappel avant l'échéance"
    RETARD = "retard", "Relance après l'échéance"


class Contrepartie(models.TextChoices):
    """Who must put in at least as much as the State, per action and year (DOMAIN: the 50/50 rule)."""

    COLLECTIVITE = "collectivite", "La collectivité signataire"
    COFINANCEURS = "cofinanceurs", "L'ensemble des autres financeurs"
    AUCUNE = "aucune", "Aucune (pas de parité)"
