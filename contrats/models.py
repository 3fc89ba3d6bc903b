"""Contracts, their signatories, avenants and steering committees."""

from __future__ import annotations

import uuid

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from simple_history.models import HistoricalRecords

from contrats.enums import (
    STATUTS_FIGES,
    NatureModification,
    PartieSignataire,
    StatutAvenant,
    StatutContrat,
    TypeComite,
    TypeContrat,
)
from pacte.models import Axe, Collectivite, Organisation, Versionne
from pacte.perimeters import ScopedQuerySet
from pacte.validators import IDENTIFIER, LINE, TEXT, validate_amount, validate_pacte_date, validate_year


class RegleTypeContrat(Versionne):
    """What each type of contract may hold; edited by the administration centrale."""

    type_contrat = models.CharField("type de contrat", max_length=30, choices=TypeContrat.choices, unique=True)
    titre_defaut = models.CharField("titre imprimé par défaut", max_length=200, validators=LINE)
    axes = models.ManyToManyField(Axe, related_name="+", verbose_name="axes autorisés")
    chaque_axe_requis = models.BooleanField(
        "au moins une action par axe pour signer",
        default=False,
        help_text="Un CLS de métropole doit porter au moins une action sur chacun de ses axes.",
    )
    volets_max = models.PositiveSmallIntegerField(
        "nombre maximal de volets", default=0, help_text="0 : le contrat n'a pas de volets (CLS, CPT)."
    )
    duree_annees = models.PositiveSmallIntegerField("durée usuelle (années)", default=4)
    versement_aux_porteurs = models.BooleanField(
        "l'État verse aux porteurs des actions",
        default=False,
        help_text="Pacte local (CPT) : l'État paie le partenaire qui porte chaque action, ou la collectivité.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "règle de type de contrat"
        verbose_name_plural = "règles des types de contrat"
        ordering = ["type_contrat"]

    def __str__(self) -> str:
        return self.get_type_contrat_display()


class PacteLocalQuerySet(ScopedQuerySet):
    collectivite_path = "collectivite"


class PacteLocal(Versionne):
    """The pacte local of a collectivité for the period: what groups its CLS, CDIE (and their renewals)
    and CPT, so that a territory's documents are read together."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    collectivite = models.ForeignKey(
        Collectivite, on_delete=models.PROTECT, related_name="pactes_locaux", verbose_name="collectivité"
    )
    annee_debut = models.PositiveSmallIntegerField("première année", validators=[validate_year])
    annee_fin = models.PositiveSmallIntegerField("dernière année", validators=[validate_year])
    intitule = models.CharField("intitulé", max_length=200, validators=LINE)
    history = HistoricalRecords()

    objects = PacteLocalQuerySet.as_manager()

    class Meta:
        verbose_name = "pacte local"
        verbose_name_plural = "pactes locaux"
        ordering = ["collectivite", "annee_debut"]
        constraints = [
            models.UniqueConstraint(
                fields=["collectivite", "annee_debut"],
                name="pacte_local_unique_par_periode",
                violation_error_message="Cette collectivité a déjà un pacte local pour cette période.",
            ),
            models.CheckConstraint(
                name="pacte_local_annees_ordonnees",
                condition=Q(annee_fin__gte=F("annee_debut")),
                violation_error_message="La dernière année du pacte local suit sa première année.",
            ),
        ]

    def __str__(self) -> str:
        return self.intitule


class ContratQuerySet(ScopedQuerySet):
    collectivite_path = "collectivite"
    porteur_path = "fiches__porteur"


class Contrat(Versionne):
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField(
        "référence", max_length=40, unique=True, help_text="Clé naturelle, ex. CLS-2024-D05.", validators=IDENTIFIER
    )
    type_contrat = models.CharField("type", max_length=30, choices=TypeContrat.choices)
    titre = models.CharField("titre imprimé", max_length=200, validators=LINE)
    collectivite = models.ForeignKey(
        Collectivite, on_delete=models.PROTECT, related_name="contrats", verbose_name="collectivité"
    )
    axes = models.ManyToManyField(Axe, related_name="contrats", verbose_name="axes")
    date_debut = models.DateField("début", validators=[validate_pacte_date])
    date_fin = models.DateField("fin", validators=[validate_pacte_date])
    statut = models.CharField("statut", max_length=20, choices=StatutContrat.choices, default=StatutContrat.BROUILLON)
    date_signature = models.DateField("date de signature", null=True, blank=True, validators=[validate_pacte_date])
    document_signe = models.FileField("document signé", upload_to="contrats/signes/", blank=True)
    empreinte_document = models.CharField("empreinte SHA-256 du document signé", max_length=64, blank=True)
    scan_signe = models.FileField(
        "scan de l'exemplaire signé à la main",
        upload_to="contrats/scans/",
        blank=True,
        help_text="Joint à côté du document signé figé, qu'il ne remplace pas.",
    )
    motif_fin = models.TextField("motif de clôture ou de résiliation", blank=True, validators=TEXT)
    pacte_local = models.ForeignKey(
        PacteLocal,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="contrats",
        verbose_name="pacte local",
    )
    contrat_precedent = models.OneToOneField(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="renouvellement",
        verbose_name="contrat renouvelé",
        help_text="Le contrat (un CDIE annuel) dont celui-ci reprend les actions.",
    )
    preambule = models.TextField("préambule", blank=True, validators=TEXT, help_text="Texte mis en forme (HTML sûr).")
    diagnostic = models.TextField(
        "diagnostic", blank=True, validators=TEXT, help_text="Le diagnostic territorial sur lequel repose le contrat."
    )
    cree_le = models.DateTimeField("créé le", auto_now_add=True)
    modifie_le = models.DateTimeField("modifié le", auto_now=True)
    history = HistoricalRecords(m2m_fields=[axes])

    objects = ContratQuerySet.as_manager()

    class Meta:
        verbose_name = "contrat"
        verbose_name_plural = "contrats"
        ordering = ["reference"]
        constraints = [
            models.CheckConstraint(
                name="contrat_dates_ordonnees",
                condition=Q(date_fin__gt=F("date_debut")),
                violation_error_message="La date de fin du contrat doit suivre sa date de début.",
            ),
            models.CheckConstraint(
                name="contrat_signe_a_une_date",
                condition=~Q(statut__in=sorted(STATUTS_FIGES)) | Q(date_signature__isnull=False),
                violation_error_message="Un contrat signé a une date de signature.",
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def est_fige(self) -> bool:
        """Signed (or later): contractual data only changes through an avenant."""
        return self.statut in STATUTS_FIGES

    @property
    def annees(self) -> range:
        return range(self.date_debut.year, self.date_fin.year + 1)


class SignataireQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class Signataire(Versionne):
    """Who signs a contract for a party: the préfet, the president, each partner of a CPT."""

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="signataires")
    partie = models.CharField("partie", max_length=20, choices=PartieSignataire.choices)
    organisation = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="signatures",
        verbose_name="organisme partenaire",
    )
    nom = models.CharField("nom du signataire", max_length=200, validators=LINE)
    qualite = models.CharField(
        "qualité", max_length=200, help_text="Ex. préfet de la Drôme, présidente du CD.", validators=LINE
    )
    date_signature = models.DateField("date de signature", null=True, blank=True, validators=[validate_pacte_date])
    history = HistoricalRecords()

    objects = SignataireQuerySet.as_manager()

    class Meta:
        verbose_name = "signataire"
        verbose_name_plural = "signataires"
        ordering = ["contrat", "partie", "pk"]
        constraints = [
            models.CheckConstraint(
                name="signataire_partenaire_a_un_organisme",
                condition=~Q(partie="partenaire") | Q(organisation__isnull=False),
                violation_error_message="Un signataire partenaire représente un organisme.",
            ),
            models.UniqueConstraint(
                fields=["contrat", "partie"],
                condition=Q(partie__in=["etat", "collectivite"]),
                name="signataire_unique_etat_collectivite",
                violation_error_message="L'État et la collectivité ont chacun un seul signataire par contrat.",
            ),
            models.UniqueConstraint(
                fields=["contrat", "organisation"],
                name="signataire_partenaire_unique",
                violation_error_message="Cet organisme signe déjà ce contrat.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.nom}, {self.qualite}"


class VoletQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"
    porteur_path = "fiches__porteur"


class Volet(Versionne):
    """A separately funded part of a CDIE (volet 1: project management of the reform, 100 % State)."""

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="volets")
    numero = models.PositiveSmallIntegerField("numéro")
    intitule = models.CharField("intitulé", max_length=200, validators=LINE)
    history = HistoricalRecords()

    objects = VoletQuerySet.as_manager()

    class Meta:
        verbose_name = "volet"
        verbose_name_plural = "volets"
        ordering = ["contrat", "numero"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "numero"],
                name="volet_numero_unique",
                violation_error_message="Ce numéro de volet existe déjà dans le contrat.",
            ),
            models.CheckConstraint(
                name="volet_numero_1_a_3",
                condition=Q(numero__gte=1, numero__lte=3),
                violation_error_message="Un volet est numéroté de 1 à 3.",
            ),
        ]

    def __str__(self) -> str:
        return f"Volet {self.numero} – {self.intitule}"


class AvenantQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class Avenant(Versionne):
    """An amendment: the only way to change a signed contract's contractual data."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contrat = models.ForeignKey(Contrat, on_delete=models.PROTECT, related_name="avenants")
    numero = models.PositiveSmallIntegerField("numéro")
    objet = models.TextField("objet", validators=TEXT)
    statut = models.CharField("statut", max_length=20, choices=StatutAvenant.choices, default=StatutAvenant.BROUILLON)
    date_signature = models.DateField("date de signature", null=True, blank=True, validators=[validate_pacte_date])
    signataire_etat = models.CharField("signataire pour l'État", max_length=200, blank=True, validators=LINE)
    signataire_collectivite = models.CharField(
        "signataire pour la collectivité", max_length=200, blank=True, validators=LINE
    )
    document_signe = models.FileField("document signé", upload_to="avenants/signes/", blank=True)
    empreinte_document = models.CharField("empreinte SHA-256 du document signé", max_length=64, blank=True)
    scan_signe = models.FileField(
        "scan de l'exemplaire signé à la main",
        upload_to="avenants/scans/",
        blank=True,
        help_text="Joint à côté du document signé figé, qu'il ne remplace pas.",
    )
    cree_le = models.DateTimeField("créé le", auto_now_add=True)
    history = HistoricalRecords()

    objects = AvenantQuerySet.as_manager()

    class Meta:
        verbose_name = "avenant"
        verbose_name_plural = "avenants"
        ordering = ["contrat", "numero"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "numero"],
                name="avenant_numero_unique",
                violation_error_message="Ce numéro d'avenant existe déjà pour ce contrat.",
            ),
            models.CheckConstraint(
                name="avenant_signe_a_une_date",
                condition=~Q(statut="signe") | Q(date_signature__isnull=False),
                violation_error_message="Un avenant signé a une date de signature.",
            ),
        ]

    def __str__(self) -> str:
        return f"Avenant n° {self.numero} au {self.contrat.reference}"


class ModificationAvenantQuerySet(ScopedQuerySet):
    collectivite_path = "avenant__contrat__collectivite"


class ModificationAvenant(Versionne):
    """One change an avenant makes. ``avant`` is recorded when the avenant is signed and applied."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    avenant = models.ForeignKey(Avenant, on_delete=models.CASCADE, related_name="modifications")
    nature = models.CharField("nature", max_length=20, choices=NatureModification.choices)
    libelle = models.CharField("libellé", max_length=300, validators=LINE)
    cible = models.JSONField("cible", default=dict, help_text="Ce qui est modifié (clés naturelles).")
    avant = models.JSONField("avant", null=True, blank=True)
    apres = models.JSONField("après")
    applique_le = models.DateTimeField("appliquée le", null=True, blank=True)
    history = HistoricalRecords()

    objects = ModificationAvenantQuerySet.as_manager()

    class Meta:
        verbose_name = "modification d'avenant"
        verbose_name_plural = "modifications d'avenant"
        ordering = ["avenant", "pk"]

    def __str__(self) -> str:
        return self.libelle


class ComiteQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class Comite(Versionne):
    """A comité de suivi or de pilotage, co-chaired by the préfet and the president."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="comites")
    type_comite = models.CharField("instance", max_length=20, choices=TypeComite.choices)
    date = models.DateField("date", validators=[validate_pacte_date])
    lieu = models.CharField("lieu", max_length=200, blank=True, validators=LINE)
    participants = models.TextField("participants", blank=True, validators=TEXT)
    decisions = models.TextField("décisions", blank=True, validators=TEXT)
    history = HistoricalRecords()

    objects = ComiteQuerySet.as_manager()

    class Meta:
        verbose_name = "comité de suivi ou de pilotage"
        verbose_name_plural = "comités de suivi et de pilotage"
        ordering = ["contrat", "-date"]

    def __str__(self) -> str:
        return f"{self.get_type_comite_display()} du {self.date:%d/%m/%Y}"


class ObjectifContratQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class ObjectifContrat(Versionne):
    """One of the objectives a contract states (a few for a CLS, two or three for a CDIE), in order."""

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="objectifs")
    ordre = models.PositiveSmallIntegerField("ordre")
    libelle = models.TextField("objectif", validators=TEXT)
    history = HistoricalRecords()

    objects = ObjectifContratQuerySet.as_manager()

    class Meta:
        verbose_name = "objectif du contrat"
        verbose_name_plural = "objectifs du contrat"
        ordering = ["contrat", "ordre"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "ordre"],
                name="objectif_contrat_ordre_unique",
                violation_error_message="Un autre objectif du contrat a déjà ce rang.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ordre}. {self.libelle[:80]}"


class LibelleAxeQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class LibelleAxe(Versionne):
    """How a contract words one of its axes, where the territory words it differently from the national label."""

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="libelles_axes")
    axe = models.ForeignKey(Axe, on_delete=models.PROTECT, related_name="+", verbose_name="axe")
    libelle = models.CharField("intitulé local", max_length=300, validators=LINE)
    history = HistoricalRecords()

    objects = LibelleAxeQuerySet.as_manager()

    class Meta:
        verbose_name = "intitulé local d'un axe"
        verbose_name_plural = "intitulés locaux des axes"
        ordering = ["contrat", "axe__numero"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "axe"],
                name="libelle_axe_unique",
                violation_error_message="Cet axe a déjà un intitulé local dans ce contrat.",
            ),
        ]

    def __str__(self) -> str:
        return self.libelle


class EngagementPartenaireQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class EngagementPartenaire(Versionne):
    """What a partner commits to a contract for a year: money, staff, in kind (printed in the convention)."""

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="engagements")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="engagements", verbose_name="partenaire"
    )
    annee = models.PositiveSmallIntegerField("année", validators=[validate_year])
    montant = models.DecimalField(
        "apport financier", max_digits=14, decimal_places=2, default=0, validators=[validate_amount]
    )
    etp = models.DecimalField(
        "personnel (ETP)", max_digits=6, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    en_nature = models.TextField("apports en nature", blank=True, validators=TEXT)
    history = HistoricalRecords()

    objects = EngagementPartenaireQuerySet.as_manager()

    class Meta:
        verbose_name = "engagement d'un partenaire"
        verbose_name_plural = "engagements des partenaires"
        ordering = ["contrat", "organisation", "annee"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "organisation", "annee"],
                name="engagement_partenaire_unique_par_annee",
                violation_error_message="Ce partenaire a déjà un engagement pour cette année dans ce contrat.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} – {self.annee}"
