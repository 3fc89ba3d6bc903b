"""A contract's money page and its payments (espace.views.argent): the figures against sums computed here from the
lines, the warnings with their amounts and links, the reliquat decision and the payment status journeys through
the pages, each check's edges seen from the pages, the personas, and the query budgets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import lxml.html
import pytest
from django.urls import reverse
from pytest_django.asserts import assertContains

from actions.enums import STATUTS_ACTIFS, StatutFiche
from contrats.models import Contrat
from financement.enums import DecisionReliquat, StatutRapport, StatutVersement, TypeFinanceur
from financement.models import LigneFinancement, RapportAnnuel, Reliquat, Versement
from financement.services import versement_create, versement_transition
from pacte.enums import Role, TypeOrganisation
from tests import hostile
from tests.espace.test_matrice import donnees as donnees  # noqa: F401  (the matrix's data set and users)
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    axe,
    collectivite,
    departement,
)

pytestmark = pytest.mark.django_db

D = Decimal
NBSP = "\u00a0"
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
PREVU, DEMANDE, VERSE = StatutVersement.PREVU, StatutVersement.DEMANDE, StatutVersement.VERSE
REF = "CLS-2024-D05"
EJ = "2100123456"


def euros(text: str) -> str:
    """Amounts of ``text`` (``"10 000,00 €"``) written with the non-breaking spaces of ``pacte.money.format_euros``."""
    return re.sub(r"(?<=[0-9]) (?=[0-9]{3})", NBSP, text).replace(" €", f"{NBSP}€")


def montant(value) -> str:
    return euros(f"{Decimal(value):,.2f} €".replace(",", " ").replace(".", ","))


# --- The data set ------------------------------------------------------------------------------------------


@dataclass
class Monde:
    contrat: Contrat
    caf: object
    users: dict


def ligne(fiche, annee, type_financeur, prevu, engage=None, realise=None, financeur=None):
    return LigneFinancementFactory(
        fiche=fiche,
        annee=annee,
        type_financeur=type_financeur,
        financeur=financeur,
        prevu=D(prevu),
        engage=None if engage is None else D(engage),
        realise=None if realise is None else D(realise),
    )


def fiche(contrat, code, statut=StatutFiche.VALIDEE, porteur=None):
    kwargs = {"porteur": porteur} if porteur is not None else {}
    return FicheActionFactory(
        contrat=contrat, code=code, axe=axe(int(code[1])), statut=statut, intitule=f"Action {code}", **kwargs
    )


@pytest.fixture
def monde(db) -> Monde:
    """A signed CLS of the Hautes-Alpes (2024-2027), 80 000 € ceilings from 2024 to 2026:

    - A1-01 (axis 1): 2024 State 10 000 / 9 000 committed / 8 000 spent, Département 12 000 / 11 000 / 10 000, CAF
      3 000 / — / 2 500; 2025 State 10 000, Département 12 000;
    - A1-02 (axis 1): 2025 State 15 000 against the Département's 10 000 (planned parity broken by 5 000 €); 2026
      State 90 000, Département 90 000 (the 2026 ceiling passed by 10 000 €);
    - A3-01 (axis 3): 2024 State 20 000 spent 15 000, Département 20 000 spent 14 000 (spent parity broken by
      1 000 €);
    - A4-01 (axis 4), abandoned: 2024 State 5 000 planned (not counted), 1 000 spent (counted);
    - payments: 2024 single payment of 30 000 € paid (reliquat 2024: 30 000 − 24 000 = 6 000 €); 2025 advance of
      40 000 € requested, balance of 40 000 € planned.
    """
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=REF, signe=True, titre="CLS des Hautes-Alpes")
    for annee in (2024, 2025, 2026):
        PlafondFactory(contrat=contrat, annee=annee, montant=D("80000"))
    caf = OrganisationFactory(
        nom="CAF des Hautes-Alpes",
        type=TypeOrganisation.PARTENAIRE,
        departement=departement("05"),
        siret="53481452700014",
    )
    a101 = fiche(contrat, "A1-01", porteur=caf)
    ligne(a101, 2024, ETAT, "10000", "9000", "8000")
    ligne(a101, 2024, COLL, "12000", "11000", "10000")
    ligne(a101, 2024, AUTRE, "3000", None, "2500", financeur=caf)
    ligne(a101, 2025, ETAT, "10000")
    ligne(a101, 2025, COLL, "12000")
    a102 = fiche(contrat, "A1-02", porteur=caf)
    ligne(a102, 2025, ETAT, "15000")
    ligne(a102, 2025, COLL, "10000")
    ligne(a102, 2026, ETAT, "90000")
    ligne(a102, 2026, COLL, "90000")
    a301 = fiche(contrat, "A3-01", porteur=caf)
    ligne(a301, 2024, ETAT, "20000", "20000", "15000")
    ligne(a301, 2024, COLL, "20000", "20000", "14000")
    a401 = fiche(contrat, "A4-01", statut=StatutFiche.ABANDONNEE, porteur=caf)
    ligne(a401, 2024, ETAT, "5000", "1000", "1000")
    versement_create(contrat=contrat, annee=2024, nature="unique", montant=D("30000"), date_versement=date(2024, 6, 1))
    avance = versement_create(contrat=contrat, annee=2025, nature="avance", montant=D("40000"), numero_ej=EJ)
    versement_transition(versement=avance, to=DEMANDE, date_action=date(2025, 3, 1))
    versement_create(contrat=contrat, annee=2025, nature="solde", montant=D("40000"), numero_ej=EJ)

    ddets = OrganisationFactory(ddets=True, departement=departement("05"))
    cd05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    users = {
        "editeur": UserFactory(username="editeur05-argent", organisation=ddets),
        "lecteur": UserFactory(username="lecteur05-argent", organisation=ddets, role=Role.LECTEUR),
        "collectivite": UserFactory(username="cd05-argent", organisation=cd05),
        "prefecture": UserFactory(
            username="pref05-argent", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
        ),
        "partenaire": UserFactory(username="caf05-argent", organisation=caf),
        "autre": UserFactory(
            username="ddets69-argent", organisation=OrganisationFactory(ddets=True, departement=departement("69"))
        ),
    }
    return Monde(contrat, caf, users)


def url(name: str, **kwargs) -> str:
    return reverse(f"espace:{name}", kwargs={"reference": REF, **kwargs})


def page(response) -> lxml.html.HtmlElement:
    html = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in html
    return lxml.html.fromstring(html)


def texte(element) -> str:
    return re.sub(r"[ \t\r\n]+", " ", element.text_content()).strip()


def table(response, caption: str) -> list[list[str]]:
    """The rows of the table captioned ``caption`` (header row first), each cell's text."""
    tables = page(response).xpath(f"//table[caption[normalize-space()={caption!r}]]")
    assert len(tables) == 1, f"tableau « {caption} » absent"
    return [[texte(cell) for cell in row.xpath("./th|./td")] for row in tables[0].xpath(".//tr")]


def alertes(response) -> list[tuple[str, str]]:
    """Each warning of « À corriger »: its text, and where its link goes."""
    items = page(response).xpath("//ul[@class='argent-alertes']/li")
    return [(texte(li), li.xpath("./a")[0].get("href")) for li in items]


def formulaire(response) -> dict:
    """The values of the page's form as a browser would post them (the first form that posts, in <main>)."""
    form = page(response).xpath("//main//form[@method='post']")[0]
    data = {}
    for field in form.xpath(".//input[@name] | .//textarea[@name] | .//select[@name]"):
        name = field.get("name")
        if field.tag == "textarea":
            data[name] = field.text or ""
        elif field.tag == "select":
            selected = field.xpath("./option[@selected]")
            data[name] = selected[0].get("value") if selected else ""
        elif field.get("type") not in ("submit", "checkbox"):
            data[name] = field.get("value") or ""
    return data


def erreurs(response) -> list[str]:
    doc = page(response)
    found = doc.xpath("//*[contains(@class,'fr-alert--error')]//p | //*[contains(@class,'fr-error-text')]")
    return [texte(e) for e in found]


def liens(response) -> set[str]:
    return {a.get("href") for a in page(response).xpath("//main//a[@href]")}


def snapshot():
    models_ = hostile.Snapshot.models(["pacte", "contrats", "actions", "financement"])
    return models_, hostile.Snapshot.take(models_)


def unchanged(before) -> None:
    models_, taken = before
    assert not taken.diff(hostile.Snapshot.take(models_), models_)


# --- The figures: equal to sums computed here, line by line -------------------------------------------------


def attendu_par_axe(contrat) -> dict[int, dict[tuple[int, str], tuple[Decimal, Decimal, Decimal]]]:
    """year → (axis, funder label) → (planned on active fiches, committed, spent on every fiche), from each line."""
    labels = dict(TypeFinanceur.choices)
    sums: dict = {}
    for lf in LigneFinancement.objects.filter(fiche__contrat=contrat).select_related("fiche__axe"):
        key = (lf.fiche.axe.numero, labels[lf.type_financeur])
        p, e, r = sums.setdefault(lf.annee, {}).get(key, (D(0), D(0), D(0)))
        actif = lf.fiche.statut in STATUTS_ACTIFS
        sums[lf.annee][key] = (p + (lf.prevu if actif else 0), e + (lf.engage or 0), r + (lf.realise or 0))
    return sums


def test_axis_year_funder_figures_equal_the_lines(client, monde):
    client.force_login(monde.users["lecteur"])
    response = client.get(url("argent"))
    assert response.status_code == 200
    attendu = attendu_par_axe(monde.contrat)
    assert set(attendu) == {2024, 2025, 2026}
    for annee, cellules in attendu.items():
        rows = table(response, f"Financement {annee} par axe et par financeur")
        assert rows[0] == ["Axe", "Financeur", "Prévu", "Engagé", "Réalisé"]
        lues = {}
        for row in rows[1:]:
            if row[0].startswith("Axe "):
                lues[(int(row[0].split()[1]), row[1])] = tuple(row[2:])
        assert lues == {key: tuple(montant(v) for v in values) for key, values in cellules.items()}, f"exercice {annee}"
        total = [sum((v[i] for v in cellules.values()), D(0)) for i in range(3)]
        assert rows[-1] == [f"Total {annee}", *(montant(v) for v in total)]
    # The abandoned fiche's planned money counts nowhere, its spent money counts.
    rows = table(response, "Financement 2024 par axe et par financeur")
    assert ["Axe 4 – " + axe(4).intitule_court, "État", montant(0), montant(1000), montant(1000)] in rows
    vide = page(response).xpath("//h2[@id='financement']/following-sibling::h3[normalize-space()='Exercice 2027'][1]")
    assert texte(vide[0].getnext()) == "Aucun montant n'est saisi pour 2027."


def test_ceiling_and_payments_per_year(client, monde):
    client.force_login(monde.users["editeur"])
    rows = table(client.get(url("argent")), "Enveloppe de l'État et son utilisation par année")
    assert rows[0] == [
        "Exercice",
        "Enveloppe de l'État",
        "Parts prévues de l'État",
        "Reliquat de l'année précédente déduit",
        "Demandé ou payé",
        "dont payé",
        "Reste à verser",
        "Versements prévus",
        "Rapport annuel",
    ]
    par_annee = {row[0]: row[1:] for row in rows[1:]}
    # 2024: active fiches' State shares 10 000 + 20 000 (A4-01 abandoned does not count); 30 000 paid.
    assert par_annee["2024"] == [
        montant(80000),
        montant(30000),
        "—",
        montant(30000),
        montant(30000),
        montant(50000),
        montant(0),
        "non ouvert",
    ]
    assert par_annee["2025"] == [
        montant(80000),
        montant(25000),
        "—",
        montant(40000),
        montant(0),
        montant(40000),
        montant(40000),
        "non ouvert",
    ]
    assert par_annee["2026"][:2] == [montant(80000), montant(90000) + " " + euros("dépasse de 10 000,00 €")]
    assert par_annee["2027"][:2] == ["aucune", montant(0)]


# --- Warnings: where, how much, and a link to where it is fixed ------------------------------------------------


def test_warnings_say_where_how_much_and_link_to_the_fix(client, monde):
    client.force_login(monde.users["editeur"])
    response = client.get(url("argent"))
    found = dict(alertes(response))
    creer = url("avenant_creer")
    expected = {
        euros(
            "2026 : les parts prévues de l'État (90 000,00 €) dépassent l'enveloppe annuelle (80 000,00 €) de "
            "10 000,00 €. Ouvrir un avenant pour corriger"
        ): creer,
        euros(
            "2024 : l'État a versé 30 000,00 € et la part de l'État réalisée est de 24 000,00 € : reliquat de "
            "6 000,00 € sans décision (déduction de l'exercice suivant ou titre de reversement). "
            "Décider du reliquat 2024"
        ): url("reliquat", annee=2024),
        euros(
            "Fiche A1-02, 2025 : la part prévue de l'État (15 000,00 €) dépasse celle du Département (10 000,00 €) de "
            "5 000,00 €. Ouvrir un avenant pour corriger"
        ): creer,
        euros(
            "Fiche A1-02, 2025 : la part prévue de l'État (15 000,00 €) dépasse 50 % du coût total prévu (25 000,00 €) "
            "de 2 500,00 €. Ouvrir un avenant pour corriger"
        ).replace("50 %", f"50{NBSP}%"): creer,
        euros(
            "Axe 1, 2025 : la part prévue de l'État (25 000,00 €) dépasse celle du Département (22 000,00 €) de "
            "3 000,00 €. Voir les fiches de l'axe 1 financées en 2025"
        ): reverse("espace:fiches") + f"?contrat={REF}&axe=1&annee=2025",
        euros(
            "Fiche A3-01, 2024 : la part réalisée de l'État (15 000,00 €) dépasse celle du Département (14 000,00 €) "
            "de 1 000,00 €. Corriger l'exécution de la fiche A3-01"
        ): url("fiche_execution", code="A3-01"),
        euros(
            "Fiche A4-01, 2024 : la part réalisée de l'État (1 000,00 €) dépasse celle du Département (0,00 €) de "
            "1 000,00 €. Corriger l'exécution de la fiche A4-01"
        ): url("fiche_execution", code="A4-01"),
        euros(
            "Axe 3, 2024 : la part réalisée de l'État (15 000,00 €) dépasse celle du Département (14 000,00 €) de "
            "1 000,00 €. Voir les fiches de l'axe 3 financées en 2024"
        ): reverse("espace:fiches") + f"?contrat={REF}&axe=3&annee=2024",
    }
    for message, href in expected.items():
        assert found.get(message) == href, message
    # Nothing on what holds: A1-01's parity, the 2024 and 2025 ceilings, the payments within them.
    assert not any("A1-01" in m for m in found)
    assert not any(m.startswith(("2024 : les parts", "2025 : les")) for m in found)
    # The links lead to pages that open for this user.
    for href in set(found.values()):
        if not href.startswith("#"):
            assert client.get(href).status_code == 200, href
    # The fiches list link filters what it says.
    query = parse_qs(urlsplit(found[next(m for m in found if m.startswith("Axe 1"))]).query)
    assert query == {"contrat": [REF], "axe": ["1"], "annee": ["2025"]}


def test_an_open_avenant_is_where_planned_amounts_are_fixed(client, monde):
    from contrats.services import avenant_create

    avenant = avenant_create(contrat=monde.contrat, objet="Annexe financière", by=monde.users["editeur"])
    client.force_login(monde.users["editeur"])
    found = alertes(client.get(url("argent")))
    cible = url("avenant", numero=avenant.numero)
    assert [m for m, href in found if href == cible and m.endswith(f"Corriger par l'avenant n° {avenant.numero}")]
    assert not [m for m, href in found if href == url("avenant_creer")]


@pytest.mark.parametrize(
    ("persona", "realise", "prevu", "reliquat"),
    [
        # The collectivité enters execution: it fixes spent amounts; planned ones it reads.
        ("collectivite", "fiche_execution", "fiche", "#reliquats"),
        # A reader fixes nothing: every link reads.
        ("lecteur", "fiche", "fiche", "#reliquats"),
    ],
)
def test_links_lead_where_the_user_may_go(client, monde, persona, realise, prevu, reliquat):
    client.force_login(monde.users[persona])
    found = dict(alertes(client.get(url("argent"))))
    by_start = {m.split(" de l'État")[0]: href for m, href in found.items()}
    assert by_start["Fiche A3-01, 2024 : la part réalisée"] == url(realise, code="A3-01")
    assert by_start["Fiche A1-02, 2025 : la part prévue"] == url(prevu, code="A1-02")
    assert [href for m, href in found.items() if m.startswith("2024 : l'État a versé")] == [reliquat]
    plafond = next(href for m, href in found.items() if m.startswith("2026 : les parts prévues"))
    assert plafond == reverse("espace:fiches") + f"?contrat={REF}&annee=2026&financeur=etat"


def test_payments_beyond_the_ceiling_are_flagged(client, monde):
    """A ceiling lowered after the payments (an avenant) leaves them beyond it: said, with the payments' anchor."""
    monde.contrat.plafonds.filter(annee=2024).update(montant=D("25000"))
    client.force_login(monde.users["editeur"])
    found = dict(alertes(client.get(url("argent"))))
    message = euros(
        "2024 : les versements demandés ou payés (30 000,00 €) dépassent l'enveloppe annuelle de l'État (25 000,00 €) "
        "de 5 000,00 €. Voir les versements 2024"
    )
    assert found[message] == "#versements-2024"


def test_a_contract_that_holds_has_nothing_to_fix(client, db):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=REF, signe=True)
    PlafondFactory(contrat=contrat, annee=2024, montant=D("50000"))
    f = fiche(contrat, "A1-01")
    ligne(f, 2024, ETAT, "10000", realise="5000")
    ligne(f, 2024, COLL, "10000", realise="5000")
    client.force_login(UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05"))))
    response = client.get(url("argent"))
    assert alertes(response) == []
    assertContains(
        response,
        "<p>Rien à corriger : parts prévues dans les enveloppes, versements dans ce que l'État "
        "peut verser, reliquats décidés, règle de cofinancement respectée par action et par axe, sur le prévu "
        "comme sur le réalisé.</p>",
        html=True,
    )


# --- The reliquat: its decision through the confirmation page -------------------------------------------------


def test_reliquat_decision_journey(client, monde):
    editeur = monde.users["editeur"]
    client.force_login(editeur)
    rows = table(client.get(url("argent")), "Reliquat de chaque exercice et décision")
    assert rows[1][:5] == ["2024", montant(30000), montant(24000), montant(6000), "à décider"]
    response = client.get(url("reliquat", annee=2024))
    assert response.status_code == 200
    assertContains(response, "<h1>Reliquat 2024 du contrat CLS-2024-D05</h1>", html=True)
    consequences = [texte(li) for li in page(response).xpath("//ul[@class='fr-callout__text']/li")]
    assert consequences[0] == euros(
        "Exercice 2024 : l'État a versé 30 000,00 € ; la part de l'État réalisée est de 24 000,00 € ; le reliquat est "
        "de 6 000,00 €."
    )
    assert euros("ce que l'État peut verser en 2025 passe de 80 000,00 € à 74 000,00 €") in consequences[1]
    assert any("rapport annuel 2024 n'est pas encore validé" in c for c in consequences)
    data = formulaire(response)
    assert data["montant"] == "6000.00"
    # No decision chosen: French error, nothing written.
    before = snapshot()
    response = client.post(url("reliquat", annee=2024), data)
    assert "Choisissez la déduction ou le titre de reversement." in erreurs(response)
    unchanged(before)
    # Deducted: recorded on the amount shown, by whom and when.
    response = client.post(url("reliquat", annee=2024), {**data, "decision": "deduction", "commentaire": "Retard."})
    assert response.status_code == 302 and response["Location"] == url("argent") + "#reliquats"
    reliquat = Reliquat.objects.get(contrat=monde.contrat, annee=2024)
    assert (reliquat.montant, reliquat.decision, reliquat.decide_par, reliquat.commentaire) == (
        D("6000"),
        DecisionReliquat.DEDUCTION,
        editeur,
        "Retard.",
    )
    response = client.get(url("argent"))
    rows = table(response, "Reliquat de chaque exercice et décision")
    assert rows[1][4].startswith("Déduit du versement de l'année suivante, le ")
    # 2025 may now receive 80 000 − 6 000: the advance requested (40 000) leaves 34 000.
    par_annee = {row[0]: row for row in table(response, "Enveloppe de l'État et son utilisation par année")}
    assert par_annee["2025"][3] == montant(6000) and par_annee["2025"][6] == montant(34000)
    assert not [m for m, _ in alertes(response) if m.startswith("2024 : l'État a versé")]


def test_a_reliquat_that_changed_since_the_page_is_not_decided(client, monde):
    client.force_login(monde.users["editeur"])
    data = formulaire(client.get(url("reliquat", annee=2024)))
    LigneFinancement.objects.filter(fiche__code="A1-01", annee=2024, type_financeur=ETAT).update(realise=D("9000"))
    before = snapshot()
    response = client.post(url("reliquat", annee=2024), {**data, "decision": "reversement"})
    assert erreurs(response)[-1] == euros(
        "Le reliquat 2024 a changé pendant votre saisie (6 000,00 € → 5 000,00 €) : rien n'a été enregistré. "
        "Vérifiez-le et décidez de nouveau."
    )
    unchanged(before)


def test_a_deduction_on_the_last_year_is_refused(client, monde):
    client.force_login(monde.users["editeur"])
    response = client.get(url("reliquat", annee=2027))
    assert any("2027 est le dernier exercice du contrat" in texte(li) for li in page(response).xpath("//li"))
    response = client.post(url("reliquat", annee=2027), {"decision": "deduction", "montant": "0", "commentaire": ""})
    assert "Il n'y a pas de reliquat à traiter pour cet exercice." in erreurs(response)
    assert client.get(url("reliquat", annee=2031)).status_code == 404


# --- Payments: create, change, request, pay -----------------------------------------------------------------


def test_payment_status_journey(client, monde):
    editeur = monde.users["editeur"]
    client.force_login(editeur)
    response = client.get(url("versement_creer"))
    assertContains(response, "<h1>Nouveau versement – CLS-2024-D05</h1>", html=True)
    data = formulaire(response)
    data.update(annee="2026", nature="avance", montant="20 000,50 €", numero_ej="", date_engagement="2026-01-15")
    response = client.post(url("versement_creer"), data)
    assert response.status_code == 302 and response["Location"] == url("argent") + "#versements-2026"
    versement = Versement.objects.get(contrat=monde.contrat, annee=2026)
    assert (versement.montant, versement.statut, versement.beneficiaire, versement.date_engagement) == (
        D("20000.50"),
        PREVU,
        None,
        date(2026, 1, 15),
    )
    actions = {a: url("versement_statut", uid=versement.uid, action=a) for a in ("demander", "verser", "supprimer")}
    page_versement = client.get(url("versement", uid=versement.uid))
    assert actions["demander"] in liens(page_versement) and actions["supprimer"] in liens(page_versement)
    assert actions["verser"] not in liens(page_versement)
    # Requesting without the Chorus commitment: refused on the confirmation page, nothing written.
    before = snapshot()
    confirmation = client.get(actions["demander"])
    assert confirmation.status_code == 200
    response = client.post(actions["demander"], formulaire(confirmation))
    assert erreurs(response)[-1] == (
        "Une demande de paiement porte le numéro d'engagement juridique Chorus : renseignez-le d'abord."
    )
    unchanged(before)
    # The EJ entered on the payment's page (a versioned form), then the request.
    data = formulaire(page_versement)
    data["numero_ej"] = "2100654321"
    response = client.post(url("versement", uid=versement.uid), data)
    assert response.status_code == 302
    confirmation = client.get(actions["demander"])
    response = client.post(actions["demander"], {**formulaire(confirmation), "date_demande": "2026-02-01"})
    assert response.status_code == 302 and response["Location"] == url("versement", uid=versement.uid)
    versement.refresh_from_db()
    assert (versement.statut, versement.date_demande) == (DEMANDE, date(2026, 2, 1))
    # Paid: the date is required, then recorded.
    confirmation = client.get(actions["verser"])
    response = client.post(actions["verser"], formulaire(confirmation))
    assert "Indiquez la date du versement." in erreurs(response)
    response = client.post(actions["verser"], {**formulaire(confirmation), "date_versement": "2026-03-02"})
    assert response.status_code == 302
    versement.refresh_from_db()
    assert (versement.statut, versement.date_versement) == (VERSE, date(2026, 3, 2))
    # Paid: no more action; the money page lists it as paid.
    page_versement = client.get(url("versement", uid=versement.uid))
    assert not [href for href in liens(page_versement) if "/statut/" in href]
    rows = table(client.get(url("argent")), "Versements 2026")
    assert rows[1][:7] == [
        "Avance",
        montant("20000.50"),
        "Département des Hautes-Alpes",
        "2100654321",
        "Versé",
        "01/02/2026",
        "02/03/2026",
    ]


def test_a_request_withdrawn_and_a_planned_payment_removed(client, monde):
    client.force_login(monde.users["editeur"])
    avance = Versement.objects.get(annee=2025, nature="avance")
    annuler = url("versement_statut", uid=avance.uid, action="annuler")
    response = client.post(annuler, formulaire(client.get(annuler)))
    assert response.status_code == 302
    avance.refresh_from_db()
    assert (avance.statut, avance.date_demande) == (PREVU, None)
    supprimer = url("versement_statut", uid=avance.uid, action="supprimer")
    response = client.post(supprimer, formulaire(client.get(supprimer)))
    assert response.status_code == 302 and response["Location"] == url("argent") + "#versements-2025"
    assert not Versement.objects.filter(pk=avance.pk).exists()
    # A paid payment is not removed from the pages (the back-office corrects a mistake), even by a forged POST.
    paye = Versement.objects.get(annee=2024)
    before = snapshot()
    response = client.post(url("versement_statut", uid=paye.uid, action="supprimer"), {"version": paye.version})
    assert erreurs(response)[-1] == "Seul un versement prévu se supprime ici ; ce versement est « Versé »."
    unchanged(before)
    response = client.post(url("versement_statut", uid=paye.uid, action="annuler"), {"version": paye.version})
    assert "ne peut pas passer de « Versé » à « Prévu »" in " ".join(erreurs(response))


def test_a_dated_row_written_outside_the_services_shows_as_paid(client, monde):
    """The demo's bulk load and imports write dated rows without a status: paid by their date, shown so."""
    from tests.factories import VersementFactory

    legacy = VersementFactory(contrat=monde.contrat, annee=2024, montant=D("1000"), date_versement=date(2024, 7, 1))
    assert legacy.statut == PREVU
    client.force_login(monde.users["editeur"])
    response = client.get(url("argent"))
    rows = table(response, "Versements 2024")
    assert rows[2][:7] == [
        "Versement unique",
        montant(1000),
        "Département des Hautes-Alpes",
        "2100123456",
        "Versé",
        "—",
        "01/07/2024",
    ]
    assert not [h for h in liens(response) if str(legacy.uid) in h and "/statut/" in h]
    par_annee = {row[0]: row for row in table(response, "Enveloppe de l'État et son utilisation par année")}
    assert par_annee["2024"][5] == montant(31000)


def test_a_stale_payment_page_is_refused(client, monde):
    client.force_login(monde.users["editeur"])
    solde = Versement.objects.get(annee=2025, nature="solde")
    data = formulaire(client.get(url("versement", uid=solde.uid)))
    Versement.objects.filter(pk=solde.pk).update(version=solde.version + 1)
    before = snapshot()
    response = client.post(url("versement", uid=solde.uid), {**data, "montant": "1,00"})
    assert any("pendant votre saisie" in e for e in erreurs(response))
    unchanged(before)


@pytest.mark.parametrize(
    ("changes", "field_error"),
    [
        ({"montant": "abc"}, "« abc » n'est pas un nombre"),
        ({"montant": "-5"}, "Un montant ne peut pas être négatif."),
        ({"montant": "0"}, "Un versement est d'un montant positif."),
        ({"montant": "12,345"}, "2"),
        ({"annee": "2031"}, "Choisissez un exercice du contrat."),
        ({"nature": "acompte"}, "Choisissez l'avance, le solde ou le versement unique."),
        ({"numero_ej": "12AB"}, "10 chiffres"),
        ({"date_engagement": "31/02/2025"}, "Saisissez une date valide"),
    ],
)
def test_bad_input_gives_a_french_error_and_writes_nothing(client, monde, changes, field_error):
    client.force_login(monde.users["editeur"])
    data = formulaire(client.get(url("versement_creer")))
    data.update({"annee": "2026", "nature": "avance", "montant": "1 000"}, **changes)
    before = snapshot()
    response = client.post(url("versement_creer"), data)
    assert response.status_code == 200
    assert any(field_error in e for e in erreurs(response)), erreurs(response)
    unchanged(before)


# --- Each check seen from the pages ---------------------------------------------------------------------------


def _demander(client, versement, **data):
    action = url("versement_statut", uid=versement.uid, action="demander")
    return client.post(action, {**formulaire(client.get(action)), **data})


@pytest.mark.parametrize(
    ("montant_solde", "ok"), [pytest.param("40000", True, id="exactly"), pytest.param("40000.01", False, id="cent")]
)
def test_the_ceiling_from_the_pages(client, monde, montant_solde, ok):
    RapportAnnuel.objects.create(
        contrat=monde.contrat, annee=2025, statut=StatutRapport.VALIDE, date_limite=date(2026, 3, 31)
    )
    solde = Versement.objects.get(annee=2025, nature="solde")
    Versement.objects.filter(pk=solde.pk).update(montant=D(montant_solde))
    solde.refresh_from_db()
    client.force_login(monde.users["editeur"])
    action = url("versement_statut", uid=solde.uid, action="demander")
    confirmation = client.get(action)
    if not ok:
        # Said on the confirmation page before anything is posted.
        assert any("serait refusé" in texte(li) for li in page(confirmation).xpath("//li"))
    before = snapshot()
    response = client.post(action, formulaire(confirmation))
    if ok:
        assert response.status_code == 302
        assert Versement.objects.get(pk=solde.pk).statut == DEMANDE
        return
    assert erreurs(response)[-1] == euros(
        "2025 : avec ce versement, les versements demandés ou payés (80 000,01 €) dépasseraient l'enveloppe annuelle "
        "de l'État (80 000,00 €) de 0,01 €."
    )
    unchanged(before)


@pytest.mark.parametrize("statut", [None, StatutRapport.TRANSMIS, StatutRapport.VALIDE])
def test_the_balance_waits_for_the_validated_report(client, monde, statut):
    if statut:
        RapportAnnuel.objects.create(contrat=monde.contrat, annee=2025, statut=statut, date_limite=date(2026, 3, 31))
    client.force_login(monde.users["editeur"])
    solde = Versement.objects.get(annee=2025, nature="solde")
    response = _demander(client, solde)
    if statut == StatutRapport.VALIDE:
        assert response.status_code == 302
        return
    assert erreurs(response)[-1].startswith(
        "Le solde 2025 se demande une fois le rapport annuel d'exécution 2025 validé"
    )
    assert Versement.objects.get(pk=solde.pk).statut == PREVU


@pytest.mark.parametrize(
    ("avance", "ok"), [pytest.param("74000", True, id="what-remains"), pytest.param("74000.01", False, id="cent")]
)
def test_the_next_advance_reduced_by_the_deduction_from_the_pages(client, monde, avance, ok):
    client.force_login(monde.users["editeur"])
    # 2025's planned and requested payments go; the reliquat 2024 (6 000 €) is deducted.
    Versement.objects.filter(annee=2025).delete()
    data = formulaire(client.get(url("reliquat", annee=2024)))
    assert client.post(url("reliquat", annee=2024), {**data, "decision": "deduction"}).status_code == 302
    v = versement_create(contrat=monde.contrat, annee=2025, nature="avance", montant=D(avance), numero_ej=EJ)
    response = _demander(client, v)
    if ok:
        assert response.status_code == 302
        return
    assert erreurs(response)[-1] == euros(
        "2025 : avec ce versement, les versements demandés ou payés (74 000,01 €) dépasseraient ce qui reste à verser, "
        "l'enveloppe (80 000,00 €) moins le reliquat 2024 déduit (6 000,00 €), soit 74 000,00 €, de 0,01 €."
    )


# --- Personas ----------------------------------------------------------------------------------------------


def test_who_follows_payments_sees_the_buttons(client, monde):
    client.force_login(monde.users["editeur"])
    response = client.get(url("argent"))
    assert url("versement_creer") in liens(response)
    assert url("reliquat", annee=2024) in liens(response)
    avance = Versement.objects.get(annee=2025, nature="avance")
    assert url("versement_statut", uid=avance.uid, action="verser") in liens(response)


@pytest.mark.parametrize("persona", ["collectivite", "lecteur", "prefecture"])
def test_readers_read_without_a_button_and_cannot_write(client, monde, persona):
    client.force_login(monde.users[persona])
    response = client.get(url("argent"))
    assert response.status_code == 200
    hrefs = liens(response)
    assert not [h for h in hrefs if "/versements/nouveau/" in h or "/statut/" in h or "/reliquats/" in h]
    assert not page(response).xpath("//main//form")
    solde = Versement.objects.get(annee=2025, nature="solde")
    lecture = client.get(url("versement", uid=solde.uid))
    assert lecture.status_code == 200 and not page(lecture).xpath("//main//form")
    before = snapshot()
    for target, data in [
        (url("versement_creer"), {"annee": "2026", "nature": "avance", "montant": "1"}),
        (url("versement", uid=solde.uid), {"montant": "1"}),
        (url("versement_statut", uid=solde.uid, action="supprimer"), {"version": solde.version}),
        (url("versement_statut", uid=solde.uid, action="demander"), {"version": solde.version}),
        (url("reliquat", annee=2024), {"decision": "reversement", "montant": "6000"}),
    ]:
        assert client.post(target, data).status_code == 403, target
    for target in (
        url("versement_creer"),
        url("reliquat", annee=2024),
        url("versement_statut", uid=solde.uid, action="demander"),
    ):
        assert client.get(target).status_code == 403, target
    unchanged(before)


@pytest.mark.parametrize(("persona", "code"), [("autre", 404), ("partenaire", 403)])
def test_outside_or_partner(client, monde, persona, code):
    """Another territory: 404 as for a key that does not exist; the partner carrying the actions reads them, not the
    contract's figures: 403 (its payment pages as well)."""
    client.force_login(monde.users[persona])
    solde = Versement.objects.get(annee=2025, nature="solde")
    before = snapshot()
    for target in (
        url("argent"),
        url("versement", uid=solde.uid),
        url("versement_statut", uid=solde.uid, action="demander"),
        url("reliquat", annee=2024),
        url("versement_creer"),
    ):
        assert client.get(target).status_code == code, target
        assert client.post(target, {"version": solde.version}).status_code == code, target
    unchanged(before)
    assert client.get(reverse("espace:argent", kwargs={"reference": "CLS-2099-X"})).status_code == 404


def test_a_payment_of_another_contract_is_not_found_here(client, monde):
    autre = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2025-D05", signe=True)
    PlafondFactory(contrat=autre, annee=2025, montant=D("1000"))
    ailleurs = versement_create(contrat=autre, annee=2025, nature="unique", montant=D("10"))
    client.force_login(monde.users["editeur"])
    assert client.get(url("versement", uid=ailleurs.uid)).status_code == 404
    assert client.get(url("versement_statut", uid=ailleurs.uid, action="demander")).status_code == 404
    assert client.get(url("versement_statut", uid=Versement.objects.first().uid, action="inconnue")).status_code == 404


def test_the_contract_page_links_its_money_page(client, monde):
    client.force_login(monde.users["collectivite"])
    assert url("argent") in liens(client.get(url("contrat")))
    client.force_login(monde.users["partenaire"])
    assert url("argent") not in liens(client.get(url("contrat")))


def test_no_payment_on_an_unsigned_contract(client, db):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=REF)
    client.force_login(UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05"))))
    response = client.get(url("versement_creer"))
    assert "L'État ne verse qu'au titre d'un contrat signé." in texte(page(response))
    assert url("versement_creer") not in liens(client.get(url("argent")))
    data = {**formulaire(response), "annee": "2024", "nature": "avance", "montant": "1 000"}
    assert "L'État ne verse qu'au titre d'un contrat signé." in erreurs(client.post(url("versement_creer"), data))
    assert not Versement.objects.filter(contrat=contrat).exists()


# --- Query budgets: the same with 3 and with 30 lines and payments ---------------------------------------------


def grand_contrat(n: int) -> Contrat:
    """A signed CLS with n fiches (State and Département lines, spent amounts, one parity breach each), n payments
    and n reliquats."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=REF, signe=True)
    for annee in (2024, 2025, 2026, 2027):
        PlafondFactory(contrat=contrat, annee=annee, montant=D("10000000"))
    for i in range(n):
        f = FicheActionFactory(contrat=contrat, code=f"A1-{i + 1:02d}", axe=axe(1 + 2 * (i % 2)), validee=True)
        annee = 2024 + i % 4
        ligne(f, annee, ETAT, "1000", "900", "800")
        ligne(f, annee, COLL, "900", "900", "700")
        versement_create(
            contrat=contrat, annee=annee, nature="unique", montant=D("100"), date_versement=date(annee, 1, 2)
        ) if annee < 2026 else versement_create(contrat=contrat, annee=annee, nature="avance", montant=D("100"))
    return contrat


@pytest.mark.parametrize("n", [3, 30])
def test_money_page_query_budget(client, django_assert_max_num_queries, n):
    contrat = grand_contrat(n)
    editeur = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")))
    client.force_login(editeur)
    with django_assert_max_num_queries(19):
        response = client.get(url("argent"))
    assert response.status_code == 200
    versements = page(response).xpath("//table[starts-with(normalize-space(caption), 'Versements ')]/tbody/tr")
    assert len(versements) == n
    assert len(alertes(response)) >= n  # a parity breach per fiche: the page's warnings grow, not its queries
    assert contrat.versements.count() == n


@pytest.mark.parametrize("n", [3, 30])
def test_payment_and_reliquat_pages_query_budget(client, django_assert_max_num_queries, n):
    contrat = grand_contrat(n)
    client.force_login(UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05"))))
    versement = contrat.versements.filter(statut=PREVU).first()
    with django_assert_max_num_queries(14):
        assert client.get(url("versement", uid=versement.uid)).status_code == 200
    with django_assert_max_num_queries(14):
        assert client.get(url("versement_statut", uid=versement.uid, action="demander")).status_code == 200
    with django_assert_max_num_queries(18):
        assert client.get(url("reliquat", annee=2024)).status_code == 200


# --- Hostile values on every form of the money pages (the walk of tests/espace/test_saisies_hostiles.py) --------


def test_the_beneficiary_offered_follows_the_contract_type(client, db):
    """A pacte local pays the carriers of its actions (with their SIRET); a CLS its collectivité only."""
    from contrats.enums import TypeContrat

    caf = OrganisationFactory(
        nom="CAF des Hautes-Alpes",
        type=TypeOrganisation.PARTENAIRE,
        departement=departement("05"),
        siret="53481452700014",
    )
    editeur = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")))
    client.force_login(editeur)
    for reference, type_contrat, offered in (
        ("CPT-2024-D05", TypeContrat.CPT, ["", str(caf.pk)]),
        ("CLS-2024-D05", TypeContrat.CLS_DEPARTEMENT, [""]),
    ):
        contrat = ContratFactory(
            collectivite=collectivite("D05"), reference=reference, type_contrat=type_contrat, signe=True
        )
        FicheActionFactory(contrat=contrat, code="A1-01", porteur=caf, validee=True)
        creer = reverse("espace:versement_creer", kwargs={"reference": reference})
        response = client.get(creer)
        options = page(response).xpath("//select[@name='beneficiaire']/option")
        assert [o.get("value") for o in options] == offered
        assert texte(options[0]) == "Département des Hautes-Alpes (collectivité signataire)"
        data = {
            **formulaire(response),
            "annee": "2024",
            "nature": "unique",
            "montant": "1 000",
            "beneficiaire": str(caf.pk),
        }
        response = client.post(creer, data)
        if type_contrat == TypeContrat.CPT:
            assert response.status_code == 302
            assert Versement.objects.get(contrat=contrat).beneficiaire == caf
        else:
            assert "Choisissez un bénéficiaire possible de ce contrat." in erreurs(response)
            assert not Versement.objects.filter(contrat=contrat).exists()


def _walk(client, url: str) -> list[str]:
    """The front office's walk of hostile values (tests/espace/test_saisies_hostiles.py) on one money page."""
    from tests.espace.test_saisies_hostiles import promener

    return promener(client, url)[1]


@pytest.mark.parametrize("cible", ["versement_creer", "versement", "demander", "verser", "reliquat"])
def test_hostile_values_are_refused_in_french(client, db, donnees, cible):
    """Every field of the money pages' forms, posted with each hostile value of its kind by the DDETS editor of the
    data set the matrix walks: never a 500, never accepted, nothing written, a French message."""
    from tests.espace.test_matrice import SIGNE

    d, users = donnees
    client.force_login(users["editeur"])
    client.raise_request_exception = False
    contrat = Contrat.objects.get(reference=SIGNE)
    kwargs = {"reference": SIGNE}
    if cible == "reliquat":
        target = reverse("espace:reliquat", kwargs={**kwargs, "annee": 2024})
    elif cible == "versement_creer":
        target = reverse("espace:versement_creer", kwargs=kwargs)
    else:
        v = versement_create(contrat=contrat, annee=2024, nature="avance", montant=D("1000"), numero_ej=EJ)
        if cible == "verser":
            v = versement_transition(versement=v, to=DEMANDE, date_action=date(2024, 3, 1))
        name, extra = ("versement", {}) if cible == "versement" else ("versement_statut", {"action": cible})
        target = reverse(f"espace:{name}", kwargs={**kwargs, "uid": v.uid, **extra})
    failures = _walk(client, target)
    assert not failures, f"{target} :\n" + "\n".join(failures[:40])
