"""Annual execution reports in the front office (espace.views.rapports): the whole journey through the pages (the
collectivité writes and sends, the DDETS returns it with a comment, the collectivité sends again, the DDETS validates,
read-only after), the refusals, the personas, the due dates and overdue flags, and the query budgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import lxml.html
import pytest
from django.urls import reverse
from django.utils import timezone
from pytest_django.asserts import assertContains, assertNotContains

from actions.enums import StatutFiche
from contrats.enums import StatutContrat
from contrats.models import Contrat
from financement.enums import AvancementAction, StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, RapportAction, RapportAnnuel
from financement.services import (
    rapport_create,
    rapport_section_save,
    rapport_sections_completer,
    rapport_transition,
)
from tests import hostile
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

pytestmark = pytest.mark.django_db

D = Decimal
NBSP = "\u00a0"
REF = "CLS-2024-D05"


@dataclass
class Monde:
    contrat: Contrat
    rapport: RapportAnnuel
    collectivite: object
    prefecture: object


def _fiche(contrat, code, statut=StatutFiche.VALIDEE, etat="10000", realise=None, indicateur=True):
    fiche = FicheActionFactory(contrat=contrat, code=code, axe=axe(1), statut=statut, intitule=f"Action {code}")
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=D(etat), realise=realise)
    LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D(etat))
    if indicateur:
        ind = IndicateurFactory(fiche=fiche, nom=f"Familles accueillies {code}", unite="familles")
        ValeurIndicateurFactory(indicateur=ind, annee=2024, cible=D("120"), realise=D("95"))
    return fiche


@pytest.fixture
def monde(editeur) -> Monde:
    """A CLS of the Hautes-Alpes in execution; its 2024 report opened with two sections (A1-01 in progress, A1-02
    validated); an editor of the Département (with an address) and one of the préfecture."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference=REF, signe=True)
    Contrat.objects.filter(pk=contrat.pk).update(statut=StatutContrat.EN_EXECUTION)
    contrat.refresh_from_db()
    _fiche(contrat, "A1-01", statut=StatutFiche.EN_COURS, realise=D("8000"))
    _fiche(contrat, "A1-02", etat="5000")
    rapport = rapport_create(contrat=contrat, annee=2024)
    cd05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    agent = UserFactory(username="cd05", organisation=cd05, first_name="Lou", last_name="Martin")
    prefecture = UserFactory(
        username="pref05", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
    )
    return Monde(contrat, rapport, agent, prefecture)


def url(name="rapport", annee=2024, reference=REF, **kwargs) -> str:
    return reverse(f"espace:{name}", kwargs={"reference": reference, "annee": annee, **kwargs})


def page(response) -> lxml.html.HtmlElement:
    return lxml.html.fromstring(response.content.decode())


def boutons(response) -> list[str]:
    """The labels of the report's action buttons (the group under the title)."""
    group = page(response).xpath("//ul[@aria-label='Actions sur le rapport']//a")
    return [" ".join(a.text_content().split()) for a in group]


def formulaire(response) -> dict:
    """The values of the page's form as a browser would post them (first form that posts, in <main>)."""
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
    """Every error message of the page: alerts and field errors."""
    doc = page(response)
    textes = doc.xpath("//*[contains(@class,'fr-alert--error')]//p | //*[contains(@class,'fr-error-text')]")
    return [" ".join(t.text_content().split()) for t in textes]


def section_prefix(monde, code) -> str:
    return f"action-{monde.contrat.fiches.get(code=code).pk}"


def rediger(client, monde, recits: dict, avancements: dict | None = None, synthese=None):
    response = client.get(url("rapport_modifier"))
    data = formulaire(response)
    for code, recit in recits.items():
        data[f"{section_prefix(monde, code)}-recit"] = recit
    for code, avancement in (avancements or {}).items():
        data[f"{section_prefix(monde, code)}-avancement"] = avancement
    if synthese is not None:
        data["rapport-synthese"] = synthese
    return client.post(url("rapport_modifier"), data)


def statut_rapport(monde) -> str:
    monde.rapport.refresh_from_db()
    return monde.rapport.statut


# --- The journey ------------------------------------------------------------------------------------------------


def test_the_whole_journey(client, monde, editeur):
    # The collectivité opens the report: what is missing is said before anything is typed.
    client.force_login(monde.collectivite)
    response = client.get(url())
    assert boutons(response) == ["Rédiger le rapport", "Transmettre à la DDETS", "Télécharger le rapport (PDF)"]
    manques = [li.text_content() for li in page(response).xpath("//*[@id='manques']//li")]
    assert manques == [
        "Action A1-01 : décrivez ce qui a été fait dans l'année.",
        "Action A1-02 : décrivez ce qui a été fait dans l'année.",
        "Action A1-02 : dites où en est l'action.",
    ]
    assertContains(response, '<h3 id="titre-A1-01">Action A1-01 – Action A1-01</h3>', html=True)
    assertContains(response, f'<td class="pacte-nombre">8{NBSP}000,00{NBSP}€</td>', html=True)
    assertContains(response, '<td class="pacte-nombre">Non saisi</td>', html=True)
    assertContains(response, reverse("espace:fiche_execution", args=[REF, "A1-01"]))

    # It writes the synthesis and both sections.
    response = rediger(
        client,
        monde,
        {"A1-01": "Le bus a circulé 40 semaines.", "A1-02": "Recrutement du coordinateur en juin."},
        {"A1-02": AvancementAction.EN_COURS},
        synthese="Une première année de démarrage.",
    )
    assert response.status_code == 302 and response["Location"] == url()
    sections = {s.fiche.code: s for s in RapportAction.objects.select_related("fiche")}
    assert (sections["A1-01"].recit, sections["A1-01"].avancement) == ("Le bus a circulé 40 semaines.", "en_cours")
    assert sections["A1-02"].avancement == AvancementAction.EN_COURS
    response = client.get(url())
    assert not page(response).xpath("//*[@id='manques']")
    assertContains(response, '<div id="synthese"><p>Une première année de démarrage.</p></div>', html=True)

    # It sends the report: the figures of the year go with it.
    response = client.get(url("rapport_statut", action="transmettre"))
    assertContains(response, "<h1>Transmettre le rapport à la DDETS</h1>", html=True)
    assert not page(response).xpath("//*[@id='manques']")
    response = client.post(url("rapport_statut", action="transmettre"), {})
    assert response.status_code == 302
    assert statut_rapport(monde) == StatutRapport.TRANSMIS
    assert monde.rapport.transmis_le == timezone.localdate()
    copie = RapportAction.objects.get(fiche__code="A1-01").chiffres_transmis
    assert copie["financeurs"][0] == {
        "libelle": "État",
        "type_financeur": "etat",
        "prevu": "10000.00",
        "engage": None,
        "realise": "8000.00",
    }
    response = client.get(url())
    assert boutons(response) == ["Télécharger le rapport (PDF)"]
    response = client.get(url("rapport_modifier"))
    assertContains(response, "Le rapport 2024 est transmis à la DDETS : il ne se modifie plus")
    assert not page(response).xpath("//main//form")

    # The DDETS returns it without saying what to complete: refused in French, nothing changes.
    client.force_login(editeur)
    response = client.get(url())
    assert boutons(response) == ["Renvoyer pour compléments", "Valider le rapport", "Télécharger le rapport (PDF)"]
    response = client.post(url("rapport_statut", action="renvoyer"), {"observations_ddets": "  "})
    assert response.status_code == 200
    assert "Dites ce qu'il faut compléter." in erreurs(response)
    assert statut_rapport(monde) == StatutRapport.TRANSMIS
    response = client.post(
        url("rapport_statut", action="renvoyer"), {"observations_ddets": "Précisez les publics touchés par A1-02."}
    )
    assert response.status_code == 302
    assert statut_rapport(monde) == StatutRapport.A_COMPLETER

    # The collectivité reads what to complete, completes and sends again.
    client.force_login(monde.collectivite)
    response = client.get(url())
    assertContains(response, '<h2 class="fr-callout__title">Ce que la DDETS demande de compléter</h2>', html=True)
    assertContains(response, "Précisez les publics touchés par A1-02.")
    assert boutons(response) == ["Rédiger le rapport", "Transmettre à la DDETS", "Télécharger le rapport (PDF)"]
    response = rediger(client, monde, {"A1-02": "Recrutement en juin ; 35 jeunes de 16 à 25 ans accompagnés."})
    assert response.status_code == 302
    assert client.post(url("rapport_statut", action="transmettre"), {}).status_code == 302
    assert statut_rapport(monde) == StatutRapport.TRANSMIS

    # The DDETS validates it.
    client.force_login(editeur)
    response = client.get(url("rapport_statut", action="valider"))
    assertContains(
        response,
        "<li>Le versement du solde de l'exercice 2024 peut alors être engagé, et le reliquat calculé.</li>",
        html=True,
    )
    response = client.post(url("rapport_statut", action="valider"), {"observations_ddets": ""})
    assert response.status_code == 302
    assert statut_rapport(monde) == StatutRapport.VALIDE
    assert monde.rapport.valide_le == timezone.localdate()
    assert monde.rapport.observations_ddets == "Précisez les publics touchés par A1-02."

    # Read-only after: no button but the PDF, for anyone; the history of the exchanges.
    for user in (editeur, monde.collectivite):
        client.force_login(user)
        response = client.get(url())
        assert boutons(response) == ["Télécharger le rapport (PDF)"]
    echanges = [" ".join(li.text_content().split()) for li in page(response).xpath("//*[@id='echanges']/li")]
    assert [e.split(" – ", 1)[1] for e in echanges] == [
        "Rapport ouvert, par la plateforme",
        "Transmis à la DDETS, par Lou Martin (Département des Hautes-Alpes)",
        f"Renvoyé pour compléments, par {editeur.get_full_name()} ({editeur.organisation.nom}) "
        "Précisez les publics touchés par A1-02.",
        "Transmis à la DDETS, par Lou Martin (Département des Hautes-Alpes)",
        f"Validé, par {editeur.get_full_name()} ({editeur.organisation.nom})",
    ]
    before = hostile.Snapshot.take(hostile.Snapshot.models(["financement"]))
    response = client.post(url("rapport_modifier"), {"rapport-synthese": "Réécrite."})
    assertContains(response, "Le rapport 2024 est validé : il ne se modifie plus.")
    response = client.post(url("rapport_statut", action="transmettre"), {})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assertContains(response, "Le rapport 2024 ne peut pas passer de « Validé » à « Transmis à la DDETS ».")
    models = hostile.Snapshot.models(["financement"])
    assert not before.diff(hostile.Snapshot.take(models), models)


# --- Refusals ---------------------------------------------------------------------------------------------------


def test_sending_with_a_narrative_missing_is_refused(client, monde):
    client.force_login(monde.collectivite)
    response = client.get(url("rapport_statut", action="transmettre"))
    manques = [li.text_content() for li in page(response).xpath("//*[@id='manques']//li")]
    assert manques[0] == "Action A1-01 : décrivez ce qui a été fait dans l'année."
    response = client.post(url("rapport_statut", action="transmettre"), {})
    assert response.status_code == 200
    assert erreurs(response)[:4] == [
        "Le rapport 2024 ne peut pas être transmis :",
        "Action A1-01 : décrivez ce qui a été fait dans l'année.",
        "Action A1-02 : décrivez ce qui a été fait dans l'année.",
        "Action A1-02 : dites où en est l'action.",
    ]
    assert statut_rapport(monde) == StatutRapport.BROUILLON
    assert not RapportAction.objects.exclude(chiffres_transmis=None).exists()


def test_an_action_without_section_must_be_written_before_sending(client, monde):
    """An action added since the report opened: shown, counted among what is missing, and sending (which would add
    its section) is refused without writing anything."""
    client.force_login(monde.collectivite)
    for section in RapportAction.objects.all():
        section.recit, section.avancement = "Fait.", AvancementAction.EN_COURS
        rapport_section_save(rapport_action=section, version=section.version)
    _fiche(monde.contrat, "A1-03", indicateur=False)
    response = client.get(url())
    assertContains(response, '<h3 id="titre-A1-03">Action A1-03 – Action A1-03</h3>', html=True)
    manques = [li.text_content() for li in page(response).xpath("//*[@id='manques']//li")]
    assert manques == [
        "Action A1-03 : décrivez ce qui a été fait dans l'année.",
        "Action A1-03 : dites où en est l'action.",
    ]
    response = client.post(url("rapport_statut", action="transmettre"), {})
    assert "Action A1-03 : décrivez ce qui a été fait dans l'année." in erreurs(response)
    assert RapportAction.objects.count() == 2
    assert statut_rapport(monde) == StatutRapport.BROUILLON
    # Written on the page, its section is created; then the report goes.
    response = rediger(client, monde, {"A1-03": "Démarrée en décembre."}, {"A1-03": AvancementAction.EN_COURS})
    assert response.status_code == 302
    assert RapportAction.objects.get(fiche__code="A1-03").recit == "Démarrée en décembre."
    assert client.post(url("rapport_statut", action="transmettre"), {}).status_code == 302
    assert statut_rapport(monde) == StatutRapport.TRANSMIS


@pytest.mark.parametrize(
    ("champ", "valeur", "message"),
    [
        pytest.param("recit", "Texte\x00caché", "Ce texte contient", id="caractere-de-controle"),
        pytest.param("recit", "x" * 10_001, "10", id="trop-long"),
        pytest.param("avancement", "fini", "Sélectionnez un choix valide", id="avancement-inconnu"),
        pytest.param("pacte_version", "", "Ce formulaire ne dit pas quelle version il modifie", id="sans-version"),
    ],
)
def test_bad_input_french_error_nothing_written(client, monde, champ, valeur, message):
    client.force_login(monde.collectivite)
    data = formulaire(client.get(url("rapport_modifier")))
    data[f"{section_prefix(monde, 'A1-02')}-recit"] = "Un récit correct."
    data[f"{section_prefix(monde, 'A1-01')}-{champ}"] = valeur
    models = hostile.Snapshot.models(["financement"])
    before = hostile.Snapshot.take(models)
    response = client.post(url("rapport_modifier"), data)
    assert response.status_code == 200
    assert any(message in e for e in erreurs(response)), erreurs(response)
    assert not before.diff(hostile.Snapshot.take(models), models)


def test_a_stale_page_is_refused(client, monde, editeur):
    client.force_login(monde.collectivite)
    data = formulaire(client.get(url("rapport_modifier")))
    section = RapportAction.objects.get(fiche__code="A1-01")
    section.recit = "Écrit par la DDETS entre-temps."
    rapport_section_save(rapport_action=section, version=section.version, by=editeur)
    data[f"{section_prefix(monde, 'A1-01')}-recit"] = "Écrit sur la page périmée."
    response = client.post(url("rapport_modifier"), data)
    assert response.status_code == 200
    assert any("pendant votre saisie : rien n'a été enregistré" in e for e in erreurs(response)), erreurs(response)
    section.refresh_from_db()
    assert section.recit == "Écrit par la DDETS entre-temps."


def test_unknown_action_or_year(client, monde, editeur):
    client.force_login(editeur)
    assert client.get(url("rapport_statut", action="supprimer")).status_code == 404
    assert client.get(url(annee=2025)).status_code == 404
    assert client.get(url(reference="CLS-2099-X")).status_code == 404


# --- Personas ---------------------------------------------------------------------------------------------------


def test_a_reader_and_the_prefecture_read_without_buttons_and_are_refused_writes(client, monde, lecteur):
    models = hostile.Snapshot.models(["financement"])
    before = hostile.Snapshot.take(models)
    for user in (lecteur, monde.prefecture):
        client.force_login(user)
        response = client.get(url())
        assert response.status_code == 200
        assert boutons(response) == ["Télécharger le rapport (PDF)"]
        assertNotContains(response, reverse("espace:fiche_execution", args=[REF, "A1-01"]))
        for name, kwargs in (
            ("rapport_modifier", {}),
            ("rapport_statut", {"action": "transmettre"}),
            ("rapport_statut", {"action": "valider"}),
            ("rapport_statut", {"action": "renvoyer"}),
        ):
            assert client.get(url(name, **kwargs)).status_code == 403
            assert client.post(url(name, **kwargs), {"observations_ddets": "x"}).status_code == 403
    assert not before.diff(hostile.Snapshot.take(models), models)


def test_the_collectivite_neither_returns_nor_validates(client, monde):
    client.force_login(monde.collectivite)
    for action in ("renvoyer", "valider"):
        assert client.get(url("rapport_statut", action=action)).status_code == 403
        assert client.post(url("rapport_statut", action=action), {"observations_ddets": "Vu."}).status_code == 403
    assert statut_rapport(monde) == StatutRapport.BROUILLON


def test_another_territory_gets_404(client, monde, autre_territoire):
    client.force_login(autre_territoire)
    for name, kwargs in (
        ("rapport", {}),
        ("rapport_modifier", {}),
        ("rapport_statut", {"action": "transmettre"}),
        ("rapport_statut", {"action": "valider"}),
    ):
        assert client.get(url(name, **kwargs)).status_code == 404
        assert client.post(url(name, **kwargs), {}).status_code == 404
    response = client.get(reverse("espace:rapports"))
    assertContains(response, "Aucun rapport annuel dans votre périmètre.")
    assert statut_rapport(monde) == StatutRapport.BROUILLON


def test_another_collectivite_of_the_departement_gets_404(client, monde):
    """A collectivité sees its own contracts only, even in the same département."""
    autre = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D69")))
    client.force_login(autre)
    assert client.get(url()).status_code == 404
    assert client.get(url("rapport_modifier")).status_code == 404


# --- Due dates and overdue flags --------------------------------------------------------------------------------


def _rapports_dates(monde):
    """Three more reports of the Hautes-Alpes: late (in redaction after its date), due in 5 days, sent after its
    date (not late); and one of the Rhône."""
    aujourd_hui = timezone.localdate()
    RapportAnnuel.objects.filter(pk=monde.rapport.pk).update(date_limite=aujourd_hui - timedelta(days=3))
    for reference, annee, statut, delta in (
        ("CLS-2024-D05-B", 2025, StatutRapport.BROUILLON, 5),
        ("CLS-2024-D05-C", 2024, StatutRapport.TRANSMIS, -40),
    ):
        contrat = ContratFactory(collectivite=collectivite("D05"), reference=reference, signe=True)
        RapportAnnuel.objects.create(
            contrat=contrat, annee=annee, statut=statut, date_limite=aujourd_hui + timedelta(days=delta)
        )
    rhone = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69", signe=True)
    RapportAnnuel.objects.create(contrat=rhone, annee=2024, date_limite=aujourd_hui - timedelta(days=3))


def lignes(response) -> list[list[str]]:
    return [
        [" ".join(td.text_content().split()) for td in tr.xpath("./td")]
        for tr in page(response).xpath("//table[caption]/tbody/tr")
    ]


def test_list_of_reports_with_due_dates_and_flags(client, monde, editeur):
    _rapports_dates(monde)
    client.force_login(editeur)
    response = client.get(reverse("espace:rapports"))
    rows = {row[1]: row for row in lignes(response)}
    assert set(rows) == {REF, "CLS-2024-D05-B", "CLS-2024-D05-C"}
    assert rows[REF][3] == "En rédaction (collectivité)"
    assert rows[REF][4].endswith("En retard de 3 jours")
    assert rows["CLS-2024-D05-B"][4].endswith("À rendre dans 5 jours")
    assert "retard" not in rows["CLS-2024-D05-C"][4]
    assertContains(
        response, f'<a href="{url()}">Rapport 2024<span class="fr-sr-only"> du contrat {REF}</span></a>', html=True
    )

    response = client.get(reverse("espace:rapports"), {"en_retard": "oui"})
    assert [row[1] for row in lignes(response)] == [REF]
    response = client.get(reverse("espace:rapports"), {"statut": "transmis"})
    assert [row[1] for row in lignes(response)] == ["CLS-2024-D05-C"]
    response = client.get(reverse("espace:rapports"), {"annee": "2025"})
    assert [row[1] for row in lignes(response)] == ["CLS-2024-D05-B"]
    response = client.get(reverse("espace:rapports"), {"annee": "1999"})
    assertContains(response, "Un filtre n'est pas valide")
    assert lignes(response) == [["Aucun rapport ne correspond à ces filtres."]]


def test_report_page_says_late(client, monde):
    RapportAnnuel.objects.filter(pk=monde.rapport.pk).update(date_limite=timezone.localdate() - timedelta(days=1))
    client.force_login(monde.collectivite)
    response = client.get(url())
    assertContains(response, '<p class="fr-badge fr-badge--sm fr-badge--error">En retard de 1 jour</p>', html=True)
    RapportAnnuel.objects.filter(pk=monde.rapport.pk).update(date_limite=timezone.localdate())
    response = client.get(url())
    assertContains(response, '<p class="fr-badge fr-badge--sm fr-badge--warning">À rendre aujourd\'hui</p>', html=True)


def test_figures_changed_after_sending_are_flagged(client, monde, editeur):
    for section in RapportAction.objects.all():
        section.recit, section.avancement = "Fait.", AvancementAction.EN_COURS
        rapport_section_save(rapport_action=section, version=section.version)
    rapport_transition(rapport=monde.rapport, to=StatutRapport.TRANSMIS)
    LigneFinancement.objects.filter(fiche__code="A1-01", type_financeur=TypeFinanceur.ETAT).update(realise=D("9999"))
    client.force_login(editeur)
    response = client.get(url())
    section = page(response).xpath("//section[@id='action-A1-01']")[0]
    assert "Montants ou indicateurs modifiés depuis la transmission" in section.text_content()
    assert f"8{NBSP}000,00{NBSP}€" in section.text_content()  # the copy sent, not the line as it is now
    assert (
        "Montants ou indicateurs modifiés"
        not in page(response).xpath("//section[@id='action-A1-02']")[0].text_content()
    )


# --- Query budgets ----------------------------------------------------------------------------------------------


def _sections(monde, n):
    for i in range(3, n + 1):
        _fiche(monde.contrat, f"A1-{i:02d}")
    rapport_sections_completer(rapport=monde.rapport)


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("envoye", [False, True], ids=["en-redaction", "transmis"])
def test_report_page_query_budget(client, monde, editeur, django_assert_max_num_queries, n, envoye):
    _sections(monde, n)
    if envoye:
        for section in RapportAction.objects.all():
            section.recit, section.avancement = "Fait.", AvancementAction.EN_COURS
            rapport_section_save(rapport_action=section, version=section.version)
        rapport_transition(rapport=monde.rapport, to=StatutRapport.TRANSMIS)
    client.force_login(editeur)
    # Session, user, savepoint, organisation; the report, its contract in the perimeter; sections, actions without
    # one, lines, their totals, indicators, their values, history, reminders; the header's three; release.
    with django_assert_max_num_queries(18):
        response = client.get(url())
    assert len(page(response).xpath("//section[starts-with(@id,'action-')]")) == n


@pytest.mark.parametrize("n", [3, 30])
def test_writing_page_query_budget(client, monde, django_assert_max_num_queries, n):
    _sections(monde, n)
    client.force_login(monde.collectivite)
    with django_assert_max_num_queries(15):
        response = client.get(url("rapport_modifier"))
    assert len(page(response).xpath("//main//form//fieldset[starts-with(@id,'action-')]")) == n


@pytest.mark.parametrize("n", [3, 30])
def test_list_query_budget(client, monde, editeur, django_assert_max_num_queries, n):
    for i in range(n - 1):
        contrat = ContratFactory(collectivite=collectivite("D05"), reference=f"CLS-2024-D05-{i}", signe=True)
        RapportAnnuel.objects.create(contrat=contrat, annee=2024, date_limite=timezone.localdate())
    client.force_login(editeur)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("espace:rapports"))
    assert len(lignes(response)) == n
