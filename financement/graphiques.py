"""The dashboards' charts, drawn on the server as SVG by pygal, in the DSFR's colours.

SVG, so that the same chart shows on the page, prints, and goes into a PDF (WeasyPrint reads it). A page shows a
chart as an image (``Graphique.data_uri`` in an ``<img>`` with ``Graphique.alt``): nothing of it runs in the page.
pygal's JavaScript is off (``js=[]``) and the small inline configuration script it still writes is removed; every
chart is followed on the page by a table with the same figures (a chart is never the only way to read them).

Drawing takes pygal 10 to 30 ms per chart: a chart is kept in Django's cache under a digest of everything it
draws, so that a page whose figures did not change does not draw it again.
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
from dataclasses import dataclass
from decimal import Decimal

import pygal
from django.core.cache import cache
from pygal.style import Style

from pacte.money import format_euros

#: The DSFR's palette: Bleu France, then illustrative colours (menthe, tuile, tournesol, glycine, écume).
COULEURS = ("#000091", "#009081", "#CE614A", "#C8AA39", "#A558A0", "#465F9D")
GRIS_TEXTE, GRIS_LIGNES = "#3A3A3A", "#DDDDDD"
POLICE = "Marianne, Arial, sans-serif"

BARRES, COURBES, EMPILE = "barres", "courbes", "empile"
_CLASSES = {BARRES: pygal.Bar, COURBES: pygal.Line, EMPILE: pygal.StackedBar}
_SCRIPTS = re.compile(r"<script\b.*?</script>", re.S)
#: How long a drawn chart is kept (its key says everything it shows: the figures change, the key changes).
DUREE_CACHE = 24 * 3600
#: Part of every chart's key: change it with the drawing (style, options) so that no chart drawn before is served.
_VERSION = "dsfr-3"


@dataclass(frozen=True)
class Graphique:
    """A chart: its SVG, and the text that stands for it (the image's ``alt``)."""

    svg: str
    alt: str

    @property
    def data_uri(self) -> str:
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode("ascii")


def _style(couleurs: tuple[str, ...]) -> Style:
    return Style(
        colors=couleurs,
        background="#FFFFFF",
        plot_background="#FFFFFF",
        opacity="1",
        opacity_hover="1",
        foreground=GRIS_TEXTE,
        foreground_strong=GRIS_TEXTE,
        foreground_subtle=GRIS_LIGNES,
        font_family=POLICE,
        label_font_family=POLICE,
        major_label_font_family=POLICE,
        legend_font_family=POLICE,
        title_font_family=POLICE,
        title_font_size=18,
        legend_font_size=14,
        label_font_size=13,
        major_label_font_size=13,
    )


def montant_court(valeur) -> str:
    """An amount for an axis of a chart: ``12,5 M€``, ``850 k€``, ``0 €``."""
    valeur = Decimal(str(valeur or 0))
    for seuil, unite in ((Decimal("1e9"), "Md€"), (Decimal("1e6"), "M€"), (Decimal("1e3"), "k€")):
        if abs(valeur) >= seuil:
            texte = f"{valeur / seuil:.1f}".rstrip("0").rstrip(".").replace(".", ",")
            return f"{texte}\u00a0{unite}"
    return format_euros(valeur)


def graphique(
    *, genre: str, titre: str, categories: list[str], series: list[tuple[str, list[Decimal]]], alt: str
) -> Graphique:
    """Draws a chart (``BARRES``: bars side by side; ``COURBES``: lines; ``EMPILE``: stacked bars) of ``series``
    (label, one value per category) over ``categories``. From the cache when the same chart was drawn before."""
    spec = repr((_VERSION, genre, titre, categories, [(nom, [str(v) for v in valeurs]) for nom, valeurs in series]))
    cle = "pacte:graphique:" + hashlib.sha256(spec.encode()).hexdigest()
    svg = cache.get(cle)
    if svg is None:
        svg = _dessiner(genre, titre, categories, series)
        cache.set(cle, svg, DUREE_CACHE)
    return Graphique(svg=svg, alt=alt)


def _dessiner(genre: str, titre: str, categories: list[str], series) -> str:
    chart = _CLASSES[genre](
        disable_xml_declaration=True,
        js=[],
        style=_style(COULEURS),
        width=800,
        height=420,
        title=titre,
        legend_at_bottom=True,
        legend_at_bottom_columns=min(len(series), 3) or 1,
        value_formatter=montant_court,
        truncate_label=-1,
        truncate_legend=-1,
        x_label_rotation=0 if len(categories) <= 6 else 30,
        dots_size=4,
        stroke_style={"width": 3},
        margin=16,
    )
    chart.x_labels = categories
    for nom, valeurs in series:
        chart.add(nom, [float(v or 0) for v in valeurs])
    if genre == EMPILE:
        colonnes = zip(*(valeurs for _, valeurs in series), strict=True)
        haut = max((sum(float(v or 0) for v in colonne) for colonne in colonnes), default=0)
    else:
        haut = max((float(v or 0) for _, valeurs in series for v in valeurs), default=0)
    chart.y_labels = graduations(haut)
    return _SCRIPTS.sub("", chart.render(is_unicode=True))


def graduations(haut: float, nombre: int = 5) -> list[float]:
    """Round graduations from 0 to at least ``haut``: a step of 1, 2 or 5 times a power of ten, ``nombre`` at most."""
    if haut <= 0:
        return [0.0]
    brut = haut / nombre
    puissance = 10 ** math.floor(math.log10(brut))
    pas = next(m * puissance for m in (1, 2, 5, 10) if m * puissance >= brut)
    return [pas * i for i in range(math.ceil(haut / pas) + 1)]
