"""Background work: the signed document frozen at signature, drafts, batch prints (financement/tasks.py, services).

The documents are rendered by stand-ins here (a one-page PDF naming the contract, made by WeasyPrint): what is tested
is what happens around the rendering — once, sealed, hashed, stored, never regenerated, progress counted, perimeter
kept. One test renders the real convention (financement.documents) end to end. The tests run tasks with the immediate
backend (pacte/settings_test.py) when the transaction commits (``django_capture_on_commit_callbacks(execute=True)``);
one test enqueues on the database backend and runs ``manage.py db_worker --batch``.
"""

from __future__ import annotations

import io
import zipfile
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
import weasyprint
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from contrats.enums import PartieSignataire, StatutAvenant, StatutContrat
from contrats.models import Avenant, Contrat
from contrats.services import avenant_sign, avenant_transition, contrat_sign
from financement import documents
from financement.enums import TypeFinanceur
from financement.models import DocumentEmis, Impression, NatureDocument, StatutTache
from financement.sceau import controler_sceau, empreinte
from financement.services import (
    avenant_propose_plafond,
    document_projet_demander,
    document_signe_figer,
    impression_demander,
    ligne_financement_set,
)
from financement.tasks import produire_document
from pacte import hooks
from pacte.enums import Role
from tests.factories import (
    AvenantFactory,
    ContratFactory,
    FicheActionFactory,
    LigneFinancementFactory,
    OrganisationFactory,
    PlafondFactory,
    SignataireFactory,
    UserFactory,
    collectivite,
    departement,
    region,
)

SIGNE_LE = date(2024, 3, 15)

_PAGES: dict[str, bytes] = {}


def page_factice(texte: str) -> bytes:
    """A one-page PDF that says ``texte`` (made once per text: WeasyPrint takes a tenth of a second)."""
    if texte not in _PAGES:
        _PAGES[texte] = weasyprint.HTML(string=f"<h1>{texte}</h1>").write_pdf()
    return _PAGES[texte]


def installer_rendus(monkeypatch) -> list:
    """Stand-ins for financement.documents: each call is recorded (what, and for a batch print how far it was)."""
    appels = []

    def rendu(nature):
        def render(obj):
            contrat = getattr(obj, "contrat", obj)
            impression = Impression.objects.order_by("-pk").values_list("fait", flat=True).first()
            appels.append(SimpleNamespace(nature=nature, reference=contrat.reference, fait=impression))
            projet = "" if contrat.est_fige else " PROJET"
            return page_factice(f"{nature} {contrat.reference}{projet}")

        return render

    for nature in ("convention", "avenant", "fiche", "rapport"):
        monkeypatch.setattr(documents, f"{nature}_pdf", rendu(nature), raising=False)
    return appels


@pytest.fixture
def rendus(monkeypatch):
    return installer_rendus(monkeypatch)


def contrat_pret(reference: str = "CLS-2024-D05", code: str = "D05") -> Contrat:
    """A CLS ready for signature: one validated fiche at parity in 2024, a ceiling, both signatories."""
    contrat = ContratFactory(collectivite=collectivite(code), reference=reference, statut=StatutContrat.PRET_SIGNATURE)
    fiche = FicheActionFactory(contrat=contrat, code="A1-01", intitule="Bus des familles", validee=True)
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("10000.00"))
    LigneFinancementFactory(fiche=fiche, type_financeur=TypeFinanceur.COLLECTIVITE, prevu=Decimal("10000.00"))
    PlafondFactory(contrat=contrat)
    SignataireFactory(contrat=contrat, date_signature=date(2024, 3, 1))
    SignataireFactory(
        contrat=contrat, partie=PartieSignataire.COLLECTIVITE, nom="B. Présidente", date_signature=SIGNE_LE
    )
    return contrat


def signer(contrat: Contrat, capture, by=None) -> Contrat:
    """Signs, then runs what the commit sets off (the freeze task, immediately)."""
    with capture(execute=True):
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE, by=by)
    return Contrat.objects.get(pk=contrat.pk)


def lu(fichier) -> bytes:
    with fichier.open("rb") as handle:
        return handle.read()


pytestmark = pytest.mark.django_db


# --- The signature freezes the convention ---------------------------------------------------------------------------


def test_la_signature_fige_la_convention_une_fois_scellee_et_hachee(rendus, django_capture_on_commit_callbacks):
    contrat = signer(contrat_pret(), django_capture_on_commit_callbacks)

    assert contrat.statut == StatutContrat.SIGNE
    assert contrat.document_signe, "la convention signée est enregistrée dans Contrat.document_signe"
    stocke = lu(contrat.document_signe)
    assert empreinte(stocke) == contrat.empreinte_document
    assert controler_sceau(stocke).valide
    (document,) = DocumentEmis.objects.filter(contrat=contrat)
    assert (document.nature, document.signe, document.statut) == (NatureDocument.CONVENTION, True, StatutTache.PRET)
    assert document.empreinte == contrat.empreinte_document and document.taille == len(stocke)
    assert document.fichier.name == contrat.document_signe.name
    assert [(a.nature, a.reference) for a in rendus] == [("convention", "CLS-2024-D05")]
    assert "PROJET" not in str(rendus), "rendue après la signature : sans la mention PROJET"


def test_la_production_attend_le_commit_de_la_signature(rendus, django_capture_on_commit_callbacks):
    contrat = contrat_pret()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
    assert len(callbacks) == 1
    document = DocumentEmis.objects.get(contrat=contrat)
    assert document.statut == StatutTache.EN_ATTENTE and not rendus
    assert not Contrat.objects.get(pk=contrat.pk).document_signe
    callbacks[0]()
    assert Contrat.objects.get(pk=contrat.pk).empreinte_document == DocumentEmis.objects.get(pk=document.pk).empreinte


def test_une_signature_annulee_ne_produit_rien(rendus, django_capture_on_commit_callbacks):
    contrat = contrat_pret()
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
        raise RuntimeError("la transaction de la signature échoue après coup")
    assert callbacks == [] and rendus == []
    assert not DocumentEmis.objects.exists()
    assert Contrat.objects.get(pk=contrat.pk).statut == StatutContrat.PRET_SIGNATURE


def test_sans_la_suite_de_signature_rien_n_est_signe(rendus, monkeypatch):
    """Fail closed: the freeze is named in contrats.services.APRES_SIGNATURE; without it, no signature."""
    monkeypatch.setitem(hooks._handlers, hooks.CONTRAT_SIGNE, [])
    contrat = contrat_pret()
    with pytest.raises(ImproperlyConfigured, match="financement.checks.figer_convention_signee"):
        contrat_sign(contrat=contrat, signed_on=SIGNE_LE)
    assert Contrat.objects.get(pk=contrat.pk).statut == StatutContrat.PRET_SIGNATURE


def test_le_document_signe_n_est_jamais_regenere(rendus, django_capture_on_commit_callbacks):
    contrat = signer(contrat_pret(), django_capture_on_commit_callbacks)
    avant = lu(contrat.document_signe)
    document = DocumentEmis.objects.get(contrat=contrat)

    produire_document.enqueue(str(document.uid))  # the task run twice: the row is done, nothing is made again
    with pytest.raises(ValidationError, match="déjà figé"):
        document_signe_figer(contrat=contrat)
    with pytest.raises(ValidationError, match="est signé : sa convention est le document signé figé"):
        document_projet_demander(contrat=contrat)

    apres = Contrat.objects.get(pk=contrat.pk)
    assert lu(apres.document_signe) == avant and apres.document_signe.name == contrat.document_signe.name
    assert len(rendus) == 1 and DocumentEmis.objects.count() == 1


def test_apres_la_signature_un_montant_est_refuse_et_le_document_reste(rendus, django_capture_on_commit_callbacks):
    contrat = signer(contrat_pret(), django_capture_on_commit_callbacks)
    avant = lu(contrat.document_signe)
    fiche = contrat.fiches.get()
    with pytest.raises(ValidationError, match="ne changent plus que par un avenant"):
        ligne_financement_set(fiche=fiche, annee=2024, type_financeur=TypeFinanceur.ETAT, prevu=Decimal("9000"))
    apres = Contrat.objects.get(pk=contrat.pk)
    assert lu(apres.document_signe) == avant
    assert empreinte(avant) == apres.empreinte_document


def test_sans_certificat_la_signature_passe_et_le_document_se_produit_ensuite(
    rendus, django_capture_on_commit_callbacks, settings, tmp_path
):
    certificat = settings.PACTE_SCEAU_CERTIFICAT
    settings.PACTE_SCEAU_CERTIFICAT = tmp_path / "absent.pem"
    contrat = signer(contrat_pret(), django_capture_on_commit_callbacks)

    assert contrat.statut == StatutContrat.SIGNE and not contrat.document_signe
    echec = DocumentEmis.objects.get(contrat=contrat)
    assert echec.statut == StatutTache.ECHEC
    assert "Le certificat du sceau est introuvable" in echec.erreur and not echec.fichier

    settings.PACTE_SCEAU_CERTIFICAT = certificat
    with django_capture_on_commit_callbacks(execute=True):
        nouveau = document_signe_figer(contrat=contrat)
    assert nouveau.pk != echec.pk
    contrat.refresh_from_db()
    assert contrat.document_signe and contrat.empreinte_document == DocumentEmis.objects.get(pk=nouveau.pk).empreinte


def test_figer_un_contrat_non_signe_est_refuse(rendus):
    with pytest.raises(ValidationError, match="n'est pas signé : sa convention n'est pas figée"):
        document_signe_figer(contrat=contrat_pret())
    assert not DocumentEmis.objects.exists()


def test_la_signature_d_un_avenant_fige_l_avenant(rendus, django_capture_on_commit_callbacks):
    contrat = signer(contrat_pret(), django_capture_on_commit_callbacks)
    avenant = AvenantFactory(contrat=contrat, numero=1)
    avenant_propose_plafond(avenant=avenant, annee=2024, montant="60000")
    avenant_transition(avenant=avenant, to=StatutAvenant.PRET_SIGNATURE)
    with django_capture_on_commit_callbacks(execute=True):
        avenant_sign(avenant=avenant, signed_on=SIGNE_LE, signataire_etat="Le préfet", signataire_collectivite="La PCD")
    avenant = Avenant.objects.get(pk=avenant.pk)
    assert avenant.document_signe and empreinte(lu(avenant.document_signe)) == avenant.empreinte_document
    document = DocumentEmis.objects.get(avenant=avenant)
    assert (document.nature, document.signe, document.objet) == (NatureDocument.AVENANT, True, "Avenant n° 1")
    assert [a.nature for a in rendus] == ["convention", "avenant"]
    with pytest.raises(ValidationError, match="déjà figé"):
        document_signe_figer(avenant=avenant)


def test_un_projet_a_la_fois_et_seulement_avant_la_signature(rendus, django_capture_on_commit_callbacks):
    contrat = contrat_pret()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        premier = document_projet_demander(contrat=contrat)
        second = document_projet_demander(contrat=contrat)
    assert premier.pk == second.pk and len(callbacks) == 1
    callbacks[0]()
    premier.refresh_from_db()
    assert premier.statut == StatutTache.PRET and not premier.signe
    assert controler_sceau(lu(premier.fichier)).valide
    assert rendus[-1].reference == contrat.reference
    with django_capture_on_commit_callbacks(execute=True):
        troisieme = document_projet_demander(contrat=contrat)
    assert troisieme.pk != premier.pk, "le premier est prêt : un nouveau projet se prépare"


def test_un_rendu_qui_echoue_est_note_sur_le_document(monkeypatch, django_capture_on_commit_callbacks):
    def casse(contrat):
        raise ValueError("gabarit introuvable")

    monkeypatch.setattr(documents, "convention_pdf", casse)
    with django_capture_on_commit_callbacks(execute=True):
        document = document_projet_demander(contrat=contrat_pret())
    document.refresh_from_db()
    assert document.statut == StatutTache.ECHEC
    assert document.erreur == "La génération a échoué (ValueError : gabarit introuvable)."
    assert document.termine_le is not None and not document.fichier


def test_la_vraie_convention_est_figee_a_la_signature(django_capture_on_commit_callbacks):
    """End to end with financement.documents: the real convention, sealed, its hash recorded."""
    contrat = signer(contrat_pret(), django_capture_on_commit_callbacks)
    stocke = lu(contrat.document_signe)
    assert stocke.startswith(b"%PDF-") and empreinte(stocke) == contrat.empreinte_document
    assert controler_sceau(stocke).valide
    assert DocumentEmis.objects.get(contrat=contrat).statut == StatutTache.PRET


# --- The database backend and its worker ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_la_tache_passe_par_la_base_et_le_worker(rendus):
    """The production path: the task is a row of the database, ``manage.py db_worker`` runs it."""
    contrat = contrat_pret()
    document = DocumentEmis.objects.create(
        nature=NatureDocument.CONVENTION,
        contrat=contrat,
        objet="Convention CLS-2024-D05",
        version_contrat=contrat.version,
    )
    resultat = produire_document.using(backend="database").enqueue(str(document.uid))
    tache = DBTaskResult.objects.get(pk=resultat.id)
    assert tache.status == "READY" and tache.task_path == "financement.tasks.produire_document"
    assert DocumentEmis.objects.get(pk=document.pk).statut == StatutTache.EN_ATTENTE

    call_command("db_worker", "--batch", "--backend", "database", "--no-startup-delay", "--no-reload", verbosity=0)

    tache.refresh_from_db()
    document.refresh_from_db()
    assert tache.status == "SUCCESSFUL" and tache.return_value == document.empreinte
    assert document.statut == StatutTache.PRET and controler_sceau(lu(document.fichier)).valide


# --- Batch prints ---------------------------------------------------------------------------------------------------


@pytest.fixture
def territoires(rendus, django_capture_on_commit_callbacks):
    """In the Hautes-Alpes a signed CLS (frozen) and a CDIE in negotiation; in the Rhône a CLS (outside 05)."""
    signe = signer(contrat_pret("CLS-2024-D05", "D05"), django_capture_on_commit_callbacks)
    brouillon = ContratFactory(collectivite=collectivite("D05"), reference="CDIE-2024-D05", cdie=True)
    rhone = ContratFactory(collectivite=collectivite("D69"), reference="CLS-2024-D69")
    rendus.clear()
    return SimpleNamespace(signe=signe, brouillon=brouillon, rhone=rhone)


def _zip(impression: Impression) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(lu(impression.fichier)))


def test_l_impression_d_un_departement_reunit_ses_conventions_et_rien_d_autre(
    territoires, rendus, django_capture_on_commit_callbacks
):
    agent = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")), role=Role.LECTEUR)
    with django_capture_on_commit_callbacks(execute=True):
        impression = impression_demander(by=agent, departement=departement("05"))
    impression.refresh_from_db()

    assert (impression.statut, impression.fait, impression.total) == (StatutTache.PRET, 2, 2)
    archive = _zip(impression)
    assert archive.namelist() == ["CDIE-2024-D05-projet.pdf", "CLS-2024-D05-signee.pdf", "LISEZMOI.txt"]
    signee = archive.read("CLS-2024-D05-signee.pdf")
    assert signee == lu(territoires.signe.document_signe), "la convention signée est le fichier figé, pas un rendu"
    projet = archive.read("CDIE-2024-D05-projet.pdf")
    assert controler_sceau(projet).valide
    assert DocumentEmis.objects.get(impression=impression).empreinte == empreinte(projet)
    lisezmoi = archive.read("LISEZMOI.txt").decode()
    assert f"CLS-2024-D05-signee.pdf\tdocument signé figé\t{territoires.signe.empreinte_document}" in lisezmoi
    assert f"CDIE-2024-D05-projet.pdf\tprojet\t{empreinte(projet)}" in lisezmoi
    assert "D69" not in lisezmoi
    # Only the draft was rendered (the signed one is its frozen file), first: nothing was counted yet.
    assert [(a.reference, a.fait) for a in rendus] == [("CDIE-2024-D05", 0)]


def test_la_progression_compte_chaque_convention(rendus, django_capture_on_commit_callbacks):
    for n in range(3):
        ContratFactory(collectivite=collectivite("D05"), reference=f"CLS-2024-D05-{n}")
    agent = UserFactory(organisation=OrganisationFactory(prefecture=True, departement=departement("05")))
    with django_capture_on_commit_callbacks(execute=True):
        impression = impression_demander(by=agent, departement=departement("05"))
    assert [a.fait for a in rendus] == [0, 1, 2]
    impression.refresh_from_db()
    assert (impression.fait, impression.total, impression.pourcentage) == (3, 3, 100)


def test_l_impression_d_une_region_par_la_dreets(territoires, django_capture_on_commit_callbacks):
    dreets = UserFactory(organisation=OrganisationFactory(dreets=True, region=region("93")))
    with django_capture_on_commit_callbacks(execute=True):
        impression = impression_demander(by=dreets, region=region("93"))
    impression.refresh_from_db()
    noms = _zip(impression).namelist()
    assert "CLS-2024-D05-signee.pdf" in noms and "CDIE-2024-D05-projet.pdf" in noms
    assert not [n for n in noms if "D69" in n]
    with pytest.raises(ValidationError, match="pas dans votre périmètre"):
        impression_demander(by=dreets, region=region("84"))


@pytest.mark.parametrize(
    "organisation, territoire, message",
    [
        (lambda: OrganisationFactory(ddets=True, departement=departement("05")), ("departement", "69"), "périmètre"),
        (lambda: OrganisationFactory(ddets=True, departement=departement("05")), ("region", "93"), "périmètre"),
        (lambda: OrganisationFactory(de_collectivite=True), ("departement", "05"), "périmètre"),
        (lambda: OrganisationFactory(ddets=True, departement=departement("04")), ("departement", "04"), "Aucune"),
    ],
)
def test_l_impression_hors_perimetre_ou_vide_est_refusee(territoires, organisation, territoire, message):
    agent = UserFactory(organisation=organisation())
    genre, code = territoire
    choix = {"departement": departement(code)} if genre == "departement" else {"region": region(code)}
    with pytest.raises(ValidationError, match=message):
        impression_demander(by=agent, **choix)
    assert not Impression.objects.exists()


def test_une_impression_a_la_fois_par_agent(territoires, django_capture_on_commit_callbacks):
    agent = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")))
    with django_capture_on_commit_callbacks(execute=False):
        impression_demander(by=agent, departement=departement("05"))
        with pytest.raises(ValidationError, match="déjà en préparation"):
            impression_demander(by=agent, departement=departement("05"))
    assert Impression.objects.count() == 1


def test_une_impression_qui_echoue_le_dit(territoires, monkeypatch, django_capture_on_commit_callbacks):
    def casse(contrat):
        raise ValueError("police introuvable")

    monkeypatch.setattr(documents, "convention_pdf", casse)
    agent = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")))
    with django_capture_on_commit_callbacks(execute=True):
        impression = impression_demander(by=agent, departement=departement("05"))
    impression.refresh_from_db()
    assert impression.statut == StatutTache.ECHEC and not impression.fichier
    assert impression.erreur == "La génération a échoué (ValueError : police introuvable)."


def test_un_travail_sans_nouvelles_depuis_30_minutes_peut_etre_relance(rendus, django_capture_on_commit_callbacks):
    """A worker stopped in the middle leaves a job « en cours » for ever: after 30 minutes without news the pages
    stop following it and it may be asked for again; if its task runs after all, it does nothing."""
    contrat = contrat_pret()
    with django_capture_on_commit_callbacks(execute=False):
        perdu = document_projet_demander(contrat=contrat)
    DocumentEmis.objects.filter(pk=perdu.pk).update(cree_le=timezone.now() - timedelta(minutes=31))
    perdu.refresh_from_db()
    assert not perdu.en_cours

    with django_capture_on_commit_callbacks(execute=True):
        nouveau = document_projet_demander(contrat=contrat)
    perdu.refresh_from_db()
    nouveau.refresh_from_db()
    assert nouveau.pk != perdu.pk and nouveau.statut == StatutTache.PRET
    assert perdu.statut == StatutTache.ECHEC and "Sans nouvelles depuis plus de 30 minutes" in perdu.erreur
    produire_document.enqueue(str(perdu.uid))
    perdu.refresh_from_db()
    assert perdu.statut == StatutTache.ECHEC and not perdu.fichier and len(rendus) == 1


def test_une_impression_sans_nouvelles_n_empeche_pas_la_suivante(territoires, django_capture_on_commit_callbacks):
    agent = UserFactory(organisation=OrganisationFactory(ddets=True, departement=departement("05")))
    with django_capture_on_commit_callbacks(execute=False):
        perdue = impression_demander(by=agent, departement=departement("05"))
    Impression.objects.filter(pk=perdue.pk).update(
        statut=StatutTache.EN_COURS, nouvelles_le=timezone.now() - timedelta(minutes=31)
    )
    with django_capture_on_commit_callbacks(execute=True):
        suivante = impression_demander(by=agent, departement=departement("05"))
    perdue.refresh_from_db()
    suivante.refresh_from_db()
    assert perdue.statut == StatutTache.ECHEC and suivante.statut == StatutTache.PRET
