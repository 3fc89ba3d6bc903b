"""The printed documents: the convention of a contract, an avenant, a fiche action alone, an annual execution
report. Rendering only: each function reads its data (``financement/document_selectors.py``, a constant number
of queries whatever the number of fiches), fills its template (``templates/documents/``) and returns the PDF's
bytes through the one PDF helper, ``pacte.pdf.render_pdf``. Freezing a signed document, sealing it and
serving it are done elsewhere, with these functions.

Lives in ``financement``, the highest app whose data the documents print (contracts and actions are read
from here).
"""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.text import Truncator

from contrats.enums import StatutAvenant
from financement import document_selectors as selectors
from financement.enums import StatutRapport, TypeFinanceur
from financement.templatetags.documents import le
from pacte.pdf import render_pdf

#: The articles of a convention, in order: (anchor, heading). Their bodies are
#: ``templates/documents/convention/article_<anchor>.html``.
ARTICLES = (
    ("objet", "Objet"),
    ("duree", "Durée"),
    ("perimetre", "Périmètre"),
    ("engagements-etat", "Engagements de l'État"),
    ("engagements-collectivite", "Engagements de la collectivité"),
    ("engagements-partenaires", "Engagements des partenaires"),
    ("modalites-financieres", "Modalités financières"),
    ("versements", "Versements"),
    ("gouvernance", "Gouvernance"),
    ("suivi", "Suivi et rapport annuel d'exécution"),
    ("evaluation", "Évaluation"),
    ("reliquats", "Reliquats, reprise et reversement"),
    ("communication", "Communication"),
    ("avenant", "Modification par avenant"),
    ("resiliation", "Résiliation"),
    ("litiges", "Litiges"),
)

#: The watermark of every page of a document that is not signed (a report: not validated).
FILIGRANE = "PROJET"
PROGRAMME = "Pacte des solidarités 2024-2027"


def _document(*, titre: str, description: str, projet: bool, entete: str, reference: str, autorite: str) -> dict:
    """What ``base_print.html`` needs: PDF metadata, watermark, running header (cut to one or two lines) and
    footer."""
    return {
        "titre": titre,
        "auteur": autorite,
        "description": description,
        "projet": projet,
        "filigrane": FILIGRANE,
        "entete": Truncator(entete).chars(90),
        "reference": reference + (" – projet" if projet else ""),
        "pied": PROGRAMME,
    }


def _render(template_name: str, context: dict) -> bytes:
    # Dates and numbers are French whatever the caller's language (a task, a command).
    with translation.override("fr"):
        return render_pdf(template_name, context)


# --- The convention -----------------------------------------------------------------------------------------------


def articles() -> list[dict]:
    """The convention's articles, numbered, each with its anchor, heading and template."""
    return [
        {"numero": numero, "ancre": ancre, "titre": titre, "template": f"documents/convention/article_{ancre}.html"}
        for numero, (ancre, titre) in enumerate(ARTICLES, start=1)
    ]


def blocs_signature(collectivite_nom: str, etat, collectivite, partenaires) -> list[dict]:
    """One signature block per party: the State, the collectivité, each partner that signs."""
    blocs = [
        {
            "pour": "Pour l'État",
            "qualite": etat.qualite if etat else "Le préfet",
            "nom": etat.nom if etat else "",
            "date": etat.date_signature if etat else None,
        },
        {
            "pour": f"Pour {le(collectivite_nom)}",
            "qualite": collectivite.qualite if collectivite else "",
            "nom": collectivite.nom if collectivite else "",
            "date": collectivite.date_signature if collectivite else None,
        },
    ]
    for s in partenaires:
        blocs.append(
            {"pour": f"Pour {s.organisation.nom}", "qualite": s.qualite, "nom": s.nom, "date": s.date_signature}
        )
    return blocs


def convention_context(contrat) -> dict:
    """The convention's template context: its data, its articles, how its pages are headed."""
    data = selectors.convention_data(contrat)
    contrat = data["contrat"]
    signe = contrat.est_fige
    data["articles"] = articles()
    data["numeros"] = {a["ancre"].replace("-", "_"): a["numero"] for a in data["articles"]}
    data["part_etat"] = data["tableau"].financeur(TypeFinanceur.ETAT)
    data["part_collectivite"] = data["tableau"].financeur(TypeFinanceur.COLLECTIVITE)
    data["blocs_signature"] = blocs_signature(
        contrat.collectivite.nom,
        data["signataire_etat"],
        data["signataire_collectivite"],
        data["signataires_partenaires"],
    )
    data["exemplaires"] = len(data["blocs_signature"])
    data["date_signature"] = contrat.date_signature if signe else None
    data["autorite"] = selectors.autorite(data["signataire_etat"])
    data["document"] = _document(
        titre=f"{contrat.titre} – {contrat.reference}",
        description=f"Convention {contrat.reference} entre l'État et {contrat.collectivite.nom}",
        projet=not signe,
        entete=contrat.titre,
        reference=f"Convention {contrat.reference}",
        autorite=data["autorite"],
    )
    return data


def convention_html(contrat) -> str:
    """The convention's HTML, as ``convention_pdf`` renders it (to measure WeasyPrint alone on it)."""
    with translation.override("fr"):
        return render_to_string("documents/convention.html", convention_context(contrat))


def convention_pdf(contrat) -> bytes:
    """The convention of ``contrat``: a *PROJET* watermark on every page until it is signed."""
    return _render("documents/convention.html", convention_context(contrat))


# --- An avenant ---------------------------------------------------------------------------------------------------


def avenant_context(avenant) -> dict:
    data = selectors.avenant_data(avenant)
    avenant, contrat = data["avenant"], data["contrat"]
    data["autorite"] = selectors.autorite(data["signataire_etat"])
    data["blocs_signature"] = [
        {"pour": "Pour l'État", "qualite": "", "nom": avenant.signataire_etat, "date": None},
        {
            "pour": f"Pour {le(contrat.collectivite.nom)}",
            "qualite": "",
            "nom": avenant.signataire_collectivite,
            "date": None,
        },
    ]
    data["exemplaires"] = 2
    data["date_signature"] = avenant.date_signature if data["signe"] else None
    data["document"] = _document(
        titre=f"Avenant n° {avenant.numero} – {contrat.reference}",
        description=f"Avenant n° {avenant.numero} à la convention {contrat.reference}",
        projet=avenant.statut != StatutAvenant.SIGNE,
        entete=f"Avenant n° {avenant.numero} – {contrat.titre}",
        reference=f"Avenant n° {avenant.numero} – {contrat.reference}",
        autorite=data["autorite"],
    )
    return data


def avenant_pdf(avenant) -> bytes:
    """The avenant: its changes as a table (actions added, withdrawn, modified; amounts per year and funder
    before → after; ceilings before → after; parity after), then the consolidated financial annex. *PROJET*
    until it is signed; an unsigned avenant's « before » is today's contract."""
    return _render("documents/avenant.html", avenant_context(avenant))


# --- A fiche action alone -----------------------------------------------------------------------------------------


def fiche_context(fiche) -> dict:
    data = selectors.fiche_data(fiche)
    fiche, contrat = data["fiche"], data["contrat"]
    data["autorite"] = selectors.autorite(data["signataire_etat"])
    data["document"] = _document(
        titre=f"Fiche action {fiche.code} – {fiche.intitule}",
        description=f"Fiche action {fiche.code} de la convention {contrat.reference}",
        projet=not contrat.est_fige,
        entete=contrat.titre,
        reference=f"{contrat.reference} · fiche {fiche.code}",
        autorite=data["autorite"],
    )
    return data


def fiche_pdf(fiche) -> bytes:
    """A fiche action alone: its content, planned money per year and funder, indicators and targets."""
    return _render("documents/fiche.html", fiche_context(fiche))


# --- The annual execution report ----------------------------------------------------------------------------------


def rapport_context(rapport) -> dict:
    data = selectors.rapport_data(rapport)
    rapport, contrat = data["rapport"], data["contrat"]
    data["autorite"] = selectors.autorite(data["signataire_etat"])
    data["document"] = _document(
        titre=f"Rapport annuel d'exécution {rapport.annee} – {contrat.reference}",
        description=f"Rapport annuel d'exécution {rapport.annee} de la convention {contrat.reference}",
        projet=rapport.statut != StatutRapport.VALIDE,
        entete=f"Rapport d'exécution {rapport.annee} – {contrat.collectivite.nom}",
        reference=f"{contrat.reference} · rapport {rapport.annee}",
        autorite=data["autorite"],
    )
    return data


def rapport_pdf(rapport) -> bytes:
    """The annual execution report (``RapportAnnuel``): synthesis, each action's planned, committed and spent
    amounts of the year per funder, indicator targets and values of the year. *PROJET* until validated."""
    return _render("documents/rapport.html", rapport_context(rapport))
