"""Importing a territory's action table (xlsx or csv) into a contract, in two steps: preview, then confirm.

**Reading** (:func:`lire_fichier`): xlsx (formulas read as their values, merged cells filled, two-row headers under
a merged group joined) or csv (``;``, ``,`` or tabulations; UTF-8 or Windows-1252, as Excel writes them). The sheets
are recognized by their name or their columns (:func:`reconnaitre`): « Fiches » (one row per fiche), « Financements »
(one row per fiche and year, one column per funder), « Indicateurs » (one row per indicator and year) — the layout
of the exports and of the template (``financement.exports``) — or the flat form agents keep: one sheet (or a csv)
with one row per fiche and year, the fiche's columns repeated. Headers are recognized without regard to case,
accents or spacing, with their synonyms (``actions.resources``, ``financement.resources``); cells are read the way
agents type them (``pacte.resources``). Empty rows, totals and notice sheets are skipped.

**Planning** (:func:`planifier`): each fiche is found by its natural key (the contract's reference and its code),
each funding line by its fiche, year and funder, each indicator by its fiche and name; the plan says what is
created, what changes (each cell, before → after) and what is unchanged. It writes nothing. Rights and the freeze
are checked here, per cell, with the acting user's predicates: fiches, planned amounts and indicators' definitions
and targets need ``can_prepare`` (a collectivité's agent writes its own lines, ``can_edit_ligne``); on a signed
contract only execution cells (committed and spent amounts of existing lines, achieved values) may change, every
other change is refused with the reason.

**Writing** (:func:`appliquer`): through the services only — ``fiche_create``/``fiche_update``,
``ligne_financement_set``, ``indicateur_create``/``indicateur_save``/``indicateur_set_cible``/
``indicateur_set_realise`` — in one transaction, the dashboards' summary refreshed once at the end
(``synthese_differee``). One error, whether found by the plan or by a service, and nothing is written: every error
comes with its sheet, row and column. The preview runs the same writes and rolls them back
(:func:`apercu`), so that it shows the services' refusals too, and the parity and ceiling warnings the entry page
would show (not blocking, as there). Confirming plans again against the current data: if it changed since the
preview, nothing is written and the new preview is shown.

The package: ``lecture`` (reading, recognizing the sheets), ``plan`` (natural keys, cells compared, rights and
freeze), ``ecriture`` (the services, the trial run, the report), ``depot`` (storage and the two steps).

**Storage** (:class:`Depot`): the uploaded file and the state of its import (who, which contract, the report, the
progress of a background run) under ``MEDIA_ROOT/imports/<uid>/``; only its author may see or confirm it. Files
larger than ``PACTE_IMPORT_SEUIL_FOND`` bytes are analysed and imported by a background task
(``financement.tasks.traiter_import``), whose progress the page shows.
"""

from financement.importation.depot import (
    ANALYSE,
    APERCU,
    ECHEC,
    EN_COURS,
    IMPORT,
    IMPORTE,
    SEUIL_FOND,
    Depot,
    analyser,
    executer,
    lancer,
    nettoyer,
    seuil_fond,
    traiter,
)
from financement.importation.ecriture import apercu, appliquer, importer, rapport, texte_rapport
from financement.importation.lecture import (
    EXTENSIONS,
    TAILLE_MAX,
    Erreur,
    FeuilleLue,
    FichierIllisible,
    Position,
    lire_fichier,
    reconnaitre,
)
from financement.importation.plan import Plan, Referentiel, planifier

__all__ = [
    "ANALYSE",
    "APERCU",
    "ECHEC",
    "EN_COURS",
    "EXTENSIONS",
    "IMPORT",
    "IMPORTE",
    "SEUIL_FOND",
    "TAILLE_MAX",
    "Depot",
    "Erreur",
    "FeuilleLue",
    "FichierIllisible",
    "Plan",
    "Position",
    "Referentiel",
    "analyser",
    "apercu",
    "appliquer",
    "executer",
    "importer",
    "lancer",
    "lire_fichier",
    "nettoyer",
    "planifier",
    "rapport",
    "reconnaitre",
    "seuil_fond",
    "texte_rapport",
    "traiter",
]
