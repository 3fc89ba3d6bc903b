"""The printed documents (financement/documents.py), read back as a person's PDF reader shows them.

One contract of the Hautes-Alpes is built once for the module (``rendus``), and its documents rendered at each
step of its life: the convention in negotiation then signed, a fiche alone, the annual report drafted then
validated, an avenant previewed then signed. Every figure the tests look for is computed from the database
(``Sum``) and formatted the French way (``pacte.money.format_euros``), then searched in ``pdftotext``'s text.
The query budgets use contracts of 3 and 30 fiches.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Sum
from django.template.loader import render_to_string
from django.utils import timezone, translation
from pypdf import PdfReader

from actions.enums import STATUTS_ACTIFS, NatureAction, StatutFiche
from actions.models import FicheAction, ValeurIndicateur
from actions.services import avenant_propose_cible, avenant_propose_fiche_add, avenant_propose_fiche_change
from contrats.enums import PartieSignataire, StatutAvenant, StatutContrat, TypeContrat
from contrats.models import Avenant, Contrat, EngagementPartenaire, LibelleAxe, ModificationAvenant, ObjectifContrat
from contrats.services import avenant_create, avenant_propose_contenu
from financement import documents
from financement.enums import AvancementAction, StatutRapport, TypeFinanceur
from financement.models import LigneFinancement, Plafond, RapportAction, RapportAnnuel
from financement.services import avenant_propose_plafond, avenant_propose_prevu, fiches_du_rapport, rapport_chiffres
from financement.templatetags.documents import au, date_longue, du, le, nombre
from pacte import hooks
from pacte.enums import TypeOrganisation
from pacte.money import format_euros
from tests.factories import (
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    VoletFactory,
    axe,
    collectivite,
    departement,
)
from tests.pacte.test_pdf import pdf_fonts, pdf_pages, pdf_text, plain

# Every test here reads the database (the module's contract is built once, by ``rendus``): pytest-django sets
# the test database up only for tests that say so.
pytestmark = pytest.mark.django_db

ANNEES = (2024, 2025, 2026, 2027)
AXES = (1, 3, 4)
LIBELLES_LOCAUX = {1: "Petite enfance", 3: "Accès aux droits"}
ABANDONNEE = "Action abandonnée en négociation"


# --- The data ----------------------------------------------------------------------------------------------------


def construire_contrat(n_fiches: int, *, reference: str = "CLS-2024-D05") -> Contrat:
    """A CLS of the Hautes-Alpes in negotiation with ``n_fiches`` validated fiches on axes 1, 3 and 4, each
    funded every year by the State and the Département (and the CAF one fiche in two), one indicator each;
    an abandoned fiche; signatories, objectives, local labels, ceilings, a partner's commitment."""
    caf = OrganisationFactory(
        nom="CAF des Hautes-Alpes", type=TypeOrganisation.PARTENAIRE, departement=departement("05"), siret=""
    )
    contrat = ContratFactory(
        collectivite=collectivite("D05"),
        reference=reference,
        titre="Contrat local des solidarités des Hautes-Alpes",
        preambule="<p>Le <strong>préfet</strong> et la présidente s'engagent ensemble.</p>",
        diagnostic="<p>Un territoire de montagne où l'isolement pèse.</p>",
    )
    SignataireFactory(
        contrat=contrat,
        partie=PartieSignataire.ETAT,
        nom="Dominique Martin",
        qualite="Préfète des Hautes-Alpes",
        date_signature=None,
    )
    SignataireFactory(
        contrat=contrat,
        partie=PartieSignataire.COLLECTIVITE,
        nom="Claude Bernard",
        qualite="Présidente du conseil départemental des Hautes-Alpes",
        date_signature=None,
    )
    ObjectifContrat.objects.create(contrat=contrat, ordre=1, libelle="Rompre l'isolement des familles.")
    ObjectifContrat.objects.create(contrat=contrat, ordre=2, libelle="Ouvrir l'accès aux droits en montagne.")
    for numero, libelle in LIBELLES_LOCAUX.items():
        LibelleAxe.objects.create(contrat=contrat, axe=axe(numero), libelle=libelle)
    for annee in ANNEES:
        PlafondFactory(contrat=contrat, annee=annee, montant=Decimal("2000000.00"))
    EngagementPartenaire.objects.create(
        contrat=contrat, organisation=caf, annee=2024, montant=Decimal("15000"), etp=Decimal("0.5"), en_nature="Locaux"
    )
    lignes, valeurs = [], []
    for i in range(n_fiches):
        numero = AXES[i % len(AXES)]
        fiche = FicheActionFactory(
            contrat=contrat,
            code=f"A{numero}-{10 + i}",
            intitule=f"Action {i} des Hautes-Alpes",
            axe=axe(numero),
            porteur=caf,
            statut=StatutFiche.VALIDEE,
            volume_public=120,
        )
        for k, annee in enumerate(ANNEES):
            etat = Decimal(10000 + 1000 * i + 250 * k) + Decimal("0.45")
            departement_part = Decimal("1234567.89") if (i, annee) == (0, 2024) else etat + Decimal("500.10")
            lignes.append(LigneFinancement(fiche=fiche, annee=annee, type_financeur=TypeFinanceur.ETAT, prevu=etat))
            lignes.append(
                LigneFinancement(
                    fiche=fiche, annee=annee, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=departement_part
                )
            )
            if i % 2 == 0 and annee < 2026:
                lignes.append(
                    LigneFinancement(
                        fiche=fiche,
                        annee=annee,
                        type_financeur=TypeFinanceur.AUTRE,
                        financeur=caf,
                        prevu=Decimal("3000.33"),
                    )
                )
        indicateur = IndicateurFactory(fiche=fiche, nom=f"Familles accompagnées {i}", unite="familles")
        valeurs += [
            ValeurIndicateur(indicateur=indicateur, annee=2024, cible=Decimal(100 + i)),
            ValeurIndicateur(indicateur=indicateur, annee=2025, cible=Decimal("150.5")),
        ]
    abandonnee = FicheActionFactory(
        contrat=contrat, code="A1-99", intitule=ABANDONNEE, axe=axe(1), porteur=caf, statut=StatutFiche.ABANDONNEE
    )
    lignes.append(
        LigneFinancement(fiche=abandonnee, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("99999.99"))
    )
    LigneFinancement.objects.bulk_create(lignes)
    ValeurIndicateur.objects.bulk_create(valeurs)
    return contrat


def actives(contrat: Contrat):
    return LigneFinancement.objects.filter(fiche__contrat=contrat, fiche__statut__in=STATUTS_ACTIFS)


def somme(lignes, champ: str = "prevu") -> Decimal:
    return lignes.aggregate(s=Sum(champ))["s"] or Decimal("0")


def ligne_montants(lignes) -> list[str]:
    """The amounts a row of the financial table prints for ``lignes``: each year, then the total."""
    return [plain(format_euros(somme(lignes.filter(annee=a)))) for a in ANNEES] + [plain(format_euros(somme(lignes)))]


def signer_contrat(contrat: Contrat) -> None:
    """Signs without the workflow (rendering only): the status, the date, the signatories' dates."""
    Contrat.objects.filter(pk=contrat.pk).update(statut=StatutContrat.SIGNE, date_signature=date(2024, 3, 15))
    contrat.signataires.update(date_signature=date(2024, 3, 15))
    contrat.refresh_from_db()


def proposer_avenant(contrat: Contrat) -> Avenant:
    """An avenant through the services: an amount raised, an action withdrawn (all its money to zero), a ceiling
    raised, an action added with its money, an action renamed, a target changed, the objectives reworded."""
    avenant = avenant_create(contrat=contrat, objet="Actualisation de l'annexe financière 2025")
    etat_2025 = LigneFinancement.objects.get(
        fiche__contrat=contrat, fiche__code="A1-10", annee=2025, type_financeur=TypeFinanceur.ETAT
    )
    avenant_propose_prevu(
        avenant=avenant,
        fiche_code="A1-10",
        annee=2025,
        type_financeur=TypeFinanceur.ETAT,
        montant=etat_2025.prevu + Decimal("2000"),
    )
    retiree = contrat.fiches.get(code="A3-11")
    for ligne in retiree.financements.all():
        avenant_propose_prevu(
            avenant=avenant,
            fiche_code="A3-11",
            annee=ligne.annee,
            type_financeur=ligne.type_financeur,
            financeur=ligne.financeur,
            montant=Decimal("0"),
        )
    avenant_propose_plafond(avenant=avenant, annee=2025, montant=Decimal("2100000"))
    avenant_propose_fiche_add(
        avenant=avenant,
        code="A1-20",
        intitule="Bus des familles du Champsaur",
        axe=axe(1),
        nature=NatureAction.NOUVELLE,
        porteur=retiree.porteur,
        date_debut=date(2025, 1, 1),
        date_fin=date(2027, 12, 31),
    )
    for type_financeur in (TypeFinanceur.ETAT, TypeFinanceur.COLLECTIVITE):
        avenant_propose_prevu(
            avenant=avenant, fiche_code="A1-20", annee=2025, type_financeur=type_financeur, montant=Decimal("7500")
        )
    avenant_propose_fiche_change(
        avenant=avenant, fiche=contrat.fiches.get(code="A4-12"), intitule="Précarité énergétique en vallée"
    )
    indicateur = contrat.fiches.get(code="A1-10").indicateurs.get()
    avenant_propose_cible(avenant=avenant, indicateur=indicateur, annee=2025, cible=Decimal("175"))
    avenant_propose_contenu(
        avenant=avenant, champs={"objectifs": ["Rompre l'isolement des familles.", "Aller vers les jeunes."]}
    )
    return avenant


def signer_avenant(avenant: Avenant) -> None:
    """What ``avenant_sign`` writes, without its checks and the document freezing that follows."""
    now = timezone.now()
    for modification in avenant.modifications.order_by("pk"):
        modification.avant = hooks.applier(modification.nature)(modification, by=None)
        modification.applique_le = now
        modification.save(update_fields=["avant", "applique_le"])
    Avenant.objects.filter(pk=avenant.pk).update(
        statut=StatutAvenant.SIGNE,
        date_signature=date(2025, 6, 2),
        signataire_etat="Dominique Martin, préfète",
        signataire_collectivite="Claude Bernard, présidente",
    )
    avenant.refresh_from_db()


def etat_de_la_base(contrat: Contrat) -> tuple:
    """What an avenant's preview must leave as it found: money, fiches, ceilings, objectives, histories."""
    return (
        sorted(LigneFinancement.objects.filter(fiche__contrat=contrat).values_list("fiche__code", "annee", "prevu")),
        sorted(contrat.fiches.values_list("code", "intitule", "version")),
        sorted(Plafond.objects.filter(contrat=contrat).values_list("annee", "montant", "version")),
        list(contrat.objectifs.values_list("libelle", flat=True)),
        sorted(ValeurIndicateur.objects.filter(indicateur__fiche__contrat=contrat).values_list("annee", "cible")),
        LigneFinancement.history.count(),
        FicheAction.history.count(),
        list(ModificationAvenant.objects.filter(avenant__contrat=contrat).values_list("avant", "applique_le")),
    )


@dataclass
class Rendus:
    """The documents of the module's contract at each step, and what the database says they must show."""

    convention: bytes = b""
    convention_html: str = ""
    convention_signee: bytes = b""
    fiche: bytes = b""
    rapport: bytes = b""
    rapport_valide: bytes = b""
    avenant_projet: bytes = b""
    avenant_signe: bytes = b""
    attendu: dict = field(default_factory=dict)


@pytest.fixture(scope="module")
def rendus(django_db_setup, django_db_blocker) -> Rendus:
    r = Rendus()
    with django_db_blocker.unblock(), transaction.atomic():
        contrat = construire_contrat(4)
        a = r.attendu
        lignes = actives(contrat)
        a["fiches"] = [f"Fiche {f.code} – {f.intitule}" for f in contrat.fiches.filter(statut__in=STATUTS_ACTIFS)]
        a["axes"] = {n: ligne_montants(lignes.filter(fiche__axe__numero=n)) for n in AXES}
        a["general"] = ligne_montants(lignes)
        a["etat"] = ligne_montants(lignes.filter(type_financeur=TypeFinanceur.ETAT))
        a["departement"] = ligne_montants(lignes.filter(type_financeur=TypeFinanceur.COLLECTIVITE))
        a["action_0"] = ligne_montants(lignes.filter(fiche__code="A1-10"))
        r.convention_html = documents.convention_html(contrat)
        r.convention = documents.convention_pdf(contrat)

        fiche = contrat.fiches.get(code="A1-10")
        a["fiche_total"] = plain(format_euros(somme(fiche.financements.all())))
        r.fiche = documents.fiche_pdf(fiche)

        signer_contrat(contrat)
        r.convention_signee = documents.convention_pdf(contrat)

        # The annual report of 2024: committed and spent amounts of the year, an indicator's value.
        LigneFinancement.objects.filter(fiche__contrat=contrat, annee=2024, type_financeur=TypeFinanceur.ETAT).update(
            engage=Decimal("9000.00"), realise=Decimal("8750.25")
        )
        ValeurIndicateur.objects.filter(indicateur__fiche=fiche, annee=2024).update(realise=Decimal("87"))
        rapport = RapportAnnuel.objects.create(
            contrat=contrat,
            annee=2024,
            date_limite=date(2025, 3, 31),
            synthese="Une première année marquée par le démarrage du bus des familles.",
        )
        # The abandoned fiche spent in 2024 too (its État line was updated with the others): it counts.
        annee_2024 = LigneFinancement.objects.filter(fiche__contrat=contrat, annee=2024)
        a["rapport_realise"] = plain(format_euros(somme(annee_2024, "realise")))
        a["rapport_engage"] = plain(format_euros(somme(annee_2024, "engage")))
        a["rapport_prevu"] = plain(format_euros(somme(annee_2024)))
        r.rapport = documents.rapport_pdf(rapport)
        # Sent with each action's section (the figures copied), validated; a line changes afterwards: the
        # printed report keeps the figures the DDETS validated.
        fiches_2024 = list(fiches_du_rapport(contrat, 2024))
        chiffres = rapport_chiffres(annee=2024, fiches=[f.pk for f in fiches_2024])
        for f in fiches_2024:
            RapportAction.objects.create(
                rapport=rapport,
                fiche=f,
                recit=f"Bilan de l'action {f.code} : le bus a circulé chaque semaine.",
                avancement=AvancementAction.EN_COURS,
                chiffres_transmis=chiffres[f.pk].en_json(),
            )
        RapportAnnuel.objects.filter(pk=rapport.pk).update(
            statut=StatutRapport.VALIDE, transmis_le=date(2025, 3, 20), valide_le=date(2025, 4, 2)
        )
        LigneFinancement.objects.filter(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT).update(
            realise=Decimal("1.00")
        )
        rapport.refresh_from_db()
        r.rapport_valide = documents.rapport_pdf(rapport)

        a["prevu_avant"] = plain(
            format_euros(lignes.get(fiche__code="A1-10", annee=2025, type_financeur=TypeFinanceur.ETAT).prevu)
        )
        a["prevu_apres"] = plain(
            format_euros(
                lignes.get(fiche__code="A1-10", annee=2025, type_financeur=TypeFinanceur.ETAT).prevu + Decimal("2000")
            )
        )
        a["retiree_avant"] = plain(format_euros(somme(lignes.filter(fiche__code="A3-11"))))
        avenant = proposer_avenant(contrat)
        avant = etat_de_la_base(contrat)
        r.avenant_projet = documents.avenant_pdf(avenant)
        a["apercu_sans_ecriture"] = etat_de_la_base(contrat) == avant
        signer_avenant(avenant)
        a["avenant_general"] = ligne_montants(actives(contrat))
        a["avenant_etat"] = ligne_montants(actives(contrat).filter(type_financeur=TypeFinanceur.ETAT))
        r.avenant_signe = documents.avenant_pdf(avenant)
        transaction.set_rollback(True)
    return r


def mots(pdf: bytes) -> str:
    """The PDF's text in reading order, every run of spaces and line breaks made one space."""
    return " ".join(pdf_text(pdf, layout=False).split())


def ligne(text: str, *debut: str) -> str:
    """The first line of ``text`` that starts (after spaces) with the cells ``debut``, however far apart."""
    pattern = re.compile(r"\s*" + r"\s+".join(re.escape(cell) for cell in debut) + r"(\s|$)")
    for line in text.splitlines():
        if pattern.match(line):
            return line
    raise AssertionError(f"Aucune ligne ne commence par « {' | '.join(debut)} ».")


def montants_de(line: str) -> list[str]:
    return re.findall(r"-?\d{1,3}(?: \d{3})*,\d{2} €", line)


# --- The convention --------------------------------------------------------------------------------------------


def test_every_article_heading(rendus):
    text = pdf_text(rendus.convention)
    for numero, (_, titre) in enumerate(documents.ARTICLES, start=1):
        heading = f"Article {numero} – {titre}"
        # Once in the table of contents (with its page number), once over the article itself.
        assert re.search(rf"{re.escape(heading)} ?\.+ ?\d+", text), heading
        assert len(re.findall(rf"^\s*{re.escape(heading)}\s*$", text, re.M)) == 1, heading


def test_parts_before_the_articles(rendus):
    text = mots(rendus.convention)
    for part in ("Entre les soussignés", "Visas", "Préambule", "Diagnostic territorial", "Objectifs du contrat"):
        assert part in text
    assert "Contrat local des solidarités des Hautes-Alpes" in text
    assert "Dominique Martin, Préfète des Hautes-Alpes" in text
    assert "Claude Bernard, Présidente du conseil départemental des Hautes-Alpes" in text
    # The preamble is the contract's HTML, printed as text, not as tags.
    assert "Le préfet et la présidente s'engagent ensemble." in text
    assert "<strong>" not in text
    assert "1. Rompre l'isolement des familles." in text


def test_every_fiche_title_and_not_the_abandoned_one(rendus):
    text = pdf_text(rendus.convention)
    for titre in rendus.attendu["fiches"]:
        assert re.search(rf"^\s*{re.escape(titre)}\s*$", text, re.M), titre  # its page in annex 1
        assert re.search(rf"{re.escape(titre.removeprefix('Fiche '))} ?\.+ ?\d+", text), titre  # the contents
    assert ABANDONNEE not in text


def test_totals_by_axis_and_year_equal_the_database(rendus):
    text = pdf_text(rendus.convention)
    for numero, montants in rendus.attendu["axes"].items():
        assert montants_de(ligne(text, f"Total de l'axe {numero}")) == montants


def test_grand_total_and_totals_by_funder_equal_the_database(rendus):
    text = pdf_text(rendus.convention)
    assert montants_de(ligne(text, "Total général")) == rendus.attendu["general"]
    assert montants_de(ligne(text, "Total – État")) == rendus.attendu["etat"]
    assert montants_de(ligne(text, "Total – Département des Hautes-Alpes")) == rendus.attendu["departement"]
    assert montants_de(ligne(text, "Total de l'action A1-10")) == rendus.attendu["action_0"]


def test_amounts_and_dates_the_french_way(rendus):
    html = rendus.convention_html
    assert "1\u00a0234\u00a0567,89\u00a0€" in html  # non-breaking spaces between thousands and before €
    assert "1er janvier 2024" in html and "31 décembre 2027" in html
    assert "31 mars 2025" in html  # the first report's due date (PACTE_RAPPORT_ECHEANCE)
    assert "INVALID_TEMPLATE_VARIABLE" not in html


def test_state_commitments_ceilings_and_rules(rendus):
    text = mots(rendus.convention)
    assert "sous réserve des crédits ouverts en loi de finances" in text
    assert "50 % du coût total prévu" in text and "la part du Département" in text
    assert "L'État verse sa participation au Département des Hautes-Alpes, signataire" in text
    assert "Le Département des Hautes-Alpes s'engage à conduire" in text
    assert "au moins une fois par an" in text
    layout = pdf_text(rendus.convention)
    assert montants_de(ligne(layout, "Enveloppe du contrat")) == ["2 000 000,00 €"] * 4 + ["8 000 000,00 €"]
    assert montants_de(ligne(layout, "CAF des Hautes-Alpes", "2024")) == ["15 000,00 €"]


def test_projet_on_every_page_before_signature_only(rendus):
    pages = pdf_text(rendus.convention).split("\f")[:-1]
    assert len(pages) == pdf_pages(rendus.convention) > 1
    assert all("PROJET" in page for page in pages)
    signee = pdf_text(rendus.convention_signee)
    assert "PROJET" not in signee and "projet" not in signee.lower()
    assert "SIGNÉE LE 15 MARS 2024" in signee  # on the cover
    assert "le 15 mars 2024." in mots(rendus.convention_signee)  # "Fait à …, le …"


def test_page_x_of_y_and_running_header(rendus):
    n = pdf_pages(rendus.convention)
    pages = pdf_text(rendus.convention).split("\f")
    assert f"Page 1 sur {n}" in pages[0] and f"Page {n} sur {n}" in pages[n - 1]
    assert "Convention CLS-2024-D05 – projet" not in pages[0]
    assert all("Convention CLS-2024-D05 – projet" in page for page in pages[1 : n - 1])


def test_fonts_are_marianne(rendus):
    fonts = pdf_fonts(rendus.convention)
    assert {name for name, _ in fonts} >= {"Marianne", "Marianne-Bold"}
    assert all(name.startswith("Marianne") and embedded for name, embedded in fonts), fonts


def test_bookmarks(rendus):
    outline = PdfReader(io.BytesIO(rendus.convention)).outline
    titres = [item.title for item in outline if not isinstance(item, list)]
    assert "Article 1 – Objet" in titres and "Annexe 2 – Tableau financier" in titres
    annexe = next(i for i, item in enumerate(outline) if getattr(item, "title", "") == "Annexe 1 – Fiches actions")
    assert [item.title for item in outline[annexe + 1]] == rendus.attendu["fiches"]


# --- French typography of the documents' filters ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valeur", "attendu"),
    [(date(2024, 1, 1), "1er janvier 2024"), (date(2024, 3, 15), "15 mars 2024"), (None, "")],
)
def test_date_longue(valeur, attendu):
    with translation.override("fr"):
        assert date_longue(valeur) == attendu


@pytest.mark.parametrize(
    ("valeur", "attendu"),
    [(Decimal("1250.00"), "1\u00a0250"), (Decimal("12.50"), "12,5"), (Decimal("0.5"), "0,5"), (None, "")],
)
def test_nombre(valeur, attendu):
    assert nombre(valeur) == attendu


@pytest.mark.parametrize(
    ("nom", "le_", "du_", "au_"),
    [
        ("Département des Hautes-Alpes", "le Département", "du Département", "au Département"),
        ("Métropole de Lyon", "la Métropole", "de la Métropole", "à la Métropole"),
        ("Eurométropole de Strasbourg", "l'Eurométropole", "de l'Eurométropole", "à l'Eurométropole"),
        ("Bordeaux Métropole", "Bordeaux", "de Bordeaux", "à Bordeaux"),
        ("Orléans Métropole", "Orléans", "d'Orléans", "à Orléans"),
    ],
)
def test_article_of_a_collectivite(nom, le_, du_, au_):
    assert le(nom).startswith(le_) and du(nom).startswith(du_) and au(nom).startswith(au_)


# --- The fiche alone, the annual report ---------------------------------------------------------------------------


def test_fiche_alone(rendus):
    text = pdf_text(rendus.fiche)
    assert "Fiche action A1-10 – Action 0 des Hautes-Alpes" in mots(rendus.fiche)
    assert montants_de(ligne(text, "Total"))[-1] == rendus.attendu["fiche_total"]
    assert "Familles accompagnées 0" in text
    assert "PROJET" in text and "Page 1 sur 1" in text


def test_annual_report(rendus):
    text = pdf_text(rendus.rapport)
    assert "Rapport annuel d'exécution 2024" in text
    assert "Une première année marquée par le démarrage du bus des familles." in text
    assert f"A1-99 – {ABANDONNEE} (action abandonnée)" in text
    assert montants_de(ligne(text, "Total général")) == [
        rendus.attendu["rapport_prevu"],
        rendus.attendu["rapport_engage"],
        rendus.attendu["rapport_realise"],
    ]
    # The indicator of the year: target 100, value reached 87, 87 %.
    assert re.search(r"A1-10\s+Familles accompagnées 0\s+familles\s+100\s+87\s+87 %", text)
    assert "PROJET" in text
    assert "Ce qui a été fait dans l'année n'est pas encore décrit." in mots(rendus.rapport)


def test_validated_report_prints_what_was_sent(rendus):
    text = pdf_text(rendus.rapport_valide)
    assert "PROJET" not in text
    assert "Validé le 2 avril 2025" in mots(rendus.rapport_valide)
    assert "Ce sont les montants transmis avec le rapport le 20 mars 2025." in mots(rendus.rapport_valide)
    assert "Bilan de l'action A1-10 : le bus a circulé chaque semaine." in mots(rendus.rapport_valide)
    # The line changed after the report was sent: the validated figures are printed, not today's.
    assert montants_de(ligne(text, "Total général")) == [
        rendus.attendu["rapport_prevu"],
        rendus.attendu["rapport_engage"],
        rendus.attendu["rapport_realise"],
    ]


# --- The avenant ---------------------------------------------------------------------------------------------------


def test_avenant_preview_writes_nothing(rendus):
    assert rendus.attendu["apercu_sans_ecriture"]


@pytest.mark.parametrize("version", ["avenant_projet", "avenant_signe"])
def test_avenant_changes_before_after(rendus, version):
    pdf = getattr(rendus, version)
    text = pdf_text(pdf)
    # Amounts per year and funder: before → after, and the difference.
    assert montants_de(ligne(text, "A1-10 – Action 0 des Hautes-Alpes", "2025", "État")) == [
        rendus.attendu["prevu_avant"],
        rendus.attendu["prevu_apres"],
        "2 000,00 €",
    ]
    assert montants_de(ligne(text, "Enveloppe du contrat", "2025")) == [
        "2 000 000,00 €",
        "2 100 000,00 €",
        "100 000,00 €",
    ]
    # Added, withdrawn, modified actions.
    assert re.search(
        r"A1-20 – Bus des familles du Champsaur\s+Axe 1, porteur : CAF des Hautes-Alpes\s+—\s+Ajoutée", text
    )
    # Withdrawn (its first line: the table of withdrawn actions comes before the table of amounts).
    assert montants_de(ligne(text, "A3-11 – Action 1 des Hautes-Alpes")) == [rendus.attendu["retiree_avant"], "0,00 €"]
    assert re.search(r"Intitulé\s+Action 2 des Hautes-Alpes\s+Précarité énergétique en vallée", text)
    assert re.search(r"A1-10 – Familles accompagnées 0\s+2025\s+150,5\s+175", text)
    assert "Rompre l'isolement des familles. ; Aller vers les jeunes." in mots(pdf)
    # Parity after, then the consolidated annex, equal to the database once signed.
    assert re.search(r"A1-20\s+2025\s+7 500,00 €\s+7 500,00 €\s+15 000,00 €\s+50 %\s+Respectée", text)
    assert montants_de(ligne(text, "Total général")) == rendus.attendu["avenant_general"]
    assert montants_de(ligne(text, "Total – État")) == rendus.attendu["avenant_etat"]


def test_avenant_projet_until_signed(rendus):
    assert "PROJET" in pdf_text(rendus.avenant_projet)
    signe = pdf_text(rendus.avenant_signe)
    assert "PROJET" not in signe and "SIGNÉ LE 2 JUIN 2025" in signe
    assert "le 2 juin 2025." in mots(rendus.avenant_signe)


# --- Query budgets: the same number of queries with 3 and 30 fiches -----------------------------------------------


def _html_avenant(avenant) -> str:
    return render_to_string("documents/avenant.html", documents.avenant_context(avenant))


def _html_fiche(fiche) -> str:
    return render_to_string("documents/fiche.html", documents.fiche_context(fiche))


def _html_rapport(rapport) -> str:
    return render_to_string("documents/rapport.html", documents.rapport_context(rapport))


@pytest.mark.parametrize("n_fiches", [3, 30])
def test_query_budget_convention(db, django_assert_max_num_queries, n_fiches):
    contrat = construire_contrat(n_fiches)
    with django_assert_max_num_queries(20):
        html = documents.convention_html(contrat)
    assert html.count('<article class="fiche') == n_fiches


@pytest.mark.parametrize("n_fiches", [3, 30])
def test_query_budget_fiche_and_report(db, django_assert_max_num_queries, n_fiches):
    contrat = construire_contrat(n_fiches)
    fiche = contrat.fiches.get(code="A1-10")
    with django_assert_max_num_queries(12):
        assert "Fiche action A1-10" in _html_fiche(fiche)
    signer_contrat(contrat)
    rapport = RapportAnnuel.objects.create(contrat=contrat, annee=2024, date_limite=date(2025, 3, 31))
    with django_assert_max_num_queries(13):
        html = _html_rapport(rapport)
    assert html.count("Total de l'action") == n_fiches


@pytest.mark.parametrize("n_fiches", [3, 30])
def test_query_budget_avenant(db, django_assert_max_num_queries, n_fiches):
    contrat = construire_contrat(n_fiches)
    signer_contrat(contrat)
    avenant = avenant_create(contrat=contrat, objet="Actualisation")
    avenant_propose_prevu(
        avenant=avenant, fiche_code="A1-10", annee=2025, type_financeur=TypeFinanceur.ETAT, montant=Decimal("12000")
    )
    avenant_propose_plafond(avenant=avenant, annee=2025, montant=Decimal("2100000"))
    # The preview applies each change as signing would (savepoints, checks, history, what other apps do when a
    # line changes): some queries per change, none per fiche.
    with django_assert_max_num_queries(66):
        html = _html_avenant(avenant)
    assert html.count("Total de l'action") == n_fiches


# --- export_convention ----------------------------------------------------------------------------------------------


def test_export_convention_writes_the_pdf(db, tmp_path):
    contrat = construire_contrat(2)
    out = io.StringIO()
    path = tmp_path / "convention.pdf"
    call_command("export_convention", "cls-2024-d05", "-o", str(path), stdout=out)
    pdf = path.read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf_pages(pdf) > 1
    assert f"Convention {contrat.reference} (projet) écrite dans {path}" in out.getvalue()
    assert "Article 16 – Litiges" in pdf_text(pdf)


def test_export_convention_unknown_reference(db, tmp_path, capsys):
    path = tmp_path / "convention.pdf"
    with pytest.raises(CommandError, match="Aucun contrat n'a la référence « CLS-2099-X »."):
        call_command("export_convention", "CLS-2099-X", "-o", str(path))
    assert not path.exists()
    # From the command line: the message in French on stderr, and a non-zero exit code.
    from financement.management.commands.export_convention import Command

    with pytest.raises(SystemExit) as exit_info:
        Command().run_from_argv(["manage.py", "export_convention", "CLS-2099-X", "-o", str(path)])
    assert exit_info.value.code != 0
    assert "Aucun contrat n'a la référence « CLS-2099-X »." in capsys.readouterr().err


def test_export_convention_missing_folder(db, tmp_path):
    construire_contrat(1)
    with pytest.raises(CommandError, match="n'existe pas"):
        call_command("export_convention", "CLS-2024-D05", "-o", str(tmp_path / "absent" / "c.pdf"))
    assert not Path(tmp_path / "absent").exists()


# --- Other kinds of contracts: volets (convention unique), partners paid directly (pacte local) ----------------------


def _texte_html(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("\u00a0", " ").split())


def test_convention_unique_with_volets():
    contrat = ContratFactory(
        collectivite=collectivite("D05"), type_contrat=TypeContrat.CONVENTION_UNIQUE, reference="CU-2024-D05"
    )
    volet = VoletFactory(contrat=contrat, numero=1, intitule="Pilotage de la réforme")
    fiche = FicheActionFactory(contrat=contrat, code="A2-01", axe=axe(2), volet=volet, statut=StatutFiche.VALIDEE)
    LigneFinancement.objects.create(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("30000"))
    PlafondFactory(contrat=contrat, volet=volet, annee=2024, montant=Decimal("30000"))
    text = _texte_html(documents.convention_html(contrat))
    regle = "pour chaque action et chaque année, la part de l'État ne dépasse pas 100 %"
    assert f"Actions du volet 1 – Pilotage de la réforme : {regle}" in text
    assert "Volet 1 – Pilotage de la réforme 30 000,00 € — — — 30 000,00 €" in text
    assert "sans report d'un volet sur un autre" in text


def test_pacte_local_pays_the_carriers_and_every_partner_signs():
    contrat = ContratFactory(collectivite=collectivite("D05"), type_contrat=TypeContrat.CPT, reference="CPT-2024-D05")
    caf = OrganisationFactory(nom="CAF des Hautes-Alpes", type=TypeOrganisation.PARTENAIRE)
    SignataireFactory(
        contrat=contrat, partie=PartieSignataire.PARTENAIRE, organisation=caf, nom="Alix Roux", qualite="Directrice"
    )
    FicheActionFactory(contrat=contrat, code="A3-01", axe=axe(3), porteur=caf, statut=StatutFiche.VALIDEE)
    text = _texte_html(documents.convention_html(contrat))
    versements = "L'État verse sa participation au Département des Hautes-Alpes ou directement aux porteurs des actions"
    assert f"{versements}, soit : CAF des Hautes-Alpes." in text
    assert "CAF des Hautes-Alpes , représenté(e) par Alix Roux, Directrice" in text
    assert "Pour CAF des Hautes-Alpes Directrice" in text  # its signature block
    assert "entre l'État et le Département des Hautes-Alpes et CAF des Hautes-Alpes" in text
