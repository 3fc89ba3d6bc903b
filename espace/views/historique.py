"""The history pages of a contract and of a fiche: who changed what, when, before → after (espace.historique)."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import reverse

from espace.historique import evenements, sources_contrat, sources_fiche
from espace.lookups import contrat_or_404, fiche_or_404

PAR_PAGE = 50


def _page(request, sources, *, titre: str, objet: str, links: list[dict]):
    page = Paginator(evenements(sources), PAR_PAGE).get_page(request.GET.get("page"))
    page.pages_list = list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    context = {
        "title": titre,
        "objet": objet,
        "page_obj": page,
        "evenements": page.object_list,
        "breadcrumb_data": {"root_dir": reverse("espace:accueil"), "links": links, "current": "Historique"},
    }
    return render(request, "espace/historique/liste.html", context)


def contrat(request, reference: str):
    """The history of a contract and of what it holds (signatories, ceilings, avenants, fiches' statuses…)."""
    contrat = contrat_or_404(request, reference)
    return _page(
        request,
        sources_contrat(contrat, request.user),
        titre=f"Historique du contrat {contrat.reference}",
        objet=f"{contrat.titre} – {contrat.collectivite}",
        links=[
            {"url": reverse("espace:contrats"), "title": "Contrats"},
            {"url": reverse("espace:contrat", args=[contrat.reference]), "title": contrat.reference},
        ],
    )


def fiche(request, reference: str, code: str):
    """The history of a fiche, its funding lines, its indicators and their yearly values."""
    fiche = fiche_or_404(request, reference, code)
    return _page(
        request,
        sources_fiche(fiche),
        titre=f"Historique de la fiche {fiche.code} ({fiche.contrat.reference})",
        objet=fiche.intitule,
        links=[
            {"url": reverse("espace:contrats"), "title": "Contrats"},
            {"url": reverse("espace:contrat", args=[fiche.contrat.reference]), "title": fiche.contrat.reference},
            {
                "url": reverse("espace:fiche", args=[fiche.contrat.reference, fiche.code]),
                "title": f"Fiche {fiche.code}",
            },
        ],
    )
