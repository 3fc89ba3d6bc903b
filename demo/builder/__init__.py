"""Demo data for the Pacte des solidarités: contracts, fiches actions, money, follow-up, and demo users.

Used by ``manage.py seed_demo`` (and ``bench_seed``). Everything is built in memory and written with
``bulk_create`` in one transaction: the per-object services run ``full_clean`` and several queries
per row, far too slow for a national seed. The data still follows the product's rules, and
``tests/demo/test_seed_demo.py`` checks them through the services: every contract signed or later passes
``contrats.services.signature_errors``.

The State's 2024 money is calibrated on the published figures (``demo.builder.calibrage``: Occitanie
by axis, the national CLS and CDIE totals), which ``tests/demo/test_calibrage.py`` checks on the
national seed. Each collectivité has its pacte local for the period, grouping its contracts; each
contract states its objectives, a preamble and a diagnostic, sometimes its own wording of an axis.
A pacte local's actions are carried by partners, whom the State pays (``Versement.beneficiaire``) and
whose commitments are recorded (``EngagementPartenaire``).

A few deliberate anomalies are planted so that the screens have something to show:

- spent amounts breaking parity on some executed fiches (``financement.services.alertes_realise``);
- a CLS in negotiation whose planned amounts break parity (``signature_errors`` lists it);
- a draft CPT whose State shares exceed its annual ceiling.

The same ``--seed`` (and the same day: signatures and spent amounts stop at today) gives the same
data. Every contract draws from its own random generator, seeded by the seed, the collectivité's code
and the contract type, so its draws do not depend on the other contracts of the scope; UUIDs come
from one more generator seeded by the seed.
No history rows are written for seeded data.

One module per concern, each a mixin of ``DemoBuilder``: ``territoires`` (scope, organisations, demo
users), ``contrats`` (pactes locaux, statuses, the contracts' content, signatories and partners'
commitments, avenants, committees), ``fiches`` (fiches actions, indicators), ``calibrage`` (the money
on the published figures), ``argent`` (funding lines, ceilings, payments, reliquats, reports);
``purge`` empties the domain. The texts come from ``demo/catalogue.py`` (data files in ``demo/data/``).
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

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
from demo.builder.argent import ArgentMixin
from demo.builder.base import BATCH, DEFAULT_REGION, DEFAULT_SEED, SCALES
from demo.builder.calibrage import CalibrageMixin
from demo.builder.contrats import ContratsMixin
from demo.builder.fiches import FichesMixin
from demo.builder.purge import counts, purge
from demo.builder.territoires import DEMO_PASSWORD_DEFAULT, DEMO_USERNAMES, DEMO_USERS, TerritoiresMixin, demo_password
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from financement.synthese import synthese_rebuild

__all__ = [
    "DEFAULT_REGION",
    "DEFAULT_SEED",
    "DEMO_PASSWORD_DEFAULT",
    "DEMO_USERNAMES",
    "DEMO_USERS",
    "SCALES",
    "DemoBuilder",
    "counts",
    "demo_password",
    "purge",
]


class DemoBuilder(TerritoiresMixin, ContratsMixin, FichesMixin, CalibrageMixin, ArgentMixin):
    """Builds the demo data of a scope in memory, then writes it with ``bulk_create``."""

    def build(self) -> None:
        self.load_reference()
        self.ensure_organisations()
        self.users = self.ensure_users()
        self.plafonds: dict[tuple[str, int, int | None], Decimal] = {}
        self.signataire_noms: dict[str, tuple[str, str]] = {}
        self.avenant_plafond: dict[str, tuple] = {}
        self.build_contracts()
        self.ensure_one_report_to_complete()

    def write(self) -> None:
        order = [
            PacteLocal,
            Contrat,
            Contrat.axes.through,
            ObjectifContrat,
            LibelleAxe,
            Volet,
            Signataire,
            EngagementPartenaire,
            Plafond,
            FicheAction,
            LigneFinancement,
            Indicateur,
            ValeurIndicateur,
            Avenant,
            ModificationAvenant,
            Comite,
            Versement,
            Reliquat,
            RapportAnnuel,
        ]
        for model in order:
            model.objects.bulk_create(self.rows.get(model, []), batch_size=BATCH)

    @transaction.atomic
    def run(self) -> None:
        self.build()
        self.write()
        # Written with bulk_create, past the services that keep the dashboards' summary: every contract at once.
        synthese_rebuild()
