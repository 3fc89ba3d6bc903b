"""Funding lines, cofinancing rules, ceilings, payments, reliquats and annual reports."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from actions.models import FicheAction
from contrats.enums import TypeContrat
from contrats.models import Contrat, Volet
from financement.enums import Contrepartie, DecisionReliquat, NatureVersement, StatutRapport, TypeFinanceur
from pacte.models import Organisation, Versionne
from pacte.perimeters import ScopedQuerySet
from pacte.validators import TEXT, validate_amount, validate_ej, validate_pacte_date, validate_year


def _montant(verbose_name: str, **kwargs) -> models.DecimalField:
    return models.DecimalField(verbose_name, max_digits=14, decimal_places=2, **kwargs)


class RegleCofinancement(Versionne):
    """The parity rule for a contract type, optionally for one volet (configurable, docs/regles.md).

    A rule with a volet number applies to the actions of that volet; the rule without one applies
    to every other action of the contract type.
    """

    type_contrat = models.CharField("type de contrat", max_length=30, choices=TypeContrat.choices)
    volet_numero = models.PositiveSmallIntegerField(
        "numéro de volet", null=True, blank=True, help_text="Vide : toutes les actions du type de contrat."
    )
    taux_etat_max = models.DecimalField(
        "part maximale de l'État",
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.5000"),
        help_text="Part du coût total prévu de l'action (tous financeurs) : 0,5 = 50 %, 1 = 100 %.",
    )
    contrepartie = models.CharField(
        "contrepartie de l'État",
        max_length=20,
        choices=Contrepartie.choices,
        default=Contrepartie.COLLECTIVITE,
        help_text="Qui doit apporter au moins autant que l'État, pour chaque action et chaque année.",
    )
    etat_seul = models.BooleanField(
        "l'État peut financer seul",
        default=True,
        help_text="Faux : une action financée par l'État a au moins un autre financeur.",
    )
    tolerance = _montant("tolérance d'arrondi (€)", default=Decimal("1.00"), validators=[validate_amount])
    history = HistoricalRecords()

    class Meta:
        verbose_name = "règle de cofinancement"
        verbose_name_plural = "règles de cofinancement"
        ordering = ["type_contrat", "volet_numero"]
        constraints = [
            models.UniqueConstraint(
                fields=["type_contrat"],
                condition=Q(volet_numero__isnull=True),
                name="regle_unique_par_type",
                violation_error_message="Ce type de contrat a déjà une règle générale.",
            ),
            models.UniqueConstraint(
                fields=["type_contrat", "volet_numero"],
                condition=Q(volet_numero__isnull=False),
                name="regle_unique_par_volet",
                violation_error_message="Ce volet a déjà une règle pour ce type de contrat.",
            ),
            models.CheckConstraint(
                name="regle_taux_entre_0_et_1",
                condition=Q(taux_etat_max__gte=0, taux_etat_max__lte=1),
                violation_error_message="La part maximale de l'État est comprise entre 0 et 1 (100 %%).",
            ),
            models.CheckConstraint(
                name="regle_tolerance_positive",
                condition=Q(tolerance__gte=0),
                violation_error_message="La tolérance ne peut pas être négative.",
            ),
        ]

    def __str__(self) -> str:
        volet = f", volet {self.volet_numero}" if self.volet_numero else ""
        return f"{self.get_type_contrat_display()}{volet} : État ≤ {self.taux_etat_max:.0%}"


class LigneFinancementQuerySet(ScopedQuerySet):
    collectivite_path = "fiche__contrat__collectivite"
    porteur_path = "fiche__porteur"


class LigneFinancement(Versionne):
    """One funder's money for one action and one year: planned, committed, spent."""

    fiche = models.ForeignKey(FicheAction, on_delete=models.CASCADE, related_name="financements")
    annee = models.PositiveSmallIntegerField("année", validators=[validate_year])
    type_financeur = models.CharField("financeur", max_length=20, choices=TypeFinanceur.choices)
    financeur = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="financements",
        verbose_name="autre financeur",
        help_text="Pour un autre financeur seulement (CAF, ARS, France Travail, commune…).",
    )
    prevu = _montant("prévu", default=Decimal("0.00"), validators=[validate_amount])
    engage = _montant("engagé", null=True, blank=True, validators=[validate_amount])
    realise = _montant("réalisé", null=True, blank=True, validators=[validate_amount])
    history = HistoricalRecords()

    objects = LigneFinancementQuerySet.as_manager()

    class Meta:
        verbose_name = "ligne de financement"
        verbose_name_plural = "lignes de financement"
        ordering = ["fiche", "annee", "type_financeur", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fiche", "annee", "type_financeur"],
                condition=Q(type_financeur__in=["etat", "collectivite"]),
                name="financement_unique_etat_collectivite",
                violation_error_message="Ce financeur a déjà une ligne pour cette action et cette année.",
            ),
            models.UniqueConstraint(
                fields=["fiche", "annee", "financeur"],
                name="financement_unique_autre_financeur",
                violation_error_message="Ce financeur a déjà une ligne pour cette action et cette année.",
            ),
            models.CheckConstraint(
                name="financement_autre_financeur_nomme",
                condition=(Q(type_financeur="autre") & Q(financeur__isnull=False))
                | (~Q(type_financeur="autre") & Q(financeur__isnull=True)),
                violation_error_message=(
                    "Un autre financeur doit être nommé ; l'État et la collectivité ne le sont pas."
                ),
            ),
            models.CheckConstraint(
                name="financement_montants_positifs",
                condition=Q(prevu__gte=0)
                & (Q(engage__isnull=True) | Q(engage__gte=0))
                & (Q(realise__isnull=True) | Q(realise__gte=0)),
                violation_error_message="Les montants ne peuvent pas être négatifs.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fiche.code} – {self.annee} – {self.libelle_financeur}"

    @property
    def libelle_financeur(self) -> str:
        if self.type_financeur == TypeFinanceur.AUTRE and self.financeur_id:
            return self.financeur.nom
        return self.get_type_financeur_display()


class PlafondQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class Plafond(Versionne):
    """The State's annual ceiling (enveloppe) for a contract, or for one volet of a CDIE."""

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="plafonds")
    volet = models.ForeignKey(
        Volet,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="plafonds",
        help_text="Pour un CDIE : chaque volet a son enveloppe, sans fongibilité.",
    )
    annee = models.PositiveSmallIntegerField("année", validators=[validate_year])
    montant = _montant("montant maximal de l'État", validators=[validate_amount])
    history = HistoricalRecords()

    objects = PlafondQuerySet.as_manager()

    class Meta:
        verbose_name = "enveloppe annuelle de l'État"
        verbose_name_plural = "enveloppes annuelles de l'État"
        ordering = ["contrat", "annee", "volet"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "annee"],
                condition=Q(volet__isnull=True),
                name="plafond_unique_par_contrat_annee",
                violation_error_message="Ce contrat a déjà une enveloppe pour cette année.",
            ),
            models.UniqueConstraint(
                fields=["volet", "annee"],
                name="plafond_unique_par_volet_annee",
                violation_error_message="Ce volet a déjà une enveloppe pour cette année.",
            ),
            models.CheckConstraint(
                name="plafond_positif",
                condition=Q(montant__gte=0),
                violation_error_message="Une enveloppe ne peut pas être négative.",
            ),
        ]

    def __str__(self) -> str:
        volet = f" volet {self.volet.numero}" if self.volet_id else ""
        return f"{self.contrat.reference}{volet} – {self.annee}"


class VersementQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class Versement(Versionne):
    """A payment of the State for a contract and a year, to the collectivité or, for a pacte local, to the
    partner carrying an action."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contrat = models.ForeignKey(Contrat, on_delete=models.PROTECT, related_name="versements")
    annee = models.PositiveSmallIntegerField("exercice", validators=[validate_year])
    nature = models.CharField("nature", max_length=20, choices=NatureVersement.choices)
    montant = _montant("montant", validators=[validate_amount])
    numero_ej = models.CharField(
        "n° d'engagement juridique (Chorus)",
        max_length=10,
        blank=True,
        help_text="10 chiffres.",
        validators=[validate_ej],
    )
    date_engagement = models.DateField("date d'engagement", null=True, blank=True, validators=[validate_pacte_date])
    beneficiaire = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="versements_recus",
        verbose_name="bénéficiaire",
        help_text="Vide : la collectivité signataire. Pacte local : le partenaire qui porte l'action.",
    )
    date_versement = models.DateField(
        "date de versement", null=True, blank=True, help_text="Vide : à venir.", validators=[validate_pacte_date]
    )
    history = HistoricalRecords()

    objects = VersementQuerySet.as_manager()

    class Meta:
        verbose_name = "versement"
        verbose_name_plural = "versements"
        ordering = ["contrat", "annee", "date_versement"]
        constraints = [
            models.CheckConstraint(
                name="versement_positif",
                condition=Q(montant__gt=0),
                violation_error_message="Un versement est d'un montant positif.",
            ),
            models.CheckConstraint(
                name="versement_ej_chiffres",
                condition=Q(numero_ej="") | Q(numero_ej__regex=r"^[0-9]{10}$"),
                violation_error_message="Le numéro d'engagement juridique Chorus compte 10 chiffres.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_nature_display()} {self.annee} – {self.contrat.reference}"


class ReliquatQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class Reliquat(Versionne):
    """What the State paid for a year and the collectivité did not spend, and what is done with it."""

    contrat = models.ForeignKey(Contrat, on_delete=models.PROTECT, related_name="reliquats")
    annee = models.PositiveSmallIntegerField("exercice", validators=[validate_year])
    verse = _montant("versé par l'État")
    realise_etat = _montant("réalisé sur la part de l'État")
    montant = _montant("reliquat")
    decision = models.CharField("décision", max_length=20, choices=DecisionReliquat.choices, blank=True)
    decide_le = models.DateField("décidé le", null=True, blank=True)
    decide_par = models.ForeignKey(
        "pacte.User",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="décidé par",
    )
    commentaire = models.TextField("commentaire", blank=True, validators=TEXT)
    history = HistoricalRecords()

    objects = ReliquatQuerySet.as_manager()

    class Meta:
        verbose_name = "reliquat"
        verbose_name_plural = "reliquats"
        ordering = ["contrat", "annee"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "annee"],
                name="reliquat_unique_par_annee",
                violation_error_message="Le reliquat de cet exercice est déjà calculé.",
            ),
            models.CheckConstraint(
                name="reliquat_positif",
                condition=Q(montant__gte=0),
                violation_error_message="Un reliquat ne peut pas être négatif.",
            ),
            models.CheckConstraint(
                name="reliquat_decision_datee",
                condition=Q(decision="") | Q(decide_le__isnull=False),
                violation_error_message="Une décision sur le reliquat est datée.",
            ),
        ]

    def __str__(self) -> str:
        return f"Reliquat {self.annee} – {self.contrat.reference}"


class RapportAnnuelQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"


class RapportAnnuel(Versionne):
    """The annual execution report for year N, due by 31 March of N+1 (configurable)."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    contrat = models.ForeignKey(Contrat, on_delete=models.PROTECT, related_name="rapports")
    annee = models.PositiveSmallIntegerField("exercice", validators=[validate_year])
    statut = models.CharField("statut", max_length=20, choices=StatutRapport.choices, default=StatutRapport.BROUILLON)
    date_limite = models.DateField("à rendre au plus tard le")
    synthese = models.TextField("synthèse de l'exécution", blank=True, validators=TEXT)
    observations_ddets = models.TextField("observations de la DDETS", blank=True, validators=TEXT)
    transmis_le = models.DateField("transmis le", null=True, blank=True)
    valide_le = models.DateField("validé le", null=True, blank=True)
    history = HistoricalRecords()

    objects = RapportAnnuelQuerySet.as_manager()

    class Meta:
        verbose_name = "rapport annuel d'exécution"
        verbose_name_plural = "rapports annuels d'exécution"
        ordering = ["contrat", "annee"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat", "annee"],
                name="rapport_unique_par_annee",
                violation_error_message="Ce contrat a déjà un rapport pour cet exercice.",
            ),
        ]

    def __str__(self) -> str:
        return f"Rapport {self.annee} – {self.contrat.reference}"
