"""Contracts: their pacte local, statuses (drawn, or forced by the stories), own content (objectives,
preamble, diagnostic, local wording of axes), signatories and partners' commitments, avenants and committees."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from actions.enums import NatureAction
from contrats.enums import (
    PREFIXES,
    NatureModification,
    PartieSignataire,
    StatutAvenant,
    StatutContrat,
    TypeComite,
    TypeContrat,
)
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
)
from demo.builder.argent import ceil_to, euros
from demo.builder.base import (
    DEPARTEMENT_NATURES,
    SHOWCASE,
    STATUTS_SIGNES,
    BuilderBase,
    ContratPlan,
    FichePlan,
    types_of,
)
from demo.builder.territoires import de
from demo.catalogue import (
    APPORTS_EN_NATURE,
    AXE4,
    DIAGNOSTICS,
    LIBELLES_AXES,
    MOTIFS_RESILIATION,
    OBJECTIFS_CONTRAT,
    PREAMBULES,
    QUALITE_PARTENAIRE,
    SIGNATAIRES_CPT,
)
from financement.enums import TypeFinanceur
from pacte.enums import NatureCollectivite
from pacte.models import Collectivite, Organisation
from pacte.money import ZERO, format_euros
from pacte.validators import pacte_years

# Forced statuses: the showcase collectivité and three others tell every part of the story. The planned
# parity breach sits on a CLS: a pacte local has no parity with the collectivité.
STORIES = {
    # slot: {famille: (status, story)}
    "A": {
        "cls": (StatutContrat.EN_EXECUTION, "vitrine"),
        "cdie": (StatutContrat.CLOS, ""),
        "cpt": (StatutContrat.EN_NEGOCIATION, ""),
    },
    "B": {"cls": (StatutContrat.EN_EXECUTION, "rapport_a_completer"), "cpt": (StatutContrat.RESILIE, "")},
    "C": {"cls": (StatutContrat.EN_EXECUTION, "avenant"), "cpt": (StatutContrat.PRET_SIGNATURE, "")},
    "D": {"cls": (StatutContrat.EN_NEGOCIATION, "parite_prevue"), "cpt": (StatutContrat.BROUILLON, "plafond_depasse")},
}
# Share of the contracts whose territory words one or two axes its own way.
PART_LIBELLES_LOCAUX = 0.25
POIDS_STATUTS = {
    "cls": {
        StatutContrat.EN_EXECUTION: 55,
        StatutContrat.SIGNE: 20,
        StatutContrat.PRET_SIGNATURE: 7,
        StatutContrat.EN_NEGOCIATION: 10,
        StatutContrat.BROUILLON: 5,
        StatutContrat.RESILIE: 3,
    },
    "cdie": {
        StatutContrat.EN_EXECUTION: 35,
        StatutContrat.CLOS: 30,
        StatutContrat.SIGNE: 20,
        StatutContrat.PRET_SIGNATURE: 5,
        StatutContrat.EN_NEGOCIATION: 5,
        StatutContrat.BROUILLON: 5,
    },
    "cpt": {
        StatutContrat.SIGNE: 30,
        StatutContrat.EN_EXECUTION: 30,
        StatutContrat.EN_NEGOCIATION: 15,
        StatutContrat.PRET_SIGNATURE: 10,
        StatutContrat.BROUILLON: 10,
        StatutContrat.RESILIE: 5,
    },
}


def qualite_president(c: Collectivite, feminine: bool, de_dep: str) -> str:
    titre = "Présidente" if feminine else "Président"
    if c.code == "VILLE-PARIS":
        return "Maire de Paris"
    if c.code in ("CDC", "CTM"):
        return f"{titre} du conseil exécutif {de(c.nom.split(' de ')[-1])}"
    if c.nature == NatureCollectivite.DEPARTEMENT:
        return f"{titre} du conseil départemental {de_dep}"
    return f"{titre} {de(c.nom)}"


class ContratsMixin(BuilderBase):
    """One contract per collectivité and type, with its axes, signatories, avenants and committees."""

    # -- contracts

    def contract_list(self) -> list[tuple[Collectivite, str]]:
        return [(c, t) for c in self.scope for t in types_of(c)]

    def story_slots(self) -> dict[str, Collectivite]:
        """A: the showcase (D05 when in scope), B: another département, C and D: métropoles (or départements)."""
        deps = [c for c in self.scope if not c.est_metropole and c.nature in DEPARTEMENT_NATURES]
        metros = [c for c in self.scope if c.est_metropole]
        if not deps:
            return {}
        showcase = self.by_code.get(SHOWCASE) if self.by_code.get(SHOWCASE) in deps else deps[0]

        def near(cs):  # same région as the showcase first
            return sorted(cs, key=lambda c: (c.region_id != showcase.region_id, c.code))

        order = [showcase] + near([c for c in deps if c != showcase])
        metros = near(metros)
        slots = {"A": showcase}
        rest = order[1:]
        if rest:
            slots["B"] = rest.pop(0)
        for slot in ("C", "D"):
            pool = metros or rest
            if pool:
                slots[slot] = pool.pop(0)
        return slots

    def assign_statuses(self, plans: list[ContratPlan]) -> None:
        slots = {c.code: s for s, c in self.story_slots().items()}
        forced = set()
        for plan in plans:
            weights = POIDS_STATUTS[plan.famille]
            plan.contrat.statut = plan.rng.choices(list(weights), weights=list(weights.values()))[0]
            slot = slots.get(plan.collectivite.code)
            if slot and plan.famille in STORIES[slot]:
                plan.contrat.statut, plan.story = STORIES[slot][plan.famille]
                forced.add(plan.contrat.reference)
        # Every status shows up somewhere (when the scope has enough contracts).
        present = {p.contrat.statut for p in plans}
        for statut in StatutContrat.values:
            if statut in present:
                continue
            candidates = [
                p
                for p in plans
                if p.contrat.reference not in forced
                and (statut != StatutContrat.CLOS or p.contrat.type_contrat == TypeContrat.CDIE)
            ]
            if candidates:
                candidates[0].contrat.statut = statut
                forced.add(candidates[0].contrat.reference)
                present.add(statut)

    def build_contracts(self) -> None:
        """Every contract of the scope: first its content and planned money, then (once the money is
        calibrated on the published figures) its signatures, ceilings, avenants and execution."""
        for c, type_contrat in self.contract_list():
            rng = random.Random(f"{self.seed}:{c.code}:{type_contrat}")
            cdie = type_contrat == TypeContrat.CDIE
            debut = date(2024, 1, 1)
            fin = date(2024, 12, 31) if cdie else date(2027, 12, 31)
            titre = self.titres.get(type_contrat, "")
            if type_contrat == TypeContrat.CLS_DEPARTEMENT and rng.random() < 0.2:
                titre = "Contrat départemental des solidarités"
            contrat = Contrat(
                uid=self.uid(),
                reference=f"{PREFIXES[type_contrat]}-{debut.year}-{c.code}",
                type_contrat=type_contrat,
                titre=f"{titre} 2024-{fin.year} – {c.nom}" if not cdie else f"{titre} 2024 – {c.nom}",
                collectivite=c,
                date_debut=debut,
                date_fin=fin,
            )
            self.plans.append(ContratPlan(contrat, c, rng))
        self.assign_statuses(self.plans)
        pactes = self.build_pactes_locaux()
        for plan in self.plans:
            plan.contrat.pacte_local = pactes[plan.collectivite.code]
            self.plan_contract(plan)
        self.calibrate()
        for plan in self.plans:
            self.finish_contract(plan)

    def build_pactes_locaux(self) -> dict[str, PacteLocal]:
        """One pacte local per collectivité of the scope for the Pacte's period (an existing one is kept)."""
        years = pacte_years()
        existing = {
            p.collectivite.code: p
            for p in PacteLocal.objects.filter(collectivite__in=self.scope, annee_debut=years[0]).select_related(
                "collectivite"
            )
        }
        pactes = {}
        for c in self.scope:
            pactes[c.code] = existing.get(c.code) or self.add(
                PacteLocal(
                    uid=self.uid(),
                    collectivite=c,
                    annee_debut=years[0],
                    annee_fin=years[-1],
                    intitule=f"Pacte local des solidarités – {c.nom}",
                )
            )
        return pactes

    def plan_contract(self, plan: ContratPlan) -> None:
        """The contract, its axes, its own content and its fiches with their planned money."""
        contrat, rng = plan.contrat, plan.rng
        self.add(contrat)
        if plan.signe:
            start = {"cls": date(2024, 2, 1), "cdie": date(2024, 3, 1), "cpt": date(2024, 4, 1)}[plan.famille]
            contrat.date_signature = self.past(self.day(rng, start, 150))
            if contrat.statut == StatutContrat.RESILIE:
                plan.termine_le = date(2025, rng.choice([3, 6, 9]), 30)
                contrat.motif_fin = rng.choice(MOTIFS_RESILIATION)
            elif contrat.statut == StatutContrat.CLOS:
                contrat.motif_fin = "Convention arrivée à échéance ; bilan présenté en comité de pilotage."
        axes = {"cls": [1, 3, 4], "cdie": [2], "cpt": [1, 2, 3, 4]}[plan.famille]
        if contrat.type_contrat == TypeContrat.CLS_METROPOLE:
            axes = [1, 2, 3, 4]
        for numero in axes:
            self.add(Contrat.axes.through(contrat=contrat, axe=self.axes[numero]))
        self.build_contenu(plan, axes)
        if plan.famille == "cdie":
            self.build_cdie_fiches(plan)
        elif plan.famille == "cpt":
            self.build_cpt_fiches(plan)
        else:
            self.build_cls_fiches(plan, axes)

    def finish_contract(self, plan: ContratPlan) -> None:
        """What follows the calibrated money: spent amounts, signatures, stories, ceilings, avenants, follow-up."""
        if plan.signe:
            for fp in plan.fiches:
                self.build_execution_money(plan, fp)
        self.build_signataires(plan)
        self.build_story_money(plan)
        self.build_plafonds(plan)
        self.finish_avenant_plafond(plan)
        if plan.story == "vitrine":
            self.build_avenant_brouillon(plan)
        if plan.signe:
            self.build_execution_follow_up(plan)

    # -- the contract's own content

    def build_contenu(self, plan: ContratPlan, axes: list[int]) -> None:
        """A preamble and a diagnostic, two to four objectives (two or three for a CDIE) and, in some
        territories, the local wording of one or two axes."""
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        values = {
            "nom": c.nom,
            "de_dep": self.de_dep[self.main_departement(c).code],
            "periode": f"{contrat.date_debut.year}-{contrat.date_fin.year}"
            if contrat.date_fin.year > contrat.date_debut.year
            else str(contrat.date_debut.year),
        }
        contrat.preambule = rng.choice(PREAMBULES).format(**values)
        contrat.diagnostic = rng.choice(DIAGNOSTICS[plan.famille]).format(**values)
        objectifs = OBJECTIFS_CONTRAT[plan.famille]
        count = rng.randint(2, 3) if plan.famille == "cdie" else rng.randint(2, 4)
        for ordre, libelle in enumerate(rng.sample(objectifs, min(count, len(objectifs))), start=1):
            self.add(ObjectifContrat(contrat=contrat, ordre=ordre, libelle=libelle))
        if rng.random() < PART_LIBELLES_LOCAUX:
            for numero in sorted(rng.sample(axes, min(len(axes), rng.randint(1, 2)))):
                self.add(LibelleAxe(contrat=contrat, axe=self.axes[numero], libelle=rng.choice(LIBELLES_AXES[numero])))

    # -- signatories

    def build_signataires(self, plan: ContratPlan) -> None:
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        dep = self.main_departement(c)
        de_dep = self.de_dep[dep.code]
        prefet, prefete = self.person(rng)
        president, presidente = self.person(rng)
        self.signataire_noms[contrat.reference] = (prefet, president)
        if contrat.statut not in STATUTS_SIGNES and contrat.statut != StatutContrat.PRET_SIGNATURE:
            return
        signed_on = contrat.date_signature
        etat_date = signed_on
        coll_date = signed_on - timedelta(days=rng.randint(0, 10)) if signed_on else None
        if contrat.statut == StatutContrat.PRET_SIGNATURE:  # signatures being collected
            etat_date, coll_date = None, self.past(self.day(rng, date(2026, 9, 1), 60)) if rng.random() < 0.5 else None
        self.add(
            Signataire(
                contrat=contrat,
                partie=PartieSignataire.ETAT,
                nom=prefet,
                qualite=f"{'Préfète' if prefete else 'Préfet'} {de_dep}",
                date_signature=etat_date,
            )
        )
        self.add(
            Signataire(
                contrat=contrat,
                partie=PartieSignataire.COLLECTIVITE,
                nom=president,
                qualite=qualite_president(c, presidente, de_dep),
                date_signature=coll_date,
            )
        )
        if contrat.type_contrat == TypeContrat.CPT:
            for kind in self.cpt_partners(plan):
                nom, feminine = self.person(rng)
                org = self.partenaire(c, kind)
                self.add(
                    Signataire(
                        contrat=contrat,
                        partie=PartieSignataire.PARTENAIRE,
                        organisation=org,
                        nom=nom,
                        qualite=f"{QUALITE_PARTENAIRE[kind][feminine]}, {org.nom}",
                        date_signature=coll_date,
                    )
                )
                self.build_engagements(plan, kind, org)

    def cpt_partners(self, plan: ContratPlan) -> list[str]:
        """Who signs a pacte local besides the State and the collectivité: the partners that carry or fund
        its actions, then institutions drawn among ``SIGNATAIRES_CPT``: at least two partners."""
        kinds = list(
            dict.fromkeys(
                k for fp in plan.fiches for k in (fp.porteur_kind, fp.autre_kind) if k and k != "collectivite"
            )
        )
        others = [k for k in SIGNATAIRES_CPT if k not in kinds]
        wanted = max(2, min(5, len(kinds) + plan.rng.randint(1, 2)))
        return kinds + plan.rng.sample(others, max(0, min(len(others), wanted - len(kinds))))

    def build_engagements(self, plan: ContratPlan, kind: str, org: Organisation) -> None:
        """A partner's commitments to the pacte local for each year: the money of its funding lines, some
        staff, what it lends in kind."""
        contrat, rng = plan.contrat, plan.rng
        etp = Decimal(rng.choice(["0.20", "0.50", "1.00", "1.50"])) if rng.random() < 0.8 else None
        en_nature = APPORTS_EN_NATURE.get(kind, APPORTS_EN_NATURE["autre"])
        for year in contrat.annees:
            montant = sum(
                (
                    lignes["autre"].prevu
                    for fp in plan.fiches
                    for lignes in [fp.lignes.get(year, {})]
                    if "autre" in lignes and lignes["autre"].financeur is org
                ),
                ZERO,
            )
            self.add(
                EngagementPartenaire(
                    contrat=contrat, organisation=org, annee=year, montant=montant, etp=etp, en_nature=en_nature
                )
            )

    # -- avenants

    def build_avenant_signe(self, plan: ContratPlan, funded: list[FichePlan]) -> None:
        contrat, rng = plan.contrat, plan.rng
        candidates = [fp for fp in funded if 2025 in fp.lignes and "etat" in fp.lignes[2025]]
        if not candidates or self.today < date(2025, 3, 1):
            return
        fp = candidates[0]
        signed_on = self.past(max(contrat.date_signature + timedelta(days=60), self.day(rng, date(2025, 1, 15), 60)))
        avenant = self.add(
            Avenant(
                uid=self.uid(),
                contrat=contrat,
                numero=1,
                objet=f"Actualisation de l'annexe financière 2025 et renforcement de l'action {fp.fiche.code}",
                statut=StatutAvenant.SIGNE,
                date_signature=signed_on,
                signataire_etat=self.signataire_noms[contrat.reference][0],
                signataire_collectivite=self.signataire_noms[contrat.reference][1],
            )
        )
        applied = timezone.make_aware(datetime.combine(signed_on, time(11, 0)))
        lignes = fp.lignes[2025]
        delta = euros(float(lignes["etat"].prevu) * rng.uniform(0.1, 0.25), 500) or Decimal("1000.00")
        for kind in ("etat", "collectivite"):
            ligne = lignes.get(kind)
            if ligne is None:
                continue
            avant, ligne.prevu = ligne.prevu, ligne.prevu + delta
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.PREVU,
                    libelle=(
                        f"Fiche {fp.fiche.code}, 2025, {TypeFinanceur(kind).label} : {format_euros(ligne.prevu)} prévus"
                    ),
                    cible={"fiche": fp.fiche.code, "annee": 2025, "type_financeur": kind, "financeur": None},
                    avant=str(avant),
                    apres=str(ligne.prevu),
                    applique_le=applied,
                )
            )
        if fp.fiche.volume_public:
            avant_volume = fp.fiche.volume_public
            fp.fiche.volume_public = round(avant_volume * 1.25)
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.FICHE,
                    libelle=f"Fiche {fp.fiche.code} : volume de public attendu",
                    cible={"fiche": fp.fiche.code},
                    avant={"volume_public": avant_volume},
                    apres={"volume_public": fp.fiche.volume_public},
                    applique_le=applied,
                )
            )
        # The ceiling of 2025 follows: recorded once ceilings are sized (see ``finish_avenant_plafond``).
        self.avenant_plafond[contrat.reference] = (avenant, 2025, delta, applied)

    def finish_avenant_plafond(self, plan: ContratPlan) -> None:
        pending = self.avenant_plafond.pop(plan.contrat.reference, None)
        if not pending:
            return
        avenant, year, delta, applied = pending
        apres = self.plafonds.get((plan.contrat.reference, year, None))
        if apres is None:
            return
        avant = ceil_to(self.state_sums(plan)[(year, None)] - delta, 5_000)
        if avant >= apres:
            return
        self.add(
            ModificationAvenant(
                avenant=avenant,
                nature=NatureModification.PLAFOND,
                libelle=f"Enveloppe {year} : {format_euros(apres)}",
                cible={"annee": year, "volet": None},
                avant=str(avant),
                apres=str(apres),
                applique_le=applied,
            )
        )

    def build_avenant_brouillon(self, plan: ContratPlan) -> None:
        """The one open avenant of the demo: a new action, its 2026 money and ceiling, not signed yet
        (it can be signed through the services as it stands)."""
        contrat, rng, c = plan.contrat, plan.rng, plan.collectivite
        numero = 1 + sum(1 for a in self.rows[Avenant] if a.contrat is contrat)
        avenant = self.add(
            Avenant(
                uid=self.uid(),
                contrat=contrat,
                numero=numero,
                objet="Annexe financière 2026 et nouvelle action « Aide à l'achat de vélos »",
            )
        )
        used = {fp.fiche.code for fp in plan.fiches if fp.fiche.axe.numero == 4}
        code = next(f"A4-{i:02d}" for i in range(1, 100) if f"A4-{i:02d}" not in used)
        gabarit = next(g for g in AXE4 if g.intitule.startswith("Aide à l'achat de vélos"))
        porteur = self.partenaire(c, gabarit.porteur)
        self.add(
            ModificationAvenant(
                avenant=avenant,
                nature=NatureModification.FICHE_AJOUT,
                libelle=f"Nouvelle fiche {code} : {gabarit.intitule}",
                cible={"fiche": code},
                apres={
                    "intitule": gabarit.intitule,
                    "axe": 4,
                    "mesure": gabarit.mesure,
                    "nature": str(NatureAction.NOUVELLE),
                    "objectifs": gabarit.objectifs,
                    "description": gabarit.description,
                    "public_cible": gabarit.public,
                    "porteur": porteur.pk,
                    "date_debut": "2026-01-01",
                    "date_fin": "2027-12-31",
                },
            )
        )
        montant = euros(rng.uniform(12_000, 20_000), 500)
        for kind in (TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE):
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.PREVU,
                    libelle=f"Fiche {code}, 2026, {TypeFinanceur(kind).label} : {format_euros(montant)} prévus",
                    cible={"fiche": code, "annee": 2026, "type_financeur": str(kind), "financeur": None},
                    apres=str(montant),
                )
            )
        plafond = self.plafonds.get((contrat.reference, 2026, None))
        if plafond is not None:
            apres = plafond + ceil_to(montant, 5_000)
            self.add(
                ModificationAvenant(
                    avenant=avenant,
                    nature=NatureModification.PLAFOND,
                    libelle=f"Enveloppe 2026 : {format_euros(apres)}",
                    cible={"annee": 2026, "volet": None},
                    apres=str(apres),
                )
            )

    # -- committees

    def build_comites(self, plan: ContratPlan, years: list[int]) -> None:
        contrat, c, rng = plan.contrat, plan.collectivite, plan.rng
        de_dep = self.de_dep[self.main_departement(c).code]
        participants = (
            f"Préfecture {de_dep}, {c.nom}, DDETS {de_dep}, CAF, CPAM, France Travail, ARS, "
            "associations porteuses des actions"
        )
        for year in years:
            self.add(
                Comite(
                    uid=self.uid(),
                    contrat=contrat,
                    type_comite=TypeComite.PILOTAGE,
                    date=self.past(self.day(rng, date(year, 11, 15), 30)),
                    lieu=f"Préfecture {de_dep}" if rng.random() < 0.5 else f"Salle du conseil – {c.nom}",
                    participants=participants,
                    decisions=(
                        f"Bilan de l'exécution {year} présenté et approuvé. "
                        + (
                            "Clôture de la convention."
                            if contrat.type_contrat == TypeContrat.CDIE
                            else f"Programmation {year + 1} validée ; les actions en sous-réalisation font l'objet "
                            "d'un point d'étape au prochain comité de suivi."
                        )
                    ),
                )
            )
            if contrat.type_contrat != TypeContrat.CDIE and year > 2024:
                self.add(
                    Comite(
                        uid=self.uid(),
                        contrat=contrat,
                        type_comite=TypeComite.SUIVI,
                        date=self.past(self.day(rng, date(year, 6, 1), 25)),
                        lieu=f"DDETS {de_dep}",
                        participants=f"DDETS {de_dep}, services de la collectivité, porteurs des actions",
                        decisions="Point d'étape sur les indicateurs ; relance des porteurs en retard de saisie.",
                    )
                )
