"""Fiches actions, their indicators and the indicators' yearly targets and values."""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from actions.enums import NatureAction, StatutFiche, TypeIndicateur
from contrats.models import Contrat, Volet
from pacte.models import Axe, Mesure, NaturalSortKeyField, Objectif, Organisation, Versionne
from pacte.perimeters import ScopedQuerySet
from pacte.validators import IDENTIFIER, LINE, TEXT, validate_indicator_value, validate_pacte_date, validate_year

# Fields that the contract fixes: read-only once it is signed, changed only by an avenant.
CHAMPS_CONTRACTUELS = (
    "intitule",
    "axe",
    "objectif",
    "mesure",
    "mesure_locale",
    "volet",
    "nature",
    "justification_renforcement",
    "contexte",
    "objectifs",
    "description",
    "public_cible",
    "volume_public",
    "territoire_departement_entier",
    "territoire_detail",
    "porteur",
    "partenaires",
    "date_debut",
    "date_fin",
    "jalons",
    "etp",
)


class FicheActionQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"
    porteur_path = "porteur"


class FicheAction(Versionne):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contrat = models.ForeignKey(Contrat, on_delete=models.PROTECT, related_name="fiches", verbose_name="contrat")
    code = models.CharField(
        "code", max_length=12, help_text="Ex. A1-03 : axe 1, troisième action.", validators=IDENTIFIER
    )
    intitule = models.CharField("intitulé", max_length=300, validators=LINE)
    axe = models.ForeignKey(Axe, on_delete=models.PROTECT, related_name="fiches", verbose_name="axe")
    objectif = models.ForeignKey(
        Objectif,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="fiches",
        verbose_name="objectif du Pacte",
        help_text="L'objectif que l'action sert (déduit de la mesure nationale quand il y en a une).",
    )
    mesure = models.ForeignKey(
        Mesure, on_delete=models.PROTECT, null=True, blank=True, related_name="fiches", verbose_name="mesure nationale"
    )
    mesure_locale = models.CharField(
        "mesure locale",
        max_length=300,
        blank=True,
        validators=LINE,
        help_text="Une action propre au territoire, hors des mesures nationales : son intitulé.",
    )
    volet = models.ForeignKey(
        Volet, on_delete=models.PROTECT, null=True, blank=True, related_name="fiches", verbose_name="volet"
    )
    nature = models.CharField("nature", max_length=20, choices=NatureAction.choices)
    justification_renforcement = models.TextField(
        "justification du renforcement",
        blank=True,
        help_text="Obligatoire pour une action renforcée : plus de personnes, nouveaux publics, nouveaux territoires.",
        validators=TEXT,
    )
    contexte = models.TextField("contexte et besoin (diagnostic)", blank=True, validators=TEXT)
    objectifs = models.TextField("objectifs", blank=True, validators=TEXT)
    description = models.TextField("description", blank=True, validators=TEXT)
    public_cible = models.TextField("public cible", blank=True, validators=TEXT)
    volume_public = models.PositiveIntegerField("volume de public attendu", null=True, blank=True)
    territoire_departement_entier = models.BooleanField("tout le territoire de la collectivité", default=True)
    territoire_detail = models.TextField("communes ou EPCI couverts", blank=True, validators=TEXT)
    porteur = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="fiches_portees", verbose_name="porteur"
    )
    partenaires = models.TextField("partenaires", blank=True, validators=TEXT)
    date_debut = models.DateField("début", validators=[validate_pacte_date])
    date_fin = models.DateField("fin", validators=[validate_pacte_date])
    jalons = models.TextField("jalons", blank=True, validators=TEXT)
    etp = models.DecimalField("ETP", max_digits=6, decimal_places=2, null=True, blank=True)
    statut = models.CharField("statut", max_length=20, choices=StatutFiche.choices, default=StatutFiche.PROPOSEE)
    origine = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reprises",
        verbose_name="reprise de",
        help_text="La fiche du contrat précédent (CDIE renouvelé) dont celle-ci reprend l'action.",
    )
    code_tri = NaturalSortKeyField("clé de tri du code", source="code", db_index=True)
    cree_le = models.DateTimeField("créée le", auto_now_add=True)
    modifie_le = models.DateTimeField("modifiée le", auto_now=True)
    history = HistoricalRecords()

    objects = FicheActionQuerySet.as_manager()

    class Meta:
        verbose_name = "fiche action"
        verbose_name_plural = "fiches actions"
        ordering = ["contrat", "code_tri"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "code"],
                name="fiche_code_unique_dans_contrat",
                violation_error_message="Ce code de fiche existe déjà dans le contrat.",
            ),
            models.CheckConstraint(
                name="fiche_mesure_nationale_ou_locale",
                condition=Q(mesure__isnull=True) | Q(mesure_locale=""),
                violation_error_message=(
                    "Une action relève d'une mesure nationale ou d'une mesure locale, pas des deux."
                ),
            ),
            models.CheckConstraint(
                name="fiche_dates_ordonnees",
                condition=Q(date_fin__gte=F("date_debut")),
                violation_error_message="La date de fin de l'action doit suivre sa date de début.",
            ),
            models.CheckConstraint(
                name="fiche_etp_positif",
                condition=Q(etp__isnull=True) | Q(etp__gte=0),
                violation_error_message="Les ETP ne peuvent pas être négatifs.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} – {self.intitule}"


class IndicateurQuerySet(ScopedQuerySet):
    collectivite_path = "fiche__contrat__collectivite"
    porteur_path = "fiche__porteur"


class Indicateur(Versionne):
    fiche = models.ForeignKey(FicheAction, on_delete=models.CASCADE, related_name="indicateurs")
    nom = models.CharField("nom", max_length=200, validators=LINE)
    type_indicateur = models.CharField("type", max_length=20, choices=TypeIndicateur.choices)
    unite = models.CharField("unité", max_length=50, help_text="Ex. personnes, ménages, %.", validators=LINE)
    valeur_reference = models.DecimalField(
        "valeur de référence",
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[validate_indicator_value],
    )
    source = models.CharField("source", max_length=200, blank=True, validators=LINE)
    history = HistoricalRecords()

    objects = IndicateurQuerySet.as_manager()

    class Meta:
        verbose_name = "indicateur"
        verbose_name_plural = "indicateurs"
        ordering = ["fiche", "pk"]

    def __str__(self) -> str:
        return f"{self.nom} ({self.unite})"


class ValeurIndicateurQuerySet(ScopedQuerySet):
    collectivite_path = "indicateur__fiche__contrat__collectivite"
    porteur_path = "indicateur__fiche__porteur"


class ValeurIndicateur(Versionne):
    """Target (contractual) and achieved value (execution) of an indicator for one year."""

    indicateur = models.ForeignKey(Indicateur, on_delete=models.CASCADE, related_name="valeurs")
    annee = models.PositiveSmallIntegerField("année", validators=[validate_year])
    cible = models.DecimalField(
        "cible", max_digits=14, decimal_places=2, null=True, blank=True, validators=[validate_indicator_value]
    )
    realise = models.DecimalField(
        "valeur atteinte", max_digits=14, decimal_places=2, null=True, blank=True, validators=[validate_indicator_value]
    )
    history = HistoricalRecords()

    objects = ValeurIndicateurQuerySet.as_manager()

    class Meta:
        verbose_name = "valeur annuelle d'indicateur"
        verbose_name_plural = "valeurs annuelles d'indicateurs"
        ordering = ["indicateur", "annee"]
        constraints = [
            models.UniqueConstraint(
                fields=["indicateur", "annee"],
                name="valeur_indicateur_unique_par_an",
                violation_error_message="Cet indicateur a déjà une valeur pour cette année.",
            ),
            models.CheckConstraint(
                name="valeur_indicateur_annee_du_pacte",
                condition=Q(annee__gte=2019, annee__lte=2035),
                violation_error_message="L'année doit être comprise entre 2019 et 2035.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicateur} – {self.annee}"
