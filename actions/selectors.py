"""Reads on fiches that are more than a filter."""

from __future__ import annotations

from django.db import connection

from actions.models import FicheAction

#: A lineage longer than this is a loop in the data (each renewal is a year: the Pacte has four).
MAX_GENERATIONS = 50


def fiche_lineage(fiche: FicheAction) -> list[FicheAction]:
    """The history of an action across renewals: the fiches it takes up (``origine``, then the origin's
    origin…), oldest first, ending with ``fiche`` itself; each with its contract loaded.

    Two queries whatever the number of generations: a recursive query walks up the ``origine`` links
    (``WITH RECURSIVE``, on PostgreSQL and SQLite alike), then one query reads those fiches and their
    contracts. The origins of a fiche are fiches of its collectivité's earlier contracts, so the
    caller's scoping of ``fiche`` covers them.
    """
    if fiche.origine_id is None:
        return [fiche]
    table = connection.ops.quote_name(FicheAction._meta.db_table)
    pk = connection.ops.quote_name(FicheAction._meta.pk.column)
    origine = connection.ops.quote_name(FicheAction._meta.get_field("origine").column)
    sql = (
        f"WITH RECURSIVE lignee(fiche_id, generation) AS ("
        f" SELECT {origine}, 1 FROM {table} WHERE {pk} = %s"
        f" UNION ALL"
        f" SELECT f.{origine}, l.generation + 1 FROM {table} f JOIN lignee l ON f.{pk} = l.fiche_id"
        f" WHERE f.{origine} IS NOT NULL AND l.generation < %s"
        f") SELECT fiche_id, generation FROM lignee WHERE fiche_id IS NOT NULL"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [fiche.pk, MAX_GENERATIONS])
        generations = dict(cursor.fetchall())
    origins = FicheAction.objects.filter(pk__in=generations).select_related("contrat")
    ordered = sorted(origins, key=lambda origin: -generations[origin.pk])
    return [*ordered, fiche]
