"""The demo's catalogue, read from ``demo/data/``: realistic fiche templates, names, places, partners.

The texts live in data files (UTF-8, one value per line where it fits) so that they can be read and
reviewed without reading code:

- ``gabarits/*.json``: fiche templates (``Gabarit``), one file per list: the axes 1, 3 and 4 of a CLS,
  ``emploi`` (CDIE volets 2 and 3), ``pilotage`` (CDIE volet 1), ``cpt`` (priority actions of a CPT);
- ``departements.csv``: chef-lieu, population in thousands (sizes budgets and the number of actions),
  and the "de …" form of the départements that no "Département …" collectivité names;
- ``partenaires.csv``: the partners created in every département, ``{de}`` standing for the
  département ("des Hautes-Alpes") and ``{de_ville}`` for its chef-lieu ("de Gap"); those with a
  signatory's title (masculine, feminine) are the ones that may sign a CPT;
- ``personnes.json``: first names and last names of signatories;
- ``textes.json``: CDIE volet titles, justifications of reinforced actions, indicator sources,
  termination grounds.

The order of every list matters: the builder draws from them with seeded random generators, so
reordering a file changes the demo data of a given seed.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

from actions.enums import TypeIndicateur

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Gabarit:
    intitule: str
    mesure: str | None
    porteur: str  # "collectivite" or a partner key (partenaires.csv)
    public: str
    constat: str
    objectifs: str
    description: str
    indicateurs: tuple[tuple[str, str, str], ...]  # (nom, type, unité)
    volume: tuple[int, int]
    cout: tuple[int, int]  # the State's yearly share, before the territory's weight
    autres: tuple[str, ...] = ()  # possible third funders
    volet: int | None = None  # CDIE volet (axis 2)


def _json(name: str):
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def load_gabarits(name: str) -> tuple[Gabarit, ...]:
    """The templates of ``data/gabarits/<name>.json``, in file order."""
    gabarits = []
    for i, item in enumerate(_json(f"gabarits/{name}.json"), start=1):
        try:
            gabarits.append(
                Gabarit(
                    **{
                        **item,
                        "indicateurs": tuple(
                            (ind["nom"], TypeIndicateur(ind["type"]), ind["unite"]) for ind in item["indicateurs"]
                        ),
                        "volume": tuple(item["volume"]),
                        "cout": tuple(item["cout"]),
                        "autres": tuple(item.get("autres", ())),
                    }
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"demo/data/gabarits/{name}.json, gabarit {i} : {exc!r}") from exc
    return tuple(gabarits)


AXE1 = load_gabarits("axe1")
AXE3 = load_gabarits("axe3")
AXE4 = load_gabarits("axe4")
EMPLOI = load_gabarits("emploi")
PILOTAGE = load_gabarits("pilotage")
CPT = load_gabarits("cpt")
CATALOGUE = {1: AXE1, 2: EMPLOI, 3: AXE3, 4: AXE4}

_departements = _csv("departements.csv")
CHEFS_LIEUX = {row["code"]: row["chef_lieu"] for row in _departements}
POPULATION = {row["code"]: int(row["population_milliers"]) for row in _departements}
DE_DEPARTEMENT = {row["code"]: row["forme_de"] for row in _departements if row["forme_de"]}

_partenaires = _csv("partenaires.csv")
PARTENAIRES = tuple((row["cle"], row["nom"]) for row in _partenaires)
QUALITE_PARTENAIRE = {  # (masculine, feminine)
    row["cle"]: (row["qualite_signataire_m"], row["qualite_signataire_f"])
    for row in _partenaires
    if row["qualite_signataire_m"]
}
SIGNATAIRES_CPT = tuple(QUALITE_PARTENAIRE)

_personnes = _json("personnes.json")
PRENOMS_F = tuple(_personnes["prenoms_f"])
PRENOMS_M = tuple(_personnes["prenoms_m"])
NOMS = tuple(_personnes["noms"])

_textes = _json("textes.json")
VOLETS_CDIE = {int(numero): intitule for numero, intitule in _textes["volets_cdie"].items()}
JUSTIFICATIONS = tuple(_textes["justifications_renforcement"])
SOURCES = tuple(_textes["sources_indicateurs"])
MOTIFS_RESILIATION = tuple(_textes["motifs_resiliation"])
