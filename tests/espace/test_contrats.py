"""The contracts in the front office: the list (filters, sort, pages), a contract's page, its status changes and
the signature journey of the prefecture (espace.views.contrats)."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from actions.enums import StatutFiche
from contrats.enums import PartieSignataire, StatutAvenant, StatutContrat, TypeComite, TypeContrat
from contrats.models import Comite, Contrat, EngagementPartenaire, LibelleAxe, ObjectifContrat, Signataire
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement
from financement.regles import plafond_violations
from pacte.enums import TypeOrganisation
from pacte.money import format_euros
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    VersementFactory,
    VoletFactory,
    axe,
    collectivite,
    departement,
    region,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE


# --- Reading the pages ------------------------------------------------------------------------------------


def texte(value: str) -> str:
    """Whitespace (non-breaking spaces included) folded: what a reader sees."""
    return " ".join(str(value).split())


class _Tables(HTMLParser):
    """Every table of a page: its caption and its rows of cell texts (header rows included)."""

    def __init__(self):
        super().__init__()
        self.tables: list[dict] = []
        self._in = None  # "caption" or "cell"

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "caption" and self.tables:
            self._in = "caption"
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables and self.tables[-1]["rows"]:
            self.tables[-1]["rows"][-1].append("")
            self._in = "cell"

    def handle_endtag(self, tag):
        if tag in ("caption", "td", "th"):
            self._in = None

    def handle_data(self, data):
        if self._in == "caption":
            self.tables[-1]["caption"] += data
        elif self._in == "cell":
            self.tables[-1]["rows"][-1][-1] += data


def tableau(response, caption: str) -> list[list[str]]:
    """The rows (cell texts) of the table whose caption starts with ``caption``."""
    parser = _Tables()
    parser.feed(response.content.decode())
    for table in parser.tables:
        if texte(table["caption"]).startswith(caption):
            return [[texte(cell) for cell in row] for row in table["rows"]]
    raise AssertionError(f"Aucun tableau « {caption} » : {[texte(t['caption']) for t in parser.tables]}")


def references(response) -> list[str]:
    return [row[0] for row in tableau(response, "")[1:] if not row[0].startswith("Aucun")]


def contenu(response) -> str:
    """The page's text as read (tags dropped, entities decoded); never an unknown template variable."""
    html = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in html
    return texte(unescape(re.sub(r"<[^>]*>", " ", html)))


def euros(value) -> str:
    return texte(format_euros(D(value)))


# --- Data -------------------------------------------------------------------------------------------------


def contrat_avec_fiches(reference="CLS-2024-D05", code="D05", statut=StatutContrat.EN_NEGOCIATION, **kwargs):
    """A CLS with a validated fiche (2024 and 2025), a proposed one with another funder, an abandoned one;
    2024 ceiling 20 000 € (15 000 € planned by the State), 2025 ceiling 25 000 € (30 000 € planned)."""
    if statut in (StatutContrat.SIGNE, StatutContrat.EN_EXECUTION):
        kwargs.setdefault("date_signature", date(2024, 3, 15))
    contrat = ContratFactory(collectivite=collectivite(code), reference=reference, statut=statut, **kwargs)
    caf = OrganisationFactory(nom=f"CAF {code}", departement=departement(code[1:]) if code[1:].isdigit() else None)
    a1 = FicheActionFactory(contrat=contrat, code="A1-01", axe=axe(1), intitule="Accueil des familles", validee=True)
    a2 = FicheActionFactory(contrat=contrat, code="A1-02", axe=axe(1), intitule="Repérage précoce", porteur=caf)
    a3 = FicheActionFactory(
        contrat=contrat, code="A3-01", axe=axe(3), intitule="Action abandonnée", statut=StatutFiche.ABANDONNEE
    )
    for fiche, annee, financeur, montant in (
        (a1, 2024, ETAT, "10000"),
        (a1, 2024, COLL, "12000"),
        (a1, 2025, ETAT, "30000"),
        (a1, 2025, COLL, "30000"),
        (a2, 2024, ETAT, "5000"),
        (a2, 2024, COLL, "5000"),
        (a3, 2024, ETAT, "99999"),
    ):
        LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=financeur, prevu=D(montant))
    LigneFinancementFactory(fiche=a2, annee=2024, type_financeur=AUTRE, financeur=caf, prevu=D("2000"))
    PlafondFactory(contrat=contrat, annee=2024, montant=D("20000"))
    PlafondFactory(contrat=contrat, annee=2025, montant=D("25000"))
    return contrat


@pytest.fixture
def prefecture(db):
    return UserFactory(
        username="prefecture05", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
    )


@pytest.fixture
def dreets_93(db):
    """A reader of the whole région Provence-Alpes-Côte d'Azur (D05, D13, D84, M-AMP…)."""
    return UserFactory(username="dreets93", organisation=OrganisationFactory(dreets=True, region=region("93")))


@pytest.fixture
def national(db):
    return UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True))


# --- The list ---------------------------------------------------------------------------------------------


def test_la_liste_montre_les_contrats_du_perimetre_avec_leurs_chiffres(client, editeur):
    contrat = contrat_avec_fiches()
    ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")
    client.force_login(editeur)
    response = client.get(reverse("espace:contrats"))
    assert response.status_code == 200
    contenu(response)
    rows = tableau(response, "1 contrat")
    assert rows[0] == [
        "Référence : trier",
        "Titre : trier",
        "Type : trier",
        "Collectivité : trier",
        "Période : trier",
        "Statut : trier",
        "Fiches : trier",
        "Prévu de l'État : trier",
    ]
    etat_actif = LigneFinancement.objects.filter(
        fiche__contrat=contrat, type_financeur=ETAT, fiche__statut__in=["proposee", "validee", "en_cours", "terminee"]
    ).aggregate(s=Sum("prevu"))["s"]
    assert etat_actif == D("45000")
    assert rows[1] == [
        "CLS-2024-D05",
        contrat.titre,
        contrat.get_type_contrat_display(),
        "Département des Hautes-Alpes",
        "01/01/2024 – 31/12/2027",
        "En négociation",
        str(contrat.fiches.count()),
        euros(etat_actif),
    ]
    assert f'href="{reverse("espace:contrat", args=["CLS-2024-D05"])}"' in response.content.decode()


def _contrats_de_la_region():
    """Contracts in three collectivités of the région 93 and one in the Rhône (région 84)."""
    ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", statut=StatutContrat.EN_NEGOCIATION)
    ContratFactory(
        collectivite=collectivite("D05"),
        reference="CDIE-2025-D05",
        cdie=True,
        date_debut=date(2025, 1, 1),
        date_fin=date(2025, 12, 31),
        statut=StatutContrat.SIGNE,
        date_signature=date(2025, 2, 1),
    )
    ContratFactory(
        collectivite=collectivite("D13"),
        reference="CLS-2024-D13",
        titre="Contrat des Bouches-du-Rhône",
        date_fin=date(2024, 12, 31),
    )
    ContratFactory(
        collectivite=collectivite("M-AMP"),
        type_contrat=TypeContrat.CLS_METROPOLE,
        reference="CLS-2024-M-AMP",
        statut=StatutContrat.BROUILLON,
    )
    ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")


@pytest.mark.parametrize(
    "query, expected",
    [
        ({}, ["CDIE-2025-D05", "CLS-2024-D05", "CLS-2024-D13", "CLS-2024-M-AMP"]),
        ({"type_contrat": "cdie"}, ["CDIE-2025-D05"]),
        ({"type_contrat": "cls_metropole"}, ["CLS-2024-M-AMP"]),
        ({"statut": "signe"}, ["CDIE-2025-D05"]),
        ({"statut": "brouillon"}, ["CLS-2024-M-AMP"]),
        ({"collectivite": "D05"}, ["CDIE-2025-D05", "CLS-2024-D05"]),
        # The département 13 is covered by its département's council and by the métropole.
        ({"departement": "13"}, ["CLS-2024-D13", "CLS-2024-M-AMP"]),
        ({"departement": "05"}, ["CDIE-2025-D05", "CLS-2024-D05"]),
        ({"region": "93"}, ["CDIE-2025-D05", "CLS-2024-D05", "CLS-2024-D13", "CLS-2024-M-AMP"]),
        # A year: the contracts whose period covers it.
        ({"annee": "2024"}, ["CLS-2024-D05", "CLS-2024-D13", "CLS-2024-M-AMP"]),
        ({"annee": "2026"}, ["CLS-2024-D05", "CLS-2024-M-AMP"]),
        ({"q": "bouches"}, ["CLS-2024-D13"]),  # the title
        ({"q": "marseille"}, ["CLS-2024-M-AMP"]),  # the collectivité's name
        ({"q": "cdie-2025"}, ["CDIE-2025-D05"]),  # the reference
        ({"q": "d13"}, ["CLS-2024-D13"]),  # the collectivité's code
        # Facets combined.
        ({"collectivite": "D05", "annee": "2024"}, ["CLS-2024-D05"]),
        ({"departement": "13", "type_contrat": "cls_departement", "statut": "en_negociation"}, ["CLS-2024-D13"]),
        ({"region": "93", "annee": "2025", "q": "D05"}, ["CDIE-2025-D05", "CLS-2024-D05"]),
    ],
)
def test_chaque_filtre_et_leurs_combinaisons(client, dreets_93, query, expected):
    _contrats_de_la_region()
    client.force_login(dreets_93)
    response = client.get(reverse("espace:contrats"), query)
    assert response.status_code == 200
    contenu(response)
    assert references(response) == expected


def test_la_region_d_un_agent_national(client, national):
    _contrats_de_la_region()
    client.force_login(national)
    response = client.get(reverse("espace:contrats"), {"region": "84"})
    assert references(response) == ["CLS-2024-D69"]


def _options(response, name: str) -> list[str]:
    html = response.content.decode()
    start = html.index(f'name="{name}"')
    select = html[start : html.index("</select>", start)]
    return [part.split('"', 1)[0] for part in select.split('value="')[1:]]


def test_les_choix_des_filtres_sont_ceux_du_perimetre(client, editeur, dreets_93):
    _contrats_de_la_region()
    client.force_login(editeur)
    response = client.get(reverse("espace:contrats"))
    assert _options(response, "collectivite") == ["", "D05"]
    assert _options(response, "departement") == ["", "05"]
    assert _options(response, "region") == ["", "93"]
    client.force_login(dreets_93)
    response = client.get(reverse("espace:contrats"))
    assert sorted(_options(response, "collectivite")) == ["", "D05", "D13", "M-AMP"]
    assert _options(response, "departement") == ["", "05", "13"]


@pytest.mark.parametrize(
    "query, champ",
    [
        ({"collectivite": "D69"}, "collectivite"),  # outside the perimeter: not a choice
        ({"collectivite": "n'importe quoi"}, "collectivite"),
        ({"departement": "69"}, "departement"),
        ({"region": "84"}, "region"),
        ({"annee": "1999"}, "annee"),
        ({"annee": "deux mille"}, "annee"),
        ({"type_contrat": "cls"}, "type_contrat"),
        ({"statut": "<script>"}, "statut"),
        ({"tri": "password"}, "tri"),
        ({"q": "x" * 101}, "q"),
        ({"q": "abc\u202edef"}, "q"),
    ],
)
def test_une_valeur_invalide_est_signalee_en_francais_sans_rien_afficher(client, editeur, query, champ):
    _contrats_de_la_region()
    client.force_login(editeur)
    response = client.get(reverse("espace:contrats"), query)
    assert response.status_code == 200
    page = contenu(response)
    assert "Un filtre n'est pas valide" in page
    assert references(response) == []
    form = response.context["form"]
    assert list(form.errors) == [champ]
    message = " ".join(form.errors[champ])
    assert any(mot in message for mot in ("Sélectionnez", "caractères", "caractère")), message
    assert texte(message) in page


@pytest.mark.parametrize(
    "tri, expected",
    [
        ("reference", ["CLS-2024-A", "CLS-2024-B", "CLS-2024-C"]),
        ("-reference", ["CLS-2024-C", "CLS-2024-B", "CLS-2024-A"]),
        ("titre", ["CLS-2024-C", "CLS-2024-A", "CLS-2024-B"]),
        ("fiches", ["CLS-2024-B", "CLS-2024-C", "CLS-2024-A"]),
        ("-fiches", ["CLS-2024-A", "CLS-2024-C", "CLS-2024-B"]),
        ("etat", ["CLS-2024-B", "CLS-2024-A", "CLS-2024-C"]),
        ("-etat", ["CLS-2024-C", "CLS-2024-A", "CLS-2024-B"]),
        ("debut", ["CLS-2024-B", "CLS-2024-A", "CLS-2024-C"]),
        ("statut", ["CLS-2024-A", "CLS-2024-C", "CLS-2024-B"]),
    ],
)
def test_le_tri(client, editeur, tri, expected):
    a = ContratFactory(
        reference="CLS-2024-A", titre="Bravo", statut=StatutContrat.BROUILLON, date_debut=date(2024, 3, 1)
    )
    b = ContratFactory(reference="CLS-2024-B", titre="Charlie", statut=StatutContrat.PRET_SIGNATURE)
    c = ContratFactory(reference="CLS-2024-C", titre="Alpha", date_debut=date(2024, 6, 1))
    ContratFactory(reference="CLS-2024-B-AUTRE", collectivite=collectivite("D69"))
    for contrat, fiches, etat in ((a, 3, "500"), (b, 0, "0"), (c, 1, "900")):
        for n in range(fiches):
            fiche = FicheActionFactory(contrat=contrat, code=f"A1-{n + 1:02d}")
            if n == 0:
                LigneFinancementFactory(fiche=fiche, prevu=D(etat))
    client.force_login(editeur)
    response = client.get(reverse("espace:contrats"), {"tri": tri})
    assert references(response) == expected
    assert f"par {response.context['tri_libelle'].lower()}" in contenu(response)


def test_un_titre_de_colonne_inverse_le_tri_en_cours(client, editeur):
    ContratFactory(reference="CLS-2024-A")
    client.force_login(editeur)
    html = client.get(reverse("espace:contrats"), {"tri": "reference"}).content.decode()
    assert 'aria-sort="ascending"' in html
    assert "tri=-reference" in html
    html = client.get(reverse("espace:contrats"), {"tri": "-reference"}).content.decode()
    assert 'aria-sort="descending"' in html


def test_la_pagination_par_50(client, national):
    for n in range(53):
        ContratFactory(reference=f"CLS-2024-P{n:03d}")
    client.force_login(national)
    response = client.get(reverse("espace:contrats"))
    assert len(references(response)) == 50
    assert references(response)[0] == "CLS-2024-P000"
    assert 'class="fr-pagination"' in response.content.decode()
    response = client.get(reverse("espace:contrats"), {"page": 2, "tri": "-reference"})
    assert references(response) == ["CLS-2024-P002", "CLS-2024-P001", "CLS-2024-P000"]
    assert "page 2 sur 2" in contenu(response)
    # A page that does not exist shows the last one, never an error.
    response = client.get(reverse("espace:contrats"), {"page": "999"})
    assert response.status_code == 200
    assert len(references(response)) == 3
    response = client.get(reverse("espace:contrats"), {"page": "abc"})
    assert len(references(response)) == 50


def test_un_partenaire_voit_les_contrats_des_actions_qu_il_porte(client):
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))
    porte = ContratFactory(reference="CLS-2024-D05")
    FicheActionFactory(contrat=porte, code="A1-01", porteur=caf)
    autre = FicheActionFactory(contrat=porte, code="A1-02")
    LigneFinancementFactory(fiche=autre, prevu=D("7000"))
    ContratFactory(reference="CDIE-2024-D05", cdie=True)
    client.force_login(UserFactory(organisation=caf))
    response = client.get(reverse("espace:contrats"))
    assert references(response) == ["CLS-2024-D05"]
    # Its figures are those of the actions it carries.
    assert tableau(response, "1 contrat")[1][6:] == ["1", euros(0)]


@pytest.mark.parametrize("nombre", [3, 30])
def test_budget_de_requetes_de_la_liste(client, national, django_assert_max_num_queries, nombre):
    for n in range(nombre):
        contrat = ContratFactory(
            reference=f"CLS-2024-B{n:03d}", collectivite=collectivite(("D05", "D13", "D69")[n % 3])
        )
        fiche = FicheActionFactory(contrat=contrat, code="A1-01")
        LigneFinancementFactory(fiche=fiche)
    client.force_login(national)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("espace:contrats"), {"annee": "2024", "tri": "-etat"})
    assert len(references(response)) == nombre


# --- The contract's page ----------------------------------------------------------------------------------


def _page(client, user, reference="CLS-2024-D05"):
    client.force_login(user)
    response = client.get(reverse("espace:contrat", args=[reference]))
    assert response.status_code == 200
    contenu(response)
    return response


def test_la_page_d_un_contrat_en_negociation(client, editeur):
    contrat = contrat_avec_fiches()
    contrat.preambule = "<p>Le <strong>préfet</strong> et le président conviennent.</p>"
    contrat.titre = "Contrat <b>local</b>"
    contrat.save()
    LibelleAxe.objects.create(contrat=contrat, axe=axe(1), libelle="Petite enfance et familles")
    ObjectifContrat.objects.create(contrat=contrat, ordre=1, libelle="Prévenir la pauvreté des enfants.")
    SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT, nom="Dominique Martin", date_signature=None)
    caf = OrganisationFactory(nom="CAF partenaire", departement=departement("05"))
    EngagementPartenaire.objects.create(contrat=contrat, organisation=caf, annee=2024, montant=D("1500"))
    Comite.objects.create(contrat=contrat, type_comite=TypeComite.SUIVI, date=date(2024, 6, 14), lieu="Gap")
    response = _page(client, editeur)
    page = contenu(response)
    html = response.content.decode()

    assert "<h1>Contrat CLS-2024-D05</h1>" in html
    # The preamble is the cleaned rich text, shown as HTML; every other text is escaped.
    assert "<strong>préfet</strong>" in html
    assert "Contrat &lt;b&gt;local&lt;/b&gt;" in html
    assert "Prévenir la pauvreté des enfants." in page
    assert tableau(response, "Signataires du contrat")[1] == ["État", "Dominique Martin", "Préfet", "pas encore signé"]

    # Fiches by axis, the local wording of the axis, totals of the active fiches equal to the database's sums.
    assert "Axe 1 – Petite enfance et familles" in page
    axe_1 = tableau(response, "Fiches actions de l'axe 1")
    sommes = {
        (code, financeur): s
        for code, financeur, s in LigneFinancement.objects.filter(fiche__contrat=contrat)
        .values_list("fiche__code", "type_financeur")
        .annotate(s=Sum("prevu"))
    }
    assert axe_1[1] == [
        "A1-01",
        "Accueil des familles",
        "Validée",
        euros(sommes["A1-01", ETAT]),
        euros(sommes["A1-01", COLL]),
    ]
    assert axe_1[2] == [
        "A1-02",
        "Repérage précoce",
        "Proposée",
        euros(sommes["A1-02", ETAT]),
        euros(sommes["A1-02", COLL]),
    ]
    assert axe_1[3] == ["Total de l'axe 1 (fiches actives)", euros(45000), euros(47000)]
    axe_3 = tableau(response, "Fiches actions de l'axe 3")
    assert axe_3[1] == ["A3-01", "Action abandonnée", "Abandonnée", euros(99999), euros(0)]
    assert axe_3[2] == ["Total de l'axe 3 (fiches actives)", euros(0), euros(0)]
    assert tableau(response, "Fiches actions de l'axe 4")[1] == ["Aucune fiche action sur cet axe."]
    assert f'href="{reverse("espace:fiche", args=["CLS-2024-D05", "A1-01"])}"' in html

    # Ceilings against the State's planned amounts of the active fiches; the overrun says by how much.
    enveloppes = tableau(response, "Enveloppes annuelles")
    assert enveloppes[1] == ["2024", "Contrat", euros(20000), euros(15000), f"reste {euros(5000)}"]
    assert enveloppes[2][:4] == ["2025", "Contrat", euros(25000), euros(30000)]
    assert enveloppes[2][4].startswith(f"Dépassement de {euros(5000)}")
    assert (
        "2025 : les parts prévues de l'État (30 000,00 €) dépassent l'enveloppe annuelle (25 000,00 €) de 5 000,00 €"
        in page
    )
    assert enveloppes[3] == ["2026", "Contrat", "aucune", euros(0), "—"]

    # Cofinancing per year, equal to the database's sums over the active fiches.
    cofinancement = tableau(response, "Montants prévus des fiches actives")
    actives = LigneFinancement.objects.filter(fiche__contrat=contrat).exclude(fiche__statut=StatutFiche.ABANDONNEE)
    for row in cofinancement[1:]:
        annee = int(row[0])
        par = {
            t: actives.filter(annee=annee, type_financeur=t).aggregate(s=Sum("prevu"))["s"] or 0
            for t in (ETAT, COLL, AUTRE)
        }
        assert row[1:] == [euros(par[ETAT]), euros(par[COLL]), euros(par[AUTRE]), euros(sum(par.values()))]
    assert cofinancement[1] == ["2024", euros(15000), euros(17000), euros(2000), euros(34000)]
    assert [row[0] for row in cofinancement[1:]] == ["2024", "2025", "2026", "2027"]

    assert tableau(response, "Ce que chaque partenaire apporte")[1] == ["CAF partenaire", "2024", euros(1500), "—", "—"]
    assert tableau(response, "Comités tenus")[1] == ["Comité de suivi", "14/06/2024", "Gap", "—"]
    assert "Aucun versement." in page
    assert "Aucun avenant." in page
    assert "Convention (PDF, version de travail)" in page
    assert reverse("espace:contrat_historique", args=["CLS-2024-D05"]) in html

    # The DDETS editor prepares it: new fiche, ready for signature, back to draft is not offered here.
    assert "Nouvelle fiche action" in page
    assert reverse("espace:fiche_creer", args=["CLS-2024-D05"]) in html
    assert reverse("espace:contrat_statut", args=["CLS-2024-D05", "pret"]) in html
    assert "Ouvrir un avenant" not in page
    assert "Enregistrer la signature" not in page


def test_les_enveloppes_par_volet_comme_la_regle_les_verifie(client, editeur):
    """Volets with their own ceiling are compared each with its own, the fiches outside volets with none; the
    messages are those of the rule (financement.regles.plafond_violations)."""
    contrat = ContratFactory(
        reference="CU-2024-D05", type_contrat=TypeContrat.CONVENTION_UNIQUE, statut=StatutContrat.EN_NEGOCIATION
    )
    v1 = VoletFactory(contrat=contrat, numero=1, intitule="Pilotage")
    v2 = VoletFactory(contrat=contrat, numero=2, intitule="Accompagnement")
    for code, numero, volet, etat in (("A2-01", 2, v1, "8000"), ("A2-02", 2, v2, "4000"), ("A1-01", 1, None, "1000")):
        fiche = FicheActionFactory(contrat=contrat, code=code, axe=axe(numero), volet=volet)
        LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D(etat))
    PlafondFactory(contrat=contrat, volet=v1, annee=2024, montant=D("5000"))
    PlafondFactory(contrat=contrat, volet=v2, annee=2024, montant=D("6000"))
    PlafondFactory(contrat=contrat, annee=2025, montant=D("1000"))
    response = _page(client, editeur, "CU-2024-D05")
    rows = tableau(response, "Enveloppes annuelles")[1:]
    assert [row[:4] for row in rows[:4]] == [
        ["2024", "Hors volets", "aucune", euros(1000)],
        ["2024", "Volet 1", euros(5000), euros(8000)],
        ["2024", "Volet 2", euros(6000), euros(4000)],
        ["2025", "Contrat", euros(1000), euros(0)],
    ]
    assert rows[0][4].startswith(f"Sans enveloppe pour {euros(1000)}")
    assert rows[1][4].startswith(f"Dépassement de {euros(3000)}")
    assert rows[2][4] == f"reste {euros(2000)}"
    assert rows[3][4] == f"reste {euros(1000)}"
    page = contenu(response)
    messages = plafond_violations(contrat)
    assert len(messages) == 2
    for message in messages:
        assert texte(message) in page


#: (ceilings (year, volet number or None, amount), State lines (code, volet number or None, year, amount),
#: number of breaches)
CAS_ENVELOPPES = [
    ([(2024, None, "20000")], [("A1-01", None, 2024, "15000")], 0),
    ([(2024, None, "10000")], [("A1-01", None, 2024, "15000")], 1),
    ([], [("A1-01", None, 2024, "1")], 1),
    (
        [(2024, 1, "5000"), (2024, 2, "6000")],
        [("A2-01", 1, 2024, "8000"), ("A2-02", 2, 2024, "4000"), ("A1-01", None, 2024, "1000")],
        2,
    ),
    ([(2024, None, "10000"), (2024, 1, "5000")], [("A2-01", 1, 2024, "6000"), ("A2-02", 2, 2024, "3000")], 1),
    ([(2024, 1, "5000")], [("A2-02", 2, 2024, "3000")], 1),
    ([(2025, None, "0")], [("A1-01", None, 2025, "0.01")], 1),
    ([(2025, None, "100"), (2026, None, "100")], [("A1-01", None, 2025, "100"), ("A1-01", None, 2026, "100.01")], 1),
]


@pytest.mark.parametrize("plafonds, lignes, nombre", CAS_ENVELOPPES)
def test_le_tableau_des_enveloppes_dit_ce_que_dit_la_regle(national, plafonds, lignes, nombre):
    """The page's ceilings (its rows' verdicts, its alert) are the rule's: plafond_violations on the same data."""
    from espace.views.contrats import _enveloppes, _fiches_et_montants, alertes_enveloppes

    contrat = ContratFactory(reference="CU-2024-D05", type_contrat=TypeContrat.CONVENTION_UNIQUE)
    volets = {n: VoletFactory(contrat=contrat, numero=n, intitule=f"Volet {n}") for n in (1, 2)}
    fiches = {}
    for code, volet, annee, montant in lignes:
        if code not in fiches:
            fiches[code] = FicheActionFactory(
                contrat=contrat, code=code, axe=axe(int(code[1])), volet=volets.get(volet)
            )
        LigneFinancementFactory(fiche=fiches[code], annee=annee, type_financeur=ETAT, prevu=D(montant))
    for annee, volet, montant in plafonds:
        PlafondFactory(contrat=contrat, annee=annee, volet=volets.get(volet), montant=D(montant))
    regle = plafond_violations(contrat)
    assert len(regle) == nombre
    montants = _fiches_et_montants(national, contrat)
    rows = _enveloppes(contrat, montants, list(contrat.plafonds.select_related("volet")))
    assert [m for row in rows for m in row.messages] == regle
    assert [row for row in rows if row.depassement is not None] == [row for row in rows if row.messages]
    assert alertes_enveloppes(montants, list(contrat.plafonds.select_related("volet"))) == regle


def test_la_page_d_un_contrat_signe(client, editeur):
    contrat = contrat_avec_fiches(statut=StatutContrat.SIGNE)
    SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT, nom="Dominique Martin")
    SignataireFactory(contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="Claude Bernard", qualite="Président")
    AvenantFactory(contrat=contrat, numero=1, statut=StatutAvenant.SIGNE, date_signature=date(2024, 9, 1))
    VersementFactory(contrat=contrat, annee=2024, montant=D("15000"))
    response = _page(client, editeur)
    page = contenu(response)
    html = response.content.decode()
    assert "Signé le 15/03/2024" in page
    assert tableau(response, "Signataires du contrat")[1:] == [
        ["État", "Dominique Martin", "Préfet", "15/03/2024"],
        ["Collectivité", "Claude Bernard", "Président", "15/03/2024"],
    ]
    assert tableau(response, "Avenants au contrat")[1] == [
        "Avenant n° 1",
        "Actualisation de l'annexe financière",
        "Signé",
        "01/09/2024",
    ]
    assert reverse("espace:avenant", args=["CLS-2024-D05", 1]) in html
    assert tableau(response, "Versements de l'État")[1] == [
        "2024",
        "Versement unique",
        euros(15000),
        "Département des Hautes-Alpes",
        "2100123456",
        "01/06/2024",
    ]
    # Frozen: no new fiche; an avenant can be opened; execution and termination offered.
    assert "Nouvelle fiche action" not in page
    assert "Ouvrir un avenant" in page
    assert reverse("espace:avenant_creer", args=["CLS-2024-D05"]) in html
    for action in ("execution", "resilier"):
        assert reverse("espace:contrat_statut", args=["CLS-2024-D05", action]) in html
    for action in ("pret", "negociation", "clore", "signer"):
        assert reverse("espace:contrat_statut", args=["CLS-2024-D05", action]) not in html
    # The figures are those of the draft page: same sums.
    assert tableau(response, "Fiches actions de l'axe 1")[3] == [
        "Total de l'axe 1 (fiches actives)",
        euros(45000),
        euros(47000),
    ]


def test_un_avenant_ouvert_retire_le_bouton_ouvrir_un_avenant(client, editeur):
    contrat = contrat_avec_fiches(statut=StatutContrat.SIGNE)
    AvenantFactory(contrat=contrat, numero=1)
    page = contenu(_page(client, editeur))
    assert "Ouvrir un avenant" not in page
    assert "Avenant n° 1" in page


def test_un_lecteur_ne_voit_aucun_bouton(client, lecteur, prefecture):
    contrat_avec_fiches(statut=StatutContrat.PRET_SIGNATURE)
    response = _page(client, lecteur)
    html = response.content.decode()
    assert "/statut/" not in html
    assert "Nouvelle fiche action" not in contenu(response)
    # The prefecture records the signature, and nothing else.
    html = _page(client, prefecture).content.decode()
    assert reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"]) in html
    assert reverse("espace:contrat_statut", args=["CLS-2024-D05", "negociation"]) not in html
    assert "Nouvelle fiche action" not in contenu(_page(client, prefecture))


def test_un_partenaire_voit_ses_actions_et_pas_les_chiffres_du_contrat(client):
    contrat = contrat_avec_fiches()
    caf = contrat.fiches.get(code="A1-02").porteur
    response = _page(client, UserFactory(organisation=caf))
    page = contenu(response)
    assert [row[0] for row in tableau(response, "Fiches actions de l'axe 1")[1:]] == [
        "A1-02",
        "Total de l'axe 1 (fiches actives)",
    ]
    assert "Enveloppes annuelles" not in page
    assert "Versements de l'État" not in page
    assert "Vous voyez les actions que votre organisme porte" in page


def test_hors_perimetre_la_page_repond_404(client, autre_territoire):
    contrat_avec_fiches()
    client.force_login(autre_territoire)
    assert client.get(reverse("espace:contrat", args=["CLS-2024-D05"])).status_code == 404
    assert client.get(reverse("espace:contrat", args=["N-EXISTE-PAS"])).status_code == 404


@pytest.mark.parametrize("nombre", [3, 30])
def test_budget_de_requetes_de_la_page(client, editeur, django_assert_max_num_queries, nombre):
    contrat = ContratFactory(reference="CLS-2024-D05", statut=StatutContrat.SIGNE, date_signature=date(2024, 3, 15))
    for n in range(nombre):
        fiche = FicheActionFactory(contrat=contrat, code=f"A{(1, 3, 4)[n % 3]}-{n:02d}", axe=axe((1, 3, 4)[n % 3]))
        for annee in (2024, 2025):
            LigneFinancementFactory(fiche=fiche, annee=annee, prevu=D("1000"))
            LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=COLL, prevu=D("1000"))
        SignataireFactory(
            contrat=contrat, partie=PartieSignataire.PARTENAIRE, organisation=OrganisationFactory(), nom=f"S{n}"
        )
        VersementFactory(contrat=contrat, annee=2024, montant=D("10"))
        AvenantFactory(contrat=contrat, numero=n + 1, statut=StatutAvenant.SIGNE, date_signature=date(2024, 9, 1))
        Comite.objects.create(contrat=contrat, type_comite=TypeComite.SUIVI, date=date(2024, 6, 1))
    PlafondFactory(contrat=contrat, annee=2024, montant=D("1000"))
    client.force_login(editeur)
    with django_assert_max_num_queries(24):  # 23, and one for the annual reports with their lateness
        response = client.get(reverse("espace:contrat", args=["CLS-2024-D05"]))
    assert response.status_code == 200
    assert len(tableau(response, "Versements de l'État")) == nombre + 1


# --- Status changes ---------------------------------------------------------------------------------------


def _statut(contrat) -> str:
    return Contrat.objects.values_list("statut", flat=True).get(pk=contrat.pk)


def contrat_signable(
    statut=StatutContrat.PRET_SIGNATURE, *, reference="CLS-2024-D05", dates=(None, None), plafond="20000"
):
    """Everything a signature checks passes (a validated fiche, parity, a ceiling that fits), the État's and
    the collectivité's signatories with ``dates``."""
    contrat = ContratFactory(reference=reference, statut=statut)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", validee=True)
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("10000"))
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=COLL, prevu=D("10000"))
    PlafondFactory(contrat=contrat, annee=2024, montant=D(plafond))
    SignataireFactory(contrat=contrat, partie=PartieSignataire.ETAT, nom="Dominique Martin", date_signature=dates[0])
    SignataireFactory(
        contrat=contrat,
        partie=PartieSignataire.COLLECTIVITE,
        nom="Claude Bernard",
        qualite="Président du conseil départemental",
        date_signature=dates[1],
    )
    return contrat


#: action → (status before, data posted, status after)
TRANSITIONS = {
    "negociation": (StatutContrat.BROUILLON, {}, StatutContrat.EN_NEGOCIATION),
    "pret": (StatutContrat.EN_NEGOCIATION, {}, StatutContrat.PRET_SIGNATURE),
    "execution": (StatutContrat.SIGNE, {}, StatutContrat.EN_EXECUTION),
    "clore": (StatutContrat.EN_EXECUTION, {"motif": "Fin de la période."}, StatutContrat.CLOS),
    "resilier": (StatutContrat.SIGNE, {"motif": "Accord des parties."}, StatutContrat.RESILIE),
}


def _contrat_au_statut(statut):
    if statut in (StatutContrat.SIGNE, StatutContrat.EN_EXECUTION):
        return _signe(statut)
    return contrat_signable(statut, dates=(date(2024, 3, 1), date(2024, 3, 15)))


def _signe(statut):
    contrat = contrat_signable(StatutContrat.EN_NEGOCIATION, dates=(date(2024, 3, 1), date(2024, 3, 15)))
    Contrat.objects.filter(pk=contrat.pk).update(statut=statut, date_signature=date(2024, 3, 15))
    return contrat


@pytest.mark.parametrize("action", sorted(TRANSITIONS))
def test_chaque_changement_de_statut_par_la_page_de_confirmation(client, editeur, action):
    avant, data, apres = TRANSITIONS[action]
    contrat = _contrat_au_statut(avant)
    url = reverse("espace:contrat_statut", args=["CLS-2024-D05", action])
    client.force_login(editeur)
    response = client.get(url)
    assert response.status_code == 200
    page = contenu(response)
    assert "Ce qui va se passer" in page
    assert _statut(contrat) == avant  # a GET changes nothing
    response = client.post(url, data)
    assert response.status_code == 302, contenu(response)
    assert response["Location"] == reverse("espace:contrat", args=["CLS-2024-D05"])
    assert _statut(contrat) == apres
    assert [str(m) for m in get_messages(response.wsgi_request)]
    if "motif" in data:
        assert Contrat.objects.get(pk=contrat.pk).motif_fin == data["motif"]
    # The history says who did it.
    assert Contrat.history.filter(id=contrat.pk).latest("history_id").history_user == editeur


def test_revenir_en_negociation_depuis_pret_pour_signature(client, editeur):
    contrat = contrat_signable()
    client.force_login(editeur)
    response = client.get(reverse("espace:contrat", args=["CLS-2024-D05"]))
    assert "Revenir en négociation" in contenu(response)
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "negociation"]))
    assert response.status_code == 302
    assert _statut(contrat) == StatutContrat.EN_NEGOCIATION


@pytest.mark.parametrize("action", [*sorted(TRANSITIONS), "signer"])
def test_un_lecteur_recoit_403_et_rien_ne_change(client, lecteur, autre_territoire, action):
    contrat = _contrat_au_statut(TRANSITIONS.get(action, (StatutContrat.PRET_SIGNATURE,))[0])
    avant = _statut(contrat)
    url = reverse("espace:contrat_statut", args=["CLS-2024-D05", action])
    client.force_login(lecteur)
    assert client.get(url).status_code == 403
    assert client.post(url, {"motif": "x"}).status_code == 403
    client.force_login(autre_territoire)
    assert client.get(url).status_code == 404
    assert client.post(url, {"motif": "x"}).status_code == 404
    assert _statut(contrat) == avant


def test_la_prefecture_signe_mais_ne_prepare_pas(client, prefecture):
    contrat = contrat_signable(StatutContrat.EN_NEGOCIATION)
    client.force_login(prefecture)
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "pret"]))
    assert response.status_code == 403
    assert _statut(contrat) == StatutContrat.EN_NEGOCIATION
    assert client.get(reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"])).status_code == 200


def test_une_action_inconnue_repond_404(client, editeur):
    contrat_signable()
    client.force_login(editeur)
    for action in ("signe", "brouillon", "supprimer"):
        assert client.get(reverse("espace:contrat_statut", args=["CLS-2024-D05", action])).status_code == 404


def test_un_changement_interdit_depuis_le_statut_est_dit_et_rien_n_est_ecrit(client, editeur):
    contrat = _signe(StatutContrat.SIGNE)
    client.force_login(editeur)
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "clore"]), {"motif": "Fin."})
    assert response.status_code == 200
    page = contenu(response)
    assert "Rien n'a été enregistré" in page
    assert "Le contrat CLS-2024-D05 ne peut pas passer de « Signé » à « Clos »." in page
    assert _statut(contrat) == StatutContrat.SIGNE
    assert Contrat.objects.get(pk=contrat.pk).motif_fin == ""


@pytest.mark.parametrize(
    "motif, message",
    [
        ("  ", "Indiquez le motif de la résiliation."),
        ("", "Indiquez le motif de la résiliation."),
        ("Accord\u202e des parties", "U+202E"),
        ("Accord\x00", "U+0000"),
        ("x" * 10001, "il en compte 10 000 au plus"),
    ],
)
def test_resilier_sans_motif_valable_est_refuse(client, editeur, motif, message):
    contrat = _signe(StatutContrat.SIGNE)
    client.force_login(editeur)
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "resilier"]), {"motif": motif})
    assert response.status_code == 200
    assert message in contenu(response)
    assert _statut(contrat) == StatutContrat.SIGNE
    assert Contrat.objects.get(pk=contrat.pk).motif_fin == ""


def test_pret_pour_signature_refuse_dit_pourquoi(client, editeur):
    contrat = contrat_signable(StatutContrat.EN_NEGOCIATION, plafond="5000")
    client.force_login(editeur)
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "pret"]))
    assert response.status_code == 200
    page = contenu(response)
    assert "Le contrat CLS-2024-D05 n'est pas prêt pour signature :" in page
    assert (
        "2024 : les parts prévues de l'État (10 000,00 €) dépassent l'enveloppe annuelle (5 000,00 €) de 5 000,00 €"
        in page
    )
    assert _statut(contrat) == StatutContrat.EN_NEGOCIATION


# --- The signature journey --------------------------------------------------------------------------------


def _dates(contrat) -> list:
    return list(Signataire.objects.filter(contrat=contrat).order_by("partie").values_list("date_signature", flat=True))


def test_la_prefecture_enregistre_les_dates_et_la_signature(client, prefecture):
    contrat = contrat_signable(dates=(date(2024, 3, 1), None))
    collectivite_ = contrat.signataires.get(partie=PartieSignataire.COLLECTIVITE)
    etat = contrat.signataires.get(partie=PartieSignataire.ETAT)
    url = reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"])
    client.force_login(prefecture)
    response = client.get(url)
    assert response.status_code == 200
    page = contenu(response)
    assert tableau(response, "Signataires du contrat CLS-2024-D05")[1:] == [
        ["État", "Dominique Martin", "Préfet", "01/03/2024"],
        ["Collectivité", "Claude Bernard", "Président du conseil départemental", "à indiquer ci-dessous"],
    ]
    # A date field for the signatory who has none; none for the État, who signed on 1 March.
    form = response.context["form"]
    assert set(form.fields) == {f"date_{collectivite_.pk}", f"version_{collectivite_.pk}"}
    assert "Date de signature de Claude Bernard (Collectivité)" in page
    assert "La signature ne s'annule pas." in page

    response = client.post(
        url, {f"date_{collectivite_.pk}": "2024-03-20", f"version_{collectivite_.pk}": collectivite_.version}
    )
    assert response.status_code == 302, contenu(response)
    assert response["Location"] == reverse("espace:contrat", args=["CLS-2024-D05"])
    contrat.refresh_from_db()
    assert contrat.statut == StatutContrat.SIGNE
    assert contrat.date_signature == date(2024, 3, 20)  # the latest signature
    assert Signataire.objects.get(pk=collectivite_.pk).date_signature == date(2024, 3, 20)
    assert Signataire.objects.get(pk=etat.pk).date_signature == date(2024, 3, 1)
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Le contrat CLS-2024-D05 est signé."]
    assert Signataire.history.filter(id=collectivite_.pk).latest("history_id").history_user == prefecture
    page = contenu(client.get(response["Location"]))
    assert "Signé le 20/03/2024" in page


def test_une_signature_refusee_ne_garde_aucune_date(client, prefecture):
    contrat = contrat_signable(dates=(None, None), plafond="5000")  # the State's 10 000 € exceed the ceiling
    ids = list(contrat.signataires.order_by("partie").values_list("pk", "version"))
    client.force_login(prefecture)
    data = {}
    for pk, version in ids:
        data |= {f"date_{pk}": "2024-03-10", f"version_{pk}": version}
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"]), data)
    assert response.status_code == 200
    page = contenu(response)
    assert "Le contrat CLS-2024-D05 ne peut pas être signé :" in page
    assert "dépassent l'enveloppe annuelle (5 000,00 €)" in page
    assert _statut(contrat) == StatutContrat.PRET_SIGNATURE
    assert _dates(contrat) == [None, None]
    # The page lists the signatories as they are: still without a date.
    assert tableau(response, "Signataires du contrat")[1][3] == "à indiquer ci-dessous"
    assert Signataire.objects.filter(contrat=contrat, version__gt=0).count() == 0


def test_une_signature_sans_le_signataire_de_la_collectivite_est_refusee(client, prefecture):
    contrat = contrat_signable(dates=(date(2024, 3, 1), None))
    contrat.signataires.filter(partie=PartieSignataire.COLLECTIVITE).delete()
    client.force_login(prefecture)
    response = client.post(reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"]))
    assert response.status_code == 200
    assert "Le signataire pour la collectivité n'est pas renseigné." in contenu(response)
    assert _statut(contrat) == StatutContrat.PRET_SIGNATURE


@pytest.mark.parametrize(
    "saisie, message",
    [
        ("", "Indiquez la date de signature de Claude Bernard (Collectivité)."),
        ("31/02/2024", "Saisissez une date valide (ex. 15/03/2025)."),
        ("demain", "Saisissez une date valide (ex. 15/03/2025)."),
        (
            (timezone.localdate() + timedelta(days=1)).isoformat(),
            "La date de signature ne peut pas être dans le futur.",
        ),
        ("1990-01-01", None),  # refused by the field's own validator (the Pacte's dates), in French
    ],
)
def test_une_date_invalide_est_signalee_et_rien_n_est_ecrit(client, prefecture, saisie, message):
    contrat = contrat_signable(dates=(date(2024, 3, 1), None))
    s = contrat.signataires.get(partie=PartieSignataire.COLLECTIVITE)
    client.force_login(prefecture)
    response = client.post(
        reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"]),
        {f"date_{s.pk}": saisie, f"version_{s.pk}": s.version},
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == [f"date_{s.pk}"], errors
    if message:
        assert errors[f"date_{s.pk}"] == [message]
    assert _statut(contrat) == StatutContrat.PRET_SIGNATURE
    assert _dates(contrat) == [None, date(2024, 3, 1)]


def test_un_signataire_modifie_entre_temps_est_un_conflit(client, prefecture, editeur):
    from contrats.services import signataire_save

    contrat = contrat_signable(dates=(date(2024, 3, 1), None))
    s = contrat.signataires.get(partie=PartieSignataire.COLLECTIVITE)
    version = s.version
    s.qualite = "Présidente du conseil départemental"
    signataire_save(signataire=s, by=editeur)
    client.force_login(prefecture)
    response = client.post(
        reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"]),
        {f"date_{s.pk}": "2024-03-10", f"version_{s.pk}": version},
    )
    assert response.status_code == 200
    assert "pendant votre saisie" in contenu(response)
    assert _statut(contrat) == StatutContrat.PRET_SIGNATURE
    assert Signataire.objects.get(pk=s.pk).date_signature is None


def test_le_lecteur_et_les_autres_organisations_ne_signent_pas(client):
    contrat = contrat_signable(dates=(date(2024, 3, 1), date(2024, 3, 2)))
    cd = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    client.force_login(UserFactory(organisation=cd))
    url = reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"])
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    assert _statut(contrat) == StatutContrat.PRET_SIGNATURE
    assert cd.type == TypeOrganisation.COLLECTIVITE


@pytest.mark.parametrize("nombre", [3, 30])
def test_budget_de_requetes_de_la_page_de_signature(client, prefecture, django_assert_max_num_queries, nombre):
    contrat = contrat_signable()
    for n in range(nombre):
        SignataireFactory(
            contrat=contrat,
            partie=PartieSignataire.PARTENAIRE,
            organisation=OrganisationFactory(nom=f"Partenaire {n}"),
            nom=f"S{n}",
            date_signature=None,
        )
    client.force_login(prefecture)
    with django_assert_max_num_queries(11):
        response = client.get(reverse("espace:contrat_statut", args=["CLS-2024-D05", "signer"]))
    assert len(tableau(response, "Signataires du contrat")) == nombre + 3
    assert len(response.context["form"].fields) == 2 * (nombre + 2)
