"""Entering a fiche action: its content, its funding grid and its indicators (one page, one transaction),
the live check of parity and ceilings while the amounts are typed, and the execution entry.

- ``fiche_creer`` / ``fiche_modifier``: the DDETS (``can_prepare``) writes the fiche, its planned amounts
  (years × funders) and its indicators with their yearly targets, through ``fiche_create`` /
  ``fiche_update``, ``ligne_financement_save`` / ``_delete`` and the indicators' services, all in one
  transaction: one refusal and nothing is written, the page comes back with the message next to its
  field or cell. A signed contract changes only by avenant: the page says so and links to it.
- ``controle``: the amounts as typed (htmx, on each input) against parity and the contract's ceilings,
  decided by ``financement.regles``; the same messages come with the page itself, so that without
  JavaScript they appear after submitting. Parity blocks a fiche's validation, not its entry
  (docs/regles.md): the save goes through, with the messages as warnings.
- ``fiche_execution``: the collectivité (or the DDETS) enters committed and spent amounts of the lines
  ``can_edit_ligne`` lets it write, and the indicators' achieved values, on a signed contract.
"""

from __future__ import annotations

import re

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from actions.enums import STATUTS_ACTIFS
from actions.forms import FicheActionForm, IndicateurForm, RealiseIndicateursForm, organisations_du_territoire
from actions.models import FicheAction, Indicateur
from actions.services import CODE_RE, fiche_create, fiche_update
from contrats.enums import STATUTS_AVENANT_POSSIBLE, StatutAvenant, StatutContrat
from espace.forms import EspaceModelForm, service_errors_to_form
from espace.lookups import contrat_or_404, fiche_or_404, require
from financement.forms import (
    ExecutionForm,
    GrilleFinancementForm,
    controle_grille,
    montants_enregistres,
    montants_saisis,
)
from financement.perms import can_edit_ligne
from financement.regles import parite_violations, plafond_violations
from financement.services import alertes_realise
from pacte.admin_base import version_of
from pacte.enums import TypeOrganisation
from pacte.perms import can_enter_execution, can_prepare

#: A contract's execution is entered once it is signed, while it runs.
STATUTS_EXECUTION = frozenset({StatutContrat.SIGNE, StatutContrat.EN_EXECUTION})
#: The hidden field that tells the live check which fiche's stored amounts the typed ones replace.
FICHE_CONTROLEE = "controle-fiche"
_INDICATEUR_VERSION = re.compile(r"ind-([0-9]{1,18})-pacte_version")


class FicheForm(EspaceModelForm, FicheActionForm):
    """The fiche's fields, rendered the DSFR way."""


class IndicateurEspaceForm(EspaceModelForm, IndicateurForm):
    """One indicator and its yearly targets, rendered the DSFR way."""


class _Refus(Exception):
    """A service refused one part of the page: the transaction is undone, the page shown again."""


def _breadcrumb(contrat, fiche, current: str) -> dict:
    links = [
        {"url": reverse("espace:contrats"), "title": "Contrats"},
        {"url": reverse("espace:contrat", args=[contrat.reference]), "title": contrat.reference},
    ]
    if fiche is not None:
        links.append({"url": reverse("espace:fiche", args=[contrat.reference, fiche.code]), "title": fiche.code})
    return {"links": links, "current": current, "root_dir": reverse("espace:accueil")}


def _fige(request, contrat, fiche, title: str):
    """The page of a signed contract: its contractual data changes only by avenant; the link to it."""
    avenant = contrat.avenants.filter(statut__in=[StatutAvenant.BROUILLON, StatutAvenant.PRET_SIGNATURE]).first()
    if avenant is not None:
        lien = (
            reverse("espace:avenant", args=[contrat.reference, avenant.numero]),
            f"Voir l'avenant n° {avenant.numero}",
        )
    elif contrat.statut in STATUTS_AVENANT_POSSIBLE:
        lien = (reverse("espace:avenant_creer", args=[contrat.reference]), "Ouvrir un avenant")
    else:
        lien = None
    context = {
        "title": title,
        "contrat": contrat,
        "fiche": fiche,
        "message": f"Le contrat {contrat.reference} est {contrat.get_statut_display().lower()} : ses données "
        "contractuelles ne changent plus que par un avenant.",
        "lien": lien,
        "breadcrumb_data": _breadcrumb(contrat, fiche, title),
    }
    return render(request, "espace/saisie/fige.html", context)


def _volet_saisi(data, contrat, fiche):
    """The volet the form holds: the posted one among the contract's, else the fiche's own."""
    if data is None:
        return fiche.volet if fiche is not None and fiche.volet_id else None
    volets = {str(v.pk): v for v in contrat.volets.all()}
    return volets.get(str(data.get("volet", "")))


def _controle(data, contrat, fiche, lignes):
    if data is None:
        return controle_grille(
            contrat=contrat,
            fiche=fiche,
            volet=_volet_saisi(None, contrat, fiche),
            montants=montants_enregistres(lignes),
        )
    montants, illisibles = montants_saisis(data, contrat.annees)
    return controle_grille(
        contrat=contrat, fiche=fiche, volet=_volet_saisi(data, contrat, fiche), montants=montants, illisibles=illisibles
    )


def _indicateurs_supprimes(data, indicateurs) -> list[str]:
    """Indicators the page showed that someone removed since: their rows cannot be written."""
    if data is None:
        return []
    existants = {str(i.pk) for i in indicateurs}
    if any((m := _INDICATEUR_VERSION.fullmatch(name)) and m[1] not in existants for name in data):
        return [
            "Un indicateur de la page a été supprimé par un autre utilisateur pendant votre saisie : rien n'a été "
            "enregistré. Rechargez la page pour repartir de la version actuelle."
        ]
    return []


def _avertissements(request, fiche) -> None:
    """After a save: what the rules will refuse later (validation, signature), as warnings."""
    parite = parite_violations(FicheAction.objects.filter(pk=fiche.pk))
    plafonds = plafond_violations(fiche.contrat) if fiche.statut in STATUTS_ACTIFS else []
    for message in parite:
        messages.warning(request, f"À corriger avant la validation de la fiche : {message}.")
    for message in plafonds:
        messages.warning(request, f"À corriger avant la signature du contrat : {message}.")


def _saisie(request, contrat, fiche):
    """The page of ``fiche_creer`` (``fiche`` None) and ``fiche_modifier``."""
    title = f"Modifier la fiche {fiche.code}" if fiche else f"Nouvelle fiche action – {contrat.reference}"
    if contrat.est_fige:
        return _fige(request, contrat, fiche, title)
    # The form writes what is typed into the fiche object: links and the live check keep the stored code.
    code = fiche.code if fiche is not None else ""
    breadcrumb = _breadcrumb(contrat, fiche, title)
    data = request.POST if request.method == "POST" else None
    user = request.user
    lignes = list(fiche.financements.select_related("financeur")) if fiche else []
    indicateurs = list(fiche.indicateurs.prefetch_related("valeurs")) if fiche else []
    financeurs = [
        o
        for o in organisations_du_territoire(user, contrat)
        if not (o.type == TypeOrganisation.COLLECTIVITE and o.collectivite_id == contrat.collectivite_id)
    ]
    fiche_form = FicheForm(data, instance=fiche or FicheAction(), contrat=contrat, request=request)
    grille = GrilleFinancementForm(data, contrat=contrat, lignes=lignes, organisations=financeurs)
    annees = list(contrat.annees)
    indicateur_forms = [
        IndicateurEspaceForm(
            # An indicator the page did not show (added by someone else since) is shown now, not written.
            data if data is not None and f"ind-{indicateur.pk}-pacte_version" in data else None,
            instance=indicateur,
            prefix=f"ind-{indicateur.pk}",
            contrat=contrat,
            request=request,
            annees=annees,
            valeurs={v.annee: v for v in indicateur.valeurs.all()},
            supprimable=True,
        )
        for indicateur in indicateurs
    ]
    nouvel_indicateur = IndicateurEspaceForm(
        data,
        instance=Indicateur(),
        prefix="ind-nouveau",
        contrat=contrat,
        request=request,
        annees=annees,
        empty_permitted=True,
        use_required_attribute=False,
    )
    erreurs = _indicateurs_supprimes(data, indicateurs)
    tous = [fiche_form, grille, *(f for f in indicateur_forms if f.is_bound), nouvel_indicateur]
    valides = [form.is_valid() for form in tous] if data is not None else []  # every form, for every error
    if data is not None and not erreurs and all(valides):
        try:
            with transaction.atomic():
                fiche = _ecrire(request, contrat, fiche, fiche_form, grille, tous[2:])
        except _Refus:
            pass
        else:
            messages.success(request, f"La fiche {fiche.code} est enregistrée.")
            _avertissements(request, fiche)
            return redirect("espace:fiche", contrat.reference, fiche.code)
    grille.controle = _controle(data, contrat, fiche, lignes)
    context = {
        "title": title,
        "contrat": contrat,
        "fiche": fiche,
        "fiche_form": fiche_form,
        "grille": grille,
        "controle": grille.controle,
        "indicateur_forms": indicateur_forms,
        "nouvel_indicateur": nouvel_indicateur,
        "erreurs": erreurs + grille.hidden_errors(),
        "refus": data is not None,
        "fiche_code": code,
        "champ_fiche_controlee": FICHE_CONTROLEE,
        "annees": annees,
        "breadcrumb_data": breadcrumb,
    }
    return render(request, "espace/saisie/fiche_form.html", context)


def _ecrire(request, contrat, fiche, fiche_form, grille, indicateur_forms) -> FicheAction:
    """Every write of the page, through the services; raises ``_Refus`` (undoing all) on the first refusal
    of the fiche, or after trying every cell and indicator when one of them was refused."""
    user = request.user
    changes = fiche_form.changes()
    try:
        if fiche is None:
            fiche = fiche_create(contrat=contrat, by=user, **changes)
        elif changes:
            fiche = fiche_update(fiche=fiche, by=user, version=version_of(fiche_form), **changes)
    except ValidationError as error:
        service_errors_to_form(fiche_form, error)
        raise _Refus from None
    ok = grille.enregistrer(fiche=fiche, by=user)
    for form in indicateur_forms:
        ok = form.enregistrer(fiche=fiche, by=user) and ok
    if not ok:
        raise _Refus
    return fiche


def fiche_creer(request, reference: str):
    """A new fiche of the contract, with its funding grid and indicators."""
    contrat = contrat_or_404(request, reference)
    require(can_prepare(request.user, contrat))
    return _saisie(request, contrat, None)


def fiche_modifier(request, reference: str, code: str):
    """A fiche's content, funding grid and indicators."""
    fiche = fiche_or_404(request, reference, code)
    require(can_prepare(request.user, fiche.contrat))
    return _saisie(request, fiche.contrat, fiche)


@require_http_methods(["GET", "POST"])
def controle(request, reference: str):
    """The parity and ceiling messages of the grid as typed: an htmx fragment beside the grid (the summary,
    and out of band each year's messages and total); on GET, the contract's ceilings as stored. Without htmx,
    the same as a page."""
    contrat = contrat_or_404(request, reference)
    require(can_prepare(request.user, contrat))
    data = request.POST if request.method == "POST" else None
    fiche = None
    code = data.get(FICHE_CONTROLEE) if data is not None else None
    if code and CODE_RE.fullmatch(code):  # anything else names no fiche (and a NUL byte would upset PostgreSQL)
        fiche = FicheAction.objects.filter(contrat=contrat, code=code).first()
    if data is None:
        resultat = controle_grille(contrat=contrat, fiche=None, volet=None, montants={})
    else:
        resultat = _controle(data, contrat, fiche, [])
    if request.htmx:
        return render(request, "espace/saisie/_controle.html", {"controle": resultat})
    # Asked outside the grid (an address typed, a browser without htmx): the same check, as a page.
    title = f"Parité et enveloppes – {contrat.reference}"
    context = {
        "title": title,
        "contrat": contrat,
        "controle": resultat,
        "saisi": data is not None,
        "breadcrumb_data": _breadcrumb(contrat, None, title),
    }
    return render(request, "espace/saisie/controle.html", context)


# --- Execution ---------------------------------------------------------------------------------------------


def fiche_execution(request, reference: str, code: str):
    """Committed and spent amounts, indicators' achieved values, on a signed contract."""
    fiche = fiche_or_404(request, reference, code)
    contrat = fiche.contrat
    user = request.user
    require(can_enter_execution(user, contrat))
    title = f"Exécution de la fiche {fiche.code}"
    context = {
        "title": title,
        "contrat": contrat,
        "fiche": fiche,
        "breadcrumb_data": _breadcrumb(contrat, fiche, title),
    }
    if contrat.statut not in STATUTS_EXECUTION:
        context["ferme"] = (
            f"L'exécution se saisit sur un contrat signé ou en exécution ({contrat.reference} est "
            f"« {contrat.get_statut_display().lower()} »)."
        )
        return render(request, "espace/saisie/execution.html", context)
    data = request.POST if request.method == "POST" else None
    lignes = fiche.financements.select_related("financeur").order_by("annee", "type_financeur", "financeur__nom", "pk")
    execution = ExecutionForm(
        data, lignes=lignes, peut_modifier=lambda type_financeur: can_edit_ligne(user, contrat, type_financeur)
    )
    valeurs = RealiseIndicateursForm(
        data,
        indicateurs=fiche.indicateurs.prefetch_related("valeurs"),
        annees=contrat.annees,
        jusqua=timezone.localdate().year,
    )
    valides = [execution.is_valid(), valeurs.is_valid()] if data is not None else []  # both, for every error
    if data is not None and all(valides):
        try:
            with transaction.atomic():
                ok = execution.enregistrer(fiche=fiche, by=user)
                ok = valeurs.enregistrer(by=user) and ok
                if not ok:
                    raise _Refus
        except _Refus:
            pass
        else:
            messages.success(request, f"L'exécution de la fiche {fiche.code} est enregistrée.")
            return redirect("espace:fiche_execution", contrat.reference, fiche.code)
    context |= {
        "execution": execution,
        "valeurs": valeurs,
        "erreurs": execution.hidden_errors() + valeurs.hidden_errors(),
        "alertes": alertes_realise(contrat),
        "annees": list(contrat.annees),
    }
    return render(request, "espace/saisie/execution.html", context)
