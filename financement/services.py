"""Writes on money: funding lines, ceilings, payments, reliquats, annual reports, avenant changes."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import DecimalField, Exists, Q, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from actions.models import FicheAction
from contrats.enums import NatureModification
from contrats.models import Avenant, Contrat, RegleTypeContrat, Volet
from contrats.services import ensure_modifiable, modification_add, regle_du_type
from financement.enums import TRANSITIONS_RAPPORT, DecisionReliquat, StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from financement.regles import REALISE, parite_violations
from pacte.enums import TypeOrganisation
from pacte.models import Organisation
from pacte.money import ZERO, format_euros, to_cents
from pacte.services import delete_validated, save_validated
from pacte.validators import validate_siret
from pacte.workflow import check_transition

_UNSET = object()


def _annee_du_contrat(contrat: Contrat, annee: int) -> None:
    if annee not in contrat.annees:
        raise ValidationError(
            {
                "annee": f"{annee} est hors de la période du contrat {contrat.reference} "
                f"({contrat.date_debut.year}-{contrat.date_fin.year})."
            }
        )


def _montant(value, champ: str) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except Exception:
        raise ValidationError({champ: f"« {value} » n'est pas un montant."}) from None
    if isinstance(value, float):
        raise ValidationError({champ: "Les montants sont des décimaux, jamais des flottants."})
    try:
        cents = to_cents(amount) if amount.is_finite() else None
    except InvalidOperation:  # too large to round to the cent
        cents = None
    if cents is None:  # NaN, infinities, absurd magnitudes
        raise ValidationError({champ: f"« {value} » n'est pas un montant."})
    if amount != cents:
        raise ValidationError({champ: f"{value} : un montant s'exprime au centime près."})
    if amount < 0:
        raise ValidationError({champ: f"Le montant ne peut pas être négatif ({format_euros(amount)})."})
    return cents


@transaction.atomic
def ligne_financement_set(
    *,
    fiche: FicheAction,
    annee: int,
    type_financeur: str,
    financeur: Organisation | None = None,
    prevu=_UNSET,
    engage=_UNSET,
    realise=_UNSET,
    by=None,
) -> LigneFinancement:
    """Creates or updates one funder's line for an action and a year.

    ``prevu`` is contractual: refused once the contract is signed (an avenant changes it).
    ``engage`` and ``realise`` are execution data and stay editable.
    """
    contrat = fiche.contrat
    _annee_du_contrat(contrat, annee)
    if prevu is not _UNSET:
        ensure_modifiable(contrat)
    ligne = LigneFinancement.objects.filter(
        fiche=fiche, annee=annee, type_financeur=type_financeur, financeur=financeur
    ).first()
    if ligne is None:
        ensure_modifiable(contrat)  # a new funder line is a contractual change too
        ligne = LigneFinancement(fiche=fiche, annee=annee, type_financeur=type_financeur, financeur=financeur)
    for champ, value in (("prevu", prevu), ("engage", engage), ("realise", realise)):
        if value is not _UNSET:
            amount = _montant(value, champ)
            if champ == "prevu" and amount is None:
                raise ValidationError({"prevu": "Le montant prévu est obligatoire (0 si rien n'est prévu)."})
            setattr(ligne, champ, amount)
    save_validated(ligne, by=by)
    return ligne


_CONTRACTUELS_LIGNE = ("annee", "type_financeur", "financeur_id", "prevu")


@transaction.atomic
def ligne_financement_save(
    *, ligne_financement: LigneFinancement, by=None, version: int | None = None
) -> LigneFinancement:
    """Saves a funding line as a form sends it, whichever of its parts changed.

    A new line, and any change of its year, funder or planned amount, is contractual (refused once the
    contract is signed, under the contract's lock); committed and spent amounts are execution data.
    """
    ligne = ligne_financement
    contrat = ligne.fiche.contrat
    if ligne.annee is not None:
        _annee_du_contrat(contrat, ligne.annee)
    stored = LigneFinancement.objects.filter(pk=ligne.pk).values(*_CONTRACTUELS_LIGNE).first()
    if stored is None or any(stored[name] != getattr(ligne, name) for name in _CONTRACTUELS_LIGNE):
        ensure_modifiable(contrat)
    for champ in ("prevu", "engage", "realise"):
        setattr(ligne, champ, _montant(getattr(ligne, champ), champ))
    if ligne.prevu is None:
        raise ValidationError({"prevu": "Le montant prévu est obligatoire (0 si rien n'est prévu)."})
    save_validated(ligne, by=by, version=version)
    return ligne


@transaction.atomic
def ligne_financement_delete(*, ligne_financement: LigneFinancement, by=None, version: int | None = None) -> None:
    """Removes a funding line, before signature."""
    ensure_modifiable(ligne_financement.fiche.contrat)
    delete_validated(ligne_financement, by=by, version=version)


@transaction.atomic
def plafond_set(*, contrat: Contrat, annee: int, montant, volet: Volet | None = None, by=None) -> Plafond:
    """Sets the State's annual ceiling of a contract (or of one CDIE volet), before signature."""
    plafond = Plafond.objects.filter(contrat=contrat, annee=annee, volet=volet).first() or Plafond(
        contrat=contrat, annee=annee, volet=volet
    )
    plafond.montant = montant
    return plafond_save(plafond=plafond, by=by)


@transaction.atomic
def plafond_save(*, plafond: Plafond, by=None, version: int | None = None) -> Plafond:
    """Creates or changes a ceiling (contractual: before signature only)."""
    contrat = plafond.contrat
    ensure_modifiable(contrat)
    if plafond.annee is not None:
        _annee_du_contrat(contrat, plafond.annee)
    if plafond.volet_id is not None and plafond.volet.contrat_id != contrat.pk:
        raise ValidationError({"volet": "Ce volet appartient à un autre contrat."})
    plafond.montant = _montant(plafond.montant, "montant")
    if plafond.montant is None:
        raise ValidationError({"montant": "Indiquez le montant de l'enveloppe."})
    save_validated(plafond, by=by, version=version)
    return plafond


@transaction.atomic
def plafond_delete(*, plafond: Plafond, by=None, version: int | None = None) -> None:
    """Removes a ceiling, before signature."""
    ensure_modifiable(plafond.contrat)
    delete_validated(plafond, by=by, version=version)


def alertes_realise(contrat: Contrat) -> list[str]:
    """Warnings (not blocking): parity breaches on the amounts actually spent."""
    return parite_violations(FicheAction.objects.filter(contrat=contrat), champ=REALISE)


# --- Payments and reliquats --------------------------------------------------------------------------


#: Who may receive the State's money besides the collectivité: never a State service.
TYPES_BENEFICIAIRES = (TypeOrganisation.PARTENAIRE, TypeOrganisation.COLLECTIVITE)


def est_organisation_de(organisation: Organisation, contrat: Contrat) -> bool:
    """The organisation is the signing collectivité's own (its council, its métropole)."""
    return (
        organisation.type == TypeOrganisation.COLLECTIVITE and organisation.collectivite_id == contrat.collectivite_id
    )


def beneficiaires_possibles(contrat: Contrat):
    """The organisations ``beneficiaire_errors`` may accept for ``contrat`` (its SIRET aside): the
    collectivité's own, and where the contract type pays the carriers, the partners and collectivités
    that carry one of its actions."""
    collectivite = Q(type=TypeOrganisation.COLLECTIVITE, collectivite_id=contrat.collectivite_id)
    # The type's rule is read within the same query: the page that offers these choices reads them once.
    verse_aux_porteurs = RegleTypeContrat.objects.filter(type_contrat=contrat.type_contrat, versement_aux_porteurs=True)
    porteurs = Q(type__in=TYPES_BENEFICIAIRES, pk__in=FicheAction.objects.filter(contrat=contrat).values("porteur_id"))
    return Organisation.objects.filter(collectivite | (porteurs & Q(Exists(verse_aux_porteurs))))


def beneficiaire_errors(*, contrat: Contrat, beneficiaire: Organisation | None) -> dict[str, str]:
    """Who a payment of ``contrat`` may go to, as ``{"beneficiaire": message}`` (docs/regles.md, Versements).

    Empty: the signing collectivité. Otherwise the collectivité's own organisation, or, when the contract
    type pays the carriers (``RegleTypeContrat.versement_aux_porteurs``: a pacte local), a partner or a
    collectivité that carries one of the contract's actions; and the beneficiary has a valid SIRET.
    """
    if beneficiaire is None:
        return {}
    nom = beneficiaire.nom
    if not est_organisation_de(beneficiaire, contrat):
        if not regle_du_type(contrat.type_contrat).versement_aux_porteurs:
            return {
                "beneficiaire": f"Le contrat {contrat.reference} verse à la collectivité signataire, pas aux porteurs "
                f"de ses actions : {nom} ne peut pas recevoir ses versements."
            }
        if beneficiaire.type not in TYPES_BENEFICIAIRES:
            return {
                "beneficiaire": f"{nom} est un service de l'État ({beneficiaire.get_type_display()}) : "
                "il ne reçoit pas les versements d'un contrat."
            }
        if not FicheAction.objects.filter(contrat=contrat, porteur=beneficiaire).exists():
            return {
                "beneficiaire": f"{nom} ne porte aucune action du contrat {contrat.reference} : l'État ne verse "
                "qu'à la collectivité signataire ou aux porteurs de ses actions."
            }
    if not beneficiaire.siret:
        return {
            "beneficiaire": f"{nom} n'a pas de SIRET : renseignez-le sur sa fiche organisation avant de lui verser."
        }
    try:
        validate_siret(beneficiaire.siret)
    except ValidationError:
        return {
            "beneficiaire": f"Le SIRET de {nom} ({beneficiaire.siret}) n'est pas valide : corrigez-le sur sa "
            "fiche organisation avant de lui verser."
        }
    return {}


@transaction.atomic
def versement_create(
    *,
    contrat: Contrat,
    annee: int,
    nature: str,
    montant,
    numero_ej: str = "",
    date_engagement: date | None = None,
    date_versement: date | None = None,
    beneficiaire: Organisation | None = None,
    by=None,
) -> Versement:
    """Records a State payment for a signed contract (to the collectivité, or to ``beneficiaire``)."""
    versement = Versement(
        contrat=contrat,
        annee=annee,
        nature=nature,
        montant=montant,
        numero_ej=numero_ej,
        date_engagement=date_engagement,
        date_versement=date_versement,
        beneficiaire=beneficiaire,
    )
    return versement_save(versement=versement, by=by)


@transaction.atomic
def versement_save(*, versement: Versement, by=None, version: int | None = None) -> Versement:
    """Creates or changes a State payment: for a signed contract (its status read again from the
    database, not from a copy in memory), a year of the contract, dates in order, to a beneficiary
    that ``beneficiaire_errors`` accepts."""
    contrat = versement.contrat
    contrat.statut = Contrat.objects.values_list("statut", flat=True).get(pk=contrat.pk)
    if not contrat.est_fige:
        raise ValidationError("L'État ne verse qu'au titre d'un contrat signé.")
    if versement.annee is not None:
        _annee_du_contrat(contrat, versement.annee)
    errors = beneficiaire_errors(contrat=contrat, beneficiaire=versement.beneficiaire)
    if errors:
        raise ValidationError(errors)
    versement.montant = _montant(versement.montant, "montant")
    if versement.date_engagement and versement.date_versement and versement.date_versement < versement.date_engagement:
        raise ValidationError(
            {
                "date_versement": "Le versement ne peut pas précéder l'engagement juridique "
                f"({versement.date_engagement:%d/%m/%Y})."
            }
        )
    save_validated(versement, by=by, version=version)
    return versement


@transaction.atomic
def versement_delete(*, versement: Versement, by=None, version: int | None = None) -> None:
    """Removes a payment recorded by mistake."""
    delete_validated(versement, by=by, version=version)


_money = DecimalField(max_digits=14, decimal_places=2)


def _sum(qs, field: str) -> Decimal:
    # Rounded to the cent: SQLite sums decimals as floats and returns 15 significant digits.
    return to_cents(qs.aggregate(s=Coalesce(Sum(field), Value(ZERO), output_field=_money))["s"])


@transaction.atomic
def reliquat_compute(*, contrat: Contrat, annee: int, by=None) -> Reliquat:
    """Computes what the State paid for ``annee`` and the collectivité did not spend on the State's share.

    reliquat = max(0, Σ payments made − Σ State ``réalisé``). Recomputing keeps a decision already taken
    only if the amount did not change.
    """
    _annee_du_contrat(contrat, annee)
    verse = _sum(contrat.versements.filter(annee=annee, date_versement__isnull=False), "montant")
    realise = _sum(
        LigneFinancement.objects.filter(fiche__contrat=contrat, annee=annee, type_financeur=TypeFinanceur.ETAT),
        "realise",
    )
    reliquat = Reliquat.objects.filter(contrat=contrat, annee=annee).first() or Reliquat(contrat=contrat, annee=annee)
    montant = max(ZERO, verse - realise)
    if reliquat.pk and reliquat.montant != montant and reliquat.decision:
        reliquat.decision, reliquat.decide_le, reliquat.decide_par = "", None, None
    reliquat.verse, reliquat.realise_etat, reliquat.montant = verse, realise, montant
    save_validated(reliquat, by=by)
    return reliquat


@transaction.atomic
def reliquat_decide(*, reliquat: Reliquat, decision: str, by, commentaire: str = "") -> Reliquat:
    """Records what is done with a reliquat: deducted from next year's payment, or reclaimed."""
    reliquat = Reliquat.objects.select_for_update(of=("self",)).select_related("contrat").get(pk=reliquat.pk)
    if decision not in DecisionReliquat.values:
        raise ValidationError({"decision": "Choisissez la déduction ou le titre de reversement."})
    if reliquat.montant == 0:
        raise ValidationError("Il n'y a pas de reliquat à traiter pour cet exercice.")
    if decision == DecisionReliquat.DEDUCTION and reliquat.annee >= reliquat.contrat.date_fin.year:
        raise ValidationError({"decision": "Dernier exercice du contrat : le reliquat ne peut qu'être reversé."})
    reliquat.decision, reliquat.decide_le, reliquat.decide_par = decision, timezone.localdate(), by
    reliquat.commentaire = commentaire
    save_validated(reliquat, by=by)
    return reliquat


# --- Annual reports ------------------------------------------------------------------------------------


def date_limite_rapport(annee: int) -> date:
    """The due date of the report for ``annee``: ``PACTE_RAPPORT_ECHEANCE`` (MM-DD) of the next year."""
    mois, jour = (int(x) for x in settings.PACTE_RAPPORT_ECHEANCE.split("-"))
    return date(annee + 1, mois, jour)


@transaction.atomic
def rapport_create(*, contrat: Contrat, annee: int, by=None) -> RapportAnnuel:
    """Opens the annual execution report of a signed contract for a year."""
    return rapport_save(rapport_annuel=RapportAnnuel(contrat=contrat, annee=annee), by=by)


@transaction.atomic
def rapport_save(*, rapport_annuel: RapportAnnuel, by=None, version: int | None = None) -> RapportAnnuel:
    """Opens a report (signed contract, a year of the contract, due date from the setting) or saves
    its texts; a validated report no longer changes."""
    rapport = rapport_annuel
    contrat = rapport.contrat
    if rapport.pk is None:
        contrat.statut = Contrat.objects.values_list("statut", flat=True).get(pk=contrat.pk)
        if not contrat.est_fige:
            raise ValidationError("Un rapport d'exécution porte sur un contrat signé.")
        _annee_du_contrat(contrat, rapport.annee)
        rapport.date_limite = date_limite_rapport(rapport.annee)
    elif RapportAnnuel.objects.filter(pk=rapport.pk, statut=StatutRapport.VALIDE).exists():
        raise ValidationError(f"Le rapport {rapport.annee} est validé : il ne se modifie plus.")
    save_validated(rapport, by=by, version=version)
    return rapport


@transaction.atomic
def rapport_transition(*, rapport: RapportAnnuel, to: str, by=None, observations: str = "") -> RapportAnnuel:
    """Moves a report along ``TRANSITIONS_RAPPORT``; sending it back needs the DDETS's observations."""
    rapport = RapportAnnuel.objects.select_for_update().get(pk=rapport.pk)
    check_transition(
        sujet=f"Le rapport {rapport.annee}",
        genre="de rapport",
        statuts=StatutRapport,
        transitions=TRANSITIONS_RAPPORT,
        current=rapport.statut,
        to=to,
    )
    if to == StatutRapport.A_COMPLETER and not observations.strip():
        raise ValidationError({"observations_ddets": "Dites ce qu'il faut compléter."})
    if observations:
        rapport.observations_ddets = observations
    today = timezone.localdate()
    if to == StatutRapport.TRANSMIS:
        rapport.transmis_le = today
    if to == StatutRapport.VALIDE:
        rapport.valide_le = today
    rapport.statut = to
    save_validated(rapport, by=by)
    return rapport


@transaction.atomic
def regle_cofinancement_save(*, regle_cofinancement, by=None, version: int | None = None):
    """Creates or changes a cofinancing rule (administration centrale)."""
    save_validated(regle_cofinancement, by=by, version=version)
    return regle_cofinancement


@transaction.atomic
def regle_cofinancement_delete(*, regle_cofinancement, by=None, version: int | None = None) -> None:
    """Removes a volet's own rule (the general rule of a type is needed by every check)."""
    if regle_cofinancement.volet_numero is None:
        raise ValidationError("La règle générale d'un type de contrat ne se supprime pas : modifiez-la.")
    delete_validated(regle_cofinancement, by=by, version=version)


# --- Money changes proposed by an avenant ------------------------------------------------------------


def avenant_propose_prevu(
    *,
    avenant: Avenant,
    fiche_code: str,
    annee: int,
    type_financeur: str,
    montant,
    financeur: Organisation | None = None,
    by=None,
):
    """Proposes a new planned amount for a funder, an action (existing or added by the avenant) and a year."""
    contrat = avenant.contrat
    _annee_du_contrat(contrat, annee)
    amount = _montant(montant, "montant")
    existe = (
        contrat.fiches.filter(code=fiche_code).exists()
        or avenant.modifications.filter(nature=NatureModification.FICHE_AJOUT, cible__fiche=fiche_code).exists()
    )
    if not existe:
        raise ValidationError(f"La fiche {fiche_code} n'existe pas dans le contrat {contrat.reference}.")
    libelle_financeur = financeur.nom if financeur else TypeFinanceur(type_financeur).label
    return modification_add(
        avenant=avenant,
        nature=NatureModification.PREVU,
        libelle=f"Fiche {fiche_code}, {annee}, {libelle_financeur} : {format_euros(amount)} prévus",
        cible={
            "fiche": fiche_code,
            "annee": annee,
            "type_financeur": type_financeur,
            "financeur": financeur.pk if financeur else None,
        },
        apres=str(amount),
        by=by,
    )


def avenant_propose_plafond(*, avenant: Avenant, annee: int, montant, volet: Volet | None = None, by=None):
    """Proposes a new annual State ceiling for the contract (or one volet)."""
    _annee_du_contrat(avenant.contrat, annee)
    amount = _montant(montant, "montant")
    suffixe = f", volet {volet.numero}" if volet else ""
    return modification_add(
        avenant=avenant,
        nature=NatureModification.PLAFOND,
        libelle=f"Enveloppe {annee}{suffixe} : {format_euros(amount)}",
        cible={"annee": annee, "volet": volet.numero if volet else None},
        apres=str(amount),
        by=by,
    )
