"""Avenants in the front office: open one on a signed contract, propose its changes, see them before →
after with the money after, send it to signature, sign it.

Every write is a service of ``contrats``, ``actions`` or ``financement``; the page reads through
``financement.selectors.avenant_lecture`` (nothing written to show the money after the avenant).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from contrats.enums import TRANSITIONS_AVENANT, PartieSignataire, StatutAvenant
from contrats.services import avenant_create, avenant_errors, avenant_sign, avenant_transition, modification_delete
from espace import avenant_affichage
from espace.avenant_forms import PROPOSITIONS, AvenantForm, FicheChangeForm, RetraitModificationForm, SignatureForm
from espace.confirmation import confirmer
from espace.forms import EspaceForm, service_errors_to_form
from espace.lookups import avenant_or_404, contrat_or_404, require
from financement.selectors import avenant_lecture
from pacte.perms import can_prepare, can_sign


@dataclass(frozen=True)
class Action:
    """A status change of an avenant, as its confirmation page tells it."""

    to: str
    bouton: str
    titre: str
    succes: str
    signature: bool = False

    def allowed(self, user, contrat) -> bool:
        return can_sign(user, contrat) if self.signature else can_prepare(user, contrat)


ACTIONS = {
    "pret": Action(
        StatutAvenant.PRET_SIGNATURE,
        "Envoyer à la signature",
        "Envoyer l'avenant à la signature",
        "L'avenant est prêt pour signature.",
    ),
    "brouillon": Action(
        StatutAvenant.BROUILLON,
        "Remettre en préparation",
        "Remettre l'avenant en préparation",
        "L'avenant est de nouveau en préparation.",
    ),
    "abandonner": Action(StatutAvenant.ABANDONNE, "Abandonner", "Abandonner l'avenant", "L'avenant est abandonné."),
    "signer": Action(
        StatutAvenant.SIGNE,
        "Enregistrer la signature",
        "Enregistrer la signature de l'avenant",
        "La signature de l'avenant est enregistrée : ses modifications s'appliquent au contrat.",
        signature=True,
    ),
}

#: The natures proposed from the page, with their buttons, in the order shown.
BOUTONS_PROPOSER = (
    ("prevu", "Montant prévu"),
    ("plafond", "Enveloppe annuelle"),
    ("fiche", "Modifier une fiche"),
    ("fiche_ajout", "Ajouter une fiche"),
    ("retrait", "Retirer une fiche"),
    ("cible", "Cible d'indicateur"),
)


def _url(avenant) -> str:
    return reverse("espace:avenant", kwargs={"reference": avenant.contrat.reference, "numero": avenant.numero})


def _fil(links: list[dict], current: str) -> dict:
    """The breadcrumb (django-dsfr's ``dsfr_breadcrumb``), its first link being the home page."""
    return {"links": links, "current": current, "root_dir": reverse("espace:accueil")}


def _liens(contrat, avenant=None) -> list[dict]:
    links = [
        {"url": reverse("espace:contrats"), "title": "Contrats"},
        {"url": reverse("espace:contrat", kwargs={"reference": contrat.reference}), "title": contrat.reference},
    ]
    if avenant is not None:
        links.append({"url": _url(avenant), "title": f"Avenant n° {avenant.numero}"})
    return links


def creer(request, reference):
    """Opens the next avenant of a signed contract (numbered by the service)."""
    contrat = contrat_or_404(request, reference)
    require(can_prepare(request.user, contrat))
    form = AvenantForm(data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            avenant = avenant_create(contrat=contrat, objet=form.cleaned_data["objet"], by=request.user)
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, f"L'avenant n° {avenant.numero} est ouvert : proposez ses modifications.")
            return redirect(_url(avenant))
    titre = f"Nouvel avenant au contrat {contrat.reference}"
    context = {
        "title": titre,
        "contrat": contrat,
        "form": form,
        # Why it would be refused, said before anything is typed (the service says it again on POST).
        "refus": avenant_errors(contrat) if request.method == "GET" else [],
        "breadcrumb_data": _fil(_liens(contrat), "Nouvel avenant"),
    }
    return render(request, "espace/avenants/creer.html", context)


def detail(request, reference, numero):
    """The avenant: its changes before → after, the money after it, and what the user may do now."""
    avenant = avenant_or_404(request, reference, numero)
    contrat, user = avenant.contrat, request.user
    lu = avenant_lecture(avenant)
    brouillon = avenant.statut == StatutAvenant.BROUILLON
    peut_preparer = can_prepare(user, contrat)
    actions = [
        (code, action)
        for code, action in ACTIONS.items()
        if action.to in TRANSITIONS_AVENANT[avenant.statut] and action.allowed(user, contrat)
    ]
    context = {
        "title": f"Avenant n° {avenant.numero} au contrat {contrat.reference}",
        "avenant": avenant,
        "contrat": contrat,
        "lignes": avenant_affichage.lignes(lu),
        "lu": lu,
        "peut_modifier": brouillon and peut_preparer,
        "propositions": BOUTONS_PROPOSER if brouillon and peut_preparer else (),
        "actions": actions,
        "breadcrumb_data": _fil(_liens(contrat), f"Avenant n° {avenant.numero}"),
    }
    return render(request, "espace/avenants/detail.html", context)


def proposer(request, reference, numero, nature):
    """One kind of change (``nature``: prevu, plafond, fiche, fiche_ajout, retrait, cible) proposed by a draft."""
    avenant = avenant_or_404(request, reference, numero)
    form_class = PROPOSITIONS.get(nature)
    if form_class is None:
        raise Http404
    contrat = avenant.contrat
    require(can_prepare(request.user, contrat))
    kwargs = {"avenant": avenant, "user": request.user}
    data = request.POST if request.method == "POST" else None
    choix_fiche = None
    if form_class is FicheChangeForm:
        # Two steps: which fiche (a GET form), then its content as the avenant already changes it.
        code = request.GET.get("fiche", "")
        fiche = contrat.fiches.select_related("axe", "mesure", "objectif", "porteur", "volet").filter(code=code).first()
        if fiche is None:
            choix_fiche = {
                "fiches": contrat.fiches.order_by("code_tri").values_list("code", "intitule"),
                "erreur": f"La fiche « {code} » n'existe pas dans le contrat {contrat.reference}." if code else "",
            }
            if request.method == "POST":
                data = None
        else:
            kwargs["instance"] = fiche
    form = None if choix_fiche else form_class(data=data, **kwargs)
    if form is not None and request.method == "POST" and form.is_valid():
        try:
            form.propose(by=request.user)
        except ValidationError as error:
            service_errors_to_form(form, error)
        else:
            messages.success(request, "La modification est proposée par l'avenant.")
            return redirect(_url(avenant))
    context = {
        "title": form_class.titre,
        "aide": form_class.aide,
        "avenant": avenant,
        "contrat": contrat,
        "form": form,
        "choix_fiche": choix_fiche,
        "brouillon": avenant.statut == StatutAvenant.BROUILLON,
        "retour": _url(avenant),
        "breadcrumb_data": _fil(_liens(contrat, avenant), form_class.titre),
    }
    return render(request, "espace/avenants/proposer.html", context)


def retirer(request, reference, numero, uid):
    """Removes one proposed change of a draft avenant (the page's button posts here; a GET asks first)."""
    avenant = avenant_or_404(request, reference, numero)
    modification = get_object_or_404(avenant.modifications.all(), uid=uid)
    require(can_prepare(request.user, avenant.contrat))
    return confirmer(
        request,
        titre="Retirer une modification de l'avenant",
        objet=f"Avenant n° {avenant.numero} au contrat {avenant.contrat.reference} – {modification.libelle}",
        consequences=[
            "Cette modification ne fera plus partie de l'avenant ; les autres restent.",
            "Vous pourrez la proposer de nouveau tant que l'avenant est en préparation.",
        ],
        apply=lambda data: modification_delete(modification=modification, by=request.user, version=data["version"]),
        retour=_url(avenant),
        succes=f"La modification « {modification.libelle} » est retirée de l'avenant.",
        form_class=RetraitModificationForm,
        initial={"version": modification.version},
        breadcrumb_links=_liens(avenant.contrat, avenant),
        bouton="Retirer la modification",
        extra_context={"breadcrumb_data": _fil(_liens(avenant.contrat, avenant), "Retirer une modification")},
    )


def _consequences(code: str, avenant, n: int, refus: list[str]) -> list[str]:
    contrat = avenant.contrat
    # "Les 3 modifications … s'appliqueront", "La modification … s'appliquera"
    les = f"Les {n} modifications" if n > 1 else "La modification"
    futur = "ont" if n > 1 else "a"
    if code == "pret":
        return [
            "L'avenant ne se modifie plus tant qu'il est prêt pour signature.",
            "Il pourra être remis en préparation, ou abandonné, tant qu'il n'est pas signé.",
        ]
    if code == "brouillon":
        return ["L'avenant redevient un brouillon : ses modifications peuvent de nouveau changer."]
    if code == "abandonner":
        return [
            f"{les} de l'avenant ne s'appliquer{futur} jamais au contrat {contrat.reference}.",
            "Un avenant abandonné ne se rouvre pas : un nouveau changement demandera un nouvel avenant.",
        ]
    consequences = [
        f"{les} de l'avenant s'appliquer{futur} au contrat {contrat.reference} : "
        "montants, enveloppes, fiches et cibles prennent leur nouvelle valeur, l'ancienne est gardée sur l'avenant.",
        "La parité et les enveloppes sont vérifiées sur le contrat modifié : si une règle n'est plus respectée, "
        "rien n'est appliqué et la signature est refusée.",
        "La signature ne s'annule pas : un changement ultérieur demandera un nouvel avenant.",
    ]
    if refus:
        consequences.append("Tel qu'il est, l'avenant serait refusé : " + " ; ".join(refus) + ".")
    return consequences


def statut(request, reference, numero, action):
    """Sends the avenant to signature, back to preparation, abandons it or records its signature."""
    avenant = avenant_or_404(request, reference, numero)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    contrat, user = avenant.contrat, request.user
    require(spec.allowed(user, contrat))
    objet = f"Avenant n° {avenant.numero} au contrat {contrat.reference} – {avenant.objet}"
    if spec.signature:
        lu = avenant_lecture(avenant)
        n, refus = len(lu.modifications), lu.messages
        signataires = {s.partie: s.nom for s in contrat.signataires.all()}
        form_class, initial = (
            SignatureForm,
            {
                "signataire_etat": signataires.get(PartieSignataire.ETAT, ""),
                "signataire_collectivite": signataires.get(PartieSignataire.COLLECTIVITE, ""),
            },
        )

        def apply(data):
            return avenant_sign(
                avenant=avenant,
                signed_on=data["date_signature"],
                signataire_etat=data["signataire_etat"],
                signataire_collectivite=data["signataire_collectivite"],
                by=user,
            )

    else:
        form_class, initial = EspaceForm, None
        n, refus = avenant.modifications.count(), []

        def apply(data):
            return avenant_transition(avenant=avenant, to=spec.to, by=user)

    return confirmer(
        request,
        titre=spec.titre,
        objet=objet,
        consequences=_consequences(action, avenant, n, refus),
        apply=apply,
        retour=_url(avenant),
        succes=spec.succes,
        form_class=form_class,
        initial=initial,
        breadcrumb_links=_liens(contrat, avenant),
        bouton=spec.bouton,
        extra_context={"breadcrumb_data": _fil(_liens(contrat, avenant), spec.titre)},
    )
