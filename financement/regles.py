"""The money rules of docs/regles.md: parity per action and year, the State's annual ceiling.

The sums are done by the database; the decisions are pure functions on Decimals, tested as tables.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField, Q, Sum, Value
from django.db.models.functions import Coalesce

from actions.enums import STATUTS_ACTIFS
from financement.enums import Contrepartie, TypeFinanceur
from pacte.money import ZERO, format_euros, to_cents

PREVU, REALISE = "prevu", "realise"
_LIBELLES = {PREVU: ("prévue", "prévu"), REALISE: ("réalisée", "réalisé")}


@dataclass(frozen=True)
class Regle:
    """How the State's share of an action is bounded (``RegleCofinancement``, editable per type and volet)."""

    taux_etat_max: Decimal
    contrepartie: str  # Contrepartie: who must put in at least as much as the State
    tolerance: Decimal
    etat_seul: bool = True  # False: an action the State funds has at least one other funder


REGLE_PAR_DEFAUT = Regle(Decimal("0.5"), Contrepartie.COLLECTIVITE, Decimal("1.00"))


def format_taux(taux: Decimal) -> str:
    pct = (taux * 100).normalize()
    return f"{pct:f}".replace(".", ",") + "\u00a0%"


def parite_messages(
    *,
    annee: int,
    etat: Decimal,
    collectivite: Decimal,
    total: Decimal,
    regle: Regle,
    partie: str,
    champ: str = PREVU,
) -> list[str]:
    """The cofinancing breaches of one action for one year, as French messages (empty when it holds).

    ``etat`` and ``collectivite`` are the two parties' amounts, ``total`` every funder's. The State may
    exceed neither its counterpart's share — the collectivité's, or every other funder's, as
    ``regle.contrepartie`` says — nor ``taux_etat_max`` of the total, within ``regle.tolerance``; and
    unless ``regle.etat_seul``, it never funds an action alone.
    """
    etat, collectivite, total = to_cents(etat), to_cents(collectivite), to_cents(total)
    f_part, m_part = _LIBELLES[champ]
    messages = []
    if regle.contrepartie == Contrepartie.COLLECTIVITE and etat - collectivite > regle.tolerance:
        messages.append(
            f"{annee} : la part {f_part} de l'État ({format_euros(etat)}) dépasse celle {partie} "
            f"({format_euros(collectivite)}) de {format_euros(etat - collectivite)}"
        )
    autres = total - etat
    if regle.contrepartie == Contrepartie.COFINANCEURS and etat - autres > regle.tolerance:
        messages.append(
            f"{annee} : la part {f_part} de l'État ({format_euros(etat)}) dépasse celle des autres financeurs "
            f"({format_euros(autres)}) de {format_euros(etat - autres)}"
        )
    plafond = to_cents(total * regle.taux_etat_max)
    if etat - plafond > regle.tolerance:
        messages.append(
            f"{annee} : la part {f_part} de l'État ({format_euros(etat)}) dépasse "
            f"{format_taux(regle.taux_etat_max)} du coût total {m_part} ({format_euros(total)}) "
            f"de {format_euros(etat - plafond)}"
        )
    if not regle.etat_seul and etat > 0 and autres <= 0:
        messages.append(f"{annee} : l'État ne peut pas financer seul l'action ({format_euros(etat)} {m_part}s)")
    return messages


def regles_par_type() -> dict[tuple[str, int | None], Regle]:
    from financement.models import RegleCofinancement

    return {
        (r.type_contrat, r.volet_numero): Regle(r.taux_etat_max, r.contrepartie, r.tolerance, r.etat_seul)
        for r in RegleCofinancement.objects.all()
    }


def regle_pour(regles: dict, type_contrat: str, volet_numero: int | None) -> Regle:
    """The volet's rule if there is one, else the contract type's, else 50/50 with parity."""
    return regles.get((type_contrat, volet_numero)) or regles.get((type_contrat, None)) or REGLE_PAR_DEFAUT


def parite_violations(fiches, *, champ: str = PREVU) -> list[str]:
    """Parity messages for every (action, year) of ``fiches`` (a QuerySet), sums done by the database."""
    from financement.models import LigneFinancement

    money = DecimalField(max_digits=14, decimal_places=2)

    def total(condition=None):
        return Coalesce(Sum(champ, filter=condition), Value(ZERO), output_field=money)

    rows = (
        LigneFinancement.objects.filter(fiche__in=fiches)
        .values(
            "fiche__code",
            "annee",
            "fiche__contrat__type_contrat",
            "fiche__volet__numero",
            "fiche__contrat__collectivite__code",
            "fiche__contrat__collectivite__nature",
        )
        .annotate(
            etat=total(Q(type_financeur=TypeFinanceur.ETAT)),
            collectivite=total(Q(type_financeur=TypeFinanceur.COLLECTIVITE)),
            tous=total(),
        )
        .order_by("fiche__contrat__reference", "fiche__code_tri", "annee")
    )
    regles = regles_par_type()
    messages = []
    for row in rows:
        regle = regle_pour(regles, row["fiche__contrat__type_contrat"], row["fiche__volet__numero"])
        partie = _partie(row["fiche__contrat__collectivite__code"], row["fiche__contrat__collectivite__nature"])
        for msg in parite_messages(
            annee=row["annee"],
            etat=row["etat"],
            collectivite=row["collectivite"],
            total=row["tous"],
            regle=regle,
            partie=partie,
            champ=champ,
        ):
            messages.append(f"Fiche {row['fiche__code']}, {msg}")
    return messages


def _partie(code: str, nature: str) -> str:
    from pacte.models import Collectivite

    return Collectivite(code=code, nature=nature).partie


def plafond_messages(*, annee: int, etat: Decimal, plafond: Decimal | None, libelle: str = "") -> list[str]:
    """The ceiling breach for one year (and one volet when ``libelle`` names it)."""
    etat = to_cents(etat)
    where = f"{annee}{libelle}"
    if plafond is None:
        if etat > 0:
            return [f"{where} : aucune enveloppe de l'État n'est fixée pour {format_euros(etat)} de parts prévues"]
        return []
    plafond = to_cents(plafond)
    if etat > plafond:
        return [
            f"{where} : les parts prévues de l'État ({format_euros(etat)}) dépassent l'enveloppe annuelle "
            f"({format_euros(plafond)}) de {format_euros(etat - plafond)}"
        ]
    return []


def plafond_violations(contrat) -> list[str]:
    """The State's planned shares of the contract's active actions against its annual ceilings
    (two queries; the decisions are :func:`plafonds_messages`')."""
    from financement.models import LigneFinancement, Plafond

    sommes = (
        LigneFinancement.objects.filter(
            fiche__contrat=contrat, fiche__statut__in=STATUTS_ACTIFS, type_financeur=TypeFinanceur.ETAT
        )
        .values_list("annee", "fiche__volet_id", "fiche__volet__numero")
        .annotate(etat=Sum("prevu"))
        .order_by("annee", "fiche__volet__numero")
    )
    plafonds = Plafond.objects.filter(contrat=contrat).values_list("annee", "volet_id", "montant")
    return plafonds_messages(list(sommes), list(plafonds))


def plafonds_messages(
    sommes: list[tuple[int, int | None, int | None, Decimal]], plafonds: list[tuple[int, int | None, Decimal]]
) -> list[str]:
    """One contract's ceiling breaches from its sums ``(year, volet id, volet number, State's planned)`` of
    active actions (rows of the same year and volet add up) and its ceilings ``(year, volet id or None,
    amount)``. Each year's messages depend on that year's rows only.

    A contract-wide ceiling covers all actions (fungible between axes). Where volets have their own
    ceiling (CDIE), each volet is checked on its own: no transfer between volets, and actions outside
    volets need a contract-wide ceiling. Pure: the caller reads the sums (one contract, or many at once).
    """
    par_annee: dict[int, Decimal] = defaultdict(lambda: ZERO)
    sans_volet: dict[int, Decimal] = defaultdict(lambda: ZERO)
    par_volet: dict[tuple[int, int], tuple[int, Decimal]] = {}
    for annee, volet_id, numero, etat in sommes:
        par_annee[annee] += etat
        if volet_id:
            par_volet[(annee, volet_id)] = (numero, par_volet.get((annee, volet_id), (numero, ZERO))[1] + etat)
        else:
            sans_volet[annee] += etat
    plafonds_contrat, plafonds_volet = {}, {}
    for annee, volet_id, montant in plafonds:
        if volet_id:
            plafonds_volet[(annee, volet_id)] = montant
        else:
            plafonds_contrat[annee] = montant
    messages = []
    for annee in sorted(set(par_annee) | set(plafonds_contrat)):
        volets_plafonnes = {v for (a, v) in plafonds_volet if a == annee}
        if annee in plafonds_contrat or not volets_plafonnes:
            messages += plafond_messages(annee=annee, etat=par_annee[annee], plafond=plafonds_contrat.get(annee))
        else:
            messages += plafond_messages(annee=annee, etat=sans_volet[annee], plafond=None, libelle=", hors volets")
        for (a, volet_id), (numero, etat) in sorted(par_volet.items(), key=lambda kv: (kv[0][0], kv[1][0])):
            if a == annee and volets_plafonnes:
                messages += plafond_messages(
                    annee=annee,
                    etat=etat,
                    plafond=plafonds_volet.get((annee, volet_id), plafonds_contrat.get(annee)),
                    libelle=f", volet {numero}",
                )
    return messages
