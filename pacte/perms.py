"""Permission predicates shared by every app (CONVENTIONS.md rule 3).

Reading follows the perimeter (``for_user``); writing also needs the editor role and the right
kind of organisation (DOMAIN.md §7). Each predicate is registered with ``rules`` so that
``user.has_perm("pacte.edit_fiche", fiche)`` and the admin agree with the views.
"""

from __future__ import annotations

import rules

from pacte.enums import Role, TypeOrganisation
from pacte.perimeters import Niveau, perimetre_of


def _type(user) -> str | None:
    return user.organisation.type if getattr(user, "organisation_id", None) else None


def _editor(user, *types: str) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    return user.role == Role.EDITEUR and _type(user) in types


def in_perimeter(user, obj) -> bool:
    """The object is visible to the user: ``for_user`` of its model keeps it."""
    if obj is None:
        return perimetre_of(user).niveau != Niveau.AUCUN
    return type(obj)._default_manager.for_user(user).filter(pk=obj.pk).exists()


@rules.predicate
def is_national_admin(user) -> bool:
    """Maintains the reference lists (axes, measures) and the cofinancing rules: an editor of the
    administration centrale, or a superuser."""
    return _editor(user, TypeOrganisation.ADMINISTRATION_CENTRALE)


@rules.predicate
def can_prepare_contrat(user, contrat=None) -> bool:
    """Writes contracts, fiches, the State's amounts, ceilings and avenants: a DDETS editor in perimeter."""
    return _editor(user, TypeOrganisation.DDETS) and (contrat is None or in_perimeter(user, contrat))


@rules.predicate
def can_enter_collectivite_data(user, contrat=None) -> bool:
    """Enters the collectivité's amounts, indicator values and the annual report: a collectivité
    editor on its own contracts (the DDETS may too)."""
    return _editor(user, TypeOrganisation.COLLECTIVITE, TypeOrganisation.DDETS) and (
        contrat is None or in_perimeter(user, contrat)
    )


@rules.predicate
def can_sign(user, contrat=None) -> bool:
    """Records signatures and downloads signed documents: a prefecture or DDETS editor in perimeter."""
    return _editor(user, TypeOrganisation.PREFECTURE, TypeOrganisation.DDETS) and (
        contrat is None or in_perimeter(user, contrat)
    )


@rules.predicate
def can_follow_payments(user, contrat=None) -> bool:
    """Records payments and decides on reliquats: a DDETS editor in perimeter."""
    return _editor(user, TypeOrganisation.DDETS) and (contrat is None or in_perimeter(user, contrat))


rules.add_perm("pacte.edit_reference", is_national_admin)
rules.add_perm("contrats.prepare_contrat", can_prepare_contrat)
rules.add_perm("contrats.sign_contrat", can_sign)
rules.add_perm("financement.enter_collectivite_data", can_enter_collectivite_data)
rules.add_perm("financement.follow_payments", can_follow_payments)
