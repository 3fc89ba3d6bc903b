"""Funding lines, cofinancing rules, ceilings, payments, reliquats and annual reports."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from actions.models import FicheAction
from contrats.enums import TypeContrat
from contrats.models import Avenant, Contrat, Volet
from financement.enums import (
    STATUTS_RAPPORT_REDACTION,
    AvancementAction,
    Contrepartie,
    DecisionReliquat,
    NatureRelance,
    NatureVersement,
    StatutRapport,
    StatutVersement,
    TypeFinanceur,
)
from pacte.models import Departement, Organisation, Region, Versionne
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


#: A payment made (see ``VersementQuerySet.payes``), and one requested or made (``engages``).
PAYE = Q(date_versement__isnull=False)
ENGAGE = PAYE | Q(statut__in=["demande", "verse"])


class VersementQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"

    def payes(self):
        """The payments made: dated. Every payment the services write is dated exactly when its status is
        « versé »; a row written outside them (the demo's bulk load, an import) counts by its date, as it always
        did."""
        return self.filter(PAYE)

    def engages(self):
        """The payments requested or made: what counts against the year's ceiling."""
        return self.filter(ENGAGE)


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
    statut = models.CharField(
        "statut",
        max_length=20,
        choices=StatutVersement.choices,
        default=StatutVersement.PREVU,
        help_text="Prévu, puis demandé (demande de paiement dans Chorus), puis versé (daté).",
    )
    date_demande = models.DateField(
        "date de la demande de paiement", null=True, blank=True, validators=[validate_pacte_date]
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
            models.CheckConstraint(
                name="versement_verse_date",
                condition=~Q(statut="verse") | Q(date_versement__isnull=False),
                violation_error_message="Un versement payé a une date de versement.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_nature_display()} {self.annee} – {self.contrat.reference}"

    @property
    def statut_effectif(self) -> str:
        """The status the pages show and act on: « versé » for a dated row (one written outside the services, the
        demo's bulk load or an import, counts by its date: ``VersementQuerySet.payes``), else its own."""
        return StatutVersement.VERSE if self.date_versement else self.statut

    def get_statut_effectif_display(self) -> str:
        return StatutVersement(self.statut_effectif).label


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

    def avec_retard(self, aujourd_hui):
        """Each report with ``en_retard``: still waiting for the collectivité (in redaction or sent back) after its
        due date — computed by the database, for a list of any length."""
        return self.annotate(
            en_retard=models.ExpressionWrapper(
                Q(statut__in=STATUTS_RAPPORT_REDACTION, date_limite__lt=aujourd_hui),
                output_field=models.BooleanField(),
            )
        )


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

    @property
    def en_redaction(self) -> bool:
        """The collectivité writes it (in redaction, or sent back for more): the only time it changes."""
        return self.statut in STATUTS_RAPPORT_REDACTION


class RapportActionQuerySet(ScopedQuerySet):
    collectivite_path = "rapport__contrat__collectivite"


class RapportAction(Versionne):
    """One action's section of an annual report: what was done in the year and where the action stands, as the
    collectivité writes it.

    The year's amounts and indicator values are those of the funding lines and indicators, entered on the
    execution page: read live while the report is written, and copied here (``chiffres_transmis``) each time the
    report is sent to the DDETS, so that what the DDETS checks and validates is what was sent (docs/regles.md).
    """

    rapport = models.ForeignKey(RapportAnnuel, on_delete=models.CASCADE, related_name="sections")
    fiche = models.ForeignKey(
        FicheAction, on_delete=models.PROTECT, related_name="sections_rapport", verbose_name="fiche action"
    )
    recit = models.TextField(
        "ce qui a été fait dans l'année",
        blank=True,
        validators=TEXT,
        help_text="Les réalisations, les publics touchés, les difficultés rencontrées, ce qui change l'an prochain.",
    )
    avancement = models.CharField("où en est l'action", max_length=20, choices=AvancementAction.choices, blank=True)
    chiffres_transmis = models.JSONField(
        "montants et indicateurs transmis",
        null=True,
        blank=True,
        editable=False,
        help_text="Copiés à la transmission : montants par financeur (en texte décimal) et valeurs des indicateurs.",
    )
    history = HistoricalRecords()

    objects = RapportActionQuerySet.as_manager()

    class Meta:
        verbose_name = "section d'un rapport annuel"
        verbose_name_plural = "sections des rapports annuels"
        ordering = ["rapport", "fiche__code_tri", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["rapport", "fiche"],
                name="rapport_section_unique_par_fiche",
                violation_error_message="Ce rapport a déjà une section pour cette action.",
            ),
        ]

    def __str__(self) -> str:
        return f"Rapport {self.rapport.annee} – {self.fiche.code}"


class RelanceRapportQuerySet(ScopedQuerySet):
    collectivite_path = "rapport__contrat__collectivite"


class RelanceRapport(models.Model):
    """A reminder e-mail sent about an annual report (``manage.py relancer_rapports``): the trail of what was sent,
    and what keeps a report from being reminded twice the same day."""

    rapport = models.ForeignKey(RapportAnnuel, on_delete=models.CASCADE, related_name="relances")
    nature = models.CharField("nature", max_length=20, choices=NatureRelance.choices)
    envoyee_le = models.DateField("envoyée le")
    destinataires = models.TextField("destinataires", help_text="Les adresses, une par ligne.")

    objects = RelanceRapportQuerySet.as_manager()

    class Meta:
        verbose_name = "relance d'un rapport annuel"
        verbose_name_plural = "relances des rapports annuels"
        ordering = ["rapport", "envoyee_le"]
        constraints = [
            models.UniqueConstraint(
                fields=["rapport", "envoyee_le"],
                name="relance_une_par_jour",
                violation_error_message="Ce rapport a déjà été relancé ce jour-là.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_nature_display()} – {self.rapport} – {self.envoyee_le:%d/%m/%Y}"


# --- Documents issued by the platform, batch printing (financement/services.py, financement/tasks.py) --------------


class NatureDocument(models.TextChoices):
    CONVENTION = "convention", "Convention"
    AVENANT = "avenant", "Avenant"
    FICHE = "fiche", "Fiche action"
    RAPPORT = "rapport", "Rapport annuel d'exécution"


class StatutTache(models.TextChoices):
    """Where a document or a batch print being produced in the background stands."""

    EN_ATTENTE = "en_attente", "En attente"
    EN_COURS = "en_cours", "En cours"
    PRET = "pret", "Prêt"
    ECHEC = "echec", "Échec"


#: A job that still holds its place (one signed document per contract or avenant; one draft at a time).
STATUTS_VIVANTS = (StatutTache.EN_ATTENTE, StatutTache.EN_COURS, StatutTache.PRET)
STATUTS_EN_COURS = (StatutTache.EN_ATTENTE, StatutTache.EN_COURS)
#: A job in progress with no news for this long is taken as lost (a worker stopped in the middle): the pages stop
#: following it and it may be asked for again (the services mark it failed; if its task ever runs, it does nothing).
DELAI_SANS_NOUVELLES = timedelta(minutes=30)
ERREUR_SANS_NOUVELLES = "Sans nouvelles depuis plus de 30 minutes (tâche de fond interrompue ?) : relancez-la."


def _perime(depuis) -> bool:
    return depuis is not None and timezone.now() - depuis > DELAI_SANS_NOUVELLES


class DocumentEmisQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"
    porteur_path = "contrat__fiches__porteur"


class DocumentEmis(models.Model):
    """The registry of every document the platform issued: what it is, of which contract (and avenant, fiche or
    report), its SHA-256 once sealed. The verification page finds a document here by its hash.

    A row is also the job that produces the document in the background (status, error): a signed convention or
    avenant frozen at signature (``signe``: generated once, kept in ``fichier`` and in the contract's or avenant's
    ``document_signe``), a draft (PROJET) asked for from the documents page, a fiche or a report downloaded, a
    convention printed in a batch. Written by the services only; never edited, never deleted (it is the trail).
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    nature = models.CharField("nature", max_length=20, choices=NatureDocument.choices)
    contrat = models.ForeignKey(Contrat, on_delete=models.PROTECT, related_name="documents_emis")
    avenant = models.ForeignKey(Avenant, on_delete=models.PROTECT, null=True, blank=True, related_name="documents_emis")
    objet = models.CharField(
        "objet", max_length=200, help_text="Ce que le document montre : « Fiche action A1-03 », « Exercice 2024 »…"
    )
    signe = models.BooleanField("document signé figé", default=False)
    version_contrat = models.PositiveIntegerField("version du contrat à l'émission")
    statut = models.CharField("statut", max_length=20, choices=StatutTache.choices, default=StatutTache.EN_ATTENTE)
    fichier = models.FileField("fichier", upload_to="documents/%Y/", blank=True)
    empreinte = models.CharField("empreinte SHA-256", max_length=64, blank=True, db_index=True)
    taille = models.PositiveIntegerField("taille (octets)", null=True, blank=True)
    erreur = models.TextField("erreur", blank=True)
    demande_par = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="demandé par",
    )
    impression = models.ForeignKey(
        "Impression", on_delete=models.SET_NULL, null=True, blank=True, related_name="documents"
    )
    cree_le = models.DateTimeField("demandé le", auto_now_add=True)
    termine_le = models.DateTimeField("terminé le", null=True, blank=True)

    objects = DocumentEmisQuerySet.as_manager()

    class Meta:
        verbose_name = "document émis"
        verbose_name_plural = "documents émis"
        ordering = ["-cree_le", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["contrat"],
                condition=Q(signe=True, nature="convention", statut__in=["en_attente", "en_cours", "pret"]),
                name="document_convention_signee_unique",
                violation_error_message="La convention signée de ce contrat est déjà figée (ou en train de l'être).",
            ),
            models.UniqueConstraint(
                fields=["avenant"],
                condition=Q(signe=True, statut__in=["en_attente", "en_cours", "pret"]),
                name="document_avenant_signe_unique",
                violation_error_message="L'avenant signé est déjà figé (ou en train de l'être).",
            ),
            # One draft in the making at a time per convention and per avenant (the documents page shows its progress).
            models.UniqueConstraint(
                fields=["contrat"],
                condition=Q(
                    signe=False, nature="convention", impression__isnull=True, statut__in=["en_attente", "en_cours"]
                ),
                name="document_projet_convention_un_a_la_fois",
                violation_error_message="Un projet de cette convention est déjà en préparation.",
            ),
            models.UniqueConstraint(
                fields=["avenant"],
                condition=Q(signe=False, statut__in=["en_attente", "en_cours"]),
                name="document_projet_avenant_un_a_la_fois",
                violation_error_message="Un projet de cet avenant est déjà en préparation.",
            ),
            models.CheckConstraint(
                name="document_avenant_si_nature_avenant",
                condition=Q(nature="avenant", avenant__isnull=False) | (~Q(nature="avenant") & Q(avenant__isnull=True)),
                violation_error_message="Un document d'avenant, et lui seul, désigne son avenant.",
            ),
            models.CheckConstraint(
                name="document_pret_a_une_empreinte",
                condition=~Q(statut="pret") | ~Q(empreinte=""),
                violation_error_message="Un document prêt a son empreinte SHA-256.",
            ),
        ]

    def __str__(self) -> str:
        etat = "signé" if self.signe else "projet"
        return f"{self.get_nature_display()} {self.contrat.reference} – {self.objet} ({etat})"

    @property
    def en_cours(self) -> bool:
        return self.statut in STATUTS_EN_COURS and not _perime(self.cree_le)


class Impression(models.Model):
    """A batch print asked for by an agent of the State: every convention of a département or a région (within
    the agent's perimeter) in one zip, built in the background; ``fait`` out of ``total`` says how far it is."""

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    demande_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="impressions", verbose_name="demandé par"
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="région"
    )
    departement = models.ForeignKey(
        Departement, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name="département"
    )
    statut = models.CharField("statut", max_length=20, choices=StatutTache.choices, default=StatutTache.EN_ATTENTE)
    fait = models.PositiveIntegerField("conventions prêtes", default=0)
    total = models.PositiveIntegerField("conventions à imprimer", default=0)
    fichier = models.FileField("archive", upload_to="impressions/%Y/", blank=True)
    taille = models.PositiveIntegerField("taille (octets)", null=True, blank=True)
    erreur = models.TextField("erreur", blank=True)
    cree_le = models.DateTimeField("demandée le", auto_now_add=True)
    nouvelles_le = models.DateTimeField("dernières nouvelles le", default=timezone.now)
    termine_le = models.DateTimeField("terminée le", null=True, blank=True)

    class Meta:
        verbose_name = "impression par lot"
        verbose_name_plural = "impressions par lot"
        ordering = ["-cree_le", "-pk"]
        constraints = [
            models.CheckConstraint(
                name="impression_un_territoire",
                condition=Q(region__isnull=True, departement__isnull=False)
                | Q(region__isnull=False, departement__isnull=True),
                violation_error_message="Une impression porte sur un département ou sur une région.",
            ),
            models.CheckConstraint(
                name="impression_fait_au_plus_total",
                condition=Q(fait__lte=models.F("total")),
                violation_error_message="Une impression ne compte pas plus de conventions prêtes qu'à imprimer.",
            ),
        ]

    def __str__(self) -> str:
        return f"Impression des conventions – {self.territoire}"

    @property
    def territoire(self) -> str:
        if self.departement_id:
            return f"{self.departement.nom} ({self.departement.code})"
        return f"Région {self.region.nom}" if self.region_id else "—"

    @property
    def en_cours(self) -> bool:
        return self.statut in STATUTS_EN_COURS and not _perime(self.nouvelles_le)

    @property
    def pourcentage(self) -> int:
        return int(100 * self.fait / self.total) if self.total else (100 if self.statut == StatutTache.PRET else 0)


# --- The summary the dashboards read (financement/synthese.py keeps it up to date on every write) --------------------


class SyntheseFinancementQuerySet(ScopedQuerySet):
    collectivite_path = "contrat__collectivite"
    # No porteur_path: a partner reads the actions it carries, never consolidated figures.


class SyntheseFinancement(models.Model):
    """The funding lines of one contract summed per place in the Pacte's reference list (axis, objective, national
    or local measure), status of the fiches, year and kind of funder: what the dashboards read instead of the lines.

    Derived data, never entered: ``financement.synthese.synthese_refresh(contrat_id)`` recomputes a contract's rows
    (delete, then insert, in the transaction of the write) from every service that changes its funding lines or its
    fiches' status, axis, objective or measure; ``manage.py synthese_rebuild`` recomputes them all.

    Two kinds of rows: a **money row** (``annee`` and ``type_financeur`` set) sums the lines of that year and kind
    of funder; a **count row** (``annee`` empty) counts the fiches of the group, lines or not, and those whose
    planned or spent amounts break the cofinancing rule (``financement.regles.parite_messages``) in some year.
    """

    contrat = models.ForeignKey(Contrat, on_delete=models.CASCADE, related_name="+")
    axe = models.ForeignKey("pacte.Axe", on_delete=models.CASCADE, related_name="+")
    objectif = models.ForeignKey("pacte.Objectif", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    mesure = models.ForeignKey("pacte.Mesure", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    mesure_locale = models.CharField("mesure locale", max_length=300, blank=True)
    statut_fiche = models.CharField("statut des fiches", max_length=20)
    annee = models.PositiveSmallIntegerField("année", null=True, blank=True)
    type_financeur = models.CharField("financeur", max_length=20, choices=TypeFinanceur.choices, blank=True)
    prevu = models.DecimalField("prévu", max_digits=18, decimal_places=2, default=Decimal("0.00"))
    engage = models.DecimalField("engagé", max_digits=18, decimal_places=2, default=Decimal("0.00"))
    realise = models.DecimalField("réalisé", max_digits=18, decimal_places=2, default=Decimal("0.00"))
    nb_lignes = models.PositiveIntegerField("lignes de financement", default=0)
    nb_fiches = models.PositiveIntegerField("fiches", default=0)
    nb_ruptures_prevu = models.PositiveIntegerField("fiches dont le prévu rompt la parité", default=0)
    nb_ruptures_realise = models.PositiveIntegerField("fiches dont le réalisé rompt la parité", default=0)

    objects = SyntheseFinancementQuerySet.as_manager()

    class Meta:
        verbose_name = "synthèse des financements"
        verbose_name_plural = "synthèses des financements"
        constraints = [
            models.CheckConstraint(
                name="synthese_ligne_argent_ou_comptes",
                condition=Q(annee__isnull=True, type_financeur="") | Q(annee__isnull=False) & ~Q(type_financeur=""),
                violation_error_message="Une ligne de synthèse porte une année et un financeur, ou ni l'un ni l'autre.",
            ),
        ]

    def __str__(self) -> str:
        quand = f"{self.annee} – {self.get_type_financeur_display()}" if self.annee else "fiches"
        return f"Synthèse {self.contrat_id} – axe {self.axe_id} – {quand}"
