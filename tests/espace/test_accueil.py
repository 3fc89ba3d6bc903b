"""The layout, the accounts pages and each persona's home ("what to do now").

Personas of the Hautes-Alpes (D05, région 93) against the Rhône (D69, région 84), which holds the same kinds of
things and must never show on a Hautes-Alpes page.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.contrib.messages import constants as message_levels
from django.contrib.messages.storage.base import Message
from django.core import mail
from django.db import connection
from django.template.loader import render_to_string
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.enums import StatutFiche
from actions.models import FicheAction
from contrats.enums import StatutAvenant, StatutContrat, TypeContrat
from contrats.models import Contrat
from espace.selectors import accueil_collectivite, alertes_parite, alertes_plafonds
from financement.enums import StatutRapport, TypeFinanceur
from financement.models import RapportAnnuel
from financement.regles import parite_violations, plafond_violations
from pacte.enums import Role, TypeOrganisation
from pacte.money import format_euros
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VoletFactory,
    axe,
    collectivite,
    departement,
    region,
)

pytestmark = pytest.mark.django_db

PASSWORD = "mot-de-passe-de-test"  # UserFactory's
D = Decimal


def text(response) -> str:
    """The page's text, tags removed and spaces (non-breaking ones too, kept as such) collapsed."""
    html = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in html
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#x27;", "'")


def main(response) -> str:
    """The text of the page's <main> only (the header names the user's organisation and perimeter)."""
    html = response.content.decode()
    found = re.search(r"<main.*?</main>", html, re.S)
    assert found, html
    return re.sub(r"[ \t\n]+", " ", re.sub(r"<[^>]+>", " ", found.group(0))).replace("&#x27;", "'")


class Page(HTMLParser):
    """The parts of a page the layout tests read: ids, links, attributes, scripts, forms."""

    def __init__(self, html: str):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[dict] = []
        self.tags: list[tuple[str, dict]] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "id" in attrs:
            self.ids.add(attrs["id"])
        if tag == "a":
            self.links.append(attrs)

    def hrefs(self) -> set[str]:
        return {a.get("href") for a in self.links}


def euros(montant) -> str:
    return format_euros(D(montant))


# --- Data ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def orgs(db):
    return {
        "ddets": OrganisationFactory(ddets=True, departement=departement("05")),
        "prefecture": OrganisationFactory(prefecture=True, departement=departement("05")),
        "collectivite": OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")),
        "dreets": OrganisationFactory(dreets=True, region=region("93")),
        "centrale": OrganisationFactory(centrale=True),
        "partenaire": OrganisationFactory(
            nom="CAF des Hautes-Alpes", type=TypeOrganisation.PARTENAIRE, departement=departement("05")
        ),
        "caf69": OrganisationFactory(
            nom="CAF du Rhône", type=TypeOrganisation.PARTENAIRE, departement=departement("69")
        ),
    }


@pytest.fixture
def users(orgs):
    return {
        key: UserFactory(username=f"{key}-accueil", organisation=orgs[key], first_name="Camille", last_name=key.title())
        for key in ("ddets", "prefecture", "collectivite", "dreets", "centrale", "partenaire")
    }


def _fiche(contrat, code, porteur, *, etat="10000", coll="10000", annee=2024, statut=StatutFiche.PROPOSEE, **kw):
    fiche = FicheActionFactory(contrat=contrat, code=code, axe=axe(1), porteur=porteur, statut=statut, **kw)
    LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=TypeFinanceur.ETAT, prevu=D(etat))
    LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D(coll))
    return fiche


def peupler(code_collectivite: str, porteur, debut: int, n: int) -> None:
    """``n`` of each kind of thing a home lists, for the collectivité ``code_collectivite``: contracts in
    negotiation with a proposed fiche breaking parity and the ceiling; signed contracts with spent amounts,
    indicator values and a report to enter and an open avenant; contracts and avenants ready for signature."""
    for i in range(debut, debut + n):
        suffixe = f"{code_collectivite}-{i:03d}"
        negocie = ContratFactory(collectivite=collectivite(code_collectivite), reference=f"CLS-2024-{suffixe}")
        _fiche(negocie, "A1-01", porteur, etat="12000", coll="10000", intitule=f"Bus des familles {suffixe}")
        PlafondFactory(contrat=negocie, annee=2024, montant=D("5000"))

        signe = ContratFactory(
            collectivite=collectivite(code_collectivite), reference=f"CLS-2023-{suffixe}", signe=True
        )
        fiche = _fiche(signe, "A1-01", porteur, statut=StatutFiche.VALIDEE, intitule=f"Maraude {suffixe}")
        indicateur = IndicateurFactory(fiche=fiche, nom="Personnes accompagnées")
        ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("100"))
        RapportAnnuel.objects.create(contrat=signe, annee=2024, date_limite=date(2025, 3, 31))
        statut_avenant = StatutAvenant.BROUILLON if i % 2 else StatutAvenant.PRET_SIGNATURE
        AvenantFactory(contrat=signe, numero=1, statut=statut_avenant)

        ContratFactory(
            collectivite=collectivite(code_collectivite),
            reference=f"CU-2024-{suffixe}",
            type_contrat=TypeContrat.CONVENTION_UNIQUE,
            statut=StatutContrat.PRET_SIGNATURE,
        )


@pytest.fixture
def donnees(orgs):
    peupler("D05", orgs["partenaire"], 0, 1)
    peupler("D69", orgs["caf69"], 0, 1)


# --- Anonymous visitors and accounts -------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_login_page(client):
    response = client.get(reverse("espace:accueil"))
    assert response.status_code == 302
    assert response["Location"] == "/connexion/?next=/"


def test_login_page_shows_the_form_and_the_forgotten_password_link(client):
    response = client.get(reverse("login") + "?next=/fiches/")
    assert response.status_code == 200
    page = Page(response.content.decode())
    assert "id_username" in page.ids and "id_password" in page.ids
    assert reverse("password_reset") in page.hrefs()
    assert 'name="next" value="/fiches/"' in response.content.decode()
    assert "<h1>Connexion à Pacte des solidarités</h1>" in response.content.decode()
    # Anonymous: the header without the user's tools nor the navigation, and no skip link to a missing menu.
    assert "Se déconnecter" not in response.content.decode()
    assert "navigation" not in page.ids and "#navigation" not in page.hrefs()
    assert {"content", "footer"} <= page.ids


def test_login_with_good_credentials_opens_the_home(client, users):
    response = client.post(reverse("login"), {"username": "ddets-accueil", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_login_follows_next(client, users):
    response = client.post(reverse("login"), {"username": "ddets-accueil", "password": PASSWORD, "next": "/fiches/"})
    assert response["Location"] == "/fiches/"


def test_login_with_bad_credentials_answers_in_french(client, users):
    response = client.post(reverse("login"), {"username": "ddets-accueil", "password": "pas-le-bon"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    page = text(response)
    assert "Connexion impossible" in page
    assert "Saisissez un nom d’utilisateur et un mot de passe valides." in page


def test_logout_is_a_post_and_says_so_on_the_login_page(client, users):
    client.force_login(users["ddets"])
    assert client.get(reverse("logout")).status_code == 405
    assert "_auth_user_id" in client.session

    response = client.post(reverse("logout"), follow=True)

    assert response.redirect_chain == [("/connexion/", 302)]
    assert "_auth_user_id" not in client.session
    assertion = '<div class="fr-alert fr-alert--sm fr-mb-2w fr-alert--success" role="status">'
    assert assertion in response.content.decode()
    assert "Vous êtes déconnecté." in text(response)


def test_password_reset_sends_a_french_email_whose_link_sets_a_new_password(client, users):
    response = client.post(reverse("password_reset"), {"email": "ddets-accueil@example.gouv.fr"}, follow=True)
    assert response.redirect_chain == [(reverse("password_reset_done"), 302)]
    assert "<h1>Courriel envoyé</h1>" in response.content.decode()
    [email] = mail.outbox
    assert email.to == ["ddets-accueil@example.gouv.fr"]
    assert email.subject == "Pacte des solidarités : choisir un nouveau mot de passe"
    assert "Vous avez demandé à changer le mot de passe du compte « ddets-accueil »" in email.body
    link = re.search(r"http://testserver(/mot-de-passe/nouveau/\S+/)", email.body).group(1)

    form = client.get(link, follow=True)
    assert "<h1>Choisir un nouveau mot de passe</h1>" in form.content.decode()
    set_password_url = form.redirect_chain[-1][0]

    weak = client.post(set_password_url, {"new_password1": "abc", "new_password2": "abc"})
    assert weak.status_code == 200
    assert "Ce mot de passe est trop court. Il doit contenir au minimum 12 caractères." in text(weak)

    done = client.post(
        set_password_url, {"new_password1": "Marianne-solidaire-2024", "new_password2": "Marianne-solidaire-2024"}
    )
    assert done["Location"] == reverse("password_reset_complete")
    assert "<h1>Mot de passe enregistré</h1>" in client.get(done["Location"]).content.decode()
    login = client.post(reverse("login"), {"username": "ddets-accueil", "password": "Marianne-solidaire-2024"})
    assert login.status_code == 302 and "_auth_user_id" in client.session

    # The link served once.
    client.logout()
    again = client.get(link, follow=True)
    assert "<h1>Lien invalide ou expiré</h1>" in again.content.decode()


def test_password_reset_of_an_unknown_address_sends_nothing_and_says_the_same(client, users):
    response = client.post(reverse("password_reset"), {"email": "personne@example.gouv.fr"}, follow=True)
    assert "<h1>Courriel envoyé</h1>" in response.content.decode()
    assert mail.outbox == []


def test_password_change(client, users):
    assert client.get(reverse("password_change"))["Location"] == "/connexion/?next=/mot-de-passe/changer/"
    client.force_login(users["ddets"])
    response = client.get(reverse("password_change"))
    assert "<h1>Mon compte</h1>" in response.content.decode()

    nouveau = {"new_password1": "Marianne-solidaire-2024", "new_password2": "Marianne-solidaire-2024"}
    wrong = client.post(reverse("password_change"), {"old_password": "faux", **nouveau})
    assert "Votre ancien mot de passe est incorrect." in text(wrong)

    done = client.post(reverse("password_change"), {"old_password": PASSWORD, **nouveau}, follow=True)
    assert "<h1>Mot de passe changé</h1>" in done.content.decode()
    users["ddets"].refresh_from_db()
    assert users["ddets"].check_password("Marianne-solidaire-2024")


def test_the_back_offices_password_change_is_the_same_page(client, users):
    client.force_login(users["ddets"])
    response = client.get(reverse("admin:password_change"))
    assert response.status_code == 200
    assert "<h2>Changer de mot de passe</h2>" in response.content.decode()
    assert "id_old_password" in Page(response.content.decode()).ids


# --- The layout ----------------------------------------------------------------------------------------------------


def test_the_header_names_the_user_its_organisation_and_perimeter(client, users):
    client.force_login(users["ddets"])
    response = client.get("/")
    html = response.content.decode()
    assert '<strong class="pacte-identite__nom">Camille Ddets</strong>' in html
    assert '<span class="pacte-identite__organisation">DDETS Hautes-Alpes</span>' in html
    assert '<span class="pacte-identite__perimetre">Périmètre : Département 05 (D05)</span>' in html
    assert '<a class="fr-btn fr-icon-account-line" href="/mot-de-passe/changer/">Mon compte</a>' in html
    page = Page(html)
    forms = [attrs for tag, attrs in page.tags if tag == "form"]
    assert {"method": "post", "action": "/deconnexion/"} in forms


def test_the_header_costs_two_queries_once_per_request(rf, users):
    """The organisation with its territory, and a département's collectivités for the perimeter's label; the
    site settings are django-dsfr's own query. A second rendering for the same user asks nothing more."""
    request = rf.get("/")
    request.user = UserFactory._meta.model.objects.get(pk=users["ddets"].pk)  # nothing cached yet
    request.csp_nonce = "nonce-de-test"
    with CaptureQueriesContext(connection) as first:
        html = render_to_string("base.html", {}, request=request)
    with CaptureQueriesContext(connection) as second:
        render_to_string("base.html", {}, request=request)
    tables = [re.search(r'FROM "(\w+)"', q["sql"]).group(1) for q in first.captured_queries]
    assert sorted(tables) == ["dsfr_dsfrconfig", "pacte_collectivite", "pacte_organisation"]
    assert [re.search(r'FROM "(\w+)"', q["sql"]).group(1) for q in second.captured_queries] == ["dsfr_dsfrconfig"]
    assert "Périmètre : Département 05 (D05)" in html


@pytest.mark.parametrize(
    ("organisation", "perimetre"),
    [
        (lambda: OrganisationFactory(ddets=True), "Département 05 (D05)"),
        (lambda: OrganisationFactory(ddets=True, departement=departement("69")), "Département 69 (D69, M-LYO)"),
        (lambda: OrganisationFactory(dreets=True, region=region("84")), "Région Auvergne-Rhône-Alpes"),
        (lambda: OrganisationFactory(de_collectivite=True, collectivite=collectivite("M-LYO")), "Collectivité M-LYO"),
        (lambda: OrganisationFactory(centrale=True), "France entière"),
        (lambda: OrganisationFactory(nom="CAF du Rhône"), "Actions qu'il porte"),
    ],
)
def test_the_header_names_each_kind_of_perimeter(client, organisation, perimetre):
    user = UserFactory(organisation=organisation())
    client.force_login(user)
    response = client.get(reverse("espace:accueil"))
    html = response.content.decode().replace("&#x27;", "'")
    assert f'<span class="pacte-identite__perimetre">Périmètre : {perimetre}</span>' in html
    assert f'<span class="pacte-identite__organisation">{user.organisation.nom}</span>' in html


def test_pages_carry_a_content_security_policy(client, users):
    client.force_login(users["ddets"])
    response = client.get(reverse("espace:accueil"))
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    # The DSFR's scripts are served by us, so 'self' lets them run.
    assert 'src="/static/dsfr/dist/dsfr/dsfr.module.min.js"' in response.content.decode()


@pytest.mark.parametrize(
    ("staff", "back_office"),
    [(True, True), (False, False)],
)
def test_back_office_link_only_for_staff(client, orgs, staff, back_office):
    user = UserFactory(organisation=orgs["ddets"], is_staff=staff)
    client.force_login(user)
    html = client.get("/").content.decode()
    assert (f'href="{reverse("admin:index")}">Back-office</a>' in html) is back_office


@pytest.mark.parametrize(
    ("persona", "entries"),
    [
        ("ddets", ["Accueil", "Contrats", "Fiches actions", "Rapports annuels", "Tableaux de bord", "Impressions"]),
        (
            "prefecture",
            ["Accueil", "Contrats", "Fiches actions", "Rapports annuels", "Tableaux de bord", "Impressions"],
        ),
        ("dreets", ["Accueil", "Contrats", "Fiches actions", "Rapports annuels", "Tableaux de bord", "Impressions"]),
        ("centrale", ["Accueil", "Contrats", "Fiches actions", "Rapports annuels", "Tableaux de bord", "Impressions"]),
        ("collectivite", ["Accueil", "Contrats", "Fiches actions", "Rapports annuels", "Tableaux de bord"]),
        ("partenaire", ["Accueil", "Contrats", "Fiches actions"]),
    ],
)
def test_navigation_by_role_with_the_current_page(client, users, persona, entries):
    client.force_login(users[persona])
    html = client.get("/").content.decode()
    nav = re.search(r'<nav class="fr-nav" id="navigation".*?</nav>', html, re.S).group(0)
    assert re.findall(r'class="fr-nav__link"[^>]*>([^<]+)</a>', nav) == entries
    assert '<a class="fr-nav__link" href="/" aria-current="page">Accueil</a>' in nav
    assert nav.count("aria-current") == 1


def test_the_dashboards_entry_is_current_on_a_territory_s_dashboard(rf, users):
    from pacte.context_processors import Entete

    request = rf.get("/tableaux/departement/05/")
    request.user = users["ddets"]
    request.resolver_match = type("Match", (), {"url_name": "tableau_departement", "namespace": "espace"})()
    courant = {e["libelle"]: e["courant"] for e in Entete(request).navigation}
    assert courant["Tableaux de bord"] == "true"
    assert {e["libelle"]: e["url"] for e in Entete(request).navigation}["Tableaux de bord"] == "/tableaux/"


def test_navigation_marks_the_section_of_a_sub_page(rf, users):
    from pacte.context_processors import Entete

    request = rf.get("/contrats/CLS-2024-D05/")
    request.user = users["ddets"]
    request.resolver_match = type("Match", (), {"url_name": "contrat", "namespace": "espace"})()
    courant = {e["libelle"]: e["courant"] for e in Entete(request).navigation}
    assert courant == {
        "Accueil": "",
        "Contrats": "true",
        "Fiches actions": "",
        "Rapports annuels": "",
        "Tableaux de bord": "",
        "Impressions": "",
    }


def test_a_user_without_organisation_has_only_the_home(client, db):
    user = UserFactory(organisation=None, is_staff=False)
    client.force_login(user)
    response = client.get("/")
    nav = re.search(r'<nav class="fr-nav".*?</nav>', response.content.decode(), re.S).group(0)
    assert re.findall(r'class="fr-nav__link"[^>]*>([^<]+)</a>', nav) == ["Accueil"]
    assert "Votre compte n'est rattaché à aucune organisation" in text(response)
    assert "Rien à faire pour le moment" in text(response)


def test_skip_links_footer_and_no_inline_code(client, users):
    client.force_login(users["ddets"])
    response = client.get("/")
    html = response.content.decode()
    page = Page(html)
    skip = re.search(r'<ul class="fr-skiplinks__list">.*?</ul>', html, re.S).group(0)
    targets = re.findall(r'href="#([^"]+)"', skip)
    assert targets == ["content", "navigation", "footer"]
    assert set(targets) <= page.ids
    footer = re.search(r'<footer class="fr-footer".*?</footer>', html, re.S).group(0)
    assert "Accessibilité : partiellement conforme" in footer
    verification = reverse("espace:verification")
    assert f'<a class="fr-footer__bottom-link" href="{verification}">Vérifier un document</a>' in footer
    # CSP: no style attribute, no inline script without the request's nonce.
    assert not [attrs for _, attrs in page.tags if "style" in attrs]
    for tag, attrs in page.tags:
        if tag == "script":
            assert attrs.get("src") or attrs.get("nonce"), attrs
    assert '<link rel="stylesheet" href="/static/espace/espace.css">' in html
    # The burger button opens the menu holding the navigation (DSFR modal).
    assert 'aria-controls="menu-principal"' in html
    assert '<div class="fr-header__menu fr-modal" id="menu-principal" aria-labelledby="bouton-menu">' in html


def test_messages_are_dsfr_alerts(rf, users):
    request = rf.get("/")
    request.user = users["ddets"]
    request.csp_nonce = "nonce-de-test"
    messages = [
        Message(message_levels.SUCCESS, "Fiche enregistrée."),
        Message(message_levels.ERROR, "Rien n'a été enregistré."),
        Message(message_levels.INFO, "Pour information."),
    ]
    html = render_to_string("base.html", {"messages": messages}, request=request)
    assert '<div class="fr-alert fr-alert--sm fr-mb-2w fr-alert--success" role="status">' in html
    assert '<div class="fr-alert fr-alert--sm fr-mb-2w fr-alert--error" role="alert">' in html
    assert '<div class="fr-alert fr-alert--sm fr-mb-2w fr-alert--info" role="status">' in html
    assert "<p>Rien n&#x27;a été enregistré.</p>" in html


def test_breadcrumb_only_when_the_view_gives_one(rf, users):
    request = rf.get("/")
    request.user = users["ddets"]
    request.csp_nonce = "nonce-de-test"
    without = render_to_string("base.html", {}, request=request)
    assert "fr-breadcrumb" not in without
    data = {"links": [{"url": "/contrats/", "title": "Contrats"}], "current": "CLS-2024-D05"}
    html = render_to_string("base.html", {"breadcrumb_data": data}, request=request)
    assert 'class="fr-breadcrumb"' in html
    assert '<a class="fr-breadcrumb__link" href="/contrats/">Contrats</a>' in html
    assert '<a class="fr-breadcrumb__link" aria-current="page">CLS-2024-D05</a>' in html


def test_the_error_pages_link_to_the_home(client, users):
    client.force_login(users["ddets"])
    response = client.get("/nulle-part/")
    assert response.status_code == 404
    assert f'<a class="fr-btn" href="{reverse("espace:accueil")}">Page d\'accueil</a>' in response.content.decode()
    # A signed-in user keeps its header on an error page.
    assert "pacte-identite__nom" in response.content.decode()


# --- Persona homes -------------------------------------------------------------------------------------------------


def test_ddets_home(client, users, orgs, donnees):
    # A signed contract's proposed fiche is not "to validate" before signature any more; the Rhône is elsewhere.
    signe = Contrat.objects.get(reference="CLS-2023-D05-000")
    FicheActionFactory(contrat=signe, code="A1-09", porteur=orgs["partenaire"], intitule="Hors du périmètre du jour")
    client.force_login(users["ddets"])

    response = client.get("/")

    page = main(response)
    html = response.content.decode()
    assert '<h2 class="fr-mt-4w">Fiches actions à valider</h2>' in html
    assert "CLS-2024-D05-000 A1-01 Bus des familles D05-000" in page
    edit = reverse("espace:fiche_modifier", args=["CLS-2024-D05-000", "A1-01"])
    assert f'<a class="fr-link" href="{edit}">' in html
    assert "Hors du périmètre du jour" not in page
    # Parity: which action, which year, by how much, in French amounts.
    assert (
        f"Fiche A1-01 (Bus des familles D05-000), 2024 : la part prévue de l'État ({euros(12000)}) dépasse celle "
        f"du Département ({euros(10000)}) de {euros(2000)}"
    ) in page
    # Ceiling: the year and the overrun.
    assert (
        f"2024 : les parts prévues de l'État ({euros(12000)}) dépassent l'enveloppe annuelle ({euros(5000)}) "
        f"de {euros(7000)}"
    ) in page
    # Avenants in preparation.
    avenant = reverse("espace:avenant", args=["CLS-2023-D05-000", 1])
    assert f'<a href="{avenant}">Avenant n° 1</a>' in html
    assert "D69" not in page


def test_ddets_reader_gets_the_same_lines_without_edit_links(client, orgs, donnees):
    lecteur = UserFactory(organisation=orgs["ddets"], role=Role.LECTEUR)
    client.force_login(lecteur)
    response = client.get("/")
    html = response.content.decode()
    assert "Bus des familles D05-000" in html
    assert "/modifier/" not in html
    assert f'href="{reverse("espace:fiche", args=["CLS-2024-D05-000", "A1-01"])}">Fiche A1-01</a>' in html


def test_ddets_home_empty_states(client, users):
    client.force_login(users["ddets"])
    page = main(client.get("/"))
    assert "Rien à faire pour le moment : aucune fiche proposée n'attend sa validation." in page
    assert "Rien à faire pour le moment : la parité et les enveloppes sont respectées" in page
    assert "Rien à faire pour le moment : aucun avenant n'est en préparation." in page


def test_collectivite_home(client, users, orgs, donnees):
    signe = Contrat.objects.get(reference="CLS-2023-D05-000")
    fiche = signe.fiches.get()
    # Entered already, or not the collectivité's to enter: not listed.
    LigneFinancementFactory(
        fiche=fiche, annee=2025, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D("8000"), realise=D("7500")
    )
    client.force_login(users["collectivite"])

    response = client.get("/")

    page = main(response)
    html = response.content.decode()
    assert "CLS-2023-D05-000 A1-01 Maraude D05-000" in page
    assert f"2024 (prévu {euros(10000)})" in page
    assert "2025 (prévu" not in page
    assert "Personnes accompagnées : 2024" in page
    execution = reverse("espace:fiche_execution", args=["CLS-2023-D05-000", "A1-01"])
    assert f'<a class="fr-link" href="{execution}">' in html
    # The annual report, overdue.
    assert "2024 En rédaction (collectivité) 31 mars 2025 En retard" in page
    # Contracts in negotiation are not in execution; the Rhône is elsewhere.
    assert "CLS-2024-D05-000" not in page
    assert "D69" not in page


def test_collectivite_home_only_past_years_and_validated_reports_gone(orgs):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", signe=True)
    fiche = _fiche(contrat, "A1-01", orgs["partenaire"], statut=StatutFiche.VALIDEE)
    LigneFinancementFactory(fiche=fiche, annee=2026, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D("1"))
    LigneFinancementFactory(fiche=fiche, annee=2027, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D("1"))
    indicateur = IndicateurFactory(fiche=fiche)
    for annee in (2025, 2026):
        ValeurIndicateurFactory(indicateur=indicateur, annee=annee, cible=D("10"))
    RapportAnnuel.objects.create(
        contrat=contrat, annee=2024, date_limite=date(2025, 3, 31), statut=StatutRapport.VALIDE
    )
    RapportAnnuel.objects.create(contrat=contrat, annee=2025, date_limite=date(2026, 3, 31))
    cd05 = UserFactory(organisation=OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05")))

    home = accueil_collectivite(cd05, aujourd_hui=date(2026, 3, 1))

    [entree] = home["fiches_a_saisir"]
    assert [ligne.annee for ligne in entree.lignes] == [2024, 2026]  # the current year is begun, not 2027
    assert [v.annee for v in entree.valeurs] == [2025]  # only years over
    [rapport] = home["rapports"]
    assert (rapport.annee, rapport.en_retard) == (2025, False)


def test_collectivite_home_empty(client, users):
    client.force_login(users["collectivite"])
    page = main(client.get("/"))
    assert "Rien à faire pour le moment : les montants réalisés et les valeurs des indicateurs sont à jour." in page
    assert "Rien à faire pour le moment : aucun rapport annuel n'est attendu." in page


def test_prefecture_home(client, users, donnees):
    client.force_login(users["prefecture"])
    response = client.get("/")
    html = response.content.decode()
    page = main(response)
    signer = reverse("espace:contrat_statut", args=["CU-2024-D05-000", "signer"])
    assert f'<a class="fr-btn fr-btn--sm" href="{signer}">Signer' in html
    avenant = reverse("espace:avenant_statut", args=["CLS-2023-D05-000", 1, "signer"])
    assert f'<a class="fr-btn fr-btn--sm" href="{avenant}">Signer' in html
    assert "D69" not in page


def test_prefecture_home_empty(client, users):
    client.force_login(users["prefecture"])
    page = main(client.get("/"))
    assert "Rien à faire pour le moment : aucun contrat n'attend sa signature." in page
    assert "Rien à faire pour le moment : aucun avenant n'attend sa signature." in page


def test_dreets_home_counts_per_departement(client, users, donnees):
    client.force_login(users["dreets"])
    response = client.get("/")
    html = response.content.decode()
    page = main(response)
    assert "<caption>Contrats par statut et par département</caption>" in html
    row = re.search(r"<th scope=\"row\">Hautes-Alpes \(05\)</th>(.*?)</tr>", html, re.S).group(1)
    cells = re.findall(r"<td>(.*?)</td>", row, re.S)
    statuts = [s for s, _ in StatutContrat.choices]
    counts = dict(zip(statuts, cells[:-1], strict=True))
    assert counts["en_negociation"] == '<a href="/contrats/?statut=en_negociation&amp;departement=05">1</a>'
    assert counts["signe"] == '<a href="/contrats/?statut=signe&amp;departement=05">1</a>'
    assert counts["pret_signature"] == '<a href="/contrats/?statut=pret_signature&amp;departement=05">1</a>'
    assert counts["clos"] == "0"
    assert cells[-1] == '<a href="/contrats/?departement=05">3</a>'
    assert '<a href="/contrats/?type_contrat=convention_unique&amp;departement=05">1</a>' in html
    assert "Rhône" not in page


def test_nation_home_counts_per_region(client, users, donnees):
    client.force_login(users["centrale"])
    response = client.get("/")
    html = response.content.decode()
    assert "<caption>Contrats par statut et par région</caption>" in html
    assert '<a href="/contrats/?statut=signe&amp;region=93">1</a>' in html
    assert '<a href="/contrats/?statut=signe&amp;region=84">1</a>' in html
    assert '<a href="/contrats/?statut=signe">2</a>' in html  # totals
    assert '<a href="/contrats/">6</a>' in html


def test_dreets_home_empty(client, users):
    client.force_login(users["dreets"])
    assert "Rien à suivre pour le moment : aucun contrat n'est encore ouvert dans la région." in main(client.get("/"))


def test_partner_home(client, users, donnees):
    client.force_login(users["partenaire"])
    response = client.get("/")
    page = main(response)
    assert "CLS-2024-D05-000 A1-01 Bus des familles D05-000" in page
    assert "CLS-2023-D05-000 A1-01 Maraude D05-000" in page
    assert "D69" not in page


def test_partner_home_empty(client, orgs):
    client.force_login(UserFactory(organisation=OrganisationFactory(type=TypeOrganisation.PARTENAIRE)))
    assert "Rien à faire pour le moment : votre organisation ne porte aucune action." in main(client.get("/"))


# --- The alerts are the signature's rules -------------------------------------------------------------------------


def test_parity_alerts_are_those_of_the_signature(orgs):
    """Same messages as parite_violations on each contract's active fiches, for every kind of breach."""
    cls = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-T1")
    _fiche(cls, "A1-02", orgs["partenaire"], etat="10001.01", coll="10000")  # beyond the tolerance
    _fiche(cls, "A1-10", orgs["partenaire"], etat="10001", coll="10000")  # within it
    _fiche(cls, "A1-03", orgs["partenaire"], etat="5000", coll="0")
    abandonnee = _fiche(cls, "A1-04", orgs["partenaire"], etat="9000", coll="0", statut=StatutFiche.ABANDONNEE)
    cpt = ContratFactory(collectivite=collectivite("M-LYO"), reference="CPT-2024-T2", type_contrat=TypeContrat.CPT)
    _fiche(cpt, "A1-01", orgs["partenaire"], etat="9000", coll="0")
    cu = ContratFactory(
        collectivite=collectivite("D05"), reference="CU-2024-T3", type_contrat=TypeContrat.CONVENTION_UNIQUE
    )
    volet = VoletFactory(contrat=cu, numero=1)
    fiche = FicheActionFactory(contrat=cu, code="A2-01", axe=axe(2), volet=volet, porteur=orgs["partenaire"])
    LigneFinancementFactory(fiche=fiche, annee=2025, type_financeur=TypeFinanceur.ETAT, prevu=D("7000"))
    _fiche(cu, "A1-01", orgs["partenaire"], etat="7000", coll="3000", annee=2025)

    alertes = alertes_parite(Contrat.objects.all())

    for contrat in (cls, cpt, cu):
        expected = parite_violations(FicheAction.objects.filter(contrat=contrat).exclude(pk=abandonnee.pk))
        got = [f"Fiche {code}, {message}" for code, _, message in alertes.get(contrat.pk, [])]
        assert got == expected
    assert len(alertes[cls.pk]) == 3  # A1-02 once, A1-03 twice (counterpart and rate); A1-10 passes
    assert cpt.pk not in alertes  # no parity in a pacte local
    assert [code for code, _, _ in alertes[cu.pk]] == ["A1-01", "A1-01"]  # volet 1 is 100 % State


def test_ceiling_alerts_are_those_of_the_signature(orgs):
    """Same messages as plafond_violations, contract by contract: contract-wide ceilings, volets with their own,
    actions outside the volets, years without a ceiling, abandoned fiches left out."""
    porteur = orgs["partenaire"]
    cas = []
    # A contract-wide ceiling exceeded one year, missing the next.
    c1 = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-P1")
    _fiche(c1, "A1-01", porteur, etat="6000")
    _fiche(c1, "A1-02", porteur, etat="5000")
    _fiche(c1, "A1-03", porteur, etat="4000", annee=2025)
    _fiche(c1, "A1-04", porteur, etat="90000", statut=StatutFiche.ABANDONNEE)
    PlafondFactory(contrat=c1, annee=2024, montant=D("10000"))
    cas.append(c1)
    # Volets with their own ceilings (no transfer), actions outside volets without a contract ceiling.
    c2 = ContratFactory(
        collectivite=collectivite("D05"), reference="CU-2024-P2", type_contrat=TypeContrat.CONVENTION_UNIQUE
    )
    v1, v2 = VoletFactory(contrat=c2, numero=1), VoletFactory(contrat=c2, numero=2, intitule="Accompagnement")
    for code, volet, etat in (("A2-01", v1, "3000"), ("A2-02", v2, "2500"), ("A2-03", v2, "1000")):
        fiche = FicheActionFactory(contrat=c2, code=code, axe=axe(2), volet=volet, porteur=porteur)
        LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=D(etat))
    _fiche(c2, "A1-01", porteur, etat="700")
    PlafondFactory(contrat=c2, volet=v1, annee=2024, montant=D("3000"))
    PlafondFactory(contrat=c2, volet=v2, annee=2024, montant=D("3000"))
    cas.append(c2)
    # The same with a contract-wide ceiling too (volets fall back on it), and a ceiling without any amount.
    c3 = ContratFactory(
        collectivite=collectivite("D05"), reference="CU-2024-P3", type_contrat=TypeContrat.CONVENTION_UNIQUE
    )
    w1, w2 = VoletFactory(contrat=c3, numero=1), VoletFactory(contrat=c3, numero=2, intitule="Accompagnement")
    for code, volet, etat in (("A2-01", w1, "3000"), ("A2-02", w2, "4000")):
        fiche = FicheActionFactory(contrat=c3, code=code, axe=axe(2), volet=volet, porteur=porteur)
        LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=D(etat))
    PlafondFactory(contrat=c3, volet=w1, annee=2024, montant=D("2000"))
    PlafondFactory(contrat=c3, annee=2024, montant=D("3500"))
    PlafondFactory(contrat=c3, annee=2026, montant=D("1000"))
    cas.append(c3)
    # Within its ceilings: no alert.
    c4 = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-P4")
    _fiche(c4, "A1-01", porteur, etat="1000")
    PlafondFactory(contrat=c4, annee=2024, montant=D("1000"))
    cas.append(c4)

    alertes = alertes_plafonds(Contrat.objects.all())

    for contrat in cas:
        assert alertes.get(contrat.pk, []) == plafond_violations(contrat), contrat.reference
    assert all(alertes.get(c.pk) for c in (c1, c2, c3)) and c4.pk not in alertes


# --- Query budgets: the same with 3 and with 30 of everything ------------------------------------------------------

#: Queries of each home: session, user, the request's savepoint and its release (ATOMIC_REQUESTS), organisation
#: with its territory, site settings (the header), a département's collectivités for the perimeter's label, then
#: the persona's own (espace.selectors).
BUDGETS = {
    "ddets": 14,
    "prefecture": 9,
    "collectivite": 9,
    "dreets": 10,
    "centrale": 10,
    "partenaire": 7,
}


def test_query_budget_is_the_same_with_3_and_30_contracts(client, orgs, users, django_assert_max_num_queries):
    """Every persona's home, with 3 of everything, then 30 (and as many in the Rhône): the same count, at most
    the budget, which is tight."""
    counts: dict[str, list[int]] = {persona: [] for persona in BUDGETS}
    pages: dict[str, str] = {}
    for debut, n in ((0, 3), (3, 27)):
        peupler("D05", orgs["partenaire"], debut, n)
        peupler("D69", orgs["caf69"], debut, n)
        for persona, budget in BUDGETS.items():
            client.force_login(users[persona])
            with django_assert_max_num_queries(budget), CaptureQueriesContext(connection) as queries:
                response = client.get("/")
            assert response.status_code == 200
            counts[persona].append(len(queries))
            pages[persona] = response.content.decode()
    assert counts == {persona: [budget, budget] for persona, budget in BUDGETS.items()}
    # The pages with 30 did show the 30th.
    for persona in ("ddets", "prefecture", "collectivite", "partenaire"):
        assert "D05-029" in pages[persona], persona
    assert '<a href="/contrats/?statut=signe&amp;departement=05">30</a>' in pages["dreets"]
    assert '<a href="/contrats/?statut=signe&amp;region=93">30</a>' in pages["centrale"]
