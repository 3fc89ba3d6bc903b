"""The demo's catalogue, read from ``demo/data/``: realistic fiche templates, names, places, partners.

The texts live in data files (UTF-8, one value per line where it fits) so that they can be read and
reviewed without reading code:

- ``gabarits/*.json``: fiche templates (``Gabarit``), one file per list: the axes 1, 3 and 4 of a CLS,
  ``emploi`` (CDIE volets 2 and 3), ``pilotage`` (CDIE volet 1), ``cpt`` (priority actions of a pacte
  local, each with its axis). Each template says what the action serves, as real published lists do:
  a national measure (``mesure``, a code of ``pacte/data/mesures.csv``; its objective follows), an
  objective of the instructions only (``objectif``, a code of ``pacte/data/objectifs.csv``), or a
  local measure (``mesure_locale``, its label, optionally under an ``objectif``). About half of the
  actions of real contracts fit no national measure, and so do about half of the templates;
- ``departements.csv``: chef-lieu, population in thousands (sizes budgets and the number of actions),
  and the "de …" form of the départements that no "Département …" collectivité names;
- ``partenaires.csv``: the partners created in every département, ``{de}`` standing for the
  département ("des Hautes-Alpes") and ``{de_ville}`` for its chef-lieu ("de Gap"), with their
  nature, their fields (``domaines``), how their signatory is titled (masculine, feminine) and whether
  they are among the institutions that sign a pacte local (``signataire_cpt``);
- ``personnes.json``: first names and last names of signatories;
- ``textes.json``: CDIE volet titles, justifications of reinforced actions, indicator sources,
  termination grounds, and the contracts' own content: preambles, diagnostics (``{nom}`` standing for
  the collectivité, ``{de_dep}`` for its département, ``{periode}`` for the contract's years), objectives
  by kind of contract, local wordings of the axes, partners' contributions in kind.

**No real organisation is given an action it does not carry.** A partner is one of three natures
(``partenaires.csv``, column ``nature``):

- ``reel``: a body present in every département (the CAF, the CPAM, France Travail,
  the ARS, the DSDEN, the UDAF, the Secours populaire, the Croix-Rouge, the chef-lieu's town). It only
  carries actions of its own field: a template's ``domaine`` is one of the body's ``domaines``;
- ``generique``: a kind of body every territory has, named by its function and place ("Centre
  communal d'action sociale de Gap", "Mission locale de Gap"); it also keeps to its ``domaines``;
- ``fictif``: an invented association or intercommunality, which says so in its name ("Association
  Solidarités des Hautes-Alpes (fictive)") and may carry anything (``domaines`` is ``*``).

The collectivité (Département, Métropole) carries actions of its own powers (``DOMAINES_COLLECTIVITE``).
A template names its usual carrier (``porteur``) and the others that may carry it (``autres_porteurs``);
``tests/demo/test_catalogue.py`` checks every one of them against these fields. The people are
invented; the SIRET of every partner is generated (``demo.builder.territoires.siret_fictif``: a valid
check key, a SIREN starting with 000), never a real one.

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


#: The fields of the collectivité (Département, Métropole) as a carrier: its own powers.
DOMAINES_COLLECTIVITE = frozenset(
    [
        "famille",
        "enfance",
        "jeunesse",
        "insertion",
        "emploi",
        "droits",
        "logement",
        "sante",
        "energie",
        "isolement",
        "alimentation",
        "pilotage",
    ]
)


@dataclass(frozen=True)
class Gabarit:
    intitule: str
    mesure: str | None  # a national measure's code, or None
    porteur: str  # "collectivite" or a partner key (partenaires.csv)
    domaine: str  # the field of the action (who may carry it: see the module's docstring)
    public: str
    constat: str
    objectifs: str
    description: str
    indicateurs: tuple[tuple[str, str, str], ...]  # (nom, type, unité)
    volume: tuple[int, int]
    cout: tuple[int, int]  # the State's yearly share, before the territory's weight
    autres: tuple[str, ...] = ()  # possible third funders
    volet: int | None = None  # CDIE volet (axis 2)
    objectif: str | None = None  # an objective's code, for an action outside the national measures
    mesure_locale: str = ""  # a local measure's label
    autres_porteurs: tuple[str, ...] = ()  # who else may carry it ("collectivite" or partner keys)
    axe: int | None = None  # pacte local templates: their axis
    etat_seul: bool = False  # funded by the State alone (a diagnostic)

    @property
    def porteurs(self) -> tuple[str, ...]:
        return (self.porteur, *self.autres_porteurs)


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
                        "autres_porteurs": tuple(item.get("autres_porteurs", ())),
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
NATURE_PARTENAIRE = {row["cle"]: row["nature"] for row in _partenaires}  # reel, generique, fictif
DOMAINES_PARTENAIRE = {row["cle"]: frozenset(row["domaines"].split()) for row in _partenaires}
QUALITE_PARTENAIRE = {  # (masculine, feminine)
    row["cle"]: (row["qualite_signataire_m"], row["qualite_signataire_f"]) for row in _partenaires
}
SIGNATAIRES_CPT = tuple(row["cle"] for row in _partenaires if row["signataire_cpt"] == "oui")


def peut_porter(cle: str, gabarit: Gabarit) -> bool:
    """Whether ``cle`` (a partner key, or "collectivite") may carry the template's action: an invented
    partner carries anything, a real or generic body only actions of its fields."""
    domaines = DOMAINES_COLLECTIVITE if cle == "collectivite" else DOMAINES_PARTENAIRE[cle]
    return "*" in domaines or gabarit.domaine in domaines


_personnes = _json("personnes.json")
PRENOMS_F = tuple(_personnes["prenoms_f"])
PRENOMS_M = tuple(_personnes["prenoms_m"])
NOMS = tuple(_personnes["noms"])

_textes = _json("textes.json")
VOLETS_CDIE = {int(numero): intitule for numero, intitule in _textes["volets_cdie"].items()}
JUSTIFICATIONS = tuple(_textes["justifications_renforcement"])
SOURCES = tuple(_textes["sources_indicateurs"])
MOTIFS_RESILIATION = tuple(_textes["motifs_resiliation"])
PREAMBULES = tuple(_textes["preambules"])
DIAGNOSTICS = {famille: tuple(textes) for famille, textes in _textes["diagnostics"].items()}  # cls, cdie, cpt
OBJECTIFS_CONTRAT = {famille: tuple(textes) for famille, textes in _textes["objectifs_contrat"].items()}
LIBELLES_AXES = {int(numero): tuple(libelles) for numero, libelles in _textes["libelles_axes"].items()}
APPORTS_EN_NATURE = dict(_textes["apports_en_nature"])  # by partner key; "autre" for the others
