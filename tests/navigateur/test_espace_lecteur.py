"""Journey 5 of the front office: a reader sees no edit button and gets 403 on a forced POST.

The DDETS editor of the Hautes-Alpes first opens the same pages and finds the buttons (so that their absence for
the reader means something); then a reader of the same DDETS walks the contract, the fiche and the avenant without
a single way to change them, forges the POSTs a page would have sent (with a valid CSRF token, from its own
session) and is refused with the 403 page, nothing written.
"""

import pytest
from playwright.sync_api import Page, expect

from actions.models import FicheAction
from contrats.enums import StatutContrat
from contrats.models import Avenant, Contrat

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

BROUILLON, SIGNE = "CU-2024-D05", "CLS-2024-D05"

#: Page → the pages that change something, linked from it for the editor (the home's "Compléter" leads to the
#: fiche's form).
CHANGER = {
    "/": [f"/contrats/{BROUILLON}/fiches/A1-01/modifier/"],
    f"/contrats/{BROUILLON}/": [
        f"/contrats/{BROUILLON}/statut/pret/",
        f"/contrats/{BROUILLON}/fiches/nouvelle/",
    ],
    f"/contrats/{BROUILLON}/fiches/A1-01/": [f"/contrats/{BROUILLON}/fiches/A1-01/modifier/"],
    f"/contrats/{SIGNE}/avenants/1/": [
        f"/contrats/{SIGNE}/avenants/1/statut/pret/",
        f"/contrats/{SIGNE}/avenants/1/proposer/prevu/",
    ],
}


def liens_et_formulaires(page: Page) -> set[str]:
    """The addresses the page's main content lets one go to or post to (links, form actions, formaction)."""
    return set(
        page.evaluate(
            """() => Array.from(document.querySelectorAll('main a[href], main form[action], main [formaction]'))
                 .map(e => new URL(e.getAttribute('href') || e.getAttribute('action') || e.getAttribute('formaction'),
                                   location.href).pathname)"""
        )
    )


def boutons_d_ecriture(page: Page) -> list[str]:
    """The submit buttons of the main content's POST forms (the reader should have none)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('main form'))
             .filter(f => f.method.toLowerCase() === 'post')
             .flatMap(f => Array.from(f.querySelectorAll('button, input[type=submit]')))
             .map(b => (b.innerText || b.value).trim())"""
    )


def poster_de_force(page: Page, url: str, donnees: dict[str, str]) -> None:
    """Sends a POST from the page as a form the user built by hand would (the CSRF token of the session, read
    from the logout form that every signed-in page holds), and waits for the answer's page."""
    with page.expect_navigation():
        page.evaluate(
            """([url, donnees]) => {
                 const form = document.createElement('form');
                 form.method = 'post';
                 form.action = url;
                 const jeton = document.querySelector('input[name=csrfmiddlewaretoken]').value;
                 for (const [nom, valeur] of Object.entries({...donnees, csrfmiddlewaretoken: jeton})) {
                   const champ = document.createElement('input');
                   champ.type = 'hidden';
                   champ.name = nom;
                   champ.value = valeur;
                   form.appendChild(champ);
                 }
                 document.body.appendChild(form);
                 form.submit();
               }""",
            [url, donnees],
        )


def test_lecteur_sans_bouton_et_post_force_refuse(live_server, page: Page, browser, connecter, agents):
    base = live_server.url

    # The editor of the same DDETS: every page holds the ways to change it.
    editeur = browser.new_page()
    connecter(agents.editeur, page=editeur)
    for url, cibles in CHANGER.items():
        editeur.goto(base + url)
        expect(editeur.get_by_role("heading", level=1)).to_be_visible()
        assert set(cibles) <= liens_et_formulaires(editeur), f"L'éditeur devrait avoir ces actions sur {url}"
    editeur.close()

    # The reader: the same pages, reached by their links, read only.
    def lecture_seule(url: str) -> None:
        expect(page).to_have_url(base + url)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        visibles = liens_et_formulaires(page)
        interdites = set(CHANGER[url]) & visibles
        assert not interdites, f"Le lecteur voit une action sur {url} : {interdites}"
        ecrire = [u for u in visibles if any(m in u for m in ("/statut/", "/proposer/", "/modifier/", "/nouvelle/"))]
        assert not ecrire, f"Le lecteur a des liens d'écriture sur {url} : {ecrire}"
        assert boutons_d_ecriture(page) == [], f"Le lecteur a un bouton d'enregistrement sur {url}"

    connecter(agents.lecteur)
    lecture_seule("/")
    page.get_by_role("navigation", name="Menu principal").get_by_role("link", name="Contrats", exact=True).click()
    page.get_by_role("link", name=BROUILLON, exact=True).click()
    lecture_seule(f"/contrats/{BROUILLON}/")
    page.get_by_role("link", name="A1-01", exact=True).click()
    lecture_seule(f"/contrats/{BROUILLON}/fiches/A1-01/")
    page.goto(f"{base}/contrats/{SIGNE}/")
    page.get_by_role("link", name="Avenant n° 1").click()
    lecture_seule(f"/contrats/{SIGNE}/avenants/1/")

    # Typing the address of a form: 403, the DSFR page.
    reponse = page.goto(f"{base}/contrats/{BROUILLON}/fiches/A1-01/modifier/")
    assert reponse.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")

    # Forged POSTs from the reader's own session: 403 each time, nothing written.
    fiche = FicheAction.objects.get(contrat__reference=BROUILLON, code="A1-01")
    avenant = Avenant.objects.get(contrat__reference=SIGNE, numero=1)
    forces = [
        (f"/contrats/{BROUILLON}/fiches/A1-01/modifier/", {"intitule": "Forcé", "pacte_version": str(fiche.version)}),
        (f"/contrats/{BROUILLON}/statut/pret/", {}),
        (f"/contrats/{BROUILLON}/fiches/A1-01/statut/valider/", {}),
        (f"/contrats/{SIGNE}/avenants/1/statut/pret/", {}),
    ]
    for url, donnees in forces:
        page.goto(base + "/")
        with page.expect_response(lambda r, url=url: r.url == base + url) as attendu:
            poster_de_force(page, url, donnees)
        assert attendu.value.status == 403, f"POST forcé sur {url} : {attendu.value.status}"
        expect(page.get_by_role("heading", level=1)).to_have_text("Accès refusé")

    fiche_apres = FicheAction.objects.get(pk=fiche.pk)
    assert (fiche_apres.intitule, fiche_apres.statut) == (fiche.intitule, fiche.statut)
    assert fiche_apres.version == fiche.version
    assert Contrat.objects.get(reference=BROUILLON).statut == StatutContrat.EN_NEGOCIATION
    assert Avenant.objects.get(pk=avenant.pk).statut == avenant.statut
