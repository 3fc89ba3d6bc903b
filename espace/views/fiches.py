"""Fiches actions: the list (facets, search, sorting, totals), a fiche's page, its status changes.

Every read goes through the user's perimeter (``for_user``, ``fiche_or_404``); money is summed by the
database; the parity shown on a fiche's page is decided by the rule functions of
``financement/regles.py``, the status changes are made by ``actions.services.fiche_transition``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, DecimalField, F, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Lower
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse

from actions.enums import RETOURS_INTERDITS_APRES_SIGNATURE, STATUTS_ACTIFS, TRANSITIONS_FICHE, StatutFiche
from actions.filters import FACETTES, FicheFilter
from actions.models import FicheAction
from actions.selectors import fiche_lineage
from actions.services import fiche_transition, fiche_validation_errors
from contrats.enums import StatutContrat
from espace.confirmation import confirmer
from espace.lookups import fiche_or_404, require
from financement.checks import parite_fiche
from financement.enums import Contrepartie, TypeFinanceur
from financement.models import LigneFinancement
from financement.regles import REALISE, format_taux, parite_messages, regle_pour, regles_par_type
from pacte.money import ZERO
from pacte.perms import can_enter_execution, can_prepare
from pacte.workflow import check_transition

PAR_PAGE = 50
MONEY = DecimalField(max_digits=16, decimal_places=2)

#: ``?tri=`` → the order (``-`` in front: descending); ties always in contract and code order.
ORDRE_STATUT = Case(
    *[When(statut=statut, then=Value(rang)) for rang, statut in enumerate(StatutFiche.values)],
    output_field=IntegerField(),
)
TRIS = {
    "contrat": F("contrat__reference"),
    "code": F("code_tri"),
    "intitule": Lower("intitule"),
    "statut": ORDRE_STATUT,
    "etat": F("montant_etat"),
    "total": F("montant_total"),
}
DEPARTAGE = ("contrat__reference", "code_tri", "pk")

#: Statuses shown as DSFR badges.
BADGES = {
    StatutFiche.PROPOSEE: "fr-badge--info",
    StatutFiche.VALIDEE: "fr-badge--success",
    StatutFiche.EN_COURS: "fr-badge--new",
    StatutFiche.TERMINEE: "",
    StatutFiche.ABANDONNEE: "fr-badge--error",
}

#: The status actions of a fiche: the URL's word → (status reached, button, the page's title).
ACTIONS_STATUT = {
    "valider": (StatutFiche.VALIDEE, "Valider la fiche", "Valider la fiche"),
    "proposer": (StatutFiche.PROPOSEE, "Revenir à « proposée »", "Remettre la fiche en proposition"),
    "demarrer": (StatutFiche.EN_COURS, "Démarrer l'action", "Démarrer l'action"),
    "terminer": (StatutFiche.TERMINEE, "Terminer l'action", "Terminer l'action"),
    "abandonner": (StatutFiche.ABANDONNEE, "Abandonner l'action", "Abandonner l'action"),
}


# --- The list ------------------------------------------------------------------------------------------


def _somme_prevue(annee: str | None, **conditions):
    """The planned amount of the row's fiche (one funder type, or all), that year or over every year."""
    lignes = LigneFinancement.objects.filter(fiche=OuterRef("pk"), **conditions)
    if annee:
        lignes = lignes.filter(annee=annee)
    somme = lignes.order_by().values("fiche").annotate(s=Sum("prevu")).values("s")[:1]
    return Coalesce(Subquery(somme, output_field=MONEY), Value(ZERO), output_field=MONEY)


def _totaux(fiches, annee: str | None) -> dict:
    """The planned amounts of the active fiches among ``fiches`` (every row filtered, not only the page),
    per funder type: one query, summed by the database."""
    actives = fiches.filter(statut__in=STATUTS_ACTIFS)
    lignes = LigneFinancement.objects.filter(fiche__in=actives.values("pk"))
    if annee:
        lignes = lignes.filter(annee=annee)

    def somme(condition=None):
        return Coalesce(Sum("prevu", filter=condition), Value(ZERO), output_field=MONEY)

    return lignes.aggregate(
        etat=somme(Q(type_financeur=TypeFinanceur.ETAT)),
        collectivite=somme(Q(type_financeur=TypeFinanceur.COLLECTIVITE)),
        autres=somme(Q(type_financeur=TypeFinanceur.AUTRE)),
        total=somme(),
    )


def _tri(valeur: str | None) -> tuple[str, str | None]:
    """The sort asked, or "" and an error message for an unknown one."""
    if not valeur:
        return "", None
    if valeur.removeprefix("-") in TRIS:
        return valeur, None
    possibles = ", ".join(TRIS)
    return "", (
        f"Tri : « {valeur[:50]} » n'est pas un tri possible ({possibles} ; précédé de « - » pour l'ordre décroissant)."
    )


def _ordre(tri: str, recherche: bool) -> list:
    if tri:
        expression = TRIS[tri.removeprefix("-")]
        return [expression.desc() if tri.startswith("-") else expression.asc(), *DEPARTAGE]
    if recherche:
        return [F("pertinence").desc(), *DEPARTAGE]
    return list(DEPARTAGE)


def _sans(request, *noms: str, **valeurs) -> str:
    """The query string of this page without ``noms`` (and without the page number), with ``valeurs``."""
    params = request.GET.copy()
    for nom in (*noms, "page"):
        params.pop(nom, None)
    for nom, valeur in valeurs.items():
        params[nom] = valeur
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else "?"


@dataclass
class Colonne:
    titre: str
    tri: str | None = None  # the ?tri= word, for a sortable column
    nombre: bool = False
    url: str = ""
    sens: str = ""  # "ascending"/"descending" when the list is sorted on it
    suivant: str = ""  # what a click does, for screen readers


def _colonnes(request, tri: str) -> list[Colonne]:
    colonnes = [
        Colonne("Contrat", "contrat"),
        Colonne("Code", "code"),
        Colonne("Intitulé", "intitule"),
        Colonne("Axe"),
        Colonne("Statut", "statut"),
        Colonne("Porteur"),
        Colonne("État (prévu)", "etat", nombre=True),
        Colonne("Collectivité (prévu)", nombre=True),
        Colonne("Total (prévu)", "total", nombre=True),
    ]
    for colonne in colonnes:
        if colonne.tri is None:
            continue
        if tri == colonne.tri:
            colonne.sens, suivant = "ascending", f"-{colonne.tri}"
            colonne.suivant = "trier par ordre décroissant"
        elif tri == f"-{colonne.tri}":
            colonne.sens, suivant = "descending", colonne.tri
            colonne.suivant = "trier par ordre croissant"
        else:
            suivant = colonne.tri
            colonne.suivant = "trier par ordre croissant"
        colonne.url = _sans(request, "tri", tri=suivant)
    return colonnes


def liste(request):
    """Every fiche of the user's perimeter, filtered by facets and search, sorted, 50 a page, with the
    totals of the whole filtered set."""
    filtre = FicheFilter(request.GET, queryset=FicheAction.objects.for_user(request.user), request=request)
    fiches = filtre.qs
    donnees = filtre.form.cleaned_data
    annee = donnees.get("annee") or None
    erreurs = [
        f"{filtre.form.fields[nom].label} : {message}"
        for nom, liste_ in filtre.form.errors.items()
        for message in liste_
    ]
    tri, erreur_tri = _tri(request.GET.get("tri"))
    if erreur_tri:
        erreurs.append(erreur_tri)
    recherche = bool(donnees.get("q")) and "pertinence" in fiches.query.annotations
    lignes = (
        fiches.select_related("contrat", "axe", "porteur")
        .annotate(
            montant_etat=_somme_prevue(annee, type_financeur=TypeFinanceur.ETAT),
            montant_collectivite=_somme_prevue(annee, type_financeur=TypeFinanceur.COLLECTIVITE),
            montant_total=_somme_prevue(annee),
        )
        .order_by(*_ordre(tri, recherche))
    )
    paginator = Paginator(lignes, PAR_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    page.pages_list = list(paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))
    for fiche in page:
        fiche.badge = BADGES[fiche.statut]
    actifs = [
        {
            "texte": f"{facette.libelle} : {_texte_choix(filtre, facette.nom, donnees[facette.nom])}",
            "url": _sans(request, facette.nom),
        }
        for facette in FACETTES
        if donnees.get(facette.nom)
    ]
    if donnees.get("q"):
        actifs.insert(0, {"texte": f"Recherche : {donnees['q']}", "url": _sans(request, "q")})
    context = {
        "title": "Fiches actions",
        "breadcrumb_data": _fil_ariane([], "Fiches actions"),
        "filtre": filtre,
        "page": page,
        "colonnes": _colonnes(request, tri),
        "erreurs": erreurs,
        "actifs": actifs,
        "tri": tri,
        "annee": annee,
        "totaux": _totaux(fiches, annee),
        "statuts_actifs": ", ".join(
            str(StatutFiche(s).label).lower() for s in StatutFiche.values if s in STATUTS_ACTIFS
        ),
        "effacer": "?" + (f"tri={tri}" if tri else ""),
    }
    return render(request, "espace/fiches/liste.html", context)


def _texte_choix(filtre: FicheFilter, nom: str, valeur: str) -> str:
    for choix in filtre.facettes[nom]:
        if choix.valeur == valeur:
            return choix.texte
    return valeur


# --- A fiche's page ----------------------------------------------------------------------------------


@dataclass
class Cellule:
    prevu: Decimal | None = None
    engage: Decimal | None = None
    realise: Decimal | None = None


@dataclass
class Financeur:
    cle: tuple
    libelle: str
    total: Cellule = field(default_factory=Cellule)


@dataclass
class Annee:
    annee: int
    cellules: list[Cellule]
    total: Cellule
    parite: list[str]  # breaches of the planned amounts (blocking at validation)
    alertes_realise: list[str]  # breaches of the spent amounts (warnings)
    etat: Decimal = ZERO
    collectivite: Decimal = ZERO
    cout: Decimal = ZERO


def _grille(fiche: FicheAction, regle, partie: str) -> tuple[list[Financeur], list[Annee], Cellule]:
    """The funding grid: years × funders, planned / committed / spent per cell; totals per year, per
    funder and overall summed by the database; parity per year by ``parite_messages``. Four queries."""
    lignes = list(fiche.financements.select_related("financeur"))
    financeurs = [
        Financeur((TypeFinanceur.ETAT, None), "État"),
        Financeur((TypeFinanceur.COLLECTIVITE, None), f"Collectivité ({fiche.contrat.collectivite.nom})"),
    ]
    autres = {(ligne.type_financeur, ligne.financeur_id): ligne.financeur.nom for ligne in lignes if ligne.financeur_id}
    financeurs += [Financeur(cle, nom) for cle, nom in sorted(autres.items(), key=lambda kv: kv[1].casefold())]
    colonne = {f.cle: i for i, f in enumerate(financeurs)}

    def somme(champ, condition=None):
        return Sum(champ, filter=condition, output_field=MONEY)

    # Annotations named apart from the fields they sum ("s_prevu" sums "prevu").
    sommes_ = {"s_prevu": somme("prevu"), "s_engage": somme("engage"), "s_realise": somme("realise")}
    par_annee = {
        row["annee"]: row
        for row in fiche.financements.order_by()
        .values("annee")
        .annotate(
            **sommes_,
            s_etat=somme("prevu", Q(type_financeur=TypeFinanceur.ETAT)),
            s_collectivite=somme("prevu", Q(type_financeur=TypeFinanceur.COLLECTIVITE)),
            s_etat_realise=somme("realise", Q(type_financeur=TypeFinanceur.ETAT)),
            s_collectivite_realise=somme("realise", Q(type_financeur=TypeFinanceur.COLLECTIVITE)),
        )
    }
    for row in fiche.financements.order_by().values("type_financeur", "financeur_id").annotate(**sommes_):
        cle = (row["type_financeur"], row["financeur_id"])
        if cle in colonne:
            financeurs[colonne[cle]].total = Cellule(row["s_prevu"], row["s_engage"], row["s_realise"])
    tout = fiche.financements.aggregate(**sommes_)
    general = Cellule(tout["s_prevu"], tout["s_engage"], tout["s_realise"])

    annees = sorted(set(fiche.contrat.annees) | set(par_annee))
    grille = {annee: [Cellule() for _ in financeurs] for annee in annees}
    for ligne in lignes:
        grille[ligne.annee][colonne[(ligne.type_financeur, ligne.financeur_id)]] = Cellule(
            ligne.prevu, ligne.engage, ligne.realise
        )
    rows = []
    for annee in annees:
        sommes = par_annee.get(annee, {})
        etat, collectivite, cout = (sommes.get(k) or ZERO for k in ("s_etat", "s_collectivite", "s_prevu"))
        parite = parite_messages(
            annee=annee, etat=etat, collectivite=collectivite, total=cout, regle=regle, partie=partie
        )
        alertes = []
        if sommes.get("s_realise") is not None:
            alertes = parite_messages(
                annee=annee,
                etat=sommes.get("s_etat_realise") or ZERO,
                collectivite=sommes.get("s_collectivite_realise") or ZERO,
                total=sommes["s_realise"],
                regle=regle,
                partie=partie,
                champ=REALISE,
            )
        rows.append(
            Annee(
                annee=annee,
                cellules=grille[annee],
                total=Cellule(sommes.get("s_prevu"), sommes.get("s_engage"), sommes.get("s_realise")),
                parite=parite,
                alertes_realise=alertes,
                etat=etat,
                collectivite=collectivite,
                cout=cout,
            )
        )
    return financeurs, rows, general


def _indicateurs(fiche: FicheAction) -> list[dict]:
    """Each indicator with its yearly target and achieved value, for every year of the contract."""
    resultat = []
    for indicateur in fiche.indicateurs.prefetch_related("valeurs"):
        valeurs = {v.annee: v for v in indicateur.valeurs.all()}
        annees = sorted(set(fiche.contrat.annees) | set(valeurs))
        resultat.append({"indicateur": indicateur, "annees": [(annee, valeurs.get(annee)) for annee in annees]})
    return resultat


def _actions_statut(request, fiche: FicheAction) -> list[dict]:
    """The status changes the user may ask for from the fiche's current status."""
    contrat = fiche.contrat
    if not can_prepare(request.user, contrat):
        return []
    actions = []
    for mot, (statut, bouton, _titre) in ACTIONS_STATUT.items():
        if statut not in TRANSITIONS_FICHE[fiche.statut]:
            continue
        if (fiche.statut, statut) in RETOURS_INTERDITS_APRES_SIGNATURE and contrat.est_fige:
            continue
        url = reverse("espace:fiche_statut", kwargs={"reference": contrat.reference, "code": fiche.code, "action": mot})
        secondaire = statut in (StatutFiche.ABANDONNEE, StatutFiche.PROPOSEE)
        actions.append({"url": url, "libelle": bouton, "secondaire": secondaire})
    return actions


def _visibles(request, fiches: list[FicheAction]) -> list[FicheAction]:
    """The fiches of ``fiches`` the user may open (a partner sees only the actions it carries): one query."""
    if not fiches:
        return []
    visibles = set(
        FicheAction.objects.for_user(request.user).filter(pk__in=[f.pk for f in fiches]).values_list("pk", flat=True)
    )
    return [f for f in fiches if f.pk in visibles]


def _fil_ariane(links: list[dict], current: str) -> dict:
    return {"links": links, "current": current, "root_dir": reverse("espace:accueil")}


def _fil(fiche: FicheAction) -> list[dict]:
    contrat = fiche.contrat
    return [
        {"url": reverse("espace:contrats"), "title": "Contrats"},
        {"url": reverse("espace:contrat", kwargs={"reference": contrat.reference}), "title": contrat.reference},
    ]


def detail(request, reference: str, code: str):
    """Every field of a fiche, its funding grid with parity per year, its indicators, and what the user may do."""
    fiche = fiche_or_404(
        request,
        reference,
        code,
        queryset=FicheAction.objects.select_related(
            "objectif", "mesure", "mesure__objectif", "volet", "porteur", "origine"
        ),
    )
    contrat = fiche.contrat
    regle = regle_pour(regles_par_type(), contrat.type_contrat, fiche.volet.numero if fiche.volet_id else None)
    financeurs, annees, general = _grille(fiche, regle, contrat.collectivite.partie)
    user = request.user
    cles = {"reference": contrat.reference, "code": fiche.code}
    context = {
        "title": f"Fiche {fiche.code} – {fiche.intitule}",
        "breadcrumb_data": _fil_ariane(_fil(fiche), f"Fiche {fiche.code}"),
        "fiche": fiche,
        "contrat": contrat,
        "badge": BADGES[fiche.statut],
        "objectif": fiche.objectif or (fiche.mesure.objectif if fiche.mesure_id else None),
        "financeurs": financeurs,
        "annees": annees,
        "general": general,
        "regle": {
            "taux": format_taux(regle.taux_etat_max),
            "contrepartie": Contrepartie(regle.contrepartie).label,
            "tolerance": regle.tolerance,
            "etat_seul": regle.etat_seul,
        },
        "partie": contrat.collectivite.partie,
        "indicateurs": _indicateurs(fiche),
        "lignee": _visibles(request, fiche_lineage(fiche)[:-1]),
        "reprises": list(
            fiche.reprises.for_user(user).select_related("contrat").order_by("contrat__reference", "code_tri")
        ),
        "peut_modifier": can_prepare(user, contrat) and not contrat.est_fige,
        "peut_executer": can_enter_execution(user, contrat)
        and contrat.statut in (StatutContrat.SIGNE, StatutContrat.EN_EXECUTION),
        "actions_statut": _actions_statut(request, fiche),
        "url_modifier": reverse("espace:fiche_modifier", kwargs=cles),
        "url_execution": reverse("espace:fiche_execution", kwargs=cles),
        "url_historique": reverse("espace:fiche_historique", kwargs=cles),
        "url_pdf": reverse("espace:fiche_pdf", kwargs=cles),
    }
    return render(request, "espace/fiches/detail.html", context)


# --- Status changes ----------------------------------------------------------------------------------


def _consequences(fiche: FicheAction, statut: str) -> list[str]:
    contrat = fiche.contrat
    avant, apres = StatutFiche(fiche.statut).label, StatutFiche(statut).label
    lignes = [f"La fiche {fiche.code} passera de « {avant} » à « {apres} »."]
    if statut == StatutFiche.VALIDEE:
        lignes.append(
            "La validation vérifie la parité du montant prévu de chaque année (règle de cofinancement du contrat) "
            "et, pour une action renforcée, sa justification : si une règle n'est pas respectée, rien n'est "
            "enregistré et la raison s'affiche avec les montants. Les enveloppes annuelles de l'État sont "
            "vérifiées à la signature du contrat."
        )
        problemes = [*fiche_validation_errors(fiche).values(), *parite_fiche(fiche)]
        lignes += [f"À ce jour : {message}" for message in problemes]
    elif statut == StatutFiche.PROPOSEE:
        lignes.append(
            "Le contenu de la fiche redevient en discussion ; elle devra être validée de nouveau avant la "
            "signature du contrat. Ce retour est impossible une fois le contrat signé."
        )
    elif statut == StatutFiche.EN_COURS:
        lignes.append("L'action a commencé : elle pourra ensuite être terminée ou abandonnée.")
    elif statut == StatutFiche.TERMINEE:
        lignes.append("« Terminée » est un statut final : la fiche ne changera plus de statut.")
    elif statut == StatutFiche.ABANDONNEE:
        lignes.append(
            "L'abandon est définitif : la fiche ne changera plus de statut. Ses montants prévus ne comptent plus "
            f"dans la parité et les enveloppes du contrat {contrat.reference}, ni dans les totaux."
        )
    return lignes


def statut(request, reference: str, code: str, action: str):
    """Confirms, then makes, a status change of a fiche (``fiche_transition``; refusals shown on the page)."""
    if action not in ACTIONS_STATUT:
        raise Http404
    fiche = fiche_or_404(request, reference, code)
    require(can_prepare(request.user, fiche.contrat))
    cible, bouton, titre = ACTIONS_STATUT[action]
    retour = reverse("espace:fiche", kwargs={"reference": fiche.contrat.reference, "code": fiche.code})
    try:
        check_transition(
            sujet=f"La fiche {fiche.code}",
            genre="de fiche",
            statuts=StatutFiche,
            transitions=TRANSITIONS_FICHE,
            current=fiche.statut,
            to=cible,
        )
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(retour)
    return confirmer(
        request,
        titre=titre,
        objet=f"Fiche {fiche.code} – {fiche.intitule} (contrat {fiche.contrat.reference})",
        consequences=_consequences(fiche, cible),
        apply=lambda _data: fiche_transition(fiche=fiche, to=cible, by=request.user),
        retour=retour,
        succes=f"La fiche {fiche.code} est maintenant « {StatutFiche(cible).label} ».",
        bouton=bouton,
        extra_context={
            "breadcrumb_data": _fil_ariane([*_fil(fiche), {"url": retour, "title": f"Fiche {fiche.code}"}], titre)
        },
    )
