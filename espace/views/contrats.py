"""Contracts in the front office: the list (filters, sort, pages), a contract's page, its status changes.

Every read goes through the user's perimeter (``for_user``): a partner (``Niveau.PORTEUR``) sees the actions
it carries and none of the contract-wide figures. Sums are done by the database, grouped once per page
and arranged in Python, so that a page costs the same number of queries whatever the number of fiches.
Writes go through ``contrats.services`` only, behind ``espace.confirmation.confirmer``.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from actions.enums import STATUTS_ACTIFS
from actions.models import FicheAction
from contrats.enums import TRANSITIONS_CONTRAT, PartieSignataire, StatutContrat
from contrats.filters import TRI_PAR_DEFAUT, TRIS, ContratFilter
from contrats.forms import (
    CONSEQUENCES_CLOTURE,
    CONSEQUENCES_RESILIATION,
    CONSEQUENCES_SIGNATURE,
    ClotureForm,
    ResiliationForm,
    date_signature_field,
    pas_dans_le_futur,
    statuts_depuis,
)
from contrats.models import (
    Avenant,
    Comite,
    Contrat,
    EngagementPartenaire,
    LibelleAxe,
    ObjectifContrat,
    Signataire,
    Volet,
)
from contrats.services import avenant_errors, contrat_sign, contrat_transition, signataire_save
from espace.confirmation import confirmer
from espace.forms import EspaceForm
from espace.lookups import contrat_or_404, require
from financement.enums import TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAnnuel, Versement
from financement.regles import plafond_messages, plafonds_messages
from pacte.money import ZERO, to_cents
from pacte.perimeters import Niveau, perimetre_of
from pacte.perms import can_prepare, can_sign
from pacte.services import ConflictError
from pacte.workflow import check_transition

PAR_PAGE = 50
MONEY = DecimalField(max_digits=16, decimal_places=2)


# --- The list ---------------------------------------------------------------------------------------------


def contrats_annotes(user):
    """The contracts of the user's perimeter, each with its number of fiches and the State's planned total of
    its active fiches (both through the perimeter: a partner counts the fiches it carries), one query."""
    fiches = FicheAction.objects.for_user(user).filter(contrat=OuterRef("pk"))
    nb_fiches = fiches.order_by().values("contrat").annotate(n=Count("pk")).values("n")
    etat = (
        LigneFinancement.objects.for_user(user)
        .filter(fiche__contrat=OuterRef("pk"), fiche__statut__in=STATUTS_ACTIFS, type_financeur=TypeFinanceur.ETAT)
        .order_by()
        .values("fiche__contrat")
        .annotate(s=Sum("prevu"))
        .values("s")
    )
    return (
        Contrat.objects.for_user(user)
        .select_related("collectivite")
        .annotate(
            nb_fiches=Coalesce(Subquery(nb_fiches, output_field=IntegerField()), Value(0)),
            etat_prevu=Coalesce(Subquery(etat, output_field=MONEY), Value(ZERO), output_field=MONEY),
        )
        .order_by("reference")
    )


#: The sortable columns of the list: (heading, ascending ``tri``, descending ``tri`` or None).
COLONNES = (
    ("Référence", "reference", "-reference"),
    ("Titre", "titre", None),
    ("Type", "type", None),
    ("Collectivité", "collectivite", None),
    ("Période", "debut", "-debut"),
    ("Statut", "statut", None),
    ("Fiches", "fiches", "-fiches"),
    ("Prévu de l'État", "etat", "-etat"),
)


def _colonnes(tri: str) -> list[dict]:
    """Each heading with the sort its link asks (the other direction when it is the current one) and its
    ``aria-sort``."""
    colonnes = []
    for titre, asc, desc in COLONNES:
        if tri == asc:
            colonnes.append({"titre": titre, "tri": desc or asc, "aria_sort": "ascending"})
        elif tri == desc:
            colonnes.append({"titre": titre, "tri": asc, "aria_sort": "descending"})
        else:
            colonnes.append({"titre": titre, "tri": asc, "aria_sort": ""})
    return colonnes


def liste(request):
    """The contracts the user sees, filtered (``contrats.filters.ContratFilter``), sorted and paginated."""
    filtre = ContratFilter(request.GET or None, queryset=contrats_annotes(request.user), request=request)
    invalide = filtre.is_bound and not filtre.is_valid()
    # A facet that is not valid shows its message and no contract, rather than a list that ignores it.
    contrats = filtre.queryset.none() if invalide else filtre.qs
    page = Paginator(contrats, PAR_PAGE).get_page(request.GET.get("page"))
    page.pages_list = list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    tri = filtre.tri_actif if filtre.is_bound else TRI_PAR_DEFAUT
    context = {
        "title": "Contrats",
        "filtre": filtre,
        "form": filtre.form,
        "invalide": invalide,
        "page_obj": page,
        "contrats": page.object_list,
        "colonnes": _colonnes(tri),
        "tri_libelle": TRIS[tri][0],
        "breadcrumb_data": {"root_dir": reverse("espace:accueil"), "links": [], "current": "Contrats"},
    }
    return render(request, "espace/contrats/liste.html", context)


# --- The contract's page ---------------------------------------------------------------------------------


def _par_financeur() -> dict[str, Decimal]:
    return {"etat": ZERO, "collectivite": ZERO, "autres": ZERO}


@dataclass
class LigneFiche:
    """A fiche with its planned amounts: per funder over every year, and per year (``par_annee[2025]["etat"]``)."""

    fiche: FicheAction
    etat: Decimal = ZERO
    collectivite: Decimal = ZERO
    autres: Decimal = ZERO
    par_annee: dict[int, dict[str, Decimal]] = field(default_factory=lambda: defaultdict(_par_financeur))

    @property
    def active(self) -> bool:
        return self.fiche.statut in STATUTS_ACTIFS


@dataclass
class BlocAxe:
    axe: object
    libelle: str
    libelle_local: bool
    fiches: list[LigneFiche] = field(default_factory=list)

    @property
    def etat(self) -> Decimal:
        return sum((f.etat for f in self.fiches if f.active), ZERO)

    @property
    def collectivite(self) -> Decimal:
        return sum((f.collectivite for f in self.fiches if f.active), ZERO)


@dataclass
class LigneEnveloppe:
    """One year (and volet) of the ceilings table: the ceiling, the State's planned total of the active fiches
    it covers, and the rule's message (``financement.regles.plafond_messages``) when they do not fit."""

    annee: int
    portee: str  # "Contrat", "Hors volets", "Volet 1"…
    plafond: Decimal | None
    etat: Decimal
    messages: list[str]

    @property
    def depassement(self) -> Decimal | None:
        if self.plafond is None:
            return to_cents(self.etat) if self.etat > 0 else None
        ecart = to_cents(self.etat) - to_cents(self.plafond)
        return ecart if ecart > 0 else None

    @property
    def marge(self) -> Decimal | None:
        if self.plafond is None or self.depassement is not None:
            return None
        return to_cents(self.plafond) - to_cents(self.etat)


@dataclass
class LigneCofinancement:
    annee: int
    etat: Decimal = ZERO
    collectivite: Decimal = ZERO
    autres: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.etat + self.collectivite + self.autres


def _enveloppes(contrat, lignes: list[LigneFiche], plafonds: list[Plafond]) -> list[LigneEnveloppe]:
    """The ceilings table, read the way ``financement.regles.plafond_violations`` checks them: a contract-wide
    ceiling covers every active fiche; where volets have their own ceiling for a year, each volet is compared
    with its own (else the contract's) and the fiches outside volets with none."""
    par_annee: dict[int, Decimal] = defaultdict(lambda: ZERO)
    sans_volet: dict[int, Decimal] = defaultdict(lambda: ZERO)
    par_volet: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    numeros: dict[int, int] = {}
    for ligne in lignes:
        if not ligne.active:
            continue
        fiche = ligne.fiche
        for annee, montants in ligne.par_annee.items():
            montant = montants["etat"]
            par_annee[annee] += montant
            if fiche.volet_id:
                par_volet[(annee, fiche.volet_id)] += montant
                numeros[fiche.volet_id] = fiche.volet.numero
            else:
                sans_volet[annee] += montant
    plafonds_contrat, plafonds_volet = {}, {}
    for p in plafonds:
        if p.volet_id:
            plafonds_volet[(p.annee, p.volet_id)] = p.montant
            numeros[p.volet_id] = p.volet.numero
        else:
            plafonds_contrat[p.annee] = p.montant
    rows = []
    for annee in sorted(set(contrat.annees) | set(par_annee) | set(plafonds_contrat) | {a for a, _ in plafonds_volet}):
        volets_plafonnes = {v for (a, v) in plafonds_volet if a == annee}
        if annee in plafonds_contrat or not volets_plafonnes:
            plafond = plafonds_contrat.get(annee)
            messages = plafond_messages(annee=annee, etat=par_annee[annee], plafond=plafond)
            rows.append(LigneEnveloppe(annee, "Contrat", plafond, par_annee[annee], messages))
        else:
            messages = plafond_messages(annee=annee, etat=sans_volet[annee], plafond=None, libelle=", hors volets")
            rows.append(LigneEnveloppe(annee, "Hors volets", None, sans_volet[annee], messages))
        if volets_plafonnes:
            volets = {v for (a, v) in par_volet if a == annee} | volets_plafonnes
            for volet_id in sorted(volets, key=numeros.__getitem__):
                plafond = plafonds_volet.get((annee, volet_id), plafonds_contrat.get(annee))
                etat = par_volet[(annee, volet_id)]
                libelle = f", volet {numeros[volet_id]}"
                messages = plafond_messages(annee=annee, etat=etat, plafond=plafond, libelle=libelle)
                rows.append(LigneEnveloppe(annee, f"Volet {numeros[volet_id]}", plafond, etat, messages))
    return rows


def alertes_enveloppes(lignes: list[LigneFiche], plafonds: list[Plafond]) -> list[str]:
    """What the signature would say of the ceilings (``financement.regles.plafonds_messages``, the rule's own
    decisions), from the sums already read for the page: no query."""
    sommes: dict[tuple[int, int | None, int | None], Decimal] = defaultdict(lambda: ZERO)
    for ligne in lignes:
        if ligne.active:
            for annee, montants in ligne.par_annee.items():
                volet = ligne.fiche.volet
                sommes[(annee, ligne.fiche.volet_id, volet.numero if volet else None)] += montants["etat"]
    return plafonds_messages(
        [(*cle, etat) for cle, etat in sorted(sommes.items(), key=lambda kv: (kv[0][0], kv[0][2] or 0))],
        [(p.annee, p.volet_id, p.montant) for p in plafonds],
    )


#: Signatories in the order a convention prints them.
ORDRE_PARTIES = {PartieSignataire.ETAT: 0, PartieSignataire.COLLECTIVITE: 1, PartieSignataire.PARTENAIRE: 2}


def signataires_du_contrat(user, contrat) -> list[Signataire]:
    rows = Signataire.objects.for_user(user).filter(contrat=contrat).select_related("organisation")
    return sorted(rows, key=lambda s: (ORDRE_PARTIES.get(s.partie, 9), s.pk))


def _fiches_et_montants(user, contrat) -> list[LigneFiche]:
    """The fiches the user sees, with their planned amounts per funder (all years) and the State's per year:
    one query for the fiches, one grouped query for the sums."""
    fiches = FicheAction.objects.for_user(user).filter(contrat=contrat).select_related("axe", "volet")
    lignes = {fiche.pk: LigneFiche(fiche) for fiche in fiches}
    sums = (
        LigneFinancement.objects.for_user(user)
        .filter(fiche__contrat=contrat)
        .values("fiche_id", "annee", "type_financeur")
        .annotate(prevu=Sum("prevu"))
        .order_by()
    )
    cles = {TypeFinanceur.ETAT: "etat", TypeFinanceur.COLLECTIVITE: "collectivite"}
    for row in sums:
        ligne = lignes.get(row["fiche_id"])
        if ligne is None:
            continue
        cle = cles.get(row["type_financeur"], "autres")
        montant = row["prevu"] or ZERO
        setattr(ligne, cle, getattr(ligne, cle) + montant)
        ligne.par_annee[row["annee"]][cle] += montant
    return list(lignes.values())


def _axes(contrat, lignes: list[LigneFiche], libelles: dict[int, str]) -> list[BlocAxe]:
    axes = {axe.pk: axe for axe in contrat.axes.all()}
    for ligne in lignes:  # a fiche on an axis the contract no longer carries is still shown
        axes.setdefault(ligne.fiche.axe_id, ligne.fiche.axe)
    blocs = {
        pk: BlocAxe(axe, libelles.get(pk) or axe.intitule, pk in libelles)
        for pk, axe in sorted(axes.items(), key=lambda kv: kv[1].numero)
    }
    for ligne in lignes:
        blocs[ligne.fiche.axe_id].fiches.append(ligne)
    return list(blocs.values())


def _cofinancement(contrat, lignes: list[LigneFiche]) -> list[LigneCofinancement]:
    annees = {annee: LigneCofinancement(annee) for annee in contrat.annees}
    for ligne in lignes:
        if not ligne.active:
            continue
        for annee, montants in ligne.par_annee.items():
            row = annees.setdefault(annee, LigneCofinancement(annee))
            row.etat += montants["etat"]
            row.collectivite += montants["collectivite"]
            row.autres += montants["autres"]
    return [annees[a] for a in sorted(annees)]


def detail(request, reference: str):
    """A contract's page: parties, content, fiches by axis with their totals, ceilings, cofinancing, partners'
    commitments, payments, avenants, committees, documents; the buttons the user may use."""
    user = request.user
    contrat = contrat_or_404(
        request, reference, queryset=Contrat.objects.select_related("pacte_local", "contrat_precedent")
    )
    vue_porteur = perimetre_of(user).niveau == Niveau.PORTEUR
    lignes = _fiches_et_montants(user, contrat)
    libelles = {la.axe_id: la.libelle for la in LibelleAxe.objects.for_user(user).filter(contrat=contrat)}
    plafonds = list(Plafond.objects.for_user(user).filter(contrat=contrat).select_related("volet"))
    prepare = can_prepare(user, contrat)
    peut_ouvrir_avenant = prepare and not avenant_errors(contrat)
    context = {
        "title": f"Contrat {contrat.reference}",
        "contrat": contrat,
        "vue_porteur": vue_porteur,
        "signataires": signataires_du_contrat(user, contrat),
        "objectifs": list(ObjectifContrat.objects.for_user(user).filter(contrat=contrat)),
        "volets": list(Volet.objects.for_user(user).filter(contrat=contrat)),
        "axes": _axes(contrat, lignes, libelles),
        "enveloppes": _enveloppes(contrat, lignes, plafonds),
        "alertes_enveloppes": alertes_enveloppes(lignes, plafonds),
        "cofinancement": _cofinancement(contrat, lignes),
        "engagements": list(
            EngagementPartenaire.objects.for_user(user).filter(contrat=contrat).select_related("organisation")
        ),
        "versements": list(Versement.objects.for_user(user).filter(contrat=contrat).select_related("beneficiaire")),
        "avenants": list(Avenant.objects.for_user(user).filter(contrat=contrat)),
        "comites": list(Comite.objects.for_user(user).filter(contrat=contrat)),
        "rapports": list(
            RapportAnnuel.objects.for_user(user)
            .filter(contrat=contrat)
            .avec_retard(timezone.localdate())
            .select_related("contrat")
            .order_by("annee")
        ),
        "peut_creer_fiche": prepare and not contrat.est_fige,
        "peut_ouvrir_avenant": peut_ouvrir_avenant,
        "actions_statut": actions_permises(user, contrat),
        "breadcrumb_data": {
            "root_dir": reverse("espace:accueil"),
            "links": [{"url": reverse("espace:contrats"), "title": "Contrats"}],
            "current": contrat.reference,
        },
    }
    return render(request, "espace/contrats/detail.html", context)


# --- Status changes --------------------------------------------------------------------------------------


class ClotureEspaceForm(EspaceForm, ClotureForm):
    pass


class ResiliationEspaceForm(EspaceForm, ResiliationForm):
    pass


@dataclass(frozen=True)
class ActionStatut:
    """A status change offered on the contract's page: where it leads, who may ask it, what the page says."""

    vers: str
    titre: str
    bouton: str
    succes: str
    consequences: tuple[str, ...]
    permission: Callable = can_prepare
    form_class: type[EspaceForm] = EspaceForm
    secondaire: bool = False


ACTIONS = {
    "negociation": ActionStatut(
        vers=StatutContrat.EN_NEGOCIATION,
        titre="Passer le contrat en négociation",
        bouton="Passer en négociation",
        succes="Le contrat {ref} est en négociation.",
        consequences=(
            "Le contrat passera au statut « En négociation » : ses fiches, ses montants et ses enveloppes restent "
            "modifiables.",
            "Depuis « Prêt pour signature », le contrat revient en préparation : il devra être de nouveau marqué "
            "prêt pour signature avant d'être signé.",
            f"Seul un contrat {statuts_depuis(StatutContrat.EN_NEGOCIATION)} peut passer en négociation.",
        ),
        secondaire=True,
    ),
    "pret": ActionStatut(
        vers=StatutContrat.PRET_SIGNATURE,
        titre="Marquer le contrat prêt pour signature",
        bouton="Marquer prêt pour signature",
        succes="Le contrat {ref} est prêt pour signature.",
        consequences=(
            "Le contrat passera au statut « Prêt pour signature » après les contrôles de la signature : fiches "
            "validées et cohérentes, parité de chaque action et de chaque année, enveloppes annuelles de l'État.",
            "Si un contrôle échoue, le statut ne change pas et la page dit pourquoi.",
            f"Seul un contrat {statuts_depuis(StatutContrat.PRET_SIGNATURE)} peut être marqué prêt pour signature.",
        ),
    ),
    "execution": ActionStatut(
        vers=StatutContrat.EN_EXECUTION,
        titre="Passer le contrat en exécution",
        bouton="Passer en exécution",
        succes="Le contrat {ref} est en exécution.",
        consequences=(
            "Le contrat passera au statut « En exécution » : les montants engagés et réalisés, les valeurs des "
            "indicateurs et les rapports annuels se saisissent ; le contractuel reste figé (avenant).",
            f"Seul un contrat {statuts_depuis(StatutContrat.EN_EXECUTION)} peut passer en exécution.",
        ),
    ),
    "clore": ActionStatut(
        vers=StatutContrat.CLOS,
        titre="Clore le contrat",
        bouton="Clore le contrat",
        succes="Le contrat {ref} est clos.",
        consequences=tuple(CONSEQUENCES_CLOTURE),
        form_class=ClotureEspaceForm,
        secondaire=True,
    ),
    "resilier": ActionStatut(
        vers=StatutContrat.RESILIE,
        titre="Résilier le contrat",
        bouton="Résilier le contrat",
        succes="Le contrat {ref} est résilié.",
        consequences=tuple(CONSEQUENCES_RESILIATION),
        form_class=ResiliationEspaceForm,
        secondaire=True,
    ),
    "signer": ActionStatut(
        vers=StatutContrat.SIGNE,
        titre="Enregistrer la signature du contrat",
        bouton="Enregistrer la signature",
        succes="Le contrat {ref} est signé.",
        consequences=(
            *CONSEQUENCES_SIGNATURE,
            "La date de signature du contrat est celle de la dernière signature de ses signataires.",
        ),
        permission=can_sign,
    ),
}


def _permise(contrat, action: ActionStatut) -> bool:
    """The contract's status allows the change (``TRANSITIONS_CONTRAT``, through ``check_transition``)."""
    try:
        check_transition(
            sujet=f"Le contrat {contrat.reference}",
            genre="de contrat",
            statuts=StatutContrat,
            transitions=TRANSITIONS_CONTRAT,
            current=contrat.statut,
            to=action.vers,
        )
    except ValidationError:
        return False
    return True


def actions_permises(user, contrat) -> list[dict]:
    """The status buttons of the contract's page: the changes its status allows that the user may ask."""
    boutons = []
    for cle, action in ACTIONS.items():
        if not _permise(contrat, action) or not action.permission(user, contrat):
            continue
        libelle = action.bouton
        if cle == "negociation" and contrat.statut == StatutContrat.PRET_SIGNATURE:
            libelle = "Revenir en négociation"
        boutons.append({"action": cle, "libelle": libelle, "secondaire": action.secondaire})
    return boutons


def _objet(contrat) -> str:
    return (
        f"Contrat {contrat.reference} – {contrat.titre} ({contrat.collectivite}, "
        f"{contrat.get_statut_display().lower()})"
    )


def statut(request, reference: str, action: str):
    """Changes the contract's status through a confirmation page; ``signer`` records the signatories' dates
    and the signature in one transaction."""
    contrat = contrat_or_404(request, reference)
    spec = ACTIONS.get(action)
    if spec is None:
        raise Http404
    require(spec.permission(request.user, contrat))
    retour = reverse("espace:contrat", args=[contrat.reference])
    links = [
        {"url": reverse("espace:contrats"), "title": "Contrats"},
        {"url": retour, "title": contrat.reference},
    ]
    consequences = list(spec.consequences)
    if action == "negociation" and contrat.statut != StatutContrat.PRET_SIGNATURE:
        consequences.pop(1)
    if action == "signer":
        return _signer(request, contrat, spec, consequences, retour, links)

    def apply(data):
        contrat_transition(contrat=contrat, to=spec.vers, by=request.user, motif=data.get("motif", ""))

    return confirmer(
        request,
        titre=spec.titre,
        objet=_objet(contrat),
        consequences=consequences,
        apply=apply,
        retour=retour,
        succes=spec.succes.format(ref=contrat.reference),
        form_class=spec.form_class,
        breadcrumb_links=links,
        bouton=spec.bouton,
    )


def _nom_partie(signataire: Signataire) -> str:
    if signataire.partie == PartieSignataire.PARTENAIRE and signataire.organisation_id:
        return signataire.organisation.nom
    return signataire.get_partie_display()


def signature_form_class(signataires: list[Signataire]) -> type[EspaceForm]:
    """The signing page's form: a date for each signatory who has none yet, and the version of that signatory
    the page showed (a signatory changed meanwhile is a conflict, not an overwrite)."""
    attrs = {}
    sans_date = [s for s in signataires if s.date_signature is None]
    for s in sans_date:
        attrs[f"date_{s.pk}"] = date_signature_field(
            label=f"Date de signature de {s.nom} ({_nom_partie(s)})", required=True
        )
        attrs[f"version_{s.pk}"] = forms.IntegerField(widget=forms.HiddenInput, min_value=0, initial=s.version)

    def clean(self):
        cleaned = EspaceForm.clean(self)
        for s in sans_date:
            name = f"date_{s.pk}"
            try:
                pas_dans_le_futur(cleaned.get(name))
            except ValidationError as error:
                self.add_error(name, error)
        return cleaned

    attrs["clean"] = clean
    return type("SignatureContratForm", (EspaceForm,), attrs)


def _signer(request, contrat, spec: ActionStatut, consequences, retour, links):
    signataires = signataires_du_contrat(request.user, contrat)
    sans_date = [s for s in signataires if s.date_signature is None]

    @transaction.atomic
    def apply(data):
        # The dates and the signature in one transaction: if the signature is refused, no date is kept.
        dates = [s.date_signature for s in signataires if s.date_signature]
        for s in sans_date:
            signataire = copy.copy(s)  # the page lists the signatories as they were, whatever happens
            signataire.date_signature = data[f"date_{s.pk}"]
            try:
                signataire_save(signataire=signataire, by=request.user, version=data[f"version_{s.pk}"])
            except ConflictError:
                raise
            except ValidationError as error:
                raise ValidationError({f"date_{s.pk}": error.messages}) from error
            dates.append(signataire.date_signature)
        contrat_sign(contrat=contrat, signed_on=max(dates, default=timezone.localdate()), by=request.user)

    return confirmer(
        request,
        titre=spec.titre,
        objet=_objet(contrat),
        consequences=consequences,
        apply=apply,
        retour=retour,
        succes=spec.succes.format(ref=contrat.reference),
        form_class=signature_form_class(signataires),
        breadcrumb_links=links,
        bouton=spec.bouton,
        template_name="espace/contrats/signature.html",
        extra_context={"contrat": contrat, "signataires": signataires},
    )
