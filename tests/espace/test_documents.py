"""Documents in the front office (espace.views.documents): downloads of frozen and draft documents, the documents
page and its progress, the scan of the signed paper, batch prints, the public verification page.

Documents are rendered by the stand-ins of tests/financement/test_taches.py (a one-page PDF naming the contract); the
tasks run when the transaction commits (``django_capture_on_commit_callbacks(execute=True)``).
"""

from __future__ import annotations

import io
import zipfile
from datetime import date
from html.parser import HTMLParser

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from contrats.enums import StatutAvenant
from contrats.models import Contrat
from financement.enums import StatutRapport, TypeFinanceur
from financement.models import DocumentEmis, Impression, NatureDocument, RapportAnnuel, StatutTache
from financement.sceau import controler_sceau, empreinte
from financement.services import ligne_financement_set
from pacte.enums import Role, TypeOrganisation
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    OrganisationFactory,
    UserFactory,
    collectivite,
    departement,
    region,
)
from tests.financement.test_taches import contrat_pret, installer_rendus, lu, page_factice, signer

pytestmark = pytest.mark.django_db


def corps(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def texte(response) -> str:
    return " ".join(response.content.decode().split())


class _Formulaires(HTMLParser):
    """The forms of a page: their hidden ``operation`` and the names of their fields."""

    def __init__(self):
        super().__init__()
        self.operations: list[str] = []
        self.champs: list[str] = []
        self.hx: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("name") == "operation":
            self.operations.append(attrs["value"])
        elif tag in ("input", "select") and attrs.get("name"):
            self.champs.append(attrs["name"])
        if "hx-get" in attrs:
            self.hx.append(attrs)


def formulaires(response) -> _Formulaires:
    parser = _Formulaires()
    parser.feed(response.content.decode())
    return parser


@pytest.fixture
def rendus(monkeypatch):
    """The documents rendered by stand-ins (tests/financement/test_taches.py)."""
    return installer_rendus(monkeypatch)


@pytest.fixture
def prefecture(db):
    return UserFactory(
        username="prefecture05", organisation=OrganisationFactory(prefecture=True, departement=departement("05"))
    )


@pytest.fixture
def partenaire(db):
    return UserFactory(username="caf05", organisation=OrganisationFactory(nom="CAF des Hautes-Alpes"))


@pytest.fixture
def signe(rendus, django_capture_on_commit_callbacks):
    """CLS-2024-D05 signed through the service: its convention frozen."""
    return signer(contrat_pret(), django_capture_on_commit_callbacks)


def connecte(client, user):
    client.force_login(user)
    return client


# --- Downloads ------------------------------------------------------------------------------------------------------


def test_la_convention_signee_se_telecharge_a_l_identique(client, editeur, signe):
    connecte(client, editeur)
    url = reverse("espace:convention_pdf", args=[signe.reference])
    premiere, seconde = client.get(url), client.get(url)
    assert premiere.status_code == 200 and premiere["Content-Type"] == "application/pdf"
    assert premiere["Content-Disposition"] == 'attachment; filename="CLS-2024-D05-convention-signee.pdf"'
    data = corps(premiere)
    assert data == corps(seconde) == lu(signe.document_signe)
    assert empreinte(data) == signe.empreinte_document


def test_un_montant_refuse_apres_signature_ne_change_pas_le_telechargement(client, editeur, signe):
    connecte(client, editeur)
    url = reverse("espace:convention_pdf", args=[signe.reference])
    avant = corps(client.get(url))
    with pytest.raises(ValidationError, match="ne changent plus que par un avenant"):
        ligne_financement_set(fiche=signe.fiches.get(), annee=2024, type_financeur=TypeFinanceur.ETAT, prevu="1")
    assert corps(client.get(url)) == avant


def test_un_projet_se_demande_se_prepare_puis_se_telecharge(
    client, lecteur, rendus, django_capture_on_commit_callbacks
):
    contrat = contrat_pret()
    connecte(client, lecteur)
    url_pdf = reverse("espace:convention_pdf", args=[contrat.reference])
    url_page = reverse("espace:documents", args=[contrat.reference])

    response = client.get(url_pdf)
    assert response.status_code == 302 and response["Location"] == url_page + "#convention"
    assert not DocumentEmis.objects.exists(), "un GET n'écrit rien"
    page = client.get(url_page)
    assert formulaires(page).operations == ["projet"]
    assert "Aucun projet préparé." in texte(page)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(url_page, {"operation": "projet"})
    assert response.status_code == 302 and response["Location"] == url_page + "#travaux"
    document = DocumentEmis.objects.get()
    assert (document.nature, document.signe, document.statut) == (
        NatureDocument.CONVENTION,
        False,
        StatutTache.EN_ATTENTE,
    )
    en_cours = client.get(url_page)
    (polling,) = formulaires(en_cours).hx
    assert polling["hx-get"] == url_page + "?fragment=travaux" and polling["hx-trigger"] == "every 2s"
    assert "Actualiser" in texte(en_cours) and "En attente" in texte(en_cours)

    callbacks[0]()
    fragment = client.get(url_page + "?fragment=travaux", HTTP_HX_REQUEST="true")
    assert not fragment.content.decode().lstrip().startswith("<!DOCTYPE"), "le fragment seul"
    assert formulaires(fragment).hx == [], "prêt : l'actualisation s'arrête"
    document.refresh_from_db()
    lien = f"{url_pdf}?document={document.uid}"
    assert f'href="{lien}"' in fragment.content.decode()
    pdf = client.get(lien)
    data = corps(pdf)
    assert pdf.status_code == 200 and empreinte(data) == document.empreinte
    assert controler_sceau(data).valide


def test_le_projet_d_un_autre_contrat_ne_se_telecharge_pas(client, editeur, rendus, django_capture_on_commit_callbacks):
    contrat, autre = contrat_pret(), ContratFactory(collectivite=collectivite("D05"), reference="CDIE-2024-D05")
    connecte(client, editeur)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("espace:documents", args=[autre.reference]), {"operation": "projet"})
    document = DocumentEmis.objects.get(contrat=autre)
    url = reverse("espace:convention_pdf", args=[contrat.reference])
    assert client.get(f"{url}?document={document.uid}").status_code == 404
    assert client.get(f"{url}?document=pas-un-uid").status_code == 404
    assert client.get(f"{url}?exemplaire=scan").status_code == 404


def test_le_projet_d_un_avenant(client, editeur, signe, django_capture_on_commit_callbacks):
    avenant = AvenantFactory(contrat=signe, numero=1)
    connecte(client, editeur)
    url_pdf = reverse("espace:avenant_pdf", args=[signe.reference, 1])
    assert client.get(url_pdf)["Location"].endswith("#avenant-1")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("espace:documents", args=[signe.reference]), {"operation": "projet_avenant", "numero": 1})
    document = DocumentEmis.objects.get(avenant=avenant)
    assert document.statut == StatutTache.PRET and document.objet == "Avenant n° 1"
    assert empreinte(corps(client.get(f"{url_pdf}?document={document.uid}"))) == document.empreinte
    assert (
        client.post(
            reverse("espace:documents", args=[signe.reference]), {"operation": "projet_avenant", "numero": 9}
        ).status_code
        == 404
    )


def test_la_fiche_et_le_rapport_se_font_pendant_la_requete_et_sont_inscrits(client, editeur, signe):
    RapportAnnuel.objects.create(
        contrat=signe, annee=2024, statut=StatutRapport.BROUILLON, date_limite=date(2025, 3, 31)
    )
    connecte(client, editeur)
    fiche = client.get(reverse("espace:fiche_pdf", args=[signe.reference, "A1-01"]))
    rapport = client.get(reverse("espace:rapport_pdf", args=[signe.reference, 2024]))
    for response, nature, objet in (
        (fiche, NatureDocument.FICHE, "Fiche action A1-01"),
        (rapport, NatureDocument.RAPPORT, "Rapport annuel d'exécution 2024"),
    ):
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
        data = corps(response)
        assert controler_sceau(data).valide
        document = DocumentEmis.objects.get(empreinte=empreinte(data))
        assert (document.nature, document.objet, document.demande_par) == (nature, objet, editeur)
    assert client.get(reverse("espace:rapport_pdf", args=[signe.reference, 2025])).status_code == 404


def test_sans_certificat_la_fiche_n_est_pas_emise_et_le_dit(client, editeur, signe, settings, tmp_path):
    settings.PACTE_SCEAU_CLE = tmp_path / "absente.pem"
    connecte(client, editeur)
    response = client.get(reverse("espace:fiche_pdf", args=[signe.reference, "A1-01"]), follow=True)
    assert "La fiche n&#x27;a pas pu être émise : La clé privée du sceau est introuvable" in response.content.decode()
    assert not DocumentEmis.objects.filter(nature=NatureDocument.FICHE).exists()


# --- The documents page: personas -----------------------------------------------------------------------------------


def test_la_page_des_documents_de_l_editeur(client, editeur, signe):
    response = connecte(client, editeur).get(reverse("espace:documents", args=[signe.reference]))
    assert response.status_code == 200
    page = texte(response)
    assert "<h1>Documents du contrat CLS-2024-D05</h1>" in page
    assert "Convention signée, figée" in page and signe.empreinte_document in page
    assert formulaires(response).operations == ["scan"]
    assert "scan-scan_signe" in formulaires(response).champs


@pytest.mark.parametrize("persona", ["lecteur", "collectivite"])
def test_un_lecteur_voit_les_documents_sans_les_boutons_de_signature(client, lecteur, signe, persona):
    user = lecteur if persona == "lecteur" else UserFactory(organisation=OrganisationFactory(de_collectivite=True))
    response = connecte(client, user).get(reverse("espace:documents", args=[signe.reference]))
    assert response.status_code == 200
    assert formulaires(response).operations == []
    assert signe.empreinte_document in texte(response)


def test_hors_perimetre_404_et_partenaire_403(client, autre_territoire, partenaire, signe):
    FicheActionFactory(contrat=signe, code="A1-02", porteur=partenaire.organisation)
    for user, code in ((autre_territoire, 404), (partenaire, 403)):
        connecte(client, user)
        for url in (
            reverse("espace:documents", args=[signe.reference]),
            reverse("espace:convention_pdf", args=[signe.reference]),
        ):
            assert client.get(url).status_code == code, (user, url)
    assert client.get(reverse("espace:fiche_pdf", args=[signe.reference, "A1-02"])).status_code == 200


def test_figer_a_la_main_un_contrat_signe_avant(client, editeur, lecteur, rendus, django_capture_on_commit_callbacks):
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", signe=True)
    url = reverse("espace:documents", args=[contrat.reference])
    page = connecte(client, lecteur).get(url)
    assert "document pas encore figé" in texte(page) and formulaires(page).operations == []
    assert client.post(url, {"operation": "figer"}).status_code == 403
    assert not DocumentEmis.objects.exists()

    connecte(client, editeur)
    assert formulaires(client.get(url)).operations == ["figer", "scan"]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, {"operation": "figer"}).status_code == 302
    contrat.refresh_from_db()
    assert (
        contrat.document_signe
        and empreinte(corps(client.get(reverse("espace:convention_pdf", args=[contrat.reference]))))
        == contrat.empreinte_document
    )
    response = client.post(url, {"operation": "figer"}, follow=True)
    assert "déjà figé" in response.content.decode()
    assert client.post(url, {"operation": "inconnue"}).status_code == 404


# --- The scan of the signed paper -----------------------------------------------------------------------------------


def _scan(nom="scan.pdf", contenu=b"%PDF-1.4\n% scan\n%%EOF\n"):
    fichier = io.BytesIO(contenu)
    fichier.name = nom
    return fichier


def _post_scan(client, contrat, fichier, version=None):
    return client.post(
        reverse("espace:documents", args=[contrat.reference]),
        {
            "operation": "scan",
            "scan-scan_signe": fichier,
            "scan-pacte_version": contrat.version if version is None else version,
            "scan-pacte_fige": "1",
        },
    )


def test_le_scan_signe_se_joint_a_cote_du_document_fige(client, editeur, signe):
    connecte(client, editeur)
    response = _post_scan(client, signe, _scan())
    assert response.status_code == 302
    contrat = Contrat.objects.get(pk=signe.pk)
    assert contrat.scan_signe and contrat.document_signe.name == signe.document_signe.name
    assert contrat.empreinte_document == signe.empreinte_document, "le scan ne remplace pas le document figé"
    scan = client.get(reverse("espace:convention_pdf", args=[signe.reference]) + "?exemplaire=scan")
    assert corps(scan) == b"%PDF-1.4\n% scan\n%%EOF\n"
    assert contrat.history.first().history_user == editeur


@pytest.mark.parametrize(
    "fichier, message",
    [
        (lambda: _scan("scan.txt", b"pas un pdf"), "Le scan doit être un fichier PDF (.pdf)."),
        (lambda: _scan("scan.pdf", b"GIF89a..."), "Le scan doit être un fichier PDF (.pdf)."),
        (lambda: _scan("scan.pdf", b"%PDF-" + b"0" * (1024 * 1024)), "Mo : 1 Mo au plus."),
    ],
)
def test_un_scan_refuse_le_dit_en_francais_et_rien_ne_change(client, editeur, signe, settings, fichier, message):
    settings.PACTE_DOCUMENT_TAILLE_MAX_MO = 1
    connecte(client, editeur)
    response = _post_scan(client, signe, fichier())
    assert response.status_code == 200
    assert message in response.content.decode()
    contrat = Contrat.objects.get(pk=signe.pk)
    assert not contrat.scan_signe and contrat.version == signe.version


def test_un_scan_sur_une_page_perimee_est_refuse(client, editeur, signe):
    connecte(client, editeur)
    response = _post_scan(client, signe, _scan(), version=signe.version - 1)
    assert response.status_code == 200
    assert "pendant votre saisie" in response.content.decode()
    assert not Contrat.objects.get(pk=signe.pk).scan_signe


def test_le_scan_est_refuse_a_qui_ne_signe_pas(client, lecteur, signe):
    connecte(client, lecteur)
    assert _post_scan(client, signe, _scan()).status_code == 403
    assert not Contrat.objects.get(pk=signe.pk).scan_signe


def test_le_scan_d_un_avenant_signe(client, prefecture, signe):
    avenant = AvenantFactory(contrat=signe, numero=1, statut=StatutAvenant.SIGNE, date_signature=date(2024, 6, 1))
    connecte(client, prefecture)
    page = client.get(reverse("espace:documents", args=[signe.reference]))
    assert formulaires(page).operations == ["scan", "figer_avenant", "scan_avenant"]
    response = client.post(
        reverse("espace:documents", args=[signe.reference]),
        {
            "operation": "scan_avenant",
            "numero": 1,
            "scan_avenant-scan_signe": _scan(),
            "scan_avenant-pacte_version": avenant.version,
            "scan_avenant-pacte_fige": "1",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("#avenant-1")
    url = reverse("espace:avenant_pdf", args=[signe.reference, 1]) + "?exemplaire=scan"
    assert corps(client.get(url)) == b"%PDF-1.4\n% scan\n%%EOF\n"


# --- Public verification --------------------------------------------------------------------------------------------


def _verifier(client, contenu: bytes, nom: str = "document.pdf"):
    fichier = io.BytesIO(contenu)
    fichier.name = nom
    return client.post(reverse("espace:verification"), {"document": fichier})


def test_la_verification_est_publique(client):
    response = client.get(reverse("espace:verification"))
    assert response.status_code == 200
    assert "<h1>Vérifier un document</h1>" in texte(response)
    assert "document" in formulaires(response).champs


def test_un_document_fige_est_reconnu_intact(client, signe):
    response = _verifier(client, lu(signe.document_signe))
    page = texte(response)
    assert "Document intact, émis par la plateforme" in page
    assert "CLS-2024-D05 – Contrat local des solidarités" in page
    assert "Document signé, figé à la signature" in page
    assert "sceau de la plateforme valide" in page


def test_un_octet_change_et_la_page_dit_altere(client, signe):
    data = bytearray(lu(signe.document_signe))
    data[len(data) // 3] ^= 0x01
    page = texte(_verifier(client, bytes(data)))
    assert "Document altéré" in page and "Document intact" not in page


def test_un_pdf_valide_inconnu_n_a_pas_ete_emis_ici(client):
    page = texte(_verifier(client, page_factice("Un PDF d'ailleurs")))
    assert "Document non émis par la plateforme" in page and "aucun sceau de la plateforme" in page


@pytest.mark.parametrize(
    "contenu, nom, message",
    [
        (b"Bonjour", "lettre.pdf", "Ce fichier n&#x27;est pas un PDF"),
        (b"\x89PNG\r\n", "image.png", "Ce fichier n&#x27;est pas un PDF"),
        (b"", "vide.pdf", "Le fichier est vide."),
    ],
)
def test_un_fichier_qui_n_est_pas_un_pdf_recoit_une_erreur_francaise(client, contenu, nom, message):
    response = _verifier(client, contenu, nom)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_un_envoi_sans_fichier_le_dit(client):
    response = client.post(reverse("espace:verification"), {})
    assert response.status_code == 200 and "Choisissez le fichier PDF à vérifier." in texte(response)


def test_un_fichier_trop_gros_est_refuse(client, settings):
    settings.PACTE_DOCUMENT_TAILLE_MAX_MO = 1
    response = _verifier(client, b"%PDF-" + b"0" * (1024 * 1024))
    assert "Le fichier dépasse 1 Mo" in response.content.decode()


def test_la_verification_demande_le_jeton_csrf(signe):
    client = Client(enforce_csrf_checks=True)
    assert _verifier(client, lu(signe.document_signe)).status_code == 403


# --- Batch prints ---------------------------------------------------------------------------------------------------


def test_la_ddets_imprime_son_departement(client, lecteur, signe, django_capture_on_commit_callbacks):
    ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")
    connecte(client, lecteur)
    page = client.get(reverse("espace:impressions"))
    assert page.status_code == 200
    assert '<option value="departement:05">05 – Hautes-Alpes</option>' in page.content.decode()
    assert "region:" not in page.content.decode()
    assert "Vous n'avez demandé aucune impression." in texte(page)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("espace:impressions"), {"territoire": "departement:05"})
    impression = Impression.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("espace:impression", args=[impression.uid])
    detail = client.get(response["Location"])
    assert "1 convention prête sur 1" in texte(detail)
    assert formulaires(detail).hx == []
    archive = zipfile.ZipFile(io.BytesIO(corps(client.get(response["Location"] + "?telecharger=1"))))
    assert archive.namelist() == ["CLS-2024-D05-signee.pdf", "LISEZMOI.txt"]
    liste = client.get(reverse("espace:impressions"))
    assert "Hautes-Alpes (05)" in texte(liste) and "1 sur 1" in texte(liste)


def test_l_impression_d_un_autre_agent_repond_404(client, editeur, signe, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        connecte(client, editeur).post(reverse("espace:impressions"), {"territoire": "departement:05"})
    impression = Impression.objects.get()
    url = reverse("espace:impression", args=[impression.uid])
    assert client.get(url).status_code == 200
    collegue = UserFactory(organisation=editeur.organisation)
    connecte(client, collegue)
    assert client.get(url).status_code == 404
    assert client.get(url + "?telecharger=1").status_code == 404


def test_une_impression_en_cours_se_suit(client, prefecture, signe, django_capture_on_commit_callbacks):
    connecte(client, prefecture)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("espace:impressions"), {"territoire": "departement:05"})
    page = client.get(response["Location"])
    (polling,) = formulaires(page).hx
    assert polling["hx-trigger"] == "every 2s" and polling["hx-get"].endswith("?fragment=progression")
    assert "0 convention prête sur 1" in texte(page) and "Actualiser" in texte(page)
    assert client.get(response["Location"] + "?telecharger=1").status_code == 404
    callbacks[0]()
    fragment = client.get(polling["hx-get"], HTTP_HX_REQUEST="true")
    assert formulaires(fragment).hx == [] and "Télécharger l'archive" in fragment.content.decode()


def test_un_territoire_hors_perimetre_est_refuse(client, editeur, signe):
    response = connecte(client, editeur).post(reverse("espace:impressions"), {"territoire": "departement:69"})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in response.content.decode()
    assert not Impression.objects.exists()


def test_la_dreets_choisit_sa_region_ou_un_de_ses_departements(client):
    dreets = UserFactory(organisation=OrganisationFactory(dreets=True, region=region("93")))
    page = connecte(client, dreets).get(reverse("espace:impressions")).content.decode()
    assert '<option value="region:93">' in page and 'value="departement:05"' in page
    assert 'value="departement:69"' not in page and 'value="region:84"' not in page


@pytest.mark.parametrize("type_organisation", [TypeOrganisation.COLLECTIVITE, TypeOrganisation.PARTENAIRE])
def test_les_impressions_sont_pour_les_services_de_l_etat(client, type_organisation):
    organisation = (
        OrganisationFactory(de_collectivite=True)
        if type_organisation == TypeOrganisation.COLLECTIVITE
        else OrganisationFactory()
    )
    connecte(client, UserFactory(organisation=organisation, role=Role.EDITEUR))
    assert client.get(reverse("espace:impressions")).status_code == 403
    assert client.post(reverse("espace:impressions"), {"territoire": "departement:05"}).status_code == 403
    assert not Impression.objects.exists()


# --- Query budgets: the same number of queries with 3 and 30 rows ---------------------------------------------------


def _documents(contrat, n: int) -> None:
    """``n`` avenants (signed or abandoned) each with a draft, ``n`` failed drafts of the convention, reports."""
    for i in range(n):
        signe = i % 2 == 0
        avenant = AvenantFactory(
            contrat=contrat,
            numero=i + 1,
            statut=StatutAvenant.SIGNE if signe else StatutAvenant.ABANDONNE,
            date_signature=date(2024, 6, 1) if signe else None,
        )
        DocumentEmis.objects.create(
            nature=NatureDocument.AVENANT,
            contrat=contrat,
            avenant=avenant,
            objet=f"Avenant n° {avenant.numero}",
            version_contrat=1,
            statut=StatutTache.PRET,
            empreinte=f"{i:064x}",
            taille=1000,
        )
        DocumentEmis.objects.create(
            nature=NatureDocument.CONVENTION,
            contrat=contrat,
            objet="Convention",
            version_contrat=1,
            statut=StatutTache.ECHEC,
            erreur="Échec de test.",
        )
        if signe:
            DocumentEmis.objects.create(
                nature=NatureDocument.AVENANT,
                contrat=contrat,
                avenant=avenant,
                objet=f"Avenant n° {avenant.numero}",
                signe=True,
                version_contrat=1,
                statut=StatutTache.ECHEC,
                erreur="Certificat absent.",
            )
    for annee in range(2024, 2024 + min(n, 4)):
        RapportAnnuel.objects.create(
            contrat=contrat, annee=annee, statut=StatutRapport.BROUILLON, date_limite=date(annee + 1, 3, 31)
        )


@pytest.mark.parametrize("n", [3, 30])
def test_budget_de_la_page_des_documents(client, editeur, signe, django_assert_max_num_queries, n):
    _documents(signe, n)
    connecte(client, editeur)
    url = reverse("espace:documents", args=[signe.reference])
    client.get(url)  # the session and the user's perimeter, as on any page
    with django_assert_max_num_queries(BUDGET_DOCUMENTS):
        response = client.get(url)
    page = texte(response)
    assert response.status_code == 200 and f"Avenant n° {n}" in page
    assert page.count("La préparation de son document signé a échoué : Certificat absent.") == (n + 1) // 2


@pytest.mark.parametrize("n", [3, 30])
def test_budget_de_la_page_des_impressions(client, editeur, signe, django_assert_max_num_queries, n):
    for _ in range(n):
        Impression.objects.create(
            demande_par=editeur, departement=departement("05"), statut=StatutTache.PRET, total=2, fait=2
        )
    connecte(client, editeur)
    url = reverse("espace:impressions")
    with django_assert_max_num_queries(BUDGET_IMPRESSIONS):
        response = client.get(url)
    assert response.status_code == 200 and response.content.decode().count("Hautes-Alpes (05)</a>") == min(n, 20)


def test_budget_d_une_impression_et_de_la_verification(client, editeur, django_assert_max_num_queries):
    impression = Impression.objects.create(demande_par=editeur, departement=departement("05"), total=3, fait=1)
    connecte(client, editeur)
    with django_assert_max_num_queries(BUDGET_IMPRESSION):
        assert client.get(reverse("espace:impression", args=[impression.uid])).status_code == 200
    client.logout()
    with django_assert_max_num_queries(BUDGET_VERIFICATION):
        assert client.get(reverse("espace:verification")).status_code == 200


# Measured (SQLite and PostgreSQL alike), the layout's header included (the user's organisation, its département and
# collectivités, the DSFR settings) and the request's SAVEPOINT/RELEASE (ATOMIC_REQUESTS).
BUDGET_DOCUMENTS = 14  # contract, drafts, freezes, can_sign's perimeter check, avenants, reports
BUDGET_IMPRESSIONS = 10  # the perimeter's départements and régions, the agent's prints
BUDGET_IMPRESSION = 8
BUDGET_VERIFICATION = 3  # anonymous: the DSFR settings only


# --- Hostile input: never a 500, nothing written ---------------------------------------------------------------------

HOSTILES = ["", " ", "departement:", "region:", "departement:05\x00", "departement:٠٥", "x" * 5000, "<script>", "☃"]


@pytest.mark.parametrize("valeur", HOSTILES)
def test_des_territoires_hostiles_sont_refuses_en_francais(client, editeur, signe, valeur):
    response = connecte(client, editeur).post(reverse("espace:impressions"), {"territoire": valeur})
    assert response.status_code == 200
    assert "Sélectionnez un choix valide" in texte(response) or "Ce champ est obligatoire." in texte(response)
    assert not Impression.objects.exists()


@pytest.mark.parametrize(
    "donnees",
    [
        {"operation": "projet_avenant", "numero": "un"},
        {"operation": "projet_avenant", "numero": "1\x00"},
        {"operation": "projet_avenant"},
        {"operation": "figer_avenant", "numero": "99999999999999999999"},
        {"operation": "<script>"},
        {},
    ],
)
def test_des_operations_hostiles_sur_la_page_des_documents(client, editeur, signe, donnees):
    response = connecte(client, editeur).post(reverse("espace:documents", args=[signe.reference]), donnees)
    assert response.status_code == 404
    assert DocumentEmis.objects.count() == 1  # the signed convention's freeze, nothing more


def test_un_scan_d_avenant_refuse_s_affiche_a_cote_de_son_avenant(client, prefecture, signe):
    avenant = AvenantFactory(contrat=signe, numero=1, statut=StatutAvenant.SIGNE, date_signature=date(2024, 6, 1))
    response = connecte(client, prefecture).post(
        reverse("espace:documents", args=[signe.reference]),
        {
            "operation": "scan_avenant",
            "numero": 1,
            "scan_avenant-scan_signe": _scan("scan.pdf", b"pas un pdf"),
            "scan_avenant-pacte_version": avenant.version,
            "scan_avenant-pacte_fige": "1",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("Le scan doit être un fichier PDF (.pdf).") == 1
    assert page.index("Le scan doit être un fichier PDF") > page.index('id="avenant-1"')
    avenant.refresh_from_db()
    assert not avenant.scan_signe


@pytest.mark.parametrize("nom", ["../../etc/passwd.pdf", "a" * 300 + ".pdf", "doc\x00.pdf", "📄.pdf"])
def test_des_noms_de_fichier_hostiles_a_la_verification(client, signe, nom):
    response = _verifier(client, lu(signe.document_signe), nom)
    assert response.status_code == 200
    assert "Document intact, émis par la plateforme" in texte(response)
