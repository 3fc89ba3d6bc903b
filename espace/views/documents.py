"""Documents in the front office: downloads, a contract's documents page, batch prints, public verification.

- A signed convention or avenant is served from its frozen file (the same bytes every time: it was generated once,
  at signature, sealed and hashed). Until it is frozen, or for a document not signed yet, the page
  ``espace:documents`` says where it stands and asks for a draft (PROJET), made in the background
  (``financement/tasks.py``); its progress refreshes with htmx, or with the « Actualiser » link without JavaScript.
- A fiche action and an annual report are small: they are made during the request, sealed and registered.
- Batch prints (``espace:impressions``) put every convention of a département or a région in one zip, in the
  background, for the State's agents of that perimeter.
- ``espace:verification`` is public: anyone may upload a PDF and learn whether it is an intact document issued here.

Reads go through the user's perimeter (out of it: 404). A partner sees the actions it carries, not the contract-wide
documents (the convention and its annexes hold every action and every amount): 403 on those, as on the contract's
figures. Writes go through ``financement.services``.
"""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from contrats.enums import StatutAvenant
from contrats.models import Avenant, Contrat
from espace.forms import EspaceForm, EspaceModelForm, service_errors_to_form
from espace.lookups import avenant_or_404, contrat_or_404, fiche_or_404, require
from financement.models import DocumentEmis, Impression, NatureDocument, RapportAnnuel, StatutTache
from financement.sceau import SceauIndisponible, verifier_document
from financement.services import (
    can_print_batch,
    document_fiche_emettre,
    document_projet_demander,
    document_rapport_emettre,
    document_signe_figer,
    impression_demander,
    scan_errors,
    scan_signe_joindre,
    taille_max_document,
    territoires_imprimables,
)
from pacte.perimeters import Niveau, perimetre_of
from pacte.perms import can_sign

#: How many drafts the documents page lists (the most recent ones).
PROJETS_LISTES = 10
#: How many batch prints the prints page lists (the most recent ones).
IMPRESSIONS_LISTEES = 20


def can_read_contract_documents(user, contrat) -> bool:
    """The convention, its avenants and reports hold every action and every amount of the contract: any agent who
    sees the contract, except a partner (it sees the actions it carries, not the contract-wide figures)."""
    return perimetre_of(user).niveau not in (Niveau.PORTEUR, Niveau.AUCUN)


def _pdf(data, nom: str) -> HttpResponse:
    """A PDF to download: the frozen file as it is stored (``FileResponse``), or bytes made now."""
    if isinstance(data, bytes):
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{nom}"'
    else:
        response = FileResponse(data.open("rb"), as_attachment=True, filename=nom, content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    return response


def _uid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        raise Http404 from None


def _projet(request, contrat, **filters) -> HttpResponse | None:
    """``?document=<uid>``: a draft of this contract that is ready (404 otherwise)."""
    uid = _uid(request.GET.get("document"))
    if uid is None:
        return None
    document = get_object_or_404(
        DocumentEmis.objects.filter(contrat=contrat, statut=StatutTache.PRET, signe=False, **filters).exclude(
            fichier=""
        ),
        uid=uid,
    )
    return _pdf(document.fichier, f"{contrat.reference}-{document.nature}-projet-{document.cree_le:%Y%m%d-%H%M}.pdf")


def _scan(request, cible, nom: str) -> HttpResponse | None:
    """``?exemplaire=scan``: the scan of the paper signed by hand (404 when there is none)."""
    if request.GET.get("exemplaire") != "scan":
        return None
    if not cible.scan_signe:
        raise Http404
    return _pdf(cible.scan_signe, nom)


@require_http_methods(["GET", "HEAD"])
def convention(request, reference: str):
    """The signed convention, from its frozen file (byte-identical every time), its scan or a ready draft; else the
    documents page, which says where the document stands and makes a draft."""
    contrat = contrat_or_404(request, reference)
    require(can_read_contract_documents(request.user, contrat))
    response = _scan(request, contrat, f"{contrat.reference}-convention-scan.pdf") or _projet(
        request, contrat, nature=NatureDocument.CONVENTION
    )
    if response is not None:
        return response
    if contrat.document_signe:
        return _pdf(contrat.document_signe, f"{contrat.reference}-convention-signee.pdf")
    return redirect(reverse("espace:documents", args=[contrat.reference]) + "#convention")


@require_http_methods(["GET", "HEAD"])
def avenant(request, reference: str, numero: int):
    """The signed avenant from its frozen file, its scan or a ready draft; else the documents page."""
    avenant = avenant_or_404(request, reference, numero)
    require(can_read_contract_documents(request.user, avenant.contrat))
    base = f"{reference}-avenant-{numero}"
    response = _scan(request, avenant, f"{base}-scan.pdf") or _projet(request, avenant.contrat, avenant=avenant)
    if response is not None:
        return response
    if avenant.document_signe:
        return _pdf(avenant.document_signe, f"{base}-signe.pdf")
    return redirect(reverse("espace:documents", args=[reference]) + f"#avenant-{numero}")


@require_http_methods(["GET", "HEAD"])
def fiche(request, reference: str, code: str):
    """The PDF of one fiche action. Small (a page or two): made during the request, sealed, registered; no task."""
    fiche = fiche_or_404(request, reference, code)
    try:
        data = document_fiche_emettre(fiche=fiche, by=request.user)
    except SceauIndisponible as error:
        messages.error(request, f"La fiche n'a pas pu être émise : {error}")
        return redirect("espace:fiche", reference=reference, code=code)
    return _pdf(data, f"{reference}-fiche-{code}.pdf")


@require_http_methods(["GET", "HEAD"])
def rapport(request, reference: str, annee: int):
    """The PDF of an annual execution report. A few pages: made during the request, sealed, registered; no task."""
    rapport = get_object_or_404(
        RapportAnnuel.objects.for_user(request.user).select_related("contrat", "contrat__collectivite"),
        contrat__reference=reference,
        annee=annee,
    )
    require(can_read_contract_documents(request.user, rapport.contrat))
    try:
        data = document_rapport_emettre(rapport=rapport, by=request.user)
    except SceauIndisponible as error:
        messages.error(request, f"Le rapport n'a pas pu être émis : {error}")
        return redirect("espace:documents", reference=reference)
    return _pdf(data, f"{reference}-rapport-{annee}.pdf")


# --- A contract's documents page ---------------------------------------------------------------------------------


class ScanForm(EspaceModelForm):
    """The scan of the paper signed by hand, on a contract or an avenant (the subclasses below)."""

    class Meta:
        model = Contrat
        fields = ["scan_signe"]
        labels = {"scan_signe": "Scan de l'exemplaire signé à la main (PDF)"}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["scan_signe"]
        field.required = True
        field.widget = forms.FileInput(attrs={"accept": "application/pdf,.pdf", "class": "fr-upload"})
        # The bound field keeps the help text it was made with: it is the one to change.
        self["scan_signe"].help_text = (
            f"Un fichier PDF de {_taille_mo()} Mo au plus. Il est joint à côté du document signé figé, "
            "qu'il ne remplace pas."
        )

    def clean_scan_signe(self):
        fichier = self.cleaned_data.get("scan_signe")
        errors = scan_errors(fichier)
        if errors:
            raise ValidationError(errors)
        return fichier


class ScanContratForm(ScanForm):
    class Meta(ScanForm.Meta):
        model = Contrat


class ScanAvenantForm(ScanForm):
    class Meta(ScanForm.Meta):
        model = Avenant


def _contexte_travaux(contrat) -> dict:
    # Every freeze of the contract's signed documents: one per document, more only after failures (few rows).
    figeages = list(
        DocumentEmis.objects.filter(contrat=contrat, signe=True).select_related("avenant").order_by("-cree_le", "-pk")
    )
    projets = list(
        DocumentEmis.objects.filter(
            contrat=contrat,
            signe=False,
            impression=None,
            nature__in=(NatureDocument.CONVENTION, NatureDocument.AVENANT),
        )
        .select_related("avenant")
        .order_by("-cree_le", "-pk")[:PROJETS_LISTES]
    )
    # The latest freeze of each signed document: what it says now (older failed tries stay in the registry).
    dernier_figeage: dict = {}
    for document in figeages:
        dernier_figeage.setdefault(document.avenant_id, document)
    en_cours = any(d.en_cours for d in projets) or any(d.en_cours for d in dernier_figeage.values())
    return {
        "projets": projets,
        "figeage_convention": dernier_figeage.get(None),
        "figeages_avenants": {k: v for k, v in dernier_figeage.items() if k is not None},
        "en_cours": en_cours,
    }


OPERATIONS = ("projet", "projet_avenant", "figer", "figer_avenant", "scan", "scan_avenant")


def _avenant_du_post(request, contrat) -> Avenant:
    try:
        numero = int(request.POST.get("numero", ""))
    except ValueError:
        raise Http404 from None
    return get_object_or_404(contrat.avenants.all(), numero=numero)


def _poster(request, contrat):
    """The POSTs of the documents page: a draft (any reader of the documents), a freeze by hand or a scan (those
    who record signatures). Returns a redirect when done, or the bound scan form to show again with its errors."""
    operation = request.POST.get("operation")
    if operation not in OPERATIONS:
        raise Http404
    avenant = _avenant_du_post(request, contrat) if operation.endswith("_avenant") else None
    if operation.startswith(("figer", "scan")):
        require(can_sign(request.user, contrat))
    retour = reverse("espace:documents", args=[contrat.reference])
    try:
        if operation.startswith("projet"):
            document = document_projet_demander(contrat=contrat, avenant=avenant, by=request.user)
            messages.success(request, f"{document.objet} : le projet est en préparation.")
            return redirect(retour + "#travaux")
        if operation.startswith("figer"):
            document = document_signe_figer(contrat=None if avenant else contrat, avenant=avenant, by=request.user)
            messages.success(request, f"{document.objet} : le document signé est en préparation.")
            return redirect(retour + "#travaux")
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(retour)
    cible = avenant or contrat
    form_class = ScanAvenantForm if avenant else ScanContratForm
    form = form_class(
        data=request.POST, files=request.FILES, instance=cible, contrat=contrat, request=request, prefix=operation
    )
    if form.is_valid():
        try:
            scan_signe_joindre(
                contrat=None if avenant else contrat,
                avenant=avenant,
                fichier=form.cleaned_data["scan_signe"],
                by=request.user,
                version=form.cleaned_data.get("pacte_version"),
            )
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, "Le scan de l'exemplaire signé est joint.")
            return redirect(retour + (f"#avenant-{avenant.numero}" if avenant else "#convention"))
    return form


@require_http_methods(["GET", "HEAD", "POST"])
def documents(request, reference: str):
    """A contract's documents: the signed convention (frozen file, SHA-256, scan), its avenants', drafts being made
    or made, annual reports. ``?fragment=travaux`` (htmx) is the part that follows what is being made."""
    contrat = contrat_or_404(request, reference)
    require(can_read_contract_documents(request.user, contrat))
    scan_invalide = None
    if request.method == "POST":
        result = _poster(request, contrat)
        if isinstance(result, HttpResponse):
            return result
        scan_invalide = result
    contexte = {"contrat": contrat, **_contexte_travaux(contrat)}
    if request.GET.get("fragment") == "travaux":
        return render(request, "espace/documents/_travaux.html", contexte)
    peut_signer = can_sign(request.user, contrat)
    avenants = list(contrat.avenants.order_by("numero"))
    for avenant in avenants:
        avenant.contrat = contrat
        avenant.figeage = contexte["figeages_avenants"].get(avenant.pk)
        avenant.peut_projet = avenant.statut in (StatutAvenant.BROUILLON, StatutAvenant.PRET_SIGNATURE)
        avenant.scan_form = None
        if peut_signer and avenant.statut == StatutAvenant.SIGNE:
            prefix = "scan_avenant"
            bound = (
                scan_invalide
                if isinstance(scan_invalide, ScanAvenantForm) and scan_invalide.instance.pk == avenant.pk
                else None
            )
            avenant.scan_form = bound or ScanAvenantForm(instance=avenant, contrat=contrat, prefix=prefix)
    scan_form = None
    if peut_signer and contrat.est_fige:
        bound = scan_invalide if isinstance(scan_invalide, ScanContratForm) else None
        scan_form = bound or ScanContratForm(instance=contrat, contrat=contrat, prefix="scan")
    contexte |= {
        "title": f"Documents – {contrat.reference}",
        "avenants": avenants,
        "rapports": list(contrat.rapports.order_by("annee")),
        "peut_signer": peut_signer,
        "scan_form": scan_form,
        "breadcrumb_data": {
            "links": [
                {"url": reverse("espace:contrats"), "title": "Contrats"},
                {"url": reverse("espace:contrat", args=[contrat.reference]), "title": contrat.reference},
            ],
            "current": "Documents",
        },
    }
    return render(request, "espace/documents/documents.html", contexte)


# --- Batch prints ---------------------------------------------------------------------------------------------------


class ImpressionForm(EspaceForm):
    """Which territory to print: a département or a région of the agent's perimeter (``departement:05``,
    ``region:93``: natural keys)."""

    territoire = forms.ChoiceField(
        label="Territoire",
        help_text="Toutes les conventions de ce territoire (dans votre périmètre) seront réunies dans un fichier zip.",
    )

    def __init__(self, *args, departements, regions, **kwargs):
        super().__init__(*args, **kwargs)
        choix = [("", "Choisissez un territoire")]
        if regions:
            choix.append(("Régions", [(f"region:{r.code}", f"Région {r.nom}") for r in regions]))
        if departements:
            choix.append(("Départements", [(f"departement:{d.code}", f"{d.code} – {d.nom}") for d in departements]))
        self.fields["territoire"].choices = choix
        self.departements = {d.code: d for d in departements}
        self.regions = {r.code: r for r in regions}

    def clean_territoire(self) -> dict:
        genre, _, code = self.cleaned_data["territoire"].partition(":")
        if genre == "departement" and code in self.departements:
            return {"departement": self.departements[code]}
        if genre == "region" and code in self.regions:
            return {"region": self.regions[code]}
        raise ValidationError("Ce territoire n'est pas dans votre périmètre.")


@require_http_methods(["GET", "HEAD", "POST"])
def impressions(request):
    """The agent's batch prints (most recent first) and the form that asks for a new one."""
    require(can_print_batch(request.user))
    departements, regions = territoires_imprimables(request.user)
    form = ImpressionForm(
        data=request.POST if request.method == "POST" else None,
        departements=list(departements),
        regions=list(regions),
    )
    if request.method == "POST" and form.is_valid():
        try:
            impression = impression_demander(by=request.user, **form.cleaned_data["territoire"])
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, f"{impression} : en préparation.")
            return redirect("espace:impression", uid=impression.uid)
    liste = list(
        Impression.objects.filter(demande_par=request.user)
        .select_related("departement", "region")
        .order_by("-cree_le", "-pk")[:IMPRESSIONS_LISTEES]
    )
    contexte = {
        "title": "Impressions par lot",
        "form": form,
        "impressions": liste,
        "breadcrumb_data": {"links": [], "current": "Impressions par lot"},
    }
    return render(request, "espace/documents/impressions.html", contexte)


@require_http_methods(["GET", "HEAD"])
def impression(request, uid):
    """One batch print of the agent (another user's: 404): its progress (htmx ``?fragment=progression``, or the
    « Actualiser » link), then its zip (``?telecharger=1``)."""
    impression = get_object_or_404(
        Impression.objects.filter(demande_par=request.user).select_related("departement", "region"), uid=uid
    )
    if request.GET.get("telecharger"):
        if impression.statut != StatutTache.PRET or not impression.fichier:
            raise Http404
        response = FileResponse(
            impression.fichier.open("rb"),
            as_attachment=True,
            filename=f"conventions-{impression.cree_le:%Y%m%d-%H%M}.zip",
            content_type="application/zip",
        )
        response["Cache-Control"] = "private, no-store"
        return response
    contexte = {"impression": impression}
    if request.GET.get("fragment") == "progression":
        return render(request, "espace/documents/_progression.html", contexte)
    contexte |= {
        "title": str(impression),
        "breadcrumb_data": {
            "links": [{"url": reverse("espace:impressions"), "title": "Impressions par lot"}],
            "current": impression.territoire,
        },
    }
    return render(request, "espace/documents/impression.html", contexte)


# --- Public verification --------------------------------------------------------------------------------------------


class VerificationForm(EspaceForm):
    document = forms.FileField(
        label="Document PDF à vérifier",
        error_messages={"required": "Choisissez le fichier PDF à vérifier.", "empty": "Le fichier est vide."},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["document"].widget = forms.FileInput(attrs={"accept": "application/pdf,.pdf", "class": "fr-upload"})
        self["document"].help_text = (
            f"Un fichier PDF de {_taille_mo()} Mo au plus. Il n'est pas conservé : seule son empreinte est "
            "comparée au registre des documents émis."
        )

    def clean_document(self):
        fichier = self.cleaned_data["document"]
        if fichier.size > taille_max_document():
            raise ValidationError(f"Le fichier dépasse {_taille_mo()} Mo : ce n'est pas un document émis ici.")
        debut = fichier.read(5)
        fichier.seek(0)
        if debut != b"%PDF-":
            raise ValidationError(
                "Ce fichier n'est pas un PDF : seuls les documents PDF émis ici peuvent être vérifiés."
            )
        return fichier


def _taille_mo() -> int:
    return taille_max_document() // (1024 * 1024)


@login_not_required
@require_http_methods(["GET", "HEAD", "POST"])
def verification(request):
    """Public: upload a PDF, learn whether it is an intact document issued here (hash in the registry, seal valid)
    and which one, or that it was altered. The file is read, never kept."""
    envoye = request.method == "POST"
    form = VerificationForm(data=request.POST if envoye else None, files=request.FILES if envoye else None)
    verdict = None
    if envoye and form.is_valid():
        verdict = verifier_document(form.cleaned_data["document"].read())
    contexte = {
        "title": "Vérifier un document",
        "form": form,
        "verdict": verdict,
        "breadcrumb_data": {"links": [], "current": "Vérifier un document"},
    }
    return render(request, "espace/documents/verification.html", contexte)
