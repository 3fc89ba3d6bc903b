"""Writes on contracts: creation, workflow, signature, avenants, steering committees."""

from __future__ import annotations

from datetime import date

from django.core.exceptions import ValidationError
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
    ModificationAvenant,
    RegleTypeContrat,
    Signataire,
    Volet,
)
from pacte import hooks
from pacte.models import Axe, Collectivite, Organisation
from pacte.services import delete_validated, save_validated
from pacte.validators import normalize_identifier
from pacte.workflow import check_transition


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
) -> Contrat:
    """Creates a draft contract with the axes of its type (or the subset given)."""
    regle = regle_du_type(type_contrat)
    axes = list(regle.axes.all()) if axes is None else list(axes)
    errors = contrat_errors(collectivite=collectivite, type_contrat=type_contrat, axes=axes)
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
    )
    save_validated(contrat, by=by)
    contrat.axes.set(axes)
    return contrat


@transaction.atomic
def contrat_update(
    *, contrat: Contrat, by=None, version: int | None = None, axes: list[Axe] | None = None, **fields
) -> Contrat:
    """Changes a contract that is not signed yet (title, dates, axes)."""
    ensure_modifiable(contrat)
    allowed = {"titre", "date_debut", "date_fin"}
    unknown = set(fields) - allowed
    if unknown:
        raise ValidationError(f"Champs non modifiables ici : {', '.join(sorted(unknown))}.")
    for name, value in fields.items():
        setattr(contrat, name, value)
    if axes is not None:
        errors = contrat_errors(
            collectivite=contrat.collectivite, type_contrat=contrat.type_contrat, axes=list(axes), contrat=contrat
        )
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
    contractual data is frozen.
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
    """Raises unless the avenant is a draft; the status is read again, as in ``ensure_modifiable``."""
    avenant.statut = Avenant.objects.values_list("statut", flat=True).get(pk=avenant.pk)
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
    avenant = Avenant.objects.select_for_update().select_related("contrat").get(pk=avenant.pk)
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
