"""Reference data every app needs: territories, axes, measures, organisations and users."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from pacte.enums import NatureCollectivite, Role, TypeOrganisation
from pacte.validators import IDENTIFIER, LINE, validate_siret


def natural_sort_key(text: str) -> str:
    """``A1-2`` sorts before ``A1-10``: every run of digits is padded to ten digits."""
    return re.sub(r"[0-9]+", lambda m: m.group().zfill(10), text or "")[:120]


class NaturalSortKeyField(models.CharField):
    """A column holding the natural sort key of another field, computed on every save (``bulk_create``
    included), so that the database sorts codes as people read them."""

    def __init__(self, *args, source: str = "", **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 120)
        kwargs.setdefault("editable", False)
        kwargs.setdefault("default", "")
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = natural_sort_key(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value


class Versionne(models.Model):
    """A row edited by forms: its version goes up at each save (``pacte.services.save_validated``), so a
    form shown before another agent's save cannot overwrite it."""

    version = models.PositiveIntegerField("version", default=0, editable=False)

    class Meta:
        abstract = True


class Region(Versionne):
    code = models.CharField("code INSEE", max_length=3, unique=True, validators=IDENTIFIER)
    nom = models.CharField("nom", max_length=100, validators=LINE)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "région"
        verbose_name_plural = "régions"
        ordering = ["nom"]

    def __str__(self) -> str:
        return self.nom


class Departement(Versionne):
    code = models.CharField("code INSEE", max_length=3, unique=True, validators=IDENTIFIER)
    nom = models.CharField("nom", max_length=100, validators=LINE)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="departements", verbose_name="région")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "département"
        verbose_name_plural = "départements"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.nom}"


class Collectivite(Versionne):
    """The party that signs with the State: a département's council, a métropole, a special collectivité."""

    code = models.CharField(
        "code", max_length=20, unique=True, help_text="Clé courte stable, ex. D05, M-ROU.", validators=IDENTIFIER
    )
    nom = models.CharField("nom", max_length=200, validators=LINE)
    nature = models.CharField("nature", max_length=40, choices=NatureCollectivite.choices)
    departements = models.ManyToManyField(Departement, related_name="collectivites", verbose_name="départements")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="collectivites", verbose_name="région")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "collectivité"
        verbose_name_plural = "collectivités"
        ordering = ["code"]

    def __str__(self) -> str:
        return self.nom

    @property
    def est_metropole(self) -> bool:
        return self.code.startswith("M-")

    @property
    def partie(self) -> str:
        """How a message names this party after "celle": "du Département", "de la Métropole"…"""
        if self.nature == NatureCollectivite.DEPARTEMENT:
            return "du Département"
        if self.est_metropole:
            return "de la Métropole"
        return "de la Collectivité"


class Axe(Versionne):
    numero = models.PositiveSmallIntegerField("numéro", unique=True)
    intitule = models.CharField("intitulé", max_length=200, validators=LINE)
    intitule_court = models.CharField("intitulé court", max_length=60, validators=LINE)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "axe"
        verbose_name_plural = "axes"
        ordering = ["numero"]

    def __str__(self) -> str:
        return f"Axe {self.numero} – {self.intitule_court}"


class Objectif(Versionne):
    """An objective of the Pacte's instructions within an axis (familles précaires, repérage précoce,
    autonomie des 16–25 ans…): the first level of the reference list, above the national measures.
    Many local actions serve an objective without matching a national measure."""

    code = models.CharField("code", max_length=10, unique=True, validators=IDENTIFIER)
    axe = models.ForeignKey(Axe, on_delete=models.PROTECT, related_name="objectifs", verbose_name="axe")
    intitule = models.CharField("intitulé", max_length=300, validators=LINE)
    active = models.BooleanField("actif", default=True, help_text="Un objectif inactif n'est plus proposé.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "objectif du Pacte"
        verbose_name_plural = "objectifs du Pacte"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.intitule}"


class Mesure(Versionne):
    code = models.CharField("code", max_length=10, unique=True, validators=IDENTIFIER)
    axe = models.ForeignKey(Axe, on_delete=models.PROTECT, related_name="mesures", verbose_name="axe")
    objectif = models.ForeignKey(
        Objectif,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="mesures",
        verbose_name="objectif",
        help_text="L'objectif du Pacte que la mesure sert (même axe).",
    )
    intitule = models.CharField("intitulé", max_length=300, validators=LINE)
    active = models.BooleanField("active", default=True, help_text="Une mesure inactive n'est plus proposée.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "mesure nationale"
        verbose_name_plural = "mesures nationales"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} – {self.intitule}"


class OrganisationQuerySet(models.QuerySet):
    def for_user(self, user) -> OrganisationQuerySet:
        from pacte.perimeters import perimetre_of

        return self.filter(perimetre_of(user).organisations_q()).distinct()


class Organisation(Versionne):
    """A service or body whose agents use the application, or a partner that carries or funds actions."""

    nom = models.CharField("nom", max_length=200, validators=LINE)
    type = models.CharField("type", max_length=30, choices=TypeOrganisation.choices)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="région"
    )
    departement = models.ForeignKey(
        Departement,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="département",
    )
    collectivite = models.ForeignKey(
        Collectivite,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="organisations",
        verbose_name="collectivité",
    )
    siret = models.CharField("SIRET", max_length=14, blank=True, validators=[validate_siret])
    history = HistoricalRecords()

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = "organisation"
        verbose_name_plural = "organisations"
        ordering = ["nom"]
        constraints = [
            models.CheckConstraint(
                name="organisation_territoire_selon_type",
                condition=(
                    Q(type__in=["ddets", "prefecture"], departement__isnull=False, collectivite__isnull=True)
                    | Q(
                        type="dreets",
                        region__isnull=False,
                        departement__isnull=True,
                        collectivite__isnull=True,
                    )
                    | Q(type="collectivite", collectivite__isnull=False)
                    | Q(type="administration_centrale", region__isnull=True, departement__isnull=True)
                    | Q(type="partenaire", collectivite__isnull=True)
                ),
                violation_error_message=(
                    "Le territoire ne correspond pas au type : une DDETS ou une préfecture a un département, "
                    "une DREETS une région, une collectivité sa collectivité."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.nom


class User(Versionne, AbstractUser):
    """An agent. Its organisation gives its perimeter; its role says whether it may write."""

    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="membres",
        verbose_name="organisation",
    )
    role = models.CharField("rôle", max_length=20, choices=Role.choices, default=Role.LECTEUR)
    # Who gave which role to whom, and when; never the password hash.
    history = HistoricalRecords(excluded_fields=["password", "last_login"])

    class Meta:
        verbose_name = "utilisateur"
        verbose_name_plural = "utilisateurs"
        ordering = ["username"]

    def __str__(self) -> str:
        return self.get_username()

    @property
    def est_editeur(self) -> bool:
        return self.is_superuser or self.role == Role.EDITEUR

    @property
    def type_organisation(self) -> str | None:
        return self.organisation.type if self.organisation_id else None
