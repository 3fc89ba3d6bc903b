"""Reads of the money that are more than a filter: totals the dashboards and exports show.

Sums are done by the database, in one query whatever the number of lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, F, Q, Sum, Value
from django.db.models.functions import Coalesce

from financement.enums import TypeFinanceur
from pacte.models import natural_sort_key
from pacte.money import ZERO

CHAMPS = ("prevu", "engage", "realise")

# Where an action sits in the Pacte's reference list: kept apart in every total, so that a "total by
# measure" never silently drops the actions that serve an objective without a national measure.
MESURE_NATIONALE = "mesure nationale"
OBJECTIF_SEUL = "objectif seul"
MESURE_LOCALE = "mesure locale"
NON_RATTACHEE = "non rattachée"
RATTACHEMENTS = (MESURE_NATIONALE, OBJECTIF_SEUL, MESURE_LOCALE, NON_RATTACHEE)


@dataclass(frozen=True)
class TotalRattachement:
    """The State's and every funder's amounts of the actions filed at one place of the reference list."""

    axe: int
    axe_libelle: str
    objectif: str | None  # code of the objective (the fiche's, else its national measure's)
    objectif_intitule: str | None
    mesure: str | None  # code of the national measure
    mesure_intitule: str | None
    mesure_locale: str  # label of the local measure ("" when there is none)
    rattachement: str  # one of RATTACHEMENTS
    etat: Decimal
    total: Decimal


def rattachement(*, mesure: str | None, mesure_locale: str, objectif: str | None) -> str:
    """A national measure, else a local measure, else an objective only, else nothing."""
    if mesure:
        return MESURE_NATIONALE
    if mesure_locale:
        return MESURE_LOCALE
    if objectif:
        return OBJECTIF_SEUL
    return NON_RATTACHEE


def _ordre(total: TotalRattachement) -> tuple:
    # Per axis and objective (none last): national measures in natural order, then the objective alone,
    # then local measures by label; actions filed nowhere close the axis.
    return (
        total.axe,
        total.objectif is None,
        natural_sort_key(total.objectif or ""),
        RATTACHEMENTS.index(total.rattachement),
        natural_sort_key(total.mesure or ""),
        total.mesure_locale.casefold(),
    )


def totaux_par_rattachement(lignes, *, champ: str = "prevu") -> list[TotalRattachement]:
    """Sums ``champ`` (``prevu``, ``engage`` or ``realise``) of the funding lines ``lignes`` (a QuerySet of
    ``LigneFinancement``, already scoped and filtered by the caller: perimeter, years, statuses) per axis,
    objective, national measure and local measure, in one query.

    The objective of an action is its own, else its national measure's (rows written outside the
    services may lack it). Each total says whether it is a national measure's, an objective's only, a
    local measure's or that of actions filed nowhere (``rattachement``).
    """
    if champ not in CHAMPS:
        raise ValueError(f"Montant inconnu : « {champ} » (prevu, engage ou realise).")
    money = DecimalField(max_digits=16, decimal_places=2)

    def somme(condition=None):
        return Coalesce(Sum(champ, filter=condition), Value(ZERO), output_field=money)

    rows = (
        lignes.annotate(
            _objectif=Coalesce(F("fiche__objectif__code"), F("fiche__mesure__objectif__code")),
            _objectif_intitule=Coalesce(F("fiche__objectif__intitule"), F("fiche__mesure__objectif__intitule")),
        )
        .values(
            "fiche__axe__numero",
            "fiche__axe__intitule_court",
            "_objectif",
            "_objectif_intitule",
            "fiche__mesure__code",
            "fiche__mesure__intitule",
            "fiche__mesure_locale",
        )
        .annotate(etat=somme(Q(type_financeur=TypeFinanceur.ETAT)), total=somme())
        .order_by()
    )
    totaux = [
        TotalRattachement(
            axe=row["fiche__axe__numero"],
            axe_libelle=row["fiche__axe__intitule_court"],
            objectif=row["_objectif"],
            objectif_intitule=row["_objectif_intitule"],
            mesure=row["fiche__mesure__code"],
            mesure_intitule=row["fiche__mesure__intitule"],
            mesure_locale=row["fiche__mesure_locale"] or "",
            rattachement=rattachement(
                mesure=row["fiche__mesure__code"],
                mesure_locale=row["fiche__mesure_locale"] or "",
                objectif=row["_objectif"],
            ),
            etat=row["etat"],
            total=row["total"],
        )
        for row in rows
    ]
    return sorted(totaux, key=_ordre)
