"""What ``actions`` adds to contract signature, and how an avenant changes fiches and targets."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.core.exceptions import ValidationError

from actions.enums import STATUTS_ACTIFS, TRANSITIONS_FICHE, StatutFiche
from actions.models import CHAMPS_CONTRACTUELS, FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import NatureModification
from contrats.models import Contrat, RegleTypeContrat, Volet
from pacte import hooks
from pacte.models import Axe, Mesure, Objectif, Organisation
from pacte.services import save_validated
from pacte.workflow import check_transition


@hooks.register_check(hooks.CONTRAT_SIGNATURE)
def fiches_signables(contrat: Contrat) -> list[str]:
    """Every active fiche is validated, has what validation requires (a reinforced action is justified) and is
    consistent with the contract; a métropole CLS covers every axis."""
    errors: list[str] = []
    from actions.services import fiche_errors, fiche_validation_errors

    fiches = list(
        contrat.fiches.filter(statut__in=STATUTS_ACTIFS).select_related(
            "contrat", "axe", "mesure__axe", "mesure__objectif", "objectif__axe", "volet"
        )
    )
    if not fiches:
        return [f"Le contrat {contrat.reference} ne contient aucune fiche action."]
    for fiche in fiches:
        if fiche.statut == StatutFiche.PROPOSEE:
            errors.append(f"Fiche {fiche.code} : elle n'est pas validée.")
        found = {**fiche_errors(fiche), **fiche_validation_errors(fiche)}
        errors += [f"Fiche {fiche.code} : {msg}" for msg in found.values()]
    regle = RegleTypeContrat.objects.filter(type_contrat=contrat.type_contrat).first()
    if regle and regle.chaque_axe_requis:
        covered = {f.axe.numero for f in fiches}
        for axe in contrat.axes.order_by("numero"):
            if axe.numero not in covered:
                errors.append(f"Axe {axe.numero} ({axe.intitule_court}) : aucune action, il en faut au moins une.")
    return errors


# --- Avenants: serialising fiche fields to JSON and back -------------------------------------------

_FK = {
    "axe": (Axe, "numero"),
    "mesure": (Mesure, "code"),
    "objectif": (Objectif, "code"),
    "porteur": (Organisation, "pk"),
}


def to_json(name: str, value):
    """A fiche field's value as JSON: natural keys for foreign keys, ISO dates, decimals as strings."""
    if value is None:
        return None
    if name in _FK:
        return getattr(value, _FK[name][1])
    if name == "volet":
        return value.numero
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def from_json(name: str, value, contrat: Contrat):
    if value is None:
        return None
    if name in _FK:
        model, key = _FK[name]
        return model.objects.get(**{key: value})
    if name == "volet":
        return Volet.objects.get(contrat=contrat, numero=value)
    if name in ("date_debut", "date_fin"):
        return date.fromisoformat(value)
    if name == "etp":
        return Decimal(value)
    return value


def _fiche(contrat: Contrat, code: str) -> FicheAction:
    try:
        return FicheAction.objects.get(contrat=contrat, code=code)
    except FicheAction.DoesNotExist:
        raise ValidationError(f"La fiche {code} n'existe pas dans le contrat {contrat.reference}.") from None


def _check(fiche: FicheAction, *, objectif_donne: bool = True) -> None:
    """The fiche an avenant changes or adds follows the rules of an entry (its objective follows its measure)."""
    from actions.services import fiche_errors, fill_objectif

    fill_objectif(fiche, given=objectif_donne)
    errors = fiche_errors(fiche)
    if errors:
        raise ValidationError({k: f"Fiche {fiche.code} : {v}" for k, v in errors.items()})


def _suites(fiche: FicheAction) -> None:
    """What a fiche's write lends to financement (``actions.services.SUITES_FICHE``: the dashboards' summary)."""
    from actions.services import suites_fiche

    suites_fiche(fiche)


@hooks.register_applier(NatureModification.FICHE)
def apply_fiche(modification, *, by=None) -> dict:
    contrat = modification.avenant.contrat
    fiche = _fiche(contrat, modification.cible["fiche"])
    avant = {}
    for name, value in modification.apres.items():
        if name == "statut" and value == StatutFiche.ABANDONNEE:  # a withdrawal (avenant_propose_fiche_retrait)
            check_transition(
                sujet=f"La fiche {fiche.code}",
                genre="de fiche",
                statuts=StatutFiche,
                transitions=TRANSITIONS_FICHE,
                current=fiche.statut,
                to=value,
            )
            avant[name], fiche.statut = fiche.statut, value
            continue
        if name not in CHAMPS_CONTRACTUELS:
            raise ValidationError(f"Le champ « {name} » d'une fiche ne se modifie pas par avenant.")
        avant[name] = to_json(name, getattr(fiche, name))
        setattr(fiche, name, from_json(name, value, contrat))
    _check(fiche, objectif_donne="objectif" in modification.apres)
    save_validated(fiche, by=by)
    _suites(fiche)
    return avant


@hooks.register_applier(NatureModification.FICHE_AJOUT)
def apply_fiche_ajout(modification, *, by=None) -> None:
    contrat = modification.avenant.contrat
    values = {name: from_json(name, v, contrat) for name, v in modification.apres.items() if name != "code"}
    fiche = FicheAction(contrat=contrat, code=modification.cible["fiche"], statut=StatutFiche.VALIDEE, **values)
    _check(fiche, objectif_donne="objectif" in values)
    save_validated(fiche, by=by)
    _suites(fiche)
    return None


@hooks.register_applier(NatureModification.CIBLE)
def apply_cible(modification, *, by=None):
    contrat = modification.avenant.contrat
    fiche = _fiche(contrat, modification.cible["fiche"])
    indicateur = Indicateur.objects.get(fiche=fiche, pk=modification.cible["indicateur"])
    annee = modification.cible["annee"]
    valeur = ValeurIndicateur.objects.filter(indicateur=indicateur, annee=annee).first() or ValeurIndicateur(
        indicateur=indicateur, annee=annee
    )
    avant = {"cible": to_json("cible", valeur.cible)}
    apres = modification.apres["cible"]
    valeur.cible = None if apres is None else Decimal(apres)
    save_validated(valeur, by=by)
    return avant
