"""The renewal of an annual CDIE: the next year's contract, with its actions, indicators and money copied.

A 2024 CDIE is signed for one year; the next one takes up most of its actions. Renewing creates that
contract as a draft, copies each active fiche (with a link to the fiche it takes up, ``origine``, so
that an action's history spans the renewals: ``actions.selectors.fiche_lineage``), and everything
the fiches and the contract hold for the last year, moved to the new one. It lives in
``financement``, the highest app it copies (funding lines and ceilings).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch

from actions.enums import STATUTS_ACTIFS, StatutFiche
from actions.models import FicheAction, Indicateur
from actions.services import fiche_errors, indicateur_create, indicateur_set_cible
from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Contrat, LibelleAxe, ObjectifContrat
from contrats.services import (
    contrat_create,
    libelle_axe_save,
    objectif_contrat_save,
    reference_par_defaut,
    volet_create,
)
from financement.models import LigneFinancement
from financement.services import ligne_financement_set, plafond_set
from financement.synthese import synthese_differee, synthese_refresh
from pacte.services import save_validated
from pacte.validators import pacte_years

#: A CDIE is renewed once it is signed (or later); a terminated one is not.
STATUTS_RENOUVELABLES = (StatutContrat.SIGNE, StatutContrat.EN_EXECUTION, StatutContrat.CLOS)

#: What a renewed fiche does not take from its origin: its identity, its contract, its place in the
#: workflow, and what is set for the new contract (code, volet, dates).
_NON_REPRIS = {"id", "uid", "contrat", "code", "code_tri", "statut", "origine", "volet", "date_debut", "date_fin"}
_NON_REPRIS |= {"version", "cree_le", "modifie_le"}


def renouvellement_errors(contrat: Contrat, annee: int) -> list[str]:
    """Why ``contrat`` cannot be renewed into a CDIE of ``annee``."""
    if contrat.type_contrat != TypeContrat.CDIE:
        return [
            f"Seul un CDIE se renouvelle d'une année sur l'autre ({contrat.reference} est un "
            f"{contrat.get_type_contrat_display()})."
        ]
    errors = []
    if contrat.statut not in STATUTS_RENOUVELABLES:
        errors.append(
            f"Seul un CDIE signé, en exécution ou clos se renouvelle ({contrat.reference} est "
            f"« {contrat.get_statut_display().lower()} »)."
        )
    suivant = Contrat.objects.filter(contrat_precedent=contrat).values_list("reference", flat=True).first()
    if suivant is not None:
        errors.append(f"Le CDIE {contrat.reference} a déjà été renouvelé par {suivant}.")
    years = pacte_years()
    if annee <= contrat.date_fin.year:
        errors.append(
            f"Le renouvellement porte sur une année qui suit le contrat ({contrat.reference} va jusqu'en "
            f"{contrat.date_fin.year}, pas {annee})."
        )
    elif annee not in years:
        errors.append(f"L'année {annee} est hors de la période du Pacte ({years[0]}-{years[-1]}).")
    else:
        reference = reference_par_defaut(
            type_contrat=contrat.type_contrat, annee=annee, collectivite=contrat.collectivite
        )
        if Contrat.objects.filter(reference=reference).exists():
            errors.append(f"Le contrat {reference} existe déjà.")
    return errors


def _dernier(rows, annee_de) -> list:
    """The rows of the latest year among ``rows``."""
    if not rows:
        return []
    last = max(annee_de(row) for row in rows)
    return [row for row in rows if annee_de(row) == last]


def _fiche_reprise(fiche: FicheAction, contrat: Contrat, volets: dict, by) -> FicheAction:
    values = {
        field.attname: getattr(fiche, field.attname)
        for field in FicheAction._meta.concrete_fields
        if field.name not in _NON_REPRIS
    }
    reprise = FicheAction(
        contrat=contrat,
        code=fiche.code,
        statut=StatutFiche.PROPOSEE,
        origine=fiche,
        volet=volets.get(fiche.volet.numero) if fiche.volet_id else None,
        date_debut=contrat.date_debut,
        date_fin=contrat.date_fin,
        **values,
    )
    errors = fiche_errors(reprise)
    if errors:
        raise ValidationError([f"Fiche {fiche.code} : {message}" for message in errors.values()])
    save_validated(reprise, by=by)
    return reprise


@transaction.atomic
@synthese_differee()  # the new CDIE's dashboards summary once, at the end, not after each line copied
def contrat_renew(*, contrat: Contrat, by, annee: int | None = None) -> Contrat:
    """Creates the CDIE of the year after ``contrat`` (``annee`` by default: the year after its end) and
    copies into it what the renewed one holds.

    - the contract: ``CDIE-<année>-<collectivité>``, draft, 1 January to 31 December, same collectivité,
      pacte local, title, axes, volets, preamble, diagnostic, objectives and local axis labels, and
      ``contrat_precedent`` = the renewed one;
    - each active fiche (not abandoned): same code and content, status « proposée », ``origine`` = the
      fiche it takes up, dates = the new year, volet = the new volet of the same number;
    - its indicators, each with the target of its last year that has one as the new year's target;
    - its funding lines of its last year, planned amounts only, moved to the new year;
    - the State's ceilings of the last year (of the contract and of each volet), moved to the new year.

    Refused unless ``contrat`` is a CDIE signed, in execution or closed, not renewed yet
    (:func:`renouvellement_errors`); the renewed contract does not change. Everything is written
    through the services, in one transaction: a refusal leaves nothing behind.
    """
    # Only the contract's row is locked (PostgreSQL refuses FOR UPDATE on the nullable side of the pacte
    # local's outer join); a second renewal waits here, then finds the first one.
    source = (
        Contrat.objects.select_for_update(of=("self",)).select_related("collectivite", "pacte_local").get(pk=contrat.pk)
    )
    if annee is None:
        annee = source.date_fin.year + 1
    if isinstance(annee, bool) or not isinstance(annee, int):
        raise ValidationError({"annee": "Saisissez une année (ex. 2025)."})
    errors = renouvellement_errors(source, annee)
    if errors:
        raise ValidationError([f"Le contrat {source.reference} ne peut pas être renouvelé :", *errors])

    nouveau = contrat_create(
        collectivite=source.collectivite,
        type_contrat=source.type_contrat,
        date_debut=date(annee, 1, 1),
        date_fin=date(annee, 12, 31),
        titre=source.titre,
        axes=list(source.axes.all()),
        preambule=source.preambule,
        diagnostic=source.diagnostic,
        pacte_local=source.pacte_local,
        contrat_precedent=source,
        by=by,
    )
    volets = {
        volet.numero: volet_create(contrat=nouveau, numero=volet.numero, intitule=volet.intitule, by=by)
        for volet in source.volets.order_by("numero")
    }
    for objectif in ObjectifContrat.objects.filter(contrat=source).order_by("ordre"):
        objectif_contrat_save(
            objectif_contrat=ObjectifContrat(contrat=nouveau, ordre=objectif.ordre, libelle=objectif.libelle), by=by
        )
    for libelle in LibelleAxe.objects.filter(contrat=source).select_related("axe"):
        libelle_axe_save(libelle_axe=LibelleAxe(contrat=nouveau, axe=libelle.axe, libelle=libelle.libelle), by=by)

    fiches = (
        FicheAction.objects.filter(contrat=source, statut__in=STATUTS_ACTIFS)
        .select_related("volet")
        .prefetch_related(
            Prefetch("indicateurs", queryset=Indicateur.objects.prefetch_related("valeurs").order_by("pk")),
            Prefetch("financements", queryset=LigneFinancement.objects.select_related("financeur").order_by("pk")),
        )
        .order_by("code_tri", "pk")
    )
    for fiche in fiches:
        reprise = _fiche_reprise(fiche, nouveau, volets, by)
        for indicateur in fiche.indicateurs.all():
            copie = indicateur_create(
                fiche=reprise,
                nom=indicateur.nom,
                type_indicateur=indicateur.type_indicateur,
                unite=indicateur.unite,
                valeur_reference=indicateur.valeur_reference,
                source=indicateur.source,
                by=by,
            )
            cibles = _dernier([v for v in indicateur.valeurs.all() if v.cible is not None], lambda v: v.annee)
            if cibles:
                indicateur_set_cible(indicateur=copie, annee=annee, cible=cibles[0].cible, by=by)
        for ligne in _dernier(list(fiche.financements.all()), lambda ligne: ligne.annee):
            ligne_financement_set(
                fiche=reprise,
                annee=annee,
                type_financeur=ligne.type_financeur,
                financeur=ligne.financeur,
                prevu=ligne.prevu,
                by=by,
            )

    plafonds = defaultdict(list)
    for plafond in source.plafonds.select_related("volet"):
        plafonds[plafond.volet.numero if plafond.volet_id else None].append(plafond)
    for numero, rows in sorted(plafonds.items(), key=lambda item: item[0] or 0):
        for plafond in _dernier(rows, lambda p: p.annee):
            plafond_set(
                contrat=nouveau,
                annee=annee,
                montant=plafond.montant,
                volet=volets[numero] if numero is not None else None,
                by=by,
            )
    synthese_refresh(nouveau.pk)  # its fiches count even without lines
    return nouveau
