"""Reading an action table: the sheets of an xlsx or a csv file, their header found and their columns recognized."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from xml.etree import ElementTree

from openpyxl import load_workbook

from actions.resources import COLONNES_FICHE, COLONNES_INDICATEUR
from financement.enums import TypeFinanceur
from financement.resources import (
    ANNEE,
    EnteteFinanceur,
    lire_entete_financeur,
)
from pacte.resources import (
    Colonne,
    est_vide,
    index_colonnes,
    lettre_colonne,
    lire_texte,
    normaliser,
)

#: At most this many rows of a sheet are read before its header (titles, logos, blank lines).
LIGNES_AVANT_ENTETE = 15
#: The largest file accepted.
TAILLE_MAX = 20 * 1024 * 1024
EXTENSIONS = (".xlsx", ".xlsm", ".csv", ".txt")

FICHES, FINANCEMENTS, INDICATEURS, PLAT = "fiches", "financements", "indicateurs", "plat"
TITRES = {FICHES: "Fiches", FINANCEMENTS: "Financements", INDICATEURS: "Indicateurs", PLAT: "Fiches et financements"}
#: Sheets of documentation, never data.
_FEUILLES_IGNOREES = ("notice", "aide", "lisez", "referentiel", "liste", "mode d emploi", "legende", "parametre")
_CLES_FICHE = index_colonnes(COLONNES_FICHE)
_CLES_INDICATEUR = index_colonnes(COLONNES_INDICATEUR)
_CLES_FINANCEMENT = index_colonnes([*COLONNES_FICHE, ANNEE])
#: Every header the importer knows (to find the header row of a sheet).
_TOUTES = {*_CLES_FICHE, *_CLES_INDICATEUR, *_CLES_FINANCEMENT}


class FichierIllisible(Exception):
    """The file cannot be read at all (not an xlsx or a csv, damaged, empty); ``str()`` says why, in French."""


# --- Reading the file -----------------------------------------------------------------------------------------------


@dataclass
class FeuilleLue:
    """A sheet as read: its rows (their number in the file, their cells), and the text of the merged cells that span
    several columns (a group of headers), by (row, column)."""

    nom: str
    lignes: list[tuple[int, list]]
    groupes: dict[tuple[int, int], str] = field(default_factory=dict)
    #: Formula cells saved without their value (``B4``), by row.
    sans_valeur: dict[int, list[str]] = field(default_factory=dict)
    #: Merged cells spanning several rows near the top (a header on two rows): first row → last row.
    verticales: dict[int, int] = field(default_factory=dict)


def lire_fichier(contenu: bytes, nom: str) -> list[FeuilleLue]:
    """The sheets of an xlsx file, or the single sheet of a csv file."""
    if not contenu:
        raise FichierIllisible("Le fichier est vide.")
    if len(contenu) > TAILLE_MAX:
        raise FichierIllisible(f"Le fichier dépasse {TAILLE_MAX // (1024 * 1024)} Mo.")
    extension = PurePosixPath(nom.lower()).suffix
    if contenu[:4] == b"PK\x03\x04":
        return _lire_xlsx(contenu)
    if contenu[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" or extension == ".xls":
        raise FichierIllisible(
            "Ce fichier est au format Excel 97-2003 (.xls) : enregistrez-le au format .xlsx (ou .csv) et recommencez."
        )
    if extension in (".xlsx", ".xlsm"):
        raise FichierIllisible("Ce fichier .xlsx est endommagé : il ne s'ouvre pas comme un classeur Excel.")
    return [_lire_csv(contenu, nom)]


_CELLULE_SANS_VALEUR = re.compile(
    rb'<c r="([A-Z]+)([0-9]+)"[^>]*>\s*<f(?:\s[^>]*)?(?:/>|>[^<]*</f>)\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>'
)
_NS_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _formules_sans_valeur(archive: zipfile.ZipFile) -> dict[str, dict[int, list[str]]]:
    """Per sheet name, the formula cells saved without their computed value (a file written by a program, never
    opened in a spreadsheet): they would read as empty, so they are refused."""
    try:
        classeur = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        liens = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, ElementTree.ParseError):
        return {}
    cibles = {lien.get("Id"): lien.get("Target", "") for lien in liens}
    resultat: dict[str, dict[int, list[str]]] = {}
    for feuille in classeur.iter("{http://schemas.openxmlformats.org/spreadsheetml/2006/main}sheet"):
        cible = cibles.get(feuille.get(_NS_REL), "")
        chemin = cible.lstrip("/") if cible.startswith("/") else f"xl/{cible}"
        try:
            xml = archive.read(chemin)
        except KeyError:
            continue
        cellules: dict[int, list[str]] = defaultdict(list)
        for match in _CELLULE_SANS_VALEUR.finditer(xml):
            cellules[int(match[2])].append(match[1].decode() + match[2].decode())
        if cellules:
            resultat[feuille.get("name", "")] = dict(cellules)
    return resultat


def _lire_xlsx(contenu: bytes) -> list[FeuilleLue]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(contenu))
        sans_valeur = _formules_sans_valeur(archive)
        wb = load_workbook(io.BytesIO(contenu), data_only=True)
    except Exception:  # openpyxl raises many kinds of errors on a damaged file
        raise FichierIllisible("Ce fichier .xlsx est endommagé : il ne s'ouvre pas comme un classeur Excel.") from None
    feuilles = []
    for ws in wb.worksheets:
        lignes = [list(row) for row in ws.iter_rows(values_only=True)]
        groupes, verticales = {}, {}
        for plage in ws.merged_cells.ranges:
            valeur = lignes[plage.min_row - 1][plage.min_col - 1] if plage.min_row - 1 < len(lignes) else None
            for r in range(plage.min_row, plage.max_row + 1):
                for c in range(plage.min_col, plage.max_col + 1):
                    if r - 1 < len(lignes) and c - 1 < len(lignes[r - 1]):
                        lignes[r - 1][c - 1] = valeur
                    if plage.max_col > plage.min_col and not est_vide(valeur):
                        groupes[(r, c - 1)] = lire_texte(valeur)
            if plage.max_row > plage.min_row and plage.min_row <= LIGNES_AVANT_ENTETE:
                verticales[plage.min_row] = max(verticales.get(plage.min_row, 0), plage.max_row)
        feuilles.append(
            FeuilleLue(
                ws.title,
                [(numero, cellules) for numero, cellules in enumerate(lignes, start=1)],
                groupes,
                sans_valeur.get(ws.title, {}),
                verticales,
            )
        )
    wb.close()
    return feuilles


def _decoder(contenu: bytes) -> str:
    """UTF-8 (with or without its byte order mark), else Windows-1252 — what Excel writes."""
    try:
        return contenu.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return contenu.decode("cp1252")
    except UnicodeDecodeError:
        return contenu.decode("latin-1")


def _lire_csv(contenu: bytes, nom: str) -> FeuilleLue:
    texte = _decoder(contenu)
    if "\x00" in texte:
        raise FichierIllisible("Ce fichier n'est ni un classeur .xlsx ni un fichier .csv lisible.")
    premieres = [ligne for ligne in texte.splitlines()[:LIGNES_AVANT_ENTETE] if ligne.strip()]
    # The separator that splits the first lines the most: the header has no decimal comma.
    separateur = max(
        (";", ",", "\t"), key=lambda s: (max((ligne.count(s) for ligne in premieres), default=0), s == ";")
    )
    lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=separateur)
    try:
        lignes = [(numero, ligne) for numero, ligne in enumerate(lecteur, start=1)]
    except csv.Error as error:
        raise FichierIllisible(f"Ce fichier .csv est mal formé : {error}.") from None
    return FeuilleLue(PurePosixPath(nom).stem or "csv", lignes)


# --- Recognizing the sheets -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Position:
    """Where a value sits: the sheet, the row (as the spreadsheet numbers it), the column (letter and header)."""

    feuille: str
    ligne: int = 0
    colonne: str = ""
    entete: str = ""

    def __str__(self) -> str:
        parties = [f"feuille « {self.feuille} »"] if self.feuille else []
        if self.ligne:
            parties.append(f"ligne {self.ligne}")
        if self.colonne:
            parties.append(f"colonne {self.colonne}" + (f" ({self.entete})" if self.entete else ""))
        return ", ".join(parties)

    def as_dict(self) -> dict:
        return {"feuille": self.feuille, "ligne": self.ligne, "colonne": self.colonne, "entete": self.entete}


@dataclass
class Erreur:
    position: Position | None
    message: str

    def as_dict(self) -> dict:
        return {**(self.position.as_dict() if self.position else Position("").as_dict()), "message": self.message}

    def __str__(self) -> str:
        return f"{self.position} : {self.message}" if self.position and str(self.position) else self.message


@dataclass
class ColonneLue:
    index: int
    entete: str
    colonne: Colonne | None = None
    financeur: EnteteFinanceur | None = None

    @property
    def lettre(self) -> str:
        return lettre_colonne(self.index)


@dataclass
class Tableau:
    """A sheet whose header was found: its kind, its known columns by key, its funders' columns, its data rows."""

    feuille: FeuilleLue
    genre: str
    ligne_entete: int
    colonnes: dict[str, ColonneLue]
    financeurs: list[ColonneLue]
    ignorees: list[ColonneLue]
    donnees: list[tuple[int, list]]

    def position(self, ligne: int, cle_ou_colonne: str | ColonneLue = "") -> Position:
        colonne = self.colonnes.get(cle_ou_colonne) if isinstance(cle_ou_colonne, str) else cle_ou_colonne
        if colonne is None:
            return Position(self.feuille.nom, ligne)
        return Position(self.feuille.nom, ligne, colonne.lettre, colonne.entete)

    def valeur(self, cellules: list, cle: str):
        colonne = self.colonnes.get(cle)
        if colonne is None or colonne.index >= len(cellules):
            return None
        return cellules[colonne.index]


def _genre_du_nom(nom: str) -> str | None:
    norm = normaliser(nom)
    if any(mot in norm for mot in _FEUILLES_IGNOREES):
        return "ignoree"
    if "indicat" in norm:
        return INDICATEURS
    if "financ" in norm or "budget" in norm or "montant" in norm:
        return FINANCEMENTS
    if "fiche" in norm or "action" in norm:
        return FICHES
    return None


def _entete(feuille: FeuilleLue, haut: int, bas: int) -> list[tuple[int, str, str]]:
    """Each column of a header on rows ``haut`` to ``bas``: (index, its own header, the header joined to the merged
    group above it — « Montants prévus » over « État », « Département »…)."""
    lignes = dict(feuille.lignes[haut - 1 : bas])
    largeur = max(len(cellules) for cellules in lignes.values())
    entetes = []
    for index in range(largeur):
        textes = [lire_texte(lignes[r][index]) if index < len(lignes[r]) else "" for r in range(haut, bas + 1)]
        texte = next((t for t in reversed(textes) if t), "")
        groupes = []
        for r in range(haut, bas):
            groupe = feuille.groupes.get((r, index), "")
            if groupe and groupe != texte and groupe not in groupes:
                groupes.append(groupe)
        joint = " ".join([*groupes, texte]) if texte else texte
        entetes.append((index, texte, joint))
    return entetes


def _trouver_entete(feuille: FeuilleLue) -> tuple[int, int] | None:
    """The header's first and last rows: the first row (among the first ones) with at least two known headers, and
    the row below it when the header spans two (cells merged down from it, or groups merged across it with their
    sub-headers below)."""
    for rang, (numero, cellules) in enumerate(feuille.lignes[:LIGNES_AVANT_ENTETE]):
        connus = {normaliser(v) for v in cellules if not est_vide(v)} & _TOUTES
        if len(connus) < 2:
            continue
        bas = feuille.verticales.get(numero, numero)
        groupes = {c for (r, c) in feuille.groupes if r == numero}
        if bas == numero and groupes and rang + 1 < len(feuille.lignes):
            suivante = feuille.lignes[rang + 1][1]
            textes = {i for i, v in enumerate(suivante) if not est_vide(v)}
            if textes and textes <= groupes and all(isinstance(suivante[i], str) for i in textes):
                bas = numero + 1
        return numero, bas
    return None


def reconnaitre(feuilles: list[FeuilleLue], erreurs: list[Erreur], notes: list[str]) -> list[Tableau]:
    """The sheets that hold data, each with its kind and its header recognized."""
    tableaux = []
    for feuille in feuilles:
        genre = _genre_du_nom(feuille.nom) if len(feuilles) > 1 else None
        if genre == "ignoree":
            notes.append(f"Feuille « {feuille.nom} » ignorée (documentation).")
            continue
        trouve = _trouver_entete(feuille)
        if trouve is None:
            if any(any(not est_vide(v) for v in cellules) for _, cellules in feuille.lignes):
                notes.append(f"Feuille « {feuille.nom} » ignorée : aucun en-tête de colonne reconnu.")
            continue
        haut, numero = trouve
        entetes = _entete(feuille, haut, numero)
        connus = {_CLES_FICHE.get(normaliser(seul)) for _, seul, _ in entetes} | {
            _CLES_INDICATEUR.get(normaliser(seul)) for _, seul, _ in entetes
        }
        cles = {c.cle for c in connus if c}
        if genre is None:
            if "nom" in cles and ("cible" in cles or "type_indicateur" in cles or "unite" in cles):
                genre = INDICATEURS
            elif "annee" in cles:
                genre = FINANCEMENTS
            else:
                genre = FICHES
        index = {FICHES: _CLES_FICHE, INDICATEURS: _CLES_INDICATEUR, FINANCEMENTS: _CLES_FINANCEMENT}[genre]
        colonnes: dict[str, ColonneLue] = {}
        financeurs, ignorees = [], []
        for i, seul, joint in entetes:
            if not seul:
                continue
            colonne = index.get(normaliser(joint)) or index.get(normaliser(seul))
            if colonne is not None:
                lue = ColonneLue(i, seul, colonne)
                if colonne.cle in colonnes:
                    erreurs.append(
                        Erreur(
                            Position(feuille.nom, numero, lue.lettre, seul),
                            f"Deux colonnes donnent « {colonne.entete} » (colonnes {colonnes[colonne.cle].lettre} et "
                            f"{lue.lettre}) : gardez-en une.",
                        )
                    )
                    continue
                colonnes[colonne.cle] = lue
                continue
            if genre == FINANCEMENTS:
                lu = lire_entete_financeur(joint) if joint != seul else None
                if lu is None or (lu.type_financeur == TypeFinanceur.AUTRE and lire_entete_financeur(seul)):
                    lu = lire_entete_financeur(seul) or lu
                if lu is not None:
                    financeurs.append(ColonneLue(i, joint if lu == lire_entete_financeur(joint) else seul, None, lu))
                    continue
            ignorees.append(ColonneLue(i, seul))
        donnees = [(n, c) for n, c in feuille.lignes[numero:] if any(not est_vide(v) for v in c)]
        tableaux.append(Tableau(feuille, genre, numero, colonnes, financeurs, ignorees, donnees))
    genres = [t.genre for t in tableaux]
    for tableau in tableaux:
        if tableau.genre == FINANCEMENTS and FICHES not in genres:
            tableau.genre = PLAT  # one row per fiche and year: the fiche's columns are read too
        elif tableau.genre == FINANCEMENTS:
            for cle in [c for c in tableau.colonnes if c not in ("contrat", "code", "annee")]:
                tableau.ignorees.append(tableau.colonnes.pop(cle))
        for colonne in tableau.ignorees:
            lu = colonne.colonne.entete if colonne.colonne else colonne.entete
            notes.append(
                f"Feuille « {tableau.feuille.nom} », colonne {colonne.lettre} « {lu} » ignorée"
                + (" (la feuille « Fiches » la donne)." if colonne.colonne else " (colonne non reconnue).")
            )
    for genre in (FICHES, INDICATEURS):
        if genres.count(genre) > 1:
            erreurs.append(Erreur(None, f"Le fichier a plusieurs feuilles « {TITRES[genre]} » : gardez-en une."))
    if sum(g in (FINANCEMENTS, PLAT) for g in genres) > 1:
        erreurs.append(Erreur(None, "Le fichier a plusieurs feuilles de financements : gardez-en une."))
    if not tableaux and not erreurs:
        erreurs.append(
            Erreur(
                None,
                "Aucune feuille reconnue : la première ligne d'un tableau donne les en-têtes (Code, Intitulé, Axe, "
                "Année, État…). Partez du modèle d'import.",
            )
        )
    return tableaux
