"""A contract's money in the front office: axis × year × funder, the State's ceiling and its use, the
cofinancing rule per action and per axis (planned and spent), the reliquats and their decisions, the payments
and their statuses (planned → requested → paid).

Every figure comes from ``financement.selectors.argent_contrat`` (sums by the database, the rule functions of
the signature and of the payments); every write is a service of ``financement.services`` (``versement_save``,
``versement_transition``, ``versement_delete``, ``reliquat_settle``), the irreversible ones behind
``espace.confirmation.confirmer``. Each warning links to the place to fix it, among the pages the user may use.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from contrats.enums import STATUTS_AVENANT_OUVERTS
from contrats.models import Avenant
from espace.confirmation import confirmer
from espace.forms import EspaceForm, EspaceModelForm, service_errors_to_form
from espace.lookups import contrat_or_404, require
from financement.enums import (
    TRANSITIONS_VERSEMENT,
    Contrepartie,
    DecisionReliquat,
    NatureVersement,
    StatutVersement,
)
from financement.forms_versements import (
    DemandeVersementForm,
    PaiementVersementForm,
    ReliquatDecisionForm,
    VersementForm,
    VersionForm,
)
from financement.models import Versement
from financement.regles import format_taux
from financement.selectors import (
    ALERTE_PARITE_PREVU,
    ALERTE_PARITE_REALISE,
    ALERTE_PLAFOND,
    ALERTE_RELIQUAT,
    ALERTE_VERSEMENTS,
    argent_contrat,
)
from financement.services import (
    beneficiaires_possibles,
    reliquat_settle,
    versement_delete,
    versement_errors,
    versement_save,
    versement_transition,
)
from pacte.models import Organisation
from pacte.money import format_euros
from pacte.perimeters import Niveau, perimetre_of
from pacte.perms import can_enter_execution, can_follow_payments, can_prepare

#: The warnings' groups as the page titles them, in the order shown.
GROUPES = (
    (ALERTE_PLAFOND, "Parts prévues de l'État et enveloppes"),
    (ALERTE_VERSEMENTS, "Versements et enveloppes"),
    (ALERTE_RELIQUAT, "Reliquats à décider"),
    (ALERTE_PARITE_PREVU, "Cofinancement prévu"),
    (ALERTE_PARITE_REALISE, "Cofinancement réalisé"),
)


# --- Shared --------------------------------------------------------------------------------------------


def _contrat(request, reference: str):
    """The contract if the user sees it (else 404); a partner reads the actions it carries, not the contract's
    figures (DOMAIN §7): 403."""
    contrat = contrat_or_404(request, reference)
    require(perimetre_of(request.user).niveau != Niveau.PORTEUR)
    return contrat


def _url_argent(contrat) -> str:
    return reverse("espace:argent", kwargs={"reference": contrat.reference})


def _url_versement(versement) -> str:
    return reverse("espace:versement", kwargs={"reference": versement.contrat.reference, "uid": versement.uid})


def _liens(contrat, *, argent: bool = True) -> list[dict]:
    links = [
        {"url": reverse("espace:contrats"), "title": "Contrats"},
        {"url": reverse("espace:contrat", kwargs={"reference": contrat.reference}), "title": contrat.reference},
    ]
    if argent:
        links.append({"url": _url_argent(contrat), "title": "Suivi financier"})
    return links


def _fil(links: list[dict], current: str) -> dict:
    """The breadcrumb (django-dsfr's ``dsfr_breadcrumb``), its first link being the home page."""
    return {"links": links, "current": current, "root_dir": reverse("espace:accueil")}


def _libelle(versement) -> str:
    """« Avance 2025 de 40 000,00 € »."""
    return f"{versement.get_nature_display()} {versement.annee} de {format_euros(versement.montant)}"


# --- The money page ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Lien:
    url: str
    libelle: str


class _Liens:
    """Where each warning is fixed, among the pages the user may use (else where it is read)."""

    def __init__(self, user, contrat):
        self.contrat, self.ref = contrat, contrat.reference
        self.prepare = can_prepare(user, contrat)
        self.executer = can_enter_execution(user, contrat)
        self.suivre = can_follow_payments(user, contrat)
        self._avenant = False  # read once, when a warning needs it

    def avenant(self) -> Lien:
        if self._avenant is False:
            self._avenant = (
                Avenant.objects.filter(contrat=self.contrat, statut__in=STATUTS_AVENANT_OUVERTS)
                .order_by("numero")
                .first()
            )
        if self._avenant is not None:
            return Lien(
                reverse("espace:avenant", kwargs={"reference": self.ref, "numero": self._avenant.numero}),
                f"Corriger par l'avenant n° {self._avenant.numero}",
            )
        return Lien(reverse("espace:avenant_creer", kwargs={"reference": self.ref}), "Ouvrir un avenant pour corriger")

    def fiches(self, **filtres) -> str:
        return reverse("espace:fiches") + "?" + urlencode({"contrat": self.ref, **filtres})

    def fiche(self, code: str, name: str = "fiche") -> str:
        return reverse(f"espace:{name}", kwargs={"reference": self.ref, "code": code})

    def pour(self, alerte) -> Lien:
        fige = self.contrat.est_fige
        if alerte.groupe == ALERTE_PLAFOND:
            if fige and self.prepare:
                return self.avenant()
            return Lien(
                self.fiches(annee=alerte.annee, financeur="etat"),
                f"Voir les fiches financées par l'État en {alerte.annee}",
            )
        if alerte.groupe == ALERTE_VERSEMENTS:
            return Lien(f"#versements-{alerte.annee}", f"Voir les versements {alerte.annee}")
        if alerte.groupe == ALERTE_RELIQUAT:
            if self.suivre:
                url = reverse("espace:reliquat", kwargs={"reference": self.ref, "annee": alerte.annee})
                return Lien(url, f"Décider du reliquat {alerte.annee}")
            return Lien("#reliquats", f"Voir le reliquat {alerte.annee}")
        if alerte.fiche is None:  # an axis: its fiches of the year
            return Lien(
                self.fiches(axe=alerte.axe, annee=alerte.annee),
                f"Voir les fiches de l'axe {alerte.axe} financées en {alerte.annee}",
            )
        if alerte.groupe == ALERTE_PARITE_PREVU:
            if self.prepare and fige:
                return self.avenant()
            if self.prepare:
                return Lien(self.fiche(alerte.fiche, "fiche_modifier"), f"Corriger la fiche {alerte.fiche}")
        if alerte.groupe == ALERTE_PARITE_REALISE and self.executer and fige:
            return Lien(self.fiche(alerte.fiche, "fiche_execution"), f"Corriger l'exécution de la fiche {alerte.fiche}")
        return Lien(self.fiche(alerte.fiche), f"Voir la fiche {alerte.fiche}")


def _regle(regle, contrat) -> str:
    """The contract type's cofinancing rule in words (a volet may have its own: the warnings apply each)."""
    texte = (
        f"Part de l'État au plus {format_taux(regle.taux_etat_max)} du coût total de chaque action et de chaque année"
    )
    if regle.contrepartie == Contrepartie.COLLECTIVITE:
        texte += f", et au plus la part {contrat.collectivite.partie}"
    elif regle.contrepartie == Contrepartie.COFINANCEURS:
        texte += ", et au plus celle des autres financeurs"
    if not regle.etat_seul:
        texte += " ; l'État ne finance jamais seul une action"
    return texte + f" ; tolérance de {format_euros(regle.tolerance)}."


#: The status changes offered on a payment: action code → target status, button, title, success message.
@dataclass(frozen=True)
class Action:
    to: str | None  # None: the payment is removed
    bouton: str
    titre: str
    succes: str


ACTIONS = {
    "demander": Action(
        StatutVersement.DEMANDE,
        "Demander le paiement",
        "Demander le paiement du versement",
        "La demande de paiement est enregistrée.",
    ),
    "verser": Action(
        StatutVersement.VERSE, "Enregistrer le paiement", "Enregistrer le paiement", "Le versement est payé."
    ),
    "annuler": Action(
        StatutVersement.PREVU,
        "Retirer la demande",
        "Retirer la demande de paiement",
        "La demande est retirée : le versement est de nouveau prévu.",
    ),
    "supprimer": Action(None, "Supprimer", "Supprimer le versement prévu", "Le versement prévu est supprimé."),
}


def actions_permises(versement) -> list[tuple[str, Action]]:
    """The actions of a payment in its status (the caller asks ``can_follow_payments``)."""
    possibles = TRANSITIONS_VERSEMENT[versement.statut_effectif]
    actions = [(code, a) for code, a in ACTIONS.items() if a.to is not None and a.to in possibles]
    if versement.statut_effectif == StatutVersement.PREVU:
        actions.append(("supprimer", ACTIONS["supprimer"]))
    return actions


def argent(request, reference: str):
    """The contract's money page (see the module's docstring)."""
    contrat = _contrat(request, reference)
    user = request.user
    lu = argent_contrat(contrat)
    liens = _Liens(user, contrat)
    alertes = {groupe: [] for groupe, _ in GROUPES}
    for alerte in lu.alertes:
        alertes[alerte.groupe].append((alerte, liens.pour(alerte)))
    versements_par_annee = {a.annee: [] for a in lu.annees}
    for v in lu.versements:
        versements_par_annee.setdefault(v.annee, []).append((v, actions_permises(v) if liens.suivre else []))
    context = {
        "title": f"Suivi financier du contrat {contrat.reference}",
        "contrat": contrat,
        "lu": lu,
        "regle": _regle(lu.regle_generale, contrat),
        "groupes": [(titre, alertes[groupe]) for groupe, titre in GROUPES if alertes[groupe]],
        "nb_alertes": len(lu.alertes),
        "versements": [(a, versements_par_annee.get(a.annee, [])) for a in lu.annees],
        "peut_suivre": liens.suivre,
        "peut_verser": liens.suivre and contrat.est_fige,
        "breadcrumb_data": _fil(_liens(contrat, argent=False), "Suivi financier"),
    }
    return render(request, "espace/argent/argent.html", context)


# --- A payment: create, change, move its status ------------------------------------------------------


class VersementEspaceForm(EspaceModelForm, VersementForm):
    pass


def _form(request, contrat, versement) -> VersementEspaceForm:
    beneficiaires = Organisation.objects.for_user(request.user).filter(
        pk__in=beneficiaires_possibles(contrat).values("pk")
    )
    return VersementEspaceForm(
        data=request.POST if request.method == "POST" else None,
        instance=versement,
        contrat=contrat,
        request=request,
        annees=list(contrat.annees),
        beneficiaires=beneficiaires,
        collectivite=contrat.collectivite.nom,
    )


def _ecrire(request, form, *, version=None):
    try:
        return versement_save(versement=form.instance, by=request.user, version=version)
    except ValidationError as error:
        service_errors_to_form(form, error)
        return None


def versement_creer(request, reference: str):
    """A new planned payment of a signed contract."""
    contrat = contrat_or_404(request, reference)
    require(can_follow_payments(request.user, contrat))
    form = _form(request, contrat, Versement(contrat=contrat))
    if request.method == "POST" and form.is_valid():
        versement = _ecrire(request, form)
        if versement is not None:
            messages.success(request, f"Le versement « {_libelle(versement)} » est enregistré : il est prévu.")
            return redirect(_url_argent(contrat) + f"#versements-{versement.annee}")
    titre = f"Nouveau versement – {contrat.reference}"
    context = {
        "title": titre,
        "contrat": contrat,
        "form": form,
        "refus": [] if contrat.est_fige else ["L'État ne verse qu'au titre d'un contrat signé."],
        "breadcrumb_data": _fil(_liens(contrat), "Nouveau versement"),
    }
    return render(request, "espace/argent/versement_form.html", context)


def _versement_or_404(request, contrat, uid):
    return get_object_or_404(
        Versement.objects.for_user(request.user).filter(contrat=contrat).select_related("beneficiaire", "contrat"),
        uid=uid,
    )


def versement(request, reference: str, uid):
    """A payment: what it is, its status and dates, the actions on it; the change form for who follows payments."""
    contrat = _contrat(request, reference)
    objet = _versement_or_404(request, contrat, uid)
    objet.contrat = contrat
    peut = can_follow_payments(request.user, contrat)
    if request.method == "POST":
        require(peut)
    form = _form(request, contrat, objet) if peut else None
    ecrit = form is not None and request.method == "POST" and form.is_valid()
    if ecrit and _ecrire(request, form, version=form.cleaned_data.get("pacte_version")) is not None:
        messages.success(request, f"Le versement « {_libelle(objet)} » est enregistré.")
        return redirect(_url_versement(objet))
    context = {
        "title": f"Versement {objet.get_nature_display().lower()} {objet.annee} – {contrat.reference}",
        "contrat": contrat,
        "versement": objet,
        "form": form,
        "actions": actions_permises(objet) if peut else [],
        "breadcrumb_data": _fil(_liens(contrat), f"{objet.get_nature_display()} {objet.annee}"),
    }
    return render(request, "espace/argent/versement.html", context)


class DemandeForm(EspaceForm, DemandeVersementForm):
    pass


class PaiementForm(EspaceForm, PaiementVersementForm):
    pass


class SuppressionForm(EspaceForm, VersionForm):
    pass


def _consequences(code: str, objet: Versement, refus: list[str]) -> list[str]:
    libelle = _libelle(objet)
    if code == "demander":
        consequences = [
            f"Le versement « {libelle} » est demandé au service comptable (Chorus)"
            + (f", sous l'engagement juridique n° {objet.numero_ej}." if objet.numero_ej else "."),
            f"Il compte désormais dans ce que l'État verse au titre de {objet.annee} : les versements demandés ou "
            "payés de l'année restent dans son enveloppe, moins le reliquat de l'année précédente s'il en est déduit.",
        ]
        if objet.nature == NatureVersement.SOLDE:
            consequences.append(f"Un solde se demande une fois le rapport annuel {objet.annee} validé.")
    elif code == "verser":
        consequences = [
            f"Le versement « {libelle} » est enregistré comme payé à la date indiquée : il compte dans le reliquat "
            f"{objet.annee} (versé par l'État moins réalisé sur sa part).",
            "Un versement payé ne change plus de statut.",
        ]
    elif code == "annuler":
        consequences = [
            f"La demande de paiement du versement « {libelle} » est retirée : il redevient prévu et ne compte plus "
            "dans l'enveloppe de l'année."
        ]
    else:
        consequences = [f"Le versement prévu « {libelle} » est supprimé ; son historique reste."]
    if refus:
        consequences.append("Tel qu'il est, le versement serait refusé : " + " ".join(refus))
    return consequences


def versement_statut(request, reference: str, uid, action: str):
    """Requests a payment, records it as paid, withdraws its request, or removes a planned one: a confirmation
    page each."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    contrat = _contrat(request, reference)
    objet = _versement_or_404(request, contrat, uid)
    objet.contrat = contrat
    user = request.user
    require(can_follow_payments(user, contrat))
    # What the service would refuse, said before the confirmation (it says it again on POST).
    refus = []
    if request.method == "GET" and spec.to in (StatutVersement.DEMANDE, StatutVersement.VERSE):
        refus = versement_errors(objet, exclude_pk=objet.pk) if objet.statut == StatutVersement.PREVU else []
    if spec.to == StatutVersement.DEMANDE:
        form_class = DemandeForm
    elif spec.to == StatutVersement.VERSE:
        form_class = PaiementForm
    else:
        form_class = SuppressionForm

    def apply(data):
        if spec.to is None:
            if objet.statut_effectif != StatutVersement.PREVU:
                # A payment requested or made is part of the accounts: the back-office corrects a mistake.
                statut = objet.get_statut_effectif_display()
                raise ValidationError(f"Seul un versement prévu se supprime ici ; ce versement est « {statut} ».")
            return versement_delete(versement=objet, by=user, version=data.get("version"))
        return versement_transition(
            versement=objet,
            to=spec.to,
            by=user,
            date_action=data.get("date_demande") or data.get("date_versement"),
            version=data.get("version"),
        )

    retour = _url_argent(contrat) + f"#versements-{objet.annee}" if spec.to is None else _url_versement(objet)
    return confirmer(
        request,
        titre=spec.titre,
        objet=f"{objet.get_nature_display()} {objet.annee} de {format_euros(objet.montant)} – contrat "
        f"{contrat.reference} ({objet.get_statut_effectif_display().lower()})",
        consequences=_consequences(action, objet, refus),
        apply=apply,
        retour=retour,
        succes=spec.succes,
        form_class=form_class,
        initial={"version": objet.version},
        bouton=spec.bouton,
        extra_context={
            "breadcrumb_data": _fil(
                [
                    *_liens(contrat),
                    {"url": _url_versement(objet), "title": (f"{objet.get_nature_display()} {objet.annee}")},
                ],
                spec.titre,
            )
        },
    )


# --- The reliquat of a year: its decision ---------------------------------------------------------------


class DecisionForm(EspaceForm, ReliquatDecisionForm):
    pass


def reliquat(request, reference: str, annee: int):
    """Decides what is done with a year's reliquat: deducted from the next year's payments, or reclaimed."""
    contrat = _contrat(request, reference)
    if annee not in contrat.annees:
        raise Http404
    user = request.user
    require(can_follow_payments(user, contrat))
    lu = argent_contrat(contrat)
    an = next(a for a in lu.annees if a.annee == annee)
    suivante = next((a for a in lu.annees if a.annee == annee + 1), None)
    consequences = [
        f"Exercice {annee} : l'État a versé {format_euros(an.verse)} ; la part de l'État réalisée est de "
        f"{format_euros(an.etat.realise)} ; le reliquat est de {format_euros(an.reliquat)}.",
    ]
    if suivante is not None and suivante.plafond is not None:
        consequences.append(
            f"{DecisionReliquat.DEDUCTION.label} : ce que l'État peut verser en {annee + 1} passe de "
            f"{format_euros(suivante.plafond - suivante.deduction)} à "
            f"{format_euros(suivante.plafond - an.reliquat)} (enveloppe {annee + 1} moins le reliquat) ; "
            "l'avance suivante en tient compte."
        )
    elif suivante is None:
        consequences.append(f"{annee} est le dernier exercice du contrat : le reliquat ne peut qu'être reversé.")
    consequences.append(
        f"{DecisionReliquat.REVERSEMENT.label} : un titre de reversement de {format_euros(an.reliquat)} est à émettre "
        "à l'encontre de la collectivité."
    )
    if an.statut_rapport != "valide":
        consequences.append(
            f"Le rapport annuel {annee} n'est pas encore validé : le réalisé peut encore changer, et une décision "
            "prise sur un montant qui change est à reprendre."
        )
    if an.decision:
        consequences.append(
            f"Décision déjà enregistrée le {an.reliquat_enregistre.decide_le:%d/%m/%Y} : "
            f"{an.reliquat_enregistre.get_decision_display().lower()} ; la nouvelle la remplace."
        )
    return confirmer(
        request,
        titre=f"Reliquat {annee} du contrat {contrat.reference}",
        objet=f"Reliquat {annee} : {format_euros(an.reliquat)} versés par l'État et non dépensés sur sa part",
        consequences=consequences,
        apply=lambda data: reliquat_settle(
            contrat=contrat,
            annee=annee,
            decision=data["decision"],
            by=user,
            commentaire=data["commentaire"],
            montant=data["montant"],
        ),
        retour=_url_argent(contrat) + "#reliquats",
        succes=f"La décision sur le reliquat {annee} est enregistrée.",
        form_class=DecisionForm,
        initial={"montant": an.reliquat, "decision": an.decision or None},
        bouton="Enregistrer la décision",
        extra_context={"breadcrumb_data": _fil(_liens(contrat), f"Reliquat {annee}")},
    )
