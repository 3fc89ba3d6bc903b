"""The State's 2024 money calibrated on the published figures.

The published figures: the State's 2024 funding of the Occitanie contracts was 2.6 M€ on axis 1,
10.9 M€ on axis 2 (mostly CDIE), 3.3 M€ on axis 3 and 3.8 M€ on axis 4, 20.6 M€ in all; nationally,
2024 was about 260 M€, 90 M€ for the CLS and 170 M€ for the CDIE.

The catalogue's costs and the territories' population weights give every action a raw amount. The
State's planned 2024 amounts of each group of actions are then scaled to the group's target, and every
other line of those actions (other years, other funders) by the same factor, so that an action keeps
its shape from year to year and its share between funders. The groups:

- Occitanie (``OCCITANIE``): one group per axis, its target the published figure;
- every other région: one group per kind of contract (CLS, CDIE), its target the national figure less
  what Occitanie holds, split between the régions by the population weights of their collectivités;
- pactes locaux outside Occitanie keep their raw amounts (no published figure).

A région's targets depend only on the reference data (territories and populations), not on the scale
of the seed. Amounts are rounded to 100 €, and the rounding remainder goes to the largest lines, so
that each group's 2024 sum is its target to the cent; then every year of every action gets back the
counterpart its cofinancing rule requires (the collectivité's share raised where a rounding left the
State above it).

Only the active actions count (``STATUTS_ACTIFS``: an abandoned one is out of the consolidated
figures); abandoned ones are scaled with their group all the same.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from demo.builder.base import BuilderBase, ContratPlan, FichePlan
from financement.enums import Contrepartie, TypeFinanceur
from financement.regles import Regle, regle_pour
from pacte.money import ZERO

ANNEE = 2024
STEP = Decimal("100")
OCCITANIE = "76"
OCCITANIE_PAR_AXE = {
    1: Decimal("2600000.00"),
    2: Decimal("10900000.00"),
    3: Decimal("3300000.00"),
    4: Decimal("3800000.00"),
}
NATIONAL = {"cls": Decimal("90000000.00"), "cdie": Decimal("170000000.00")}
# What Occitanie holds of each national figure, as far as the published split tells: its axis 2 is the
# CDIE's, its axes 1, 3 and 4 the CLS's. (A métropole's CLS axis 2 and the pactes locaux blur this by a
# few hundred thousand euros: the national figures land within 1 % of their target.)
OCCITANIE_PAR_FAMILLE = {
    "cls": OCCITANIE_PAR_AXE[1] + OCCITANIE_PAR_AXE[3] + OCCITANIE_PAR_AXE[4],
    "cdie": OCCITANIE_PAR_AXE[2],
}


def round_to(amount: Decimal, step: Decimal = STEP) -> Decimal:
    """``amount`` to the nearest multiple of ``step`` (half up), as an amount to the cent."""
    return ((amount / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step).quantize(Decimal("0.01"))


def allocate(target: Decimal, weights: list[Decimal], step: Decimal = STEP) -> list[Decimal]:
    """``target`` split in proportion to ``weights``, each share a multiple of ``step``, the shares adding
    up to ``target`` exactly (``target`` itself a multiple of ``step``): each share is rounded to the
    nearest step, then the remainder goes, one step at a time, to the largest shares."""
    total = sum(weights, ZERO)
    if not weights or total <= 0:
        raise ValueError("Aucun poids positif : impossible de répartir le montant.")
    shares = [round_to(target * w / total, step) for w in weights]
    units = int((target - sum(shares, ZERO)) / step)
    largest_first = sorted(range(len(shares)), key=lambda i: (-shares[i], i))
    for n in range(abs(units)):
        shares[largest_first[n % len(shares)]] += step if units > 0 else -step
    return shares


def contrepartie_requise(regle: Regle, etat: Decimal, autres: Decimal) -> Decimal:
    """The least the collectivité must put in, for a year of an action, so that the State's ``etat``
    fits the rule, given the other funders' ``autres`` (``financement.regles.parite_messages``)."""
    need = ZERO
    if regle.contrepartie == Contrepartie.COLLECTIVITE:
        need = etat
    elif regle.contrepartie == Contrepartie.COFINANCEURS:
        need = etat - autres
    if 0 < regle.taux_etat_max < 1:
        need = max(need, etat * (1 - regle.taux_etat_max) / regle.taux_etat_max - autres)
    if not regle.etat_seul and etat > 0 and autres <= 0:
        need = max(need, STEP)
    return max(ZERO, need)


class CalibrageMixin(BuilderBase):
    """Scales the planned money of the seeded actions to the published figures (see the module)."""

    def groupe(self, plan: ContratPlan, fp: FichePlan) -> tuple[str, str] | None:
        """The calibration group of an action: (région, "axe N") in Occitanie, (région, "cls"/"cdie")
        elsewhere, None for a pacte local outside Occitanie."""
        region = plan.collectivite.region.code
        if region == OCCITANIE:
            return (region, f"axe {fp.fiche.axe.numero}")
        return (region, plan.famille) if plan.famille in NATIONAL else None

    def cibles(self) -> dict[tuple[str, str], Decimal]:
        """Every group's 2024 target (all régions, whatever the scale)."""
        targets = {(OCCITANIE, f"axe {numero}"): montant for numero, montant in OCCITANIE_PAR_AXE.items()}
        weights = self.weights_by_region()
        for famille, national in NATIONAL.items():
            regions = sorted(r for r in weights if r != OCCITANIE and weights[r][famille] > 0)
            shares = allocate(national - OCCITANIE_PAR_FAMILLE[famille], [weights[r][famille] for r in regions])
            targets.update({(r, famille): share for r, share in zip(regions, shares, strict=True)})
        return targets

    def calibrate(self) -> None:
        groups: dict[tuple[str, str], list[tuple[ContratPlan, FichePlan]]] = defaultdict(list)
        for plan in self.plans:
            for fp in plan.fiches:
                key = self.groupe(plan, fp)
                if key is not None:
                    groups[key].append((plan, fp))
        targets = self.cibles()
        for key, members in groups.items():
            lines = [
                fp.lignes[ANNEE][TypeFinanceur.ETAT]
                for _, fp in members
                if fp.active and TypeFinanceur.ETAT in fp.lignes.get(ANNEE, {})
            ]
            raw = [line.prevu for line in lines]
            if sum(raw, ZERO) <= 0:
                continue
            factor = targets[key] / sum(raw, ZERO)
            for _, fp in members:
                for by_kind in fp.lignes.values():
                    for line in by_kind.values():
                        line.prevu = max(STEP, round_to(line.prevu * factor)) if line.prevu > 0 else line.prevu
            for line, share in zip(lines, allocate(targets[key], raw), strict=True):
                line.prevu = share.quantize(Decimal("0.01"))
            for plan, fp in members:
                self.restore_counterpart(plan, fp)

    def restore_counterpart(self, plan: ContratPlan, fp: FichePlan) -> None:
        """Raises the collectivité's share of each year where the rounding left the State above its rule."""
        fiche = fp.fiche
        regle = regle_pour(self.regles, plan.contrat.type_contrat, fiche.volet.numero if fiche.volet else None)
        for year, by_kind in fp.lignes.items():
            etat = by_kind[TypeFinanceur.ETAT].prevu if TypeFinanceur.ETAT in by_kind else ZERO
            autres = by_kind["autre"].prevu if "autre" in by_kind else ZERO
            need = contrepartie_requise(regle, etat, autres)
            coll = by_kind.get(TypeFinanceur.COLLECTIVITE)
            if need <= (coll.prevu if coll else ZERO):
                continue
            need = (need / STEP).to_integral_value(rounding=ROUND_CEILING) * STEP
            if coll is None:
                self.ligne(fp, year, TypeFinanceur.COLLECTIVITE, need.quantize(Decimal("0.01")))
            else:
                coll.prevu = need.quantize(Decimal("0.01"))
