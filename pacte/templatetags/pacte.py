from django import template

from pacte.money import format_euros

register = template.Library()


@register.filter
def euros(value) -> str:
    """Formats an amount the French way: ``{{ montant|euros }}`` → ``1 234,50 €``; empty for None."""
    if value is None or value == "":
        return ""
    return format_euros(value)
