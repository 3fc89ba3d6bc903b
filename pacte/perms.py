"""Who may do what (docs/regles.md): the one set of permission predicates.

Every page asks these functions, the back-office and the application alike; there is no other
layer. Reading follows the perimeter (``for_user``); writing also needs the editor role and the right
kind of organisation. Each predicate takes the user and, where the answer depends on it, the contract
concerned (``None`` on lists and add pages: "may this user do this somewhere?").

The perimeter is computed once per user object (:func:`pacte.perimeters.perimetre_of`) and whether an
object lies in it is remembered on the user object too: ``request.user`` lives for one request, so a
page asks the database once per object, however many buttons and inline rows ask again.
"""

from __future__ import annotations

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
    """The object is visible to the user: ``for_user`` of its model keeps it (remembered per user object).

    ``None`` asks whether the user sees anything at all. Reference data (models without ``for_user``)
    is visible to every agent.
    """
    if obj is None:
        return perimetre_of(user).niveau != Niveau.AUCUN
    manager = type(obj)._default_manager
    if not hasattr(manager, "for_user"):
        return True
    if obj.pk is None:
        return False
    cache = user.__dict__.setdefault("_pacte_in_perimeter", {})
    key = (obj._meta.label, obj.pk)
    if key not in cache:
        cache[key] = manager.for_user(user).filter(pk=obj.pk).exists()
    return cache[key]


def _on(user, allowed: bool, contrat) -> bool:
    return allowed and (contrat is None or in_perimeter(user, contrat))


def can_use_backoffice(user) -> bool:
    """The back-office is open to active staff attached to an organisation, and to superusers."""
    return bool(
        user.is_authenticated and user.is_active and user.is_staff and (user.is_superuser or user.organisation_id)
    )


def can_edit_reference(user) -> bool:
    """Maintains the reference lists (axes, measures, organisations) and the cofinancing rules: an
    editor of the administration centrale, or a superuser."""
    return _editor(user, TypeOrganisation.ADMINISTRATION_CENTRALE)


def can_edit_territories(user) -> bool:
    """Régions, départements and collectivités come from INSEE: superusers only."""
    return bool(user.is_authenticated and user.is_active and user.is_superuser)


def can_prepare(user, contrat=None) -> bool:
    """Writes contracts, fiches, the State's amounts, ceilings and avenants: a DDETS editor in perimeter."""
    return _on(user, _editor(user, TypeOrganisation.DDETS), contrat)


def can_enter_execution(user, contrat=None) -> bool:
    """Enters the collectivité's amounts, committed and spent amounts, indicator values and the annual
    report: a collectivité editor on its own contracts, or a DDETS editor."""
    return _on(user, _editor(user, TypeOrganisation.COLLECTIVITE, TypeOrganisation.DDETS), contrat)


def can_sign(user, contrat=None) -> bool:
    """Records signatories and signatures: a prefecture or DDETS editor in perimeter."""
    return _on(user, _editor(user, TypeOrganisation.PREFECTURE, TypeOrganisation.DDETS), contrat)


def can_follow_payments(user, contrat=None) -> bool:
    """Records payments and decides on reliquats: a DDETS editor in perimeter."""
    return _on(user, _editor(user, TypeOrganisation.DDETS), contrat)


def can_manage_users(user) -> bool:
    """Creates and edits agents' accounts: superusers only (roles and organisations give perimeters)."""
    return can_edit_territories(user)
