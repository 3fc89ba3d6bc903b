"""Fiches actions in the front office: the list (facets, search, sorting, pages, totals), a fiche's page
(every field, the funding grid, parity per year, indicators, buttons) and its status changes.

The data set (:func:`jeu`) is built with the factories; every expectation is written out or computed
here from the rows themselves, never by the code under test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import lxml.html
import pytest
from django.contrib.messages import get_messages
from django.db import connection
from django.urls import reverse

from actions.enums import STATUTS_ACTIFS, NatureAction, StatutFiche
from actions.models import FicheAction
from contrats.enums import TypeContrat
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from pacte.enums import Role
from pacte.models import Mesure, Objectif
from pacte.money import format_euros
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    UserFactory,
    ValeurIndicateurFactory,
    axe,
    collectivite,
    departement,
)

ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
LISTE = reverse("espace:fiches")


# --- Data ----------------------------------------------------------------------------------------------


@dataclass
class Jeu:
    cls: object
    cdie: object
    rhone: object
    caf: object
    relais: object
    france_travail: object
    fiches: dict  # code → fiche, Hautes-Alpes


def _lignes(fiche, *lignes):
    for annee, type_financeur, prevu, *reste in lignes:
        financeur = reste[0] if reste else None
        LigneFinancementFactory(
            fiche=fiche, annee=annee, type_financeur=type_financeur, financeur=financeur, prevu=Decimal(prevu)
        )


@pytest.fixture
def jeu(db) -> Jeu:
    """Hautes-Alpes: a CLS in negotiation (three fiches) and a signed CDIE (one); Rhône: a CLS (one)."""
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))
    relais = OrganisationFactory(nom="Association Relais", departement=departement("05"))
    france_travail = OrganisationFactory(nom="France Travail Hautes-Alpes", departement=departement("05"))
    caf_69 = OrganisationFactory(nom="CAF du Rhône", departement=departement("69"))
    cls = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    cdie = ContratFactory(collectivite=collectivite("D05"), cdie=True, reference="CDIE-2024-D05", signe=True)
    rhone = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2025-D69")

    mesure = Mesure.objects.get(code="1.2")
    a101 = FicheActionFactory(
        contrat=cls,
        code="A1-01",
        axe=axe(1),
        mesure=mesure,
        objectif=mesure.objectif,
        porteur=caf,
        intitule="Bus des familles",
        description="Un bus itinérant pour l'insertion des familles rurales.",
        statut=StatutFiche.VALIDEE,
    )
    _lignes(a101, (2024, ETAT, "10000"), (2024, COLL, "12000"), (2025, ETAT, "8000"), (2025, COLL, "8000"))
    _lignes(a101, (2025, AUTRE, "3000", france_travail))
    a102 = FicheActionFactory(
        contrat=cls,
        code="A1-02",
        axe=axe(1),
        objectif=Objectif.objects.get(code="O1-2"),
        porteur=relais,
        intitule="Centre parental",
        public_cible="Parents isolés",
        nature=NatureAction.RENFORCEE,
        justification_renforcement="Deux nouvelles communes.",
    )
    _lignes(a102, (2024, ETAT, "5000"), (2024, COLL, "5000"))
    a301 = FicheActionFactory(
        contrat=cls,
        code="A3-01",
        axe=axe(3),
        mesure_locale="Domiciliation locale",
        porteur=caf,
        intitule="Accès aux droits et Insertion",
        statut=StatutFiche.ABANDONNEE,
    )
    _lignes(a301, (2024, ETAT, "7000"), (2024, COLL, "7000"))
    a201 = FicheActionFactory(
        contrat=cdie,
        code="A2-01",
        axe=axe(2),
        porteur=france_travail,
        intitule="Orientation rapide des allocataires",
        statut=StatutFiche.EN_COURS,
        date_fin=date(2024, 12, 31),
    )
    _lignes(a201, (2024, ETAT, "20000"), (2024, COLL, "20500"), (2024, AUTRE, "1000", caf))
    fiche_69 = FicheActionFactory(
        contrat=rhone, code="A1-01", porteur=caf_69, intitule="Insertion des jeunes du Rhône", description="Bus."
    )
    _lignes(fiche_69, (2025, ETAT, "99000"), (2025, COLL, "99000"))
    fiches = {"A1-01": a101, "A1-02": a102, "A3-01": a301, "A2-01": a201}
    return Jeu(cls, cdie, rhone, caf, relais, france_travail, fiches)


# --- Reading pages -------------------------------------------------------------------------------------


def _html(response) -> lxml.html.HtmlElement:
    text = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in text
    return lxml.html.fromstring(text)


def _texte(element) -> str:
    """The element's text, ASCII white space collapsed (the non-breaking spaces of amounts kept)."""
    return re.sub(r"[ \t\r\n]+", " ", element.text_content()).strip()


def _rangs(response) -> list[tuple[str, str]]:
    """The (contract, code) of each row of the fiches table, in order."""
    doc = _html(response)
    rows = doc.xpath('//div[@id="fiches"]//tbody/tr[td/a]')
    return [(_texte(row.xpath("td[1]")[0]), _texte(row.xpath("td[2]")[0])) for row in rows]


def _codes(response) -> set[tuple[str, str]]:
    return set(_rangs(response))


def _totaux(response) -> list[str]:
    doc = _html(response)
    return [_texte(td) for td in doc.xpath('//div[@id="totaux"]//tbody/tr/td')]


def _erreurs(response) -> list[str]:
    doc = _html(response)
    return [_texte(li) for li in doc.xpath('//div[contains(@class, "fr-alert--error")]//li')]


def _options(response, name: str) -> dict[str, str]:
    doc = _html(response)
    return {o.get("value"): _texte(o) for o in doc.xpath(f'//select[@name="{name}"]/option') if o.get("value")}


CLS, CDIE = "CLS-2024-D05", "CDIE-2024-D05"


def _e(montant: str) -> str:
    """An amount as the page writes it: "1 234,50 €" with non-breaking spaces."""
    return montant.replace(" ", "\u00a0")


TOUTES = {(CLS, "A1-01"), (CLS, "A1-02"), (CLS, "A3-01"), (CDIE, "A2-01")}


# --- The list: facets -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "attendu"),
    [
        ({}, TOUTES),
        ({"axe": "1"}, {(CLS, "A1-01"), (CLS, "A1-02")}),
        ({"axe": "2"}, {(CDIE, "A2-01")}),
        ({"objectif": "O1-1"}, {(CLS, "A1-01")}),
        ({"objectif": "O1-2"}, {(CLS, "A1-02")}),
        ({"mesure": "1.2"}, {(CLS, "A1-01")}),
        ({"statut": "abandonnee"}, {(CLS, "A3-01")}),
        ({"statut": "proposee"}, {(CLS, "A1-02")}),
        ({"nature": "renforcee"}, {(CLS, "A1-02")}),
        ({"nature": "nouvelle"}, {(CLS, "A1-01"), (CLS, "A3-01"), (CDIE, "A2-01")}),
        ({"financeur": "autre"}, {(CLS, "A1-01"), (CDIE, "A2-01")}),
        ({"financeur": "etat"}, TOUTES),
        ({"annee": "2025"}, {(CLS, "A1-01")}),
        ({"annee": "2024"}, TOUTES),
        ({"collectivite": "D05"}, TOUTES),
        ({"contrat": CDIE}, {(CDIE, "A2-01")}),
        ({"type_contrat": TypeContrat.CLS_DEPARTEMENT}, {(CLS, "A1-01"), (CLS, "A1-02"), (CLS, "A3-01")}),
        # Combinations
        ({"axe": "1", "statut": "validee"}, {(CLS, "A1-01")}),
        ({"axe": "1", "nature": "nouvelle", "annee": "2024"}, {(CLS, "A1-01")}),
        ({"type_contrat": TypeContrat.CLS_DEPARTEMENT, "financeur": "autre"}, {(CLS, "A1-01")}),
        # Funder and year name the same line: A1-01's other funder pays in 2025, A2-01's in 2024.
        ({"financeur": "autre", "annee": "2025"}, {(CLS, "A1-01")}),
        ({"financeur": "autre", "annee": "2024"}, {(CDIE, "A2-01")}),
        ({"porteur": "caf", "statut": "validee"}, {(CLS, "A1-01")}),
        ({"axe": "3", "contrat": CDIE}, set()),
    ],
)
def test_each_facet_and_combinations(client, editeur, jeu, params, attendu):
    if params.get("porteur") == "caf":
        params = params | {"porteur": str(jeu.caf.pk)}
    client.force_login(editeur)
    response = client.get(LISTE, params)
    assert response.status_code == 200
    assert _codes(response) == attendu
    assert _erreurs(response) == []


def test_porteur_facet(client, editeur, jeu):
    client.force_login(editeur)
    assert _codes(client.get(LISTE, {"porteur": jeu.relais.pk})) == {(CLS, "A1-02")}
    assert _codes(client.get(LISTE, {"porteur": jeu.caf.pk})) == {(CLS, "A1-01"), (CLS, "A3-01")}


def test_facet_choices_are_the_perimeters_with_counts(client, editeur, jeu):
    client.force_login(editeur)
    response = client.get(LISTE)
    assert _options(response, "collectivite") == {"D05": "Département des Hautes-Alpes (4)"} or set(
        _options(response, "collectivite")
    ) == {"D05"}
    assert set(_options(response, "contrat")) == {CLS, CDIE}
    porteurs = _options(response, "porteur")
    assert set(porteurs.values()) == {
        "Association Relais (1)",
        "CAF des Hautes-Alpes (2)",
        "France Travail Hautes-Alpes (1)",
    }
    assert _options(response, "axe") == {
        "1": "Axe 1 – Enfance (2)",
        "2": "Axe 2 – Emploi (1)",
        "3": "Axe 3 – Accès aux droits (1)",
    }
    assert _options(response, "annee") == {"2024": "2024 (4)", "2025": "2025 (1)"}
    assert _options(response, "financeur") == {
        "etat": "État (4)",
        "collectivite": "Collectivité (4)",
        "autre": "Autre financeur (2)",
    }
    assert _options(response, "statut") == {
        "proposee": "Proposée (1)",
        "validee": "Validée (1)",
        "en_cours": "En cours (1)",
        "abandonnee": "Abandonnée (1)",
    }
    # Nothing of the Rhône: not its contract, its collectivité nor its carrier.
    assert "CAF du Rhône" not in response.content.decode()


def test_facet_counts_follow_the_other_filters(client, editeur, jeu):
    client.force_login(editeur)
    response = client.get(LISTE, {"statut": "validee", "axe": "1"})
    # Each facet counts the fiches the list would show with that value, the other filters applied.
    assert _options(response, "axe") == {
        "1": "Axe 1 – Enfance (1)",
        "2": "Axe 2 – Emploi (0)",
        "3": "Axe 3 – Accès aux droits (0)",
    }
    assert _options(response, "statut") == {
        "proposee": "Proposée (1)",
        "validee": "Validée (1)",
        "en_cours": "En cours (0)",
        "abandonnee": "Abandonnée (0)",
    }
    # The funder counted on the same line as the year chosen.
    response = client.get(LISTE, {"annee": "2024"})
    assert _options(response, "financeur")["autre"] == "Autre financeur (1)"
    response = client.get(LISTE, {"financeur": "autre"})
    assert _options(response, "annee") == {"2024": "2024 (1)", "2025": "2025 (1)"}
    # The search narrows the counts too.
    response = client.get(LISTE, {"q": "parental"})
    assert _options(response, "axe")["1"] == "Axe 1 – Enfance (1)"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"axe": "9"}, "Axe : Sélectionnez un choix valide. 9 n’en fait pas partie."),
        ({"annee": "abc"}, "Année financée : Sélectionnez un choix valide. abc n’en fait pas partie."),
        ({"statut": "supprimee"}, "Statut : Sélectionnez un choix valide. supprimee n’en fait pas partie."),
        ({"contrat": "CLS-2025-D69"}, "Contrat : Sélectionnez un choix valide. CLS-2025-D69 n’en fait pas partie."),
        ({"porteur": "1' OR 1=1"}, "Porteur : Sélectionnez un choix valide. 1' OR 1=1 n’en fait pas partie."),
        ({"tri": "drop"}, "Tri : « drop » n'est pas un tri possible"),
        ({"q": "bus\x00"}, "Rechercher : "),
        ({"q": "x" * 201}, "Rechercher : Assurez-vous que cette valeur comporte au plus 200 caractères"),
    ],
)
def test_invalid_values_are_told_in_french_and_left_out(client, editeur, jeu, params, message):
    client.force_login(editeur)
    response = client.get(LISTE, params)
    assert response.status_code == 200
    erreurs = _erreurs(response)
    assert erreurs and all(erreur.startswith(message) for erreur in erreurs), erreurs
    assert _codes(response) == TOUTES
    # The other facets keep their counts (the value left out does not empty them).
    assert _options(response, "axe")["1"] == "Axe 1 – Enfance (2)"


def test_an_invalid_value_leaves_the_valid_ones_applied(client, editeur, jeu):
    client.force_login(editeur)
    response = client.get(LISTE, {"axe": "9", "statut": "validee", "page": "abc"})
    assert _codes(response) == {(CLS, "A1-01")}
    assert len(_erreurs(response)) == 1


def test_active_filters_are_tags_that_remove_them(client, editeur, jeu):
    client.force_login(editeur)
    response = client.get(LISTE, {"axe": "1", "statut": "validee", "tri": "-code"})
    doc = _html(response)
    tags = {_texte(a): a.get("href") for a in doc.xpath('//ul[@class="fr-tags-group"]//a')}
    assert tags == {"Axe : Axe 1 – Enfance": "?statut=validee&tri=-code", "Statut : Validée": "?axe=1&tri=-code"}


# --- The list: search ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "attendu"),
    [
        ("itinérant", {(CLS, "A1-01")}),  # a word of the description
        ("insertion", {(CLS, "A1-01"), (CLS, "A3-01")}),  # "Insertion" in a title, "insertion" in a description
        ("INSERTION", {(CLS, "A1-01"), (CLS, "A3-01")}),
        ("Relais", {(CLS, "A1-02")}),  # the carrier's name
        ("isolés", {(CLS, "A1-02")}),  # the target public
        ("A3-01", {(CLS, "A3-01")}),  # the code
        ("allocataires", {(CDIE, "A2-01")}),
        ("Rhône", set()),  # the Rhône's fiche is outside the perimeter
        ("zzzz", set()),
    ],
)
def test_search(client, editeur, jeu, q, attendu):
    client.force_login(editeur)
    response = client.get(LISTE, {"q": q})
    assert _codes(response) == attendu
    assert _erreurs(response) == []


def test_search_with_facets(client, editeur, jeu):
    client.force_login(editeur)
    assert _codes(client.get(LISTE, {"q": "insertion", "axe": "3"})) == {(CLS, "A3-01")}
    assert _codes(client.get(LISTE, {"q": "insertion", "statut": "validee"})) == {(CLS, "A1-01")}


def test_search_ranks_on_postgresql_only(client, editeur, jeu):
    # "bus" once in A1-00, twice in A1-01 ("Bus des familles", "Un bus itinérant…").
    FicheActionFactory(
        contrat=jeu.cls, code="A1-00", axe=axe(1), porteur=jeu.caf, intitule="Navette", description="Un bus."
    )
    client.force_login(editeur)
    rangs = _rangs(client.get(LISTE, {"q": "bus"}))
    if connection.vendor == "postgresql":
        assert rangs == [(CLS, "A1-01"), (CLS, "A1-00")]  # the most relevant first
    else:
        assert rangs == [(CLS, "A1-00"), (CLS, "A1-01")]  # no ranking: contract and code order
    # A sort asked for wins over the ranking.
    assert _rangs(client.get(LISTE, {"q": "bus", "tri": "code"})) == [(CLS, "A1-00"), (CLS, "A1-01")]


@pytest.mark.parametrize("q", ["'", '"', "a & b | !c", "(((", "\\", "%", "_", ":*", "-", "le la", "Robert'); DROP"])
def test_hostile_searches_never_fail(client, editeur, jeu, q):
    client.force_login(editeur)
    response = client.get(LISTE, {"q": q})
    assert response.status_code == 200
    assert _erreurs(response) == []
    assert _codes(response) <= TOUTES


def test_objective_facet_reads_the_measures_objective(client, editeur, jeu):
    # A fiche written outside the services, with a national measure and no objective of its own.
    FicheActionFactory(
        contrat=jeu.cls, code="A1-05", axe=axe(1), porteur=jeu.caf, mesure=Mesure.objects.get(code="1.4")
    )
    client.force_login(editeur)
    response = client.get(LISTE, {"objectif": "O1-2"})
    assert _codes(response) == {(CLS, "A1-02"), (CLS, "A1-05")}
    assert _options(response, "objectif")["O1-2"] == "O1-2 – Repérer précocement les fragilités des enfants (2)"


# --- The list: sorting, pages, totals ------------------------------------------------------------------


def _attendu_tri(jeu, cle, descendant: bool) -> list[tuple[str, str]]:
    fiches = list(jeu.fiches.values())

    def somme(fiche, type_financeur=None):
        lignes = LigneFinancement.objects.filter(fiche=fiche)
        if type_financeur:
            lignes = lignes.filter(type_financeur=type_financeur)
        return sum((ligne.prevu for ligne in lignes), Decimal(0))

    cles = {
        "contrat": lambda f: f.contrat.reference,
        "code": lambda f: f.code_tri,
        "intitule": lambda f: f.intitule.lower(),
        "statut": lambda f: list(StatutFiche.values).index(f.statut),
        "etat": lambda f: somme(f, ETAT),
        "total": lambda f: somme(f),
    }
    # Ties: contract, then code, ascending whatever the direction.
    fiches.sort(key=lambda f: (f.contrat.reference, f.code_tri))
    fiches.sort(key=cles[cle], reverse=descendant)
    return [(f.contrat.reference, f.code) for f in fiches]


@pytest.mark.parametrize("cle", ["contrat", "code", "intitule", "statut", "etat", "total"])
@pytest.mark.parametrize("descendant", [False, True])
def test_sorting_each_column_both_ways(client, editeur, jeu, cle, descendant):
    client.force_login(editeur)
    tri = f"-{cle}" if descendant else cle
    response = client.get(LISTE, {"tri": tri})
    assert _rangs(response) == _attendu_tri(jeu, cle, descendant)
    doc = _html(response)
    trie = doc.xpath("//th[@aria-sort]")
    assert len(trie) == 1 and trie[0].get("aria-sort") == ("descending" if descendant else "ascending")
    # The header's link sorts the other way, keeping the filters.
    lien = trie[0].xpath("a")[0].get("href")
    assert lien.startswith(f"?tri={cle if descendant else '-' + cle}")


def test_default_order_is_contract_then_code(client, editeur, jeu):
    client.force_login(editeur)
    assert _rangs(client.get(LISTE)) == [(CDIE, "A2-01"), (CLS, "A1-01"), (CLS, "A1-02"), (CLS, "A3-01")]


def test_sort_links_keep_the_filters(client, editeur, jeu):
    client.force_login(editeur)
    doc = _html(client.get(LISTE, {"axe": "1", "page": "1"}))
    liens = [a.get("href") for a in doc.xpath('//div[@id="fiches"]//thead//a')]
    assert "?axe=1&tri=etat#fiches" in liens
    assert all("page=" not in lien for lien in liens)


def _attendu_totaux(fiches, annee=None) -> list[str]:
    """Planned State, collectivité, other funders and total of the active fiches, from their lines."""
    sommes = {ETAT: Decimal(0), COLL: Decimal(0), AUTRE: Decimal(0)}
    for fiche in fiches:
        if fiche.statut not in STATUTS_ACTIFS:
            continue
        for ligne in LigneFinancement.objects.filter(fiche=fiche):
            if annee is None or ligne.annee == annee:
                sommes[ligne.type_financeur] += ligne.prevu
    return [format_euros(v) for v in (sommes[ETAT], sommes[COLL], sommes[AUTRE], sum(sommes.values()))]


def test_totals_are_the_filtered_sets(client, editeur, jeu):
    client.force_login(editeur)
    f = jeu.fiches
    assert _totaux(client.get(LISTE)) == _attendu_totaux(f.values())
    # Written out once: the abandoned A3-01 (7 000 + 7 000) and the Rhône do not count.
    assert _totaux(client.get(LISTE)) == [_e("43 000,00 €"), _e("45 500,00 €"), _e("4 000,00 €"), _e("92 500,00 €")]
    assert _totaux(client.get(LISTE, {"axe": "1"})) == _attendu_totaux([f["A1-01"], f["A1-02"]])
    assert _totaux(client.get(LISTE, {"statut": "abandonnee"})) == [_e("0,00 €")] * 4
    # A year chosen: the amounts of that year.
    assert _totaux(client.get(LISTE, {"annee": "2025"})) == _attendu_totaux([f["A1-01"]], 2025)
    assert _totaux(client.get(LISTE, {"q": "insertion"})) == _attendu_totaux([f["A1-01"]])


def test_row_amounts(client, editeur, jeu):
    client.force_login(editeur)
    doc = _html(client.get(LISTE, {"contrat": CLS, "tri": "code"}))
    rows = doc.xpath('//div[@id="fiches"]//tbody/tr')
    cells = [[_texte(td) for td in row.xpath("td")] for row in rows]
    assert cells[0] == [
        CLS,
        "A1-01",
        "Bus des familles",
        "Axe 1",
        "Validée",
        "CAF des Hautes-Alpes",
        _e("18 000,00 €"),
        _e("20 000,00 €"),
        _e("41 000,00 €"),
    ]
    # The year chosen: that year's amounts.
    doc = _html(client.get(LISTE, {"annee": "2025"}))
    cells = [_texte(td) for td in doc.xpath('//div[@id="fiches"]//tbody/tr/td')]
    assert cells[-3:] == [_e("8 000,00 €"), _e("8 000,00 €"), _e("19 000,00 €")]


def test_pages_of_fifty(client, editeur, jeu):
    for n in range(120):
        FicheActionFactory(contrat=jeu.cls, code=f"B1-{n:03d}", axe=axe(1), porteur=jeu.relais, intitule=f"Action {n}")
    client.force_login(editeur)
    first = client.get(LISTE, {"axe": "1"})
    assert len(_rangs(first)) == 50
    third = client.get(LISTE, {"axe": "1", "page": "3"})
    assert len(_rangs(third)) == 22
    # Every row once over the three pages, in order.
    pages = [_rangs(client.get(LISTE, {"axe": "1", "page": n})) for n in (1, 2, 3)]
    assert len({row for page in pages for row in page}) == 122
    # The totals are those of every filtered row, on every page.
    assert _totaux(third) == _totaux(first) == _attendu_totaux([jeu.fiches["A1-01"], jeu.fiches["A1-02"]])
    doc = _html(third)
    nav = doc.xpath('//nav[contains(@class, "fr-pagination")]')[0]
    assert nav.xpath('.//a[@aria-current="page"]')[0].text_content().strip() == "3"
    assert "axe=1" in nav.xpath('.//a[contains(@class, "fr-pagination__link--first")]')[0].get("href")
    # A page that is not one: the nearest.
    assert _rangs(client.get(LISTE, {"axe": "1", "page": "abc"})) == pages[0]
    assert _rangs(client.get(LISTE, {"axe": "1", "page": "99"})) == pages[2]
    doc = _html(client.get(LISTE, {"axe": "1", "page": "2"}))
    assert "page 2 sur 3" in _texte(doc.xpath('//div[@id="fiches"]//caption')[0])


# --- The list: perimeter ---------------------------------------------------------------------------------


def test_other_territory_sees_only_its_own(client, autre_territoire, jeu):
    client.force_login(autre_territoire)
    response = client.get(LISTE)
    assert _codes(response) == {("CLS-2025-D69", "A1-01")}
    assert _totaux(response) == [_e("99 000,00 €"), _e("99 000,00 €"), _e("0,00 €"), _e("198 000,00 €")]
    assert set(_options(response, "contrat")) == {"CLS-2025-D69"}


def test_the_partner_sees_the_actions_it_carries(client, jeu):
    client.force_login(UserFactory(organisation=jeu.caf, role=Role.LECTEUR))
    assert _codes(client.get(LISTE)) == {(CLS, "A1-01"), (CLS, "A3-01")}


def test_anonymous_goes_to_the_login_page(client, jeu):
    response = client.get(LISTE)
    assert response.status_code == 302 and "/connexion/" in response["Location"]


# --- The list: budget ------------------------------------------------------------------------------------


def _fiches_en_nombre(contrat, porteurs, n: int):
    for i in range(n):
        porteur = porteurs[i % len(porteurs)]
        fiche = FicheActionFactory(contrat=contrat, code=f"C1-{i:03d}", axe=axe(1 + i % 2 * 2), porteur=porteur)
        _lignes(fiche, (2024, ETAT, "100"), (2024, COLL, "100"), (2025, AUTRE, "50", porteur))


BUDGET_LISTE = 14  # 22 before the facets were counted in Python (11 grouped queries, one per facet)


@pytest.mark.parametrize("n", [3, 30])
def test_list_budget(client, editeur, django_assert_max_num_queries, n):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    porteurs = [OrganisationFactory(nom=f"Porteur {i}", departement=departement("05")) for i in range(3)]
    _fiches_en_nombre(contrat, porteurs, n)
    client.force_login(editeur)
    params = {"axe": "1", "financeur": "autre", "annee": "2025", "q": "Action", "tri": "-total"}
    with django_assert_max_num_queries(BUDGET_LISTE):
        response = client.get(LISTE, params)
    assert response.status_code == 200 and _rangs(response)
    with django_assert_max_num_queries(BUDGET_LISTE):
        assert client.get(LISTE).status_code == 200


# --- A fiche's page ----------------------------------------------------------------------------------------


def _url(fiche, nom="espace:fiche", **kwargs) -> str:
    return reverse(nom, kwargs={"reference": fiche.contrat.reference, "code": fiche.code, **kwargs})


def _grille(response) -> list[list[str]]:
    doc = _html(response)
    return [[_texte(c) for c in tr.xpath("th|td")] for tr in doc.xpath('//div[@id="grille"]//tbody/tr')]


def _boutons(response) -> list[str]:
    doc = _html(response)
    return [_texte(a) for a in doc.xpath('//ul[@aria-label="Actions sur la fiche"]//a')]


@pytest.fixture
def execution(jeu):
    """A1-01 with committed and spent amounts in 2024 (the State spent more than the Département) and an
    indicator with yearly targets."""
    fiche = jeu.fiches["A1-01"]
    LigneFinancement.objects.filter(fiche=fiche, annee=2024, type_financeur=ETAT).update(
        engage=Decimal("9000"), realise=Decimal("8500.50")
    )
    LigneFinancement.objects.filter(fiche=fiche, annee=2024, type_financeur=COLL).update(realise=Decimal("6000"))
    indicateur = IndicateurFactory(fiche=fiche, nom="Familles accueillies", unite="familles", source="Registre du bus")
    ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=Decimal("100"), realise=Decimal("80"))
    ValeurIndicateurFactory(indicateur=indicateur, annee=2025, cible=Decimal("120.5"))
    return fiche


def test_fiche_page_shows_every_field(client, editeur, jeu, execution):
    client.force_login(editeur)
    fiche = execution
    FicheAction.objects.filter(pk=fiche.pk).update(
        contexte="Familles isolées en zone de montagne.",
        objectifs="Rompre l'isolement.",
        public_cible="Familles avec enfants de moins de 6 ans",
        volume_public=250,
        territoire_departement_entier=False,
        territoire_detail="Communauté de communes du Champsaur",
        partenaires="PMI, centres sociaux",
        jalons="Premier circuit en mars",
        etp=Decimal("1.50"),
    )
    response = client.get(_url(fiche))
    assert response.status_code == 200
    doc = _html(response)
    assert _texte(doc.xpath("//h1")[0]) == "Fiche A1-01 – Bus des familles"
    champs = _champs(response)
    assert champs["Axe"] == "Axe 1 – Prévenir la pauvreté et lutter contre les inégalités dès l'enfance"
    assert champs["Objectif du Pacte"] == "O1-1 – Accompagner les familles précaires et soutenir la parentalité"
    assert champs["Mesure nationale"].startswith("1.2 – Mailler le territoire")
    assert champs["Mesure locale"] == "Aucune"
    assert champs["Volet"] == "Aucun"
    assert champs["Nature"] == "Nouvelle"
    assert champs["Contexte et besoin (diagnostic)"] == "Familles isolées en zone de montagne."
    assert champs["Objectifs"] == "Rompre l'isolement."
    assert champs["Description"] == "Un bus itinérant pour l'insertion des familles rurales."
    assert champs["Public cible"] == "Familles avec enfants de moins de 6 ans"
    assert champs["Volume de public attendu"] == "250"
    assert champs["Territoire"] == "Une partie du territoire Communauté de communes du Champsaur"
    assert champs["Porteur"] == "CAF des Hautes-Alpes"
    assert champs["Partenaires"] == "PMI, centres sociaux"
    assert champs["Dates"] == "Du 1 janvier 2024 au 31 décembre 2027"
    assert champs["Jalons"] == "Premier circuit en mars"
    assert champs["Moyens humains"] == "1,50 ETP"
    assert champs["Statut"] == "Validée"


def _champs(response) -> dict[str, str]:
    doc = _html(response)
    return dict(
        zip(
            [_texte(dt) for dt in doc.xpath('//dl[@class="pacte-champs"]/dt')],
            [_texte(dd) for dd in doc.xpath('//dl[@class="pacte-champs"]/dd')],
            strict=True,
        )
    )


def test_fiche_page_says_what_is_not_filled_in(client, editeur, jeu):
    client.force_login(editeur)
    champs = _champs(client.get(_url(jeu.fiches["A1-02"])))
    assert champs["Nature"] == "Renforcée"
    assert champs["Justification du renforcement"] == "Deux nouvelles communes."
    assert champs["Objectif du Pacte"] == "O1-2 – Repérer précocement les fragilités des enfants"
    assert champs["Mesure nationale"] == "Aucune"
    assert champs["Contexte et besoin (diagnostic)"] == "Non renseigné"
    assert champs["Description"] == "Non renseignée"
    assert champs["Partenaires"] == "Non renseignés"
    assert champs["Territoire"] == "Tout le territoire de la collectivité"
    assert champs["Volume de public attendu"] == "Non renseigné"
    assert champs["Moyens humains"] == "Non renseignés"
    champs = _champs(client.get(_url(jeu.fiches["A3-01"])))
    assert champs["Mesure locale"] == "Domiciliation locale"
    assert "Justification du renforcement" not in champs


def test_fiche_page_funding_grid(client, editeur, jeu, execution):
    client.force_login(editeur)
    response = client.get(_url(execution))
    doc = _html(response)
    entetes = [_texte(th) for th in doc.xpath('//div[@id="grille"]//thead/tr[1]/th')]
    assert entetes == [
        "État",
        "Collectivité (Département des Hautes-Alpes)",
        "France Travail Hautes-Alpes",
        "Total de l'année",
    ]
    tiret = "—"
    assert _grille(response) == [
        ["2024", *map(_e, ["10 000,00 €", "9 000,00 €", "8 500,50 €", "12 000,00 €"]), tiret, _e("6 000,00 €"),
         tiret, tiret, tiret, *map(_e, ["22 000,00 €", "9 000,00 €", "14 500,50 €"])],
        ["2025", _e("8 000,00 €"), tiret, tiret, _e("8 000,00 €"), tiret, tiret, _e("3 000,00 €"), tiret, tiret,
         _e("19 000,00 €"), tiret, tiret],
        ["2026", *[tiret] * 12],
        ["2027", *[tiret] * 12],
        ["Total", *map(_e, ["18 000,00 €", "9 000,00 €", "8 500,50 €", "20 000,00 €"]), tiret, _e("6 000,00 €"),
         _e("3 000,00 €"), tiret, tiret, *map(_e, ["41 000,00 €", "9 000,00 €", "14 500,50 €"])],
    ]  # fmt: skip


def _alertes(response, genre: str) -> list[str]:
    doc = _html(response)
    return [_texte(div) for div in doc.xpath(f'//div[contains(@class, "fr-alert--{genre}")]')]


def test_fiche_page_parity_per_year(client, editeur, jeu, execution):
    client.force_login(editeur)
    response = client.get(_url(execution))
    succes = _alertes(response, "success")
    assert succes == [
        f"2024 : parité respectée. Part prévue de l'État {_e('10 000,00 €')}, celle du Département "
        f"{_e('12 000,00 €')}, coût total prévu {_e('22 000,00 €')}.",
        f"2025 : parité respectée. Part prévue de l'État {_e('8 000,00 €')}, celle du Département "
        f"{_e('8 000,00 €')}, coût total prévu {_e('19 000,00 €')}.",
    ]
    assert _alertes(response, "info") == ["2026 : aucun montant prévu.", "2027 : aucun montant prévu."]
    # The spent amounts breach parity: a warning with the amounts.
    assert _alertes(response, "warning") == [
        "2024 : le réalisé ne respecte pas la parité (avertissement, non bloquant). "
        f"2024 : la part réalisée de l'État ({_e('8 500,50 €')}) dépasse celle du Département ({_e('6 000,00 €')}) "
        f"de {_e('2 500,50 €')} "
        f"2024 : la part réalisée de l'État ({_e('8 500,50 €')}) dépasse 50\u00a0% du coût total réalisé "
        f"({_e('14 500,50 €')}) de {_e('1 250,25 €')}"
    ]
    assert _alertes(response, "error") == []


def test_fiche_page_parity_breach_of_the_planned_amounts(client, editeur, jeu):
    fiche = FicheActionFactory(contrat=jeu.cls, code="A1-03", axe=axe(1), porteur=jeu.caf, intitule="Déséquilibrée")
    _lignes(fiche, (2024, ETAT, "15000"), (2024, COLL, "10000"))
    client.force_login(editeur)
    response = client.get(_url(fiche))
    assert _alertes(response, "error") == [
        "2024 : parité non respectée (bloquant pour valider la fiche et signer le contrat). "
        f"2024 : la part prévue de l'État ({_e('15 000,00 €')}) dépasse celle du Département ({_e('10 000,00 €')}) "
        f"de {_e('5 000,00 €')} "
        f"2024 : la part prévue de l'État ({_e('15 000,00 €')}) dépasse 50\u00a0% du coût total prévu "
        f"({_e('25 000,00 €')}) de {_e('2 500,00 €')}"
    ]


def test_fiche_page_indicators(client, editeur, jeu, execution):
    client.force_login(editeur)
    doc = _html(client.get(_url(execution)))
    section = doc.xpath('//h3[text()="Familles accueillies"]')[0]
    assert "source : Registre du bus" in _texte(section.getnext())
    table = section.getnext().getnext()
    rows = [[_texte(c) for c in tr.xpath("th|td")] for tr in table.xpath(".//tbody/tr")]
    assert rows == [["2024", "100", "80"], ["2025", "120,50", "—"], ["2026", "—", "—"], ["2027", "—", "—"]]


def test_fiche_page_lineage(client, editeur, jeu):
    suivant = ContratFactory(collectivite=collectivite("D05"), cdie=True, reference="CDIE-2025-D05",
                             date_debut=date(2025, 1, 1), date_fin=date(2025, 12, 31))  # fmt: skip
    reprise = FicheActionFactory(
        contrat=suivant, code="A2-01", axe=axe(2), porteur=jeu.france_travail, intitule="Orientation (suite)",
        origine=jeu.fiches["A2-01"], date_debut=date(2025, 1, 1), date_fin=date(2025, 12, 31),
    )  # fmt: skip
    client.force_login(editeur)
    assert "Reprend l'action A2-01 – Orientation rapide des allocataires du contrat CDIE-2024-D05" in _texte(
        _html(client.get(_url(reprise)))
    )
    assert "Reprise par A2-01 – Orientation (suite) du contrat CDIE-2025-D05" in _texte(
        _html(client.get(_url(jeu.fiches["A2-01"])))
    )
    # A partner sees only the actions it carries: the renewal carried by the CAF, not its origin.
    FicheAction.objects.filter(pk=reprise.pk).update(porteur=jeu.caf)
    client.force_login(UserFactory(organisation=jeu.caf, role=Role.LECTEUR))
    texte = _texte(_html(client.get(_url(reprise))))
    assert "Orientation (suite)" in texte and "Reprend l'action" not in texte


@pytest.mark.parametrize(
    ("persona", "code", "attendu"),
    [
        # DDETS editor, contract in negotiation: edit, status changes; no execution before signature.
        ("editeur", "A1-01", ["Modifier", "Revenir à « proposée »", "Démarrer l'action", "Abandonner l'action"]),
        ("editeur", "A1-02", ["Modifier", "Valider la fiche", "Abandonner l'action"]),
        ("editeur", "A3-01", ["Modifier"]),
        # Signed contract: execution, no edit, no going back to "proposée".
        ("editeur", "A2-01", ["Saisir l'exécution", "Terminer l'action", "Abandonner l'action"]),
        ("lecteur", "A1-01", []),
        ("lecteur", "A2-01", []),
        ("collectivite", "A2-01", ["Saisir l'exécution"]),
        ("collectivite", "A1-01", []),
    ],
)
def test_fiche_page_buttons_follow_the_permissions(client, editeur, lecteur, jeu, persona, code, attendu):
    users = {
        "editeur": editeur,
        "lecteur": lecteur,
        "collectivite": UserFactory(organisation=OrganisationFactory(de_collectivite=True)),
    }
    client.force_login(users[persona])
    fiche = jeu.fiches[code]
    boutons = _boutons(client.get(_url(fiche)))
    assert boutons == [*attendu, "Historique", "Télécharger la fiche (PDF)"]


def test_fiche_page_links(client, editeur, jeu):
    client.force_login(editeur)
    fiche = jeu.fiches["A1-01"]
    doc = _html(client.get(_url(fiche)))
    liens = {_texte(a): a.get("href") for a in doc.xpath('//ul[@aria-label="Actions sur la fiche"]//a')}
    assert liens["Modifier"] == _url(fiche, "espace:fiche_modifier")
    assert liens["Historique"] == _url(fiche, "espace:fiche_historique")
    assert liens["Télécharger la fiche (PDF)"] == _url(fiche, "espace:fiche_pdf")
    assert liens["Démarrer l'action"] == _url(fiche, "espace:fiche_statut", action="demarrer")


def test_fiche_page_outside_the_perimeter_is_404(client, editeur, autre_territoire, jeu):
    client.force_login(editeur)
    assert client.get(reverse("espace:fiche", kwargs={"reference": "CLS-2025-D69", "code": "A1-01"})).status_code == 404
    assert client.get(reverse("espace:fiche", kwargs={"reference": CLS, "code": "Z9-99"})).status_code == 404
    client.force_login(autre_territoire)
    assert client.get(_url(jeu.fiches["A1-01"])).status_code == 404


BUDGET_FICHE = 18


@pytest.mark.parametrize("n", [3, 30])
def test_fiche_page_budget(client, editeur, django_assert_max_num_queries, jeu, n):
    fiche = jeu.fiches["A1-01"]
    for i in range(n):
        financeur = OrganisationFactory(nom=f"Financeur {i:02d}", departement=departement("05"))
        _lignes(fiche, (2024 + i % 4, AUTRE, "100", financeur))
        indicateur = IndicateurFactory(fiche=fiche, nom=f"Indicateur {i}")
        for annee in (2024, 2025):
            ValeurIndicateurFactory(indicateur=indicateur, annee=annee, cible=Decimal(i))
    client.force_login(editeur)
    with django_assert_max_num_queries(BUDGET_FICHE):
        response = client.get(_url(fiche))
    assert response.status_code == 200
    # The year, then État, collectivité, France Travail, the n funders and the year's total: three figures each.
    assert len(_grille(response)[0]) == 1 + 3 * (3 + n + 1)


# --- Status changes ----------------------------------------------------------------------------------------


def _statut(fiche) -> str:
    return FicheAction.objects.get(pk=fiche.pk).statut


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_validate_confirms_then_validates(client, editeur, jeu):
    client.force_login(editeur)
    fiche = jeu.fiches["A1-02"]
    url = _url(fiche, "espace:fiche_statut", action="valider")
    response = client.get(url)
    assert response.status_code == 200
    texte = _texte(_html(response))
    assert "La fiche A1-02 passera de « Proposée » à « Validée »." in texte
    assert "vérifie la parité du montant prévu de chaque année" in texte
    assert _statut(fiche) == StatutFiche.PROPOSEE
    response = client.post(url)
    assert response.status_code == 302 and response["Location"] == _url(fiche)
    assert _statut(fiche) == StatutFiche.VALIDEE
    assert _messages(response) == ["La fiche A1-02 est maintenant « Validée »."]


def test_validate_refused_by_parity_shows_the_amounts(client, editeur, jeu):
    fiche = FicheActionFactory(contrat=jeu.cls, code="A1-03", axe=axe(1), porteur=jeu.caf, intitule="Déséquilibrée")
    _lignes(fiche, (2024, ETAT, "15000"), (2024, COLL, "10000"))
    client.force_login(editeur)
    url = _url(fiche, "espace:fiche_statut", action="valider")
    # The confirmation page already says what the check will find.
    assert (
        f"À ce jour : Fiche A1-03, 2024 : la part prévue de l'État ({_e('15 000,00 €')}) dépasse celle du "
        f"Département ({_e('10 000,00 €')}) de {_e('5 000,00 €')}" in _texte(_html(client.get(url)))
    )
    response = client.post(url)
    assert response.status_code == 200
    doc = _html(response)
    refus = [_texte(p) for p in doc.xpath('//div[contains(@class, "fr-alert--error")]/p')]
    assert refus == [
        "La fiche A1-03 ne peut pas être validée :",
        f"Fiche A1-03, 2024 : la part prévue de l'État ({_e('15 000,00 €')}) dépasse celle du Département "
        f"({_e('10 000,00 €')}) de {_e('5 000,00 €')}",
        f"Fiche A1-03, 2024 : la part prévue de l'État ({_e('15 000,00 €')}) dépasse 50\u00a0% du coût total prévu "
        f"({_e('25 000,00 €')}) de {_e('2 500,00 €')}",
    ]
    assert _statut(fiche) == StatutFiche.PROPOSEE


def test_validate_refused_without_the_justification(client, editeur, jeu):
    fiche = jeu.fiches["A1-02"]
    FicheAction.objects.filter(pk=fiche.pk).update(justification_renforcement="")
    client.force_login(editeur)
    response = client.post(_url(fiche, "espace:fiche_statut", action="valider"))
    assert response.status_code == 200
    assert "Une action renforcée doit être justifiée" in _texte(_html(response))
    assert _statut(fiche) == StatutFiche.PROPOSEE


def test_back_to_proposed_before_signature(client, editeur, jeu):
    client.force_login(editeur)
    fiche = jeu.fiches["A1-01"]
    response = client.post(_url(fiche, "espace:fiche_statut", action="proposer"))
    assert response.status_code == 302
    assert _statut(fiche) == StatutFiche.PROPOSEE


def test_back_to_proposed_refused_after_signature(client, editeur, jeu):
    fiche = FicheActionFactory(
        contrat=jeu.cdie, code="A2-02", axe=axe(2), porteur=jeu.caf, statut=StatutFiche.VALIDEE,
        date_fin=date(2024, 12, 31),
    )  # fmt: skip
    client.force_login(editeur)
    assert "Revenir à « proposée »" not in _boutons(client.get(_url(fiche)))
    response = client.post(_url(fiche, "espace:fiche_statut", action="proposer"))
    assert response.status_code == 200
    assert (
        "Le contrat CDIE-2024-D05 est signé : ses données contractuelles ne changent plus que par un avenant."
        in _texte(_html(response))
    )
    assert _statut(fiche) == StatutFiche.VALIDEE


@pytest.mark.parametrize(
    ("code", "action", "avant", "apres", "consequence"),
    [
        ("A1-01", "demarrer", StatutFiche.VALIDEE, StatutFiche.EN_COURS, "L'action a commencé"),
        ("A2-01", "terminer", StatutFiche.EN_COURS, StatutFiche.TERMINEE, "« Terminée » est un statut final"),
        ("A1-02", "abandonner", StatutFiche.PROPOSEE, StatutFiche.ABANDONNEE, "L'abandon est définitif"),
        ("A2-01", "abandonner", StatutFiche.EN_COURS, StatutFiche.ABANDONNEE, "L'abandon est définitif"),
    ],
)
def test_status_changes(client, editeur, jeu, code, action, avant, apres, consequence):
    client.force_login(editeur)
    fiche = jeu.fiches[code]
    url = _url(fiche, "espace:fiche_statut", action=action)
    assert consequence in _texte(_html(client.get(url)))
    assert _statut(fiche) == avant
    assert client.post(url).status_code == 302
    assert _statut(fiche) == apres


def test_an_impossible_change_is_told_and_changes_nothing(client, editeur, jeu):
    client.force_login(editeur)
    fiche = jeu.fiches["A1-02"]
    for method in (client.get, client.post):
        response = method(_url(fiche, "espace:fiche_statut", action="terminer"), follow=True)
        assert response.redirect_chain == [(_url(fiche), 302)]
        assert _alertes(response, "error") == ["La fiche A1-02 ne peut pas passer de « Proposée » à « Terminée »."]
    abandonnee = jeu.fiches["A3-01"]
    response = client.post(_url(abandonnee, "espace:fiche_statut", action="valider"))
    assert _messages(response) == ["La fiche A3-01 ne peut pas passer de « Abandonnée » à « Validée »."]
    assert _statut(fiche) == StatutFiche.PROPOSEE and _statut(abandonnee) == StatutFiche.ABANDONNEE


def test_unknown_action_is_404(client, editeur, jeu):
    client.force_login(editeur)
    for action in ("supprimer", "VALIDER", "validee"):
        url = _url(jeu.fiches["A1-02"], "espace:fiche_statut", action=action)
        assert client.get(url).status_code == 404
        assert client.post(url).status_code == 404
    assert _statut(jeu.fiches["A1-02"]) == StatutFiche.PROPOSEE


def test_reader_and_collectivite_may_not_change_a_status(client, lecteur, jeu):
    fiche = jeu.fiches["A1-02"]
    for user in (lecteur, UserFactory(organisation=OrganisationFactory(de_collectivite=True))):
        client.force_login(user)
        for action in ACTIONS:
            url = _url(fiche, "espace:fiche_statut", action=action)
            assert client.get(url).status_code == 403
            assert client.post(url).status_code == 403
    assert _statut(fiche) == StatutFiche.PROPOSEE


def test_other_territory_gets_404_on_a_status_change(client, autre_territoire, jeu):
    client.force_login(autre_territoire)
    fiche = jeu.fiches["A1-02"]
    assert client.post(_url(fiche, "espace:fiche_statut", action="valider")).status_code == 404
    assert _statut(fiche) == StatutFiche.PROPOSEE


ACTIONS = ("valider", "proposer", "demarrer", "terminer", "abandonner")
