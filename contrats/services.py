"""Writes on contracts: creation, workflow, signature, avenants, steering committees."""

from __future__ import annotations

from datetime import date

import nh3
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from contrats.enums import (
    PREFIXES,
    STATUTS_AVENANT_OUVERTS,
    STATUTS_AVENANT_POSSIBLE,
    TRANSITIONS_AVENANT,
    TRANSITIONS_CONTRAT,
    NatureModification,
    PartieSignataire,
    StatutAvenant,
    StatutContrat,
    TypeComite,
    TypeContrat,
)
from contrats.models import (
    Avenant,
    Comite,
    Contrat,
    EngagementPartenaire,
    LibelleAxe,
    ModificationAvenant,
    ObjectifContrat,
    PacteLocal,
    RegleTypeContrat,
    Signataire,
    Volet,
)
from pacte import hooks
from pacte.enums import TypeOrganisation
from pacte.models import Axe, Collectivite, Organisation
from pacte.services import check_version, delete_validated, save_validated
from pacte.validators import normalize_identifier, pacte_years
from pacte.workflow import check_transition


def lock_contrat(contrat_id: int) -> None:
    """Locks the contract's row until the end of the transaction (first, before any row it holds)."""
    if transaction.get_connection().in_atomic_block:
        list(Contrat.objects.select_for_update().filter(pk=contrat_id).values_list("pk", flat=True))


def ensure_modifiable(contrat: Contrat) -> None:
    """Raises when the contract's contractual data is frozen by its signature.

    The status is read again from the database (and the row locked inside a transaction), so that
    a stale instance or a signature happening at the same moment cannot let a change through.
    """
    rows = Contrat.objects.filter(pk=contrat.pk)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update()
    contrat.statut = rows.values_list("statut", flat=True).get()
    if contrat.est_fige:
        raise ValidationError(
            f"Le contrat {contrat.reference} est {contrat.get_statut_display().lower()} : "
            "ses données contractuelles ne changent plus que par un avenant."
        )


def regle_du_type(type_contrat: str) -> RegleTypeContrat:
    """The editable rule of a contract type (axes, volets, default title)."""
    try:
        return RegleTypeContrat.objects.prefetch_related("axes").get(type_contrat=type_contrat)
    except RegleTypeContrat.DoesNotExist:
        raise ValidationError(f"Aucune règle n'est définie pour le type de contrat « {type_contrat} ».") from None


def reference_par_defaut(*, type_contrat: str, annee: int, collectivite: Collectivite) -> str:
    """``CLS-2024-D05``: the natural key of a contract."""
    return f"{PREFIXES[type_contrat]}-{annee}-{collectivite.code}"


def contrat_errors(
    *, collectivite: Collectivite, type_contrat: str, axes: list[Axe] | None = None, contrat: Contrat | None = None
) -> dict[str, str]:
    """The rules tying a contract's type to its collectivité and its axes, as ``{field: message}``.

    A métropole signs a métropole CLS and a département a départemental one; the axes are among
    those of the type, at least one, and none that a fiche of ``contrat`` still uses.
    """
    errors: dict[str, str] = {}
    if type_contrat == TypeContrat.CLS_METROPOLE and not collectivite.est_metropole:
        errors["type_contrat"] = f"{collectivite} n'est pas une métropole : choisissez un CLS départemental."
    if type_contrat == TypeContrat.CLS_DEPARTEMENT and collectivite.est_metropole:
        errors["type_contrat"] = f"{collectivite} est une métropole : choisissez un CLS de métropole."
    if axes is None:
        return errors
    regle = regle_du_type(type_contrat)
    allowed = {a.numero for a in regle.axes.all()}
    refused = sorted(a.numero for a in axes if a.numero not in allowed)
    if refused:
        errors["axes"] = (
            f"Un {regle.get_type_contrat_display()} ne porte pas "
            f"{'les axes' if len(refused) > 1 else 'l’axe'} {', '.join(map(str, refused))} "
            f"(axes possibles : {', '.join(map(str, sorted(allowed)))})."
        )
    elif not axes:
        errors["axes"] = "Un contrat porte au moins un axe."
    elif contrat is not None and contrat.pk:
        used = sorted(set(contrat.fiches.exclude(axe__in=axes).values_list("code", flat=True)))
        if used:
            errors["axes"] = f"Des fiches portent sur un axe retiré : {', '.join(used)}."
    return errors


def volet_errors(*, contrat: Contrat, numero: int) -> dict[str, str]:
    """A volet's number fits the contract type (CDIE: up to 3; CLS and CPT: none)."""
    regle = regle_du_type(contrat.type_contrat)
    if numero <= regle.volets_max:
        return {}
    if regle.volets_max:
        return {"numero": f"Un {regle.get_type_contrat_display()} a au plus {regle.volets_max} volet(s)."}
    return {"numero": f"Un {regle.get_type_contrat_display()} n'a pas de volets."}


@transaction.atomic
def contrat_create(
    *,
    collectivite: Collectivite,
    type_contrat: str,
    date_debut: date,
    date_fin: date,
    by=None,
    reference: str = "",
    titre: str = "",
    axes: list[Axe] | None = None,
    preambule: str = "",
    diagnostic: str = "",
    pacte_local: PacteLocal | None = None,
    contrat_precedent: Contrat | None = None,
) -> Contrat:
    """Creates a draft contract with the axes of its type (or the subset given).

    The contract joins its collectivité's pacte local for the Pacte's period, created when missing
    (``pacte_local`` names another one of the same collectivité); ``contrat_precedent`` is the contract
    it renews (``financement.renouvellement.contrat_renew``). The preamble and the diagnostic are
    rich text, cleaned by :func:`rich_text_clean`.
    """
    regle = regle_du_type(type_contrat)
    axes = list(regle.axes.all()) if axes is None else list(axes)
    errors = contrat_errors(collectivite=collectivite, type_contrat=type_contrat, axes=axes)
    if pacte_local is not None and pacte_local.collectivite_id != collectivite.pk:
        errors["pacte_local"] = f"Le pacte local « {pacte_local} » est celui d'une autre collectivité."
    if contrat_precedent is not None and contrat_precedent.collectivite_id != collectivite.pk:
        errors["contrat_precedent"] = (
            f"Le contrat renouvelé {contrat_precedent.reference} appartient à une autre collectivité."
        )
    if errors:
        raise ValidationError(errors)
    contrat = Contrat(
        collectivite=collectivite,
        type_contrat=type_contrat,
        date_debut=date_debut,
        date_fin=date_fin,
        reference=normalize_identifier(reference)
        or reference_par_defaut(type_contrat=type_contrat, annee=date_debut.year, collectivite=collectivite),
        titre=titre or regle.titre_defaut,
        preambule=_rich_text("preambule", preambule),
        diagnostic=_rich_text("diagnostic", diagnostic),
        pacte_local=pacte_local or pacte_local_get_or_create(collectivite=collectivite, by=by),
        contrat_precedent=contrat_precedent,
    )
    save_validated(contrat, by=by)
    contrat.axes.set(axes)
    return contrat


@transaction.atomic
def contrat_update(
    *, contrat: Contrat, by=None, version: int | None = None, axes: list[Axe] | None = None, **fields
) -> Contrat:
    """Changes a contract that is not signed yet (title, dates, axes, preamble, diagnostic).

    The preamble and the diagnostic are rich text, cleaned by :func:`rich_text_clean`; an axis that
    keeps a local label (``LibelleAxe``) is not removed.
    """
    ensure_modifiable(contrat)
    check_version(contrat, version)  # a stale form hears of the conflict, not of rules on old data
    allowed = {"titre", "date_debut", "date_fin", *CHAMPS_TEXTE_RICHE}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Champs non modifiables ici : {', '.join(sorted(unknown))}.")
    for name in CHAMPS_TEXTE_RICHE:
        if name in fields:
            fields[name] = _rich_text(name, fields[name])
    for name, value in fields.items():
        setattr(contrat, name, value)
    if axes is not None:
        errors = contrat_errors(
            collectivite=contrat.collectivite, type_contrat=contrat.type_contrat, axes=list(axes), contrat=contrat
        )
        errors = errors or libelles_axes_retires_errors(contrat, list(axes))
        if errors:
            raise ValidationError(errors)
    errors = periode_errors(contrat)
    if errors:
        raise ValidationError(errors)
    save_validated(contrat, by=by, version=version)
    if axes is not None:
        contrat.axes.set(axes)
    return contrat


def periode_errors(contrat: Contrat) -> dict[str, str]:
    """The contract's fiches stay within its period when its dates change."""
    if not contrat.pk or not contrat.date_debut or not contrat.date_fin or contrat.date_fin <= contrat.date_debut:
        return {}  # the dates' own order is the model's constraint
    hors = contrat.fiches.filter(Q(date_debut__lt=contrat.date_debut) | Q(date_fin__gt=contrat.date_fin))
    codes = sorted(hors.values_list("code", flat=True))
    if codes:
        return {"date_debut": f"Des fiches sortiraient de la période du contrat : {', '.join(codes)}."}
    return {}


@transaction.atomic
def contrat_delete(*, contrat: Contrat, by=None, version: int | None = None) -> None:
    """Deletes a draft contract (its fiches protect it); anything further is closed or terminated."""
    contrat = Contrat.objects.select_for_update().get(pk=contrat.pk)
    if contrat.statut != StatutContrat.BROUILLON:
        raise ValidationError(
            f"Seul un contrat en brouillon se supprime ({contrat.reference} est "
            f"« {contrat.get_statut_display().lower()} ») : clôturez-le ou résiliez-le."
        )
    delete_validated(contrat, by=by, version=version)


@transaction.atomic
def volet_create(*, contrat: Contrat, numero: int, intitule: str, by=None) -> Volet:
    """Adds a volet to a CDIE (or a convention unique); volets are funded separately."""
    return volet_save(volet=Volet(contrat=contrat, numero=numero, intitule=intitule), by=by)


@transaction.atomic
def volet_save(*, volet: Volet, by=None, version: int | None = None) -> Volet:
    """Creates or changes a volet (number, title) while its contract is not signed."""
    ensure_modifiable(volet.contrat)
    errors = volet_errors(contrat=volet.contrat, numero=volet.numero) if volet.numero else {}
    if errors:
        raise ValidationError(errors)
    save_validated(volet, by=by, version=version)
    return volet


@transaction.atomic
def volet_delete(*, volet: Volet, by=None, version: int | None = None) -> None:
    """Removes a volet of a contract that is not signed (its fiches and ceilings protect it)."""
    ensure_modifiable(volet.contrat)
    if volet.fiches.exists():
        raise ValidationError(f"Le volet {volet.numero} porte des fiches : rattachez-les ailleurs d'abord.")
    delete_validated(volet, by=by, version=version)


# What signing a contract (and an avenant, and "prêt pour signature") checks, lent by the higher apps.
CONTROLES_SIGNATURE = (
    "actions.checks.fiches_signables",  # every active fiche validated and consistent; métropole: every axis
    "financement.checks.parite_et_plafonds",  # parity per action and year; annual ceilings
)


# What a recorded signature sets off, lent by the higher apps (in the signature's transaction; the work is queued
# for after the commit). Missing one refuses the signature.
APRES_SIGNATURE = ("financement.checks.figer_convention_signee",)  # signed convention generated once, sealed, stored
APRES_SIGNATURE_AVENANT = ("financement.checks.figer_avenant_signe",)  # the same for the signed avenant


def signature_errors(contrat: Contrat) -> list[str]:
    """Everything that prevents the contract from being signed (checks of every app)."""
    return hooks.run_checks(hooks.CONTRAT_SIGNATURE, contrat, expected=CONTROLES_SIGNATURE)


def _raise_if(errors: list[str], intro: str) -> None:
    if errors:
        raise ValidationError([intro, *errors])


@transaction.atomic
def contrat_transition(*, contrat: Contrat, to: str, by=None, motif: str = "") -> Contrat:
    """Moves a contract along ``TRANSITIONS_CONTRAT``; signing goes through ``contrat_sign``."""
    contrat = Contrat.objects.select_for_update().get(pk=contrat.pk)
    check_transition(
        sujet=f"Le contrat {contrat.reference}",
        genre="de contrat",
        statuts=StatutContrat,
        transitions=TRANSITIONS_CONTRAT,
        current=contrat.statut,
        to=to,
    )
    if to == StatutContrat.SIGNE:
        raise ValidationError("La signature s'enregistre avec ses dates et ses signataires.")
    if to == StatutContrat.PRET_SIGNATURE:
        _raise_if(signature_errors(contrat), f"Le contrat {contrat.reference} n'est pas prêt pour signature :")
    if to in (StatutContrat.CLOS, StatutContrat.RESILIE):
        motif = motif.strip()
        if to == StatutContrat.RESILIE and not motif:
            raise ValidationError({"motif_fin": "Indiquez le motif de la résiliation."})
        contrat.motif_fin = motif
    contrat.statut = to
    save_validated(contrat, by=by)
    return contrat


@transaction.atomic
def signataire_set(
    *,
    contrat: Contrat,
    partie: str,
    nom: str,
    qualite: str,
    date_signature: date | None = None,
    organisation: Organisation | None = None,
    by=None,
) -> Signataire:
    """Records (or updates) who signs for a party, and when."""
    if partie == PartieSignataire.PARTENAIRE:
        # Filtered on the party too: without an organisation, the État's row would match.
        signataire = Signataire.objects.filter(contrat=contrat, partie=partie, organisation=organisation).first()
    else:
        signataire = Signataire.objects.filter(contrat=contrat, partie=partie).first()
    signataire = signataire or Signataire(contrat=contrat, partie=partie, organisation=organisation)
    signataire.nom, signataire.qualite, signataire.date_signature = nom, qualite, date_signature
    return signataire_save(signataire=signataire, by=by)


@transaction.atomic
def signataire_save(*, signataire: Signataire, by=None, version: int | None = None) -> Signataire:
    """Creates or changes a signatory while the contract is not signed; a signature date is not in the future."""
    ensure_modifiable(signataire.contrat)
    if signataire.date_signature and signataire.date_signature > timezone.localdate():
        raise ValidationError({"date_signature": "La date de signature ne peut pas être dans le futur."})
    if signataire.partie != PartieSignataire.PARTENAIRE and signataire.organisation_id:
        raise ValidationError({"organisation": "Seul un signataire partenaire représente un organisme."})
    save_validated(signataire, by=by, version=version)
    return signataire


@transaction.atomic
def signataire_delete(*, signataire: Signataire, by=None, version: int | None = None) -> None:
    """Removes a signatory while the contract is not signed."""
    ensure_modifiable(signataire.contrat)
    delete_validated(signataire, by=by, version=version)


@transaction.atomic
def contrat_sign(*, contrat: Contrat, signed_on: date, by=None) -> Contrat:
    """Signs a contract that is ready: both parties (and every partner) have signed by ``signed_on``.

    The checks run once more (data may have changed since "prêt pour signature"); from now on the
    contractual data is frozen, and so is its document (``APRES_SIGNATURE``: generated once after the commit).
    """
    contrat = Contrat.objects.select_for_update().get(pk=contrat.pk)
    if contrat.statut != StatutContrat.PRET_SIGNATURE:
        raise ValidationError(
            f"Seul un contrat prêt pour signature peut être signé ({contrat.reference} est "
            f"« {contrat.get_statut_display().lower()} »)."
        )
    if signed_on > timezone.localdate():
        raise ValidationError({"date_signature": "La date de signature ne peut pas être dans le futur."})
    errors = []
    signataires = list(contrat.signataires.all())
    parties = {s.partie for s in signataires}
    for partie, label in (
        (PartieSignataire.ETAT, "l'État"),
        (PartieSignataire.COLLECTIVITE, "la collectivité"),
    ):
        if partie not in parties:
            errors.append(f"Le signataire pour {label} n'est pas renseigné.")
    for s in signataires:
        if s.date_signature is None:
            errors.append(f"{s.nom} ({s.qualite}) n'a pas de date de signature.")
        elif s.date_signature > signed_on:
            errors.append(f"{s.nom} a signé le {s.date_signature:%d/%m/%Y}, après le {signed_on:%d/%m/%Y}.")
    errors += signature_errors(contrat)
    _raise_if(errors, f"Le contrat {contrat.reference} ne peut pas être signé :")
    contrat.statut = StatutContrat.SIGNE
    contrat.date_signature = signed_on
    save_validated(contrat, by=by)
    hooks.run_handlers(hooks.CONTRAT_SIGNE, contrat, expected=APRES_SIGNATURE)
    return contrat


# --- Avenants -------------------------------------------------------------------------------------


def avenant_errors(contrat: Contrat) -> list[str]:
    """Why an avenant cannot be opened on ``contrat``: it is not signed, or another one is still open."""
    errors = []
    if contrat.statut not in STATUTS_AVENANT_POSSIBLE:
        errors.append(
            f"Un avenant ne s'ouvre que sur un contrat signé ou en exécution "
            f"({contrat.reference} est « {contrat.get_statut_display().lower()} »)."
        )
    ouvert = contrat.avenants.filter(statut__in=STATUTS_AVENANT_OUVERTS).first()
    if ouvert:
        errors.append(f"L'avenant n° {ouvert.numero} est encore ouvert : signez-le ou abandonnez-le d'abord.")
    return errors


@transaction.atomic
def avenant_create(*, contrat: Contrat, objet: str, by=None) -> Avenant:
    """Opens the next avenant (numbered 1, 2, 3…) on a signed contract; one open at a time."""
    contrat = Contrat.objects.select_for_update().get(pk=contrat.pk)
    errors = avenant_errors(contrat)
    if errors:
        raise ValidationError(errors)
    numero = (contrat.avenants.aggregate(m=Max("numero"))["m"] or 0) + 1
    avenant = Avenant(contrat=contrat, numero=numero, objet=objet)
    save_validated(avenant, by=by)
    return avenant


@transaction.atomic
def avenant_update(*, avenant: Avenant, objet: str, by=None, version: int | None = None) -> Avenant:
    """Changes the purpose of a draft avenant."""
    ensure_avenant_modifiable(avenant)
    avenant.objet = objet
    save_validated(avenant, by=by, version=version)
    return avenant


def ensure_avenant_modifiable(avenant: Avenant) -> None:
    """Raises unless the avenant is a draft; the status is read again and the row locked, as in
    ``ensure_modifiable``, so a change cannot land on an avenant being sent to signature."""
    rows = Avenant.objects.filter(pk=avenant.pk).order_by()
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update(of=("self",))
    avenant.statut = rows.values_list("statut", flat=True).get()
    if avenant.statut != StatutAvenant.BROUILLON:
        raise ValidationError(
            f"L'avenant n° {avenant.numero} est « {avenant.get_statut_display().lower()} » : "
            "il ne se modifie plus (repassez-le en brouillon s'il n'est pas signé)."
        )


@transaction.atomic
def modification_add(
    *, avenant: Avenant, nature: str, libelle: str, cible: dict, apres, by=None
) -> ModificationAvenant:
    """Adds one change to a draft avenant; replaces an earlier change of the same target."""
    ensure_avenant_modifiable(avenant)
    if nature not in NatureModification.values:
        raise ValidationError(f"Nature de modification inconnue : {nature}.")
    modification = avenant.modifications.filter(nature=nature, cible=cible).first() or ModificationAvenant(
        avenant=avenant, nature=nature, cible=cible
    )
    modification.libelle, modification.apres = libelle, apres
    save_validated(modification, by=by)
    return modification


@transaction.atomic
def avenant_transition(*, avenant: Avenant, to: str, by=None) -> Avenant:
    """Moves an avenant along ``TRANSITIONS_AVENANT``; signing goes through ``avenant_sign``."""
    avenant = Avenant.objects.select_for_update().get(pk=avenant.pk)
    check_transition(
        sujet=f"L'avenant n° {avenant.numero}",
        genre="d'avenant",
        statuts=StatutAvenant,
        transitions=TRANSITIONS_AVENANT,
        current=avenant.statut,
        to=to,
    )
    if to == StatutAvenant.SIGNE:
        raise ValidationError("La signature d'un avenant s'enregistre avec sa date.")
    if to == StatutAvenant.PRET_SIGNATURE and not avenant.modifications.exists():
        raise ValidationError(f"L'avenant n° {avenant.numero} ne modifie rien.")
    avenant.statut = to
    save_validated(avenant, by=by)
    return avenant


@transaction.atomic
def avenant_sign(
    *, avenant: Avenant, signed_on: date, signataire_etat: str, signataire_collectivite: str, by=None
) -> Avenant:
    """Signs an avenant: applies each change (keeping the before value), then re-runs every check
    of contract signature on the result. Any failure rolls the whole avenant back."""
    # The contract first, then the avenant: the lock order of every contractual writer.
    lock_contrat(avenant.contrat_id)
    avenant = Avenant.objects.select_for_update(of=("self",)).select_related("contrat").get(pk=avenant.pk)
    if avenant.statut != StatutAvenant.PRET_SIGNATURE:
        raise ValidationError(f"Seul un avenant prêt pour signature peut être signé (n° {avenant.numero}).")
    if avenant.contrat.statut not in STATUTS_AVENANT_POSSIBLE:
        raise ValidationError(
            f"Le contrat {avenant.contrat.reference} est « {avenant.contrat.get_statut_display().lower()} » : "
            "il ne peut plus être modifié par avenant."
        )
    if signed_on > timezone.localdate():
        raise ValidationError({"date_signature": "La date de signature ne peut pas être dans le futur."})
    if signed_on < avenant.contrat.date_signature:
        raise ValidationError({"date_signature": "Un avenant ne peut pas être signé avant le contrat."})
    if not signataire_etat or not signataire_collectivite:
        raise ValidationError("Les deux signataires de l'avenant sont obligatoires.")
    now = timezone.now()
    for modification in avenant.modifications.order_by("pk"):
        modification.avant = hooks.applier(modification.nature)(modification, by=by)
        modification.applique_le = now
        modification.save(update_fields=["avant", "applique_le"])
    _raise_if(
        signature_errors(avenant.contrat),
        f"Après application, l'avenant n° {avenant.numero} laisserait le contrat irrégulier :",
    )
    avenant.statut = StatutAvenant.SIGNE
    avenant.date_signature = signed_on
    avenant.signataire_etat, avenant.signataire_collectivite = signataire_etat, signataire_collectivite
    save_validated(avenant, by=by)
    hooks.run_handlers(hooks.AVENANT_SIGNE, avenant, expected=APRES_SIGNATURE_AVENANT)
    return avenant


@transaction.atomic
def comite_create(
    *, contrat: Contrat, type_comite: str, date: date, lieu="", participants="", decisions="", by=None
) -> Comite:
    """Records a comité de suivi or de pilotage (execution data: allowed after signature)."""
    comite = Comite(
        contrat=contrat,
        type_comite=type_comite,
        date=date,
        lieu=lieu,
        participants=participants,
        decisions=decisions,
    )
    return comite_save(comite=comite, by=by)


@transaction.atomic
def comite_save(*, comite: Comite, by=None, version: int | None = None) -> Comite:
    """Creates or changes a committee: within the contract's period, not in the future once held."""
    if comite.type_comite not in TypeComite.values:
        raise ValidationError({"type_comite": "Instance inconnue."})
    contrat = comite.contrat
    if comite.date and not (contrat.date_debut.replace(month=1, day=1) <= comite.date <= contrat.date_fin):
        raise ValidationError(
            {
                "date": f"Le comité doit se tenir pendant le contrat {contrat.reference} "
                f"({contrat.date_debut:%d/%m/%Y} – {contrat.date_fin:%d/%m/%Y})."
            }
        )
    save_validated(comite, by=by, version=version)
    return comite


@transaction.atomic
def comite_delete(*, comite: Comite, by=None, version: int | None = None) -> None:
    """Removes a committee record."""
    delete_validated(comite, by=by, version=version)


@transaction.atomic
def regle_type_save(*, regle: RegleTypeContrat, axes: list[Axe] | None = None, by=None, version=None):
    """Changes what a contract type may hold (administration centrale)."""
    if axes is not None and not axes:
        raise ValidationError({"axes": "Un type de contrat porte au moins un axe."})
    save_validated(regle, by=by, version=version)
    if axes is not None:
        regle.axes.set(axes)
    return regle


# --- Partner commitments ---------------------------------------------------------------------------------


def engagement_partenaire_errors(*, engagement_partenaire: EngagementPartenaire, by=None) -> dict[str, str]:
    """What a partner's commitment must be (docs/regles.md, Engagements des partenaires), as ``{field: message}``.

    The partner is an organisation of type partenaire, or the signing collectivité's own; within the
    perimeter of ``by`` (when a user writes); the year is one of the contract's; and the commitment says
    what the partner brings: money, staff or something in kind.
    """
    engagement = engagement_partenaire
    contrat = engagement.contrat
    errors: dict[str, str] = {}
    organisation = engagement.organisation if engagement.organisation_id else None
    if organisation is not None:
        if by is not None and not Organisation.objects.for_user(by).filter(pk=organisation.pk).exists():
            errors["organisation"] = "Cette organisation n'est pas dans votre périmètre."
        elif organisation.type != TypeOrganisation.PARTENAIRE and not (
            organisation.type == TypeOrganisation.COLLECTIVITE
            and organisation.collectivite_id == contrat.collectivite_id
        ):
            errors["organisation"] = (
                f"{organisation.nom} ({organisation.get_type_display()}) n'est pas un partenaire : seuls les "
                "partenaires et la collectivité signataire prennent des engagements au contrat."
            )
    if engagement.annee is not None and engagement.annee not in contrat.annees:
        errors["annee"] = (
            f"{engagement.annee} est hors de la période du contrat {contrat.reference} "
            f"({contrat.date_debut.year}-{contrat.date_fin.year})."
        )
    for champ in ("montant", "etp"):
        if isinstance(getattr(engagement, champ), float):  # a float is never an exact amount (nor a share of staff)
            errors[champ] = "Saisissez un nombre décimal exact, jamais un flottant."
    if errors:
        return errors
    if not engagement.montant and not engagement.etp and not (engagement.en_nature or "").strip():
        errors[NON_FIELD_ERRORS] = (
            "Un engagement dit ce que le partenaire apporte : un montant, du personnel (ETP) ou un apport en nature."
        )
    return errors


@transaction.atomic
def engagement_partenaire_save(
    *, engagement_partenaire: EngagementPartenaire, by=None, version: int | None = None
) -> EngagementPartenaire:
    """Creates or changes a partner's commitment for a year (contractual: before signature only; after, an
    avenant would change it)."""
    engagement = engagement_partenaire
    ensure_modifiable(engagement.contrat)
    if (
        engagement.pk is not None
        and EngagementPartenaire.objects.filter(pk=engagement.pk).exclude(contrat_id=engagement.contrat_id).exists()
    ):
        raise ValidationError("Un engagement ne change pas de contrat : supprimez-le et créez-en un autre.")
    errors = engagement_partenaire_errors(engagement_partenaire=engagement, by=by)
    if errors:
        raise ValidationError(errors)
    save_validated(engagement, by=by, version=version)
    return engagement


@transaction.atomic
def engagement_partenaire_delete(
    *, engagement_partenaire: EngagementPartenaire, by=None, version: int | None = None
) -> None:
    """Removes a partner's commitment, before signature."""
    ensure_modifiable(engagement_partenaire.contrat)
    delete_validated(engagement_partenaire, by=by, version=version)


# --- Contract content (preamble, diagnostic, objectives, local axis labels) and the pacte local -------------

#: What the preamble and the diagnostic may hold (the convention prints them): paragraphs, line breaks,
#: bold, italics, lists, two levels of headings and links. Everything else is stripped, never executed:
#: tags, attributes, comments, scripts and styles with their content, links that are not absolute
#: http, https or mailto.
RICH_TEXT_TAGS = frozenset({"p", "br", "strong", "em", "ul", "ol", "li", "h3", "h4", "a"})
RICH_TEXT_URL_SCHEMES = frozenset({"http", "https", "mailto"})
CHAMPS_TEXTE_RICHE = ("preambule", "diagnostic")


def rich_text_clean(value: str | None) -> str:
    """The rich text of a contract kept safe (nh3): only :data:`RICH_TEXT_TAGS`, ``href`` on links."""
    return nh3.clean(
        value or "",
        tags=set(RICH_TEXT_TAGS),
        attributes={"a": {"href"}, "*": set()},
        url_schemes=set(RICH_TEXT_URL_SCHEMES),
        url_relative="deny",
        link_rel="noopener noreferrer",
        strip_comments=True,
    ).strip()


def _field_errors(model, name: str, value, prefix: str = "") -> list[str]:
    """The messages of the model field's own validators (characters, length) on a raw value."""
    try:
        model._meta.get_field(name).run_validators(value)
    except ValidationError as error:
        return [f"{prefix}{message}" for message in error.messages]
    return []


def _rich_text(name: str, value) -> str:
    """A preamble or diagnostic as typed, checked raw (the cleaner would silently drop a NUL or keep a
    bidi override), then cleaned."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError({name: "Ce texte n'est pas du texte."})
    errors = _field_errors(Contrat, name, value)
    if errors:
        raise ValidationError({name: errors})
    return rich_text_clean(value)


def libelles_axes_retires_errors(contrat: Contrat, axes: list[Axe]) -> dict[str, str]:
    """An axis removed from a contract takes no local label with it: the label is removed first."""
    if not contrat.pk:
        return {}
    retires = sorted(contrat.libelles_axes.exclude(axe__in=axes).values_list("axe__numero", flat=True))
    if retires:
        return {
            "axes": f"Un intitulé local porte sur {'les axes' if len(retires) > 1 else 'l’axe'} "
            f"{', '.join(map(str, retires))} : supprimez-le avant de retirer l'axe."
        }
    return {}


def intitule_pacte_local(collectivite: Collectivite) -> str:
    """The default title of a pacte local (the one the migration gave the existing ones)."""
    return f"Pacte local des solidarités – {collectivite.nom}"[:200]


@transaction.atomic
def pacte_local_get_or_create(*, collectivite: Collectivite, by=None) -> PacteLocal:
    """The collectivité's pacte local for the Pacte's period (``pacte_years()``), created when missing."""
    years = pacte_years()
    found = PacteLocal.objects.filter(collectivite=collectivite, annee_debut=years[0]).first()
    if found is not None:
        return found
    pacte_local = PacteLocal(
        collectivite=collectivite,
        annee_debut=years[0],
        annee_fin=years[-1],
        intitule=intitule_pacte_local(collectivite),
    )
    try:
        save_validated(pacte_local, by=by)
    except ValidationError:
        # Another contract of the same collectivité created it meanwhile (the unique constraint).
        found = PacteLocal.objects.filter(collectivite=collectivite, annee_debut=years[0]).first()
        if found is None:
            raise
        return found
    return pacte_local


@transaction.atomic
def pacte_local_save(*, pacte_local: PacteLocal, by=None, version: int | None = None) -> PacteLocal:
    """Creates a collectivité's pacte local ahead of its first contract (for the Pacte's period, with the
    default title when none is given), or changes its title; its collectivité and its period are fixed."""
    if pacte_local.pk is None:
        years = pacte_years()
        pacte_local.annee_debut, pacte_local.annee_fin = years[0], years[-1]
        if pacte_local.collectivite_id and not (pacte_local.intitule or "").strip():
            pacte_local.intitule = intitule_pacte_local(pacte_local.collectivite)
    else:
        stored = (
            PacteLocal.objects.filter(pk=pacte_local.pk).values("collectivite_id", "annee_debut", "annee_fin").first()
        )
        if stored is not None and any(stored[name] != getattr(pacte_local, name) for name in stored):
            raise ValidationError(
                "Seul l'intitulé d'un pacte local se modifie : sa collectivité et sa période sont fixées."
            )
    pacte_local.intitule = (pacte_local.intitule or "").strip()
    save_validated(pacte_local, by=by, version=version)
    return pacte_local


def objectif_contrat_errors(objectif_contrat: ObjectifContrat) -> dict[str, str]:
    """An objective has a text and a rank from 1 (ranks may leave gaps: 10, 20, 30)."""
    errors = {}
    if objectif_contrat.ordre is not None and objectif_contrat.ordre < 1:
        errors["ordre"] = "Le rang d'un objectif commence à 1."
    if not (objectif_contrat.libelle or "").strip():
        errors["libelle"] = "Écrivez l'objectif."
    return errors


@transaction.atomic
def objectif_contrat_save(*, objectif_contrat: ObjectifContrat, by=None, version: int | None = None) -> ObjectifContrat:
    """Creates or changes one of the contract's objectives (contractual: before signature; after it, by
    avenant). Without a rank, the objective goes after the others."""
    objectif = objectif_contrat
    ensure_modifiable(objectif.contrat)
    if objectif.ordre is None:
        objectif.ordre = (objectif.contrat.objectifs.aggregate(m=Max("ordre"))["m"] or 0) + 1
    objectif.libelle = (objectif.libelle or "").strip()
    errors = objectif_contrat_errors(objectif)
    if errors:
        raise ValidationError(errors)
    save_validated(objectif, by=by, version=version)
    return objectif


@transaction.atomic
def objectif_contrat_delete(*, objectif_contrat: ObjectifContrat, by=None, version: int | None = None) -> None:
    """Removes an objective of a contract that is not signed."""
    ensure_modifiable(objectif_contrat.contrat)
    delete_validated(objectif_contrat, by=by, version=version)


def libelle_axe_errors(libelle_axe: LibelleAxe) -> dict[str, str]:
    """A local label words an axis that the contract carries."""
    contrat = libelle_axe.contrat
    if libelle_axe.axe_id and not contrat.axes.filter(pk=libelle_axe.axe_id).exists():
        numeros = ", ".join(str(n) for n in contrat.axes.order_by("numero").values_list("numero", flat=True))
        return {
            "axe": f"L'axe {libelle_axe.axe.numero} n'est pas un axe du contrat {contrat.reference} "
            f"(axes {numeros or 'aucun'})."
        }
    if not (libelle_axe.libelle or "").strip():
        return {"libelle": "Écrivez l'intitulé local de l'axe."}
    return {}


@transaction.atomic
def libelle_axe_save(*, libelle_axe: LibelleAxe, by=None, version: int | None = None) -> LibelleAxe:
    """Creates or changes the contract's own wording of one of its axes (contractual)."""
    ensure_modifiable(libelle_axe.contrat)
    libelle_axe.libelle = (libelle_axe.libelle or "").strip()
    errors = libelle_axe_errors(libelle_axe)
    if errors:
        raise ValidationError(errors)
    save_validated(libelle_axe, by=by, version=version)
    return libelle_axe


@transaction.atomic
def libelle_axe_delete(*, libelle_axe: LibelleAxe, by=None, version: int | None = None) -> None:
    """Removes a local label (the national label is printed again), before signature."""
    ensure_modifiable(libelle_axe.contrat)
    delete_validated(libelle_axe, by=by, version=version)


#: What ``avenant_propose_contenu`` changes, and how a modification names it.
CHAMPS_CONTENU = {
    "preambule": "préambule",
    "diagnostic": "diagnostic",
    "objectifs": "objectifs",
    "libelles_axes": "intitulés locaux des axes",
}


def _objectifs_apres(value) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ValidationError({"objectifs": "Les objectifs sont une liste de textes, dans leur ordre."})
    objectifs = [v.strip() for v in value]
    errors = []
    for rang, libelle in enumerate(objectifs, start=1):
        if not libelle:
            errors.append(f"Objectif n° {rang} : écrivez l'objectif.")
        errors += _field_errors(ObjectifContrat, "libelle", libelle, prefix=f"Objectif n° {rang} : ")
    if errors:
        raise ValidationError({"objectifs": errors})
    return objectifs


def _numero_axe(key) -> int | None:
    """An axis number given as an int or as ASCII digits (JSON keys are strings)."""
    if isinstance(key, int) and not isinstance(key, bool):
        return key
    if isinstance(key, str) and key.isascii() and key.isdigit() and len(key) <= 4:
        return int(key)
    return None


def _libelles_axes_apres(contrat: Contrat, value) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValidationError({"libelles_axes": "Les intitulés locaux vont par numéro d'axe."})
    numeros = set(contrat.axes.values_list("numero", flat=True))
    apres, errors = {}, []
    for key, libelle in value.items():
        numero = _numero_axe(key)
        if numero is None or numero not in numeros:
            errors.append(
                f"L'axe {key} n'est pas un axe du contrat {contrat.reference} "
                f"(axes {', '.join(map(str, sorted(numeros))) or 'aucun'})."
            )
            continue
        if libelle is not None and not isinstance(libelle, str):
            errors.append(f"Axe {numero} : l'intitulé local est un texte (vide pour reprendre l'intitulé national).")
            continue
        libelle = (libelle or "").strip()
        errors += _field_errors(LibelleAxe, "libelle", libelle, prefix=f"Axe {numero} : ") if libelle else []
        apres[str(numero)] = libelle
    if errors:
        raise ValidationError({"libelles_axes": errors})
    return apres


def contenu_apres(contrat: Contrat, name: str, value):
    """The value an avenant stores for one part of the contract's content, checked and cleaned:
    rich text for the preamble and the diagnostic, the whole ordered list of objectives, and
    ``{axis number: label}`` for the local labels (an empty label goes back to the national one)."""
    if name in CHAMPS_TEXTE_RICHE:
        return _rich_text(name, value)
    if name == "objectifs":
        return _objectifs_apres(value)
    if name == "libelles_axes":
        return _libelles_axes_apres(contrat, value)
    raise ValidationError(f"Le champ « {name} » du contrat ne se modifie pas par avenant.")


@transaction.atomic
def avenant_propose_contenu(*, avenant: Avenant, champs: dict, by=None) -> list[ModificationAvenant]:
    """Proposes changes of a signed contract's content (``CHAMPS_CONTENU``), applied when the avenant is
    signed (``contrats.appliers.apply_contenu``). One modification per part; proposing a part again
    replaces the earlier proposal."""
    if not champs:
        raise ValidationError("L'avenant ne propose aucun changement du contenu du contrat.")
    unknown = sorted(set(champs) - set(CHAMPS_CONTENU))
    if unknown:
        raise ValidationError(f"Champs non modifiables par avenant : {', '.join(unknown)}.")
    contrat = avenant.contrat
    return [
        modification_add(
            avenant=avenant,
            nature=NatureModification.CONTENU,
            libelle=f"Contenu du contrat : {CHAMPS_CONTENU[name]}",
            cible={"champ": name},
            # Wrapped in a dict: an empty text or list would not be stored (``apres`` is required).
            apres={name: contenu_apres(contrat, name, value)},
            by=by,
        )
        for name, value in champs.items()
    ]


def avenant_propose_engagement(
    *, avenant: Avenant, organisation: Organisation, annee: int, montant, etp=None, en_nature: str = "", by=None
) -> ModificationAvenant:
    """Proposes a partner's commitment for a year (new, or replacing the signed one), applied when the
    avenant is signed (``contrats.appliers.apply_engagement``); checked now by the same rules as an entry
    before signature (``engagement_partenaire_errors``)."""
    from decimal import Decimal

    draft = EngagementPartenaire(
        contrat=avenant.contrat,
        organisation=organisation,
        annee=annee,
        montant=montant,
        etp=etp,
        en_nature=en_nature,
    )
    errors = engagement_partenaire_errors(engagement_partenaire=draft, by=by)
    if errors:
        raise ValidationError(errors)
    draft.full_clean(exclude=["contrat"], validate_unique=False, validate_constraints=False)
    return modification_add(
        avenant=avenant,
        nature=NatureModification.ENGAGEMENT,
        libelle=f"Engagement de {organisation.nom}, {annee}",
        cible={"organisation": organisation.pk, "annee": annee},
        apres={
            "montant": str(Decimal(draft.montant)),
            "etp": None if draft.etp is None else str(draft.etp),
            "en_nature": draft.en_nature,
        },
        by=by,
    )


@transaction.atomic
def modification_delete(*, modification: ModificationAvenant, by=None, version: int | None = None) -> None:
    """Removes a change proposed by an avenant that is still a draft (the contract's lock first, then the
    avenant's, as every contractual writer); a stale page (``version``) is refused."""
    lock_contrat(modification.avenant.contrat_id)
    ensure_avenant_modifiable(modification.avenant)
    delete_validated(modification, by=by, version=version)
