from django import template

from pacte.money import format_euros

register = template.Library()


@register.filter
def euros(value) -> str:
    """Formats an amount the French way: ``{{ montant|euros }}`` → ``1 234,50 €``; empty for None."""
    if value is None or value == "":
        return ""
    return format_euros(value)


@register.filter
def fil_d_ariane(data) -> dict:
    """The breadcrumb's data for django-dsfr's ``dsfr_breadcrumb``, with the site's root (the tag reads
    ``root_dir``, which pages need not repeat): ``{% dsfr_breadcrumb breadcrumb_data|fil_d_ariane %}``."""
    return {"root_dir": "/", "links": [], **(data or {})}
