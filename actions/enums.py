from django.db import models


class NatureAction(models.TextChoices):
    NOUVELLE = "nouvelle", "Nouvelle"
    RENFORCEE = "renforcee", "Renforcée"


class StatutFiche(models.TextChoices):
    PROPOSEE = "proposee", "Proposée"
    VALIDEE = "validee", "Validée"
    EN_COURS = "en_cours", "En cours"
    TERMINEE = "terminee", "Terminée"
    ABANDONNEE = "abandonnee", "Abandonnée"


TRANSITIONS_FICHE: dict[str, set[str]] = {
    StatutFiche.PROPOSEE: {StatutFiche.VALIDEE, StatutFiche.ABANDONNEE},
    StatutFiche.VALIDEE: {StatutFiche.PROPOSEE, StatutFiche.EN_COURS, StatutFiche.ABANDONNEE},
    StatutFiche.EN_COURS: {StatutFiche.TERMINEE, StatutFiche.ABANDONNEE},
    StatutFiche.TERMINEE: set(),
    StatutFiche.ABANDONNEE: set(),
}
# Going back to "proposée" reopens the contractual content: not possible once the contract is signed.
RETOURS_INTERDITS_APRES_SIGNATURE = frozenset({(StatutFiche.VALIDEE, StatutFiche.PROPOSEE)})
# Statuses whose planned amounts count in parity, ceilings and consolidation.
STATUTS_ACTIFS = frozenset({StatutFiche.PROPOSEE, StatutFiche.VALIDEE, StatutFiche.EN_COURS, StatutFiche.TERMINEE})


class TypeIndicateur(models.TextChoices):
    REALISATION = "realisation", "Réalisation"
    RESULTAT = "resultat", "Résultat"


class TypePorteur(models.TextChoices):
    COLLECTIVITE = "collectivite", "La collectivité elle-même"
    CCAS = "ccas", "CCAS / CIAS"
    ASSOCIATION = "association", "Association"
    ORGANISME_PUBLIC = "organisme_public", "Organisme public"
    AUTRE = "autre", "Autre"
