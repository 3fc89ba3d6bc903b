"""Filters of the printed documents (``templates/documents/``): French dates, rates and quantities."""

from datetime import date
from decimal import Decimal

from django import template
from django.utils.formats import date_format

from financement.regles import format_taux
from pacte.money import format_decimal

register = template.Library()


@register.filter
def date_longue(value: date | None) -> str:
    """``date(2024, 3, 15)`` → ``15 mars 2024``; the first of the month is ``1er janvier 2024``; None → ``""``."""
    if not value:
        return ""
    texte = date_format(value, "j F Y")
    return texte.replace("1 ", "1er ", 1) if value.day == 1 else texte


@register.filter
def taux(value: Decimal | None) -> str:
    """``Decimal("0.5")`` → ``50 %`` (non-breaking space)."""
    return "" if value is None else format_taux(value)


@register.filter
def nombre(value) -> str:
    """A quantity (indicator value, ETP) the French way, without useless decimals: ``1250.00`` → ``1 250``,
    ``12.50`` → ``12,5``; None → ``""``."""
    if value is None or value == "":
        return ""
    value = Decimal(value)
    decimales = max(0, -value.normalize().as_tuple().exponent)
    return format_decimal(value, min(decimales, 2))


#: The article a collectivité's name takes in a sentence (« le Département des Hautes-Alpes », « la Métropole de
#: Lyon »); a name like « Bordeaux Métropole » or « Nantes Métropole » takes none.
_ARTICLES = (
    ("Département ", "le "),
    ("Métropole ", "la "),
    ("Collectivité ", "la "),
    ("Ville ", "la "),
    ("Eurométropole ", "l'"),
)


def _article(nom: str) -> str:
    return next((article for debut, article in _ARTICLES if nom.startswith(debut)), "")


@register.filter
def le(nom: str) -> str:
    """``Département des Hautes-Alpes`` → ``le Département des Hautes-Alpes``; ``Bordeaux Métropole`` unchanged."""
    return f"{_article(nom)}{nom}"


@register.filter
def du(nom: str) -> str:
    """After « de »: ``du Département des Hautes-Alpes``, ``de la Métropole de Lyon``, ``de Bordeaux Métropole``."""
    article = _article(nom)
    if article == "le ":
        return f"du {nom}"
    if not article and nom[:1].lower() in "aeiouyéèêh":
        return f"d'{nom}"
    return f"de {article}{nom}"


@register.filter
def au(nom: str) -> str:
    """After « à »: ``au Département des Hautes-Alpes``, ``à la Métropole de Lyon``, ``à Bordeaux Métropole``."""
    article = _article(nom)
    return f"au {nom}" if article == "le " else f"à {article}{nom}"
