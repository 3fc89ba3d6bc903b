"""An avenant's changes in words, for its page: what each targets, the value before and the value after.

The values are those ``financement.selectors.avenant_lecture`` reads (JSON as the appliers record them:
amounts as strings, natural keys, ISO dates); this module only writes them the French way. A value it
cannot read is shown as stored rather than breaking the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.utils.html import strip_tags
from django.utils.text import Truncator, capfirst

from actions.enums import NatureAction, StatutFiche
from actions.models import CHAMPS_CONTRACTUELS, FicheAction
from contrats.enums import NatureModification
from contrats.services import CHAMPS_CONTENU
from financement.enums import TypeFinanceur
from pacte.money import format_decimal, format_euros

VIDE = "—"
#: Where each field of a fiche is shown in a change: its status first, then the contractual content's order.
ORDRE_FICHE = {name: rang for rang, name in enumerate(("code", "statut", *CHAMPS_CONTRACTUELS))}


@dataclass(frozen=True)
class LigneAvenant:
    """One row of the before → after table."""

    modification: object  # ModificationAvenant
    nature: str
    cible: str
    avant: list[str]
    apres: list[str]
    inapplicable: str | None


def _euros(value) -> str:
    return format_euros(Decimal(value))


def _nombre(value) -> str:
    """A number with as many decimals as it has (an indicator's target: ``150``, ``12,5``)."""
    number = Decimal(value)
    # Trailing zeros are the column's, not the value's: 100.00 is shown 100, 12.50 is shown 12,5.
    number = number.quantize(Decimal(1)) if number == number.to_integral_value() else number.normalize()
    return format_decimal(number, max(0, -number.as_tuple().exponent))


def _texte(value, limite: int = 240) -> str:
    return Truncator(strip_tags(str(value))).chars(limite) or VIDE


def _champ_fiche(name: str, value, organisations: dict[int, str]) -> str:
    if value is None or value == "":
        return VIDE
    if name == "axe":
        return f"axe {value}"
    if name == "volet":
        return f"volet {value}"
    if name == "porteur":
        return organisations.get(value, f"organisation n° {value}")
    if name == "nature":
        return NatureAction(value).label
    if name == "statut":
        return StatutFiche(value).label
    if name in ("date_debut", "date_fin"):
        return f"{date.fromisoformat(value):%d/%m/%Y}"
    if name == "etp":
        return format_decimal(Decimal(value), 2)
    if isinstance(value, bool):
        return "oui" if value else "non"
    return _texte(value)


def _label(name: str) -> str:
    if name == "statut":
        return "Statut"
    return capfirst(FicheAction._meta.get_field(name).verbose_name)


def _fiche(valeurs, organisations, *, noms=None) -> list[str]:
    if not isinstance(valeurs, dict):
        return [VIDE]
    names = noms if noms is not None else list(valeurs)
    # In the fiche's own order (a JSON column may store its keys in another).
    names = sorted(names, key=lambda n: ORDRE_FICHE.get(n, len(ORDRE_FICHE)))
    return [f"{_label(n)} : {_champ_fiche(n, valeurs.get(n), organisations)}" for n in names]


def _engagement(valeur) -> list[str]:
    if not valeur:
        return ["aucun engagement"]
    parts = [_euros(valeur["montant"])]
    if valeur.get("etp") is not None:
        parts.append(f"{format_decimal(Decimal(valeur['etp']), 2)} ETP")
    if valeur.get("en_nature"):
        parts.append(f"en nature : {_texte(valeur['en_nature'])}")
    return [" · ".join(parts)]


def _contenu(name: str, valeur) -> list[str]:
    if valeur is None:
        return [VIDE]
    if name == "objectifs":
        return [f"{rang}. {_texte(libelle)}" for rang, libelle in enumerate(valeur, start=1)] or ["aucun objectif"]
    if name == "libelles_axes":
        return [f"Axe {key} : {_texte(libelle) if libelle else 'intitulé national'}" for key, libelle in valeur.items()]
    return [_texte(valeur, 600)]


def _decrire(m, avant, lu) -> tuple[str, list[str], list[str]]:
    """(target, before, after) of one change, in words."""
    cible, apres = m.cible, m.apres
    organisations = lu.organisations
    if m.nature == NatureModification.PREVU:
        financeur = (
            organisations.get(cible["financeur"], "autre financeur")
            if cible["type_financeur"] == TypeFinanceur.AUTRE
            else TypeFinanceur(cible["type_financeur"]).label
        )
        return (
            f"Fiche {cible['fiche']} · {cible['annee']} · {financeur}",
            ["aucune ligne" if avant is None else _euros(avant)],
            [_euros(apres)],
        )
    if m.nature == NatureModification.PLAFOND:
        volet = f", volet {cible['volet']}" if cible.get("volet") else ""
        return (
            f"Enveloppe {cible['annee']}{volet}",
            ["aucune enveloppe" if avant is None else _euros(avant)],
            [_euros(apres)],
        )
    if m.nature == NatureModification.FICHE:
        noms = list(apres)
        return f"Fiche {cible['fiche']}", _fiche(avant, organisations, noms=noms), _fiche(apres, organisations)
    if m.nature == NatureModification.FICHE_AJOUT:
        shown = {k: v for k, v in apres.items() if v not in (None, "")}
        return f"Fiche {cible['fiche']} (nouvelle)", ["aucune fiche"], _fiche(shown, organisations)
    if m.nature == NatureModification.CIBLE:
        indicateur = lu.indicateurs.get(cible["indicateur"], f"indicateur n° {cible['indicateur']}")

        def valeur(v):
            return "aucune cible" if not v or v.get("cible") is None else _nombre(v["cible"])

        return f"Indicateur {indicateur} · {cible['annee']}", [valeur(avant)], [valeur(apres)]
    if m.nature == NatureModification.CONTENU:
        name = cible["champ"]
        return (
            f"Contenu du contrat : {CHAMPS_CONTENU.get(name, name)}",
            _contenu(name, avant),
            _contenu(name, apres.get(name)),
        )
    if m.nature == NatureModification.ENGAGEMENT:
        organisation = organisations.get(cible["organisation"], f"organisation n° {cible['organisation']}")
        return f"Engagement de {organisation} · {cible['annee']}", _engagement(avant), _engagement(apres)
    raise ValueError(m.nature)


def lignes(lu) -> list[LigneAvenant]:
    """The rows of the before → after table, in the order the signature applies the changes."""
    rows = []
    for m in lu.modifications:
        avant = lu.avant.get(m.pk)
        try:
            cible, before, after = _decrire(m, avant, lu)
        except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError, LookupError):
            cible, before, after = str(m.cible), [VIDE if avant is None else str(avant)], [str(m.apres)]
        rows.append(
            LigneAvenant(
                modification=m,
                nature=m.get_nature_display(),
                cible=cible,
                avant=before,
                apres=after,
                inapplicable=lu.inapplicables.get(m.pk),
            )
        )
    return rows
