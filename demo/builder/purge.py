"""Purge and counts of the domain data (``seed_demo --reset``, ``bench_seed``)."""

from __future__ import annotations

from django.apps import apps
from django.db import connection, transaction

from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.models import (
    Avenant,
    Comite,
    Contrat,
    EngagementPartenaire,
    LibelleAxe,
    ModificationAvenant,
    ObjectifContrat,
    PacteLocal,
    Signataire,
    Volet,
)
from demo.builder.territoires import ANCIENS_PARTENAIRES, DEMO_USERNAMES, all_demo_org_specs
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from pacte.models import Organisation, User


def domain_models_in_delete_order() -> list:
    """Pactes locaux, contracts and every model that references them, directly or not (history tables
    and the axes table included), children first so that the database's foreign keys hold at each step."""
    every = apps.get_models(include_auto_created=True)

    def targets(model) -> set:
        return {f.related_model for f in model._meta.concrete_fields if f.is_relation and f.related_model}

    below = {PacteLocal, Contrat}
    changed = True
    while changed:
        changed = False
        for model in every:
            if model not in below and targets(model) & below:
                below.add(model)
                changed = True
        for model in list(below):  # a history table does not point to its model
            history = getattr(getattr(model, "history", None), "model", None)
            if history is not None and history not in below:
                below.add(history)
                changed = True
    order, remaining = [], set(below)
    while remaining:
        # A model can go once no remaining model points to it.
        free = sorted(
            (m for m in remaining if not any(m in targets(o) for o in remaining if o is not m)),
            key=lambda m: m._meta.label,
        )
        if not free:
            raise RuntimeError(f"Cycle de clés étrangères : {sorted(m._meta.label for m in remaining)}")
        order += free
        remaining -= set(free)
    return order


def _delete_all(model) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


@transaction.atomic
def purge() -> None:
    """Deletes every pacte local and contract and everything below (with their history), the demo users,
    and the demo organisations that nobody else uses (partners named by earlier versions of the demo
    included). Reference data (territories, axes, rules) is kept.

    Plain ``DELETE`` statements: the ORM would load every row and write a history row for each.
    """
    for model in domain_models_in_delete_order():
        _delete_all(model)
    User.objects.filter(username__in=DEMO_USERNAMES).delete()
    keys = {spec.db_key for spec in all_demo_org_specs().values()}
    keys |= {spec.db_key for spec in all_demo_org_specs(ANCIENS_PARTENAIRES).values()}
    used = set(User.objects.exclude(organisation=None).values_list("organisation_id", flat=True))
    ids = [
        pk
        for pk, *key in Organisation.objects.values_list(
            "pk", "type", "nom", "region_id", "departement_id", "collectivite_id"
        )
        if tuple(key) in keys and pk not in used
    ]
    table = connection.ops.quote_name(Organisation._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            cursor.execute(f"DELETE FROM {table} WHERE id IN ({', '.join(['%s'] * len(chunk))})", chunk)


def counts() -> dict[str, int]:
    """Row counts of the domain, as printed by ``seed_demo`` and ``bench_seed``."""
    return {
        "pactes locaux": PacteLocal.objects.count(),
        "contrats": Contrat.objects.count(),
        "objectifs des contrats": ObjectifContrat.objects.count(),
        "intitulés locaux d'axes": LibelleAxe.objects.count(),
        "volets": Volet.objects.count(),
        "signataires": Signataire.objects.count(),
        "engagements des partenaires": EngagementPartenaire.objects.count(),
        "enveloppes annuelles": Plafond.objects.count(),
        "fiches actions": FicheAction.objects.count(),
        "lignes de financement": LigneFinancement.objects.count(),
        "indicateurs": Indicateur.objects.count(),
        "valeurs d'indicateurs": ValeurIndicateur.objects.count(),
        "avenants": Avenant.objects.count(),
        "modifications d'avenant": ModificationAvenant.objects.count(),
        "comités": Comite.objects.count(),
        "versements": Versement.objects.count(),
        "reliquats": Reliquat.objects.count(),
        "rapports annuels": RapportAnnuel.objects.count(),
        "organisations": Organisation.objects.count(),
        "utilisateurs de démo": User.objects.filter(username__in=DEMO_USERNAMES).count(),
    }
