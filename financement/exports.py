"""Exports as xlsx and csv, and the import template: what the lists show, in the sheets' layout.

- :func:`export_fiches`: the fiches of a list (already filtered and limited to the user's perimeter by the caller)
  in the import's layout — sheets « Fiches », « Financements » (one row per fiche and year, one column per funder
  and amount) and « Indicateurs » in xlsx; the flat form in csv (one row per fiche and year, the fiche's columns
  repeated, one column per funder). Re-imported as it is, every row is « inchangée » (``financement.importation``).
- :func:`export_contrats`, :func:`export_versements`, :func:`export_indicateurs`: the other lists.
- :func:`modele_import`: the documented template (the three sheets, a notice, the reference lists).

xlsx: amounts are numbers (format ``# ##0,00 €``), dates are dates, the header row is frozen and filtered, columns are
sized to their content. csv: what Excel writes in French — ``;`` between cells, UTF-8 with its byte order mark,
decimal commas (``1234,50``), dates ``jj/mm/aaaa``. The columns are declared in the apps' ``resources.py``.
Each export reads the database a fixed number of times, whatever the number of rows.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from actions.enums import NatureAction, TypeIndicateur
from actions.models import FicheAction, Indicateur
from actions.resources import COLONNES_FICHE, COLONNES_INDICATEUR
from contrats.resources import COLONNES_CONTRAT
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Versement
from financement.resources import (
    CHAMPS,
    COLONNES_FINANCEMENT,
    COLONNES_VERSEMENT,
    entete_financeur,
)
from pacte.models import Axe, Mesure, Objectif
from pacte.resources import Colonne, lettre_colonne

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
FORMATS = {"xlsx": XLSX, "csv": CSV}

FORMAT_MONTANT = '#,##0.00\\ "€"'
FORMAT_DECIMAL = "#,##0.##"
FORMAT_DATE = "DD/MM/YYYY"
FORMATS_CELLULE = {"montant": FORMAT_MONTANT, "decimal": FORMAT_DECIMAL, "date": FORMAT_DATE}
LARGEUR_MAX = 60
ENTETE_FOND = PatternFill("solid", fgColor="E3E3FD")  # DSFR blue-france 950


@dataclass
class Feuille:
    """A sheet to write: its title, columns and rows (values: text, int, Decimal, date or None)."""

    titre: str
    colonnes: list[Colonne]
    lignes: list[list] = field(default_factory=list)

    @property
    def entetes(self) -> list[str]:
        return [colonne.entete for colonne in self.colonnes]


def _largeurs(feuille: Feuille) -> list[int]:
    """Each column as wide as its header and its longest value (the first thousand rows), within bounds."""
    largeurs = []
    for index, colonne in enumerate(feuille.colonnes):
        contenu = max((len(_texte_csv(ligne[index])) for ligne in feuille.lignes[:1000]), default=0)
        largeurs.append(min(LARGEUR_MAX, max(colonne.largeur, len(colonne.entete) + 2, contenu + 2)))
    return largeurs


def classeur(feuilles: list[Feuille]) -> bytes:
    """The sheets as an xlsx file (written in streaming mode: memory stays flat with the number of rows)."""
    wb = Workbook(write_only=True)
    for feuille in feuilles:
        ws = wb.create_sheet(feuille.titre[:31])
        for index, largeur in enumerate(_largeurs(feuille)):
            ws.column_dimensions[lettre_colonne(index)].width = largeur
        ws.freeze_panes = "A2"
        entetes = []
        for entete in feuille.entetes:
            cellule = WriteOnlyCell(ws, value=entete)
            cellule.font = Font(bold=True)
            cellule.fill = ENTETE_FOND
            entetes.append(cellule)
        ws.append(entetes)
        formats = [FORMATS_CELLULE.get(colonne.type) for colonne in feuille.colonnes]
        for ligne in feuille.lignes:
            cellules = []
            for valeur, format_ in zip(ligne, formats, strict=True):
                if format_ is not None and valeur is not None and not isinstance(valeur, str):
                    cellule = WriteOnlyCell(ws, value=valeur)
                    cellule.number_format = format_
                    cellules.append(cellule)
                else:
                    cellules.append(valeur)
            ws.append(cellules)
        if feuille.colonnes:
            ws.auto_filter.ref = f"A1:{lettre_colonne(len(feuille.colonnes) - 1)}{len(feuille.lignes) + 1}"
    sortie = io.BytesIO()
    wb.save(sortie)
    return sortie.getvalue()


def _texte_csv(valeur) -> str:
    if valeur is None:
        return ""
    if isinstance(valeur, datetime):
        valeur = valeur.date()
    if isinstance(valeur, date):
        return valeur.strftime("%d/%m/%Y")
    if isinstance(valeur, Decimal):
        return f"{valeur:f}".replace(".", ",")
    return str(valeur)


def csv_francais(entetes: list[str], lignes) -> bytes:
    """Rows as Excel writes a csv in French: ``;``, UTF-8 with BOM, decimal commas, ``jj/mm/aaaa``."""
    sortie = io.StringIO()
    writer = csv.writer(sortie, delimiter=";", lineterminator="\r\n")
    writer.writerow(entetes)
    for ligne in lignes:
        writer.writerow([_texte_csv(valeur) for valeur in ligne])
    return ("\ufeff" + sortie.getvalue()).encode("utf-8")


def fichier_csv(feuille: Feuille) -> bytes:
    """One sheet as a French csv (:func:`csv_francais`)."""
    return csv_francais(feuille.entetes, feuille.lignes)


# --- Fiches, their funding and indicators: the import's layout ----------------------------------------------------

#: The fiche's columns as exported (its status included, for reading).
COLONNES_FICHE_EXPORT = list(COLONNES_FICHE)


def valeur_fiche(fiche: FicheAction, cle: str):
    """A fiche's field as its sheet writes it: natural keys (axis number, objective and measure codes, volet
    number, carrier's name), labels for choices, ``oui``/``non``."""
    match cle:
        case "contrat":
            return fiche.contrat.reference
        case "axe":
            return fiche.axe.numero
        case "objectif":
            return fiche.objectif.code if fiche.objectif_id else None
        case "mesure":
            return fiche.mesure.code if fiche.mesure_id else None
        case "volet":
            return fiche.volet.numero if fiche.volet_id else None
        case "nature":
            return NatureAction(fiche.nature).label if fiche.nature else None
        case "territoire_departement_entier":
            return "oui" if fiche.territoire_departement_entier else "non"
        case "porteur":
            return fiche.porteur.nom
        case "statut":
            return fiche.get_statut_display()
    valeur = getattr(fiche, cle)
    return None if valeur == "" else valeur


@dataclass(frozen=True)
class Financeur:
    """A funder's columns: the kind, the other funder's organisation (id and name), the header's label."""

    type_financeur: str
    financeur_id: int | None
    libelle: str


def financeurs_de(lignes) -> list[Financeur]:
    """The State, the collectivité, then every other funder of ``lignes`` by name."""
    autres = {(ligne.financeur_id, ligne.financeur.nom) for ligne in lignes if ligne.financeur_id}
    return [
        Financeur(TypeFinanceur.ETAT, None, "État"),
        Financeur(TypeFinanceur.COLLECTIVITE, None, "Collectivité"),
        *(Financeur(TypeFinanceur.AUTRE, pk, nom) for pk, nom in sorted(autres, key=lambda a: (a[1].casefold(), a[0]))),
    ]


def colonnes_financeurs(financeurs: list[Financeur]) -> list[tuple[Colonne, Financeur, str]]:
    """Planned amounts of every funder, then committed ones, then spent ones."""
    return [
        (Colonne(f"{champ}:{i}", entete_financeur(f.libelle, champ), type="montant", largeur=14), f, champ)
        for champ in CHAMPS
        for i, f in enumerate(financeurs)
    ]


@dataclass
class DonneesFiches:
    fiches: list[FicheAction]
    lignes: list[LigneFinancement]
    indicateurs: list[Indicateur]


def lire_fiches(fiches: QuerySet) -> DonneesFiches:
    """The fiches of ``fiches`` with their lines and their indicators' values: four queries."""
    pks = fiches.order_by().values("pk")
    liste = list(
        FicheAction.objects.filter(pk__in=pks)
        .select_related("contrat", "axe", "objectif", "mesure", "volet", "porteur")
        .order_by("contrat__reference", "code_tri", "pk")
    )
    lignes = list(
        LigneFinancement.objects.filter(fiche__in=pks).select_related("financeur").order_by("fiche", "annee", "pk")
    )
    indicateurs = list(
        Indicateur.objects.filter(fiche__in=pks).select_related("fiche__contrat").prefetch_related("valeurs")
    )
    return DonneesFiches(liste, lignes, indicateurs)


def _lignes_par_fiche_annee(lignes) -> dict[int, dict[int, dict]]:
    par_fiche: dict[int, dict[int, dict]] = defaultdict(lambda: defaultdict(dict))
    for ligne in lignes:
        par_fiche[ligne.fiche_id][ligne.annee][(ligne.type_financeur, ligne.financeur_id)] = ligne
    return par_fiche


def _montants(par_cle: dict, colonnes) -> list:
    valeurs = []
    for _colonne, financeur, champ in colonnes:
        ligne = par_cle.get((financeur.type_financeur, financeur.financeur_id))
        valeurs.append(None if ligne is None else getattr(ligne, champ))
    return valeurs


def feuille_fiches(donnees: DonneesFiches) -> Feuille:
    feuille = Feuille("Fiches", COLONNES_FICHE_EXPORT)
    feuille.lignes = [[valeur_fiche(f, c.cle) for c in feuille.colonnes] for f in donnees.fiches]
    return feuille


def feuille_financements(donnees: DonneesFiches) -> Feuille:
    colonnes = colonnes_financeurs(financeurs_de(donnees.lignes))
    feuille = Feuille("Financements", [*COLONNES_FINANCEMENT, *(c for c, _, _ in colonnes)])
    par_fiche = _lignes_par_fiche_annee(donnees.lignes)
    for fiche in donnees.fiches:
        for annee, par_cle in sorted(par_fiche.get(fiche.pk, {}).items()):
            feuille.lignes.append(
                [fiche.contrat.reference, fiche.code, fiche.intitule, annee, *_montants(par_cle, colonnes)]
            )
    return feuille


def feuille_plate(donnees: DonneesFiches, titre: str = "Fiches et financements") -> Feuille:
    """The flat form: one row per fiche and year, the fiche's columns repeated (one row without a year for a fiche
    without funding), one column per funder and amount."""
    colonnes = colonnes_financeurs(financeurs_de(donnees.lignes))
    annee = COLONNES_FINANCEMENT[-1]
    feuille = Feuille(titre, [*COLONNES_FICHE_EXPORT, annee, *(c for c, _, _ in colonnes)])
    par_fiche = _lignes_par_fiche_annee(donnees.lignes)
    for fiche in donnees.fiches:
        champs = [valeur_fiche(fiche, c.cle) for c in COLONNES_FICHE_EXPORT]
        annees = sorted(par_fiche.get(fiche.pk, {}).items())
        if not annees:
            feuille.lignes.append([*champs, None, *([None] * len(colonnes))])
        for an, par_cle in annees:
            feuille.lignes.append([*champs, an, *_montants(par_cle, colonnes)])
    return feuille


def feuille_indicateurs(donnees: DonneesFiches) -> Feuille:
    """One row per indicator and year (one row without a year for an indicator without values)."""
    feuille = Feuille("Indicateurs", list(COLONNES_INDICATEUR))
    ordre = {fiche.pk: rang for rang, fiche in enumerate(donnees.fiches)}
    for indicateur in sorted(donnees.indicateurs, key=lambda i: (ordre.get(i.fiche_id, 0), i.pk)):
        debut = [
            indicateur.fiche.contrat.reference,
            indicateur.fiche.code,
            indicateur.nom,
            TypeIndicateur(indicateur.type_indicateur).label,
            indicateur.unite,
            indicateur.valeur_reference,
            indicateur.source or None,
        ]
        valeurs = sorted(indicateur.valeurs.all(), key=lambda v: v.annee)
        if not valeurs:
            feuille.lignes.append([*debut, None, None, None])
        for valeur in valeurs:
            feuille.lignes.append([*debut, valeur.annee, valeur.cible, valeur.realise])
    return feuille


def export_fiches(fiches: QuerySet, format: str) -> bytes:
    """xlsx: « Fiches », « Financements », « Indicateurs »; csv: the flat form."""
    donnees = lire_fiches(fiches)
    if format == "csv":
        return fichier_csv(feuille_plate(donnees))
    return classeur([feuille_fiches(donnees), feuille_financements(donnees), feuille_indicateurs(donnees)])


def export_indicateurs(fiches: QuerySet, format: str) -> bytes:
    """The indicators of the fiches and their yearly targets and values (the « Indicateurs » sheet)."""
    pks = fiches.order_by().values("pk")
    donnees = DonneesFiches(
        list(FicheAction.objects.filter(pk__in=pks).order_by("contrat__reference", "code_tri", "pk").only("pk")),
        [],
        list(Indicateur.objects.filter(fiche__in=pks).select_related("fiche__contrat").prefetch_related("valeurs")),
    )
    feuille = feuille_indicateurs(donnees)
    return fichier_csv(feuille) if format == "csv" else classeur([feuille])


# --- Contracts and payments -------------------------------------------------------------------------------------


def export_contrats(contrats: QuerySet, format: str) -> bytes:
    """The contracts of a list (annotated with ``nb_fiches`` and ``etat_prevu`` by the caller), in its order."""
    feuille = Feuille("Contrats", list(COLONNES_CONTRAT))
    for contrat in contrats.select_related("collectivite"):
        feuille.lignes.append(
            [
                contrat.reference,
                contrat.titre,
                contrat.get_type_contrat_display(),
                contrat.collectivite.code,
                contrat.collectivite.nom,
                contrat.date_debut,
                contrat.date_fin,
                contrat.get_statut_display(),
                contrat.date_signature,
                getattr(contrat, "nb_fiches", None),
                getattr(contrat, "etat_prevu", None),
            ]
        )
    return fichier_csv(feuille) if format == "csv" else classeur([feuille])


def export_versements(versements: QuerySet, format: str) -> bytes:
    feuille = Feuille("Versements", list(COLONNES_VERSEMENT))
    for v in versements.select_related("contrat", "beneficiaire").order_by("annee", "date_engagement", "pk"):
        feuille.lignes.append(
            [
                v.contrat.reference,
                v.annee,
                v.get_nature_display(),
                v.get_statut_display(),
                v.montant,
                v.numero_ej or None,
                v.date_engagement,
                v.date_demande,
                v.date_versement,
                v.beneficiaire.nom if v.beneficiaire_id else v.contrat.collectivite.nom,
            ]
        )
    return fichier_csv(feuille) if format == "csv" else classeur([feuille])


def versements_du_contrat(contrat, user) -> QuerySet:
    return Versement.objects.for_user(user).filter(contrat=contrat).select_related("contrat__collectivite")


# --- The import template -----------------------------------------------------------------------------------------

#: The money columns of the template: the State and the collectivité, planned, committed, spent.
FINANCEURS_MODELE = [
    Financeur(TypeFinanceur.ETAT, None, "État"),
    Financeur(TypeFinanceur.COLLECTIVITE, None, "Collectivité"),
]

AIDE_FINANCEURS = (
    ("État", "Part prévue de l'État pour l'année (un montant : 12 500, 12 500,00 €, 12500.5…).", "10 000"),
    (
        "Collectivité",
        "Part prévue de la collectivité signataire (« Département », « Métropole » valent aussi).",
        "12 000",
    ),
    (
        "<nom d'un autre financeur>",
        "Une colonne par autre financeur, titrée de son nom tel qu'il est enregistré (ex. « CAF des Hautes-Alpes »).",
        "5 000",
    ),
    (
        "<financeur> engagé, <financeur> réalisé",
        "Les montants engagés et réalisés de chaque financeur (exécution : après signature aussi).",
        "4 000",
    ),
)


def _entetes_modele(ws, colonnes: list[Colonne]) -> None:
    for index, colonne in enumerate(colonnes, start=1):
        cellule = ws.cell(row=1, column=index, value=colonne.entete)
        cellule.font = Font(bold=True)
        cellule.fill = ENTETE_FOND
        cellule.alignment = Alignment(wrap_text=True, vertical="top")
        if colonne.aide:
            cellule.comment = Comment(colonne.aide, "Pacte des solidarités", width=300, height=120)
        ws.column_dimensions[lettre_colonne(index - 1)].width = max(colonne.largeur, len(colonne.entete) + 2)
    ws.freeze_panes = "A2"


def _liste(ws, colonnes: list[Colonne], cle: str, valeurs: list[str]) -> None:
    """A drop-down list on a column of the template (rows 2 to 5000)."""
    index = next(i for i, c in enumerate(colonnes) if c.cle == cle)
    lettre = lettre_colonne(index)
    validation = DataValidation(type="list", formula1='"' + ",".join(valeurs) + '"', allow_blank=True)
    validation.error = f"Choisissez parmi : {', '.join(valeurs)}."
    validation.errorTitle = "Valeur non prévue"
    validation.showErrorMessage = False  # agents may paste « N » or « R »: the import reads them
    ws.add_data_validation(validation)
    validation.add(f"{lettre}2:{lettre}5000")


def modele_import() -> bytes:
    """The import template: « Fiches », « Financements », « Indicateurs » (headers with their help as comments,
    drop-down lists), « Notice » (every column described) and « Référentiels » (axes, objectives, measures)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Fiches"
    fiches = [c for c in COLONNES_FICHE if not c.lecture_seule]
    _entetes_modele(ws, fiches)
    _liste(ws, fiches, "axe", ["1", "2", "3", "4"])
    _liste(ws, fiches, "nature", [NatureAction.NOUVELLE.label, NatureAction.RENFORCEE.label])
    _liste(ws, fiches, "territoire_departement_entier", ["oui", "non"])

    ws = wb.create_sheet("Financements")
    argent = [c for c, _, _ in colonnes_financeurs(FINANCEURS_MODELE)]
    _entetes_modele(ws, [c for c in COLONNES_FINANCEMENT if not c.lecture_seule] + argent)

    ws = wb.create_sheet("Indicateurs")
    indicateurs = list(COLONNES_INDICATEUR)
    _entetes_modele(ws, indicateurs)
    _liste(ws, indicateurs, "type_indicateur", [t.label for t in TypeIndicateur])

    ws = wb.create_sheet("Notice")
    ws.append(["Feuille", "Colonne", "Contenu", "Exemple"])
    for cellule in ws[1]:
        cellule.font = Font(bold=True)
    for feuille, colonnes in (
        ("Fiches", fiches),
        ("Financements", [c for c in COLONNES_FINANCEMENT if not c.lecture_seule]),
        ("Indicateurs", indicateurs),
    ):
        for colonne in colonnes:
            synonymes = f" Aussi reconnu : {', '.join(colonne.synonymes[:4])}." if colonne.synonymes else ""
            ws.append([feuille, colonne.entete, (colonne.aide or "Texte libre.") + synonymes, colonne.exemple])
        if feuille == "Financements":
            for entete, aide, exemple in AIDE_FINANCEURS:
                ws.append([feuille, entete, aide, exemple])
    ws.append([])
    ws.append(
        [
            "",
            "",
            "Les en-têtes se reconnaissent sans tenir compte des majuscules, des accents ni des espaces. Les lignes "
            "vides sont ignorées. Un fichier csv ou d'une seule feuille peut aussi tenir une ligne par fiche et par "
            "année, les colonnes de la fiche répétées, une colonne par financeur.",
            "",
        ]
    )
    for lettre, largeur in zip("ABCD", (14, 30, 100, 24), strict=True):
        ws.column_dimensions[lettre].width = largeur
    for ligne in ws.iter_rows(min_row=2):
        ligne[2].alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "A2"

    ws = wb.create_sheet("Référentiels")
    ws.append(["Axe", "Intitulé de l'axe", "", "Objectif", "Axe", "Intitulé de l'objectif", "", "Mesure", "Axe"])
    ws["J1"] = "Objectif"
    ws["K1"] = "Intitulé de la mesure"
    for cellule in ws[1]:
        cellule.font = Font(bold=True)
    axes = list(Axe.objects.order_by("numero").values_list("numero", "intitule"))
    objectifs = list(
        Objectif.objects.filter(active=True).order_by("code").values_list("code", "axe__numero", "intitule")
    )
    mesures = list(
        Mesure.objects.filter(active=True)
        .order_by("code")
        .values_list("code", "axe__numero", "objectif__code", "intitule")
    )
    for rang in range(max(len(axes), len(objectifs), len(mesures))):
        ligne = ["", "", "", "", "", "", "", "", "", "", ""]
        if rang < len(axes):
            ligne[0:2] = axes[rang]
        if rang < len(objectifs):
            ligne[3:6] = objectifs[rang]
        if rang < len(mesures):
            ligne[7:11] = mesures[rang]
        ws.append(ligne)
    for lettre, largeur in zip("ABCDEFGHIJK", (6, 50, 2, 10, 6, 60, 2, 8, 6, 10, 60), strict=True):
        ws.column_dimensions[lettre].width = largeur
    ws.freeze_panes = "A2"

    sortie = io.BytesIO()
    wb.save(sortie)
    return sortie.getvalue()
