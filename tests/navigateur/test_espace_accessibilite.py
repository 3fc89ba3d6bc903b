"""axe-core on every main page of the front office: no serious or critical violation, at 1280 px and at 390 px;
and what the screenshots showed broken, checked in the page (see ``_MISE_EN_PAGE``).

The pages: the home of each persona, the contract list and pages, the fiche list, page, forms (empty, with the live
parity error, refused after a POST) and execution form, the avenant page and a proposal form, the confirmation and
signing pages, the history and documents pages, the 403 and 404 pages, and the public pages (login, refused login,
password reset, document verification). Each page also carries the DSFR skip links, each pointing at an element of
the page.

axe is injected with ``page.evaluate`` (Chrome DevTools' ``Runtime.evaluate``), which the Content-Security-Policy
does not govern: these tests run with the real CSP (no ``bypass_csp``), and they fail on any CSP violation the
page itself reports (a blocked inline script or style would be a broken page for the agents too).

One data set per test (tests/fixtures_donnees.py through the ``agents`` fixture), every page of a persona walked
in that test; the report lists every page's violations at once.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.navigateur.accessibilite import rapport_axe, violations_axe

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

LARGEURS = {"ordinateur": 1280, "mobile": 390}
BROUILLON, SIGNE, RHONE = "CU-2024-D05", "CLS-2024-D05", "CLS-2025-D69"

#: (name, address, expected status) of the pages the DDETS editor of the Hautes-Alpes sees.
PAGES_EDITEUR = [
    ("accueil DDETS", "/", 200),
    ("liste des contrats", "/contrats/", 200),
    ("liste des contrats filtrée", "/contrats/?statut=signe&tri=-reference", 200),
    ("contrat en négociation", f"/contrats/{BROUILLON}/", 200),
    ("contrat signé", f"/contrats/{SIGNE}/", 200),
    ("historique du contrat", f"/contrats/{BROUILLON}/historique/", 200),
    ("liste des fiches", "/fiches/", 200),
    ("liste des fiches filtrée", "/fiches/?q=action&statut=proposee", 200),
    ("fiche", f"/contrats/{BROUILLON}/fiches/A1-01/", 200),
    ("historique de la fiche", f"/contrats/{BROUILLON}/fiches/A1-01/historique/", 200),
    ("nouvelle fiche", f"/contrats/{BROUILLON}/fiches/nouvelle/", 200),
    ("modifier une fiche", f"/contrats/{BROUILLON}/fiches/A1-01/modifier/", 200),
    ("fiche d'un contrat signé (figée)", f"/contrats/{SIGNE}/fiches/A1-01/modifier/", 200),
    ("saisie de l'exécution", f"/contrats/{SIGNE}/fiches/A1-01/execution/", 200),
    ("ouvrir un avenant", "/contrats/CDIE-2024-D05/avenants/nouveau/", 200),
    ("avenant", f"/contrats/{SIGNE}/avenants/1/", 200),
    ("proposer un montant prévu", f"/contrats/{SIGNE}/avenants/1/proposer/prevu/", 200),
    ("confirmation : contrat prêt pour signature", f"/contrats/{BROUILLON}/statut/pret/", 200),
    ("confirmation : valider une fiche", f"/contrats/{BROUILLON}/fiches/A1-01/statut/valider/", 200),
    ("confirmation : avenant à la signature", f"/contrats/{SIGNE}/avenants/1/statut/pret/", 200),
    ("documents du contrat", f"/contrats/{SIGNE}/documents/", 200),
    ("argent du contrat", f"/contrats/{SIGNE}/argent/", 200),
    ("nouveau versement", f"/contrats/{SIGNE}/versements/nouveau/", 200),
    ("reliquat", f"/contrats/{SIGNE}/reliquats/2024/", 200),
    ("import Excel", f"/contrats/{BROUILLON}/import/", 200),
    ("impressions", "/impressions/", 200),
    ("tableau de bord (le sien)", "/tableaux/", 200),
    ("tableau de bord d'un département", "/tableaux/departement/05/", 200),
    ("tableau de bord d'une collectivité", "/tableaux/collectivite/D05/", 200),
    ("changer de mot de passe", "/mot-de-passe/changer/", 200),
    ("page 404 (contrat hors périmètre)", f"/contrats/{RHONE}/", 404),
]

#: Other personas: (username attribute of ``agents``, name, address, expected status).
PAGES_AUTRES = [
    ("lecteur", "accueil d'un lecteur", "/", 200),
    ("lecteur", "page 403 (formulaire interdit)", f"/contrats/{BROUILLON}/fiches/A1-01/modifier/", 403),
    ("collectivite", "accueil de la collectivité", "/", 200),
    ("collectivite", "saisie de l'exécution (collectivité)", f"/contrats/{SIGNE}/fiches/A1-01/execution/", 200),
    ("collectivite", "rapports annuels", "/rapports/", 200),
    ("collectivite", "rapport annuel", f"/contrats/{SIGNE}/rapports/2024/", 200),
    ("collectivite", "rédiger le rapport annuel", f"/contrats/{SIGNE}/rapports/2024/modifier/", 200),
    ("collectivite", "transmettre le rapport", f"/contrats/{SIGNE}/rapports/2024/statut/transmettre/", 200),
    ("prefecture", "accueil de la préfecture", "/", 200),
    ("prefecture", "signature d'un contrat", f"/contrats/{BROUILLON}/statut/signer/", 200),
    ("prefecture", "signature d'un avenant", f"/contrats/{SIGNE}/avenants/1/statut/signer/", 200),
    ("region", "accueil de la DREETS", "/", 200),
    ("region", "tableau de bord d'une région", "/tableaux/region/93/", 200),
    ("nation", "accueil national", "/", 200),
    ("nation", "tableau de bord national", "/tableaux/", 200),
    ("partenaire", "accueil d'un partenaire", "/", 200),
    ("autre", "accueil d'un autre territoire", "/", 200),
]

PAGES_PUBLIQUES = [
    ("connexion", "/connexion/", 200),
    ("mot de passe oublié", "/mot-de-passe/oublie/", 200),
    ("vérification d'un document", "/verification/", 200),
]


def suivre_les_violations_csp(page: Page) -> list[str]:
    """Collects the Content-Security-Policy violations the page reports (console errors of Chromium)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None,
    )
    return violations


def liens_d_evitement_casses(page: Page) -> list[str]:
    """The skip links whose target is missing from the page (an empty list when they all lead somewhere)."""
    return page.evaluate(
        """() => {
             const liens = Array.from(document.querySelectorAll('.fr-skiplinks a[href^="#"]'));
             if (!liens.length) return ['aucun lien d\\'évitement'];
             return liens.filter(a => !document.getElementById(a.getAttribute('href').slice(1)))
                         .map(a => a.textContent.trim() + ' → ' + a.getAttribute('href'));
           }"""
    )


#: What the DSFR draws that axe does not check, read in the page as the agent sees it:
#: - reflow (WCAG 1.4.10): the page itself never scrolls sideways; a wide table scrolls inside its own container,
#:   but an absolutely positioned element inside it (a ``fr-sr-only`` span) whose containing block is outside that
#:   container escapes it and widens the whole page;
#: - a DSFR button whose label is cut off: in a ``fr-btns-group`` without ``fr-btns-group--icon-left``, a button
#:   with an icon shrinks to a 2.5 rem square and shows its icon alone (the visible label no longer matches its
#:   accessible name, WCAG 2.5.3); deliberate icon-only buttons carry a ``title`` (the DSFR's rule) and pass;
#: - an icon class the DSFR does not define (drawn as a filled square);
#: - a visible form field without the DSFR class (``fr-input``, ``fr-select``): no background, no border, nothing
#:   tells the agent it can type there.
_MISE_EN_PAGE = """() => {
  const largeur = document.documentElement.clientWidth;
  const problemes = [];
  const decrire = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
    + (e.className && typeof e.className === 'string' ? '.' + e.className.trim().split(/\\s+/).join('.') : '')
    + ' « ' + (e.innerText || e.value || '').replace(/\\s+/g, ' ').trim().slice(0, 50) + ' »';
  if (document.documentElement.scrollWidth > largeur + 1) {
    const fautifs = [];
    for (const e of document.querySelectorAll('body *')) {
      const r = e.getBoundingClientRect();
      if (r.width === 0 || r.right <= largeur + 1) continue;
      let a = e.parentElement, coupe = false;
      const hors_flux = ['absolute', 'fixed'].includes(getComputedStyle(e).position);
      while (!hors_flux && a && a !== document.body) {
        if (getComputedStyle(a).overflowX !== 'visible') { coupe = true; break; }
        a = a.parentElement;
      }
      if (!coupe) fautifs.push(decrire(e) + ' (bord droit à ' + Math.round(r.right) + ' px)');
    }
    problemes.push('la page défile horizontalement (' + document.documentElement.scrollWidth + ' px pour '
      + largeur + ' px) : ' + fautifs.slice(0, 4).join(' ; '));
  }
  for (const b of document.querySelectorAll('.fr-btn')) {
    if (b.offsetParent === null || b.hasAttribute('title')) continue;
    if (b.scrollWidth > b.clientWidth + 1 && getComputedStyle(b).overflow === 'hidden') {
      problemes.push('bouton au libellé masqué (icône seule) : ' + decrire(b));
    }
  }
  for (const e of document.querySelectorAll('[class*="fr-icon-"]')) {
    if (e.offsetParent === null) continue;
    const avant = getComputedStyle(e, '::before');
    const masque = avant.maskImage || avant.webkitMaskImage;
    if (!masque || masque === 'none') problemes.push('icône inconnue du DSFR : ' + decrire(e));
  }
  const champs = 'main input:not([type=hidden]):not([type=checkbox]):not([type=radio]):not([type=file])'
    + ':not([type=submit]):not([type=button]), main select, main textarea';
  const nus = Array.from(document.querySelectorAll(champs)).filter((c) => c.offsetParent !== null
    && !c.classList.contains(c.tagName === 'SELECT' ? 'fr-select' : 'fr-input'));
  if (nus.length) {
    problemes.push(nus.length + ' champ(s) sans la classe fr-input ou fr-select (sans fond ni bordure) : '
      + nus.slice(0, 6).map((c) => '#' + c.id).join(', ') + (nus.length > 6 ? '…' : ''));
  }
  return problemes;
}"""


class Releve:
    """What went wrong, page by page, reported at once at the end of a test."""

    def __init__(self, page: Page):
        self.page = page
        self.csp = suivre_les_violations_csp(page)
        self.problemes: list[str] = []

    def verifier(self, nom: str, largeur: str) -> None:
        page = self.page
        page.wait_for_load_state("load")
        page.evaluate("() => document.fonts.ready")
        violations = violations_axe(page)
        if violations:
            self.problemes.append(f"{nom} [{largeur}] {page.url}\n{rapport_axe(violations)}")
        for probleme in page.evaluate(_MISE_EN_PAGE):
            self.problemes.append(f"{nom} [{largeur}] : {probleme}")
        casses = liens_d_evitement_casses(page)
        if casses:
            self.problemes.append(f"{nom} [{largeur}] : liens d'évitement sans cible : {casses}")
        if self.csp:
            self.problemes.append(f"{nom} [{largeur}] : violations CSP : {self.csp}")
            self.csp.clear()

    def visiter(self, base: str, nom: str, url: str, statut: int) -> None:
        for largeur, px in LARGEURS.items():
            self.page.set_viewport_size({"width": px, "height": 900})
            reponse = self.page.goto(base + url)
            assert reponse.status == statut, f"{nom} : {url} répond {reponse.status}, attendu {statut}"
            self.verifier(nom, largeur)

    def conclure(self) -> None:
        assert not self.problemes, "Accessibilité :\n\n" + "\n\n".join(self.problemes)


def test_axe_pages_de_la_ddets(live_server, page: Page, connecter, agents):
    base = live_server.url
    connecter(agents.editeur)
    releve = Releve(page)
    for nom, url, statut in PAGES_EDITEUR:
        releve.visiter(base, nom, url, statut)

    # The import's preview: the contract's own export, uploaded back (every row unchanged, nothing written yet).
    export = page.request.get(f"{base}/fiches/export.xlsx?contrat={BROUILLON}")
    assert export.ok, export.status
    for largeur, px in LARGEURS.items():
        page.set_viewport_size({"width": px, "height": 900})
        page.goto(f"{base}/contrats/{BROUILLON}/import/")
        fichier = {"name": "fiches.xlsx", "mimeType": export.headers["content-type"], "buffer": export.body()}
        page.get_by_label(re.compile(r"^\s*Fichier à importer")).set_input_files(fichier)
        page.get_by_role("button", name="Déposer et voir l'aperçu").click()
        expect(page).to_have_url(re.compile(rf"/contrats/{BROUILLON}/import/[0-9a-f-]{{36}}/$"))
        releve.verifier("aperçu d'un import Excel", largeur)

    # The fiche form in its error states: the live parity error (htmx), then a refused POST.
    for largeur, px in LARGEURS.items():
        page.set_viewport_size({"width": px, "height": 900})
        page.goto(f"{base}/contrats/{BROUILLON}/fiches/nouvelle/")
        page.get_by_role("textbox", name="État, 2024", exact=True).fill("50 000")
        expect(page.locator("#controle-2024")).to_contain_text("dépasse")
        releve.verifier("nouvelle fiche, écart de parité pendant la saisie", largeur)
        page.get_by_role("textbox", name="État, 2025", exact=True).fill("douze")
        page.get_by_role("button", name="Enregistrer la fiche").click()
        expect(page.get_by_role("alert").filter(has_text="Rien n'a été enregistré")).to_be_visible()
        releve.verifier("nouvelle fiche refusée (champs obligatoires, montant illisible)", largeur)
    releve.conclure()


def test_axe_pages_des_autres_profils(live_server, browser, agents, connecter):
    base = live_server.url
    problemes = []
    for qui in dict.fromkeys(p[0] for p in PAGES_AUTRES):
        contexte = browser.new_context()
        page = contexte.new_page()
        connecter(getattr(agents, qui), page=page)
        releve = Releve(page)
        for _, nom, url, statut in (p for p in PAGES_AUTRES if p[0] == qui):
            releve.visiter(base, nom, url, statut)
        problemes += releve.problemes
        contexte.close()
    assert not problemes, "Accessibilité :\n\n" + "\n\n".join(problemes)


def test_axe_pages_publiques(live_server, page: Page, agents):
    base = live_server.url
    releve = Releve(page)
    for nom, url, statut in PAGES_PUBLIQUES:
        releve.visiter(base, nom, url, statut)
    # A refused login: the error summary and the fields in error.
    for largeur, px in LARGEURS.items():
        page.set_viewport_size({"width": px, "height": 900})
        page.goto(f"{base}/connexion/")
        page.get_by_label("Nom d’utilisateur").fill(agents.editeur)
        page.get_by_label("Mot de passe", exact=True).fill("pas le bon")
        page.get_by_role("button", name="Se connecter").click()
        expect(page.get_by_text(re.compile("Connexion impossible"))).to_be_visible()
        releve.verifier("connexion refusée", largeur)
    releve.conclure()
