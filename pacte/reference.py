"""Loads the reference data shipped in ``pacte/data/`` (INSEE territories, the Pacte's axes, objectives and measures).

Idempotent: territories are created or updated from the files; axes and measures are only created
when missing, so labels edited by national administrators are kept (so is a measure's
objective). Nothing is ever deleted.
Called by the data migration ``pacte.0002`` and by ``manage.py charger_referentiels``.
"""

from __future__ import annotations

import csv
from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with (DATA_DIR / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_reference(apps=None) -> dict[str, int]:
    """Loads régions, départements, collectivités, axes and measures; returns the counts."""
    if apps is None:
        from django.apps import apps
    Region = apps.get_model("pacte", "Region")
    Departement = apps.get_model("pacte", "Departement")
    Collectivite = apps.get_model("pacte", "Collectivite")
    Axe = apps.get_model("pacte", "Axe")
    Mesure = apps.get_model("pacte", "Mesure")

    regions = {}
    for row in _rows("regions.csv"):
        regions[row["code_insee"]], _ = Region.objects.update_or_create(
            code=row["code_insee"], defaults={"nom": row["nom"]}
        )
    departements = {}
    for row in _rows("departements.csv"):
        departements[row["code_insee"]], _ = Departement.objects.update_or_create(
            code=row["code_insee"], defaults={"nom": row["nom"], "region": regions[row["region"]]}
        )
    for row in _rows("collectivites.csv"):
        collectivite, _ = Collectivite.objects.update_or_create(
            code=row["code"],
            defaults={"nom": row["nom"], "nature": row["nature"], "region": regions[row["region"]]},
        )
        collectivite.departements.set([departements[code] for code in row["departements"].split(";")])
    axes = {}
    for row in _rows("axes.csv"):
        axes[row["numero"]], _ = Axe.objects.get_or_create(
            numero=int(row["numero"]),
            defaults={"intitule": row["intitule"], "intitule_court": row["intitule_court"]},
        )
    objectifs = _load_objectifs(apps, axes)
    for row in _rows("mesures.csv"):
        mesure, _ = Mesure.objects.get_or_create(
            code=row["code"], defaults={"axe": axes[row["axe"]], "intitule": row["intitule"]}
        )
        # The objective a measure serves is set once; a national administrator's later choice is kept.
        if objectifs and getattr(mesure, "objectif_id", 0) is None and row.get("objectif"):
            mesure.objectif = objectifs[row["objectif"]]
            mesure.save(update_fields=["objectif"])
    counts = {
        "régions": Region.objects.count(),
        "départements": Departement.objects.count(),
        "collectivités": Collectivite.objects.count(),
        "axes": Axe.objects.count(),
        "mesures": Mesure.objects.count(),
    }
    if objectifs:
        counts["objectifs"] = len(objectifs)
    return counts


def _load_objectifs(apps, axes) -> dict:
    """The objectives of the instructions (created when missing), once the model exists: the data
    migration of the first schema runs this loader too, before objectives were modelled."""
    try:
        Objectif = apps.get_model("pacte", "Objectif")
    except LookupError:
        return {}
    objectifs = {}
    for row in _rows("objectifs.csv"):
        objectifs[row["code"]], _ = Objectif.objects.get_or_create(
            code=row["code"], defaults={"axe": axes[row["axe"]], "intitule": row["intitule"]}
        )
    return objectifs
