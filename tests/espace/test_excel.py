"""Excel in and out in the front office (espace/views/excel.py) and the reference data in the back-office.

- exports of the lists: the list's filters (same query string), the perimeter (another territory's rows never in the
  file, a partner's own actions only), xlsx with numbers and csv the French way; a partner gets no contract money;
- the import's pages: who may upload (editor 200, reader 403, another territory 404, the collectivité's agent 200
  with its own rights), the preview (rows to create, cells changed before → after, errors with their position), the
  confirmation all or nothing, an import seen and confirmed by its author only (anyone else: 404), bad uploads in
  French, a background run with its progress;
- query budgets: the same maximum with 3 and with 30 fiches;
- django-import-export in the back-office: reference data exported and imported through the services, by whoever
  may edit it.
"""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from django.urls import reverse
from lxml import html as lxml_html

from actions.models import FicheAction
from actions.resources import COLONNES_FICHE, COLONNES_INDICATEUR
from contrats.enums import StatutContrat
from financement.enums import TypeFinanceur
from financement.exports import export_fiches
from financement.importation import ANALYSE, Depot
from financement.resources import COLONNES_FINANCEMENT
from pacte.models import Axe, Objectif
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VersementFactory,
    axe,
    collectivite,
    departement,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE
README = Path(__file__).resolve().parents[2] / "README.md"


def _fiches(contrat, n: int, porteur, premier_axe: int = 1):
    for i in range(n):
        numero = (premier_axe, 3)[i % 2]
        fiche = FicheActionFactory(
            contrat=contrat, code=f"A{numero}-{i + 1:02d}", axe=axe(numero), porteur=porteur, intitule=f"Action {i}"
        )
        LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=ETAT, prevu=D("10000.50"))
        LigneFinancementFactory(fiche=fiche, annee=2024, type_financeur=COLL, prevu=D("12000"))
        ValeurIndicateurFactory(indicateur=IndicateurFactory(fiche=fiche), annee=2024, cible=D("10"))


@pytest.fixture
def monde(editeur, contrat_05):
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))
    autre_porteur = OrganisationFactory(nom="Association Tremplin", departement=departement("05"))
    cd05 = OrganisationFactory(de_collectivite=True, collectivite=collectivite("D05"))
    _fiches(contrat_05, 3, caf)
    FicheActionFactory(contrat=contrat_05, code="A4-01", axe=axe(4), porteur=autre_porteur, intitule="Autre porteur")
    PlafondFactory(contrat=contrat_05, annee=2024, montant=D("100000"))
    rhone = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2025-D69")
    _fiches(rhone, 2, OrganisationFactory(nom="CAF du Rhône", departement=departement("69")))
    return {
        "contrat": contrat_05,
        "rhone": rhone,
        "caf": caf,
        "partenaire": UserFactory(username="caf05", organisation=caf),
        "agent_cd": UserFactory(username="cd05", organisation=cd05),
    }


def classeur(reponse) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(reponse.content))


def lignes_csv(reponse) -> list[list[str]]:
    return list(csv.reader(io.StringIO(reponse.content.decode("utf-8-sig")), delimiter=";"))


def page(reponse):
    contenu = reponse.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in contenu
    return lxml_html.fromstring(contenu)


def texte(element) -> str:
    return " ".join(element.text_content().split())


# --- Exports ------------------------------------------------------------------------------------------------------


def test_the_fiches_export_follows_the_lists_filters_and_the_perimeter(client, monde, editeur):
    client.force_login(editeur)
    reponse = client.get(reverse("espace:fiches_export", kwargs={"format": "xlsx"}) + "?axe=1")
    assert reponse.status_code == 200
    assert reponse["Content-Type"].startswith("application/vnd.openxmlformats")
    assert re.match(r'attachment; filename="fiches-actions-\d{4}-\d{2}-\d{2}\.xlsx"', reponse["Content-Disposition"])
    wb = classeur(reponse)
    codes = [row[1] for row in wb["Fiches"].iter_rows(min_row=2, values_only=True)]
    assert codes == ["A1-01", "A1-03"]  # axe 1 only; never the Rhône's
    montants = list(wb["Financements"].iter_rows(min_row=2, max_row=2, values_only=True))[0]
    assert montants[:6] == ("CLS-2024-D05", "A1-01", "Action 0", 2024, 10000.5, 12000)
    tout = classeur(client.get(reverse("espace:fiches_export", kwargs={"format": "xlsx"})))
    assert {row[0] for row in tout["Fiches"].iter_rows(min_row=2, values_only=True)} == {"CLS-2024-D05"}


def test_the_csv_export_is_the_flat_form_as_excel_writes_it_in_french(client, monde, editeur):
    client.force_login(editeur)
    reponse = client.get(reverse("espace:fiches_export", kwargs={"format": "csv"}) + "?contrat=CLS-2024-D05")
    assert reponse["Content-Type"] == "text/csv; charset=utf-8"
    assert reponse.content.startswith("\ufeff".encode())
    entete, premiere, *_ = lignes_csv(reponse)
    assert entete[:3] == ["Contrat", "Code", "Intitulé"]
    assert entete[entete.index("Année") + 1 : entete.index("Année") + 3] == ["État", "Collectivité"]
    assert premiere[entete.index("État")] == "10000,50"
    assert premiere[entete.index("Début")] == "01/01/2024"


def test_a_partner_exports_the_actions_it_carries_and_not_the_contracts_payments(client, monde):
    client.force_login(monde["partenaire"])
    wb = classeur(client.get(reverse("espace:fiches_export", kwargs={"format": "xlsx"})))
    assert [row[1] for row in wb["Fiches"].iter_rows(min_row=2, values_only=True)] == ["A1-01", "A1-03", "A3-02"]
    url = reverse("espace:versements_export", kwargs={"reference": "CLS-2024-D05", "format": "xlsx"})
    assert client.get(url).status_code == 403


def test_the_contracts_export_follows_the_lists_filters(client, monde, editeur):
    ContratFactory(collectivite=collectivite("D05"), reference="CLS-2023-D05", statut=StatutContrat.BROUILLON)
    client.force_login(editeur)
    url = reverse("espace:contrats_export", kwargs={"format": "xlsx"})
    wb = classeur(client.get(url + "?statut=en_negociation"))
    ws = wb["Contrats"]
    assert [c.value for c in ws[1]][:3] == ["Référence", "Titre", "Type"]
    assert [row[0] for row in ws.iter_rows(min_row=2, values_only=True)] == ["CLS-2024-D05"]
    fiches, etat = list(ws.iter_rows(min_row=2, values_only=True))[0][-2:]
    assert (fiches, etat) == (4, 30001.5)
    assert ws.freeze_panes == "A2"
    invalide = classeur(client.get(url + "?statut=inconnu"))
    assert invalide["Contrats"].max_row == 1  # an invalid facet shows no contract, as the list does


def test_the_payments_export_of_a_contract(client, monde, editeur, autre_territoire):
    signe = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2022-D05", signe=True)
    VersementFactory(contrat=signe, montant=D("20000"), statut="verse")
    url = reverse("espace:versements_export", kwargs={"reference": "CLS-2022-D05", "format": "csv"})
    client.force_login(editeur)
    entete, ligne = lignes_csv(client.get(url))
    assert entete[:5] == ["Contrat", "Exercice", "Nature", "Statut", "Montant"]
    assert ligne[:5] == ["CLS-2022-D05", "2024", "Versement unique", "Versé", "20000,00"]
    client.force_login(autre_territoire)
    assert client.get(url).status_code == 404


def test_the_indicators_export(client, monde, editeur):
    client.force_login(editeur)
    ws = classeur(client.get(reverse("espace:indicateurs_export", kwargs={"format": "xlsx"})))["Indicateurs"]
    assert [c.value for c in ws[1]] == [c.entete for c in COLONNES_INDICATEUR]
    assert list(ws.iter_rows(min_row=2, max_row=2, values_only=True))[0] == (
        "CLS-2024-D05",
        "A1-01",
        "Personnes accompagnées",
        "Réalisation",
        "personnes",
        None,
        None,
        2024,
        10,
        None,
    )


def test_an_unknown_format_is_not_found(client, monde, editeur):
    client.force_login(editeur)
    assert client.get(reverse("espace:fiches_export", kwargs={"format": "pdf"})).status_code == 404


def test_the_import_template_is_downloaded(client, monde, editeur):
    client.force_login(editeur)
    reponse = client.get(reverse("espace:import_modele"))
    assert reponse["Content-Disposition"] == 'attachment; filename="modele-import-fiches-actions.xlsx"'
    wb = classeur(reponse)
    assert wb.sheetnames == ["Fiches", "Financements", "Indicateurs", "Notice", "Référentiels"]
    referentiels = [row[0] for row in wb["Référentiels"].iter_rows(min_row=2, values_only=True) if row[0]]
    assert referentiels == list(Axe.objects.order_by("numero").values_list("numero", flat=True))
    assert wb["Référentiels"]["D2"].value == Objectif.objects.filter(active=True).order_by("code").first().code


# --- The import's pages -------------------------------------------------------------------------------------------


def _url_import(reference="CLS-2024-D05"):
    return reverse("espace:import", kwargs={"reference": reference})


def _modifie(contrat, **cellules) -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(export_fiches(FicheAction.objects.filter(contrat=contrat), "xlsx")))
    for ref, valeur in cellules.items():
        feuille, cellule = ref.split("_")
        wb[feuille][cellule] = valeur
    sortie = io.BytesIO()
    wb.save(sortie)
    return sortie.getvalue()


def _deposer(client, contenu: bytes, nom="fiches.xlsx", reference="CLS-2024-D05"):
    fichier = io.BytesIO(contenu)
    fichier.name = nom
    return client.post(_url_import(reference), {"fichier": fichier})


def test_the_import_page_for_each_persona(client, monde, editeur, lecteur, autre_territoire):
    client.force_login(editeur)
    doc = page(client.get(_url_import()))
    assert texte(doc.xpath("//h1")[0]) == "Importer des fiches dans CLS-2024-D05"
    assert doc.xpath("//input[@type='file' and @name='fichier']")
    assert doc.xpath(f"//a[@href='{reverse('espace:import_modele')}']")
    client.force_login(monde["agent_cd"])
    doc = page(client.get(_url_import()))
    assert "Saisie de la collectivité" in texte(doc)
    client.force_login(lecteur)
    assert client.get(_url_import()).status_code == 403
    assert _deposer(client, b"Code;Intitule\nA1-01;x\n", "x.csv").status_code == 403
    client.force_login(monde["partenaire"])
    assert client.get(_url_import()).status_code == 403
    client.force_login(autre_territoire)
    assert client.get(_url_import()).status_code == 404


def test_upload_preview_then_confirm(client, monde, editeur):
    contrat = monde["contrat"]
    client.force_login(editeur)
    reponse = _deposer(client, _modifie(contrat, Fiches_C2="Intitulé revu", Financements_E2="11 000"))
    assert reponse.status_code == 302
    apercu = reponse["Location"]
    doc = page(client.get(apercu))
    assert texte(doc.xpath("//h1")[0]) == "Import de « fiches.xlsx » dans CLS-2024-D05"
    [table] = doc.xpath("//table[caption='Fiches : cellules modifiées']")
    assert [texte(td) for td in table.xpath(".//tbody/tr[1]/td")] == [
        "Fiches, ligne 2, colonne C",
        "A1-01",
        "Intitulé",
        "Action 0",
        "Intitulé revu",
    ]
    [table] = doc.xpath("//table[caption='Financements : cellules modifiées']")
    assert [texte(td) for td in table.xpath(".//tbody/tr[1]/td")][2:] == ["État prévu", "10 000,50", "11 000,00"]
    assert "3 inchangées" in texte(doc.xpath("//details/summary")[0])
    [bouton] = doc.xpath("//form[@id='confirmer-import']//button")
    assert texte(bouton) == "Confirmer l'import (2 écritures)"
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "Action 0"
    reponse = client.post(apercu)
    assert reponse.status_code == 302 and reponse["Location"] == apercu
    doc = page(client.get(apercu))
    assert texte(doc.xpath("//div[contains(@class, 'fr-alert--success')]//h2")[0]) == "Import terminé"
    assert not doc.xpath("//form[@id='confirmer-import']")
    fiche = FicheAction.objects.get(contrat=contrat, code="A1-01")
    assert fiche.intitule == "Intitulé revu"
    assert fiche.financements.get(annee=2024, type_financeur=ETAT).prevu == D("11000")
    assert client.post(apercu).status_code == 302  # confirming again writes nothing more
    assert fiche.financements.get(annee=2024, type_financeur=ETAT).version == 1


def test_an_import_is_its_authors_only(client, monde, editeur, lecteur, autre_territoire):
    contrat = monde["contrat"]
    client.force_login(editeur)
    apercu = _deposer(client, _modifie(contrat, Fiches_C2="Par l'auteur"))["Location"]
    collegue = UserFactory(username="collegue05", organisation=editeur.organisation)
    for autre in (collegue, lecteur, autre_territoire, monde["agent_cd"]):
        client.force_login(autre)
        assert client.get(apercu).status_code == 404, autre
        assert client.post(apercu).status_code == 404, autre
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "Action 0"
    client.force_login(editeur)
    ailleurs = apercu.replace("CLS-2024-D05", "CLS-2025-D69")
    assert client.get(ailleurs).status_code == 404


def test_a_file_with_errors_shows_them_with_their_position_and_cannot_be_confirmed(client, monde, editeur):
    contrat = monde["contrat"]
    client.force_login(editeur)
    apercu = _deposer(client, _modifie(contrat, Fiches_C2="Changé", Financements_E3="dix mille"))["Location"]
    doc = page(client.get(apercu))
    [alerte] = doc.xpath("//div[contains(@class, 'fr-alert--error')]//h2")
    assert texte(alerte) == "1 erreur : rien ne sera écrit"
    [ligne] = doc.xpath("//table[@id='erreurs']/tbody/tr")
    cellules = [texte(td) for td in ligne.xpath("td")]
    assert cellules[:3] == ["Financements", "3", "E (État)"]
    assert "« dix mille » n'est pas un nombre" in cellules[3]
    assert not doc.xpath("//form[@id='confirmer-import']")
    client.post(apercu)
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "Action 0"


@pytest.mark.parametrize(
    ("nom", "contenu", "message"),
    [
        ("fiches.pdf", b"%PDF-1.4", "Choisissez un fichier .xlsx ou .csv"),
        ("fiches.csv", b"", "Le fichier soumis est vide."),
    ],
)
def test_a_bad_upload_is_refused_in_french(client, monde, editeur, nom, contenu, message):
    client.force_login(editeur)
    reponse = _deposer(client, contenu, nom)
    assert reponse.status_code == 200
    assert message in texte(page(reponse))


def test_a_damaged_workbook_fails_with_its_reason(client, monde, editeur):
    client.force_login(editeur)
    apercu = _deposer(client, b"PK\x03\x04 pas un classeur", "fiches.xlsx")["Location"]
    doc = page(client.get(apercu))
    assert texte(doc.xpath("//span[contains(@class, 'fr-badge--error')]")[0]) == "Échec"
    assert "endommagé" in texte(doc.xpath("//div[contains(@class, 'fr-alert--error')]")[0])


def test_a_large_file_runs_in_the_background_and_its_progress_is_shown(client, monde, editeur, settings):
    contrat = monde["contrat"]
    client.force_login(editeur)
    depot = Depot.creer(contenu=_modifie(contrat), nom="gros.xlsx", contrat=contrat, auteur=editeur)
    depot.etat.update(statut=ANALYSE, fait=40, total=120)
    depot.enregistrer()
    url = reverse("espace:import_apercu", kwargs={"reference": "CLS-2024-D05", "uid": depot.uid})
    fragment = page(client.get(url + "?fragment=progression"))
    assert fragment.get("hx-trigger") == "every 2s"
    assert fragment.xpath("//progress")[0].get("value") == "40"
    assert "40 opérations sur 120" in texte(fragment)
    settings.PACTE_IMPORT_SEUIL_FOND = 0  # the immediate backend runs the task inside the request
    apercu = _deposer(client, _modifie(contrat, Fiches_C2="En tâche de fond"))["Location"]
    reponse = client.get(apercu + "?fragment=progression")
    assert reponse.status_code == 204 and reponse["HX-Refresh"] == "true"
    client.post(apercu)
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "En tâche de fond"


# --- Query budgets ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("nombre", [3, 30])
def test_query_budgets_are_the_same_with_3_and_30_fiches(
    client, editeur, contrat_05, nombre, django_assert_max_num_queries
):
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))
    _fiches(contrat_05, nombre, caf)
    VersementFactory(contrat=ContratFactory(collectivite=collectivite("D05"), reference="CLS-2022-D05", signe=True))
    client.force_login(editeur)
    for nom, kwargs, budget in (
        # session, user, organisation, DSFR settings and the header (5), the facets' choices, the fiches, their
        # lines and indicators with their values: the same whatever the number of fiches
        ("fiches_export", {"format": "xlsx"}, 11),
        ("fiches_export", {"format": "csv"}, 11),
        ("indicateurs_export", {"format": "xlsx"}, 10),
        ("contrats_export", {"format": "xlsx"}, 6),
        ("versements_export", {"reference": "CLS-2022-D05", "format": "xlsx"}, 7),
        ("import", {"reference": "CLS-2024-D05"}, 10),
    ):
        with django_assert_max_num_queries(budget):
            assert client.get(reverse(f"espace:{nom}", kwargs=kwargs)).status_code == 200
    contenu = _modifie(contrat_05, Fiches_C2="Changé")
    apercu = _deposer(client, contenu)["Location"]
    with django_assert_max_num_queries(10):  # the report is read from the import's state, not from the database
        assert client.get(apercu).status_code == 200


# --- The README documents the template's columns ------------------------------------------------------------------


def test_the_readme_documents_every_column_of_the_template():
    section = README.read_text(encoding="utf-8").split("## Import Excel", 1)[1].split("\n## ", 1)[0]
    colonnes = (*COLONNES_FICHE, *COLONNES_FINANCEMENT, *COLONNES_INDICATEUR)
    manquantes = {c.entete for c in colonnes if f"| {c.entete} |" not in section}
    assert not manquantes, manquantes


# --- Reference data in the back-office (django-import-export) -----------------------------------------------------


@pytest.fixture
def centrale(db):
    return UserFactory(username="dgcs", organisation=OrganisationFactory(centrale=True))


def test_reference_data_is_exported_by_every_agent_of_the_back_office(client, editeur):
    client.force_login(editeur)
    url = reverse("admin:pacte_axe_export")
    [formulaire] = page(client.get(url)).xpath(f"//form[@action='{url}']")
    donnees = {
        e.get("name"): e.get("value") or "on"
        for e in formulaire.xpath(".//input[@name]")
        if e.get("type") != "checkbox" or e.get("checked") is not None
    }
    reponse = client.post(url, donnees | {"format": "0"})
    assert reponse.status_code == 200
    lignes = list(csv.reader(io.StringIO(reponse.content.decode("utf-8-sig"))))
    assert lignes[0] == ["Numéro", "Intitulé", "Intitulé court"]
    assert [ligne[0] for ligne in lignes[1:]] == ["1", "2", "3", "4"]


def _importer_admin(client, url: str, contenu: str):
    fichier = io.BytesIO(contenu.encode())
    fichier.name = "donnees.csv"
    return client.post(url, {"format": "0", "import_file": fichier, "resource": "0"})


def test_reference_data_is_imported_through_its_service_by_the_administration_centrale(client, centrale):
    client.force_login(centrale)
    objectif = Objectif.objects.order_by("code").first()
    url = reverse("admin:pacte_objectif_import")
    contenu = f"Code,Axe,Intitulé,Actif\n{objectif.code},{objectif.axe.numero},Intitulé importé,1\n"
    reponse = _importer_admin(client, url, contenu)
    assert reponse.status_code == 200
    doc = page(reponse)
    [confirmation] = doc.xpath("//form[contains(@action, 'process_import')]")
    donnees = {e.get("name"): e.get("value") for e in confirmation.xpath(".//input[@type='hidden']")}
    objectif.refresh_from_db()
    assert objectif.intitule != "Intitulé importé"  # the preview writes nothing
    reponse = client.post(reverse("admin:pacte_objectif_process_import"), donnees)
    assert reponse.status_code == 302
    objectif.refresh_from_db()
    assert objectif.intitule == "Intitulé importé"
    assert objectif.history.first().history_user == centrale


def test_a_reference_row_the_service_refuses_is_an_error_and_nothing_is_written(client, centrale):
    client.force_login(centrale)
    mesure = Objectif.objects.order_by("code").first().mesures.first()
    autre_axe = Axe.objects.exclude(pk=mesure.axe_id).first()
    contenu = f"Code,Axe,Objectif,Intitulé,Active\n{mesure.code},{autre_axe.numero},{mesure.objectif.code},x,1\n"
    doc = page(_importer_admin(client, reverse("admin:pacte_mesure_import"), contenu))
    assert f"La mesure {mesure.code} est sur l'axe {autre_axe.numero}" in texte(doc)
    assert not doc.xpath("//form[contains(@action, 'process_import')]")
    mesure.refresh_from_db()
    assert mesure.intitule != "x"


def test_who_may_import_reference_data(client, editeur, centrale):
    client.force_login(editeur)
    assert client.get(reverse("admin:pacte_objectif_import")).status_code == 403
    assert client.get(reverse("admin:pacte_organisation_import")).status_code == 403
    client.force_login(centrale)
    assert client.get(reverse("admin:pacte_objectif_import")).status_code == 200
    assert client.get(reverse("admin:pacte_region_import")).status_code == 403  # territories: superusers only
    # The administration centrale changes the four axes but does not add one.
    doc = page(_importer_admin(client, reverse("admin:pacte_axe_import"), "Numéro,Intitulé,Intitulé court\n5,Cinq,5\n"))
    assert "vous ne pouvez que modifier les lignes existantes" in texte(doc)
    assert Axe.objects.count() == 4


# --- The buttons on the lists' and the contract's pages --------------------------------------------------------


def test_the_lists_offer_their_exports_with_their_query_string(client, monde, editeur):
    client.force_login(editeur)
    doc = page(client.get(reverse("espace:fiches") + "?axe=1&tri=code"))
    liens = {texte(a): a.get("href") for a in doc.xpath("//ul[@aria-label='Exporter les fiches de la liste']//a")}
    assert liens == {
        "Exporter (xlsx)": "/fiches/export.xlsx?axe=1&tri=code",
        "Exporter (csv)": "/fiches/export.csv?axe=1&tri=code",
        "Indicateurs (xlsx)": "/indicateurs/export.xlsx?axe=1&tri=code",
    }
    doc = page(client.get(reverse("espace:contrats") + "?statut=en_negociation"))
    liens = [a.get("href") for a in doc.xpath("//ul[@aria-label='Exporter les contrats de la liste']//a")]
    assert liens == ["/contrats/export.xlsx?statut=en_negociation", "/contrats/export.csv?statut=en_negociation"]


def test_the_contract_page_shows_the_excel_links_each_persona_may_use(client, monde, editeur, lecteur):
    url = reverse("espace:contrat", kwargs={"reference": "CLS-2024-D05"})
    attendus = {
        editeur: {
            "Exporter les fiches du contrat (xlsx)",
            "Exporter les versements (xlsx)",
            "Importer un fichier Excel",
        },
        monde["agent_cd"]: {
            "Exporter les fiches du contrat (xlsx)",
            "Exporter les versements (xlsx)",
            "Importer un fichier Excel",
        },
        lecteur: {"Exporter les fiches du contrat (xlsx)", "Exporter les versements (xlsx)"},
        monde["partenaire"]: {"Exporter les fiches du contrat (xlsx)"},
    }
    for user, textes in attendus.items():
        client.force_login(user)
        doc = page(client.get(url))
        liens = {texte(a).split(" (fiches")[0] for a in doc.xpath("//ul[contains(@class, 'fr-links-group')]//a")}
        assert liens & {t for ts in attendus.values() for t in ts} == textes, user
