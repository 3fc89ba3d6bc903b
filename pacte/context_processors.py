"""What the layout (templates/base.html) needs on every page: skip links, the header's user tools, the navigation.

Everything is computed lazily, when the template reads it, and at most once per request: the identity shown in
the header (name, organisation, perimeter) is kept on the user object, which lives for one request. The header
costs at most two queries (the organisation with its territory, and the collectivités of a département's
perimeter), whatever the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from django.urls import reverse

from pacte.enums import TypeOrganisation
from pacte.perimeters import Niveau, perimetre_label, perimetre_of
from pacte.perms import can_use_backoffice

#: Organisations whose agents print documents in batches (the "Impressions" page).
IMPRESSIONS = frozenset(
    {
        TypeOrganisation.DDETS,
        TypeOrganisation.PREFECTURE,
        TypeOrganisation.DREETS,
        TypeOrganisation.ADMINISTRATION_CENTRALE,
    }
)


@dataclass(frozen=True)
class Rubrique:
    """An entry of the main navigation: its page, and the pages (URL names of ``espace``) that belong to it."""

    cle: str
    libelle: str
    url_name: str
    pages: frozenset[str]


RUBRIQUES = (
    Rubrique("accueil", "Accueil", "accueil", frozenset({"accueil"})),
    Rubrique(
        "contrats",
        "Contrats",
        "contrats",
        frozenset(
            {
                "contrats",
                "contrat",
                "contrat_historique",
                "contrat_statut",
                "controle",
                "documents",
                "convention_pdf",
                "rapport_pdf",
                "fiche_creer",
                "avenant_creer",
                "avenant",
                "avenant_proposer",
                "avenant_retirer",
                "avenant_statut",
                "avenant_pdf",
            }
        ),
    ),
    Rubrique(
        "fiches",
        "Fiches actions",
        "fiches",
        frozenset(
            {"fiches", "fiche", "fiche_modifier", "fiche_execution", "fiche_historique", "fiche_statut", "fiche_pdf"}
        ),
    ),
    Rubrique(
        "rapports",
        "Rapports annuels",
        "rapports",
        frozenset({"rapports", "rapport", "rapport_modifier", "rapport_statut"}),
    ),
    Rubrique(
        "tableaux",
        "Tableaux de bord",
        "tableau",
        frozenset({"tableau", "tableau_region", "tableau_departement", "tableau_collectivite"}),
    ),
    Rubrique("impressions", "Impressions", "impressions", frozenset({"impressions", "impression"})),
)


def _user(request):
    user = getattr(request, "user", None)
    return user if user is not None and user.is_authenticated else None


def skiplinks(request) -> dict:
    """The DSFR's "skip links" (RGAA): to the content, the main navigation (signed-in pages), the footer."""
    links = [{"link": "#content", "label": "Contenu"}]
    if _user(request) is not None:
        links.append({"link": "#navigation", "label": "Menu"})
    links.append({"link": "#footer", "label": "Pied de page"})
    return {"skiplinks": links}


def identite(user) -> dict:
    """Who is signed in, in words: name, organisation and perimeter; computed once per user object."""
    # getattr/setattr, not __dict__: request.user is a lazy object that passes them on to the user.
    cached = getattr(user, "_pacte_identite", None)
    if cached is not None:
        return cached
    if user.organisation_id and not user._meta.get_field("organisation").is_cached(user):
        from pacte.models import Organisation

        # One query for the organisation and the territory perimetre_label names.
        user.organisation = Organisation.objects.select_related("region", "departement", "collectivite").get(
            pk=user.organisation_id
        )
    organisation = user.organisation if user.organisation_id else None
    result = {
        "nom": user.get_full_name() or user.get_username(),
        "organisation": organisation.nom if organisation else "",
        "perimetre": perimetre_label(user),
    }
    user._pacte_identite = result
    return result


class Entete:
    """The header and navigation of one request (``{{ entete.… }}`` in base.html)."""

    def __init__(self, request):
        self.request = request
        self.user = _user(request)

    @property
    def connecte(self) -> bool:
        return self.user is not None

    @cached_property
    def identite(self) -> dict:
        return identite(self.user) if self.user is not None else {}

    @cached_property
    def back_office(self) -> bool:
        return self.user is not None and can_use_backoffice(self.user)

    @cached_property
    def navigation(self) -> list[dict]:
        """The main navigation for the user's role; ``courant``: ``"page"`` on the entry's own page, ``"true"`` on
        a page of its section (DSFR: ``aria-current``), else ``""``."""
        if self.user is None:
            return []
        identite(self.user)  # loads the organisation with its territory first, for the whole header
        match = getattr(self.request, "resolver_match", None)
        page = match.url_name if match is not None and match.namespace == "espace" else None
        entries = []
        for rubrique in RUBRIQUES:
            if not self._voit(rubrique):
                continue
            courant = "page" if page == rubrique.url_name else ("true" if page in rubrique.pages else "")
            entries.append(
                {"libelle": rubrique.libelle, "url": reverse(f"espace:{rubrique.url_name}"), "courant": courant}
            )
        return entries

    def _voit(self, rubrique: Rubrique) -> bool:
        if rubrique.cle == "accueil":
            return True
        if perimetre_of(self.user).niveau == Niveau.AUCUN:
            return False
        if rubrique.cle in ("rapports", "tableaux"):
            # Reports and territories' dashboards lie outside a partner's perimeter (the actions it carries).
            return perimetre_of(self.user).niveau != Niveau.PORTEUR
        if rubrique.cle == "impressions":
            return self.user.is_superuser or (
                self.user.organisation_id is not None and self.user.organisation.type in IMPRESSIONS
            )
        return True


def entete(request) -> dict:
    """``entete``: the signed-in user's tools and navigation, read lazily by the layout."""
    return {"entete": Entete(request)}
