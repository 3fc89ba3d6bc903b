"""The front office's addresses: natural keys only (contract reference, fiche code, avenant number).

``/contrats/CLS-2024-D05/fiches/A1-03/`` — never an integer id. The names are those the templates
and tests use (``espace:fiche``); tests/espace/test_matrice.py walks every one of them.
"""

from django.urls import path

from espace.views import (
    accueil,
    argent,
    avenants,
    contrats,
    documents,
    excel,
    fiches,
    historique,
    rapports,
    saisie,
    tableaux,
)

app_name = "espace"

CONTRAT = "contrats/<str:reference>/"
FICHE = CONTRAT + "fiches/<str:code>/"
AVENANT = CONTRAT + "avenants/<int:numero>/"

urlpatterns = [
    path("", accueil.accueil, name="accueil"),
    # Contracts
    path("contrats/", contrats.liste, name="contrats"),
    path(CONTRAT, contrats.detail, name="contrat"),
    path(CONTRAT + "historique/", historique.contrat, name="contrat_historique"),
    path(CONTRAT + "statut/<str:action>/", contrats.statut, name="contrat_statut"),
    # Fiches actions
    path("fiches/", fiches.liste, name="fiches"),
    path(CONTRAT + "fiches/nouvelle/", saisie.fiche_creer, name="fiche_creer"),
    path(CONTRAT + "controle/", saisie.controle, name="controle"),
    path(FICHE, fiches.detail, name="fiche"),
    path(FICHE + "modifier/", saisie.fiche_modifier, name="fiche_modifier"),
    path(FICHE + "execution/", saisie.fiche_execution, name="fiche_execution"),
    path(FICHE + "historique/", historique.fiche, name="fiche_historique"),
    path(FICHE + "statut/<str:action>/", fiches.statut, name="fiche_statut"),
    # Avenants
    path(CONTRAT + "avenants/nouveau/", avenants.creer, name="avenant_creer"),
    path(AVENANT, avenants.detail, name="avenant"),
    path(AVENANT + "proposer/<str:nature>/", avenants.proposer, name="avenant_proposer"),
    path(AVENANT + "modifications/<uuid:uid>/retirer/", avenants.retirer, name="avenant_retirer"),
    path(AVENANT + "statut/<str:action>/", avenants.statut, name="avenant_statut"),
    # Excel in and out: the lists' exports (their filters, the perimeter), the import template, a contract's import
    path("fiches/export.<str:format>", excel.fiches_export, name="fiches_export"),
    path("contrats/export.<str:format>", excel.contrats_export, name="contrats_export"),
    path(CONTRAT + "versements/export.<str:format>", excel.versements_export, name="versements_export"),
    path("indicateurs/export.<str:format>", excel.indicateurs_export, name="indicateurs_export"),
    path("import/modele.xlsx", excel.import_modele, name="import_modele"),
    path(CONTRAT + "import/", excel.importer, name="import"),
    path(CONTRAT + "import/<uuid:uid>/", excel.apercu, name="import_apercu"),
    # A contract's money: ceilings and their use, cofinancing, reliquats, payments and their statuses
    path(CONTRAT + "argent/", argent.argent, name="argent"),
    path(CONTRAT + "versements/nouveau/", argent.versement_creer, name="versement_creer"),
    path(CONTRAT + "versements/<uuid:uid>/", argent.versement, name="versement"),
    path(CONTRAT + "versements/<uuid:uid>/statut/<str:action>/", argent.versement_statut, name="versement_statut"),
    path(CONTRAT + "reliquats/<int:annee>/", argent.reliquat, name="reliquat"),
    # Consolidated dashboards (the user's own territory, or one within its perimeter) and their tables' exports
    path("tableaux/", tableaux.tableau, name="tableau"),
    path("tableaux/region/<str:code>/", tableaux.tableau_region, name="tableau_region"),
    path("tableaux/departement/<str:code>/", tableaux.tableau_departement, name="tableau_departement"),
    path("tableaux/collectivite/<str:code>/", tableaux.tableau_collectivite, name="tableau_collectivite"),
    path("tableaux/export.<str:format>", tableaux.tableau_export, name="tableau_export"),
    # Annual execution reports
    path("rapports/", rapports.liste, name="rapports"),
    path(CONTRAT + "rapports/<int:annee>/", rapports.detail, name="rapport"),
    path(CONTRAT + "rapports/<int:annee>/modifier/", rapports.modifier, name="rapport_modifier"),
    path(CONTRAT + "rapports/<int:annee>/statut/<str:action>/", rapports.statut, name="rapport_statut"),
    # Documents (PDF): generated in the background, frozen once signed
    path(CONTRAT + "convention.pdf", documents.convention, name="convention_pdf"),
    path(FICHE + "fiche.pdf", documents.fiche, name="fiche_pdf"),
    path(AVENANT + "avenant.pdf", documents.avenant, name="avenant_pdf"),
    path(CONTRAT + "rapports/<int:annee>/rapport.pdf", documents.rapport, name="rapport_pdf"),
    path(CONTRAT + "documents/", documents.documents, name="documents"),
    path("impressions/", documents.impressions, name="impressions"),
    path("impressions/<uuid:uid>/", documents.impression, name="impression"),
    path("verification/", documents.verification, name="verification"),
]
