"""The import of an action table (financement/importation.py) and the exports it reads back (financement/exports.py).

- round trip: an export re-imported is « inchangée » for every row (xlsx and the csv flat form);
- a file filled the way a département's agent fills the template (commas, €, ``Axe 3``, blank lines, dates as text,
  Excel dates and serials, merged header cells, a formula) imports with the expected totals; csv in Windows-1252
  with ``;``, in UTF-8 with ``,``; the flat form with merged fiche cells; headers' synonyms;
- updates in place by natural keys (contract reference + fiche code), all or nothing;
- rules as in the forms (the services): axes per contract type, the freeze of a signed contract (execution columns
  only), rights (a collectivité's agent writes its own lines), perimeter (the command);
- property-based (hypothesis): a cell of a valid file mutated into a bad value gives an error at that cell's sheet,
  row and column, and the database does not change;
- the storage of an import (``Depot``), its background run (immediate backend) and the command.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal

import openpyxl
import pytest
from django.core.management import CommandError, call_command
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from actions.enums import StatutFiche, TypeIndicateur
from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.enums import StatutContrat
from financement.enums import TypeFinanceur
from financement.exports import export_fiches, modele_import
from financement.importation import (
    ANALYSE,
    APERCU,
    IMPORT,
    IMPORTE,
    Depot,
    FichierIllisible,
    apercu,
    importer,
    lancer,
    lire_fichier,
    rapport,
)
from financement.models import LigneFinancement
from financement.resources import ENGAGE, PREVU, REALISE, lire_entete_financeur
from pacte.resources import CelluleInvalide, lire_date, lire_montant, normaliser
from tests import hostile
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    UserFactory,
    ValeurIndicateurFactory,
    axe,
    collectivite,
    departement,
)

pytestmark = pytest.mark.django_db

D = Decimal
ETAT, COLL, AUTRE = TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE, TypeFinanceur.AUTRE
MODELES = ["actions", "financement", "contrats"]


# --- Data ---------------------------------------------------------------------------------------------------------


@pytest.fixture
def monde(editeur):
    """A CLS of the Hautes-Alpes in negotiation: two fiches funded by the State, the Département and the CAF over
    2024-2025, an indicator; the collectivité's organisation and agent; a partner that carries the actions."""
    cd05 = OrganisationFactory(
        de_collectivite=True, collectivite=collectivite("D05"), nom="Département des Hautes-Alpes"
    )
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))
    OrganisationFactory(nom="Association Tremplin", departement=departement("05"))
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05")
    PlafondFactory(contrat=contrat, annee=2024, montant=D("100000"))
    PlafondFactory(contrat=contrat, annee=2025, montant=D("100000"))
    for code, numero in (("A1-01", 1), ("A3-01", 3)):
        fiche = FicheActionFactory(
            contrat=contrat, code=code, axe=axe(numero), porteur=caf, intitule=f"Action {code}", volume_public=100
        )
        for annee in (2024, 2025):
            LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=ETAT, prevu=D("10000"))
            LigneFinancementFactory(fiche=fiche, annee=annee, type_financeur=COLL, prevu=D("12000"))
        LigneFinancementFactory(
            fiche=fiche, annee=2024, type_financeur=AUTRE, financeur=caf, prevu=D("5000"), engage=D("4000")
        )
        indicateur = IndicateurFactory(fiche=fiche, nom="Personnes accompagnées")
        ValeurIndicateurFactory(indicateur=indicateur, annee=2024, cible=D("100"), realise=D("80"))
    agent_cd = UserFactory(username="cd05", organisation=cd05)
    return {"contrat": contrat, "caf": caf, "cd05": cd05, "editeur": editeur, "agent_cd": agent_cd}


def fiches_de(contrat):
    return FicheAction.objects.filter(contrat=contrat)


def classeur(feuilles: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for nom, lignes in feuilles.items():
        ws = wb.create_sheet(nom)
        for ligne in lignes:
            ws.append(ligne)
    sortie = io.BytesIO()
    wb.save(sortie)
    return sortie.getvalue()


def ouvrir(contenu: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(contenu))


def enregistrer(wb) -> bytes:
    sortie = io.BytesIO()
    wb.save(sortie)
    return sortie.getvalue()


def previsualiser(contenu: bytes, nom: str, contrat, user) -> dict:
    return rapport(apercu(lire_fichier(contenu, nom), contrat, user))


def sommes(contrat) -> dict:
    """Planned amounts of the contract per funder kind, summed by the database."""
    rows = LigneFinancement.objects.filter(fiche__contrat=contrat).values("type_financeur").annotate(s=Sum("prevu"))
    return {row["type_financeur"]: row["s"] for row in rows}


# --- Round trip -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("format", ["xlsx", "csv"])
def test_an_export_re_imported_is_unchanged_row_by_row(monde, format):
    contrat, editeur = monde["contrat"], monde["editeur"]
    contenu = export_fiches(fiches_de(contrat), format)
    donnees = previsualiser(contenu, f"export.{format}", contrat, editeur)
    assert donnees["erreurs"] == []
    assert donnees["operations"] == 0
    assert sorted(donnees["fiches"]["inchangees"]) == ["A1-01", "A3-01"]
    assert len(donnees["financements"]["inchangees"]) == 4
    assert donnees["financements"]["creer"] == donnees["financements"]["modifier"] == []
    if format == "xlsx":
        assert donnees["indicateurs"]["inchangees"] == [
            "A1-01 – Personnes accompagnées",
            "A3-01 – Personnes accompagnées",
        ]
    plan, bilan = importer(lire_fichier(contenu, f"export.{format}"), contrat, editeur)
    assert bilan == "importe" and plan.operations == 0


def test_the_export_writes_numbers_dates_frozen_headers_and_sized_columns(monde):
    wb = ouvrir(export_fiches(fiches_de(monde["contrat"]), "xlsx"))
    assert wb.sheetnames == ["Fiches", "Financements", "Indicateurs"]
    fin = wb["Financements"]
    entetes = [c.value for c in fin[1]]
    assert entetes[:7] == ["Contrat", "Code", "Intitulé", "Année", "État", "Collectivité", "CAF des Hautes-Alpes"]
    assert "CAF des Hautes-Alpes engagé" in entetes and "État réalisé" in entetes
    cellule = fin.cell(row=2, column=5)
    assert cellule.value == 10000 and cellule.data_type == "n" and "€" in cellule.number_format
    assert fin.freeze_panes == "A2"
    assert fin.column_dimensions["C"].width >= len("Intitulé")
    fiches = wb["Fiches"]
    debut = [c.value for c in fiches[1]].index("Début") + 1
    assert isinstance(fiches.cell(row=2, column=debut).value, datetime)


def test_the_template_documents_its_columns(db):
    wb = ouvrir(modele_import())
    assert wb.sheetnames == ["Fiches", "Financements", "Indicateurs", "Notice", "Référentiels"]
    assert [c.value for c in wb["Financements"][1]][:5] == ["Contrat", "Code", "Année", "État", "Collectivité"]
    notice = {(row[0], row[1]) for row in wb["Notice"].iter_rows(min_row=2, values_only=True)}
    assert ("Fiches", "Porteur") in notice and ("Indicateurs", "Cible") in notice
    assert wb["Fiches"].max_row == 1  # no example row that would be imported by mistake
    assert wb["Fiches"]["A1"].comment is not None


# --- A département's agent's file ---------------------------------------------------------------------------------


def test_a_file_filled_the_way_an_agent_fills_it_imports_with_the_expected_totals(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Fiches"
    ws.append(["Plan d'actions du CLS des Hautes-Alpes"])  # a title above the table
    ws.merge_cells("A1:H1")
    ws.append([])
    ws.append(
        ["N° fiche", "  Libellé ", "AXE", "nature de l'action", "Structure porteuse", "date de début", "Fin", "ETP"]
    )
    ws.append(["a4-01", "  Accès aux droits  ", "Axe 4", "N", "caf des hautes alpes", "15/03/2024", 46022, "1,5"])
    ws.append([])
    ws.append(
        [
            "A4-02",
            "Mobilité",
            "axe 4 – Lutter contre la grande pauvreté",
            "renforcée",
            "CAF des Hautes-Alpes",
            datetime(2024, 1, 1),
            "31/12/2027",
            None,
        ]
    )
    fin = wb.create_sheet("Financements 2024-2027")
    fin.append(["Code", "Exercice", "Montants prévus", None, None])
    fin.merge_cells("C1:E1")
    fin.append([None, None, "Etat", "Département", "CAF"])
    fin.merge_cells("A1:A2")
    fin.merge_cells("B1:B2")
    fin.append(["A4-01", "2024", "1 234,50 €", "1\u00a0500", 300])
    fin.append(["A4-01", 2025, "1234.5", None, None])
    fin.append([None, None, None, None, None])
    fin.append(["A4-02", 2024, 2000, "=C6*2", "0"])
    fin.append(["Total", None, "=SUM(C3:C6)", None, None])
    contenu = enregistrer(wb)
    # Excel saves a formula with its value; openpyxl does not: add the values as Excel would.
    contenu = _avec_valeurs(contenu, {"D6": "4000", "C7": "4469"})
    avant = sommes(contrat)
    donnees = previsualiser(contenu, "plan.xlsx", contrat, editeur)
    assert donnees["erreurs"] == [], [e["message"] for e in donnees["erreurs"]]
    assert [f["code"] for f in donnees["fiches"]["creer"]] == ["A4-01", "A4-02"]
    assert any("ligne de total" in note for note in donnees["notes"])
    plan, bilan = importer(lire_fichier(contenu, "plan.xlsx"), contrat, editeur, empreinte=donnees["empreinte"])
    assert bilan == "importe", [str(e) for e in plan.erreurs]
    fiche = FicheAction.objects.get(contrat=contrat, code="A4-01")
    assert (fiche.intitule, fiche.axe.numero, fiche.nature, fiche.porteur) == (
        "Accès aux droits",
        4,
        "nouvelle",
        monde["caf"],
    )
    assert (fiche.date_debut, fiche.date_fin, fiche.etp) == (date(2024, 3, 15), date(2025, 12, 31), D("1.50"))
    assert FicheAction.objects.get(contrat=contrat, code="A4-02").nature == "renforcee"
    apres = sommes(contrat)
    assert apres[ETAT] - avant[ETAT] == D("1234.50") + D("1234.50") + D("2000")
    assert apres[COLL] - avant[COLL] == D("1500") + D("4000")
    assert apres[AUTRE] - avant[AUTRE] == D("300")
    # the CAF's "0" for A4-02 is a line at zero, kept as the agent typed it
    assert LigneFinancement.objects.get(fiche__code="A4-02", fiche__contrat=contrat, type_financeur=AUTRE).prevu == 0


def _avec_valeurs(contenu: bytes, valeurs: dict[str, str]) -> bytes:
    """The xlsx with the cached values of its formula cells, as a spreadsheet saves them."""
    entree = zipfile.ZipFile(io.BytesIO(contenu))
    sortie = io.BytesIO()
    with zipfile.ZipFile(sortie, "w", zipfile.ZIP_DEFLATED) as zout:
        for item in entree.infolist():
            data = entree.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet2"):
                texte = data.decode()
                for ref, valeur in valeurs.items():
                    texte = re.sub(
                        rf'(<c r="{ref}"[^>]*>\s*<f>[^<]*</f>)\s*(<v\s*/>|<v></v>)?', rf"\1<v>{valeur}</v>", texte
                    )
                data = texte.encode()
            zout.writestr(item, data)
    return sortie.getvalue()


def test_a_formula_saved_without_its_value_is_refused_at_its_cell(monde):
    contenu = classeur({"Financements": [["Code", "Année", "État"], ["A1-01", 2024, "=1+1"]]})
    donnees = previsualiser(contenu, "x.xlsx", monde["contrat"], monde["editeur"])
    [erreur] = donnees["erreurs"]
    assert (erreur["feuille"], erreur["ligne"], erreur["colonne"]) == ("Financements", 2, "C")
    assert "n'a pas de valeur enregistrée" in erreur["message"]


def test_a_csv_in_windows_1252_with_semicolons_in_the_flat_form(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    texte = (
        "Code;Intitulé;Axe;Nature;Porteur;Début;Fin;Année;part État;Département;Réalisé Etat\r\n"
        "A1-05;Épicerie sociale;1;Nouvelle;CAF des Hautes-Alpes;01/01/2024;31/12/2025;2024;2 000,00 €;2 500;\r\n"
        ";;;;;;;;;;\r\n"
        "A1-05;Épicerie sociale;1;Nouvelle;CAF des Hautes-Alpes;01/01/2024;31/12/2025;2025;1 000;1 000;\r\n"
    )
    contenu = texte.encode("cp1252")
    plan, bilan = importer(lire_fichier(contenu, "fiches.csv"), contrat, editeur)
    assert bilan == "importe", [str(e) for e in plan.erreurs]
    fiche = FicheAction.objects.get(contrat=contrat, code="A1-05")
    assert fiche.intitule == "Épicerie sociale"
    lignes = {(lf.annee, lf.type_financeur): lf.prevu for lf in fiche.financements.all()}
    assert lignes == {
        (2024, ETAT): D("2000"),
        (2024, COLL): D("2500"),
        (2025, ETAT): D("1000"),
        (2025, COLL): D("1000"),
    }


def test_a_csv_in_utf8_with_commas_and_an_unknown_column(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    texte = '\ufeffcode,Exercice,Etat,Collectivité,Commentaire\r\nA1-01,2024,"11000,50",12000,à revoir\r\n'
    donnees = previsualiser(texte.encode(), "lignes.csv", contrat, editeur)
    assert donnees["erreurs"] == []
    [ligne] = donnees["financements"]["modifier"]
    assert [(c["champ"], c["avant"], c["apres"], c["colonne"]) for c in ligne["changements"]] == [
        ("État prévu", "10\u00a0000,00", "11\u00a0000,50", "C")
    ]
    assert any("Commentaire" in note for note in donnees["notes"])


def test_the_flat_form_with_the_fiche_cells_merged_over_its_years(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Code", "Intitulé", "Axe", "Nature", "Porteur", "Début", "Fin", "Année", "État", "Collectivité"])
    ws.append(
        ["A3-07", "Logement d'abord", 3, "Nouvelle", "Association Tremplin", "01/01/2024", "31/12/2026", 2024, 100, 100]
    )
    ws.append([None, None, None, None, None, None, None, 2025, 200, 200])
    ws.append([None, None, None, None, None, None, None, 2026, 300, 300])
    for colonne in "ABCDEFG":
        ws.merge_cells(f"{colonne}2:{colonne}4")
    plan, bilan = importer(lire_fichier(enregistrer(wb), "plat.xlsx"), contrat, editeur)
    assert bilan == "importe", [str(e) for e in plan.erreurs]
    fiche = FicheAction.objects.get(contrat=contrat, code="A3-07")
    assert fiche.financements.aggregate(s=Sum("prevu"))["s"] == D("1200")


def test_two_values_of_one_fiche_in_the_flat_form_are_an_error(monde):
    contenu = (
        "Code;Intitulé;Axe;Nature;Porteur;Début;Fin;Année;État\n"
        "A1-09;Un;1;N;CAF des Hautes-Alpes;01/01/2024;31/12/2025;2024;1\n"
        "A1-09;Deux;1;N;CAF des Hautes-Alpes;01/01/2024;31/12/2025;2025;1\n"
    ).encode()
    donnees = previsualiser(contenu, "x.csv", monde["contrat"], monde["editeur"])
    [erreur] = donnees["erreurs"]
    assert (erreur["ligne"], erreur["colonne"]) == (3, "B")
    assert "« Deux » et « Un » ligne 2" in erreur["message"]


# --- Updates in place, all or nothing ------------------------------------------------------------------------------


def test_an_edited_export_updates_in_place_with_each_cell_before_and_after(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    wb["Fiches"]["C2"] = "Nouvel intitulé"
    wb["Financements"]["E2"] = "15 000"
    wb["Indicateurs"]["I2"] = 150
    contenu = enregistrer(wb)
    donnees = previsualiser(contenu, "x.xlsx", contrat, editeur)
    assert donnees["erreurs"] == []
    [fiche] = donnees["fiches"]["modifier"]
    assert fiche["changements"] == [
        {
            "feuille": "Fiches",
            "ligne": 2,
            "colonne": "C",
            "entete": "Intitulé",
            "champ": "Intitulé",
            "avant": "Action A1-01",
            "apres": "Nouvel intitulé",
        }
    ]
    [ligne] = donnees["financements"]["modifier"]
    assert (ligne["code"], ligne["annee"], ligne["changements"][0]["apres"]) == ("A1-01", 2024, "15\u00a0000,00")
    [indicateur] = donnees["indicateurs"]["modifier"]
    assert indicateur["changements"][0]["champ"] == "Cible 2024"
    nb = FicheAction.objects.count(), LigneFinancement.objects.count(), Indicateur.objects.count()
    plan, bilan = importer(lire_fichier(contenu, "x.xlsx"), contrat, editeur, empreinte=donnees["empreinte"])
    assert bilan == "importe"
    assert (FicheAction.objects.count(), LigneFinancement.objects.count(), Indicateur.objects.count()) == nb
    fiche = FicheAction.objects.get(contrat=contrat, code="A1-01")
    assert fiche.intitule == "Nouvel intitulé"
    assert fiche.history.first().history_user == editeur
    assert fiche.financements.get(annee=2024, type_financeur=ETAT).prevu == D("15000")
    assert ValeurIndicateur.objects.get(indicateur__fiche=fiche, annee=2024).cible == D("150")
    # re-imported, the same file changes nothing more
    assert previsualiser(contenu, "x.xlsx", contrat, editeur)["operations"] == 0


def test_one_error_and_nothing_is_written(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    wb["Fiches"]["C2"] = "Changé"
    wb["Financements"]["E3"] = "-5"  # refused by the service (a negative amount)
    contenu = enregistrer(wb)
    modeles = hostile.Snapshot.models(MODELES)
    avant = hostile.Snapshot.take(modeles)
    donnees = previsualiser(contenu, "x.xlsx", contrat, editeur)
    [erreur] = donnees["erreurs"]
    assert (erreur["feuille"], erreur["ligne"], erreur["colonne"]) == ("Financements", 3, "E")
    assert "ne peut pas être négatif" in erreur["message"]
    plan, bilan = importer(lire_fichier(contenu, "x.xlsx"), contrat, editeur)
    assert bilan == "refuse"
    assert avant.diff(hostile.Snapshot.take(modeles), modeles) == []


def test_data_changed_since_the_preview_writes_nothing(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    wb["Fiches"]["C2"] = "Version du fichier"
    contenu = enregistrer(wb)
    donnees = previsualiser(contenu, "x.xlsx", contrat, editeur)
    FicheAction.objects.filter(contrat=contrat, code="A1-01").update(intitule="Changé entre-temps")
    plan, bilan = importer(lire_fichier(contenu, "x.xlsx"), contrat, editeur, empreinte=donnees["empreinte"])
    assert bilan == "change"
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "Changé entre-temps"
    assert rapport(plan)["fiches"]["modifier"][0]["changements"][0]["avant"] == "Changé entre-temps"


def test_a_row_of_another_contract_is_an_error_at_its_cell(monde):
    contenu = classeur({"Fiches": [["Contrat", "Code", "Intitulé"], ["CLS-2025-D69", "A1-01", "x"]]})
    [erreur] = previsualiser(contenu, "x.xlsx", monde["contrat"], monde["editeur"])["erreurs"]
    assert (erreur["ligne"], erreur["colonne"]) == (2, "A")
    assert "l'import se fait dans le contrat CLS-2024-D05" in erreur["message"]


# --- Rules as in the forms -----------------------------------------------------------------------------------------


def test_an_axis_the_contract_type_does_not_carry_is_refused_by_the_service_at_its_cell(monde):
    # A CLS départemental carries axes 1, 3 and 4 (fiche_errors)
    contenu = classeur(
        {
            "Fiches": [
                ["Code", "Intitulé", "Axe", "Nature", "Porteur", "Début", "Fin"],
                ["A2-01", "Insertion", "Axe 2", "N", "CAF des Hautes-Alpes", "01/01/2024", "31/12/2025"],
            ]
        }
    )
    [erreur] = previsualiser(contenu, "x.xlsx", monde["contrat"], monde["editeur"])["erreurs"]
    assert (erreur["feuille"], erreur["ligne"], erreur["colonne"]) == ("Fiches", 2, "C")
    assert "L'axe 2 n'est pas un axe du contrat CLS-2024-D05" in erreur["message"]
    assert not FicheAction.objects.filter(code="A2-01").exists()


def test_parity_and_ceilings_are_warnings_of_the_preview_as_in_the_entry(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    contenu = classeur({"Financements": [["Code", "Année", "État"], ["A1-01", 2024, "200 000"]]})
    donnees = previsualiser(contenu, "x.xlsx", contrat, editeur)
    assert donnees["erreurs"] == []
    assert any("dépasse celle du Département" in a for a in donnees["alertes"])
    assert any("dépassent l'enveloppe annuelle" in a for a in donnees["alertes"])


def test_a_signed_contract_takes_only_execution_columns(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    fiches_de(contrat).update(statut=StatutFiche.VALIDEE)
    contrat.statut, contrat.date_signature = StatutContrat.SIGNE, date(2024, 3, 1)
    contrat.save()
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    fin = wb["Financements"]
    entetes = [c.value for c in fin[1]]
    fin.cell(row=2, column=entetes.index("État réalisé") + 1, value="9 000")
    fin.cell(row=2, column=entetes.index("CAF des Hautes-Alpes engagé") + 1, value="4 500")
    wb["Indicateurs"]["J2"] = 90
    ok = enregistrer(wb)
    plan, bilan = importer(lire_fichier(ok, "x.xlsx"), contrat, editeur)
    assert bilan == "importe", [str(e) for e in plan.erreurs]
    ligne = LigneFinancement.objects.get(fiche__contrat=contrat, fiche__code="A1-01", annee=2024, type_financeur=ETAT)
    assert ligne.realise == D("9000")
    fin.cell(row=2, column=entetes.index("État") + 1, value="11 000")
    wb["Fiches"]["C2"] = "Autre intitulé"
    erreurs = previsualiser(enregistrer(wb), "x.xlsx", contrat, editeur)["erreurs"]
    assert {(e["feuille"], e["ligne"], e["colonne"]) for e in erreurs} == {("Financements", 2, "E"), ("Fiches", 2, "C")}
    assert all("est signé" in e["message"] and "avenant" in e["message"] for e in erreurs)


def test_a_collectivite_agent_writes_its_own_lines_only(monde):
    contrat, agent = monde["contrat"], monde["agent_cd"]
    ok = classeur({"Financements": [["Code", "Année", "Département"], ["A1-01", 2024, "13 000"]]})
    plan, bilan = importer(lire_fichier(ok, "x.xlsx"), contrat, agent)
    assert bilan == "importe", [str(e) for e in plan.erreurs]
    refuse = classeur({"Financements": [["Code", "Année", "État"], ["A1-01", 2024, "1"]]})
    [erreur] = previsualiser(refuse, "x.xlsx", contrat, agent)["erreurs"]
    assert "réservé à la DDETS" in erreur["message"] and erreur["colonne"] == "C"


def test_a_reader_imports_nothing(monde, lecteur):
    contenu = export_fiches(fiches_de(monde["contrat"]), "xlsx")
    [erreur] = previsualiser(contenu, "x.xlsx", monde["contrat"], lecteur)["erreurs"]
    assert erreur["message"] == "Vous ne pouvez pas importer dans le contrat CLS-2024-D05."


def test_an_unknown_funder_column_is_an_error_at_its_header_with_a_suggestion(monde):
    contenu = classeur({"Financements": [["Code", "Année", "CAF des Hautes Alpe"], ["A1-01", 2024, 1]]})
    [erreur] = previsualiser(contenu, "x.xlsx", monde["contrat"], monde["editeur"])["erreurs"]
    assert (erreur["ligne"], erreur["colonne"]) == (1, "C")
    assert "Vouliez-vous dire : « CAF des Hautes-Alpes »" in erreur["message"]


def test_indicators_are_created_with_their_targets(monde):
    contrat, editeur = monde["contrat"], monde["editeur"]
    contenu = classeur(
        {
            "Indicateurs": [
                ["Code", "Indicateur", "Type", "Unité", "Année", "Cible"],
                ["A3-01", "Ménages relogés", "Résultat", "ménages", 2024, "40"],
                ["A3-01", "Ménages relogés", None, None, 2025, "60"],
            ]
        }
    )
    plan, bilan = importer(lire_fichier(contenu, "x.xlsx"), contrat, editeur)
    assert bilan == "importe", [str(e) for e in plan.erreurs]
    indicateur = Indicateur.objects.get(fiche__contrat=contrat, nom="Ménages relogés")
    assert indicateur.type_indicateur == TypeIndicateur.RESULTAT
    assert dict(indicateur.valeurs.values_list("annee", "cible")) == {2024: D("40"), 2025: D("60")}


# --- Property-based: a bad cell anywhere -------------------------------------------------------------------------

#: Bad values by sheet and column of the export, each refused by the reader or by a service.
MAUVAISES = {
    ("Fiches", "Intitulé"): ["", "\u202eaction", "x" * 400],
    ("Fiches", "Axe"): ["Axe 9", "deux", "2"],
    ("Fiches", "Nature"): ["peut-être", "X"],
    ("Fiches", "Porteur"): ["Inconnu SARL", ""],
    ("Fiches", "Début"): ["31/02/2024", "demain", "01/01/2019", "1"],
    ("Fiches", "Volume de public"): ["beaucoup", "-3", "1,5"],
    ("Fiches", "ETP"): ["1,234", "un", "-1"],
    ("Fiches", "Mesure nationale"): ["9.9", "mesure inconnue"],
    ("Financements", "État"): ["12,345", "dix mille", "-1", "1e309", "1_000", "١٢٣", "12 34"],
    ("Financements", "Collectivité"): ["NaN", "1.2.3", "€"],
    ("Financements", "Année"): ["2031", "deux mille", "2024,5"],
    ("Indicateurs", "Année"): ["2031", "deux mille"],
    ("Indicateurs", "Cible"): ["beaucoup", "1,234"],
    ("Indicateurs", "Type"): ["les deux"],
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_bad_cell_anywhere_gives_an_error_at_its_position_and_changes_nothing(monde, data):
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    feuille = data.draw(st.sampled_from(["Fiches", "Financements", "Indicateurs"]))
    ws = wb[feuille]
    entetes = {c.value: c.column_letter for c in ws[1]}
    colonne = data.draw(st.sampled_from(sorted(c for f, c in MAUVAISES if f == feuille)))
    ligne = data.draw(st.integers(min_value=2, max_value=ws.max_row))
    valeur = data.draw(st.sampled_from(MAUVAISES[(feuille, colonne)]))
    ws[f"{entetes[colonne]}{ligne}"] = valeur
    contenu = enregistrer(wb)
    modeles = hostile.Snapshot.models(MODELES)
    avant = hostile.Snapshot.take(modeles)
    donnees = previsualiser(contenu, "x.xlsx", contrat, editeur)
    positions = {(e["feuille"], e["ligne"], e["colonne"]) for e in donnees["erreurs"]}
    assert (feuille, ligne, entetes[colonne]) in positions, (feuille, ligne, colonne, valeur, donnees["erreurs"])
    for erreur in donnees["erreurs"]:
        assert erreur["message"] and not re.search(r"[A-Za-z]+Error|Traceback|None", erreur["message"])
    plan, bilan = importer(lire_fichier(contenu, "x.xlsx"), contrat, editeur)
    assert bilan == "refuse"
    assert avant.diff(hostile.Snapshot.take(modeles), modeles) == []


# --- Reading cells and headers -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cellule", "attendu"),
    [
        ("1 234,50", D("1234.50")),
        ("1 234,50 €", D("1234.50")),
        ("1\u00a0234,50\u00a0€", D("1234.50")),
        ("1\u202f234", D("1234")),
        ("1234.5", D("1234.50")),
        (" 12 ", D("12")),
        (1234.5600000000001, D("1234.56")),
        (3000, D("3000")),
        ("-", None),
        ("", None),
        (None, None),
    ],
)
def test_amounts_are_read_as_agents_type_them(cellule, attendu):
    assert lire_montant(cellule) == attendu


@pytest.mark.parametrize("cellule", ["1,234", "12.345", "1.234,50", "dix", "١٢٣", 1.2345, True, date(2024, 1, 1)])
def test_what_is_not_an_amount_is_said_in_french(cellule):
    with pytest.raises(CelluleInvalide) as erreur:
        lire_montant(cellule)
    assert re.search(r"nombre|décimales|virgule|séparateur|chiffre", str(erreur.value))


@pytest.mark.parametrize(
    ("cellule", "attendu"),
    [
        ("15/03/2024", date(2024, 3, 15)),
        ("15/03/24", date(2024, 3, 15)),
        ("15.03.2024", date(2024, 3, 15)),
        ("2024-03-15", date(2024, 3, 15)),
        (45366, date(2024, 3, 15)),
        ("45366", date(2024, 3, 15)),
        (datetime(2024, 3, 15, 0, 0), date(2024, 3, 15)),
    ],
)
def test_dates_are_read_typed_or_as_excel_stores_them(cellule, attendu):
    assert lire_date(cellule) == attendu


@pytest.mark.parametrize(
    ("entete", "attendu"),
    [
        ("État", (ETAT, "", PREVU)),
        ("Etat", (ETAT, "", PREVU)),
        ("part État (€)", (ETAT, "", PREVU)),
        ("Montant prévu Département", (COLL, "", PREVU)),
        ("collectivité", (COLL, "", PREVU)),
        ("Collectivité engagé", (COLL, "", ENGAGE)),
        ("Réalisé État", (ETAT, "", REALISE)),
        ("CAF des Hautes-Alpes réalisé", (AUTRE, "caf hautes alpes", REALISE)),
        ("Total", None),
        ("Coût total", None),
    ],
)
def test_funders_headers_are_recognized_whatever_words_surround_them(entete, attendu):
    lu = lire_entete_financeur(entete)
    assert (None if lu is None else (lu.type_financeur, lu.nom, lu.champ)) == attendu


def test_headers_are_compared_without_case_accents_or_spacing():
    assert normaliser("  Intitulé   de l'ACTION ") == "intitule de l action"
    assert normaliser("N°") == "n"
    assert normaliser("Œuvre") == "oeuvre"


@pytest.mark.parametrize(
    ("contenu", "nom", "message"),
    [
        (b"", "x.xlsx", "vide"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "x.xls", "97-2003"),
        (b"PK\x03\x04garbage", "x.xlsx", "endommagé"),
        (b"not a zip", "x.xlsx", "endommagé"),
    ],
)
def test_an_unreadable_file_says_why(contenu, nom, message):
    with pytest.raises(FichierIllisible, match=message):
        lire_fichier(contenu, nom)


# --- Storage, background run, command ------------------------------------------------------------------------------


def test_a_large_file_is_previewed_and_imported_in_the_background_with_its_progress(monde, settings):
    settings.PACTE_IMPORT_SEUIL_FOND = 0  # every file is "large"; the immediate backend runs the task inline
    contrat, editeur = monde["contrat"], monde["editeur"]
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    wb["Fiches"]["C2"] = "En tâche de fond"
    depot = Depot.creer(contenu=enregistrer(wb), nom="x.xlsx", contrat=contrat, auteur=editeur)
    depot = lancer(depot, ANALYSE)
    assert depot.etat["statut"] == APERCU and depot.etat["rapport"]["operations"] == 1
    depot = lancer(depot, IMPORT)
    assert depot.etat["statut"] == IMPORTE
    assert depot.etat["fait"] == depot.etat["total"] == 1
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "En tâche de fond"
    assert Depot.charger(depot.uid).etat["statut"] == IMPORTE
    assert Depot.charger("pas-un-uid") is None


def test_the_command_previews_then_confirms_with_the_users_rights(monde, tmp_path, capsys):
    contrat = monde["contrat"]
    wb = ouvrir(export_fiches(fiches_de(contrat), "xlsx"))
    wb["Fiches"]["C2"] = "Par la commande"
    chemin = tmp_path / "fiches.xlsx"
    chemin.write_bytes(enregistrer(wb))
    call_command("importer_fiches", str(chemin), contrat="CLS-2024-D05", utilisateur="editeur05")
    sortie = capsys.readouterr().out
    assert "Intitulé : Action A1-01 → Par la commande (colonne C)" in sortie
    assert "relancez avec --confirmer" in sortie
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "Action A1-01"
    call_command("importer_fiches", str(chemin), contrat="CLS-2024-D05", utilisateur="editeur05", confirmer=True)
    assert FicheAction.objects.get(contrat=contrat, code="A1-01").intitule == "Par la commande"


def test_the_command_applies_the_perimeter_and_refuses_a_file_with_errors(monde, autre_territoire, tmp_path):
    chemin = tmp_path / "fiches.csv"
    chemin.write_text("Code;Année;État\nA1-01;2024;dix\n", encoding="utf-8")
    with pytest.raises(CommandError, match="Aucun contrat « CLS-2024-D05 » dans le périmètre de editeur69"):
        call_command("importer_fiches", str(chemin), contrat="CLS-2024-D05", utilisateur="editeur69")
    with pytest.raises(CommandError, match="rien ne serait écrit"):
        call_command("importer_fiches", str(chemin), contrat="CLS-2024-D05", utilisateur="editeur05")
    with pytest.raises(CommandError, match="rien n'a été écrit"):
        call_command("importer_fiches", str(chemin), contrat="CLS-2024-D05", utilisateur="editeur05", confirmer=True)
    assert LigneFinancement.objects.get(fiche__code="A1-01", annee=2024, type_financeur=ETAT).prevu == D("10000")
