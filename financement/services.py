"""Writes on money: funding lines, ceilings, payments, reliquats, annual reports, avenant changes."""

from __future__ import annotations

import smtplib
import tempfile
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile, File
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import DecimalField, Exists, F, OuterRef, Prefetch, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from actions.enums import STATUTS_ACTIFS, StatutFiche
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import STATUTS_FIGES, NatureModification, StatutAvenant, StatutContrat
from contrats.models import Avenant, Contrat, RegleTypeContrat, Volet
from contrats.services import ensure_modifiable, lock_contrat, modification_add, regle_du_type
from financement.enums import (
    STATUTS_RAPPORT_REDACTION,
    STATUTS_VERSEMENT_ENGAGES,
    TRANSITIONS_RAPPORT,
    TRANSITIONS_VERSEMENT,
    AvancementAction,
    DecisionReliquat,
    NatureRelance,
    NatureVersement,
    StatutRapport,
    StatutVersement,
    TypeFinanceur,
)
from financement.models import (
    DELAI_SANS_NOUVELLES,
    ERREUR_SANS_NOUVELLES,
    STATUTS_EN_COURS,
    DocumentEmis,
    Impression,
    LigneFinancement,
    NatureDocument,
    Plafond,
    RapportAction,
    RapportAnnuel,
    RelanceRapport,
    Reliquat,
    StatutTache,
    Versement,
)
from financement.regles import REALISE, parite_violations
from financement.sceau import SceauIndisponible, empreinte, sceller
from financement.synthese import synthese_refresh, synthese_refresh_contrats
from pacte.enums import Role, TypeOrganisation
from pacte.models import Departement, Organisation, Region
from pacte.money import ZERO, format_euros, to_cents
from pacte.perimeters import Niveau, perimetre_of
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
    synthese_refresh(contrat.pk)
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
    synthese_refresh(contrat.pk)
    return ligne


@transaction.atomic
def ligne_financement_delete(*, ligne_financement: LigneFinancement, by=None, version: int | None = None) -> None:
    """Removes a funding line, before signature."""
    ensure_modifiable(ligne_financement.fiche.contrat)
    delete_validated(ligne_financement, by=by, version=version)
    synthese_refresh(ligne_financement.fiche.contrat_id)


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
    statut: str | None = None,
    by=None,
) -> Versement:
    """Records a State payment for a signed contract (to the collectivité, or to ``beneficiaire``).

    Planned by default; with a ``date_versement``, a payment already made (« versé »), recorded afterwards: it
    passes the same checks as a payment made through the statuses (``versement_save``)."""
    versement = Versement(
        contrat=contrat,
        annee=annee,
        nature=nature,
        montant=montant,
        numero_ej=numero_ej,
        date_engagement=date_engagement,
        date_versement=date_versement,
        beneficiaire=beneficiaire,
        statut=statut or StatutVersement.PREVU,
    )
    return versement_save(versement=versement, by=by)


# --- The checks of a payment requested or made (docs/regles.md, Versements): pure functions, tested as tables ---


def versement_plafond_errors(
    *,
    annee: int,
    montant: Decimal,
    autres: Decimal,
    plafond: Decimal | None,
    deduction: Decimal = ZERO,
    ce_versement: bool = True,
) -> list[str]:
    """A payment of ``montant`` requested or made for ``annee``, beside ``autres`` (the year's other payments
    requested or made), against what the State may pay that year: its ceiling ``plafond`` (``None``: none is
    fixed) less ``deduction``, the reliquat of the year before decided as a deduction. Equal passes.

    ``ce_versement`` false: the year's payments as they stand (``montant`` 0), in the words of a finding."""
    total, limite = to_cents(autres + montant), None if plafond is None else to_cents(plafond - deduction)
    if limite is None:
        if not ce_versement and not total:
            return []
        quoi = (
            "rien ne peut être demandé ni versé au titre de cet exercice"
            if ce_versement
            else f"{format_euros(total)} sont pourtant demandés ou payés"
        )
        return [f"Aucune enveloppe de l'État n'est fixée pour {annee} : {quoi}."]
    if total <= limite:
        return []
    sujet, verbe = (
        ("avec ce versement, les versements demandés ou payés", "dépasseraient")
        if ce_versement
        else ("les versements demandés ou payés", "dépassent")
    )
    if deduction:
        return [
            f"{annee} : {sujet} ({format_euros(total)}) {verbe} ce qui reste à verser, l'enveloppe "
            f"({format_euros(plafond)}) moins le reliquat {annee - 1} déduit ({format_euros(deduction)}), soit "
            f"{format_euros(limite)}, de {format_euros(total - limite)}."
        ]
    return [
        f"{annee} : {sujet} ({format_euros(total)}) {verbe} l'enveloppe annuelle de l'État "
        f"({format_euros(plafond)}) de {format_euros(total - limite)}."
    ]


def versement_solde_errors(*, annee: int, nature: str, statut_rapport: str | None) -> list[str]:
    """A balance is requested (or paid) once the annual report of its year is validated: the report says what
    was spent (``statut_rapport``: the status of that report, ``None`` when none is open)."""
    if nature != NatureVersement.SOLDE or statut_rapport == StatutRapport.VALIDE:
        return []
    etat = "n'est pas encore ouvert" if statut_rapport is None else f"est « {StatutRapport(statut_rapport).label} »"
    return [
        f"Le solde {annee} se demande une fois le rapport annuel d'exécution {annee} validé par la DDETS (il {etat})."
    ]


def plafond_de_l_annee(contrat: Contrat, annee: int) -> Decimal | None:
    """What the State may pay for ``annee`` at most: the contract's ceiling, else the sum of its volets'
    ceilings (a CDIE), else ``None`` (none is fixed)."""
    rows = list(Plafond.objects.filter(contrat=contrat, annee=annee).values_list("volet_id", "montant"))
    contrat_entier = [montant for volet, montant in rows if volet is None]
    if contrat_entier:
        return contrat_entier[0]
    return sum((montant for _, montant in rows), ZERO) if rows else None


def deduction_de_l_annee(contrat: Contrat, annee: int) -> Decimal:
    """The reliquat of the year before ``annee`` decided as a deduction from this year's payments (0 if none)."""
    return _sum(
        Reliquat.objects.filter(contrat=contrat, annee=annee - 1, decision=DecisionReliquat.DEDUCTION), "montant"
    )


def _compte(statut: str, date_versement) -> bool:
    """The payment counts against its year's ceiling: requested or made (a dated row made outside the services
    counts by its date)."""
    return statut in STATUTS_VERSEMENT_ENGAGES or date_versement is not None


def _statut_errors(versement: Versement, avant: dict | None) -> dict[str, str]:
    """The status and its dates: a transition of ``TRANSITIONS_VERSEMENT`` (any status when the payment is
    recorded), a paid payment dated (never in the future, not before its request nor its legal commitment),
    a planned or requested one not yet; a request carries the Chorus commitment number."""
    statut, today = versement.statut, timezone.localdate()
    if avant is None and statut not in StatutVersement.values:
        raise ValidationError({"statut": f"Statut de versement inconnu : « {statut} »."})
    if avant is not None and statut != avant["statut"]:
        check_transition(
            sujet=f"Le versement « {versement} »",
            genre="de versement",
            statuts=StatutVersement,
            transitions=TRANSITIONS_VERSEMENT,
            current=avant["statut"],
            to=statut,
        )
    change = avant is None or statut != avant["statut"]
    date_changee = avant is None or versement.date_versement != avant["date_versement"]
    if statut == StatutVersement.VERSE and versement.date_versement is None:
        return {"date_versement": "Indiquez la date du versement : un versement payé est daté."}
    if statut != StatutVersement.VERSE and versement.date_versement is not None and (change or date_changee):
        return {
            "date_versement": "Un versement prévu ou demandé n'a pas encore de date de versement : elle s'indique "
            "quand il est versé."
        }
    if statut == StatutVersement.VERSE and date_changee and versement.date_versement > today:
        return {"date_versement": "La date de versement ne peut pas être dans le futur."}
    if statut == StatutVersement.DEMANDE and change and not versement.numero_ej:
        return {
            "numero_ej": "Une demande de paiement porte le numéro d'engagement juridique Chorus : renseignez-le "
            "d'abord."
        }
    if versement.date_demande and versement.date_demande > today and statut == StatutVersement.DEMANDE and change:
        return {"date_demande": "La date de la demande ne peut pas être dans le futur."}
    engagement, demande, verse = versement.date_engagement, versement.date_demande, versement.date_versement
    if engagement and demande and demande < engagement:
        return {
            "date_demande": "La demande de paiement ne peut pas précéder l'engagement juridique "
            f"({engagement:%d/%m/%Y})."
        }
    if engagement and verse and verse < engagement:
        return {"date_versement": f"Le versement ne peut pas précéder l'engagement juridique ({engagement:%d/%m/%Y})."}
    if demande and verse and verse < demande:
        return {"date_versement": f"Le versement ne peut pas précéder sa demande ({demande:%d/%m/%Y})."}
    return {}


def versement_errors(versement: Versement, *, exclude_pk: int | None = None) -> list[str]:
    """The money checks of a payment requested or made (docs/regles.md, Versements): the year's payments
    requested or made within its ceiling less the reliquat of the year before decided as a deduction; a
    balance after the year's annual report is validated."""
    contrat, annee = versement.contrat, versement.annee
    autres = Versement.objects.engages().filter(contrat=contrat, annee=annee)
    if exclude_pk is not None:
        autres = autres.exclude(pk=exclude_pk)
    errors = versement_plafond_errors(
        annee=annee,
        montant=versement.montant,
        autres=_sum(autres, "montant"),
        plafond=plafond_de_l_annee(contrat, annee),
        deduction=deduction_de_l_annee(contrat, annee),
    )
    if versement.nature == NatureVersement.SOLDE:
        statut_rapport = RapportAnnuel.objects.filter(contrat=contrat, annee=annee).values_list("statut", flat=True)
        errors += versement_solde_errors(annee=annee, nature=versement.nature, statut_rapport=statut_rapport.first())
    return errors


@transaction.atomic
def versement_save(*, versement: Versement, by=None, version: int | None = None) -> Versement:
    """Creates or changes a State payment: for a signed contract (its status read again from the
    database, not from a copy in memory, and its row locked so that two payments of the contract are
    checked one after the other), a year of the contract, dates in order, to a beneficiary that
    ``beneficiaire_errors`` accepts, its status changed along ``TRANSITIONS_VERSEMENT``.

    A payment that becomes requested or paid, or that grows while it is, passes ``versement_errors``
    (ceiling less deduction, balance after the validated report); a change that adds no money to its year
    (a number, a date, a smaller amount) does not, so that a payment recorded before a lower ceiling can still
    be corrected."""
    contrat = versement.contrat
    verrou = transaction.get_connection().in_atomic_block
    # The stored payment and its contract's status in one query, the contract's row locked first.
    avant = None
    if versement.pk is not None:
        champs = ("statut", "date_versement", "montant", "annee", "nature", "contrat_id")
        rows = Versement.objects.filter(pk=versement.pk).select_related("contrat").order_by()
        if verrou:
            rows = rows.select_for_update(of=("contrat",))
        stored = rows.only(*champs, "contrat__statut").first()
        if stored is not None:
            avant = {name: getattr(stored, name) for name in champs} | {"contrat__statut": stored.contrat.statut}
    if avant is not None and avant["contrat_id"] == contrat.pk:
        contrat.statut = avant["contrat__statut"]
    else:
        rows = Contrat.objects.filter(pk=contrat.pk)
        contrat.statut = (rows.select_for_update() if verrou else rows).values_list("statut", flat=True).get()
    if not contrat.est_fige:
        raise ValidationError("L'État ne verse qu'au titre d'un contrat signé.")
    if versement.annee is not None:
        _annee_du_contrat(contrat, versement.annee)
    errors = beneficiaire_errors(contrat=contrat, beneficiaire=versement.beneficiaire)
    if errors:
        raise ValidationError(errors)
    versement.montant = _montant(versement.montant, "montant")
    if avant is None and versement.statut == StatutVersement.PREVU and versement.date_versement is not None:
        versement.statut = StatutVersement.VERSE  # recorded with its date of payment: a payment made
    if versement.statut == StatutVersement.PREVU:
        versement.date_demande = None  # a planned payment is not requested (a request withdrawn forgets its date)
    elif versement.statut == StatutVersement.DEMANDE and versement.date_demande is None:
        versement.date_demande = timezone.localdate()
    errors = _statut_errors(versement, avant)
    if errors:
        raise ValidationError(errors)
    compte = _compte(versement.statut, versement.date_versement)
    ajoute = avant is None or not _compte(avant["statut"], avant["date_versement"])
    if avant is not None and not ajoute:
        ajoute = (
            versement.annee != avant["annee"]
            or (versement.montant or ZERO) > avant["montant"]
            or (versement.nature == NatureVersement.SOLDE and avant["nature"] != NatureVersement.SOLDE)
        )
    if compte and ajoute and versement.montant is not None and versement.annee is not None:
        messages = versement_errors(versement, exclude_pk=versement.pk)
        if messages:
            raise ValidationError(messages)
    save_validated(versement, by=by, version=version)
    return versement


@transaction.atomic
def versement_transition(
    *, versement: Versement, to: str, by=None, date_action: date | None = None, version: int | None = None
) -> Versement:
    """Moves a payment along ``TRANSITIONS_VERSEMENT``: requested (``date_action``: the date of the request,
    today by default), paid (``date_action``: the date of the payment, required), or back to planned (a request
    withdrawn). The checks are ``versement_save``'s."""
    versement = Versement.objects.select_related("contrat", "beneficiaire").get(pk=versement.pk)
    check_transition(
        sujet=f"Le versement « {versement} »",
        genre="de versement",
        statuts=StatutVersement,
        transitions=TRANSITIONS_VERSEMENT,
        current=versement.statut,
        to=to,
    )
    if to == StatutVersement.DEMANDE:
        versement.date_demande = date_action or timezone.localdate()
    elif to == StatutVersement.VERSE:
        if date_action is None:
            raise ValidationError({"date_versement": "Indiquez la date du versement : un versement payé est daté."})
        versement.date_versement = date_action
    versement.statut = to
    return versement_save(versement=versement, by=by, version=version)


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
    verse = _sum(Versement.objects.payes().filter(contrat=contrat, annee=annee), "montant")
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
    if decision == DecisionReliquat.DEDUCTION:
        errors = reliquat_deduction_errors(reliquat)
        if errors:
            raise ValidationError({"decision": errors})
    reliquat.decision, reliquat.decide_le, reliquat.decide_par = decision, timezone.localdate(), by
    reliquat.commentaire = commentaire
    save_validated(reliquat, by=by)
    return reliquat


def reliquat_deduction_errors(reliquat: Reliquat) -> list[str]:
    """A reliquat is deducted from the next year's payments only while they leave room for it under that year's
    ceiling: the payments of the next year already requested or made, plus the reliquat, within the ceiling."""
    contrat, suivante = reliquat.contrat, reliquat.annee + 1
    plafond = plafond_de_l_annee(contrat, suivante)
    engage = _sum(Versement.objects.engages().filter(contrat=contrat, annee=suivante), "montant")
    if plafond is None or engage + reliquat.montant <= plafond:
        return []
    return [
        f"Les versements {suivante} déjà demandés ou payés ({format_euros(engage)}) ne laissent que "
        f"{format_euros(max(ZERO, plafond - engage))} sous l'enveloppe {suivante} ({format_euros(plafond)}) : le "
        f"reliquat de {format_euros(reliquat.montant)} ne peut plus en être déduit. Émettez un titre de reversement."
    ]


@transaction.atomic
def reliquat_settle(
    *, contrat: Contrat, annee: int, decision: str, by, commentaire: str = "", montant: Decimal | None = None
) -> Reliquat:
    """Computes the reliquat of ``annee`` on the figures of now (``reliquat_compute``), then records the decision
    on it (``reliquat_decide``), in one transaction. ``montant`` is the reliquat the page showed: if the payments
    or the spent amounts changed it since, nothing is recorded."""
    lock_contrat(contrat.pk)
    reliquat = reliquat_compute(contrat=contrat, annee=annee, by=by)
    if montant is not None and reliquat.montant != montant:
        raise ValidationError(
            f"Le reliquat {annee} a changé pendant votre saisie ({format_euros(montant)} → "
            f"{format_euros(reliquat.montant)}) : rien n'a été enregistré. Vérifiez-le et décidez de nouveau."
        )
    return reliquat_decide(reliquat=reliquat, decision=decision, by=by, commentaire=commentaire)


# --- Annual reports ------------------------------------------------------------------------------------


def date_limite_rapport(annee: int) -> date:
    """The due date of the report for ``annee``: ``PACTE_RAPPORT_ECHEANCE`` (MM-DD) of the next year."""
    mois, jour = (int(x) for x in settings.PACTE_RAPPORT_ECHEANCE.split("-"))
    return date(annee + 1, mois, jour)


@transaction.atomic
def rapport_create(*, contrat: Contrat, annee: int, by=None) -> RapportAnnuel:
    """Opens the annual execution report of a signed contract for a year, pre-filled: a section for each action of
    the year (``rapport_sections_completer``)."""
    rapport = rapport_save(rapport_annuel=RapportAnnuel(contrat=contrat, annee=annee), by=by)
    rapport_sections_completer(rapport=rapport, by=by)
    return rapport


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
    else:
        stored = RapportAnnuel.objects.select_for_update().filter(pk=rapport.pk).values("statut", "synthese").first()
        if stored is not None and stored["statut"] == StatutRapport.VALIDE:
            raise ValidationError(f"Le rapport {rapport.annee} est validé : il ne se modifie plus.")
        if stored is not None and stored["statut"] == StatutRapport.TRANSMIS and stored["synthese"] != rapport.synthese:
            # The DDETS reads what was sent: the collectivité's text waits until the report comes back to it.
            raise ValidationError({"synthese": _message_transmis(rapport.annee)})
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
    if to == StatutRapport.TRANSMIS:
        _rapport_transmettre_sections(rapport, by=by)
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


def _message_transmis(annee: int) -> str:
    return (
        f"Le rapport {annee} est transmis à la DDETS : il ne se modifie plus, sauf s'il est renvoyé pour compléments."
    )


def _ensure_rapport_en_redaction(rapport: RapportAnnuel) -> None:
    """The report is written only while the collectivité holds it (in redaction, or sent back for more)."""
    if rapport.statut == StatutRapport.VALIDE:
        raise ValidationError(f"Le rapport {rapport.annee} est validé : il ne se modifie plus.")
    if rapport.statut not in STATUTS_RAPPORT_REDACTION:
        raise ValidationError(_message_transmis(rapport.annee))


def fiches_du_rapport(contrat: Contrat, annee: int) -> QuerySet[FicheAction]:
    """The actions the report of ``annee`` covers: the contract's active actions whose dates cover some of the year,
    and any other that committed or spent money that year (an action abandoned during the year still reports)."""
    debut, fin = date(annee, 1, 1), date(annee, 12, 31)
    argent = LigneFinancement.objects.filter(fiche=OuterRef("pk"), annee=annee).filter(
        Q(engage__gt=0) | Q(realise__gt=0)
    )
    return FicheAction.objects.filter(contrat=contrat).filter(
        Q(statut__in=STATUTS_ACTIFS, date_debut__lte=fin, date_fin__gte=debut) | Q(Exists(argent))
    )


#: What a new section says of the action before the collectivité writes it: its fiche's status, where it tells.
AVANCEMENT_PRE_REMPLI = {
    StatutFiche.EN_COURS: AvancementAction.EN_COURS,
    StatutFiche.TERMINEE: AvancementAction.TERMINEE,
    StatutFiche.ABANDONNEE: AvancementAction.ABANDONNEE,
}


@transaction.atomic
def rapport_sections_completer(*, rapport: RapportAnnuel, by=None) -> list[RapportAction]:
    """Adds to a report in redaction a section for each action of the year that has none yet (an action added by an
    avenant during the year, a report opened before its sections existed); a report sent or validated keeps its
    sections as they are. Each new section is pre-filled with where the action stands (``AVANCEMENT_PRE_REMPLI``)."""
    rapport = RapportAnnuel.objects.select_for_update().select_related("contrat").get(pk=rapport.pk)
    if not rapport.en_redaction:
        return []
    fiches = fiches_du_rapport(rapport.contrat, rapport.annee).exclude(sections_rapport__rapport=rapport)
    ajoutees = []
    for fiche in fiches.order_by("code_tri", "pk"):
        section = RapportAction(rapport=rapport, fiche=fiche, avancement=AVANCEMENT_PRE_REMPLI.get(fiche.statut, ""))
        save_validated(section, by=by)
        ajoutees.append(section)
    return ajoutees


@transaction.atomic
def rapport_section_save(*, rapport_action: RapportAction, by=None, version: int | None = None) -> RapportAction:
    """Saves what the report says of one action (what was done, where the action stands), while the collectivité
    holds the report. The figures sent with it are the service's (``rapport_transition``), never a form's."""
    section = rapport_action
    rapport = RapportAnnuel.objects.select_for_update().get(pk=section.rapport_id)
    _ensure_rapport_en_redaction(rapport)
    stored = RapportAction.objects.filter(pk=section.pk).values("rapport_id", "fiche_id", "chiffres_transmis").first()
    if stored is not None:
        if (stored["rapport_id"], stored["fiche_id"]) != (section.rapport_id, section.fiche_id):
            raise ValidationError("Une section de rapport ne change ni de rapport ni d'action.")
        section.chiffres_transmis = stored["chiffres_transmis"]
    else:
        section.chiffres_transmis = None
    if FicheAction.objects.filter(pk=section.fiche_id).values_list("contrat_id", flat=True).first() != (
        rapport.contrat_id
    ):
        raise ValidationError({"fiche": "Cette action n'appartient pas au contrat du rapport."})
    save_validated(section, by=by, version=version)
    return section


def rapport_manques(sections) -> list[str]:
    """What keeps a report from being sent: each section says what was done and where the action stands."""
    manques = []
    for section in sections:
        if not section.recit.strip():
            manques.append(f"Action {section.fiche.code} : décrivez ce qui a été fait dans l'année.")
        if not section.avancement:
            manques.append(f"Action {section.fiche.code} : dites où en est l'action.")
    return manques


def _rapport_transmettre_sections(rapport: RapportAnnuel, *, by=None) -> None:
    """On sending: every section complete, then the year's amounts and indicator values copied into each section
    (what the DDETS checks is what was sent, even if the lines change afterwards)."""
    sections = list(
        RapportAction.objects.filter(rapport=rapport).select_related("fiche").select_for_update(of=("self",))
    )
    manques = rapport_manques(sections)
    if manques:
        raise ValidationError([f"Le rapport {rapport.annee} ne peut pas être transmis :", *manques])
    chiffres = rapport_chiffres(annee=rapport.annee, fiches=[s.fiche_id for s in sections])
    for section in sections:
        section.chiffres_transmis = chiffres[section.fiche_id].en_json()
        save_validated(section, by=by)


@dataclass(frozen=True)
class MontantsFinanceur:
    """One funder's money for an action and a year (``None``: not entered)."""

    libelle: str
    type_financeur: str
    prevu: Decimal | None
    engage: Decimal | None
    realise: Decimal | None


@dataclass(frozen=True)
class ValeurAnnuelle:
    """An indicator's target and achieved value for the year."""

    nom: str
    unite: str
    cible: Decimal | None
    realise: Decimal | None


def _decimal(value) -> Decimal | None:
    return None if value is None else Decimal(value)


def _texte(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class ChiffresAction:
    """An action's figures for a report's year: each funder's planned, committed and spent amounts, their totals
    (summed by the database), and each indicator's target and achieved value."""

    financeurs: tuple[MontantsFinanceur, ...] = ()
    total: MontantsFinanceur = MontantsFinanceur("Total", "", None, None, None)
    indicateurs: tuple[ValeurAnnuelle, ...] = ()

    def en_json(self) -> dict:
        """The copy kept on the section at submission: decimals as their exact text, never floats."""

        def montants(m: MontantsFinanceur) -> dict:
            return {
                "libelle": m.libelle,
                "type_financeur": m.type_financeur,
                **{champ: _texte(getattr(m, champ)) for champ in ("prevu", "engage", "realise")},
            }

        return {
            "financeurs": [montants(m) for m in self.financeurs],
            "total": montants(self.total),
            "indicateurs": [
                {"nom": v.nom, "unite": v.unite, "cible": _texte(v.cible), "realise": _texte(v.realise)}
                for v in self.indicateurs
            ],
        }

    @classmethod
    def depuis_json(cls, data: dict) -> ChiffresAction:
        def montants(m: dict) -> MontantsFinanceur:
            return MontantsFinanceur(
                m["libelle"], m["type_financeur"], *(_decimal(m[c]) for c in ("prevu", "engage", "realise"))
            )

        return cls(
            financeurs=tuple(montants(m) for m in data.get("financeurs", [])),
            total=montants(data["total"]) if data.get("total") else cls.total,
            indicateurs=tuple(
                ValeurAnnuelle(v["nom"], v["unite"], _decimal(v["cible"]), _decimal(v["realise"]))
                for v in data.get("indicateurs", [])
            ),
        )


_ORDRE_FINANCEURS = {TypeFinanceur.ETAT: 0, TypeFinanceur.COLLECTIVITE: 1, TypeFinanceur.AUTRE: 2}


def rapport_chiffres(*, annee: int, fiches) -> dict[int, ChiffresAction]:
    """The year's figures of the given actions (ids), read live from their funding lines and indicators, in four
    queries whatever their number: the lines, their totals by the database, the indicators, their values."""
    ids = list(fiches)
    lignes = defaultdict(list)
    for ligne in (
        LigneFinancement.objects.filter(fiche_id__in=ids, annee=annee)
        .select_related("financeur")
        .order_by("financeur__nom", "pk")
    ):
        lignes[ligne.fiche_id].append(ligne)
    totaux = {
        row["fiche_id"]: row
        for row in LigneFinancement.objects.filter(fiche_id__in=ids, annee=annee)
        .values("fiche_id")
        .annotate(prevu=Sum("prevu"), engage=Sum("engage"), realise=Sum("realise"))
        .order_by()
    }
    indicateurs = defaultdict(list)
    for indicateur in Indicateur.objects.filter(fiche_id__in=ids).prefetch_related(
        Prefetch("valeurs", queryset=ValeurIndicateur.objects.filter(annee=annee), to_attr="valeurs_annee")
    ):
        valeur = indicateur.valeurs_annee[0] if indicateur.valeurs_annee else None
        indicateurs[indicateur.fiche_id].append(
            ValeurAnnuelle(
                indicateur.nom, indicateur.unite, valeur.cible if valeur else None, valeur.realise if valeur else None
            )
        )

    def cents(value) -> Decimal | None:
        return None if value is None else to_cents(value)

    resultat = {}
    for fiche_id in ids:
        financeurs = tuple(
            MontantsFinanceur(ligne.libelle_financeur, ligne.type_financeur, ligne.prevu, ligne.engage, ligne.realise)
            for ligne in sorted(lignes[fiche_id], key=lambda ligne: _ORDRE_FINANCEURS[ligne.type_financeur])
        )
        somme = totaux.get(fiche_id)
        total = MontantsFinanceur(
            "Total", "", *(cents(somme[c]) if somme else None for c in ("prevu", "engage", "realise"))
        )
        resultat[fiche_id] = ChiffresAction(financeurs, total, tuple(indicateurs[fiche_id]))
    return resultat


# --- Annual reports: opened every year, reminders by e-mail -------------------------------------------------------


#: Contracts whose report of the past year opens by itself (``rapports_ouvrir``): those being executed.
STATUTS_RAPPORT_OUVERT = (StatutContrat.SIGNE, StatutContrat.EN_EXECUTION)


@dataclass
class Ouverture:
    """What ``rapports_ouvrir`` did for one contract: the report opened (or found), the sections added, a refusal."""

    contrat: Contrat
    rapport: RapportAnnuel | None = None
    ouvert: bool = False
    sections: int = 0
    refus: list[str] = field(default_factory=list)


def rapports_ouvrir(*, annee: int, by=None) -> list[Ouverture]:
    """Opens the report of ``annee`` of every signed or running contract that covers the year and has none, pre-filled
    (``rapport_create``), and adds their missing sections to the reports of that year still in redaction. Idempotent:
    run again, it opens and adds nothing. One contract's refusal does not stop the others (each in its transaction)."""
    contrats = Contrat.objects.filter(
        statut__in=STATUTS_RAPPORT_OUVERT, date_debut__year__lte=annee, date_fin__year__gte=annee
    ).order_by("reference")
    rapports = {r.contrat_id: r for r in RapportAnnuel.objects.filter(annee=annee, contrat__in=contrats)}
    resultats = []
    for contrat in contrats:
        resultat = Ouverture(contrat, rapports.get(contrat.pk))
        try:
            if resultat.rapport is None:
                resultat.rapport = rapport_create(contrat=contrat, annee=annee, by=by)
                resultat.ouvert = True
                resultat.sections = resultat.rapport.sections.count()
            elif resultat.rapport.en_redaction:
                resultat.sections = len(rapport_sections_completer(rapport=resultat.rapport, by=by))
        except ValidationError as error:
            resultat.refus = error.messages
        resultats.append(resultat)
    return resultats


def _jours(nom: str, defaut: int) -> int:
    return int(getattr(settings, nom, defaut))


def jours_rappel_avant() -> int:
    """How many days before its due date a report still in redaction is recalled (``PACTE_RAPPEL_JOURS_AVANT``)."""
    return _jours("PACTE_RAPPEL_JOURS_AVANT", 15)


def jours_rappel_apres() -> int:
    """Every how many days a late report is recalled (``PACTE_RAPPEL_JOURS_APRES``)."""
    return _jours("PACTE_RAPPEL_JOURS_APRES", 7)


def relance_due(
    *,
    rapport: RapportAnnuel,
    aujourd_hui: date,
    derniere: date | None,
    avant_envoye: bool,
    derniere_retard: date | None,
) -> str | None:
    """Which reminder, if any, the report calls for today (docs/regles.md, Relances): none once sent to the DDETS,
    none twice the same day; one reminder from ``jours_rappel_avant()`` days before the due date to the due date;
    once late, one the first day and then every ``jours_rappel_apres()`` days."""
    if not rapport.en_redaction or derniere == aujourd_hui:
        return None
    echeance = rapport.date_limite
    if aujourd_hui <= echeance:
        debut = echeance - timedelta(days=jours_rappel_avant())
        return NatureRelance.AVANT if aujourd_hui >= debut and not avant_envoye else None
    if derniere_retard is None or (aujourd_hui - derniere_retard).days >= jours_rappel_apres():
        return NatureRelance.RETARD
    return None


def destinataires_rapport(contrat: Contrat) -> list[str]:
    """Who receives the reminders of a contract's report: the active editors of the collectivité's organisation who
    have an e-mail address (the people who write the report)."""
    return list(
        get_user_model()
        .objects.filter(
            is_active=True,
            role=Role.EDITEUR,
            organisation__type=TypeOrganisation.COLLECTIVITE,
            organisation__collectivite_id=contrat.collectivite_id,
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


@transaction.atomic
def relance_envoyer(
    *, rapport: RapportAnnuel, nature: str, aujourd_hui: date, destinataires: list[str], lien: str
) -> RelanceRapport:
    """Sends one reminder e-mail (French text and HTML from ``templates/emails/``) and records it. The record comes
    first and the e-mail inside the same transaction: a second run the same day (even at the same time) finds the
    record, or is refused by the database, and sends nothing; an e-mail that fails records nothing."""
    relance = RelanceRapport(
        rapport=rapport, nature=nature, envoyee_le=aujourd_hui, destinataires="\n".join(destinataires)
    )
    save_validated(relance)
    contexte = {
        "rapport": rapport,
        "contrat": rapport.contrat,
        "retard": nature == NatureRelance.RETARD,
        "jours": (rapport.date_limite - aujourd_hui).days,
        "jours_retard": (aujourd_hui - rapport.date_limite).days,
        "lien": lien,
    }
    sujet = render_to_string("emails/rapport_relance_sujet.txt", contexte).strip()
    message = EmailMultiAlternatives(
        subject=" ".join(sujet.split()),
        body=render_to_string("emails/rapport_relance.txt", contexte),
        to=destinataires,
    )
    message.attach_alternative(render_to_string("emails/rapport_relance.html", contexte), "text/html")
    message.send()
    return relance


@dataclass
class Relance:
    """What ``rapports_relancer`` did for one report."""

    rapport: RapportAnnuel
    nature: str
    destinataires: list[str]
    envoyee: bool
    erreur: str = ""


def rapports_relancer(*, aujourd_hui: date, lien: Callable[[RapportAnnuel], str]) -> list[Relance]:
    """Sends today's reminders (``relance_due``) of every report still waiting for its collectivité; a report whose
    collectivité has no editor with an e-mail address is listed, not recorded (nothing was sent). ``lien`` gives the
    absolute address of a report's page (the command knows the site's address and the front office's routes)."""
    rapports = (
        RapportAnnuel.objects.filter(statut__in=STATUTS_RAPPORT_REDACTION)
        .select_related("contrat", "contrat__collectivite")
        .prefetch_related("relances")
        .order_by("date_limite", "contrat__reference")
    )
    resultats = []
    for rapport in rapports:
        relances = list(rapport.relances.all())
        retards = [r.envoyee_le for r in relances if r.nature == NatureRelance.RETARD]
        nature = relance_due(
            rapport=rapport,
            aujourd_hui=aujourd_hui,
            derniere=max((r.envoyee_le for r in relances), default=None),
            avant_envoye=any(r.nature == NatureRelance.AVANT for r in relances),
            derniere_retard=max(retards, default=None),
        )
        if nature is None:
            continue
        destinataires = destinataires_rapport(rapport.contrat)
        resultat = Relance(rapport, nature, destinataires, envoyee=False)
        if destinataires:
            try:
                relance_envoyer(
                    rapport=rapport,
                    nature=nature,
                    aujourd_hui=aujourd_hui,
                    destinataires=destinataires,
                    lien=lien(rapport),
                )
            except ValidationError:  # recorded the same day by another run: it sent the e-mail
                continue
            except (smtplib.SMTPException, OSError) as error:  # nothing recorded: the next run tries again
                resultat.erreur = f"{type(error).__name__} : {error}"
            else:
                resultat.envoyee = True
        resultats.append(resultat)
    return resultats


@transaction.atomic
def regle_cofinancement_save(*, regle_cofinancement, by=None, version: int | None = None):
    """Creates or changes a cofinancing rule (administration centrale). The parity breaches the dashboards count
    follow it: the summary of every contract of its type (and of its former type) is recomputed."""
    avant = type(regle_cofinancement).objects.filter(pk=regle_cofinancement.pk).values_list("type_contrat", flat=True)
    types = {regle_cofinancement.type_contrat, *avant}
    save_validated(regle_cofinancement, by=by, version=version)
    _synthese_des_types(types)
    return regle_cofinancement


def _synthese_des_types(types) -> None:
    synthese_refresh_contrats(
        Contrat.objects.filter(type_contrat__in=types, fiches__isnull=False).distinct().values_list("pk", flat=True)
    )


@transaction.atomic
def regle_cofinancement_delete(*, regle_cofinancement, by=None, version: int | None = None) -> None:
    """Removes a volet's own rule (the general rule of a type is needed by every check)."""
    if regle_cofinancement.volet_numero is None:
        raise ValidationError("La règle générale d'un type de contrat ne se supprime pas : modifiez-la.")
    delete_validated(regle_cofinancement, by=by, version=version)
    _synthese_des_types({regle_cofinancement.type_contrat})


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
    if type_financeur not in TypeFinanceur.values:
        raise ValidationError({"type_financeur": "Choisissez l'État, la collectivité ou un autre financeur."})
    if type_financeur == TypeFinanceur.AUTRE and financeur is None:
        raise ValidationError({"financeur": "Nommez l'autre financeur."})
    if type_financeur != TypeFinanceur.AUTRE and financeur is not None:
        raise ValidationError({"financeur": "Seul un autre financeur est nommé, pas l'État ni la collectivité."})
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


# --- Documents issued by the platform: frozen at signature, drafts, fiches and reports, batch prints -----------------
#
# Every PDF handed out is rendered by financement.documents, sealed (financement.sceau) and written in the registry
# (DocumentEmis) with its SHA-256. What costs seconds (a convention, an avenant, a batch) is a registry row whose
# production runs as a task (financement/tasks.py) after the commit; the pages show its progress.


def taille_max_document() -> int:
    """The largest file one may upload (scan, PDF to verify), in bytes (``PACTE_DOCUMENT_TAILLE_MAX_MO``)."""
    return settings.PACTE_DOCUMENT_TAILLE_MAX_MO * 1024 * 1024


def _apres_commit(tache, uid) -> None:
    """Enqueues ``tache`` once the transaction that created its row commits (never for a write rolled back)."""
    transaction.on_commit(lambda: tache.enqueue(str(uid)))


def _objet_convention(contrat: Contrat) -> str:
    return f"Convention {contrat.reference}"


def _sans_nouvelles(rows, champ: str = "cree_le") -> None:
    """Marks failed the jobs of ``rows`` in progress with no news for too long (``DELAI_SANS_NOUVELLES``), so that
    they can be asked for again; should their task run after all, it finds them failed and does nothing."""
    limite = timezone.now() - DELAI_SANS_NOUVELLES
    rows.filter(statut__in=STATUTS_EN_COURS, **{f"{champ}__lt": limite}).update(
        statut=StatutTache.ECHEC, erreur=ERREUR_SANS_NOUVELLES, termine_le=timezone.now()
    )


@transaction.atomic
def document_signe_figer(*, contrat: Contrat | None = None, avenant: Avenant | None = None, by=None) -> DocumentEmis:
    """Freezes the signed document of a contract (or of an avenant): a registry row now, and after the commit the
    document generated once, sealed and stored in ``document_signe`` with its hash in ``empreinte_document``.

    Run by the signature itself (``contrats.services.APRES_SIGNATURE``), and by hand for a contract signed before
    the freeze existed or whose freeze failed. A document already frozen is never generated again; while one is
    being frozen, that row is returned.
    """
    from financement.tasks import produire_document

    if avenant is not None:
        lock_contrat(avenant.contrat_id)
        avenant = Avenant.objects.select_related("contrat").get(pk=avenant.pk)
        contrat, cible, nature = avenant.contrat, avenant, NatureDocument.AVENANT
        objet = f"Avenant n° {avenant.numero}"
        if avenant.statut != StatutAvenant.SIGNE:
            raise ValidationError(f"L'avenant n° {avenant.numero} n'est pas signé : son document n'est pas figé.")
    else:
        lock_contrat(contrat.pk)
        contrat = Contrat.objects.get(pk=contrat.pk)
        cible, nature, objet = contrat, NatureDocument.CONVENTION, _objet_convention(contrat)
        if not contrat.est_fige:
            raise ValidationError(f"Le contrat {contrat.reference} n'est pas signé : sa convention n'est pas figée.")
    if cible.document_signe:
        raise ValidationError(f"Le document signé est déjà figé ({objet}) : il ne sera jamais généré de nouveau.")
    memes = DocumentEmis.objects.filter(contrat=contrat, avenant=avenant, nature=nature, signe=True)
    _sans_nouvelles(memes)
    en_cours = memes.filter(statut__in=STATUTS_EN_COURS).first()
    if en_cours is not None:
        return en_cours
    document = DocumentEmis(
        nature=nature,
        contrat=contrat,
        avenant=avenant,
        objet=objet,
        signe=True,
        version_contrat=contrat.version,
        demande_par=by,
    )
    save_validated(document, by=by)
    _apres_commit(produire_document, document.uid)
    return document


@transaction.atomic
def document_projet_demander(*, contrat: Contrat, avenant: Avenant | None = None, by=None) -> DocumentEmis:
    """Asks for a draft (PROJET) of a convention not yet signed, or of an avenant not yet signed, made in the
    background. While one is being made, that one is returned (one at a time)."""
    from financement.tasks import produire_document

    lock_contrat(contrat.pk)
    contrat = Contrat.objects.get(pk=contrat.pk)
    if avenant is not None:
        avenant = Avenant.objects.get(pk=avenant.pk)
        if avenant.statut not in (StatutAvenant.BROUILLON, StatutAvenant.PRET_SIGNATURE):
            raise ValidationError(
                f"L'avenant n° {avenant.numero} est « {avenant.get_statut_display().lower()} » : "
                "il n'a plus de projet (un avenant signé a son document signé figé)."
            )
        nature, objet = NatureDocument.AVENANT, f"Avenant n° {avenant.numero}"
    else:
        if contrat.est_fige:
            raise ValidationError(
                f"Le contrat {contrat.reference} est signé : sa convention est le document signé figé, pas un projet."
            )
        nature, objet = NatureDocument.CONVENTION, _objet_convention(contrat)
    memes = DocumentEmis.objects.filter(contrat=contrat, avenant=avenant, nature=nature, signe=False, impression=None)
    _sans_nouvelles(memes)
    en_cours = memes.filter(statut__in=STATUTS_EN_COURS).first()
    if en_cours is not None:
        return en_cours
    document = DocumentEmis(
        nature=nature,
        contrat=contrat,
        avenant=avenant,
        objet=objet,
        signe=False,
        version_contrat=contrat.version,
        demande_par=by,
    )
    save_validated(document, by=by)
    _apres_commit(produire_document, document.uid)
    return document


def _rendu(document: DocumentEmis) -> bytes:
    """The document's PDF before its seal (financement.documents renders; the PROJET watermark is its business)."""
    from financement import documents

    if document.nature == NatureDocument.AVENANT:
        return documents.avenant_pdf(document.avenant)
    return documents.convention_pdf(document.contrat)


def _erreur(error: BaseException) -> str:
    if isinstance(error, SceauIndisponible | ValidationError):
        return " ".join(error.messages) if isinstance(error, ValidationError) else str(error)
    return f"La génération a échoué ({type(error).__name__} : {error})."[:2000]


def document_produire(*, uid) -> DocumentEmis:
    """Makes the document of a registry row (the task ``produire_document``): renders, seals, stores, and for a
    signed document writes it in the contract's or avenant's ``document_signe`` — once: a row already made (a task
    run twice) is left as it is, and a contract or avenant already frozen is never overwritten.

    Not atomic as a whole: the row says « en cours » as soon as the work starts, for the page that follows it.
    """
    document = DocumentEmis.objects.select_related("contrat", "avenant").get(uid=uid)
    if document.statut != StatutTache.EN_ATTENTE:
        return document
    DocumentEmis.objects.filter(pk=document.pk).update(statut=StatutTache.EN_COURS)
    try:
        scelle = sceller(_rendu(document))
        return _document_enregistrer(document, scelle)
    except BaseException as error:
        DocumentEmis.objects.filter(pk=document.pk).update(
            statut=StatutTache.ECHEC, erreur=_erreur(error), termine_le=timezone.now()
        )
        raise


@transaction.atomic
def _document_enregistrer(document: DocumentEmis, scelle: bytes) -> DocumentEmis:
    sha = empreinte(scelle)
    cible = document.avenant if document.nature == NatureDocument.AVENANT else document.contrat
    nom = f"{cible.uid}-{'signe' if document.signe else 'projet'}-{sha[:12]}.pdf"
    if document.signe:
        lock_contrat(document.contrat_id)
        if type(cible).objects.filter(pk=cible.pk).exclude(document_signe="").exists():
            raise ValidationError("Le document signé était déjà figé : il n'a pas été remplacé.")
    document.fichier.save(nom, ContentFile(scelle), save=False)
    document.empreinte, document.taille = sha, len(scelle)
    document.statut, document.termine_le, document.erreur = StatutTache.PRET, timezone.now(), ""
    document.save(update_fields=["fichier", "empreinte", "taille", "statut", "termine_le", "erreur"])
    if document.signe:
        # Not through save_validated: the freeze is no agent's edit of the contract (no new version for the page
        # someone has open) and this registry row is its trail. Written only where nothing is frozen yet.
        type(cible).objects.filter(pk=cible.pk, document_signe="").update(
            document_signe=document.fichier.name, empreinte_document=sha
        )
    return document


def _emettre(*, nature: str, contrat: Contrat, objet: str, pdf: bytes, by=None) -> bytes:
    """Seals a small document made during the request and writes it in the registry (its hash, not its file:
    it is made again on the next download)."""
    scelle = sceller(pdf)
    document = DocumentEmis(
        nature=nature,
        contrat=contrat,
        objet=objet,
        signe=False,
        version_contrat=contrat.version,
        statut=StatutTache.PRET,
        empreinte=empreinte(scelle),
        taille=len(scelle),
        demande_par=by,
        termine_le=timezone.now(),
    )
    save_validated(document, by=by)
    return scelle


@transaction.atomic
def document_fiche_emettre(*, fiche: FicheAction, by=None) -> bytes:
    """The sealed PDF of one fiche action, made now (a page or two: no task), registered."""
    from financement import documents

    return _emettre(
        nature=NatureDocument.FICHE,
        contrat=fiche.contrat,
        objet=f"Fiche action {fiche.code}",
        pdf=documents.fiche_pdf(fiche),
        by=by,
    )


@transaction.atomic
def document_rapport_emettre(*, rapport: RapportAnnuel, by=None) -> bytes:
    """The sealed PDF of an annual execution report, made now (a few pages: no task), registered."""
    from financement import documents

    return _emettre(
        nature=NatureDocument.RAPPORT,
        contrat=rapport.contrat,
        objet=f"Rapport annuel d'exécution {rapport.annee}",
        pdf=documents.rapport_pdf(rapport),
        by=by,
    )


def scan_errors(fichier) -> list[str]:
    """Why an uploaded file cannot be the scan of a signed paper: not a PDF, empty or too large."""
    if fichier is None:
        return ["Choisissez le fichier PDF du scan."]
    limite = taille_max_document()
    if fichier.size == 0:
        return ["Le fichier est vide."]
    if fichier.size > limite:
        return [
            f"Le fichier pèse {fichier.size / 1024 / 1024:.1f} Mo : "
            f"{settings.PACTE_DOCUMENT_TAILLE_MAX_MO} Mo au plus.".replace(".", ",", 1)
        ]
    debut = fichier.read(5)
    fichier.seek(0)
    if not (fichier.name or "").lower().endswith(".pdf") or debut != b"%PDF-":
        return ["Le scan doit être un fichier PDF (.pdf)."]
    return []


@transaction.atomic
def scan_signe_joindre(
    *, contrat: Contrat | None = None, avenant: Avenant | None = None, fichier, by=None, version: int | None = None
):
    """Attaches the scan of the paper signed by hand beside the frozen signed document (which it never replaces)
    of a signed contract or avenant. PDF only, ``PACTE_DOCUMENT_TAILLE_MAX_MO`` at most; a new scan replaces the
    previous one (the history keeps its name)."""
    errors = scan_errors(fichier)
    if errors:
        raise ValidationError({"scan_signe": errors})
    if avenant is not None:
        lock_contrat(avenant.contrat_id)
        cible = avenant
        if Avenant.objects.filter(pk=avenant.pk).values_list("statut", flat=True).get() != StatutAvenant.SIGNE:
            raise ValidationError(f"L'avenant n° {avenant.numero} n'est pas signé : il n'a pas encore de scan signé.")
    else:
        lock_contrat(contrat.pk)
        cible = contrat
        if Contrat.objects.filter(pk=contrat.pk).values_list("statut", flat=True).get() not in STATUTS_FIGES:
            raise ValidationError(f"Le contrat {contrat.reference} n'est pas signé : il n'a pas encore de scan signé.")
    cible.scan_signe.save(f"{cible.uid}-scan.pdf", fichier, save=False)
    save_validated(cible, by=by, version=version)
    return cible


# --- Batch printing ---------------------------------------------------------------------------------------------


def can_print_batch(user) -> bool:
    """Prints every convention of a territory as a batch: an agent of a State service (DDETS, préfecture, DREETS,
    administration centrale), reader or editor, within its perimeter (:func:`territoires_imprimables`); a superuser.
    (A permission predicate: its place is financement/perms.py, where it would go with the next change there.)"""
    return bool(
        user.is_authenticated
        and user.is_active
        and (
            user.is_superuser
            or _type_organisation(user)
            in (
                TypeOrganisation.DDETS,
                TypeOrganisation.PREFECTURE,
                TypeOrganisation.DREETS,
                TypeOrganisation.ADMINISTRATION_CENTRALE,
            )
        )
    )


def _type_organisation(user) -> str | None:
    return user.organisation.type if getattr(user, "organisation_id", None) else None


def territoires_imprimables(user) -> tuple[QuerySet, QuerySet]:
    """The départements and régions whose conventions ``user`` may print as a batch: those of its perimeter (a
    DDETS or préfecture its département, a DREETS its région and its départements, the nation everything)."""
    perimetre = perimetre_of(user)
    departements, regions = Departement.objects.none(), Region.objects.none()
    if not can_print_batch(user):
        return departements, regions
    match perimetre.niveau:
        case Niveau.NATION:
            departements, regions = Departement.objects.all(), Region.objects.all()
        case Niveau.REGION:
            departements = Departement.objects.filter(region_id=perimetre.region_id)
            regions = Region.objects.filter(pk=perimetre.region_id)
        case Niveau.DEPARTEMENT:
            departements = Departement.objects.filter(pk=perimetre.departement_id)
    return departements.order_by("code"), regions.order_by("code")


def contrats_du_territoire(user, *, departement: Departement | None = None, region: Region | None = None):
    """The contracts of a département (its collectivités, those that cover it too) or of a région, that ``user``
    sees, by reference."""
    contrats = Contrat.objects.for_user(user)
    if departement is not None:
        contrats = contrats.filter(collectivite__departements=departement)
    else:
        contrats = contrats.filter(collectivite__region=region)
    return contrats.distinct().order_by("reference")


@transaction.atomic
def impression_demander(*, by, departement: Departement | None = None, region: Region | None = None) -> Impression:
    """Asks for every convention of a département or a région of the agent's perimeter in one zip, made in the
    background (signed ones: their frozen file; the others: a draft with PROJET). One at a time per agent."""
    from financement.tasks import imprimer_lot

    if (departement is None) == (region is None):
        raise ValidationError({"territoire": "Choisissez un département ou une région."})
    departements, regions = territoires_imprimables(by)
    choisi = departements.filter(pk=departement.pk) if departement else regions.filter(pk=region.pk)
    if not choisi.exists():
        raise ValidationError({"territoire": "Ce territoire n'est pas dans votre périmètre."})
    total = contrats_du_territoire(by, departement=departement, region=region).count()
    if total == 0:
        raise ValidationError({"territoire": "Aucune convention à imprimer sur ce territoire."})
    # The agent's row first: two requests of the same agent queue behind each other here.
    list(get_user_model().objects.select_for_update().filter(pk=by.pk).values_list("pk", flat=True))
    _sans_nouvelles(Impression.objects.filter(demande_par=by), "nouvelles_le")
    if Impression.objects.filter(demande_par=by, statut__in=STATUTS_EN_COURS).exists():
        raise ValidationError("Une impression est déjà en préparation : attendez qu'elle se termine.")
    impression = Impression(demande_par=by, departement=departement, region=region, total=total)
    impression.full_clean()
    impression.save()
    _apres_commit(imprimer_lot, impression.uid)
    return impression


def _nom_dans_le_lot(contrat: Contrat, etat: str) -> str:
    return f"{contrat.reference}-{etat}.pdf"


def impression_produire(*, uid) -> Impression:
    """Builds the zip of a batch print (the task ``imprimer_lot``): one PDF per convention of the territory that
    the agent sees now, ``fait`` counted as it goes, and a LISEZMOI.txt listing each file, its state and SHA-256.

    A signed contract gives its frozen file; another one a draft made now, sealed and registered (with PROJET
    unless signed: a contract signed before the freeze existed is printed from its current data, and said so).
    """
    from financement import documents

    impression = Impression.objects.select_related("demande_par", "departement", "region").get(uid=uid)
    if impression.statut != StatutTache.EN_ATTENTE:
        return impression
    user = impression.demande_par
    contrats = list(
        contrats_du_territoire(user, departement=impression.departement, region=impression.region).select_related(
            "collectivite"
        )
    )
    Impression.objects.filter(pk=impression.pk).update(
        statut=StatutTache.EN_COURS, total=len(contrats), fait=0, nouvelles_le=timezone.now()
    )
    lignes = [
        f"Conventions – {impression.territoire}",
        f"Demandé par {user.get_full_name() or user.get_username()} le "
        f"{timezone.localtime(impression.cree_le):%d/%m/%Y à %H:%M}",
        "",
        "fichier\tétat\tSHA-256",
    ]
    try:
        with tempfile.TemporaryFile() as archive:
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
                for contrat in contrats:
                    if contrat.document_signe:
                        with contrat.document_signe.open("rb") as handle:
                            pdf = handle.read()
                        nom, etat = _nom_dans_le_lot(contrat, "signee"), "document signé figé"
                    else:
                        pdf = sceller(documents.convention_pdf(contrat))
                        DocumentEmis.objects.create(
                            nature=NatureDocument.CONVENTION,
                            contrat=contrat,
                            objet=_objet_convention(contrat),
                            signe=False,
                            version_contrat=contrat.version,
                            statut=StatutTache.PRET,
                            empreinte=empreinte(pdf),
                            taille=len(pdf),
                            demande_par=user,
                            impression=impression,
                            termine_le=timezone.now(),
                        )
                        if contrat.est_fige:
                            nom, etat = _nom_dans_le_lot(contrat, "signee-non-figee"), "signé, regénéré (non figé)"
                        else:
                            nom, etat = _nom_dans_le_lot(contrat, "projet"), "projet"
                    zf.writestr(nom, pdf)
                    lignes.append(f"{nom}\t{etat}\t{empreinte(pdf)}")
                    Impression.objects.filter(pk=impression.pk).update(fait=F("fait") + 1, nouvelles_le=timezone.now())
                zf.writestr("LISEZMOI.txt", "\n".join(lignes) + "\n")
            archive.seek(0)
            impression.fichier.save(f"{impression.uid}.zip", File(archive), save=False)
            taille = archive.seek(0, 2)
        Impression.objects.filter(pk=impression.pk).update(
            fichier=impression.fichier.name, taille=taille, statut=StatutTache.PRET, termine_le=timezone.now()
        )
    except BaseException as error:
        Impression.objects.filter(pk=impression.pk).update(
            statut=StatutTache.ECHEC, erreur=_erreur(error), termine_le=timezone.now()
        )
        raise
    impression.refresh_from_db()
    return impression
