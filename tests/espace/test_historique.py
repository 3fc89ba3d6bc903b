"""The history pages of a contract and of a fiche (espace.historique, espace.views.historique): who, when,
what changed, before → after, in words people read; newest first, paginated, in a constant number of queries."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse

from actions.enums import NatureAction, StatutFiche, TypeIndicateur
from actions.services import fiche_create, fiche_transition, indicateur_create, indicateur_set_cible
from contrats.enums import PartieSignataire, StatutContrat, TypeContrat
from contrats.models import Contrat
from contrats.services import (
    contrat_create,
    contrat_transition,
    contrat_update,
    signataire_delete,
    signataire_set,
)
from espace.historique import evenements, sources_contrat, sources_fiche
from financement.enums import TypeFinanceur
from financement.services import ligne_financement_set, plafond_set
from tests.espace.test_contrats import tableau
from tests.factories import OrganisationFactory, UserFactory, axe, collectivite, departement

pytestmark = pytest.mark.django_db

D = Decimal


def texte(value: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]*>", " ", str(value))).split())


def lignes(response) -> list[list[str]]:
    """The history table's rows: date, author, object, action, changes."""
    html = response.content.decode()
    assert "INVALID_TEMPLATE_VARIABLE" not in html
    return tableau(response, "")[1:]


@pytest.fixture
def camille(ddets_05):
    return UserFactory(username="camille05", first_name="Camille", last_name="Durand", organisation=ddets_05)


@pytest.fixture
def caf(db):
    return OrganisationFactory(nom="CAF des Hautes-Alpes", departement=departement("05"))


@pytest.fixture
def contrat(editeur, camille, caf):
    """A contract written through the services by two agents: created, retitled, a ceiling set then raised,
    a signatory recorded, a fiche created with its funding lines (one amount changed), an indicator with a
    target, the fiche validated, the contract sent to negotiation."""
    contrat = contrat_create(
        collectivite=collectivite("D05"),
        type_contrat=TypeContrat.CLS_DEPARTEMENT,
        date_debut=date(2024, 1, 1),
        date_fin=date(2027, 12, 31),
        reference="CLS-2024-D05",
        titre="CLS des Hautes-Alpes",
        by=editeur,
    )
    contrat_update(contrat=contrat, titre="Contrat local des solidarités des Hautes-Alpes", by=camille)
    plafond_set(contrat=contrat, annee=2024, montant=D("10000"), by=editeur)
    plafond_set(contrat=contrat, annee=2024, montant=D("12000"), by=camille)
    signataire_set(contrat=contrat, partie=PartieSignataire.ETAT, nom="Dominique Martin", qualite="Préfet", by=editeur)
    fiche = fiche_create(
        contrat=contrat,
        code="A1-01",
        intitule="Accueil des familles",
        axe=axe(1),
        nature=NatureAction.NOUVELLE,
        porteur=caf,
        date_debut=date(2024, 1, 1),
        date_fin=date(2025, 12, 31),
        by=editeur,
    )
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=D("10000"), by=editeur)
    ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=D("12500"), by=camille)
    ligne_financement_set(
        fiche=fiche, annee=2024, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=D("12500"), by=editeur
    )
    indicateur = indicateur_create(
        fiche=fiche,
        nom="Familles accueillies",
        type_indicateur=TypeIndicateur.REALISATION,
        unite="familles",
        by=editeur,
    )
    indicateur_set_cible(indicateur=indicateur, annee=2024, cible=D("40"), by=camille)
    fiche_transition(fiche=fiche, to=StatutFiche.VALIDEE, by=camille)
    contrat_transition(contrat=contrat, to=StatutContrat.EN_NEGOCIATION, by=camille)
    return Contrat.objects.get(pk=contrat.pk)


def _row(rows, objet: str, action: str = "Modification", contient: str = "") -> list[str]:
    found = [r for r in rows if r[2] == objet and r[3] == action and contient in r[4]]
    assert found, f"pas de ligne « {objet} » ({action}) : {[r[2:4] for r in rows]}"
    return found[0]


def test_l_historique_du_contrat_dit_qui_a_change_quoi_avant_apres(client, editeur, contrat):
    client.force_login(editeur)
    response = client.get(reverse("espace:contrat_historique", args=["CLS-2024-D05"]))
    assert response.status_code == 200
    assert "<h1>Historique du contrat CLS-2024-D05</h1>" in response.content.decode()
    rows = lignes(response)

    # The ceiling raised by Camille Durand: its label, the amounts in euros, before → after.
    raised = _row(rows, "Enveloppe annuelle de l'État 2024, contrat")
    assert raised[1] == "Camille Durand"
    assert raised[4] == "Montant maximal de l'État : 10 000,00 € → 12 000,00 €"
    created = _row(rows, "Enveloppe annuelle de l'État 2024, contrat", "Création")
    assert created[1] == editeur.get_full_name()
    assert created[4] == "Année : — → 2024 Montant maximal de l'État : — → 10 000,00 €"

    # The contract's own changes: a new title, its status (the label of the choice), its axes.
    assert _row(rows, "Contrat CLS-2024-D05", contient="Titre imprimé")[4] == (
        "Titre imprimé : CLS des Hautes-Alpes → Contrat local des solidarités des Hautes-Alpes"
    )
    assert _row(rows, "Contrat CLS-2024-D05", contient="Statut")[4] == "Statut : Brouillon → En négociation"
    creation = _row(rows, "Contrat CLS-2024-D05", "Création")[4]
    assert "Collectivité : — → Département des Hautes-Alpes" in creation  # a related row by its name
    assert "Début : — → 01/01/2024" in creation  # dates the French way
    assert "Type : — → CLS – contrat local des solidarités (département)" in creation
    axes = _row(rows, "Contrat CLS-2024-D05", contient="Axes")[4]
    assert axes.startswith("Axes : — → Axe 1 – ")

    # What the contract holds: its signatory, its fiche's status changes (and nothing else of the fiche).
    signataire = _row(rows, "Signataire Dominique Martin, Préfet", "Création")[4]
    assert "Partie : — → État" in signataire
    assert _row(rows, "Fiche action A1-01 – Accueil des familles")[4] == "Statut : Proposée → Validée"
    assert _row(rows, "Fiche action A1-01 – Accueil des familles", "Création")[4] == "Statut : — → Proposée"
    assert not [r for r in rows if r[2].startswith("Ligne de financement")]

    # Newest first.
    assert rows[0][2:4] == ["Contrat CLS-2024-D05", "Modification"] and "En négociation" in rows[0][4]


def test_l_historique_de_la_fiche_ses_lignes_ses_indicateurs(client, editeur, contrat):
    client.force_login(editeur)
    response = client.get(reverse("espace:fiche_historique", args=["CLS-2024-D05", "A1-01"]))
    assert response.status_code == 200
    rows = lignes(response)
    changed = _row(rows, "Ligne de financement 2024, État")
    assert changed[1] == "Camille Durand"
    assert changed[4] == "Prévu : 10 000,00 € → 12 500,00 €"
    assert "Financeur : — → Collectivité" in _row(rows, "Ligne de financement 2024, Collectivité", "Création")[4]
    creation = _row(rows, "Fiche action A1-01 – Accueil des familles", "Création")[4]
    assert "Porteur : — → CAF des Hautes-Alpes" in creation
    assert "Nature : — → Nouvelle" in creation
    assert "Fin : — → 31/12/2025" in creation
    assert _row(rows, "Fiche action A1-01 – Accueil des familles")[4] == "Statut : Proposée → Validée"
    assert "Unité : — → familles" in _row(rows, "Indicateur « Familles accueillies »", "Création")[4]
    assert (
        "Cible : — → 40"
        in _row(rows, "Valeur annuelle d'indicateur Familles accueillies (familles), 2024", "Création")[4]
    )
    # The contract's other rows are not the fiche's.
    assert not [r for r in rows if r[2].startswith(("Enveloppe", "Signataire", "Contrat"))]


def test_une_suppression_est_dite(client, editeur, contrat):
    signataire_delete(signataire=contrat.signataires.get(), by=editeur)
    client.force_login(editeur)
    rows = lignes(client.get(reverse("espace:contrat_historique", args=["CLS-2024-D05"])))
    assert rows[0][2:] == ["Signataire Dominique Martin, Préfet", "Suppression", "—"]


def test_un_partenaire_lit_le_contrat_et_ses_actions_seulement(client, contrat, caf):
    client.force_login(UserFactory(organisation=caf))
    rows = lignes(client.get(reverse("espace:contrat_historique", args=["CLS-2024-D05"])))
    assert {r[2].split(" ")[0] for r in rows} == {"Contrat", "Fiche"}


def test_hors_perimetre_404_et_un_lecteur_lit(client, lecteur, autre_territoire, contrat):
    urls = [
        reverse("espace:contrat_historique", args=["CLS-2024-D05"]),
        reverse("espace:fiche_historique", args=["CLS-2024-D05", "A1-01"]),
    ]
    client.force_login(autre_territoire)
    assert [client.get(url).status_code for url in urls] == [404, 404]
    client.force_login(lecteur)
    assert [client.get(url).status_code for url in urls] == [200, 200]
    assert client.get(reverse("espace:fiche_historique", args=["CLS-2024-D05", "Z9-99"])).status_code == 404


def test_la_pagination_par_50(client, editeur, contrat):
    fiche = contrat.fiches.get()
    for n in range(60):
        ligne_financement_set(fiche=fiche, annee=2025, type_financeur=TypeFinanceur.ETAT, prevu=D(1000 + n), by=editeur)
    client.force_login(editeur)
    url = reverse("espace:fiche_historique", args=["CLS-2024-D05", "A1-01"])
    response = client.get(url)
    rows = lignes(response)
    assert len(rows) == 50
    assert rows[0][4] == "Prévu : 1 058,00 € → 1 059,00 €"  # newest first
    assert 'class="fr-pagination"' in response.content.decode()
    total = len(evenements(sources_fiche(fiche)))
    assert total > 60
    rows = lignes(client.get(url, {"page": 2}))
    assert len(rows) == total - 50
    assert rows[-1][3] == "Création"


def _beaucoup(contrat, editeur, nombre: int):
    fiche = contrat.fiches.get()
    for n in range(nombre):
        organisation = OrganisationFactory(nom=f"Partenaire {n}")
        signataire_set(
            contrat=contrat,
            partie=PartieSignataire.PARTENAIRE,
            organisation=organisation,
            nom=f"Signataire {n}",
            qualite="Directeur",
            by=editeur,
        )
        ligne_financement_set(
            fiche=fiche,
            annee=2025,
            type_financeur=TypeFinanceur.AUTRE,
            financeur=organisation,
            prevu=D(n + 1),
            by=editeur,
        )


@pytest.mark.parametrize("nombre", [3, 30])
def test_budget_de_requetes(client, editeur, contrat, django_assert_max_num_queries, nombre):
    _beaucoup(contrat, editeur, nombre)
    client.force_login(editeur)
    with django_assert_max_num_queries(29):
        response = client.get(reverse("espace:contrat_historique", args=["CLS-2024-D05"]))
    assert f"Signataire {nombre - 1}, Directeur" in texte(response.content.decode())
    with django_assert_max_num_queries(17):
        response = client.get(reverse("espace:fiche_historique", args=["CLS-2024-D05", "A1-01"]))
    assert f"Ligne de financement 2025, Partenaire {nombre - 1}" in texte(response.content.decode())


def test_les_sources_du_contrat_couvrent_les_modeles_qui_le_reference(contrat, editeur):
    """Every historised model with a ``contrat`` key is read by the contract's history (or said not to be)."""
    from django.apps import apps

    lus = {source.model for source in sources_contrat(contrat, editeur)}
    with_contrat = {
        model
        for model in apps.get_models()
        if hasattr(model, "history")
        and not model.__name__.startswith("Historical")
        and any(f.name == "contrat" and f.related_model is Contrat for f in model._meta.concrete_fields)
    }
    assert with_contrat - lus == set()
