from django.db import models


class NatureCollectivite(models.TextChoices):
    DEPARTEMENT = "departement", "Département"
    METROPOLE = "metropole", "Métropole"
    STATUT_PARTICULIER = "collectivite_statut_particulier", "Collectivité à statut particulier"
    TERRITORIALE_UNIQUE = "collectivite_territoriale_unique", "Collectivité territoriale unique"
    COMMUNAUTE_URBAINE = "communaute_urbaine", "Communauté urbaine"
    COMMUNAUTE_AGGLOMERATION = "communaute_agglomeration", "Communauté d'agglomération"


class TypeOrganisation(models.TextChoices):
    DDETS = "ddets", "DDETS (État, département)"
    PREFECTURE = "prefecture", "Préfecture"
    DREETS = "dreets", "Commissaire / DREETS (État, région)"
    COLLECTIVITE = "collectivite", "Collectivité (conseil départemental, métropole)"
    ADMINISTRATION_CENTRALE = "administration_centrale", "Administration centrale (DGCS, DIPLP)"
    PARTENAIRE = "partenaire", "Partenaire ou porteur (CAF, CPAM, association…)"


class Role(models.TextChoices):
    EDITEUR = "editeur", "Éditeur"
    LECTEUR = "lecteur", "Lecteur"
