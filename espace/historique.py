"""The history of a contract or of a fiche, read from django-simple-history: who, when, what, before → after.

Each ``Source`` names a historised model and which of its history rows belong to the object followed (a
contract's signatories are the rows whose ``contrat_id`` is that contract's, deleted ones included). Every
row is compared with the previous row of the same object; the fields are named by their label
(``verbose_name``) and their values shown the way people read them: the label of a choice, amounts in euros,
a related row by its name, dates the French way.

The number of queries does not depend on the number of rows: one query per source, one for the axes of a
contract's versions, one per kind of related row named (their ids are collected first, then fetched at once),
one for the authors. The events are then sorted newest first and paginated in Python.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils import timezone

from actions.models import FicheAction, Indicateur, ValeurIndicateur
from contrats.models import (
    Avenant,
    Comite,
    Contrat,
    EngagementPartenaire,
    HistoricalContrat_axes,
    LibelleAxe,
    ModificationAvenant,
    ObjectifContrat,
    Signataire,
    Volet,
)
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Reliquat, Versement
from pacte.models import Axe, User
from pacte.money import format_decimal, format_euros
from pacte.perimeters import Niveau, perimetre_of
from pacte.validators import validate_amount

#: Technical columns no one reads in a history.
IGNORES = frozenset({"id", "uid", "version", "cree_le", "modifie_le", "code_tri"})
#: Long texts are cut in the table (the object's page shows them whole).
LONGUEUR_MAX = 300
VIDE = "—"

ACTIONS = {"+": "Création", "~": "Modification", "-": "Suppression"}


@dataclass(frozen=True)
class Changement:
    champ: str
    avant: str
    apres: str


@dataclass
class Evenement:
    quand: datetime
    auteur: str
    action: str  # Création, Modification, Suppression
    objet: str  # "Signataire Dominique Martin, Préfet"
    changements: list[Changement] = field(default_factory=list)
    ordre: tuple = ()


@dataclass(frozen=True)
class Source:
    """The history rows of ``model`` selected by ``filtre`` (on the historical model).

    ``parent`` is the link to the object followed (not shown: it never changes); ``champs`` limits what is
    shown (a fiche's status in a contract's history), its rows changing nothing else being left out.
    """

    model: type[models.Model]
    filtre: Q
    parent: str | None = None
    champs: tuple[str, ...] | None = None


# --- What belongs to a contract, to a fiche --------------------------------------------------------------


def sources_contrat(contrat: Contrat, user) -> list[Source]:
    """A contract's own rows and those of what it holds: signatories, volets, content, partners' commitments,
    ceilings, payments, reliquats, reports, committees, avenants and their changes, its fiches' statuses.

    A partner (``Niveau.PORTEUR``) reads the contract's rows and the statuses of the fiches it carries.
    """
    pk = contrat.pk
    fiches = Source(FicheAction, Q(contrat_id=pk), parent="contrat", champs=("statut",))
    if perimetre_of(user).niveau == Niveau.PORTEUR:
        portees = FicheAction.objects.for_user(user).filter(contrat=contrat).values("pk")
        return [
            Source(Contrat, Q(id=pk)),
            Source(FicheAction, Q(contrat_id=pk, id__in=portees), "contrat", ("statut",)),
        ]
    avenants = Avenant.history.filter(contrat_id=pk).values("id")
    return [
        Source(Contrat, Q(id=pk)),
        Source(Signataire, Q(contrat_id=pk), parent="contrat"),
        Source(Volet, Q(contrat_id=pk), parent="contrat"),
        Source(ObjectifContrat, Q(contrat_id=pk), parent="contrat"),
        Source(LibelleAxe, Q(contrat_id=pk), parent="contrat"),
        Source(EngagementPartenaire, Q(contrat_id=pk), parent="contrat"),
        Source(Plafond, Q(contrat_id=pk), parent="contrat"),
        Source(Versement, Q(contrat_id=pk), parent="contrat"),
        Source(Reliquat, Q(contrat_id=pk), parent="contrat"),
        Source(RapportAnnuel, Q(contrat_id=pk), parent="contrat"),
        Source(Comite, Q(contrat_id=pk), parent="contrat"),
        Source(Avenant, Q(contrat_id=pk), parent="contrat"),
        Source(ModificationAvenant, Q(avenant_id__in=avenants)),
        fiches,
    ]


def sources_fiche(fiche: FicheAction) -> list[Source]:
    """A fiche's own rows, its funding lines, its indicators and their yearly values."""
    indicateurs = Indicateur.history.filter(fiche_id=fiche.pk).values("id")
    return [
        Source(FicheAction, Q(id=fiche.pk), parent="contrat"),
        Source(LigneFinancement, Q(fiche_id=fiche.pk), parent="fiche"),
        Source(Indicateur, Q(fiche_id=fiche.pk), parent="fiche"),
        Source(ValeurIndicateur, Q(indicateur_id__in=indicateurs)),
    ]


# --- How an object is named ------------------------------------------------------------------------------


def _choix(model, name: str, value) -> str:
    return str(dict(model._meta.get_field(name).flatchoices).get(value, value))


#: How a history row names its object, from the row's own values (``fk(name)``: the related row's name).
LIBELLES = {
    Contrat: lambda r, fk: r.reference,
    Signataire: lambda r, fk: f"{r.nom}, {r.qualite}",
    Volet: lambda r, fk: f"n° {r.numero} – {r.intitule}",
    ObjectifContrat: lambda r, fk: f"n° {r.ordre}",
    LibelleAxe: lambda r, fk: f"de l'{fk('axe')}",
    EngagementPartenaire: lambda r, fk: f"{fk('organisation')}, {r.annee}",
    Plafond: lambda r, fk: f"{r.annee}" + (f", {fk('volet')}" if r.volet_id else ", contrat"),
    Versement: lambda r, fk: f"{_choix(Versement, 'nature', r.nature).lower()} {r.annee}",
    Reliquat: lambda r, fk: str(r.annee),
    RapportAnnuel: lambda r, fk: str(r.annee),
    Comite: lambda r, fk: f"{_choix(Comite, 'type_comite', r.type_comite).lower()} du {r.date:%d/%m/%Y}",
    Avenant: lambda r, fk: f"n° {r.numero}",
    ModificationAvenant: lambda r, fk: f"« {r.libelle} » ({fk('avenant')})",
    FicheAction: lambda r, fk: f"{r.code} – {r.intitule}",
    LigneFinancement: lambda r, fk: (
        f"{r.annee}, "
        + (fk("financeur") if r.financeur_id else _choix(LigneFinancement, "type_financeur", r.type_financeur))
    ),
    Indicateur: lambda r, fk: f"« {r.nom} »",
    ValeurIndicateur: lambda r, fk: f"{fk('indicateur')}, {r.annee}",
}

#: The related rows the names above read (fetched with the others, in one query per kind of row).
CLES_DES_LIBELLES = {
    LibelleAxe: ("axe",),
    EngagementPartenaire: ("organisation",),
    Plafond: ("volet",),
    ModificationAvenant: ("avenant",),
    LigneFinancement: ("financeur",),
    ValeurIndicateur: ("indicateur",),
}

#: How a related row is named where ``str()`` would read further rows (an avenant names its contract).
NOMS = {Avenant: lambda a: f"avenant n° {a.numero}", Volet: lambda v: f"volet {v.numero}"}


def _majuscule(text: str) -> str:
    return text[:1].upper() + text[1:]


# --- Values as people read them --------------------------------------------------------------------------


def _fields(model, source: Source) -> list[models.Field]:
    shown = [
        f
        for f in model._meta.concrete_fields
        if f.name not in IGNORES and f.name != source.parent and (source.champs is None or f.name in source.champs)
    ]
    return shown


def _texte(value: str) -> str:
    value = " ".join(str(value).split())
    return value if len(value) <= LONGUEUR_MAX else value[: LONGUEUR_MAX - 1] + "…"


def afficher(f: models.Field, value, noms: dict) -> str:
    """A stored value the way people read it: choice label, euros, a related row's name, a French date."""
    if value is None or value == "":
        return VIDE
    if f.is_relation:
        return noms.get((f.related_model, value), f"n° {value} (supprimé)")
    if f.choices:
        return str(dict(f.flatchoices).get(value, value))
    if isinstance(f, models.BooleanField):
        return "oui" if value else "non"
    if isinstance(f, models.DecimalField):
        if validate_amount in f.validators:
            return format_euros(Decimal(value))
        return format_decimal(Decimal(value), max(0, -Decimal(value).normalize().as_tuple().exponent))
    if isinstance(f, models.DateTimeField) and isinstance(value, datetime):
        return (
            timezone.localtime(value).strftime("%d/%m/%Y à %H:%M")
            if timezone.is_aware(value)
            else f"{value:%d/%m/%Y à %H:%M}"
        )
    if isinstance(f, models.DateField) and isinstance(value, date):
        return f"{value:%d/%m/%Y}"
    if isinstance(f, models.JSONField):
        return _texte(json.dumps(value, ensure_ascii=False))
    return _texte(value)


def _label(f: models.Field) -> str:
    return _majuscule(str(f.verbose_name))


# --- The events ------------------------------------------------------------------------------------------


def _auteur(user: User | None) -> str:
    if user is None:
        return "auteur inconnu"
    return user.get_full_name() or user.get_username()


def evenements(sources: list[Source]) -> list[Evenement]:
    """Every change of the sources' rows, newest first (see the module's docstring for the queries)."""
    lots = []  # (source, fields, rows oldest first)
    ids_par_modele: dict[type, set] = defaultdict(set)
    users: set[int] = set()
    for rang, source in enumerate(sources):
        fields = _fields(source.model, source)
        rows = list(source.model.history.filter(source.filtre).order_by("history_date", "history_id"))
        lots.append((rang, source, fields, rows))
        # The related rows named on the page: those of the fields shown and those the object's name reads.
        nommes = {f.name for f in fields} | set(CLES_DES_LIBELLES.get(source.model, ()))
        relations = [f for f in source.model._meta.concrete_fields if f.is_relation and f.name in nommes]
        for row in rows:
            users.add(row.history_user_id)
            for f in relations:
                value = getattr(row, f.attname)
                if value is not None:
                    ids_par_modele[f.related_model].add(value)
    axes = _axes_par_version([row for _, s, _, rows in lots if s.model is Contrat for row in rows])
    for numeros in axes.values():
        ids_par_modele[Axe].update(numeros)
    noms = _noms(ids_par_modele)
    auteurs = User.objects.in_bulk([u for u in users if u is not None])

    result = []
    for rang, source, fields, rows in lots:
        model = source.model
        precedent: dict = {}
        for row in rows:
            pk = row.id
            avant = precedent.get(pk)
            precedent[pk] = row
            action = ACTIONS.get(row.history_type, row.history_type)
            changements = []
            if row.history_type == "-":
                pass  # the row is gone: its name says which
            elif avant is None:
                # Created (or, for data loaded without history, first seen): its values then.
                inconnu = VIDE if row.history_type == "+" else "inconnu"
                for f in fields:
                    value = getattr(row, f.attname)
                    if value not in (None, ""):
                        changements.append(Changement(_label(f), inconnu, afficher(f, value, noms)))
            else:
                for f in fields:
                    old, new = getattr(avant, f.attname), getattr(row, f.attname)
                    if old != new:
                        changements.append(Changement(_label(f), afficher(f, old, noms), afficher(f, new, noms)))
            if model is Contrat and (source.champs is None or "axes" in source.champs):
                old_axes = axes.get(avant.history_id) if avant is not None else set()
                new_axes = axes.get(row.history_id, set())
                if row.history_type != "-" and old_axes != new_axes and (avant is not None or new_axes):
                    changements.append(
                        Changement("Axes", _liste_axes(old_axes or set(), noms), _liste_axes(new_axes, noms))
                    )
            if row.history_type == "~" and not changements:
                continue  # a save that changed nothing shown here (a version, a field filtered out)
            libelle = LIBELLES.get(model, lambda r, fk: str(r.id))(
                row, lambda name, r=row, m=model: _nom_fk(m, r, name, noms)
            )
            result.append(
                Evenement(
                    quand=row.history_date,
                    auteur=_auteur(auteurs.get(row.history_user_id)),
                    action=action,
                    objet=f"{_majuscule(str(model._meta.verbose_name))} {libelle}",
                    changements=changements,
                    ordre=(row.history_date, -rang, row.history_id),
                )
            )
    result.sort(key=lambda e: e.ordre, reverse=True)
    return result


def _nom_fk(model, row, name: str, noms: dict) -> str:
    f = model._meta.get_field(name)
    return afficher(f, getattr(row, f.attname), noms)


def _noms(ids_par_modele: dict[type, set]) -> dict[tuple[type, object], str]:
    """The names of the related rows, one query per kind of row (deleted rows are simply missing)."""
    noms = {}
    for related, ids in ids_par_modele.items():
        nommer = NOMS.get(related, str)
        for pk, obj in related._base_manager.in_bulk(list(ids)).items():
            noms[(related, pk)] = nommer(obj)
    return noms


def _axes_par_version(rows) -> dict[int, set[int]]:
    """The axes of each version of a contract (simple-history keeps them per history row), one query."""
    if not rows:
        return {}
    axes: dict[int, set[int]] = {row.history_id: set() for row in rows}
    for history_id, axe_id in HistoricalContrat_axes.objects.filter(history_id__in=list(axes)).values_list(
        "history_id", "axe_id"
    ):
        axes[history_id].add(axe_id)
    return axes


def _liste_axes(ids: set[int], noms: dict) -> str:
    if not ids:
        return VIDE
    return ", ".join(sorted((noms.get((Axe, pk), f"n° {pk}") for pk in ids), key=str))
