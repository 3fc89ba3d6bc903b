"""Excel in and out: every list as xlsx and csv, the import template, the import of an action table in two steps.

- Exports (``fiches_export``, ``contrats_export``, ``versements_export``, ``indicateurs_export``): the lists' own
  filters (``actions.filters.FicheFilter``, ``contrats.filters.ContratFilter``: the same query string as the page),
  the user's perimeter (``for_user``), the sheets of ``financement.exports``. A partner reads the actions it carries,
  not the contract's money: its payments' export answers 403, as its documents do.
- ``import_modele``: the documented template (``financement.exports.modele_import``).
- ``importer`` (name ``import``): uploads a file into a contract, for whoever may write there (``can_prepare``, or
  ``can_enter_execution`` for a collectivité's execution data); the file is kept with its state
  (``financement.importation.Depot``) and analysed: a trial run rolled back, now for a small file, in the background
  for a large one.
- ``apercu`` (name ``import_apercu``): the preview — rows to create, to change (each cell before → after),
  unchanged, every error with its sheet, row and column — and the confirmation, all or nothing; only the import's
  author sees it (anyone else: 404). While a step runs in the background, htmx refreshes its progress.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePosixPath

from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from actions.filters import FicheFilter
from actions.models import FicheAction
from contrats.filters import ContratFilter
from espace.forms import EspaceForm
from espace.lookups import contrat_or_404, require
from espace.views.contrats import contrats_annotes
from financement.exports import (
    FORMATS,
    XLSX,
    export_contrats,
    export_fiches,
    export_indicateurs,
    export_versements,
    modele_import,
    versements_du_contrat,
)
from financement.importation import (
    ANALYSE,
    APERCU,
    ECHEC,
    EXTENSIONS,
    IMPORT,
    IMPORTE,
    TAILLE_MAX,
    Depot,
    lancer,
)
from pacte.perimeters import Niveau, perimetre_of
from pacte.perms import can_enter_execution, can_prepare


def _fichier(contenu: bytes, format: str, nom: str) -> HttpResponse:
    reponse = HttpResponse(contenu, content_type=FORMATS[format])
    reponse["Content-Disposition"] = f'attachment; filename="{nom}-{timezone.localdate():%Y-%m-%d}.{format}"'
    return reponse


def _format(format: str) -> str:
    if format not in FORMATS:
        raise Http404("Format inconnu : xlsx ou csv.")
    return format


def _fiches_filtrees(request):
    """The fiches of the list with its filters (an invalid facet is left out, as the list does)."""
    return FicheFilter(request.GET, queryset=FicheAction.objects.for_user(request.user), request=request).qs


@require_GET
def fiches_export(request, format: str):
    """The fiches of the list (its filters, the perimeter): three sheets in xlsx, the flat form in csv."""
    return _fichier(export_fiches(_fiches_filtrees(request), _format(format)), format, "fiches-actions")


@require_GET
def indicateurs_export(request, format: str):
    """The indicators of the fiches of the list (its filters) and their yearly targets and values."""
    return _fichier(export_indicateurs(_fiches_filtrees(request), _format(format)), format, "indicateurs")


@require_GET
def contrats_export(request, format: str):
    """The contracts of the list, with its filters and its sort."""
    _format(format)
    filtre = ContratFilter(request.GET or None, queryset=contrats_annotes(request.user), request=request)
    contrats = filtre.queryset.none() if filtre.is_bound and not filtre.is_valid() else filtre.qs
    return _fichier(export_contrats(contrats, format), format, "contrats")


@require_GET
def versements_export(request, reference: str, format: str):
    """The State's payments of a contract (not for a partner: the contract's money is not its to read)."""
    _format(format)
    contrat = contrat_or_404(request, reference)
    require(perimetre_of(request.user).niveau != Niveau.PORTEUR)
    return _fichier(
        export_versements(versements_du_contrat(contrat, request.user), format), format, f"versements-{reference}"
    )


@require_GET
def import_modele(request):
    reponse = HttpResponse(modele_import(), content_type=XLSX)
    reponse["Content-Disposition"] = 'attachment; filename="modele-import-fiches-actions.xlsx"'
    return reponse


# --- The import -------------------------------------------------------------------------------------------------


class ImportForm(EspaceForm):
    fichier = forms.FileField(
        label="Fichier à importer",
        help_text="Un classeur .xlsx (le modèle d'import, ou un export des fiches modifié) ou un fichier .csv "
        "(séparé par des points-virgules ou des virgules) ; 20 Mo au plus.",
    )

    def clean_fichier(self):
        fichier = self.cleaned_data["fichier"]
        if PurePosixPath(fichier.name.lower()).suffix not in EXTENSIONS:
            raise forms.ValidationError("Choisissez un fichier .xlsx ou .csv (un .xls s'enregistre d'abord en .xlsx).")
        if fichier.size > TAILLE_MAX:
            raise forms.ValidationError("Le fichier dépasse 20 Mo : découpez-le.")
        if fichier.size == 0:
            raise forms.ValidationError("Le fichier est vide.")
        return fichier


def _peut_importer(user, contrat) -> bool:
    return can_prepare(user, contrat) or can_enter_execution(user, contrat)


def _fil(contrat, current: str, *, import_: bool = False) -> dict:
    links = [
        {"url": reverse("espace:contrats"), "title": "Contrats"},
        {"url": reverse("espace:contrat", args=[contrat.reference]), "title": contrat.reference},
    ]
    if import_:
        links.append({"url": reverse("espace:import", args=[contrat.reference]), "title": "Import Excel"})
    return {"links": links, "current": current, "root_dir": reverse("espace:accueil")}


@require_http_methods(["GET", "POST"])
def importer(request, reference: str):
    """Upload: the file is kept and analysed, then the preview's page shows what it would change."""
    contrat = contrat_or_404(request, reference)
    require(_peut_importer(request.user, contrat))
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        fichier = form.cleaned_data["fichier"]
        depot = Depot.creer(contenu=fichier.read(), nom=fichier.name, contrat=contrat, auteur=request.user)
        lancer(depot, ANALYSE)
        return redirect("espace:import_apercu", reference=contrat.reference, uid=depot.uid)
    title = f"Importer des fiches dans {contrat.reference}"
    context = {
        "title": title,
        "contrat": contrat,
        "form": form,
        "champ": form["fichier"],
        "prepare": can_prepare(request.user, contrat),
        "breadcrumb_data": _fil(contrat, "Import Excel"),
    }
    return render(request, "espace/excel/import.html", context)


@require_http_methods(["GET", "POST"])
def apercu(request, reference: str, uid):
    """The preview of an import and its confirmation (its author only)."""
    contrat = contrat_or_404(request, reference)
    depot = Depot.charger(uid)
    if depot is None or not depot.est_a(request.user, contrat):
        raise Http404("Import introuvable.")
    require(_peut_importer(request.user, contrat))
    etat = depot.etat
    if request.method == "POST":
        rapport = etat.get("rapport") or {}
        if etat["statut"] != APERCU or etat.get("bilan") == "refuse" or rapport.get("erreurs"):
            messages.error(request, "Cet import ne peut pas être confirmé : voyez l'aperçu.")
        elif not rapport.get("operations"):
            messages.info(request, "Le fichier ne change rien : il n'y a rien à importer.")
        else:
            lancer(depot, IMPORT)
        return redirect("espace:import_apercu", reference=contrat.reference, uid=depot.uid)
    if request.GET.get("fragment") == "progression" and not depot.en_cours:
        # The step is over: htmx reloads the page, which shows its report.
        reponse = HttpResponse(status=204)
        reponse["HX-Refresh"] = "true"
        return reponse
    context = {
        "title": f"Import de « {etat['nom']} » dans {contrat.reference}",
        "cree_le": datetime.fromisoformat(etat["cree_le"]),
        "contrat": contrat,
        "depot": depot,
        "etat": etat,
        "rapport": etat.get("rapport"),
        "en_cours": depot.en_cours,
        "pourcentage": round(100 * etat["fait"] / etat["total"]) if etat.get("total") else 0,
        "statuts": {"analyse": ANALYSE, "apercu": APERCU, "import": IMPORT, "importe": IMPORTE, "echec": ECHEC},
        "breadcrumb_data": _fil(contrat, "Aperçu", import_=True),
    }
    if request.GET.get("fragment") == "progression":
        return render(request, "espace/excel/_progression.html", context)
    return render(request, "espace/excel/apercu.html", context)
