"""How an avenant changes the contract's own content (nature ``contenu``), applied when it is signed.

Registered in ``pacte.hooks`` like the appliers of ``actions`` and ``financement`` (their
``checks.py``); imported by ``ContratsConfig.ready``. Each applier returns the value before, which
the avenant keeps next to the value after.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from contrats.enums import NatureModification
from contrats.models import EngagementPartenaire, LibelleAxe, ObjectifContrat
from contrats.services import CHAMPS_TEXTE_RICHE, contenu_apres
from pacte import hooks
from pacte.services import delete_validated, save_validated


def _objectifs(contrat, objectifs: list[str], *, by) -> list[str]:
    """Replaces the ordered list of objectives, ranked 1, 2, 3…; rows are kept where they can be, so
    each objective's history goes on."""
    existing = list(ObjectifContrat.objects.filter(contrat=contrat).order_by("ordre", "pk"))
    avant = [o.libelle for o in existing]
    for objectif in existing[len(objectifs) :]:
        delete_validated(objectif, by=by)
    # Ranks are distinct and at least 1, in ascending order: existing[i].ordre >= i + 1, so giving
    # rank i + 1 in this order never takes a rank that a later row still holds.
    for rang, libelle in enumerate(objectifs, start=1):
        if rang <= len(existing):
            objectif = existing[rang - 1]
            if (objectif.ordre, objectif.libelle) == (rang, libelle):
                continue
            objectif.ordre, objectif.libelle = rang, libelle
        else:
            objectif = ObjectifContrat(contrat=contrat, ordre=rang, libelle=libelle)
        save_validated(objectif, by=by)
    return avant


def _libelles_axes(contrat, libelles: dict[str, str], *, by) -> dict[str, str | None]:
    """Sets (or, for an empty label, removes) the local label of each axis named."""
    axes = {axe.numero: axe for axe in contrat.axes.all()}
    rows = {row.axe.numero: row for row in LibelleAxe.objects.filter(contrat=contrat).select_related("axe")}
    avant = {}
    for key, libelle in libelles.items():
        numero = int(key)
        row = rows.get(numero)
        avant[key] = row.libelle if row else None
        if not libelle:
            if row is not None:
                delete_validated(row, by=by)
            continue
        row = row or LibelleAxe(contrat=contrat, axe=axes[numero])
        row.libelle = libelle
        save_validated(row, by=by)
    return avant


@hooks.register_applier(NatureModification.CONTENU)
def apply_contenu(modification, *, by=None):
    """Applies one part of the content (``cible["champ"]``); the value is checked and cleaned again, as
    the contract is now (an axis may have gone since the proposal)."""
    contrat = modification.avenant.contrat
    name = modification.cible.get("champ")
    stored = modification.apres if isinstance(modification.apres, dict) else {}
    apres = contenu_apres(contrat, name, stored.get(name))
    if name in CHAMPS_TEXTE_RICHE:
        avant = getattr(contrat, name)
        setattr(contrat, name, apres)
        save_validated(contrat, by=by)
        return avant
    if name == "objectifs":
        return _objectifs(contrat, apres, by=by)
    if name == "libelles_axes":
        return _libelles_axes(contrat, apres, by=by)
    raise ValidationError(f"Le champ « {name} » du contrat ne se modifie pas par avenant.")


@hooks.register_applier(NatureModification.ENGAGEMENT)
def apply_engagement(modification, *, by=None) -> dict | None:
    """Creates or replaces a partner's commitment for a year; returns the one it replaces."""
    from decimal import Decimal

    contrat = modification.avenant.contrat
    cible, apres = modification.cible, modification.apres
    engagement = EngagementPartenaire.objects.filter(
        contrat=contrat, organisation_id=cible["organisation"], annee=cible["annee"]
    ).first() or EngagementPartenaire(contrat=contrat, organisation_id=cible["organisation"], annee=cible["annee"])
    avant = (
        {
            "montant": str(engagement.montant),
            "etp": None if engagement.etp is None else str(engagement.etp),
            "en_nature": engagement.en_nature,
        }
        if engagement.pk
        else None
    )
    engagement.montant = Decimal(apres["montant"])
    engagement.etp = None if apres["etp"] is None else Decimal(apres["etp"])
    engagement.en_nature = apres["en_nature"]
    save_validated(engagement, by=by)
    return avant
