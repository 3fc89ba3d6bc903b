"""Money: funding lines (planned, committed, spent), ceilings, payments, reliquats and annual reports."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_DOWN, Decimal

from actions.enums import StatutFiche
from contrats.enums import StatutContrat, TypeContrat
from demo.builder.base import SHOWCASE, BuilderBase, ContratPlan, FichePlan
from financement.enums import Contrepartie, DecisionReliquat, NatureVersement, StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from financement.regles import Regle, regle_pour
from financement.services import date_limite_rapport
from pacte.models import Organisation
from pacte.money import ZERO, to_cents


def euros(amount: float, step: int = 100) -> Decimal:
    """A planned amount: rounded to ``step`` euros."""
    return Decimal(int(round(amount / step)) * step).quantize(Decimal("0.01"))


def cents(amount: Decimal, ratio: float) -> Decimal:
    """``amount × ratio`` to the cent (spent amounts are rarely round)."""
    return to_cents(amount * Decimal(str(round(ratio, 4))))


def ceil_to(amount: Decimal, step: int) -> Decimal:
    return Decimal(math.ceil(amount / step) * step).quantize(Decimal("0.01"))


def floor_to(amount: Decimal, step: int) -> Decimal:
    return Decimal(math.floor(amount / step) * step).quantize(Decimal("0.01"))


def state_cap(regle: Regle, collectivite: Decimal, autres: Decimal) -> Decimal | None:
    """The largest State share the rule allows, given the other shares (None: no limit)."""
    cap = {Contrepartie.COLLECTIVITE: collectivite, Contrepartie.COFINANCEURS: collectivite + autres}.get(
        regle.contrepartie
    )
    if regle.taux_etat_max < 1:
        by_rate = ((collectivite + autres) * regle.taux_etat_max / (1 - regle.taux_etat_max)).quantize(
            Decimal("0.01"), rounding=ROUND_DOWN
        )
        cap = by_rate if cap is None else min(cap, by_rate)
    return cap


class ArgentMixin(BuilderBase):
    """Funding lines and their execution, ceilings, and the follow-up of signed contracts."""

    # -- funding lines

    def ligne(self, fp: FichePlan, year: int, kind: str, prevu: Decimal, financeur: Organisation | None = None):
        ligne = LigneFinancement(
            fiche=fp.fiche,
            annee=year,
            type_financeur=TypeFinanceur.AUTRE if financeur else kind,
            financeur=financeur,
            prevu=prevu,
        )
        fp.lignes.setdefault(year, {})["autre" if financeur else kind] = self.add(ligne)
        return ligne

    def build_money(
        self, plan: ContratPlan, fp: FichePlan, *, base: float, coll_ratio: float, etat: bool, autre_prob: float
    ) -> None:
        """The planned lines of a fiche: the State's (unless ``etat`` is false), the collectivité's (about
        ``coll_ratio`` of the State's, never below it when the ratio is 1 or more), sometimes a third
        funder's; a pacte local's carrier may add its own money. Calibrated later (``calibrage``)."""
        rng, contrat, fiche = plan.rng, plan.contrat, fp.fiche
        regle = regle_pour(self.regles, contrat.type_contrat, fiche.volet.numero if fiche.volet else None)
        if rng.random() < autre_prob:
            choices = list(fp.gabarit.autres)
            if plan.famille == "cpt" and fp.porteur_kind != "collectivite":
                choices.insert(0, fp.porteur_kind)
            fp.autre_kind = rng.choice(choices) if choices else ""
        autre_org = self.partenaire(plan.collectivite, fp.autre_kind) if fp.autre_kind else None
        autre_ratio = rng.uniform(0.2, 0.6) if etat else rng.uniform(0.6, 1.2)
        for i, year in enumerate(fp.years):
            factor = 1 + i * rng.uniform(0, 0.05)
            if year == fiche.date_debut.year and fiche.date_debut.month > 1:
                factor *= (13 - fiche.date_debut.month) / 12
            part_etat = euros(base * factor) if etat else ZERO
            coll = euros(base * coll_ratio * factor) if coll_ratio else ZERO
            if coll_ratio >= 1:
                coll = max(coll, part_etat)
            autre = euros(base * autre_ratio * factor) if autre_org else ZERO
            cap = state_cap(regle, coll, autre)
            if cap is not None:
                part_etat = min(part_etat, cap)
            if part_etat > 0:
                self.ligne(fp, year, TypeFinanceur.ETAT, part_etat)
            if coll > 0:
                self.ligne(fp, year, TypeFinanceur.COLLECTIVITE, coll)
            if autre > 0:
                self.ligne(fp, year, TypeFinanceur.AUTRE, autre, financeur=autre_org)

    def execution_years(self, plan: ContratPlan, fp: FichePlan) -> list[int]:
        years = self.past_years(fp.years)
        if plan.termine_le:
            years = [y for y in years if y <= plan.termine_le.year]
        if fp.fiche.statut == StatutFiche.ABANDONNEE:
            years = years[:1]
        return years

    def build_execution_money(self, plan: ContratPlan, fp: FichePlan) -> None:
        rng = plan.rng
        for year in self.execution_years(plan, fp):
            lignes = fp.lignes.get(year, {})
            r_etat = rng.uniform(0.72, 1.0)
            r_coll = min(1.08, r_etat + rng.uniform(0, 0.08))
            for kind, ligne in lignes.items():
                ratio = r_etat if kind == "etat" else r_coll if kind == "collectivite" else rng.uniform(0.6, 1.0)
                ligne.realise = cents(ligne.prevu, ratio)
                ligne.engage = max(ligne.realise, cents(ligne.prevu, rng.uniform(max(ratio, 0.9), 1.0)))
            # A few spent amounts break parity (warnings, never blocking).
            if "etat" in lignes and "collectivite" in lignes and rng.random() < 0.005:
                self.break_realise(lignes)

    @staticmethod
    def break_realise(lignes: dict[str, LigneFinancement]) -> None:
        etat, coll = lignes["etat"], lignes["collectivite"]
        coll.realise = cents(etat.realise, 0.8)
        coll.engage = max(coll.realise, cents(etat.engage, 0.85))

    def build_story_money(self, plan: ContratPlan) -> None:
        """The deliberate anomalies and avenants, applied before ceilings are sized."""
        story = plan.story
        funded = [fp for fp in plan.fiches if fp.active and any("etat" in lg for lg in fp.lignes.values())]
        if story == "vitrine" and len(funded) > 1:
            # Spent amounts of 2024 breaking parity on one action.
            fp = funded[1]
            lignes = fp.lignes.get(2024) or fp.lignes[fp.years[0]]
            if "collectivite" in lignes and lignes["etat"].realise is not None:
                self.break_realise(lignes)
        if story == "parite_prevue" and funded:
            # Planned amounts breaking parity: the contract cannot be signed (nor the fiche validated).
            fp = funded[0]
            year = fp.years[min(1, len(fp.years) - 1)]
            lignes = fp.lignes[year]
            coll = lignes.get("collectivite")
            if "etat" in lignes:
                lignes["etat"].prevu = (coll.prevu if coll else ZERO) + euros(plan.rng.uniform(5_000, 15_000))
                fp.fiche.statut = StatutFiche.PROPOSEE
        amendable = plan.signe and plan.contrat.type_contrat != TypeContrat.CDIE and not plan.termine_le
        random_avenant = plan.contrat.statut == StatutContrat.EN_EXECUTION and plan.rng.random() < 0.2
        if amendable and funded and (story in ("vitrine", "avenant") or random_avenant):
            self.build_avenant_signe(plan, funded)

    # -- ceilings

    def state_sums(self, plan: ContratPlan) -> dict[tuple[int, int | None], Decimal]:
        """The State's planned shares by (year, volet), abandoned actions included: the ceiling then
        holds whether or not the check counts them."""
        sums: dict[tuple[int, int | None], Decimal] = defaultdict(lambda: ZERO)
        for fp in plan.fiches:
            volet = fp.fiche.volet.numero if fp.fiche.volet else None
            for year in fp.years:
                sums[(year, volet)] += fp.etat(year)
        return sums

    def build_plafonds(self, plan: ContratPlan) -> None:
        contrat, rng = plan.contrat, plan.rng
        if contrat.statut == StatutContrat.BROUILLON and plan.story != "plafond_depasse" and rng.random() < 0.5:
            return  # not negotiated yet: no ceiling
        sums = self.state_sums(plan)
        margin = rng.uniform(1.0, 1.06)
        exceeded = plan.story == "plafond_depasse"
        for (year, volet), total in sorted(sums.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
            if total <= 0:
                continue
            montant = ceil_to(total * Decimal(str(round(margin, 4))), 5_000)
            if exceeded:  # a draft whose State shares overshoot the ceiling
                montant, exceeded = max(ZERO, floor_to(total * Decimal("0.85"), 5_000)), False
            self.add(Plafond(contrat=contrat, volet=plan.volets.get(volet), annee=year, montant=montant))
            self.plafonds[(contrat.reference, year, volet)] = montant

    # -- execution follow-up: payments, reliquats, reports (committees: ``contrats``)

    def paid_base(self, plan: ContratPlan, year: int) -> Decimal:
        return sum((fp.etat(year) for fp in plan.fiches if fp.active), ZERO)

    def paid_carriers(self, plan: ContratPlan, year: int) -> list[tuple[Organisation, Decimal]]:
        """What the State pays each carrier of a pacte local's active actions for a year, carriers by name."""
        by_carrier: dict[Organisation, Decimal] = defaultdict(lambda: ZERO)
        for fp in plan.fiches:
            if fp.active and fp.etat(year) > 0:
                by_carrier[fp.fiche.porteur] += fp.etat(year)
        return sorted(by_carrier.items(), key=lambda kv: kv[0].nom)

    def build_execution_follow_up(self, plan: ContratPlan) -> None:
        contrat, rng = plan.contrat, plan.rng
        cdie = contrat.type_contrat == TypeContrat.CDIE
        aux_porteurs = contrat.type_contrat in self.versement_aux_porteurs
        years = self.past_years(contrat.annees)
        if plan.termine_le:
            years = [y for y in years if y <= plan.termine_le.year]
        for year in years:
            base = self.paid_base(plan, year)
            if base <= 0:
                continue
            start = max(contrat.date_signature, date(year, 3, 1)) + timedelta(days=rng.randint(20, 60))
            engagement = self.past(start - timedelta(days=rng.randint(5, 15)))
            if aux_porteurs:  # a pacte local: the State pays each carrier its actions' share, once a year
                for porteur, montant in self.paid_carriers(plan, year):
                    ej = str(rng.randint(2_100_000_000, 2_199_999_999))
                    beneficiaire = None if porteur.collectivite_id else porteur
                    self.versement(
                        contrat, year, NatureVersement.UNIQUE, montant, ej, engagement, self.past(start), beneficiaire
                    )
                continue
            ej = str(rng.randint(2_100_000_000, 2_199_999_999))
            if cdie:
                self.versement(contrat, year, NatureVersement.UNIQUE, base, ej, engagement, self.past(start))
                continue
            avance = to_cents(base * Decimal("0.5"))
            self.versement(contrat, year, NatureVersement.AVANCE, avance, ej, engagement, self.past(start))
            if plan.termine_le and year == plan.termine_le.year:
                continue
            solde_le = self.day(rng, date(year, 11, 10), 40)
            if year == self.today.year - 1 and rng.random() < 0.1:
                solde_le = None  # balance still to come
            self.versement(
                contrat, year, NatureVersement.SOLDE, base - avance, ej, engagement, solde_le and self.past(solde_le)
            )
        self.build_comites(plan, years)
        self.build_rapports(plan, years)

    def versement(self, contrat, year, nature, montant, ej, engagement, verse_le, beneficiaire=None) -> None:
        if montant <= 0:
            return
        self.add(
            Versement(
                uid=self.uid(),
                contrat=contrat,
                annee=year,
                nature=nature,
                montant=montant,
                numero_ej=ej,
                date_engagement=engagement,
                date_versement=verse_le,
                beneficiaire=beneficiaire,
            )
        )

    def build_rapports(self, plan: ContratPlan, years: list[int]) -> None:
        contrat, rng = plan.contrat, plan.rng
        for year in years:
            if year > 2025:
                continue
            r = rng.random()
            statut = (
                StatutRapport.VALIDE if r < 0.6 else StatutRapport.TRANSMIS if r < 0.85 else StatutRapport.BROUILLON
            )
            if contrat.statut == StatutContrat.CLOS or (plan.story == "vitrine" and year == 2024):
                statut = StatutRapport.VALIDE
            if plan.story == "rapport_a_completer" and year == 2024:
                statut = StatutRapport.A_COMPLETER
            transmis = self.past(self.day(rng, date(year + 1, 3, 1), 45))
            rapport = self.add(
                RapportAnnuel(
                    uid=self.uid(),
                    contrat=contrat,
                    annee=year,
                    statut=statut,
                    date_limite=date_limite_rapport(year),
                    synthese=(
                        f"En {year}, {sum(1 for fp in plan.fiches if fp.active)} actions ont été mises en œuvre. "
                        "La montée en charge est conforme à la programmation pour la plupart d'entre elles ; "
                        "quelques actions ont démarré avec retard faute de recrutement."
                        if statut != StatutRapport.BROUILLON
                        else ""
                    ),
                    transmis_le=None if statut == StatutRapport.BROUILLON else transmis,
                    valide_le=self.past(transmis + timedelta(days=rng.randint(15, 60)))
                    if statut == StatutRapport.VALIDE
                    else None,
                    observations_ddets=(
                        "Merci de compléter les valeurs atteintes des indicateurs et de justifier la sous-réalisation "
                        "des actions de l'axe 3."
                        if statut == StatutRapport.A_COMPLETER
                        else ""
                    ),
                )
            )
            if year == 2024 and statut == StatutRapport.VALIDE:
                self.maybe_reliquat(plan, rapport)

    def maybe_reliquat(self, plan: ContratPlan, rapport: RapportAnnuel) -> None:
        contrat, rng, year = plan.contrat, plan.rng, rapport.annee
        if plan.story != "vitrine" and rng.random() > 0.35:
            return
        verse = sum(
            (v.montant for v in self.rows[Versement] if v.contrat is contrat and v.annee == year and v.date_versement),
            ZERO,
        )
        realise = sum(
            (lg["etat"].realise or ZERO for fp in plan.fiches for lg in [fp.lignes.get(year, {})] if "etat" in lg),
            ZERO,
        )
        montant = max(ZERO, verse - realise)
        reliquat = Reliquat(contrat=contrat, annee=year, verse=verse, realise_etat=realise, montant=montant)
        if montant > 0 and (plan.story == "vitrine" or rng.random() < 0.65):
            last_year = year >= contrat.date_fin.year
            reliquat.decision = (
                DecisionReliquat.REVERSEMENT if last_year or rng.random() < 0.3 else DecisionReliquat.DEDUCTION
            )
            reliquat.decide_le = self.past(rapport.valide_le + timedelta(days=rng.randint(5, 30)))
            reliquat.decide_par = self.users.get("ddets05") if plan.collectivite.code == SHOWCASE else None
            reliquat.commentaire = (
                "Reliquat déduit de l'avance de l'exercice suivant."
                if reliquat.decision == DecisionReliquat.DEDUCTION
                else "Titre de reversement émis."
            )
        self.add(reliquat)

    def ensure_one_report_to_complete(self) -> None:
        """The demo always has one report sent back for more information (slot B when it exists)."""
        rapports = self.rows[RapportAnnuel]
        if rapports and not any(r.statut == StatutRapport.A_COMPLETER for r in rapports):
            rapport = next((r for r in rapports if r.statut == StatutRapport.TRANSMIS), None)
            if rapport:
                rapport.statut = StatutRapport.A_COMPLETER
                rapport.observations_ddets = "Merci de compléter les valeurs atteintes des indicateurs."
