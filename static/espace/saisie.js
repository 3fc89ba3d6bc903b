/*
 * Fiche entry (templates/espace/saisie/): after each live check of the funding grid (htmx, espace:controle),
 * the cells of a year whose check found something are marked in error, as the server marks them when it
 * renders the page. A cell with its own error (an amount that does not read) keeps it.
 */
(function () {
  "use strict";

  function marquer() {
    document.querySelectorAll("[data-controle-annee]").forEach(function (boite) {
      var annee = boite.getAttribute("data-controle-annee");
      var enErreur = boite.querySelector(".fr-message--error") !== null;
      document.querySelectorAll('.saisie-cellule[data-annee="' + annee + '"]').forEach(function (groupe) {
        if (groupe.hasAttribute("data-erreur-propre")) {
          return;
        }
        groupe.classList.toggle("fr-input-group--error", enErreur);
        var input = groupe.querySelector("input.fr-input");
        if (input) {
          input.classList.toggle("fr-input--error", enErreur);
        }
      });
    });
  }

  document.addEventListener("htmx:afterSettle", marquer);
})();
