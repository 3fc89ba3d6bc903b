/*
 * Wide tables (templates/base.html, every page): a table wider than the screen scrolls inside its own box.
 * A keyboard user must reach that box to scroll it (WCAG 2.1.1): once the page is laid out, and again when
 * the window changes size or the fonts arrive, each box that overflows gets tabindex="0" and, when it is not the table itself,
 * the role "region" named by the table's caption. A box that fits again loses what it was given here.
 * Both DSFR markups: .fr-table__container (DSFR 1.12 and later) and a table right inside .fr-table.
 */
(function () {
  "use strict";

  function legende(boite) {
    var caption = boite.querySelector("caption");
    var texte = caption ? caption.textContent.replace(/\s+/g, " ").trim() : "";
    return texte || "Tableau";
  }

  function marquer() {
    document.querySelectorAll(".fr-table__container, .fr-table > table").forEach(function (boite) {
      var deborde = boite.scrollWidth > boite.clientWidth;
      var marquee = boite.hasAttribute("data-defilant");
      if (deborde && !marquee && !boite.hasAttribute("tabindex")) {
        boite.setAttribute("tabindex", "0");
        boite.setAttribute("data-defilant", "");
        if (boite.tagName !== "TABLE") {
          boite.setAttribute("role", "region");
          boite.setAttribute("aria-label", legende(boite) + " (défilement horizontal)");
        }
      } else if (!deborde && marquee) {
        ["tabindex", "data-defilant", "role", "aria-label"].forEach(function (nom) {
          boite.removeAttribute(nom);
        });
      }
    });
  }

  var attente = null;
  function plusTard() {
    window.clearTimeout(attente);
    attente = window.setTimeout(marquer, 150);
  }

  window.addEventListener("load", function () {
    marquer();
    // The Marianne font may arrive after the load event and widen the tables.
    if (document.fonts && document.fonts.ready) {
      document.fonts.ready.then(marquer);
    }
  });
  window.addEventListener("resize", plusTard);
  document.addEventListener("htmx:afterSettle", plusTard);
})();
