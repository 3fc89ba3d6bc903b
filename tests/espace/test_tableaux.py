"""Consolidated dashboards (``espace.views.tableaux``) and their exports.

- The published Occitanie 2024 State figures by axis (2 600 000 €, 10 900 000 €, 3 300 000 €, 3 800 000 €) consolidate
  to exactly 20 600 000,00 € on the regional dashboard and in its exports (a fixture split into awkward cents among
  distractors; and the demo, whose ``demo/builder/calibrage.py`` calibrates the same figures).
- Every sum a dashboard shows equals the sum of the underlying lines, for every persona's perimeter (hypothesis:
  generated contracts, fiches and lines over several collectivités, years and statuses; filters drawn too).
- A territory is shown only to a user whose perimeter holds all of it: 404 otherwise, as for an unknown code.
- The same number of queries with 3 and with 30 contracts, at each level and for an export.
- The page: headings, captions, SVG charts as images with an alternative text and no script, drill-down links,
  French errors for bad filters; the exports: French headers, amounts as numbers.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.db.models import Count, Sum
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import html as lxml_html

from actions.enums import STATUTS_ACTIFS, StatutFiche
from actions.models import FicheAction
from contrats.enums import STATUTS_FIGES, StatutContrat, TypeContrat
from espace.views.tableaux import Filtre, dataset, lire_tableaux, territoire_de
from financement.enums import StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, RapportAnnuel, SyntheseFinancement
from financement.regles import PREVU, parite_violations
from financement.synthese import synthese_rebuild
from pacte.enums import TypeOrganisation
from pacte.models import Mesure
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    UserFactory,
    axe,
    collectivite,
    departement,
    region,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
EUR = "\u00a0€"
SIGNE_LE = date(2024, 3, 15)


def euros(texte: str) -> str:
    """``"20 600 000,00 €"`` written with the French spaces the page uses."""
    return texte.replace(" €", EUR).replace(" ", "\u202f")


def page(response):
    assert response.status_code == 200, response.status_code
    return lxml_html.fromstring(response.content.decode())


def tableau(doc, cle: str) -> list[list[str]]:
    """The rows of a dashboard table (header first), as the cells' texts."""
    table = doc.get_element_by_id(f"tableau-{cle}").find(".//table")
    return [
        [" ".join(c.text_content().split()) for c in tr.findall("./th") + tr.findall("./td")] for tr in table.iter("tr")
    ]


def cellule(rows: list[list[str]], ligne: str, colonne: str) -> str:
    entete = rows[0]
    for row in rows[1:]:
        if row[0] == ligne or row[0].startswith(ligne):
            return row[entete.index(colonne)]
    raise AssertionError(f"pas de ligne {ligne!r} : {[r[0] for r in rows]}")


def _nbsp(texte: str) -> str:
    return texte.replace("\u00a0", " ").replace("\u202f", " ")


# --- Users of each level ---------------------------------------------------------------------------------------


def usager(**organisation) -> object:
    return UserFactory(organisation=OrganisationFactory(**organisation))


@pytest.fixture
def agents(db):
    return {
        "nation": usager(centrale=True),
        "dreets_76": usager(dreets=True, region=region("76")),
        "dreets_93": usager(dreets=True, region=region("93")),
        "ddets_31": usager(ddets=True, departement=departement("31")),
        "ddets_05": usager(ddets=True, departement=departement("05")),
        "prefecture_05": usager(prefecture=True, departement=departement("05")),
        "cd_31": usager(de_collectivite=True, collectivite=collectivite("D31")),
        "cd_05": usager(de_collectivite=True, collectivite=collectivite("D05")),
        "partenaire": usager(nom="CAF", type=TypeOrganisation.PARTENAIRE, departement=departement("05")),
        "sans_organisation": UserFactory(organisation=None),
    }


# --- Occitanie 2024: the published figures, to the cent ------------------------------------------------------------

#: The State's 2024 planned amounts of the Occitanie fixture, by axis and fiche: each axis adds up to the published
#: figure exactly, in parts with cents.
OCCITANIE_2024 = {
    1: [("D31", "1300000.33"), ("M-TLS", "1299999.67")],
    2: [("D34", "5450000.01"), ("D31", "5449999.99")],
    3: [("D34", "1100000.10"), ("M-MTP", "1100000.10"), ("D66", "1099999.80")],
    4: [("M-TLS", "3800000.00")],
}


def occitanie() -> dict[str, object]:
    """Contracts of Occitanie holding the figures above, and what must not count: other years, other funders, an
    abandoned action, a PACA contract, a contract in every status."""
    statuts = [StatutContrat.EN_EXECUTION, StatutContrat.SIGNE, StatutContrat.BROUILLON, StatutContrat.CLOS]
    contrats: dict[str, object] = {}
    caf = OrganisationFactory(nom="CAF de la Haute-Garonne")
    for numero, parts in OCCITANIE_2024.items():
        for i, (code, montant) in enumerate(parts):
            contrat = contrats.get(code) or ContratFactory(
                collectivite=collectivite(code),
                type_contrat=TypeContrat.CONVENTION_UNIQUE,
                reference=f"CU-2024-{code}",
                statut=statuts[len(contrats) % len(statuts)],
                date_signature=None if statuts[len(contrats) % len(statuts)] == StatutContrat.BROUILLON else SIGNE_LE,
            )
            contrats[code] = contrat
            fiche = FicheActionFactory(
                contrat=contrat,
                axe=axe(numero),
                code=f"A{numero}-{i + 1:02d}",
                mesure=Mesure.objects.filter(axe__numero=numero).order_by("code").first(),
                statut=StatutFiche.EN_COURS,
            )
            LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D(montant), realise=D("1000"))
            LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=COLL, prevu=D(montant) + D("0.02"))
            LigneFinancementFactory(fiche=fiche, annee=2025, type_financeur=ETAT, prevu=D("777777.77"))
            LigneFinancementFactory(
                fiche=fiche, annee=2024, type_financeur=AUTRE, financeur=caf, prevu=D("5000"), engage=D("4000")
            )
    abandonnee = FicheActionFactory(contrat=contrats["D31"], axe=axe(1), code="A1-99", statut=StatutFiche.ABANDONNEE)
    LigneFinancementFactory(fiche=abandonnee, annee=2024, type_financeur=ETAT, prevu=D("999999.99"))
    paca = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    LigneFinancementFactory(
        fiche=FicheActionFactory(contrat=paca, axe=axe(1)), annee=2024, type_financeur=ETAT, prevu=D("123456.78")
    )
    synthese_rebuild()
    return contrats


PUBLIES = {1: "2 600 000,00 €", 2: "10 900 000,00 €", 3: "3 300 000,00 €", 4: "3 800 000,00 €"}


def test_occitanie_2024_consolidates_to_exactly_20_600_000_euros_on_the_regional_dashboard(client, agents):
    occitanie()
    client.force_login(agents["dreets_76"])
    for url in ("/tableaux/?annee=2024", "/tableaux/region/76/?annee=2024"):
        doc = page(client.get(url))
        assert doc.findtext(".//h1") == "Tableau de bord – Région Occitanie"
        axes = tableau(doc, "axes")
        for numero, montant in PUBLIES.items():
            assert _nbsp(cellule(axes, f"Axe {numero}", "Prévu État")) == montant
        assert _nbsp(cellule(axes, "Total", "Prévu État")) == "20 600 000,00 €"
        assert _nbsp(cellule(tableau(doc, "financeurs"), "État", "Prévu")) == "20 600 000,00 €"
        assert "20 600 000,00 € par l'État" in _nbsp(doc.get_element_by_id("content").text_content())
    # Every year: 2025's State money is there too, and the year table keeps 2024 apart.
    doc = page(client.get("/tableaux/region/76/"))
    annees = tableau(doc, "financeurs_annees")
    assert _nbsp(cellule(annees, "2024", "État")) == "20 600 000,00 €"
    assert _nbsp(cellule(annees, "2025", "État")) == "6 222 222,16 €"  # 8 fiches × 777 777,77 €


def lire_csv(response) -> list[dict]:
    """A dashboard's csv export, as French Excel reads it: ``;`` between cells, UTF-8 with a BOM."""
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


def test_occitanie_2024_in_the_csv_and_xlsx_exports(client, agents):
    occitanie()
    client.force_login(agents["dreets_76"])
    query = "tableau=axes&niveau=region&code=76&annee=2024"
    response = client.get(f"/tableaux/export.csv?{query}")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="tableau-axes-region-76-2024.csv"'
    rows = lire_csv(response)
    assert [D(r["Prévu État (€)"].replace(",", ".")) for r in rows] == [
        D("2600000"),
        D("10900000"),
        D("3300000"),
        D("3800000"),
        D("20600000"),
    ]
    assert rows[-1]["Axe"] == "Total"
    response = client.get(f"/tableaux/export.xlsx?{query}")
    feuille = openpyxl.load_workbook(io.BytesIO(response.content)).active
    entete = [c.value for c in feuille[1]]
    colonne = entete.index("Prévu État (€)")
    valeurs = [row[colonne] for row in feuille.iter_rows(min_row=2, values_only=True)]
    assert all(isinstance(v, int | float) for v in valeurs)  # amounts as numbers, not text
    assert [D(str(v)) for v in valeurs] == [D("2600000"), D("10900000"), D("3300000"), D("3800000"), D("20600000")]


def test_occitanie_2024_on_the_national_dashboard_and_its_regions_export(client, agents):
    occitanie()
    client.force_login(agents["nation"])
    doc = page(client.get("/tableaux/?annee=2024"))
    regions = tableau(doc, "regions")
    assert _nbsp(cellule(regions, "Occitanie", "Prévu État")) == "20 600 000,00 €"
    assert _nbsp(cellule(regions, "Provence-Alpes-Côte d'Azur", "Prévu État")) == "123 456,78 €"
    assert _nbsp(cellule(regions, "Total", "Prévu État")) == "20 723 456,78 €"
    rows = lire_csv(client.get("/tableaux/export.csv?tableau=regions&niveau=nation&annee=2024"))
    occ = next(r for r in rows if r["Région"] == "Occitanie")
    assert occ["Prévu État (€)"] == "20600000,00"


def test_the_demo_s_occitanie_2024_is_20_600_000_euros_on_the_regional_dashboard(client, agents):
    call_command("seed_demo", scale="region", region="76", stdout=io.StringIO())
    client.force_login(agents["dreets_76"])
    axes = tableau(page(client.get("/tableaux/region/76/?annee=2024")), "axes")
    assert [_nbsp(cellule(axes, f"Axe {n}", "Prévu État")) for n in PUBLIES] == list(PUBLIES.values())
    assert _nbsp(cellule(axes, "Total", "Prévu État")) == "20 600 000,00 €"
    export = client.get("/tableaux/export.csv?tableau=axes&niveau=region&code=76&annee=2024")
    total = lire_csv(export)[-1]
    assert total["Prévu État (€)"] == "20600000,00"


# --- Every sum equals the lines', for every persona (hypothesis) ---------------------------------------------------

COLLECTIVITES = ["D05", "D13", "D69", "M-LYO", "D31"]


@dataclass(frozen=True)
class FicheGeneree:
    axe: int
    mesure: int | None
    statut: str
    lignes: tuple[tuple[int, str, Decimal, Decimal | None, Decimal | None], ...]


MONTANTS = st.decimals(min_value=0, max_value=D("500000.00"), places=2, allow_nan=False, allow_infinity=False)
LIGNE = st.tuples(
    st.sampled_from([2024, 2025, 2026, 2027]),
    st.sampled_from([ETAT, COLL, AUTRE]),
    MONTANTS,
    st.one_of(st.none(), MONTANTS),
    st.one_of(st.none(), MONTANTS),
)
FICHE = st.builds(
    FicheGeneree,
    axe=st.sampled_from([1, 2, 3, 4]),
    mesure=st.one_of(st.none(), st.integers(0, 5)),
    statut=st.sampled_from(StatutFiche.values),
    lignes=st.lists(LIGNE, max_size=6, unique_by=lambda lg: (lg[0], lg[1])).map(tuple),
)
CONTRAT = st.tuples(st.sampled_from(COLLECTIVITES), st.sampled_from(StatutContrat.values), st.lists(FICHE, max_size=4))


def generer(contrats) -> None:
    caf = OrganisationFactory(nom="CAF")
    for i, (code, statut, fiches) in enumerate(contrats):
        contrat = ContratFactory(
            collectivite=collectivite(code),
            type_contrat=TypeContrat.CONVENTION_UNIQUE,
            reference=f"CU-2024-G{i:02d}",
            statut=statut,
            date_signature=SIGNE_LE if statut in STATUTS_FIGES else None,
        )
        for j, f in enumerate(fiches):
            mesures = list(Mesure.objects.filter(axe__numero=f.axe).order_by("code"))
            fiche = FicheActionFactory(
                contrat=contrat,
                axe=axe(f.axe),
                code=f"A{f.axe}-{j:02d}",
                mesure=None if f.mesure is None else mesures[f.mesure % len(mesures)],
                mesure_locale="" if f.mesure is not None or j % 2 else "Mesure locale",
                statut=f.statut,
            )
            for annee, financeur, prevu, engage, realise in f.lignes:
                LigneFinancementFactory(
                    fiche=fiche,
                    annee=annee,
                    type_financeur=financeur,
                    financeur=caf if financeur == AUTRE else None,
                    prevu=prevu,
                    engage=engage,
                    realise=realise,
                )
        if statut in STATUTS_FIGES:
            RapportAnnuel.objects.create(
                contrat=contrat, annee=2024, statut=StatutRapport.values[i % 4], date_limite=date(2025, 3, 31)
            )
    synthese_rebuild()


def personas() -> dict[str, object]:
    return {
        "nation": usager(centrale=True),
        "dreets_93": usager(dreets=True, region=region("93")),
        "dreets_84": usager(dreets=True, region=region("84")),
        "ddets_05": usager(ddets=True, departement=departement("05")),
        "ddets_69": usager(ddets=True, departement=departement("69")),
        "prefecture_13": usager(prefecture=True, departement=departement("13")),
        "cd_mlyo": usager(de_collectivite=True, collectivite=collectivite("M-LYO")),
    }


def _somme(qs, champ: str) -> Decimal:
    return qs.aggregate(s=Sum(champ))["s"] or D("0")


def verifier(user, annee: int | None, signes: bool) -> None:
    """Every figure of the user's own dashboard against the lines and fiches it sees (``for_user``)."""
    lus = lire_tableaux(user, territoire_de(user), Filtre(annee, signes))
    c = lus.consolidation
    lignes = LigneFinancement.objects.for_user(user).filter(fiche__statut__in=STATUTS_ACTIFS)
    fiches = FicheAction.objects.for_user(user)
    if signes:
        lignes = lignes.filter(fiche__contrat__statut__in=STATUTS_FIGES)
        fiches = fiches.filter(contrat__statut__in=STATUTS_FIGES)
    de_l_annee = lignes.filter(annee=annee) if annee else lignes
    for champ in ("prevu", "engage", "realise"):
        assert getattr(c.total, champ) == _somme(de_l_annee, champ)
    for a in c.axes:
        for financeur in (ETAT, COLL, AUTRE):
            attendu = _somme(de_l_annee.filter(fiche__axe__numero=a.axe, type_financeur=financeur), "prevu")
            assert a.financeurs[financeur].prevu == attendu
    assert sum((a.total.prevu for a in c.axes), D(0)) == c.total.prevu
    assert sum((r.total.prevu for r in c.rattachements), D(0)) == c.total.prevu
    for annee_, financeurs in c.annees.items():
        for financeur, sommes in financeurs.items():
            assert sommes.realise == _somme(lignes.filter(annee=annee_, type_financeur=financeur), "realise")
    assert set(c.annees) == set(lignes.values_list("annee", flat=True))
    par_statut = dict(fiches.values_list("statut").annotate(n=Count("pk")).order_by())
    assert {s: n for s, _, n, _ in c.statuts if n} == par_statut
    assert c.fiches == fiches.filter(statut__in=STATUTS_ACTIFS).count()
    ruptures = 0
    for contrat_id in set(fiches.values_list("contrat_id", flat=True)):
        actives = FicheAction.objects.filter(contrat_id=contrat_id, statut__in=STATUTS_ACTIFS)
        ruptures += len({m.split(",")[0] for m in parite_violations(actives, champ=PREVU)})
    assert c.ruptures.ruptures_prevu == ruptures
    # The drill-down's partition adds up to the territory; each table's total row says the same; so does the export.
    partition = {"nation": "regions", "region": "collectivites", "departement": "collectivites"}
    cle = partition.get(lus.territoire.niveau, "contrats")
    table = lus.tableaux[cle]
    prevus = [ligne.cellules[4] for ligne in table.lignes]  # « Prévu total »
    assert sum(prevus, D(0)) == c.total.prevu == table.total.cellules[4]
    assert sum(ligne.cellules[1] for ligne in table.lignes) == lus.contrats
    export = dataset(lus.tableaux["axes"])
    assert D(export[-1][4]) == c.total.prevu and export[-1][0] == "Total"
    for rangee, ligne in zip(export[:-1], lus.tableaux["axes"].lignes, strict=True):
        assert rangee[1] == ligne.cellules[1]
    rapports = RapportAnnuel.objects.for_user(user)
    if signes:
        rapports = rapports.filter(contrat__statut__in=STATUTS_FIGES)
    assert sum(ligne.cellules[-1] for ligne in lus.tableaux["rapports"].lignes) == rapports.count()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    contrats=st.lists(CONTRAT, min_size=1, max_size=5),
    annee=st.sampled_from([None, 2024, 2025, 2027]),
    signes=st.booleans(),
)
def test_every_dashboard_sum_equals_the_sum_of_the_lines_for_every_persona(db, contrats, annee, signes):
    with transaction.atomic():
        generer(contrats)
        for user in personas().values():
            verifier(user, annee, signes)
        transaction.set_rollback(True)


def test_the_property_meets_money_and_breaches():
    """The generated worlds above hold money and parity breaches; one is built here by hand and checked the same
    way, so that the property is seen to compare non-zero sums."""
    fiche = FicheGeneree(
        1, 0, StatutFiche.VALIDEE, ((2024, ETAT, D("150.01"), D("50"), D("40")), (2024, COLL, D("100"), None, None))
    )
    generer([("D05", StatutContrat.SIGNE, [fiche]), ("M-LYO", StatutContrat.BROUILLON, [fiche, fiche])])
    users = personas()
    for user in users.values():
        verifier(user, None, False)
    c = lire_tableaux(users["nation"], territoire_de(users["nation"]), Filtre()).consolidation
    assert (c.total.prevu, c.ruptures.ruptures_prevu, c.ruptures.contrats_ruptures_prevu) == (D("750.03"), 3, 2)


# --- Locked to the perimeter ----------------------------------------------------------------------------------

PERIMETRE = [
    # (user, url, expected): a territory is shown to whoever's perimeter holds all of it, else 404 (unknown alike).
    ("nation", "/tableaux/", 200),
    ("nation", "/tableaux/region/76/", 200),
    ("nation", "/tableaux/departement/2A/", 200),
    ("nation", "/tableaux/collectivite/M-MGP/", 200),
    ("nation", "/tableaux/region/99/", 404),
    ("nation", "/tableaux/departement/00/", 404),
    ("nation", "/tableaux/collectivite/INCONNUE/", 404),
    ("dreets_76", "/tableaux/", 200),
    ("dreets_76", "/tableaux/region/76/", 200),
    ("dreets_76", "/tableaux/region/93/", 404),
    ("dreets_76", "/tableaux/departement/31/", 200),
    ("dreets_76", "/tableaux/departement/05/", 404),
    ("dreets_76", "/tableaux/collectivite/M-TLS/", 200),
    ("dreets_76", "/tableaux/collectivite/D05/", 404),
    ("ddets_31", "/tableaux/", 200),
    ("ddets_31", "/tableaux/region/76/", 404),  # its own région: more than its perimeter
    ("ddets_31", "/tableaux/region/93/", 404),
    ("ddets_31", "/tableaux/departement/31/", 200),
    ("ddets_31", "/tableaux/departement/34/", 404),
    ("ddets_31", "/tableaux/collectivite/D31/", 200),
    ("ddets_31", "/tableaux/collectivite/M-TLS/", 200),  # Toulouse Métropole covers the 31
    ("ddets_31", "/tableaux/collectivite/D34/", 404),
    ("prefecture_05", "/tableaux/departement/05/", 200),
    ("prefecture_05", "/tableaux/departement/31/", 404),
    ("cd_31", "/tableaux/", 200),
    ("cd_31", "/tableaux/collectivite/D31/", 200),
    ("cd_31", "/tableaux/collectivite/M-TLS/", 404),
    ("cd_31", "/tableaux/departement/31/", 404),
    ("cd_31", "/tableaux/region/76/", 404),
    ("partenaire", "/tableaux/", 403),  # its perimeter is the actions it carries: no territory
    ("partenaire", "/tableaux/collectivite/D05/", 404),
    ("partenaire", "/tableaux/departement/05/", 404),
    ("sans_organisation", "/tableaux/", 403),
    ("sans_organisation", "/tableaux/collectivite/D05/", 404),
]


@pytest.mark.parametrize(("qui", "url", "code"), PERIMETRE, ids=[f"{q}{u}" for q, u, _ in PERIMETRE])
def test_a_dashboard_is_locked_to_the_perimeter(client, agents, qui, url, code):
    client.force_login(agents[qui])
    assert client.get(url).status_code == code
    # Its exports answer the same.
    parts = url.strip("/").split("/")
    query = f"niveau={parts[1]}&code={parts[2]}" if len(parts) == 3 else ""
    assert client.get(f"/tableaux/export.csv?tableau=axes&{query}").status_code == code


def test_anonymous_is_sent_to_the_login_page(client):
    for url in ("/tableaux/", "/tableaux/region/76/", "/tableaux/export.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/connexion/" in response["Location"]


def test_exports_refuse_what_is_not_a_table_or_a_format(client, agents):
    client.force_login(agents["nation"])
    assert client.get("/tableaux/export.pdf?tableau=axes").status_code == 404
    assert client.get("/tableaux/export.csv?tableau=inconnu").status_code == 404
    assert client.get("/tableaux/export.csv?tableau=contrats&niveau=nation").status_code == 404  # not at this level
    assert client.get("/tableaux/export.csv?tableau=axes&niveau=planete&code=1").status_code == 404
    assert client.get("/tableaux/export.csv?tableau=axes").status_code == 200  # the user's own territory


def test_the_territory_s_figures_stay_inside_it(client, agents):
    """The DDETS 31's dashboard holds the Haute-Garonne's money, not the Hérault's nor the Hautes-Alpes'."""
    occitanie()
    client.force_login(agents["ddets_31"])
    doc = page(client.get("/tableaux/?annee=2024"))
    assert doc.findtext(".//h1") == "Tableau de bord – Haute-Garonne (31)"
    # D31 (axes 1 and 2) and Toulouse Métropole (axes 1 and 4): 1 300 000,33 + 5 449 999,99 + 1 299 999,67 + 3 800 000.
    assert _nbsp(cellule(tableau(doc, "axes"), "Total", "Prévu État")) == "11 849 999,99 €"
    collectivites = tableau(doc, "collectivites")
    assert [row[0] for row in collectivites[1:-1]] == [
        "Département de la Haute-Garonne (D31)",
        "Toulouse Métropole (M-TLS)",
    ]


# --- The page ----------------------------------------------------------------------------------------------------


def test_the_page_s_structure_charts_and_links(client, agents):
    occitanie()
    client.force_login(agents["dreets_76"])
    response = client.get("/tableaux/?annee=2024")
    texte = response.content.decode()
    doc = page(response)
    assert len(doc.findall(".//h1")) == 1
    # Every table has a caption; every chart is an SVG image with a text alternative, followed by its table.
    tables = doc.findall(".//table")
    assert len(tables) == 9 and all(t.find("caption") is not None for t in tables)
    assert "Rapports annuels d'exécution par exercice : rien à montrer pour le moment." in doc.text_content()
    images = doc.findall(".//figure/img")
    assert len(images) == 3
    for img in images:
        assert img.get("alt", "").endswith("les montants sont dans le tableau qui suit.")
        src = img.get("src")
        assert src.startswith("data:image/svg+xml;base64,")
        svg = base64.b64decode(src.split(",", 1)[1]).decode()
        assert svg.startswith("<svg") and "<script" not in svg
    axes_svg = base64.b64decode(images[0].get("src").split(",", 1)[1]).decode()
    assert "#000091" in axes_svg and "Axe 1" in axes_svg  # Bleu France, the axes
    # CSP: no style attribute, no inline script without the nonce.
    assert not re.search(r"<[^>]+\sstyle=", texte)
    for script in doc.iter("script"):
        assert script.get("src") or script.get("nonce")
    assert '<link rel="stylesheet" href="/static/espace/tableaux.css">' in texte
    # Drill-down: région → départements (tiles and table) and collectivités; the filters follow.
    liens = {a.get("href") for a in doc.iter("a")}
    assert "/tableaux/departement/31/?annee=2024" in liens
    assert "/tableaux/collectivite/M-TLS/?annee=2024" in liens
    tuiles = doc.find_class("pacte-tuiles")[0].findall(".//a")
    assert [a.find_class("pacte-tuile__code")[0].text for a in tuiles][:3] == ["09", "11", "12"]
    # Exports of every table, with the page's filters.
    assert "/tableaux/export.xlsx?tableau=axes&niveau=region&code=76&annee=2024" in liens
    assert "/tableaux/export.csv?tableau=rapports&niveau=region&code=76&annee=2024" in liens
    # The breadcrumb: nothing above a région for its DREETS.
    assert "Région Occitanie" in doc.find_class("fr-breadcrumb")[0].text_content()


def test_the_nation_s_tiles_and_the_collectivite_s_contracts_and_actions(client, agents):
    contrats = occitanie()
    fiche = contrats["D31"].fiches.get(code="A1-01")
    LigneFinancement.objects.filter(fiche=fiche, type_financeur=COLL, annee=2024).update(prevu=D("1"))
    synthese_rebuild()
    client.force_login(agents["nation"])
    doc = page(client.get("/tableaux/"))
    tuiles = {
        a.find_class("pacte-tuile__code")[0].text: a.getparent().get("class")
        for a in doc.find_class("pacte-tuiles")[0].findall(".//a")
    }
    assert len(tuiles) == 101
    assert tuiles["05"] == "pacte-tuile pacte-tuile--0"  # 123 456,78 € planned, nothing spent: under 25 %
    assert tuiles["75"] == "pacte-tuile pacte-tuile--vide"  # nothing planned
    doc = page(client.get("/tableaux/collectivite/D31/"))
    contrats_table = tableau(doc, "contrats")
    assert contrats_table[1][0] == "CU-2024-D31 – En exécution"
    lien = doc.get_element_by_id("tableau-contrats").find(".//tbody//a")
    assert lien.get("href") == reverse("espace:contrat", kwargs={"reference": "CU-2024-D31"})
    ruptures = tableau(doc, "ruptures")
    assert ruptures[1][:3] == ["Prévu", "CU-2024-D31", "A1-01 – " + fiche.intitule]
    assert "2024 : la part prévue de l'État (1 300 000,33 €) dépasse celle du Département (1,00 €)" in _nbsp(
        ruptures[1][3]
    )
    lien = doc.get_element_by_id("tableau-ruptures").find(".//tbody//a")
    assert lien.get("href") == reverse("espace:fiche", kwargs={"reference": "CU-2024-D31", "code": "A1-01"})
    parite = tableau(doc, "parite")
    # A1-01 in 2024 (above) and, in 2025, every action of the fixture (the State alone): both D31 actions, one contract.
    assert parite[1] == ["Prévus (bloquant à la signature)", "2", "1"]
    breadcrumb = doc.find_class("fr-breadcrumb")[0].text_content()
    assert "France entière" in breadcrumb and "Région Occitanie" in breadcrumb


def test_bad_filters_are_said_in_french_and_left_out(client, agents):
    occitanie()
    client.force_login(agents["dreets_76"])
    doc = page(client.get("/tableaux/?annee=1999&contrats=tous-les-miens"))
    alerte = doc.find_class("fr-alert--error")[0].text_content()
    assert "Choisissez une année du Pacte ou « Toutes les années »." in alerte
    assert "Choisissez tous les contrats ou les contrats signés." in alerte
    assert "Montants par axe, toutes années" in doc.get_element_by_id("tableau-axes").findtext(".//caption")
    assert _nbsp(cellule(tableau(doc, "annees"), "2024", "Prévu")).endswith("€")


def test_signed_contracts_only(client, agents):
    occitanie()
    client.force_login(agents["dreets_76"])
    tous = tableau(page(client.get("/tableaux/?annee=2024")), "axes")
    signes = tableau(page(client.get("/tableaux/?annee=2024&contrats=signes")), "axes")
    # D34 is a draft (the third contract created): its 5 450 000,01 € and 1 100 000,10 € leave the signed figures.
    assert _nbsp(cellule(tous, "Total", "Prévu État")) == "20 600 000,00 €"
    assert _nbsp(cellule(signes, "Total", "Prévu État")) == "14 049 999,89 €"


# --- Query budgets: the same with 3 and with 30 contracts -----------------------------------------------------------


def peupler(n: int) -> None:
    """``n`` contracts across the Provence-Alpes-Côte d'Azur's collectivités, two funded fiches each, a report each."""
    codes = ["D05", "D13", "M-AMP", "D06", "M-NCE"]
    for i in range(n):
        contrat = ContratFactory(
            collectivite=collectivite(codes[i % len(codes)]), reference=f"CLS-2024-B{i:03d}", signe=True
        )
        for j, numero in enumerate((1, 3)):
            fiche = FicheActionFactory(contrat=contrat, axe=axe(numero), code=f"A{numero}-{j:02d}", validee=True)
            for annee in (2024, 2025):
                LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=ETAT, prevu=D("1000"), realise=D("10"))
                LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=COLL, prevu=D("900"))
        RapportAnnuel.objects.create(contrat=contrat, annee=2024, date_limite=date(2025, 3, 31))
    synthese_rebuild()


#: Measured: the session and the user, the organisation with its territory, the territory asked (unless it is the
#: user's own), the reference lists' labels (3), the two grouped queries over the summary, the contracts, what adds
#: them up (collectivités, their départements, régions or départements' names), the reports, the site settings;
#: the collectivité adds the parity messages of its actions (two grouped queries and the rules).
BUDGETS = {
    "/tableaux/": 17,
    "/tableaux/region/93/": 17,
    "/tableaux/departement/05/": 16,
    "/tableaux/collectivite/D05/": 20,
    "/tableaux/export.xlsx?tableau=regions&niveau=nation": 16,
}


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("url", list(BUDGETS))
def test_query_budget_is_the_same_with_3_and_30_contracts(client, django_assert_max_num_queries, url, n):
    peupler(n)
    client.force_login(usager(centrale=True))
    client.get(url)  # the charts drawn once (Django's cache): the budget counts queries, not drawings
    with django_assert_max_num_queries(BUDGETS[url]):
        assert client.get(url).status_code == 200


# --- The benchmark (make bench) -------------------------------------------------------------------------------


def test_bench_tableaux_measures_the_three_levels_and_multiplies_the_lines():
    from tests.financement.test_synthese import attendu, lue

    call_command("seed_demo", scale="region", region="93", stdout=io.StringIO())
    lignes, fiches, synthese = (m.objects.count() for m in (LigneFinancement, FicheAction, SyntheseFinancement))
    out = io.StringIO()
    call_command("bench_tableaux", "--repeat", "1", "--multiplier", "3", "--force", stdout=out)
    texte = _nbsp(out.getvalue())
    assert "Lignes multipliées par 3" in texte
    assert (LigneFinancement.objects.count(), FicheAction.objects.count()) == (3 * lignes, 3 * fiches)
    for niveau, qui in (("national", "dgcs"), ("régional", "dreets-paca"), ("départemental", "ddets05")):
        ligne = next(line for line in texte.splitlines() if line.strip().startswith(niveau))
        assert qui in ligne and "requêtes SQL" in ligne and "agrégat nu sur les lignes" in ligne
    assert lue() == attendu()  # the copies are in the summary…
    assert SyntheseFinancement.objects.count() == synthese  # …which kept its size: they sit where their originals do
    with pytest.raises(CommandError, match="déjà multipliées"):
        call_command("bench_tableaux", "--multiplier", "2", "--force", stdout=io.StringIO())
    with pytest.raises(CommandError, match="réservé à une base de banc d'essai"):
        call_command("bench_tableaux", "--multiplier", "2", stdout=io.StringIO())
