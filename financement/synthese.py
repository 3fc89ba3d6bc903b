"""The summary the dashboards read (``SyntheseFinancement``), kept up to date on every write.

Summing the funding lines of a région or of the nation on each page would cost what the bare aggregate
costs (about 20 ms on the national demo, 120 ms with ten times its lines, on PostgreSQL). The lines of one
contract are summed instead when they change, per place in the reference list (axis, objective, national or
local measure), fiche status, year and kind of funder, and the dashboards add up these few rows.

:func:`synthese_refresh` recomputes one contract's rows, in the transaction of the write that changed them:
one grouped read of its fiches and lines, the cofinancing rules, a ``DELETE`` and one ``INSERT`` (four queries,
whatever the contract holds). It is called, and named, where the writes happen:

- ``financement.services``: ``ligne_financement_set``, ``ligne_financement_save``, ``ligne_financement_delete``,
  ``regle_cofinancement_save`` and ``_delete`` (every contract of the type: the parity breaches follow the rule);
- ``financement.checks``: ``apply_prevu`` (an avenant's planned amount), and ``synthese_de_la_fiche``, the
  handler of ``pacte.hooks.FICHE_MODIFIEE`` that ``actions`` runs (``actions.services.SUITES_FICHE``) after
  ``fiche_create``, ``fiche_update``, ``fiche_delete``, ``fiche_transition`` and the avenant's
  ``apply_fiche`` / ``apply_fiche_ajout`` — ``actions`` sits below ``financement`` and cannot call it;
- ``financement.renouvellement.contrat_renew`` (the new CDIE, once, through :func:`synthese_differee`);
- the demo (``demo.builder.DemoBuilder.run``) and ``manage.py synthese_rebuild``: every contract
  (:func:`synthese_rebuild`), since they write with ``bulk_create``.

Whatever else writes lines or fiches without these services (a factory in a test, a bulk load) calls
:func:`synthese_rebuild` (or :func:`synthese_refresh` per contract) afterwards. What the summary does not
follow by itself: a national measure moved to another objective in the reference data (the objective of a fiche
is its own, else its measure's, read at refresh time) — ``synthese_rebuild`` after such a change. Labels
(axes, objectives, measures), territories and contract statuses are read through joins at query time, never
copied.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Count, Sum

from actions.models import FicheAction
from financement.enums import TypeFinanceur
from financement.models import SyntheseFinancement
from financement.regles import PREVU, REALISE, parite_messages, regle_pour, regles_par_type
from pacte.money import ZERO

#: Contracts refreshed per read when everything is rebuilt.
LOT = 200

_local = threading.local()


@dataclass
class _Groupe:
    """What one row of the summary adds up, before it is written."""

    prevu: Decimal = ZERO
    engage: Decimal = ZERO
    realise: Decimal = ZERO
    nb_lignes: int = 0
    fiches: set = field(default_factory=set)
    ruptures_prevu: set = field(default_factory=set)
    ruptures_realise: set = field(default_factory=set)


def _lignes(contrat_ids: Iterable[int]):
    """Every fiche of the contracts with its lines summed per year and kind of funder (a fiche without lines comes
    once, with no year): one grouped query."""
    return (
        FicheAction.objects.filter(contrat_id__in=list(contrat_ids))
        .values(
            "pk",
            "contrat_id",
            "statut",
            "axe_id",
            "objectif_id",
            "mesure_id",
            "mesure__objectif_id",
            "mesure_locale",
            "volet__numero",
            "contrat__type_contrat",
            "financements__annee",
            "financements__type_financeur",
        )
        .annotate(
            prevu=Sum("financements__prevu"),
            engage=Sum("financements__engage"),
            realise=Sum("financements__realise"),
            nb_lignes=Count("financements__pk"),
        )
        .order_by()
    )


def synthese_calculee(contrat_ids: Iterable[int]) -> list[tuple]:
    """The summary rows of the contracts ``contrat_ids`` computed from their fiches and lines, as tuples of
    ``COLONNES`` (two queries: the grouped read and the cofinancing rules)."""
    groupes: dict[tuple, _Groupe] = defaultdict(_Groupe)
    # Per fiche and year: (State, collectivité, every funder) planned and spent, for the parity rule.
    parite: dict[tuple[int, int], dict[str, list[Decimal]]] = {}
    fiches: dict[int, tuple] = {}
    for row in _lignes(contrat_ids):
        fiche = row["pk"]
        cle = (
            row["contrat_id"],
            row["axe_id"],
            row["objectif_id"] or row["mesure__objectif_id"],
            row["mesure_id"],
            row["mesure_locale"] or "",
            row["statut"],
        )
        fiches[fiche] = (cle, row["contrat__type_contrat"], row["volet__numero"])
        groupes[(*cle, None, "")].fiches.add(fiche)
        annee, financeur = row["financements__annee"], row["financements__type_financeur"]
        if annee is None:
            continue
        prevu, engage, realise = (row[name] or ZERO for name in ("prevu", "engage", "realise"))
        groupe = groupes[(*cle, annee, financeur)]
        groupe.prevu += prevu
        groupe.engage += engage
        groupe.realise += realise
        groupe.nb_lignes += row["nb_lignes"]
        groupe.fiches.add(fiche)
        sommes = parite.setdefault((fiche, annee), {PREVU: [ZERO, ZERO, ZERO], REALISE: [ZERO, ZERO, ZERO]})
        for champ, montant in ((PREVU, prevu), (REALISE, realise)):
            if financeur == TypeFinanceur.ETAT:
                sommes[champ][0] += montant
            elif financeur == TypeFinanceur.COLLECTIVITE:
                sommes[champ][1] += montant
            sommes[champ][2] += montant
    regles = regles_par_type() if parite else {}
    for (fiche, annee), sommes in parite.items():
        cle, type_contrat, volet = fiches[fiche]
        regle = regle_pour(regles, type_contrat, volet)
        for champ in (PREVU, REALISE):
            etat, collectivite, total = sommes[champ]
            # The rule's own decision (the wording of the messages is not needed here, only whether there is one).
            if parite_messages(
                annee=annee, etat=etat, collectivite=collectivite, total=total, regle=regle, partie="", champ=champ
            ):
                ruptures = groupes[(*cle, None, "")]
                (ruptures.ruptures_prevu if champ == PREVU else ruptures.ruptures_realise).add(fiche)
    return [
        (
            *cle,
            groupe.prevu,
            groupe.engage,
            groupe.realise,
            groupe.nb_lignes,
            len(groupe.fiches),
            len(groupe.ruptures_prevu),
            len(groupe.ruptures_realise),
        )
        for cle, groupe in groupes.items()
    ]


#: The columns of a summary row, in the order of :func:`synthese_calculee`'s tuples.
COLONNES = (
    "contrat_id",
    "axe_id",
    "objectif_id",
    "mesure_id",
    "mesure_locale",
    "statut_fiche",
    "annee",
    "type_financeur",
    "prevu",
    "engage",
    "realise",
    "nb_lignes",
    "nb_fiches",
    "nb_ruptures_prevu",
    "nb_ruptures_realise",
)


def _inserer(rows: list[tuple]) -> None:
    """Writes summary rows in one ``executemany``: the rows are computed here, never edited, and building a model
    instance for each would cost a national rebuild half its time."""
    if not rows:
        return
    qn = connection.ops.quote_name
    sql = (
        f"INSERT INTO {qn(SyntheseFinancement._meta.db_table)} ({', '.join(qn(c) for c in COLONNES)}) "
        f"VALUES ({', '.join(['%s'] * len(COLONNES))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def _recompute(contrat_ids: list[int]) -> None:
    # No savepoint of its own: the write that calls it is atomic already, and a failure fails it whole.
    with transaction.atomic(savepoint=False):
        rows = synthese_calculee(contrat_ids)
        SyntheseFinancement.objects.filter(contrat_id__in=contrat_ids).delete()
        _inserer(rows)


def synthese_refresh(contrat_id: int) -> None:
    """Recomputes the summary of the contract ``contrat_id`` from its fiches and lines, in the current transaction
    (four queries). Inside :func:`synthese_differee`, the contract is noted and refreshed once when the block ends."""
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending.add(contrat_id)
        return
    _recompute([contrat_id])


def synthese_refresh_contrats(contrat_ids: Iterable[int]) -> None:
    """:func:`synthese_refresh` for several contracts at once (``LOT`` contracts per read)."""
    ids = sorted(set(contrat_ids))
    pending = getattr(_local, "pending", None)
    if pending is not None:
        pending.update(ids)
        return
    for start in range(0, len(ids), LOT):
        _recompute(ids[start : start + LOT])


@contextmanager
def synthese_differee() -> Iterator[None]:
    """Within the block, the contracts whose summary must be refreshed are noted, and each is refreshed once when
    the block ends, still in the transaction: for the writers of many lines or fiches at once (a renewal, an
    import), which would otherwise refresh the same contract after each line. Blocks nest (the outermost refreshes);
    used as a decorator, it wraps each call.

    An exception that leaves the block leaves the noted contracts unrefreshed: the block is meant to be all or
    nothing, in a transaction that the exception rolls back. A caller that catches it and commits what was written
    before calls :func:`synthese_refresh` itself."""
    if getattr(_local, "pending", None) is not None:
        yield
        return
    _local.pending = set()
    try:
        yield
    except BaseException:
        _local.pending = None
        raise
    pending, _local.pending = _local.pending, None
    if pending:
        synthese_refresh_contrats(pending)


def synthese_rebuild() -> int:
    """Recomputes the summary of every contract (``manage.py synthese_rebuild``, the demo's bulk load); returns the
    number of contracts with fiches."""
    from contrats.models import Contrat

    ids = list(Contrat.objects.filter(fiches__isnull=False).distinct().order_by("pk").values_list("pk", flat=True))
    with transaction.atomic():
        SyntheseFinancement.objects.all().delete()
        for start in range(0, len(ids), LOT):
            _inserer(synthese_calculee(ids[start : start + LOT]))
    if connection.vendor == "postgresql":
        # The planner's statistics of a table just refilled: without them it sorts where it should hash (ten times
        # slower on the national summary), until autovacuum comes by.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(SyntheseFinancement._meta.db_table)}")
    return len(ids)
