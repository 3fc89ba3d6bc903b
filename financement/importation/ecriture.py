"""Writing a plan through the services, all or nothing; the trial run of the preview; the report the pages and the
command show."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import CheckConstraint

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction, Indicateur
from actions.services import (
    fiche_create,
    fiche_update,
    indicateur_create,
    indicateur_save,
    indicateur_set_cible,
    indicateur_set_realise,
)
from contrats.models import Contrat
from financement.importation.lecture import Erreur, FeuilleLue, Position
from financement.importation.plan import FichePrevue, Plan, afficher, planifier
from financement.models import LigneFinancement
from financement.regles import parite_violations, plafond_violations
from financement.services import ligne_financement_set
from financement.synthese import synthese_differee

# --- Writing ------------------------------------------------------------------------------------------------------


class _Annuler(Exception):
    """Rolls the preview's writes back."""


def _champs_de_condition(condition) -> list[str]:
    """The fields a check constraint's condition reads (``etp__gte`` → ``etp``)."""
    champs = []
    for enfant in getattr(condition, "children", ()):
        if isinstance(enfant, tuple):
            champs.append(enfant[0].split("__")[0])
        else:
            champs.extend(_champs_de_condition(enfant))
    return champs


def _erreurs_service(
    error: ValidationError,
    positions: dict[str, Position],
    defaut: Position,
    prefixe: str,
    *,
    model=None,
    changes: tuple[str, ...] = (),
):
    """A service's refusal, each message at the cell of its field. A message on no field (a check constraint of the
    model) goes to the cell of a field its constraint reads, preferably one the row changes; else, when the row
    changes one cell only, to that cell; else to the row."""
    seul = positions.get(changes[0]) if len(changes) == 1 else None
    contraintes = {}
    for constraint in getattr(getattr(model, "_meta", None), "constraints", ()):
        if isinstance(constraint, CheckConstraint):
            contraintes[str(constraint.violation_error_message)] = _champs_de_condition(constraint.condition)

    def position_de(champ: str, message: str) -> Position:
        if champ in positions:
            return positions[champ]
        champs = [c for c in contraintes.get(message, ()) if c in positions]
        champs.sort(key=lambda c: c not in changes)
        return positions[champs[0]] if champs else (seul or defaut)

    if hasattr(error, "error_dict"):
        for champ, messages in error.message_dict.items():
            for message in messages:
                yield Erreur(position_de(champ, message), f"{prefixe}{message}")
    else:
        for message in error.messages:
            yield Erreur(position_de(NON_FIELD_ERRORS, message), f"{prefixe}{message}")


def appliquer(plan: Plan, user, progression: Callable[[int, int], None] | None = None) -> list[Erreur]:
    """Writes the plan through the services, inside the caller's transaction; returns the services' refusals (the
    caller rolls back when there is one). Rows whose fiche failed are skipped (their error is the fiche's)."""
    erreurs: list[Erreur] = []
    total, fait = max(plan.operations, 1), 0

    def avancer():
        nonlocal fait
        fait += 1
        if progression is not None and (fait % 25 == 0 or fait == total):
            progression(fait, total)

    fiches: dict[str, FicheAction | None] = dict(plan.existantes)
    for code, prevue in plan.fiches.items():
        fiches[code] = prevue.fiche
        if prevue.action == "inchangee":
            continue
        positions = {cle: position for cle, (_, position) in prevue.valeurs.items()}
        try:
            if prevue.fiche is None:
                champs = {cle: valeur for cle, (valeur, _) in prevue.valeurs.items()}
                if champs.get("territoire_departement_entier") is None:
                    champs.pop("territoire_departement_entier", None)
                fiches[code] = fiche_create(contrat=plan.contrat, by=user, code=code, **champs)
            else:
                champs = {c.cle: c.apres for c in prevue.changements}
                fiches[code] = fiche_update(fiche=prevue.fiche, by=user, version=prevue.fiche.version, **champs)
        except ValidationError as error:
            changes = tuple(c.cle for c in prevue.changements)
            erreurs.extend(
                _erreurs_service(
                    error, positions, prevue.position, f"Fiche {code} : ", model=FicheAction, changes=changes
                )
            )
            prevue.echec = True
            fiches[code] = None
        avancer()
    for ligne in plan.lignes:
        if ligne.action == "inchangee":
            continue
        fiche = fiches.get(ligne.code)
        if fiche is None:
            continue
        for montant in ligne.montants:
            if not montant.ecrire:
                continue
            positions = {champ: position for champ, (_, position) in montant.cellules.items()}
            try:
                ligne_financement_set(
                    fiche=fiche,
                    annee=ligne.annee,
                    type_financeur=montant.entete.type_financeur,
                    financeur=montant.financeur,
                    by=user,
                    **montant.ecrire,
                )
            except ValidationError as error:
                prefixe = f"Fiche {ligne.code}, {ligne.annee}, {montant.libelle} : "
                changes = tuple(montant.ecrire)
                erreurs.extend(
                    _erreurs_service(error, positions, ligne.position, prefixe, model=LigneFinancement, changes=changes)
                )
        avancer()
    for prevu in plan.indicateurs:
        if prevu.action == "inchangee":
            continue
        fiche = fiches.get(prevu.code)
        if fiche is None:
            continue
        positions = {cle: position for cle, (_, position) in prevu.valeurs.items()}
        prefixe = f"Indicateur « {prevu.nom} » de la fiche {prevu.code} : "
        try:
            indicateur = prevu.indicateur
            if indicateur is None:
                champs = dict(prevu.ecrire_champs)
                indicateur = indicateur_create(
                    fiche=fiche,
                    nom=prevu.nom,
                    type_indicateur=champs.pop("type_indicateur"),
                    unite=champs.pop("unite"),
                    by=user,
                    **champs,
                )
            elif prevu.ecrire_champs:
                for champ, valeur in prevu.ecrire_champs.items():
                    setattr(indicateur, champ, valeur)
                indicateur_save(indicateur=indicateur, by=user, version=indicateur.version)
        except ValidationError as error:
            changes = tuple(prevu.ecrire_champs)
            erreurs.extend(
                _erreurs_service(error, positions, prevu.position, prefixe, model=Indicateur, changes=changes)
            )
            avancer()
            continue
        for annee, champ, valeur, position in prevu.ecrire_annees:
            try:
                if champ == "cible":
                    indicateur_set_cible(indicateur=indicateur, annee=annee, cible=valeur, by=user)
                else:
                    indicateur_set_realise(indicateur=indicateur, annee=annee, realise=valeur, by=user)
            except ValidationError as error:
                erreurs.extend(
                    _erreurs_service(error, {champ: position, "annee": position}, position, prefixe, changes=(champ,))
                )
        avancer()
    return erreurs


def alertes(contrat: Contrat) -> list[str]:
    """What the entry page warns of, after the import: parity and ceilings (they block a fiche's validation and
    the signature, not the entry)."""
    actives = FicheAction.objects.filter(contrat=contrat, statut__in=STATUTS_ACTIFS)
    return [*parite_violations(actives), *plafond_violations(contrat)]


def apercu(feuilles: list[FeuilleLue], contrat: Contrat, user, progression=None) -> Plan:
    """The plan, with the services' refusals of a trial run rolled back, and the warnings it would leave."""
    plan = planifier(feuilles, contrat, user)
    if plan.erreurs or not plan.operations:
        return plan
    try:
        # The summary of the dashboards is not refreshed by a trial run: the block is left by an exception.
        with transaction.atomic(), synthese_differee():
            plan.erreurs.extend(appliquer(plan, user, progression))
            if not plan.erreurs:
                plan.alertes = alertes(contrat)
            raise _Annuler
    except _Annuler:
        pass
    return plan


class _Refus(Exception):
    """Leaves the import's transaction, rolling it back, with the plan to show and why."""

    def __init__(self, plan: Plan, bilan: str):
        super().__init__(bilan)
        self.plan, self.bilan = plan, bilan


def importer(feuilles: list[FeuilleLue], contrat: Contrat, user, *, empreinte: str | None = None, progression=None):
    """Plans again and writes, all or nothing: ``(plan, bilan)`` where ``bilan`` is ``"importe"`` (written),
    ``"refuse"`` (errors: nothing written) or ``"change"`` (the data changed since the preview whose ``empreinte``
    is given: nothing written, the new plan to show)."""
    try:
        with transaction.atomic():
            # The contract first (the lock order of every writer), held until the end: nobody writes in between.
            contrat = Contrat.objects.select_for_update().select_related("collectivite").get(pk=contrat.pk)
            plan = planifier(feuilles, contrat, user)
            if plan.erreurs:
                raise _Refus(plan, "refuse")
            if empreinte is not None and plan.empreinte() != empreinte:
                raise _Refus(plan, "change")
            with synthese_differee():
                erreurs = appliquer(plan, user, progression)
                if erreurs:
                    plan.erreurs.extend(erreurs)
                    raise _Refus(plan, "refuse")
    except _Refus as refus:
        return refus.plan, refus.bilan
    return plan, "importe"


# --- The report (what the preview page and the command show) -------------------------------------------------------


def rapport(plan: Plan) -> dict:
    """The plan as the preview shows it (JSON): per sheet, the rows to create, to change (each cell before → after)
    and unchanged; every error with its position; notes and warnings."""

    def ligne_fiche(prevue: FichePrevue) -> dict:
        intitule = prevue.valeurs.get("intitule", (prevue.fiche.intitule if prevue.fiche else "", None))[0]
        return {
            "code": prevue.code,
            "intitule": afficher(intitule) if intitule else "",
            **prevue.position.as_dict(),
            "changements": [c.as_dict() for c in prevue.changements],
        }

    fiches = list(plan.fiches.values())
    lignes = plan.lignes
    return {
        "contrat": plan.contrat.reference,
        "feuilles": plan.feuilles,
        "nb_lignes": plan.nb_lignes,
        "fiches": {
            "creer": [ligne_fiche(f) for f in fiches if f.action == "creer" and not f.echec],
            "modifier": [ligne_fiche(f) for f in fiches if f.action == "modifier"],
            "inchangees": [f.code for f in fiches if f.action == "inchangee"],
        },
        "financements": {
            "creer": [
                {
                    "code": x.code,
                    "annee": x.annee,
                    **x.position.as_dict(),
                    "changements": [c.as_dict() for c in x.changements],
                }
                for x in lignes
                if x.action == "creer"
            ],
            "modifier": [
                {
                    "code": x.code,
                    "annee": x.annee,
                    **x.position.as_dict(),
                    "changements": [c.as_dict() for c in x.changements],
                }
                for x in lignes
                if x.action == "modifier"
            ],
            "inchangees": [f"{x.code} {x.annee}" for x in lignes if x.action == "inchangee"],
        },
        "indicateurs": {
            "creer": [
                {
                    "code": i.code,
                    "nom": i.nom,
                    **i.position.as_dict(),
                    "changements": [c.as_dict() for c in i.changements],
                }
                for i in plan.indicateurs
                if i.action == "creer"
            ],
            "modifier": [
                {
                    "code": i.code,
                    "nom": i.nom,
                    **i.position.as_dict(),
                    "changements": [c.as_dict() for c in i.changements],
                }
                for i in plan.indicateurs
                if i.action == "modifier"
            ],
            "inchangees": [f"{i.code} – {i.nom}" for i in plan.indicateurs if i.action == "inchangee"],
        },
        "erreurs": [e.as_dict() for e in plan.erreurs],
        "notes": plan.notes,
        "alertes": plan.alertes,
        "empreinte": plan.empreinte(),
        "operations": plan.operations,
    }


def texte_rapport(donnees: dict) -> str:
    """The report in plain text (``importer_fiches``)."""
    sortie = [f"Contrat {donnees['contrat']} — {donnees['nb_lignes']} lignes lues : {', '.join(donnees['feuilles'])}"]
    for titre, cle in (("Fiches", "fiches"), ("Financements", "financements"), ("Indicateurs", "indicateurs")):
        bloc = donnees[cle]
        sortie.append(
            f"{titre} : {len(bloc['creer'])} à créer, {len(bloc['modifier'])} à modifier, "
            f"{len(bloc['inchangees'])} inchangées"
        )
        for ligne in bloc["creer"]:
            nom = ligne.get("intitule") or ligne.get("nom") or ligne.get("annee", "")
            sortie.append(f"  + {ligne['code']} {nom} (ligne {ligne['ligne']})")
        for ligne in bloc["modifier"]:
            quoi = f"{ligne['code']} {ligne.get('annee', '') or ligne.get('nom', '')}".strip()
            sortie.append(f"  ~ {quoi} (ligne {ligne['ligne']})")
            for c in ligne["changements"]:
                sortie.append(f"      {c['champ']} : {c['avant']} → {c['apres']} (colonne {c['colonne']})")
    for note in donnees["notes"]:
        sortie.append(f"Note : {note}")
    for alerte in donnees["alertes"]:
        sortie.append(f"Alerte (non bloquante) : {alerte}")
    if donnees["erreurs"]:
        sortie.append(f"{len(donnees['erreurs'])} erreur(s) : rien ne sera écrit.")
        for erreur in donnees["erreurs"]:
            sortie.append(
                "  ! "
                + str(
                    Erreur(
                        Position(erreur["feuille"], erreur["ligne"], erreur["colonne"], erreur["entete"]),
                        erreur["message"],
                    )
                )
            )
    return "\n".join(sortie)
