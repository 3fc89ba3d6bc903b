"""Accessibility helpers of the front office's browser tests: axe-core, keyboard navigation, visible focus.

- :func:`verifier_axe` runs axe-core (bundled by axe-playwright-python) on the page and fails on every
  *serious* or *critical* violation, with a readable report (rule, help, elements);
- :func:`tabuler_jusqua` reaches an element with the Tab key only, checking at each step that the focused
  element shows its focus (``:focus-visible`` and a drawn outline);
- :func:`se_connecter_au_clavier` logs in with the keyboard alone.

axe is injected with ``page.evaluate`` (Chrome DevTools' ``Runtime.evaluate``), which the page's
Content-Security-Policy does not govern: the axe tests run with the real CSP, no ``bypass_csp``.
"""

from __future__ import annotations

import re
from datetime import date

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Locator, Page, expect

#: The impacts that fail a page (axe's scale: minor, moderate, serious, critical).
IMPACTS_BLOQUANTS = frozenset({"serious", "critical"})

_AXE = Axe()


def violations_axe(page: Page) -> list[dict]:
    """axe-core's serious and critical violations on the page as it is now (WCAG 2.x A and AA rules and best
    practices, axe's default set)."""
    resultat = _AXE.run(page)
    return [v for v in resultat.response["violations"] if v["impact"] in IMPACTS_BLOQUANTS]


def rapport_axe(violations: list[dict]) -> str:
    lignes = []
    for v in violations:
        lignes.append(f"  - {v['id']} ({v['impact']}) : {v['help']} [{len(v['nodes'])} élément(s)]")
        for node in v["nodes"][:5]:
            cible = " ".join(str(t) for t in node["target"])
            lignes.append(f"      {cible}\n        {node['html'][:200]}")
            for check in node.get("any", []) + node.get("all", []) + node.get("none", []):
                lignes.append(f"        · {check['message']}")
    return "\n".join(lignes)


def verifier_axe(page: Page, nom: str) -> None:
    """Fails when axe-core finds a serious or critical violation on the page (``nom`` names it in the report)."""
    violations = violations_axe(page)
    assert not violations, f"{nom} ({page.url}) : violations axe graves ou critiques\n{rapport_axe(violations)}"


# --- Keyboard --------------------------------------------------------------------------------------------------

_FOCUS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  // The DSFR draws the focus ring as an outline: on the element itself, on its ::before for a link that
  // covers a card or a brand block (fr-enlarge-link), on its label's ::before for a checkbox or a radio.
  const trace = (s) => !!s && s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0;
  const styles = [getComputedStyle(el), getComputedStyle(el, '::before')];
  if ((el.type === 'checkbox' || el.type === 'radio') && el.labels) {
    for (const label of el.labels) styles.push(getComputedStyle(label, '::before'));
  }
  const label = el.labels && el.labels.length ? el.labels[0].innerText : '';
  // Chromium's date field: Tab also stops on its calendar button, inside the field's closed shadow tree; the
  // field then no longer matches :focus-visible and the browser draws its own ring around that button.
  const bouton_de_calendrier = ['date', 'datetime-local', 'month', 'week', 'time'].includes(el.type)
    && !el.matches(':focus-visible');
  return {
    natif: bouton_de_calendrier,
    tag: el.tagName.toLowerCase(),
    nom: (el.getAttribute('aria-label') || label || el.innerText || el.value || el.title || '')
      .replace(/\\s+/g, ' ').trim().slice(0, 80),
    focusVisible: el.matches(':focus-visible'),
    outline: styles.some(trace),
  };
}"""


def element_actif(page: Page) -> dict | None:
    """What has the focus: tag, accessible name (approximately), whether its focus is drawn."""
    return page.evaluate(_FOCUS)


def verifier_focus_visible(page: Page) -> dict:
    """The focused element matches ``:focus-visible`` and draws it (an outline, as the DSFR does)."""
    actif = element_actif(page)
    assert actif is not None, "Aucun élément n'a le focus."
    if actif["natif"]:
        return actif  # the calendar button of a date field: the browser draws its focus ring itself
    assert actif["focusVisible"], f"Le focus n'est pas « visible » au sens de :focus-visible : {actif}"
    assert actif["outline"], f"L'élément qui a le focus ne le montre pas : {actif}"
    return actif


def tabuler_jusqua(page: Page, cible: Locator, *, max_tabs: int = 250, arriere: bool = False) -> int:
    """Presses Tab (Shift+Tab when ``arriere``) until ``cible`` has the focus, checking the focus is visible at
    every step; returns the number of key presses. Fails when ``cible`` is not reached in ``max_tabs`` presses
    (not reachable with the keyboard, or behind a focus trap)."""
    touche = "Shift+Tab" if arriere else "Tab"
    parcours = []
    if cible.evaluate("el => el === document.activeElement"):  # already there (a field with autofocus)
        return 0
    for n in range(1, max_tabs + 1):
        page.keyboard.press(touche)
        try:
            actif = verifier_focus_visible(page)
        except AssertionError as erreur:
            raise AssertionError(f"{erreur} (après {', '.join(parcours[-5:]) or 'le début de la page'})") from None
        parcours.append(f"{actif['tag']} « {actif['nom']} »")
        if cible.evaluate("el => el === document.activeElement"):
            return n
    raise AssertionError(
        f"{cible} n'est pas atteint au clavier en {max_tabs} appuis sur {touche}. Derniers éléments : "
        + ", ".join(parcours[-12:])
    )


def taper_dans(page: Page, cible: Locator, texte: str, *, effacer: bool = False) -> None:
    """Reaches a field with Tab and types ``texte`` into it (``effacer``: selects its content first)."""
    tabuler_jusqua(page, cible)
    if effacer:
        page.keyboard.press("Control+a")
    page.keyboard.type(texte)


def ordre_des_dates(page: Page) -> str:
    """The order in which this browser's date fields take the day (``j``), month (``m``) and year (``a``) from the
    keyboard: "jma" in French, "mja" when headless Chromium keeps its American interface whatever the page's
    locale. Found by typing into a throwaway field, in an empty page of the same browser (a context of its own: the
    context of ``browser.new_page()`` takes no second page)."""
    contexte = page.context.browser.new_context(locale="fr-FR")
    try:
        sonde = contexte.new_page()
        sonde.set_content('<input type="date" id="d">')
        sonde.focus("#d")  # the probe only: the journeys reach their fields with Tab
        sonde.keyboard.type("02012030")
        valeur = sonde.input_value("#d")
    finally:
        contexte.close()
    ordres = {"2030-01-02": "jma", "2030-02-01": "mja"}
    assert valeur in ordres, f"Ordre des champs de date inconnu : « 02012030 » donne {valeur!r}"
    return ordres[valeur]


def taper_date(page: Page, cible: Locator, jour: date) -> None:
    """Reaches a date field with Tab and types the date digit by digit, in the order the field takes them."""
    ordre = ordre_des_dates(page)
    parties = {"j": f"{jour.day:02d}", "m": f"{jour.month:02d}", "a": f"{jour.year:04d}"}
    tabuler_jusqua(page, cible)
    page.keyboard.type("".join(parties[p] for p in ordre))
    expect(cible).to_have_value(jour.isoformat())


def activer(page: Page, cible: Locator) -> None:
    """Reaches a link or a button with Tab and presses Enter."""
    tabuler_jusqua(page, cible)
    page.keyboard.press("Enter")


def se_connecter_au_clavier(page: Page, base_url: str, username: str, mot_de_passe: str) -> None:
    """Opens the login page (typing its address) and logs in without the mouse."""
    page.goto(f"{base_url}/connexion/")
    taper_dans(page, page.get_by_label("Nom d’utilisateur"), username)
    taper_dans(page, page.get_by_label("Mot de passe", exact=True), mot_de_passe)
    page.keyboard.press("Enter")  # submits the form from its last field, as a user does
    expect(page).to_have_url(re.compile(re.escape(base_url) + r"/$"))


def verifier_lien_d_evitement(page: Page, url: str, libelle: str, cible_id: str) -> None:
    """Opens ``url``; the DSFR skip link ``libelle`` is among the first stops of the Tab key, is visible once
    focused, and Enter moves the reading (and tabbing) position to ``#cible_id``: the next Tab lands inside it."""
    page.goto(url)
    lien = page.get_by_role("navigation", name="Accès rapide").get_by_role("link", name=libelle, exact=True)
    tabuler_jusqua(page, lien, max_tabs=3)
    expect(lien).to_be_visible()
    expect(lien).to_be_in_viewport()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"#{cible_id}$"))
    page.keyboard.press("Tab")
    dans_la_cible = page.evaluate(
        "(id) => { const c = document.getElementById(id); return !!c && c.contains(document.activeElement); }",
        cible_id,
    )
    assert dans_la_cible, f"Après « {libelle} », Tab mène hors de #{cible_id} : {element_actif(page)}"
