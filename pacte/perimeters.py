"""The one place that computes what a user may see.

A perimeter follows from the user's organisation: the nation (administration centrale, superusers),
a région (commissaire / DREETS), a département (DDETS, préfecture: every collectivité that covers it),
one collectivité (its agents), or the actions an organisation carries (partners). Every QuerySet of
the domain filters through :class:`ScopedQuerySet.for_user`, which asks the perimeter for a ``Q``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import models
from django.db.models import Q

from pacte.enums import TypeOrganisation


class Niveau(StrEnum):
    AUCUN = "aucun"
    PORTEUR = "porteur"
    COLLECTIVITE = "collectivite"
    DEPARTEMENT = "departement"
    REGION = "region"
    NATION = "nation"


NOTHING = Q(pk__in=[])


@dataclass(frozen=True)
class Perimetre:
    niveau: Niveau
    region_id: int | None = None
    departement_id: int | None = None
    collectivite_id: int | None = None
    organisation_id: int | None = None

    def collectivites(self) -> models.QuerySet:
        from pacte.models import Collectivite

        return Collectivite.objects.filter(self.collectivites_q(""))

    def collectivites_q(self, path: str) -> Q:
        """A ``Q`` keeping the rows whose collectivité (reached through ``path``) is in the perimeter.

        ``path`` is the lookup to the collectivité, e.g. ``"contrat__collectivite"``; ``""`` means
        the row is a collectivité itself.
        """
        from pacte.models import Collectivite

        prefix = f"{path}__" if path else ""
        match self.niveau:
            case Niveau.NATION:
                return Q()
            case Niveau.REGION:
                return Q(**{f"{prefix}region_id": self.region_id})
            case Niveau.DEPARTEMENT:
                covering = Collectivite.objects.filter(departements=self.departement_id).values("pk")
                return Q(**{f"{prefix}pk__in": covering})
            case Niveau.COLLECTIVITE:
                return Q(**{f"{prefix}pk": self.collectivite_id})
            case _:
                return NOTHING

    def organisations_q(self) -> Q:
        """Organisations a user may see: those of its territory, plus national partners."""
        from pacte.models import Collectivite

        national_partners = Q(type=TypeOrganisation.PARTENAIRE, departement__isnull=True)
        match self.niveau:
            case Niveau.NATION:
                return Q()
            case Niveau.REGION:
                return (
                    Q(region_id=self.region_id)
                    | Q(departement__region_id=self.region_id)
                    | Q(collectivite__region_id=self.region_id)
                    | national_partners
                )
            case Niveau.DEPARTEMENT:
                return (
                    Q(departement_id=self.departement_id)
                    | Q(collectivite__in=Collectivite.objects.filter(departements=self.departement_id))
                    | national_partners
                )
            case Niveau.COLLECTIVITE:
                departements = Collectivite.objects.filter(pk=self.collectivite_id).values("departements")
                return (
                    Q(collectivite_id=self.collectivite_id)
                    | Q(type=TypeOrganisation.PARTENAIRE, departement__in=departements)
                    | national_partners
                )
            case Niveau.PORTEUR:
                return Q(pk=self.organisation_id)
            case _:
                return NOTHING


def perimetre_of(user) -> Perimetre:
    """The user's perimeter, computed once per user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return Perimetre(Niveau.AUCUN)
    cached = getattr(user, "_perimetre_cache", None)
    if cached is not None:
        return cached
    perimetre = _compute(user)
    user._perimetre_cache = perimetre
    return perimetre


def perimetre_label(user) -> str:
    """The user's perimeter in words: "Département 05 (D05)", "Région Occitanie", "France entière"…"""
    from pacte.models import Collectivite

    perimetre = perimetre_of(user)
    match perimetre.niveau:
        case Niveau.NATION:
            return "France entière"
        case Niveau.REGION:
            return f"Région {user.organisation.region.nom}"
        case Niveau.DEPARTEMENT:
            dep = user.organisation.departement
            codes = ", ".join(
                Collectivite.objects.filter(departements=dep).order_by("code").values_list("code", flat=True)
            )
            return f"Département {dep.code} ({codes})"
        case Niveau.COLLECTIVITE:
            return f"Collectivité {user.organisation.collectivite.code}"
        case Niveau.PORTEUR:
            return "Actions qu'il porte"
    return "Aucun"


def _compute(user) -> Perimetre:
    if user.is_superuser:
        return Perimetre(Niveau.NATION)
    org = user.organisation
    if org is None:
        return Perimetre(Niveau.AUCUN)
    match org.type:
        case TypeOrganisation.ADMINISTRATION_CENTRALE:
            return Perimetre(Niveau.NATION, organisation_id=org.pk)
        case TypeOrganisation.DREETS:
            return Perimetre(Niveau.REGION, region_id=org.region_id, organisation_id=org.pk)
        case TypeOrganisation.DDETS | TypeOrganisation.PREFECTURE:
            return Perimetre(Niveau.DEPARTEMENT, departement_id=org.departement_id, organisation_id=org.pk)
        case TypeOrganisation.COLLECTIVITE:
            return Perimetre(Niveau.COLLECTIVITE, collectivite_id=org.collectivite_id, organisation_id=org.pk)
        case TypeOrganisation.PARTENAIRE:
            return Perimetre(Niveau.PORTEUR, organisation_id=org.pk)
    return Perimetre(Niveau.AUCUN)


class ScopedQuerySet(models.QuerySet):
    """Base QuerySet of the domain models.

    Subclasses name the lookup to the row's collectivité (``collectivite_path``) and, where partners
    may see the row because they carry an action, the lookup to the carrying organisation
    (``porteur_path``).
    """

    collectivite_path: str = "collectivite"
    porteur_path: str | None = None

    def for_user(self, user):
        perimetre = perimetre_of(user)
        if perimetre.niveau == Niveau.PORTEUR:
            if self.porteur_path is None:
                return self.none()
            carried = self.model._default_manager.filter(**{self.porteur_path: perimetre.organisation_id})
            return self.filter(pk__in=carried.values("pk"))
        return self.filter(perimetre.collectivites_q(self.collectivite_path))
