"""Fiches actions drawn from the catalogue (``demo/catalogue.py``), and their indicators.

Each fiche is filed under what its template serves: a national measure (and the measure's objective), an
objective only, or a local measure; it is carried by the template's carrier or, now and then, by one of
the others the template names (``demo/catalogue.py`` says who may carry what).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date
from decimal import Decimal

from actions.enums import NatureAction, StatutFiche
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import StatutContrat, TypeContrat
from contrats.models import Volet
from demo.builder.base import BuilderBase, ContratPlan, FichePlan
from demo.catalogue import CATALOGUE, CHEFS_LIEUX, CPT, EMPLOI, JUSTIFICATIONS, PILOTAGE, SOURCES, VOLETS_CDIE, Gabarit

# Multipliers of the catalogue's costs: the split of the money between the axes of a CLS and between the
# volets of a CDIE. The totals themselves are set afterwards by ``demo.builder.calibrage``.
CALIBRAGE_CLS = {1: 1.6, 2: 1.6, 3: 1.9, 4: 3.0}  # by axis
CALIBRAGE_CDIE = {False: 3.8, True: 6.6}  # volet 1 (pilotage), other volets


class FichesMixin(BuilderBase):
    """The fiches of a contract (CLS by axis, CDIE by volet, CPT priority actions) and their indicators."""

    def fiche_statut(self, plan: ContratPlan, fiche: FicheAction, index: int) -> str:
        statut, rng = plan.contrat.statut, plan.rng
        if statut == StatutContrat.BROUILLON:
            return StatutFiche.PROPOSEE
        if statut == StatutContrat.EN_NEGOCIATION:
            return StatutFiche.VALIDEE if rng.random() < 0.6 else StatutFiche.PROPOSEE
        if statut == StatutContrat.PRET_SIGNATURE:
            return StatutFiche.VALIDEE
        if statut == StatutContrat.SIGNE:
            return StatutFiche.EN_COURS if rng.random() < 0.3 else StatutFiche.VALIDEE
        if statut == StatutContrat.CLOS or fiche.date_fin < self.today:
            return StatutFiche.TERMINEE
        if index > 0 and rng.random() < 0.04:
            return StatutFiche.ABANDONNEE
        return StatutFiche.EN_COURS

    def new_fiche(
        self,
        plan: ContratPlan,
        gabarit: Gabarit,
        axe: int,
        code: str,
        index: int,
        *,
        volet: Volet | None = None,
        base: float,
        coll_ratio: float,
        etat: bool = True,
        autre_prob: float = 0.3,
        force_caf: bool = False,
    ) -> FichePlan:
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        w = self.weight(c)
        if contrat.type_contrat == TypeContrat.CDIE:
            debut, fin = contrat.date_debut, contrat.date_fin
        else:
            r = rng.random()
            if r < 0.6:
                debut = date(2024, 1, 1)
            elif r < 0.9:
                debut = date(2024, rng.choice([3, 4, 6, 9]), 1)
            else:
                debut = date(2025, 1, 1)
            fin = date(2025, 12, 31) if rng.random() < 0.12 else contrat.date_fin
        porteur_kind = "caf" if force_caf else gabarit.porteur
        if not force_caf and gabarit.autres_porteurs and rng.random() < 0.2:
            porteur_kind = rng.choice(gabarit.autres_porteurs)
        renforcee = rng.random() < 0.4
        pool = [k for k in dict.fromkeys((*gabarit.autres, *gabarit.porteurs, "ccas", "commune")) if k != porteur_kind]
        partenaires = rng.sample(pool, min(3, len(pool)))
        mesure = self.mesures[gabarit.mesure] if gabarit.mesure else None
        volume = max(1, round(rng.randint(*gabarit.volume) * (0.6 + 0.4 * w)))
        ville = CHEFS_LIEUX.get(self.main_departement(c).code, "")
        entier = rng.random() < 0.75
        fiche = FicheAction(
            uid=self.uid(),
            contrat=contrat,
            code=code,
            intitule=gabarit.intitule,
            axe=self.axes[axe],
            mesure=mesure,
            objectif=mesure.objectif if mesure else self.objectifs.get(gabarit.objectif or ""),
            mesure_locale=gabarit.mesure_locale,
            volet=volet,
            nature=NatureAction.RENFORCEE if renforcee else NatureAction.NOUVELLE,
            justification_renforcement=rng.choice(JUSTIFICATIONS) if renforcee else "",
            contexte=f"Diagnostic territorial 2023 : {gabarit.constat}",
            objectifs=gabarit.objectifs,
            description=gabarit.description,
            public_cible=gabarit.public,
            volume_public=volume,
            territoire_departement_entier=entier,
            territoire_detail="" if entier else f"Quartiers prioritaires et communes du bassin de vie : {ville}",
            porteur=self.partenaire(c, porteur_kind),
            partenaires=", ".join(self.partenaire(c, k).nom for k in partenaires),
            date_debut=debut,
            date_fin=fin,
            jalons=(
                f"{debut:%m/%Y} : lancement et recrutement ; {debut.year} : premiers accueils ; "
                f"{min(debut.year + 1, fin.year)} : bilan intermédiaire en comité de suivi."
            ),
            etp=Decimal(rng.choice(["0.50", "1.00", "1.50", "2.00", "3.00"])) if rng.random() < 0.8 else None,
        )
        fiche.statut = self.fiche_statut(plan, fiche, index)
        years = [y for y in contrat.annees if debut.year <= y <= fin.year]
        fp = FichePlan(self.add(fiche), gabarit, years, porteur_kind=porteur_kind)
        plan.fiches.append(fp)
        self.build_money(plan, fp, base=base * w, coll_ratio=coll_ratio, etat=etat, autre_prob=autre_prob)
        self.build_indicateurs(plan, fp)
        return fp

    def coll_ratio(self, rng: random.Random) -> float:
        return 1.0 if rng.random() < 0.7 else rng.uniform(1.05, 1.6)

    def build_cls_fiches(self, plan: ContratPlan, axes: list[int]) -> None:
        rng, w = plan.rng, self.weight(plan.collectivite)
        metro = plan.contrat.type_contrat == TypeContrat.CLS_METROPOLE
        n = round(rng.uniform(10, 16) + 4 * (w - 1)) if not metro else round(rng.uniform(10, 15) + 3 * w)
        n = max(10, min(25 if not metro else 22, n))
        shares = {1: 0.4, 3: 0.35, 4: 0.25} if not metro else {1: 0.3, 2: 0.2, 3: 0.3, 4: 0.2}
        per_axe = {a: max(1 if metro else 2, round(n * shares[a])) for a in axes}
        first = axes[0]
        per_axe[first] += n - sum(per_axe.values())
        for axe in axes:
            count = min(per_axe[axe], len(CATALOGUE[axe]))
            catalogue = CATALOGUE[axe]
            # Every CLS has the CAF's "rendez-vous des droits" (the partner persona carries it).
            chosen = [catalogue[0]] + rng.sample(catalogue[1:], count - 1) if axe == 3 else rng.sample(catalogue, count)
            for i, gabarit in enumerate(chosen):
                self.new_fiche(
                    plan,
                    gabarit,
                    axe,
                    f"A{axe}-{i + 1:02d}",
                    i,
                    base=rng.uniform(*gabarit.cout) * CALIBRAGE_CLS[axe],
                    coll_ratio=self.coll_ratio(rng),
                    force_caf=axe == 3 and i == 0,
                )

    def build_cdie_fiches(self, plan: ContratPlan) -> None:
        rng, contrat = plan.rng, plan.contrat
        nb_volets = 3 if rng.random() < 0.6 else 2
        code = 0
        for numero in range(1, nb_volets + 1):
            volet = self.add(Volet(contrat=contrat, numero=numero, intitule=VOLETS_CDIE[numero]))
            plan.volets[numero] = volet
            if numero == 1:
                chosen = rng.sample(PILOTAGE, rng.randint(1, 2))
            else:
                pool = [g for g in EMPLOI if g.volet == numero or (nb_volets == 2 and g.volet == 3)]
                chosen = rng.sample(pool, rng.randint(2, 3))
            for gabarit in chosen:
                code += 1
                self.new_fiche(
                    plan,
                    gabarit,
                    2,
                    f"A2-{code:02d}",
                    code - 1,
                    volet=volet,
                    base=rng.uniform(*gabarit.cout) * CALIBRAGE_CDIE[numero > 1],
                    coll_ratio=0.0 if numero == 1 else self.coll_ratio(rng),
                )

    def build_cpt_fiches(self, plan: ContratPlan) -> None:
        """One to three priority actions carried by partners, whom the State pays; partners often add
        their own money, the collectivité seldom; a diagnostic is the State's alone."""
        rng = plan.rng
        chosen = rng.sample(CPT, rng.randint(1, 3))
        counters: dict[int, int] = defaultdict(int)
        for i, gabarit in enumerate(chosen):
            counters[gabarit.axe] += 1
            funded = gabarit.etat_seul or i == 0 or rng.random() < 0.75  # the partners alone fund a few
            coll = 0.0 if gabarit.etat_seul or rng.random() > 0.15 else rng.uniform(0.2, 0.5)
            self.new_fiche(
                plan,
                gabarit,
                gabarit.axe,
                f"A{gabarit.axe}-{counters[gabarit.axe]:02d}",
                i,
                base=rng.uniform(*gabarit.cout),
                coll_ratio=coll,
                etat=funded,
                autre_prob=0.0 if gabarit.etat_seul else 1.0 if not funded else 0.6,
            )

    # -- indicators

    def build_indicateurs(self, plan: ContratPlan, fp: FichePlan) -> None:
        rng = plan.rng
        templates = fp.gabarit.indicateurs
        count = rng.randint(1, len(templates))
        executed = set(self.execution_years(plan, fp)) if plan.signe else set()
        volume = fp.fiche.volume_public or 100
        for nom, type_indicateur, unite in templates[:count]:
            pct = unite == "%"
            base = rng.uniform(40, 70) if pct else volume * rng.uniform(0.5, 1.0)
            indicateur = self.add(
                Indicateur(
                    fiche=fp.fiche,
                    nom=nom,
                    type_indicateur=type_indicateur,
                    unite=unite,
                    valeur_reference=Decimal(round(base * 0.8)) if rng.random() < 0.5 else None,
                    source=rng.choice(SOURCES),
                )
            )
            for i, year in enumerate(fp.years):
                cible = base + i * 3 if pct else base * (1 + 0.1 * i)
                realise = None
                if year in executed:
                    atteint = cible * rng.uniform(0.65, 1.15)
                    realise = Decimal(round(min(atteint, 100) if pct else atteint))
                self.add(
                    ValeurIndicateur(
                        indicateur=indicateur,
                        annee=year,
                        cible=Decimal(round(min(cible, 100) if pct else cible)),
                        realise=realise,
                    )
                )
