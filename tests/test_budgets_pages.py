"""Query budgets of the back-office change pages: a constant number of SQL queries, whatever the rows.

Each page with inlines is opened with 3 and with 30 rows in each of its inlines (funding lines,
indicators, ceilings, payments, signatories, committees, fiches, avenants, modifications; an indicator's
yearly values stop at 12, see ``VALEURS_MAX``), by a DDETS editor of the Hautes-Alpes, on GET and on a
POST that saves one change (built from the GET form, as a browser sends it back): the same budget holds
for both, written next to each page in ``PAGES``. The collectivité's agent and the superuser pay the same
with 3 and with 30 rows too, and the pages without inlines the same with 3 and with 30 objects to
choose from. The Pacte's period is widened to 30 years here, so that 30 yearly rows are all valid.

Measured once, the same on SQLite and on PostgreSQL. A GET counts the session, the user and its
organisation, the object and its perimeter check, one query per inline (and one more per foreign key
chosen in the rows: their options, or the labels of every row's autocomplete at once), the content
types and the DSFR site settings. A POST adds the savepoints, the service's lock, version and rules,
its writes and audit rows; a row that did not change costs nothing (it is neither read again nor
validated again: it is not saved either).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from actions.models import FicheAction, Indicateur
from contrats.enums import NatureModification, PartieSignataire, StatutAvenant, TypeComite
from contrats.models import Avenant, Comite, Contrat, ModificationAvenant
from demo.management.commands.bench_pages import pages_de_modification
from financement.enums import TypeFinanceur
from financement.services import rapport_create, reliquat_compute
from pacte.models import Region
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    IndicateurFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    ValeurIndicateurFactory,
    VersementFactory,
    VoletFactory,
    axe,
    collectivite,
    departement,
)
from tests.test_admin import as_post_data, row, url

pytestmark = pytest.mark.django_db

PREMIERE_ANNEE = 2024
FIN = date(2053, 12, 31)


@pytest.fixture(autouse=True)
def periode_de_30_ans(settings):
    """Thirty years of Pacte: room for 30 yearly rows in every inline that has one row per year."""
    settings.PACTE_PERIODE = "2024-2053"


def annee(i: int) -> int:
    return PREMIERE_ANNEE + i


def partenaire_05():
    """A partner of the Hautes-Alpes: in the DDETS's perimeter, offered by the autocompletes."""
    return OrganisationFactory(departement=departement("05"))


# --- The pages, each built with n rows per inline --------------------------------------------------------


def contrat_en_negociation(n: int) -> Contrat:
    """A CDIE of the Hautes-Alpes in negotiation: 3 volets, n ceilings (by volet and year), n partner
    signatories, n committees and n fiches."""
    contrat = ContratFactory(collectivite=collectivite("D05"), cdie=True, date_fin=FIN)
    volets = [VoletFactory(contrat=contrat, numero=numero, intitule=f"Volet {numero}") for numero in (1, 2, 3)]
    for i in range(n):
        PlafondFactory(contrat=contrat, volet=volets[i % 3], annee=annee(i // 3), montant=Decimal("1000"))
        SignataireFactory(
            contrat=contrat, partie=PartieSignataire.PARTENAIRE, organisation=partenaire_05(), nom=f"Signataire {i}"
        )
        Comite.objects.create(contrat=contrat, type_comite=TypeComite.SUIVI, date=date(2024, 1, 1 + i % 28))
        FicheActionFactory(contrat=contrat, axe=axe(2), code=f"A2-{i + 1:02d}", volet=volets[i % 3])
    return contrat


def contrat_signe(n: int) -> Contrat:
    """A signed CLS of the Hautes-Alpes: n ceilings (one a year, read-only), n payments, n signatories
    (read-only), n avenants, n committees and n fiches."""
    contrat = ContratFactory(collectivite=collectivite("D05"), signe=True, date_fin=FIN)
    for i in range(n):
        PlafondFactory(contrat=contrat, annee=annee(i))
        VersementFactory(contrat=contrat, annee=annee(i), numero_ej=f"{2100000000 + i}")
        SignataireFactory(
            contrat=contrat, partie=PartieSignataire.PARTENAIRE, organisation=partenaire_05(), nom=f"Signataire {i}"
        )
        AvenantFactory(contrat=contrat, numero=i + 1, statut=StatutAvenant.ABANDONNE)
        Comite.objects.create(contrat=contrat, type_comite=TypeComite.PILOTAGE, date=date(2024, 2, 1 + i % 28))
        FicheActionFactory(contrat=contrat, code=f"A1-{i + 1:02d}", validee=True)
    return contrat


def _lignes_et_indicateurs(fiche: FicheAction, n: int) -> None:
    """n funding lines (the collectivité, the State and another funder in turn) and n indicators."""
    for i in range(n):
        match i % 3:
            case 0:
                LigneFinancementFactory(fiche=fiche, annee=annee(i), type_financeur=TypeFinanceur.COLLECTIVITE)
            case 1:
                LigneFinancementFactory(fiche=fiche, annee=annee(i), type_financeur=TypeFinanceur.ETAT)
            case _:
                LigneFinancementFactory(
                    fiche=fiche, annee=annee(i), type_financeur=TypeFinanceur.AUTRE, financeur=partenaire_05()
                )
        IndicateurFactory(fiche=fiche, nom=f"Indicateur {i}")


def fiche_en_negociation(n: int) -> FicheAction:
    contrat = ContratFactory(collectivite=collectivite("D05"), date_fin=FIN)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", porteur=partenaire_05())
    _lignes_et_indicateurs(fiche, n)
    return fiche


def fiche_signee(n: int) -> FicheAction:
    contrat = ContratFactory(collectivite=collectivite("D05"), signe=True, date_fin=FIN)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", porteur=partenaire_05(), validee=True)
    _lignes_et_indicateurs(fiche, n)
    return fiche


#: The database keeps an indicator's years within 2019–2035 (``valeur_indicateur_annee_du_pacte``): from 2024,
#: at most 12 yearly values.
VALEURS_MAX = 12


def indicateur(n: int) -> Indicateur:
    """An indicator of a fiche in negotiation, with n yearly values (at most ``VALEURS_MAX``)."""
    contrat = ContratFactory(collectivite=collectivite("D05"), date_fin=FIN)
    indicateur = IndicateurFactory(fiche=FicheActionFactory(contrat=contrat, code="A1-01"))
    for i in range(min(n, VALEURS_MAX)):
        ValeurIndicateurFactory(indicateur=indicateur, annee=annee(i), cible=Decimal(100 + i))
    return indicateur


def avenant(n: int) -> Avenant:
    """A draft avenant of a signed contract, proposing n changes."""
    avenant = AvenantFactory(contrat=ContratFactory(collectivite=collectivite("D05"), signe=True), numero=1)
    for i in range(n):
        ModificationAvenant.objects.create(
            avenant=avenant, nature=NatureModification.PLAFOND, libelle=f"Enveloppe {annee(i)}", apres={"montant": i}
        )
    return avenant


# --- What each POST changes, and how to see it was saved --------------------------------------------------


@dataclass
class Page:
    """A change page, its two budgets (GET, then the POST that saves one change), how to build it with n
    rows per inline, how many rows it then shows, and the change its POST makes: ``edit(data, obj)``
    changes the posted data, ``saved(obj)`` tells that the change reached the database."""

    get: int
    post: int
    build: Callable[[int], object]
    rows: Callable[[int], int]
    change: tuple[Callable[[dict, object], None], Callable[[object], bool]]


def champ(name: str, value: str):
    """Changes a field of the page's main form."""

    def edit(data: dict, obj) -> None:
        data[name] = value

    def saved(obj) -> bool:
        return str(getattr(type(obj).objects.get(pk=obj.pk), name)) == value

    return edit, saved


def ligne(inline: str, name: str, value: str):
    """Changes a field of the first row of ``inline`` (the related name of its rows, and its prefix)."""

    def first(obj):
        return getattr(obj, inline).order_by("pk").first()

    def edit(data: dict, obj) -> None:
        data[f"{row(data, inline, first(obj))}-{name}"] = value

    def saved(obj) -> bool:
        return str(getattr(first(obj), name)) == value

    return edit, saved


# The budgets of a DDETS editor, measured once (the same on SQLite and PostgreSQL), with 3 and with 30 rows:
# Page(GET, POST, ...). Saving a fiche or one of its lines also recomputes its contract's dashboards summary
# (financement.synthese.synthese_refresh: a grouped read, the cofinancing rules, a delete and an insert): 4 queries.
PAGES = {
    "contrat en négociation": Page(26, 58, contrat_en_negociation, lambda n: 3 + 4 * n, champ("titre", "Nouveau")),
    "contrat signé": Page(22, 45, contrat_signe, lambda n: 6 * n, ligne("versements", "numero_ej", "2199999999")),
    "fiche en négociation": Page(19, 61, fiche_en_negociation, lambda n: 2 * n, champ("intitule", "Nouvel intitulé")),
    "fiche d'un contrat signé": Page(15, 39, fiche_signee, lambda n: 2 * n, ligne("financements", "engage", "1234.00")),
    "indicateur": Page(13, 26, indicateur, lambda n: min(n, VALEURS_MAX), champ("nom", "Nouveau nom")),
    "avenant": Page(12, 30, avenant, lambda n: n, champ("objet", "Nouvel objet")),
}


@pytest.fixture(autouse=True)
def pages_de_30_lignes(settings):
    """A page with 30 rows in each of six inlines posts more than Django's default 1 000 fields."""
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000


@pytest.fixture(autouse=True)
def types_de_contenu_a_lire():
    """The content types are cached by the process: each test reads its own, whatever ran before."""
    ContentType.objects.clear_cache()


def inline_rows(response) -> int:
    return sum(len(inline.formset.initial_forms) for inline in response.context["inline_admin_formsets"])


def page_errors(response) -> str:
    """The errors of a page sent back: main form, inline rows and formsets."""
    messages = [m for ms in response.context["adminform"].form.errors.values() for m in ms]
    for inline in response.context["inline_admin_formsets"]:
        messages += inline.formset.non_form_errors()
        for form in inline.formset.forms:
            messages += [m for ms in form.errors.values() for m in ms]
    return " ".join(messages)


# --- The budgets ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("nom", list(PAGES))
def test_une_page_de_modification_a_un_budget_de_requetes(client, editeur, django_assert_max_num_queries, nom, n):
    page = PAGES[nom]
    obj = page.build(n)
    client.force_login(editeur)
    with django_assert_max_num_queries(page.get):
        response = client.get(url(obj, "change"))
    assert response.status_code == 200
    assert inline_rows(response) == page.rows(n)


@pytest.mark.parametrize("n", [3, 30])
@pytest.mark.parametrize("nom", list(PAGES))
def test_enregistrer_une_page_a_un_budget_de_requetes(client, editeur, django_assert_max_num_queries, nom, n):
    page = PAGES[nom]
    obj = page.build(n)
    client.force_login(editeur)
    data = as_post_data(client.get(url(obj, "change")))
    edit, saved = page.change
    edit(data, obj)
    with django_assert_max_num_queries(page.post):
        response = client.post(url(obj, "change"), data)
    assert response.status_code == 302, page_errors(response)
    assert saved(obj)


def _queries(client, method: str, path: str, data=None) -> tuple[int, int]:
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        response = getattr(client, method)(path, data) if data is not None else getattr(client, method)(path)
    return len(queries), response.status_code


@pytest.mark.parametrize("persona", ["collectivite", "superutilisateur"])
@pytest.mark.parametrize("nom", list(PAGES))
def test_chaque_persona_ouvre_une_page_au_meme_cout_avec_3_ou_30_lignes(client, django_user_model, persona, nom):
    if persona == "collectivite":
        user = UserFactory(organisation=OrganisationFactory(de_collectivite=True))  # the Département 05
    else:
        user = django_user_model.objects.create_superuser("racine", "racine@example.gouv.fr", "mot-de-passe-racine")
    petite, grande = PAGES[nom].build(3), PAGES[nom].build(30)
    client.force_login(user)
    assert _queries(client, "get", url(petite, "change")) == _queries(client, "get", url(grande, "change"))
    assert _queries(client, "get", url(grande, "change"))[1] == 200


def _collectivite_saisit(client, fiche) -> tuple[int, int]:
    """The collectivité's agent enters what its first line spent, on the fiche's page."""
    lignes = fiche.financements.filter(type_financeur=TypeFinanceur.COLLECTIVITE).order_by("pk")
    data = as_post_data(client.get(url(fiche, "change")))
    data[f"{row(data, 'financements', lignes[0])}-realise"] = "777.00"
    cost = _queries(client, "post", url(fiche, "change"), data)
    assert lignes[0].__class__.objects.get(pk=lignes[0].pk).realise == Decimal("777.00")
    return cost


def test_la_collectivite_enregistre_ses_montants_au_meme_cout_avec_3_ou_30_lignes(client):
    client.force_login(UserFactory(organisation=OrganisationFactory(de_collectivite=True)))
    petite, grande = fiche_signee(3), fiche_signee(30)
    assert _collectivite_saisit(client, petite) == _collectivite_saisit(client, grande) == (39, 302)


@pytest.mark.parametrize("nom", list(PAGES))
def test_le_superutilisateur_enregistre_au_meme_cout_avec_3_ou_30_lignes(client, django_user_model, nom):
    client.force_login(django_user_model.objects.create_superuser("racine", "r@example.gouv.fr", "mot-de-passe-r"))
    costs = []
    for n in (3, 30):
        obj = PAGES[nom].build(n)
        data = as_post_data(client.get(url(obj, "change")))
        edit, saved = PAGES[nom].change
        edit(data, obj)
        costs.append(_queries(client, "post", url(obj, "change"), data))
        assert saved(obj)
    assert costs[0] == costs[1]
    assert costs[0][1] == 302


def test_une_region_s_ouvre_au_meme_cout_quel_que_soit_son_nombre_de_departements(client, editeur):
    """The régions' page lists their départements (reference data: 2 for Corse, 13 for Occitanie)."""
    client.force_login(editeur)
    corse, occitanie = Region.objects.get(code="94"), Region.objects.get(code="76")
    assert (corse.departements.count(), occitanie.departements.count()) == (2, 13)
    assert _queries(client, "get", url(corse, "change")) == _queries(client, "get", url(occitanie, "change"))


# --- Reading once changes nothing of what a page offers or accepts ----------------------------------------


def test_l_autocompletion_d_une_ligne_ne_montre_que_le_perimetre(client, editeur):
    contrat = ContratFactory(collectivite=collectivite("D05"))
    dedans = OrganisationFactory(departement=departement("05"), nom="Association des Écrins")
    dehors = OrganisationFactory(departement=departement("69"), nom="Association du Rhône")
    for organisation in (dedans, dehors):
        SignataireFactory(contrat=contrat, partie=PartieSignataire.PARTENAIRE, organisation=organisation)
    client.force_login(editeur)
    page = client.get(url(contrat, "change")).content.decode()
    assert f'<option value="{dedans.pk}" selected>Association des Écrins</option>' in page
    assert "Association du Rhône" not in page


def _ligne_autre(fiche):
    return fiche.financements.filter(type_financeur=TypeFinanceur.AUTRE).order_by("pk").first()


@pytest.mark.parametrize(
    ("financeur", "erreur"),
    [
        ("partenaire du 05", None),
        ("partenaire du 69", "Sélectionnez un choix valide"),
        ("identifiant inconnu", "Sélectionnez un choix valide"),
        ("abc", "Sélectionnez un choix valide"),
        ("", "Un autre financeur doit être nommé"),
    ],
)
def test_le_financeur_d_une_ligne_se_choisit_dans_le_perimetre(client, editeur, financeur, erreur):
    fiche = fiche_en_negociation(6)
    avant = _ligne_autre(fiche).financeur
    valeur = {
        "partenaire du 05": lambda: partenaire_05().pk,
        "partenaire du 69": lambda: OrganisationFactory(departement=departement("69")).pk,
        "identifiant inconnu": lambda: 987654321,
    }.get(financeur, lambda: financeur)()
    client.force_login(editeur)
    data = as_post_data(client.get(url(fiche, "change")))
    data[f"{row(data, 'financements', _ligne_autre(fiche))}-financeur"] = valeur
    response = client.post(url(fiche, "change"), data)
    if erreur is None:
        assert response.status_code == 302, page_errors(response)
        assert _ligne_autre(fiche).financeur_id == valeur
    else:
        assert response.status_code == 200
        assert erreur in page_errors(response)
        assert _ligne_autre(fiche).financeur == avant


def test_chaque_ligne_d_enveloppe_propose_les_volets_du_contrat(client, editeur):
    contrat = contrat_en_negociation(6)
    autre_cdie = contrat_en_negociation(1)
    client.force_login(editeur)
    response = client.get(url(contrat, "change"))
    plafonds = next(i.formset for i in response.context["inline_admin_formsets"] if i.formset.prefix == "plafonds")
    volets = {(str(v.pk), str(v)) for v in contrat.volets.all()}
    for form in plafonds.forms:
        assert {(str(value), label) for value, label in form.fields["volet"].choices if value} == volets
    data = as_post_data(response)
    plafond = contrat.plafonds.order_by("pk").first()
    data[f"{row(data, 'plafonds', plafond)}-volet"] = autre_cdie.volets.first().pk
    response = client.post(url(contrat, "change"), data)
    assert "Sélectionnez un choix valide" in page_errors(response)
    assert contrat.plafonds.order_by("pk").first().volet_id == plafond.volet_id


@pytest.mark.parametrize(("touchee", "enregistre"), [(False, True), (True, False)])
def test_une_ligne_non_modifiee_n_est_pas_revalidee(client, editeur, settings, touchee, enregistre):
    """A row saved under a longer period is shown as it is; only a row the user changes is checked again."""
    fiche = fiche_en_negociation(6)
    ancienne = fiche.financements.get(annee=2029)
    client.force_login(editeur)
    data = as_post_data(client.get(url(fiche, "change")))
    settings.PACTE_PERIODE = "2024-2027"
    data["intitule"] = "Nouvel intitulé"
    if touchee:
        data[f"{row(data, 'financements', ancienne)}-prevu"] = "5000.00"
    response = client.post(url(fiche, "change"), data)
    fiche.refresh_from_db()
    assert (fiche.intitule == "Nouvel intitulé") is enregistre
    if not enregistre:
        assert "L'année 2029 est hors de la période du Pacte (2024-2027)" in page_errors(response)
    assert fiche.financements.get(pk=ancienne.pk).prevu == ancienne.prevu


# --- The pages without rows: what their lists of choices read does not grow either ----------------------


def voisins(n: int) -> None:
    """n of each object in the Hautes-Alpes: as many choices in the pages' lists and autocompletes."""
    for _ in range(n):
        contrat = ContratFactory(collectivite=collectivite("D05"))
        signe = ContratFactory(collectivite=collectivite("D05"), signe=True)
        cdie = ContratFactory(collectivite=collectivite("D05"), cdie=True)
        fiche = FicheActionFactory(contrat=contrat, porteur=partenaire_05())
        LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.AUTRE, financeur=fiche.porteur)
        PlafondFactory(contrat=cdie, volet=VoletFactory(contrat=cdie))
        VersementFactory(contrat=signe)
        SignataireFactory(contrat=contrat, partie=PartieSignataire.PARTENAIRE, organisation=fiche.porteur)
        Comite.objects.create(contrat=contrat, type_comite=TypeComite.SUIVI, date=date(2024, 5, 1))
        ModificationAvenant.objects.create(
            avenant=AvenantFactory(contrat=signe, numero=1),
            nature=NatureModification.PLAFOND,
            libelle="Enveloppe 2025",
            apres={"montant": 1},
        )
        ValeurIndicateurFactory(indicateur=IndicateurFactory(fiche=fiche))
        rapport_create(contrat=signe, annee=2024)
        reliquat_compute(contrat=signe, annee=2024)
        UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")))


# A DDETS editor's page of the first object of each model (the same object with 3 and with 30 neighbours):
# (GET, POST of the form sent back as it is). The reference data is read-only for it: that POST is refused.
# A refused POST (403) answers the DSFR 403 page, whose header reads the user's organisation and perimeter
# (two queries); the annual report's page lists its sections (one query).
SANS_LIGNES = {
    "contrats.signataire": (12, 18),
    "contrats.volet": (11, 18),
    "contrats.comite": (11, 13),
    "contrats.modificationavenant": (11, 14),
    "contrats.regletypecontrat": (9, 14),
    "actions.valeurindicateur": (13, 18),
    "financement.lignefinancement": (14, 22),
    "financement.plafond": (13, 19),
    "financement.versement": (12, 19),  # + the beneficiaries the contract may pay
    "financement.reliquat": (10, 14),
    "financement.rapportannuel": (12, 13),
    "financement.reglecofinancement": (8, 13),
    "pacte.departement": (9, 13),
    "pacte.collectivite": (10, 14),
    "pacte.axe": (8, 13),
    "pacte.mesure": (10, 13),
    "pacte.objectif": (10, 13),
    "pacte.organisation": (10, 14),
    "pacte.user": (21, 14),
}
LECTURE_SEULE = {"contrats.modificationavenant", "contrats.regletypecontrat", "financement.reliquat"} | {
    label for label in SANS_LIGNES if label.startswith("pacte.") or label.endswith("reglecofinancement")
}


def _pages_sans_lignes(client) -> dict:
    """For each model: the queries and status of its first object's page, on GET and on re-sending it."""
    costs = {}
    for label in SANS_LIGNES:
        model = apps.get_model(label)
        request = client.get(url(model, "changelist")).wsgi_request
        obj = admin.site._registry[model].get_queryset(request).order_by("pk").first()
        response = client.get(url(obj, "change"))
        data = as_post_data(response)
        costs[label] = (_queries(client, "get", url(obj, "change")), _queries(client, "post", url(obj, "change"), data))
    return costs


def test_les_pages_sans_lignes_ne_dependent_pas_du_nombre_de_choix(client, editeur):
    client.force_login(editeur)
    voisins(3)
    petit = _pages_sans_lignes(client)
    voisins(27)
    assert _pages_sans_lignes(client) == petit
    assert {label: (get, post) for label, ((get, _), (post, _)) in petit.items()} == SANS_LIGNES
    assert {label: status for label, ((_, status), _) in petit.items()} == dict.fromkeys(SANS_LIGNES, 200)
    assert {label: status for label, (_, (_, status)) in petit.items()} == {
        label: 403 if label in LECTURE_SEULE else 302 for label in SANS_LIGNES
    }


# --- make bench opens the largest change pages of each user's perimeter -----------------------------------


def test_le_banc_d_essai_ouvre_la_plus_grande_fiche_et_le_plus_grand_contrat_du_perimetre(editeur):
    petite, grande = fiche_en_negociation(3), fiche_en_negociation(9)
    contrat = contrat_signe(4)
    ailleurs = ContratFactory(collectivite=collectivite("D69"), signe=True)
    for i in range(40):
        VersementFactory(contrat=ailleurs, annee=annee(i % 4))
    fiche_ailleurs = FicheActionFactory(contrat=ailleurs, code="A1-01")
    for i in range(20):
        LigneFinancementFactory(fiche=fiche_ailleurs, annee=annee(i))
    fiche_espace = reverse("espace:fiche", kwargs={"reference": grande.contrat.reference, "code": grande.code})
    contrat_espace = reverse("espace:contrat", kwargs={"reference": contrat.reference})
    assert [label for _, label in pages_de_modification(editeur)] == [
        f"{url(grande, 'change')} (9 lignes de financement)",
        f"{fiche_espace} (9 lignes de financement)",
        f"{url(contrat, 'change')} (24 lignes)",
        f"{contrat_espace} (24 lignes)",
    ]
    assert petite.financements.count() == 3
    out = StringIO()
    call_command("bench_pages", "--users", editeur.username, "--repeat", "1", stdout=out)
    assert f"{url(contrat, 'change')} (24 lignes)" in out.getvalue()
    assert f"{contrat_espace} (24 lignes)" in out.getvalue()
