"""Forms of the money: a fiche's funding grid (years × funders, planned amounts), the execution entry
(committed and spent amounts of each line), and the check of parity and ceilings on amounts as typed.

The forms write nothing themselves: ``enregistrer`` calls ``financement.services`` for each cell that
changed, with the version of the line the page showed, and puts each refusal next to its cell. The
page runs them inside one transaction and undoes everything when one cell is refused.

The check (:func:`controle_grille`) decides with the rule functions the services use
(``financement.regles``: ``parite_messages``, ``regle_pour``, ``regles_par_type``, ``plafond_messages``),
on the contract's other active fiches as stored plus this fiche's amounts as typed.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Sum

from actions.enums import STATUTS_ACTIFS
from actions.forms import supprime_pendant_la_saisie, version_vue
from actions.models import FicheAction
from contrats.models import Contrat, Volet
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond
from financement.regles import parite_messages, plafonds_messages, regle_pour, regles_par_type
from financement.services import ligne_financement_delete, ligne_financement_save
from pacte.forms import CacheRapide, EntierField, MontantField
from pacte.money import ZERO

#: The name of a planned amount in the grid: ``prevu-<financeur>-<année>``, the funder being ``etat``,
#: ``collectivite``, ``autre-<organisation>`` or ``nouveau`` (the empty row that adds a funder).
CELLULE = re.compile(r"prevu-(etat|collectivite|autre-[0-9]{1,18}|nouveau)-([0-9]{4})")
NOUVEAU_FINANCEUR = "nouveau-financeur"
AUTRES = "autres-financeurs"


def _messages(error: ValidationError) -> list[str]:
    return list(error.messages)


# --- The check of parity and ceilings on typed amounts ---------------------------------------------------


@dataclass
class Montants:
    """One year of a fiche: the State's, the collectivité's and every funder's planned amounts."""

    etat: Decimal = ZERO
    collectivite: Decimal = ZERO
    total: Decimal = ZERO


def montants_saisis(data, annees: Iterable[int]) -> tuple[dict[int, Montants], list[str]]:
    """The grid's typed amounts by year (``data`` is the posted form), and the names of the cells that do
    not read as an amount (they count for nothing)."""
    annees = set(annees)
    montants: dict[int, Montants] = {}
    illisibles = []
    parse = MontantField(required=False)
    for name in data:
        match = CELLULE.fullmatch(name)
        if match is None or int(match[2]) not in annees:
            continue
        try:
            value = parse.clean(data.get(name))
        except ValidationError:
            illisibles.append(name)
            continue
        if value is None:
            continue
        annee = montants.setdefault(int(match[2]), Montants())
        annee.total += value
        if match[1] == TypeFinanceur.ETAT:
            annee.etat += value
        elif match[1] == TypeFinanceur.COLLECTIVITE:
            annee.collectivite += value
    return montants, illisibles


def montants_enregistres(lignes: Iterable[LigneFinancement]) -> dict[int, Montants]:
    """The same, from the fiche's stored lines."""
    montants: dict[int, Montants] = {}
    for ligne in lignes:
        annee = montants.setdefault(ligne.annee, Montants())
        annee.total += ligne.prevu
        if ligne.type_financeur == TypeFinanceur.ETAT:
            annee.etat += ligne.prevu
        elif ligne.type_financeur == TypeFinanceur.COLLECTIVITE:
            annee.collectivite += ligne.prevu
    return montants


@dataclass
class Controle:
    """What the rules say of a grid: messages by year (parity of this fiche, ceilings of the contract)."""

    par_annee: dict[int, list[str]]
    totaux: dict[int, Decimal]
    illisibles: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        return [message for annee in sorted(self.par_annee) for message in self.par_annee[annee]]

    @property
    def annees(self) -> list[dict]:
        """For the template: each year, its total and its messages."""
        return [
            {"annee": annee, "total": self.totaux.get(annee, ZERO), "messages": self.par_annee.get(annee, [])}
            for annee in sorted(set(self.par_annee) | set(self.totaux))
        ]


def _plafonds(contrat: Contrat, fiche: FicheAction | None, volet: Volet | None, montants: dict[int, Montants]):
    """The ceiling messages by year, as ``financement.regles.plafond_violations`` would give them once this
    fiche's State amounts replaced the stored ones: the same sums (by year and volet, active fiches) and the
    same decisions (``plafonds_messages``), year by year."""
    autres = LigneFinancement.objects.filter(
        fiche__contrat=contrat, fiche__statut__in=STATUTS_ACTIFS, type_financeur=TypeFinanceur.ETAT
    )
    if fiche is not None and fiche.pk is not None:
        autres = autres.exclude(fiche=fiche)
    sommes = list(
        autres.values_list("annee", "fiche__volet_id", "fiche__volet__numero").annotate(etat=Sum("prevu")).order_by()
    )
    if fiche is None or fiche.pk is None or fiche.statut in STATUTS_ACTIFS:
        sommes += [
            (annee, volet.pk if volet else None, volet.numero if volet else None, montant.etat)
            for annee, montant in montants.items()
        ]
    plafonds = list(Plafond.objects.filter(contrat=contrat).values_list("annee", "volet_id", "montant"))
    annees = {row[0] for row in sommes} | {row[0] for row in plafonds}
    return {
        annee: plafonds_messages([r for r in sommes if r[0] == annee], [r for r in plafonds if r[0] == annee])
        for annee in sorted(annees)
    }


def controle_grille(
    *,
    contrat: Contrat,
    fiche: FicheAction | None,
    volet: Volet | None,
    montants: dict[int, Montants],
    illisibles: list[str] = (),
) -> Controle:
    """Parity of this fiche each year (its volet's rule, else its contract type's) and the contract's ceilings,
    with ``montants`` in place of the fiche's stored planned amounts. Three queries."""
    regle = regle_pour(regles_par_type(), contrat.type_contrat, volet.numero if volet else None)
    partie = contrat.collectivite.partie
    par_annee: dict[int, list[str]] = {}
    for annee in contrat.annees:
        montant = montants.get(annee)
        if montant is None:
            continue
        par_annee[annee] = parite_messages(
            annee=annee,
            etat=montant.etat,
            collectivite=montant.collectivite,
            total=montant.total,
            regle=regle,
            partie=partie,
        )
    for annee, messages in _plafonds(contrat, fiche, volet, montants).items():
        par_annee.setdefault(annee, []).extend(messages)
    par_annee = {annee: messages for annee, messages in par_annee.items() if messages}
    totaux = {annee: montants[annee].total if annee in montants else ZERO for annee in contrat.annees}
    return Controle(par_annee=par_annee, totaux=totaux, illisibles=list(illisibles))


# --- The funding grid ----------------------------------------------------------------------------------------


@dataclass
class Cellule:
    """One funder's planned amount for one year: the field that types it, the version of the stored line."""

    annee: int
    nom: str
    version: str
    ligne: LigneFinancement | None


@dataclass
class Rang:
    """One funder's row of the grid."""

    cle: str
    libelle: str
    type_financeur: str
    financeur: object | None
    cellules: list[Cellule]
    nouveau: bool = False


def _ids(text) -> list[int]:
    return [int(part) for part in str(text or "").split() if part.isascii() and part.isdigit() and len(part) < 19]


class GrilleFinancementForm(forms.Form):
    """A fiche's planned amounts: a row for the State, one for the collectivité, one per other funder that
    has a line, and an empty row whose organisation is chosen (``nouveau-financeur``) to add one; a column
    per year of the contract. Each cell is an amount typed the French way (``1 234,50 €``); an empty cell
    has no line (emptying a cell removes its line).

    ``lignes`` are the fiche's stored lines (``financeur`` read with them), ``organisations`` the funders
    the new row may choose from.
    """

    def __init__(self, data=None, *, contrat: Contrat, lignes=(), organisations=(), **kwargs):
        super().__init__(data, **kwargs)
        self.contrat = contrat
        self.annees = list(contrat.annees)
        self.erreurs: dict[str, list[str]] = defaultdict(list)
        lignes = list(lignes)
        par_cle = {}
        autres = {}
        for ligne in lignes:
            cle = ligne.type_financeur
            if cle == TypeFinanceur.AUTRE:
                cle = f"autre-{ligne.financeur_id}"
                autres[ligne.financeur_id] = ligne.financeur
            par_cle[(cle, ligne.annee)] = ligne
        organisations = {o.pk: o for o in organisations}
        if data is not None:
            # A page shown with a funder whose lines were all removed since still posts that row: kept, so that
            # the conflict is told rather than the amounts dropped.
            for pk in _ids(data.get(AUTRES)):
                if pk in organisations and pk not in autres:
                    autres[pk] = organisations[pk]
        self.rangs = [
            self._rang(TypeFinanceur.ETAT, "État", TypeFinanceur.ETAT, None, par_cle),
            self._rang(
                TypeFinanceur.COLLECTIVITE,
                f"Collectivité ({contrat.collectivite.nom})",
                TypeFinanceur.COLLECTIVITE,
                None,
                par_cle,
            ),
        ]
        for pk, organisation in sorted(autres.items(), key=lambda kv: (kv[1].nom, kv[0])):
            self.rangs.append(self._rang(f"autre-{pk}", organisation.nom, TypeFinanceur.AUTRE, organisation, par_cle))
        self.fields[AUTRES] = forms.CharField(
            widget=forms.HiddenInput, required=False, initial=" ".join(str(pk) for pk in autres)
        )
        choix = [(str(pk), o.nom) for pk, o in organisations.items() if pk not in autres]
        self.fields[NOUVEAU_FINANCEUR] = forms.TypedChoiceField(
            label="Autre financeur à ajouter",
            choices=[("", "—"), *choix],
            coerce=lambda pk: organisations[int(pk)],
            required=False,
            empty_value=None,
        )
        nouveau = self._rang("nouveau", "Autre financeur à ajouter", TypeFinanceur.AUTRE, None, {})
        nouveau.nouveau = True
        self.rangs.append(nouveau)

    def _rang(self, cle, libelle, type_financeur, financeur, par_cle) -> Rang:
        cellules = []
        for annee in self.annees:
            ligne = par_cle.get((cle, annee))
            nom, version = f"prevu-{cle}-{annee}", f"version-{cle}-{annee}"
            self.fields[nom] = MontantField(required=False, label=f"{libelle}, {annee}", initial=ligne and ligne.prevu)
            self.fields[version] = EntierField(
                widget=CacheRapide, required=False, min_value=0, initial=ligne and ligne.version
            )
            cellules.append(Cellule(annee=annee, nom=nom, version=version, ligne=ligne))
        return Rang(cle=cle, libelle=libelle, type_financeur=type_financeur, financeur=financeur, cellules=cellules)

    # --- Writing, through the services ------------------------------------------------------------------------

    def enregistrer(self, *, fiche: FicheAction, by) -> bool:
        """Writes each cell that changed (``ligne_financement_save`` / ``ligne_financement_delete``, with the
        version shown); every refusal lands on its cell. False when one was refused: the caller undoes all."""
        nouveau_financeur = self.cleaned_data.get(NOUVEAU_FINANCEUR)
        for rang in self.rangs:
            financeur = nouveau_financeur if rang.nouveau else rang.financeur
            for cellule in rang.cellules:
                # A cell the page did not show (a line added by someone else since) is left as it is.
                if cellule.nom not in self.cleaned_data or cellule.nom not in self.data:
                    continue
                try:
                    self._cellule(fiche, rang, financeur, cellule, by)
                except ValidationError as error:
                    self.erreurs[cellule.nom].extend(_messages(error))
        return not self.erreurs

    def _cellule(self, fiche, rang: Rang, financeur, cellule: Cellule, by) -> None:
        montant = self.cleaned_data[cellule.nom]
        vue = self.cleaned_data.get(cellule.version)
        ligne = cellule.ligne
        if ligne is None:
            if vue is not None and montant is not None:
                raise supprime_pendant_la_saisie(f"La ligne {rang.libelle} {cellule.annee}")
            if montant is None:
                return
            ligne = LigneFinancement(
                fiche=fiche,
                annee=cellule.annee,
                type_financeur=rang.type_financeur,
                financeur=financeur,
                prevu=montant,
            )
            ligne_financement_save(ligne_financement=ligne, by=by)
            return
        ligne.fiche = fiche
        if montant is None:
            ligne_financement_delete(ligne_financement=ligne, by=by, version=version_vue(ligne, vue))
        elif montant != ligne.prevu:
            ligne.prevu = montant
            ligne_financement_save(ligne_financement=ligne, by=by, version=version_vue(ligne, vue))

    # --- For the template -----------------------------------------------------------------------------------

    @property
    def champ_autres(self):
        """The hidden list of the other funders' rows the page shows."""
        return self[AUTRES]

    #: Set by the page before rendering: the check of the grid, whose messages sit under each year's column.
    controle: Controle | None = None

    def rows(self):
        """Each funder's row with, per year, the bound field of its amount (described by its own errors and by
        the year's check), its hidden version, its errors, and whether the year's check found something."""
        en_erreur = set(self.controle.par_annee) if self.controle is not None else set()
        for rang in self.rangs:
            cellules = []
            for c in rang.cellules:
                bound = self[c.nom]
                erreurs = [*bound.errors, *self.erreurs.get(c.nom, [])]
                described = [f"controle-{c.annee}"] + ([f"{bound.auto_id}-erreurs"] if erreurs else [])
                bound.field.widget.attrs.update(
                    {
                        "class": "fr-input fr-input--error" if erreurs or c.annee in en_erreur else "fr-input",
                        "aria-describedby": " ".join(described),
                        "autocomplete": "off",
                    }
                )
                cellules.append(
                    {
                        "annee": c.annee,
                        "field": bound,
                        "version": self[c.version],
                        "erreurs": erreurs,
                        "controle": c.annee in en_erreur,
                    }
                )
            yield {"rang": rang, "financeur": self[NOUVEAU_FINANCEUR] if rang.nouveau else None, "cellules": cellules}

    def hidden_errors(self) -> list[str]:
        """Errors of the hidden fields (a tampered version), shown at the top of the page."""
        return [
            message
            for name in self.errors
            if name != NOUVEAU_FINANCEUR and name.startswith(("version-", AUTRES))
            for message in self.errors[name]
        ] + list(self.non_field_errors())


# --- Execution: committed and spent amounts ----------------------------------------------------------------


class ExecutionForm(forms.Form):
    """The committed (``engage``) and spent (``realise``) amounts of a fiche's lines, for the lines the user
    may write (``peut_modifier(type_financeur)``, ``financement.perms.can_edit_ligne``); the others and
    the planned amounts are shown, not entered. Each line carries the version the page showed."""

    def __init__(self, data=None, *, lignes, peut_modifier: Callable[[str], bool], **kwargs):
        super().__init__(data, **kwargs)
        self.lignes = list(lignes)
        self.erreurs: dict[str, list[str]] = defaultdict(list)
        self.modifiables = set()
        for ligne in self.lignes:
            if not peut_modifier(ligne.type_financeur):
                continue
            self.modifiables.add(ligne.pk)
            label = f"{ligne.libelle_financeur}, {ligne.annee}"
            self.fields[f"engage-{ligne.pk}"] = MontantField(
                required=False, label=f"Engagé – {label}", initial=ligne.engage
            )
            self.fields[f"realise-{ligne.pk}"] = MontantField(
                required=False, label=f"Réalisé – {label}", initial=ligne.realise
            )
            self.fields[f"version-{ligne.pk}"] = EntierField(
                widget=CacheRapide, required=False, min_value=0, initial=ligne.version
            )
        for champ in self.fields.values():
            if not champ.widget.is_hidden:
                champ.widget.attrs.setdefault("class", "fr-input")

    def rows(self):
        """The lines by year: each with its planned amount and, when the user may write it, its fields."""
        annees: dict[int, list] = {}
        for ligne in self.lignes:
            pk = ligne.pk
            editable = pk in self.modifiables
            annees.setdefault(ligne.annee, []).append(
                {
                    "ligne": ligne,
                    "engage": self[f"engage-{pk}"] if editable else None,
                    "realise": self[f"realise-{pk}"] if editable else None,
                    "version": self[f"version-{pk}"] if editable else None,
                    "erreurs": self.erreurs.get(pk, []),
                }
            )
        return sorted(annees.items())

    def hidden_errors(self) -> list[str]:
        return [m for name in self.errors if name.startswith("version-") for m in self.errors[name]] + list(
            self.non_field_errors()
        )

    def enregistrer(self, *, fiche: FicheAction, by) -> bool:
        """Saves each line whose committed or spent amount changed (``ligne_financement_save``, with the
        version shown); a refusal lands on its line. False when one was refused."""
        for ligne in self.lignes:
            pk = ligne.pk
            if pk not in self.modifiables or f"engage-{pk}" not in self.cleaned_data:
                continue
            if f"realise-{pk}" not in self.cleaned_data:
                continue
            engage, realise = self.cleaned_data[f"engage-{pk}"], self.cleaned_data[f"realise-{pk}"]
            vue = self.cleaned_data.get(f"version-{pk}")
            if engage == ligne.engage and realise == ligne.realise:
                continue
            ligne.fiche = fiche
            ligne.engage, ligne.realise = engage, realise
            try:
                ligne_financement_save(ligne_financement=ligne, by=by, version=version_vue(ligne, vue))
            except ValidationError as error:
                self.erreurs[pk].extend(_messages(error))
        return not self.erreurs
