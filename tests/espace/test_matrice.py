"""Who gets what on every front-office address: the generated matrix of issue "front office".

Every URL of ``espace.urls`` × every persona → the answer expected: a page (200, or 302 after a
POST that did something), 403 (in the perimeter, not allowed), 404 (outside the perimeter, the same
answer as an unknown key) or the login page (anonymous). A URL added to ``espace.urls`` without a
line in ``CASES`` fails ``test_every_url_has_a_case``. Forbidden POSTs change nothing in the database.

The data set is ``tests/fixtures_donnees.py`` (Hautes-Alpes in the perimeter, Rhône outside), with two
more users: a reader of the Hautes-Alpes' DDETS and an agent of the CAF that carries its actions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from django.db import transaction
from django.urls import get_resolver, reverse

from pacte.enums import Role, TypeOrganisation
from pacte.models import Organisation
from tests import hostile
from tests.factories import UserFactory
from tests.fixtures_donnees import construire_donnees

PERSONAS = ("anonyme", "editeur", "lecteur", "collectivite", "prefecture", "partenaire", "autre")

OK = "ok"  # 200 on GET; 200 (form shown again) or 302 (done) on POST
LOGIN = "login"


def _pattern(**overrides) -> dict[str, str]:
    base = {"anonyme": LOGIN, "editeur": OK, "lecteur": OK, "collectivite": OK, "prefecture": OK}
    base |= {"partenaire": OK, "autre": 404}
    return base | overrides


#: Read a page of the Hautes-Alpes: every agent of the département and the CAF that carries its actions.
LIRE = _pattern()
#: A list: everyone sees their own (the Rhône's agent sees the Rhône's).
LISTE = _pattern(autre=OK)
#: Preparing the contract (DDETS editor): fiches, amounts, ceilings, avenants, statuses.
PREPARER = _pattern(lecteur=403, collectivite=403, prefecture=403, partenaire=403)
#: Execution entries (DDETS or collectivité editor): engagé, réalisé, indicator values.
EXECUTER = _pattern(lecteur=403, prefecture=403, partenaire=403)
#: Recording a signature (prefecture or DDETS editor).
SIGNER = _pattern(lecteur=403, collectivite=403, partenaire=403)
#: Public pages.
PUBLIC = dict.fromkeys(PERSONAS, OK)
#: The contract-wide documents (convention, avenants, reports, documents page): every agent who sees the contract,
#: except a partner (it reads the actions it carries, not the contract's figures).
DOCUMENTS = _pattern(partenaire=403)
#: Batch prints: the State's agents, in their perimeter.
IMPRIMER = _pattern(collectivite=403, partenaire=403, autre=OK)


@dataclass
class Case:
    name: str
    kwargs: dict
    get: dict[str, object]
    post: dict[str, object] | None = None  # None: the page takes no POST (405 for everyone)
    data: dict = field(default_factory=dict)

    @property
    def id(self) -> str:
        return self.name + "".join(f"[{v}]" for v in self.kwargs.values())


BROUILLON, SIGNE = "CU-2024-D05", "CLS-2024-D05"
RHONE = "CLS-2025-D69"

CASES = [
    Case("accueil", {}, PUBLIC | {"anonyme": LOGIN}),
    Case("contrats", {}, LISTE),
    Case("contrat", {"reference": BROUILLON}, LIRE),
    Case("contrat", {"reference": SIGNE}, LIRE),
    Case("contrat_historique", {"reference": BROUILLON}, LIRE),
    Case("contrat_statut", {"reference": BROUILLON, "action": "pret"}, PREPARER, PREPARER),
    Case("contrat_statut", {"reference": SIGNE, "action": "clore"}, PREPARER, PREPARER),
    Case("fiches", {}, LISTE),
    Case("fiche_creer", {"reference": BROUILLON}, PREPARER, PREPARER),
    Case("controle", {"reference": BROUILLON}, PREPARER, PREPARER),
    Case("fiche", {"reference": BROUILLON, "code": "A1-01"}, LIRE),
    Case("fiche_modifier", {"reference": BROUILLON, "code": "A1-01"}, PREPARER, PREPARER),
    Case("fiche_execution", {"reference": SIGNE, "code": "A1-01"}, EXECUTER, EXECUTER),
    Case("fiche_historique", {"reference": BROUILLON, "code": "A1-01"}, LIRE),
    Case("fiche_statut", {"reference": BROUILLON, "code": "A1-01", "action": "valider"}, PREPARER, PREPARER),
    Case("avenant_creer", {"reference": SIGNE}, PREPARER, PREPARER),
    # An avenant is outside a partner's perimeter (Avenant.objects.for_user: it hangs on no action the partner
    # carries, and it changes the whole contract's money): 404 for the CAF, as for its PDF below (DOMAIN §7).
    Case("avenant", {"reference": SIGNE, "numero": 1}, _pattern(partenaire=404)),
    Case(
        "avenant_proposer",
        {"reference": SIGNE, "numero": 1, "nature": "prevu"},
        PREPARER | {"partenaire": 404},
        PREPARER | {"partenaire": 404},
    ),
    Case(
        "avenant_statut",
        {"reference": SIGNE, "numero": 1, "action": "pret"},
        PREPARER | {"partenaire": 404},
        PREPARER | {"partenaire": 404},
    ),
    # Excel in and out (espace.views.excel): a list's export follows its list (each user its own perimeter, a partner
    # the actions it carries); a contract's payments are its money, not a partner's (403, as its documents). Importing
    # writes: the DDETS editor (everything) or the collectivité's (its execution data), in the perimeter. An import's
    # preview (import_apercu, its uid) is its author's only: tests/espace/test_excel.py walks the personas over it.
    Case("fiches_export", {"format": "xlsx"}, LISTE),
    Case("contrats_export", {"format": "csv"}, LISTE),
    Case("versements_export", {"reference": SIGNE, "format": "xlsx"}, DOCUMENTS),
    Case("indicateurs_export", {"format": "csv"}, LISTE),
    Case("import_modele", {}, LISTE),
    Case("import", {"reference": BROUILLON}, EXECUTER, EXECUTER),
    # Dashboards: a territory is shown to whoever's perimeter holds all of it, else 404 like an unknown code
    # (espace.views.tableaux). The Hautes-Alpes' agents: their département and D05 (the collectivité's agent: D05
    # only); the Rhône's DDETS: its own 69 only; none of them holds the whole région 93. A partner has no territory of
    # its own (its perimeter is the actions it carries: 403 on tableaux/, 404 on a territory). The other persona's
    # own dashboard is the Rhône's: 200 on tableaux/ and on its export (the user's own territory without niveau).
    Case("tableau", {}, _pattern(partenaire=403, autre=OK)),
    Case("tableau_region", {"code": "93"}, dict.fromkeys(PERSONAS, 404) | {"anonyme": LOGIN}),
    Case("tableau_departement", {"code": "05"}, _pattern(collectivite=404, partenaire=404)),
    Case("tableau_collectivite", {"code": "D05"}, _pattern(partenaire=404)),
    Case("tableau_export", {"format": "csv"}, _pattern(partenaire=403, autre=OK)),
    # A contract's money: read by every agent who sees the contract, except a partner (the contract-wide figures,
    # DOMAIN §7: 403 as for its documents); payments and reliquat decisions are the DDETS editor's
    # (can_follow_payments). A payment's own pages (uid) are checked in tests/espace/test_argent.py.
    Case("argent", {"reference": SIGNE}, DOCUMENTS),
    Case("versement_creer", {"reference": SIGNE}, PREPARER, PREPARER),
    Case("reliquat", {"reference": SIGNE, "annee": 2024}, PREPARER, PREPARER),
    # Annual reports: outside a partner's perimeter (they hang on no action it carries), like their PDF below. Writing
    # and sending are the collectivité's and the DDETS's (can_enter_execution); returning and validating, the DDETS's
    # check that opens the balance payment (can_follow_payments). The 2024 report of the signed CLS is in redaction:
    # "valider" is refused by its transitions (a redirect with the message), "transmettre" goes through.
    Case("rapports", {}, LISTE),
    Case("rapport", {"reference": SIGNE, "annee": 2024}, _pattern(partenaire=404)),
    Case(
        "rapport_modifier",
        {"reference": SIGNE, "annee": 2024},
        EXECUTER | {"partenaire": 404},
        EXECUTER | {"partenaire": 404},
    ),
    Case(
        "rapport_statut",
        {"reference": SIGNE, "annee": 2024, "action": "transmettre"},
        EXECUTER | {"partenaire": 404},
        EXECUTER | {"partenaire": 404},
    ),
    Case(
        "rapport_statut",
        {"reference": SIGNE, "annee": 2024, "action": "valider"},
        PREPARER | {"partenaire": 404},
        PREPARER | {"partenaire": 404},
    ),
    # The convention, its avenants and reports hold every action and amount of the contract: a partner sees the
    # actions it carries, not the contract-wide figures (DOMAIN §7), so 403 there; its fiche's PDF stays readable.
    Case("convention_pdf", {"reference": BROUILLON}, DOCUMENTS),
    Case("fiche_pdf", {"reference": BROUILLON, "code": "A1-01"}, LIRE),
    # Avenants and annual reports are outside a partner's perimeter altogether (they hang on no action it carries).
    Case("avenant_pdf", {"reference": SIGNE, "numero": 1}, _pattern(partenaire=404)),
    Case("rapport_pdf", {"reference": SIGNE, "annee": 2024}, _pattern(partenaire=404)),
    # Freezing the signed document by hand (the CLS was signed before the freeze existed): who records signatures.
    Case("documents", {"reference": SIGNE}, DOCUMENTS, SIGNER | {"partenaire": 403}, data={"operation": "figer"}),
    # Batch prints are for the State's agents (DDETS, préfecture, DREETS, centrale: DOMAIN §7 "prints and downloads
    # signed conventions", "consolidates, exports"), each in its perimeter: the Rhône's agent is refused the 05 (200,
    # the form says so); a collectivité's or a partner's agent: 403.
    Case("impressions", {}, IMPRIMER, IMPRIMER, data={"territoire": "departement:05"}),
    Case("verification", {}, PUBLIC, PUBLIC),
]

#: URL names whose key is not known before the data set exists (a modification's uid): built in the test.
DYNAMIC = {"avenant_retirer", "impression", "versement", "versement_statut", "import_apercu"}


def test_every_url_has_a_case():
    names = {p.name for p in get_resolver("espace.urls").url_patterns}
    missing = names - {c.name for c in CASES} - DYNAMIC
    assert not missing, f"URL sans ligne dans la matrice : {sorted(missing)}"


@pytest.fixture(scope="module")
def donnees(django_db_setup, django_db_blocker):
    """One data set for the module, in a transaction rolled back at its end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            d = construire_donnees()
            ddets_05 = d.editeur_05.organisation
            caf_05 = Organisation.objects.get(nom="CAF des Hautes-Alpes")
            users = {
                "editeur": d.editeur_05,
                "lecteur": UserFactory(username="lecteur05-matrice", organisation=ddets_05, role=Role.LECTEUR),
                "collectivite": Organisation.objects.get(
                    type=TypeOrganisation.COLLECTIVITE, collectivite__code="D05"
                ).membres.get(),
                "prefecture": Organisation.objects.get(
                    type=TypeOrganisation.PREFECTURE, departement__code="05"
                ).membres.get(),
                "partenaire": UserFactory(username="caf05-matrice", organisation=caf_05),
                "autre": Organisation.objects.get(type=TypeOrganisation.DDETS, departement__code="69").membres.get(),
            }
            yield d, users
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def _answer(response, expected) -> object:
    """The response in the matrix's words, so that a mismatch prints what happened."""
    code = response.status_code
    if code == 302 and "/connexion/" in response.get("Location", ""):
        return LOGIN
    if expected == OK and code in (200, 302):
        return OK
    return code


def _run(client, users, url: str, method: str, expected: dict, data: dict, personas=PERSONAS) -> list[str]:
    mismatches = []
    for persona in personas:
        client.logout()
        if persona != "anonyme":
            client.force_login(users[persona])
        want = expected[persona]
        response = client.get(url) if method == "GET" else client.post(url, data)
        got = _answer(response, want)
        if got != want:
            mismatches.append(f"{method} {url} {persona}: attendu {want}, obtenu {got}")
    return mismatches


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matrix(client, db, donnees, case):
    d, users = donnees
    url = reverse(f"espace:{case.name}", kwargs=case.kwargs)
    mismatches = _run(client, users, url, "GET", case.get, {})
    if case.post is not None:
        # The personas refused first: their POSTs must leave every row as it was.
        forbidden = [p for p in PERSONAS if case.post[p] != OK]
        models_ = hostile.Snapshot.models(["pacte", "contrats", "actions", "financement"])
        before = hostile.Snapshot.take(models_)
        mismatches += _run(client, users, url, "POST", case.post, case.data, forbidden)
        changes = before.diff(hostile.Snapshot.take(models_), models_)
        assert not changes, f"POST refusé mais la base a changé : {changes}"
        allowed = [p for p in PERSONAS if p not in forbidden]
        mismatches += _run(client, users, url, "POST", case.post, case.data, allowed)
    assert not mismatches, "\n".join(mismatches)
