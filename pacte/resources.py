"""Spreadsheets in and out: the columns a sheet declares, how an agent's header or cell is read, and the reference
data's import and export in the back-office (django-import-export).

A sheet is declared as a tuple of :class:`Colonne` in the ``resources.py`` of the app that owns its data (the
fiches in ``actions``, the contracts in ``contrats``, the money in ``financement``): the French header written by
the exports and the import template, the synonyms an agent's own file may use, the kind of value and the width.
The same declaration reads the file back (``financement.importation``), so that an export re-imports as it is.

Headers are recognized without regard to case, accents, punctuation or spacing (:func:`normaliser`:
``« Part État (€) »`` → ``part etat``). Cells are read the way agents type them (:func:`lire_montant`,
:func:`lire_date`…): ``1 234,50 €``, ``1234.5``, non-breaking spaces, Excel dates or serial numbers, ``15/03/2024``.
A cell that cannot be read raises :class:`CelluleInvalide` with a French message; the caller adds its position.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from pacte.models import Axe, Collectivite, Departement, Mesure, Objectif, Organisation, Region
from pacte.money import SPACES, format_decimal, parse_decimal

# --- Headers -----------------------------------------------------------------------------------------------------


def normaliser(valeur) -> str:
    """A header or a name as compared: lower case, no accents, punctuation as spaces, spaces folded.

    ``« Intitulé de l'action »`` → ``intitule de l action``; ``Part État (€)`` → ``part etat``; ``N°`` → ``n``.
    """
    texte = lire_texte(valeur).replace("œ", "oe").replace("Œ", "oe").replace("æ", "ae")
    texte = unicodedata.normalize("NFKD", texte)
    texte = "".join(c for c in texte if not unicodedata.combining(c)).casefold()
    return " ".join(re.sub(r"[^0-9a-z]+", " ", texte).split())


@dataclass(frozen=True)
class Colonne:
    """One column of a sheet: the field it holds (``cle``), its French header, the synonyms agents use, the kind
    of value (``texte``, ``long`` (free text), ``entier``, ``decimal``, ``montant``, ``date``, ``booleen``,
    ``reference`` (a name or code looked up), ``choix``), its width in the sheet, and what it means (the template's
    notice and the README)."""

    cle: str
    entete: str
    synonymes: tuple[str, ...] = ()
    type: str = "texte"
    largeur: int = 14
    aide: str = ""
    exemple: str = ""
    #: Exported for reading, never imported (a fiche's status changes through its workflow).
    lecture_seule: bool = False

    @property
    def noms(self) -> frozenset[str]:
        return frozenset({normaliser(self.entete), *(normaliser(s) for s in self.synonymes)})


def index_colonnes(colonnes) -> dict[str, Colonne]:
    """Normalized header → column, every synonym included."""
    index: dict[str, Colonne] = {}
    for colonne in colonnes:
        for nom in colonne.noms:
            index.setdefault(nom, colonne)
    return index


def lettre_colonne(index: int) -> str:
    """0 → ``A``, 25 → ``Z``, 26 → ``AA``: how Excel names a column."""
    lettres = ""
    index += 1
    while index:
        index, reste = divmod(index - 1, 26)
        lettres = chr(65 + reste) + lettres
    return lettres


# --- Cells ---------------------------------------------------------------------------------------------------------


class CelluleInvalide(ValueError):
    """A cell that cannot be read as what its column holds; ``str()`` is the French message."""


#: Cells that mean "nothing" in agents' files.
VIDES = frozenset({"", "-", "–", "—", "/", "néant", "neant", "n/a", "na", "sans objet", "so"})
#: Excel counts days from 30/12/1899 (its 1900 date system, with the leap-year bug folded in).
EXCEL_EPOCH = date(1899, 12, 30)
#: Serial numbers that can be a date of the Pacte's era (1960-2100): anything else is not a date.
SERIAL_MIN, SERIAL_MAX = 21916, 73051


def _court(texte: str) -> str:
    texte = " ".join(texte.split())
    return texte if len(texte) <= 40 else texte[:39] + "…"


def lire_texte(valeur) -> str:
    """Any cell as text, trimmed (normal and non-breaking spaces): a whole number without ``.0``, a date as
    ``jj/mm/aaaa``."""
    if valeur is None:
        return ""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, datetime):
        valeur = valeur.date()
    if isinstance(valeur, date):
        return valeur.strftime("%d/%m/%Y")
    if isinstance(valeur, float):
        if math.isfinite(valeur) and valeur == int(valeur):
            return str(int(valeur))
        return repr(valeur)
    if isinstance(valeur, int | Decimal):
        return str(valeur)
    return str(valeur).strip(SPACES + "\t\r\n")


def est_vide(valeur) -> bool:
    return valeur is None or (isinstance(valeur, str) and lire_texte(valeur).casefold() in VIDES)


def _decimal_exact(valeur, places: int) -> Decimal:
    """A number read from a sheet (a float for Excel) as a Decimal with ``places`` decimals: a formula's
    ``1234.5600000000001`` is 1 234,56; a true third decimal is refused."""
    if isinstance(valeur, float):
        if not math.isfinite(valeur):
            raise CelluleInvalide(f"« {valeur} » n'est pas un nombre.")
        nombre = Decimal(repr(valeur))
    else:
        nombre = Decimal(valeur)
    quantum = Decimal(1).scaleb(-places)
    try:
        arrondi = nombre.quantize(quantum)
    except InvalidOperation:
        raise CelluleInvalide(f"« {_court(lire_texte(valeur))} » est trop grand.") from None
    if abs(nombre - arrondi) > Decimal("0.000001"):
        if places == 0:
            raise CelluleInvalide(f"« {format_decimal(nombre, 6)} » : saisissez un nombre entier, sans décimales.")
        raise CelluleInvalide(
            f"« {format_decimal(nombre, 6)} » a trop de décimales : {places} au plus (au centime près pour un montant)."
        )
    return arrondi


def lire_nombre(valeur, *, places: int = 2) -> Decimal | None:
    """A number typed the French way or stored by Excel: ``1 234,50``, ``1 234,50 €``, ``1234.5``, non-breaking
    spaces, a float of a formula. Empty (or ``-``): ``None``."""
    if est_vide(valeur):
        return None
    if isinstance(valeur, bool | date):
        raise CelluleInvalide(f"« {lire_texte(valeur)} » n'est pas un nombre.")
    if isinstance(valeur, int | float | Decimal):
        return _decimal_exact(valeur, places)
    texte = lire_texte(valeur)
    try:
        return parse_decimal(texte, decimal_places=places)
    except ValidationError as error:
        raise CelluleInvalide(error.messages[0]) from None


def lire_montant(valeur) -> Decimal | None:
    """An amount, to the cent (the services refuse what is negative or absurd, with their own words)."""
    return lire_nombre(valeur, places=2)


def lire_entier(valeur) -> int | None:
    nombre = lire_nombre(valeur, places=0)
    return None if nombre is None else int(nombre)


_DATE_FR = re.compile(r"([0-9]{1,2})[/.\-]([0-9]{1,2})[/.\-]([0-9]{2}|[0-9]{4})")
_DATE_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[ T][0-9:.]+)?")


def lire_date(valeur) -> date | None:
    """A date as Excel stores it (a date, or its serial number) or as typed: ``15/03/2024``, ``15/03/24``,
    ``15.03.2024``, ``15-03-2024``, ``2024-03-15``."""
    if est_vide(valeur):
        return None
    if isinstance(valeur, datetime):
        return valeur.date()
    if isinstance(valeur, date):
        return valeur
    texte = lire_texte(valeur)
    serie = None
    if isinstance(valeur, int | float) and not isinstance(valeur, bool):
        serie = valeur
    elif texte.isascii() and texte.isdigit():
        serie = int(texte)
    if serie is not None:
        if SERIAL_MIN <= serie <= SERIAL_MAX and float(serie) == int(serie):
            return EXCEL_EPOCH + timedelta(days=int(serie))
        raise CelluleInvalide(f"« {_court(texte)} » n'est pas une date : écrivez-la jj/mm/aaaa (ex. 15/03/2024).")
    if match := _DATE_FR.fullmatch(texte):
        jour, mois, annee = (int(x) for x in match.groups())
        if annee < 100:
            annee += 2000
    elif match := _DATE_ISO.fullmatch(texte):
        annee, mois, jour = (int(x) for x in match.groups())
    else:
        raise CelluleInvalide(f"« {_court(texte)} » n'est pas une date : écrivez-la jj/mm/aaaa (ex. 15/03/2024).")
    try:
        return date(annee, mois, jour)
    except ValueError:
        raise CelluleInvalide(f"« {_court(texte)} » n'est pas une date qui existe.") from None


_OUI = frozenset({"oui", "o", "vrai", "x", "1", "true", "yes", "y"})
_NON = frozenset({"non", "n", "faux", "0", "false", "no"})


def lire_booleen(valeur) -> bool | None:
    if est_vide(valeur):
        return None
    if isinstance(valeur, bool):
        return valeur
    texte = normaliser(valeur)
    if texte in _OUI:
        return True
    if texte in _NON:
        return False
    raise CelluleInvalide(f"« {_court(lire_texte(valeur))} » : écrivez oui ou non.")


# --- Reference data in the back-office (django-import-export) ------------------------------------------------------
#
# The administration centrale exports and re-imports axes, objectives, national measures and organisations; a
# superuser the territories. Natural keys only (codes, numbers, names), French headers; every row is written by the
# reference data's own services (``pacte.services``), with the acting user: validated, versioned, audited. A row
# refused by a service is an error of the import, which django-import-export shows and rolls back whole.


class ServiceResource(resources.ModelResource):
    """A resource whose rows are saved by a service of ``pacte.services`` (``ecrire``), never by ``save()``, in a
    transaction (the preview is a trial run rolled back). ``peut_creer``: may the user add rows, or only change
    existing ones (the four axes are the Pacte's: only a superuser adds one)."""

    def __init__(self, *, peut_creer: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.peut_creer = peut_creer

    def ecrire(self, instance, by, row):  # pragma: no cover - every resource below defines it
        raise NotImplementedError

    def save_instance(self, instance, is_create, row, **kwargs):
        if is_create and not self.peut_creer:
            raise ValidationError(
                f"Cette ligne ajouterait {instance._meta.verbose_name} « {instance} » : vous ne pouvez que modifier "
                "les lignes existantes."
            )
        self.before_save_instance(instance, row, **kwargs)
        self.ecrire(instance, kwargs.get("user"), row)
        self.after_save_instance(instance, row, **kwargs)

    def save_m2m(self, instance, row, **kwargs):
        """Many-to-many values are written by ``ecrire``, through the service, with the row."""

    def delete_instance(self, instance, row, **kwargs):  # pragma: no cover - no resource deletes
        raise ValidationError("L'import ne supprime rien.")


class AxeResource(ServiceResource):
    numero = fields.Field("numero", "Numéro", widget=widgets.IntegerWidget())
    intitule = fields.Field("intitule", "Intitulé")
    intitule_court = fields.Field("intitule_court", "Intitulé court")

    class Meta:
        model = Axe
        import_id_fields = ("numero",)
        fields = ("numero", "intitule", "intitule_court")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import reference_save

        reference_save(instance=instance, by=by)


class ObjectifResource(ServiceResource):
    code = fields.Field("code", "Code")
    axe = fields.Field("axe", "Axe", widget=widgets.ForeignKeyWidget(Axe, field="numero"))
    intitule = fields.Field("intitule", "Intitulé")
    active = fields.Field("active", "Actif", widget=widgets.BooleanWidget())

    class Meta:
        model = Objectif
        import_id_fields = ("code",)
        fields = ("code", "axe", "intitule", "active")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import objectif_save

        objectif_save(objectif=instance, by=by)


class MesureResource(ServiceResource):
    code = fields.Field("code", "Code")
    axe = fields.Field("axe", "Axe", widget=widgets.ForeignKeyWidget(Axe, field="numero"))
    objectif = fields.Field("objectif", "Objectif", widget=widgets.ForeignKeyWidget(Objectif, field="code"))
    intitule = fields.Field("intitule", "Intitulé")
    active = fields.Field("active", "Active", widget=widgets.BooleanWidget())

    class Meta:
        model = Mesure
        import_id_fields = ("code",)
        fields = ("code", "axe", "objectif", "intitule", "active")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import mesure_save

        mesure_save(mesure=instance, by=by)


class OrganisationResource(ServiceResource):
    """Organisations by name (``nom`` is their natural key in agents' files); their territory by its codes."""

    nom = fields.Field("nom", "Nom")
    type = fields.Field("type", "Type")
    region = fields.Field("region", "Région (code INSEE)", widget=widgets.ForeignKeyWidget(Region, field="code"))
    departement = fields.Field(
        "departement", "Département (code INSEE)", widget=widgets.ForeignKeyWidget(Departement, field="code")
    )
    collectivite = fields.Field(
        "collectivite", "Collectivité (code)", widget=widgets.ForeignKeyWidget(Collectivite, field="code")
    )
    siret = fields.Field("siret", "SIRET")

    class Meta:
        model = Organisation
        import_id_fields = ("nom",)
        fields = ("nom", "type", "region", "departement", "collectivite", "siret")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import organisation_save

        organisation_save(organisation=instance, by=by)


class RegionResource(ServiceResource):
    code = fields.Field("code", "Code INSEE")
    nom = fields.Field("nom", "Nom")

    class Meta:
        model = Region
        import_id_fields = ("code",)
        fields = ("code", "nom")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import reference_save

        reference_save(instance=instance, by=by)


class DepartementResource(ServiceResource):
    code = fields.Field("code", "Code INSEE")
    nom = fields.Field("nom", "Nom")
    region = fields.Field("region", "Région (code INSEE)", widget=widgets.ForeignKeyWidget(Region, field="code"))

    class Meta:
        model = Departement
        import_id_fields = ("code",)
        fields = ("code", "nom", "region")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import reference_save

        reference_save(instance=instance, by=by)


class CollectiviteResource(ServiceResource):
    code = fields.Field("code", "Code")
    nom = fields.Field("nom", "Nom")
    nature = fields.Field("nature", "Nature")
    region = fields.Field("region", "Région (code INSEE)", widget=widgets.ForeignKeyWidget(Region, field="code"))
    departements = fields.Field(
        "departements",
        "Départements (codes INSEE)",
        widget=widgets.ManyToManyWidget(Departement, field="code", separator=","),
    )

    class Meta:
        model = Collectivite
        import_id_fields = ("code",)
        fields = ("code", "nom", "nature", "region", "departements")
        skip_unchanged = True
        report_skipped = True
        use_transactions = True

    def ecrire(self, instance, by, row):
        from pacte.services import reference_save

        departements = self.fields["departements"].clean(row) if "Départements (codes INSEE)" in row else None
        m2m = {"departements": list(departements)} if departements is not None else None
        reference_save(instance=instance, by=by, m2m=m2m)
