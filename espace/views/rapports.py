"""Annual execution reports in the front office: the list of the perimeter's reports with their due dates, a
report's page (synthesis, a section per action, the exchanges with the DDETS), its redaction by the collectivité, and
its statuses (sent, returned with comments, validated) through confirmation pages.

Reports open by themselves (``manage.py ouvrir_rapports``); every write is a service of ``financement``
(``rapport_save``, ``rapport_section_save``, ``rapport_transition``). The year's amounts and indicator values are not
typed here: they are the execution page's (``espace:fiche_execution``), which each section links to; the report shows
them live while it is written, then the copy sent with it (docs/regles.md, Rapports annuels).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone

from actions.models import FicheAction
from contrats.enums import StatutContrat
from espace.confirmation import confirmer
from espace.forms import EspaceForm, EspaceModelForm, service_errors_to_form
from espace.lookups import require
from financement.enums import TRANSITIONS_RAPPORT, StatutRapport
from financement.forms_rapports import (
    RapportSectionForm,
    RapportsFiltreForm,
    RapportSyntheseForm,
    RenvoiForm,
    ValidationForm,
)
from financement.models import RapportAction, RapportAnnuel
from financement.services import (
    AVANCEMENT_PRE_REMPLI,
    ChiffresAction,
    fiches_du_rapport,
    jours_rappel_avant,
    rapport_chiffres,
    rapport_manques,
    rapport_save,
    rapport_section_save,
    rapport_sections_completer,
    rapport_transition,
)
from pacte.admin_base import version_of
from pacte.perms import can_enter_execution, can_follow_payments
from pacte.workflow import check_transition

#: Reports per page of the list.
PAR_PAGE = 50
#: A contract's execution is entered while it runs (the execution page says so otherwise).
STATUTS_EXECUTION = frozenset({StatutContrat.SIGNE, StatutContrat.EN_EXECUTION})


class SyntheseForm(EspaceModelForm, RapportSyntheseForm):
    """The report's synthesis, rendered the DSFR way."""


class SectionForm(EspaceModelForm, RapportSectionForm):
    """One action's section, rendered the DSFR way."""


class RenvoiEspaceForm(EspaceForm, RenvoiForm):
    """What the DDETS asks to complete, rendered the DSFR way."""


class ValidationEspaceForm(EspaceForm, ValidationForm):
    """The DDETS's last observations, rendered the DSFR way."""


class FiltreForm(EspaceForm, RapportsFiltreForm):
    """The list's filters, rendered the DSFR way."""


# --- Statuses ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    """A status change of a report, as its confirmation page tells it. ``instruction``: the DDETS's check (returning
    or validating, ``can_follow_payments``); otherwise the collectivité's sending (``can_enter_execution``)."""

    to: str
    bouton: str
    titre: str
    succes: str
    instruction: bool = False
    form_class: type[EspaceForm] = EspaceForm

    def allowed(self, user, contrat) -> bool:
        return can_follow_payments(user, contrat) if self.instruction else can_enter_execution(user, contrat)


ACTIONS = {
    "transmettre": Action(
        StatutRapport.TRANSMIS,
        "Transmettre à la DDETS",
        "Transmettre le rapport à la DDETS",
        "Le rapport est transmis à la DDETS.",
    ),
    "renvoyer": Action(
        StatutRapport.A_COMPLETER,
        "Renvoyer pour compléments",
        "Renvoyer le rapport pour compléments",
        "Le rapport est renvoyé à la collectivité pour compléments.",
        instruction=True,
        form_class=RenvoiEspaceForm,
    ),
    "valider": Action(
        StatutRapport.VALIDE,
        "Valider le rapport",
        "Valider le rapport",
        "Le rapport est validé.",
        instruction=True,
        form_class=ValidationEspaceForm,
    ),
}


def _consequences(rapport, action: Action) -> list[str]:
    if action.to == StatutRapport.TRANSMIS:
        return [
            "Le rapport passera au statut « Transmis à la DDETS » : il ne se modifiera plus, sauf si la DDETS le "
            "renvoie pour compléments.",
            "Les montants de l'année et les valeurs des indicateurs, tels qu'ils sont saisis aujourd'hui, sont joints "
            "à chaque action : la DDETS examine ceux-là.",
            "Chaque action doit dire ce qui a été fait dans l'année et où elle en est.",
        ]
    if action.to == StatutRapport.A_COMPLETER:
        return [
            "Le rapport repassera à la collectivité, au statut « Renvoyé pour compléments » : elle le complète puis le "
            "transmet de nouveau.",
            "Vos observations lui disent quoi compléter : elles sont obligatoires, et restent dans l'historique des "
            "échanges.",
        ]
    return [
        "Le rapport passera au statut « Validé ». Ce statut est définitif : ni la synthèse, ni les actions, ni les "
        "observations ne se modifieront plus.",
        f"Le versement du solde de l'exercice {rapport.annee} peut alors être engagé, et le reliquat calculé.",
    ]


# --- Reading -------------------------------------------------------------------------------------------------------


def _rapport_or_404(request, reference: str, annee: int) -> RapportAnnuel:
    """The report of ``annee`` of the contract ``reference`` if the user sees it, else 404."""
    return get_object_or_404(
        RapportAnnuel.objects.for_user(request.user).select_related("contrat", "contrat__collectivite"),
        contrat__reference=reference,
        annee=annee,
    )


def _url(rapport) -> str:
    return reverse("espace:rapport", kwargs={"reference": rapport.contrat.reference, "annee": rapport.annee})


def _fil(rapport, current: str, page: bool = False) -> dict:
    """The breadcrumb: home, reports, the contract, (the report), the page."""
    contrat = rapport.contrat
    links = [
        {"url": reverse("espace:rapports"), "title": "Rapports annuels"},
        {"url": reverse("espace:contrat", kwargs={"reference": contrat.reference}), "title": contrat.reference},
    ]
    if page:
        links.append({"url": _url(rapport), "title": f"Rapport {rapport.annee}"})
    return {"links": links, "current": current, "root_dir": reverse("espace:accueil")}


@dataclass
class Echeance:
    """Where a report stands against its due date, today."""

    date: object
    en_retard: bool
    jours: int  # days left (negative: days late)
    proche: bool  # due within the reminder's window, still to send

    @classmethod
    def de(cls, rapport, aujourd_hui) -> Echeance:
        jours = (rapport.date_limite - aujourd_hui).days
        attendu = rapport.en_redaction
        return cls(rapport.date_limite, attendu and jours < 0, jours, attendu and 0 <= jours <= jours_rappel_avant())

    @property
    def retard(self) -> int:
        return -self.jours


@dataclass
class Section:
    """One action of the report: its section (``None`` while not written yet), the figures shown — the copy sent
    with the report once sent, the lines as they are otherwise — and whether the lines changed since."""

    fiche: FicheAction
    section: RapportAction | None
    chiffres: ChiffresAction
    transmis: bool = False
    modifie: bool = False
    form: SectionForm | None = None


def _sections(rapport) -> list[Section]:
    """The report's sections and the actions of the year that have none yet, in the order of their codes, with their
    figures: six queries whatever their number (sections, missing actions, lines, totals, indicators, values)."""
    ecrites = list(RapportAction.objects.filter(rapport=rapport).select_related("fiche"))
    fiches = [s.fiche for s in ecrites]
    fiches += list(
        fiches_du_rapport(rapport.contrat, rapport.annee).exclude(pk__in=[f.pk for f in fiches]).order_by("code_tri")
    )
    par_fiche = {s.fiche_id: s for s in ecrites}
    vivants = rapport_chiffres(annee=rapport.annee, fiches=[f.pk for f in fiches])
    sections = []
    for fiche in sorted(fiches, key=lambda f: (f.code_tri, f.pk)):
        section = par_fiche.get(fiche.pk)
        vivant = vivants[fiche.pk]
        if section is not None and section.chiffres_transmis is not None and not rapport.en_redaction:
            transmis = ChiffresAction.depuis_json(section.chiffres_transmis)
            sections.append(Section(fiche, section, transmis, transmis=True, modifie=transmis != vivant))
        else:
            sections.append(Section(fiche, section, vivant))
    return sections


@dataclass
class Echange:
    """One step of the report between the collectivité and the DDETS, from its audit trail."""

    date: object
    qui: str
    statut: str
    libelle: str
    observations: str = ""


def _qui(user) -> str:
    if user is None:
        return "la plateforme"
    nom = user.get_full_name() or user.username
    return f"{nom} ({user.organisation.nom})" if user.organisation_id else nom


def _echanges(rapport) -> list[Echange]:
    """Opening, each sending, return (with what to complete) and validation, oldest first: one query."""
    historique = rapport.history.select_related("history_user", "history_user__organisation").order_by(
        "history_date", "history_id"
    )
    echanges, precedent = [], None
    for version in historique:
        if precedent is None:
            echanges.append(Echange(version.history_date, _qui(version.history_user), "", "Rapport ouvert"))
        elif version.statut != precedent.statut:
            # What the DDETS wrote with this step: always when it returns the report, when it validates only if new.
            nouvelles = version.statut == StatutRapport.A_COMPLETER or (
                version.statut == StatutRapport.VALIDE and version.observations_ddets != precedent.observations_ddets
            )
            observations = version.observations_ddets if nouvelles else ""
            echanges.append(
                Echange(
                    version.history_date,
                    _qui(version.history_user),
                    version.statut,
                    StatutRapport(version.statut).label,
                    observations,
                )
            )
        precedent = version
    return echanges


def _a_ecrire(rapport, section: Section) -> RapportAction:
    """The section as it stands, or as it will be opened (pre-filled) for an action that has none yet."""
    return section.section or RapportAction(
        rapport=rapport, fiche=section.fiche, avancement=AVANCEMENT_PRE_REMPLI.get(section.fiche.statut, "")
    )


def detail(request, reference: str, annee: int):
    """The report: due date, status, what the DDETS asked, the synthesis, each action's section and figures, the
    exchanges and reminders; the buttons the user may use."""
    rapport = _rapport_or_404(request, reference, annee)
    contrat, user = rapport.contrat, request.user
    actions = [
        (code, action)
        for code, action in ACTIONS.items()
        if action.to in TRANSITIONS_RAPPORT[rapport.statut] and action.allowed(user, contrat)
    ]
    sections = _sections(rapport)
    peut_saisir = can_enter_execution(user, contrat)
    context = {
        "title": f"Rapport annuel d'exécution {rapport.annee} – {contrat.reference}",
        "rapport": rapport,
        "contrat": contrat,
        "echeance": Echeance.de(rapport, timezone.localdate()),
        "sections": sections,
        "manques": rapport_manques([_a_ecrire(rapport, s) for s in sections]) if rapport.en_redaction else [],
        "echanges": _echanges(rapport),
        "relances": list(rapport.relances.all()),
        "actions": actions,
        "peut_modifier": rapport.en_redaction and peut_saisir,
        "lien_execution": peut_saisir and contrat.statut in STATUTS_EXECUTION,
        "breadcrumb_data": _fil(rapport, f"Rapport {rapport.annee}"),
    }
    return render(request, "espace/rapports/detail.html", context)


# --- Writing -------------------------------------------------------------------------------------------------------


class _Refus(Exception):
    """A service refused one part of the page: the transaction is undone, the page shown again."""


def modifier(request, reference: str, annee: int):
    """The collectivité (or the DDETS) writes the synthesis and each action's section, while the report is in
    redaction or sent back; all in one transaction, one refusal and nothing is written."""
    rapport = _rapport_or_404(request, reference, annee)
    contrat, user = rapport.contrat, request.user
    require(can_enter_execution(user, contrat))
    titre = f"Rédiger le rapport {rapport.annee} – {contrat.reference}"
    context = {
        "title": titre,
        "rapport": rapport,
        "contrat": contrat,
        "breadcrumb_data": _fil(rapport, "Rédiger", page=True),
    }
    if not rapport.en_redaction:
        context["ferme"] = (
            f"Le rapport {rapport.annee} est validé : il ne se modifie plus."
            if rapport.statut == StatutRapport.VALIDE
            else f"Le rapport {rapport.annee} est transmis à la DDETS : il ne se modifie plus, sauf s'il est renvoyé "
            "pour compléments."
        )
        return render(request, "espace/rapports/modifier.html", context)
    data = request.POST if request.method == "POST" else None
    synthese = SyntheseForm(data, instance=rapport, prefix="rapport", request=request)
    sections = _sections(rapport)
    for s in sections:
        s.form = SectionForm(data, instance=_a_ecrire(rapport, s), prefix=f"action-{s.fiche.pk}", request=request)
    if data is not None and all([synthese.is_valid(), *(s.form.is_valid() for s in sections)]):
        try:
            with transaction.atomic():
                _ecrire(user, synthese, [s.form for s in sections])
        except _Refus:
            pass
        else:
            messages.success(request, f"Le rapport {rapport.annee} est enregistré.")
            return redirect(_url(rapport))
    erreurs = [s for s in sections if s.form.errors]
    context |= {
        "synthese": synthese,
        "sections": sections,
        "erreurs": erreurs,
        "lien_execution": contrat.statut in STATUTS_EXECUTION,
    }
    return render(request, "espace/rapports/modifier.html", context)


def _ecrire(user, synthese, formulaires) -> None:
    """Saves what changed (and each action's first section), through the services; raises ``_Refus`` after putting
    a refusal on its form."""
    try:
        if synthese.has_changed():
            rapport_save(rapport_annuel=synthese.instance, by=user, version=version_of(synthese))
    except ValidationError as error:
        service_errors_to_form(synthese, error)
        raise _Refus from None
    for form in formulaires:
        if form.instance.pk is not None and not form.has_changed():
            continue
        try:
            rapport_section_save(rapport_action=form.instance, by=user, version=version_of(form))
        except ValidationError as error:
            service_errors_to_form(form, error)
            raise _Refus from None


def statut(request, reference: str, annee: int, action: str):
    """Confirms, then makes, a status change of the report (``rapport_transition``; refusals shown on the page)."""
    if action not in ACTIONS:
        raise Http404
    rapport = _rapport_or_404(request, reference, annee)
    contrat = rapport.contrat
    choix = ACTIONS[action]
    require(choix.allowed(request.user, contrat))
    retour = _url(rapport)
    try:
        check_transition(
            sujet=f"Le rapport {rapport.annee}",
            genre="de rapport",
            statuts=StatutRapport,
            transitions=TRANSITIONS_RAPPORT,
            current=rapport.statut,
            to=choix.to,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(retour)

    @transaction.atomic
    def apply(data):
        if choix.to == StatutRapport.TRANSMIS:
            # Every action of the year is reported: those without a section get theirs, to be written first.
            rapport_sections_completer(rapport=rapport, by=request.user)
        rapport_transition(
            rapport=rapport, to=choix.to, by=request.user, observations=data.get("observations_ddets", "")
        )

    return confirmer(
        request,
        titre=choix.titre,
        objet=f"Rapport annuel d'exécution {rapport.annee} du contrat {contrat.reference} ({contrat.collectivite.nom})",
        consequences=_consequences(rapport, choix),
        apply=apply,
        retour=retour,
        succes=choix.succes,
        form_class=choix.form_class,
        bouton=choix.bouton,
        breadcrumb_links=_fil(rapport, choix.titre, page=True)["links"],
        template_name="espace/rapports/confirmation.html",
        extra_context={
            "manques": _manques_avant_envoi(rapport) if choix.to == StatutRapport.TRANSMIS else [],
            "url_modifier": reverse(
                "espace:rapport_modifier", kwargs={"reference": contrat.reference, "annee": rapport.annee}
            ),
        },
    )


def _manques_avant_envoi(rapport) -> list[str]:
    """What the service would refuse on sending, said before the button (the actions without a section counted as
    the pre-filled sections they will get)."""
    return rapport_manques([_a_ecrire(rapport, s) for s in _sections(rapport)])


# --- The list ------------------------------------------------------------------------------------------------------


def liste(request):
    """The reports of the user's perimeter: due date, status, overdue flag (by the database), filters and pages."""
    aujourd_hui = timezone.localdate()
    form = FiltreForm(request.GET or None)
    rapports = (
        RapportAnnuel.objects.for_user(request.user)
        .avec_retard(aujourd_hui)
        .select_related("contrat", "contrat__collectivite")
        .order_by("-annee", "date_limite", "contrat__reference")
    )
    invalide = form.is_bound and not form.is_valid()
    if invalide:
        rapports = rapports.none()
    elif form.is_bound:
        if form.cleaned_data["annee"]:
            rapports = rapports.filter(annee=form.cleaned_data["annee"])
        if form.cleaned_data["statut"]:
            rapports = rapports.filter(statut=form.cleaned_data["statut"])
        if form.cleaned_data["en_retard"]:
            rapports = rapports.filter(en_retard=True)
    page = Paginator(rapports, PAR_PAGE).get_page(request.GET.get("page"))
    page.pages_list = list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    for rapport in page.object_list:
        rapport.echeance = Echeance.de(rapport, aujourd_hui)
    context = {
        "title": "Rapports annuels d'exécution",
        "form": form,
        "invalide": invalide,
        "page_obj": page,
        "rapports": page.object_list,
        "breadcrumb_data": {"root_dir": reverse("espace:accueil"), "links": [], "current": "Rapports annuels"},
    }
    return render(request, "espace/rapports/liste.html", context)
