"""The Excel buttons of pages owned by other areas (templates/espace/excel/_*.html): who may import into a contract."""

from __future__ import annotations

from django import template

from pacte.perms import can_enter_execution, can_prepare

register = template.Library()


@register.simple_tag(takes_context=True)
def peut_importer(context, contrat) -> bool:
    """The import's own rule (espace.views.excel.importer): the DDETS editor, or the collectivité's for its execution
    data, in the perimeter (remembered per request: no query once the page asked)."""
    user = context["request"].user
    return can_prepare(user, contrat) or can_enter_execution(user, contrat)
