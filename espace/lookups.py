"""How a front-office view finds its object: by natural key, through the user's perimeter, or 404.

Out of perimeter and non-existent answer the same 404 (docs/architecture.md); an object in the
perimeter that the user may not change answers 403 through :func:`require`.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404

from actions.models import FicheAction
from contrats.models import Avenant, Contrat


def contrat_or_404(request, reference: str, queryset=None) -> Contrat:
    """The contract ``reference`` if the user sees it, else 404."""
    queryset = Contrat.objects.all() if queryset is None else queryset
    return get_object_or_404(queryset.for_user(request.user).select_related("collectivite"), reference=reference)


def fiche_or_404(request, reference: str, code: str, queryset=None) -> FicheAction:
    """The fiche ``code`` of the contract ``reference`` if the user sees it, else 404."""
    queryset = FicheAction.objects.all() if queryset is None else queryset
    return get_object_or_404(
        queryset.for_user(request.user).select_related("contrat", "contrat__collectivite", "axe"),
        contrat__reference=reference,
        code=code,
    )


def avenant_or_404(request, reference: str, numero: int, queryset=None) -> Avenant:
    """Avenant ``numero`` of the contract ``reference`` if the user sees it, else 404."""
    queryset = Avenant.objects.all() if queryset is None else queryset
    return get_object_or_404(
        queryset.for_user(request.user).select_related("contrat", "contrat__collectivite"),
        contrat__reference=reference,
        numero=numero,
    )


def require(allowed: bool) -> None:
    """In the perimeter but not allowed (a ``pacte.perms`` predicate said no): 403, nothing changes."""
    if not allowed:
        raise PermissionDenied
