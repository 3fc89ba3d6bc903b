"""The electronic seal (financement/sceau.py) and the verification of a document against the registry.

The test settings create a certificate for the test run (pacte/settings_test.py, with a password on its key): the
seal is checked with pyHanko itself, trusting that certificate, and every altered byte must make the verification
say "altéré".
"""

from __future__ import annotations

import asyncio
import io
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import weasyprint
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from financement.models import DocumentEmis, NatureDocument, StatutTache
from financement.sceau import (
    Etat,
    SceauIndisponible,
    controler_sceau,
    empreinte,
    hors_boucle,
    sceller,
    verifier_document,
)
from pacte.management.commands.creer_certificat_demo import creer_certificat
from tests.factories import ContratFactory, collectivite


@pytest.fixture(scope="module")
def pdf():
    """A small PDF as WeasyPrint makes them (two pages, text, a font)."""
    html = "<h1>Convention de test</h1><p>Article 1 – Objet.</p><p style='page-break-before: always'>Page 2</p>"
    return weasyprint.HTML(string=html).write_pdf()


@pytest.fixture(scope="module")
def scelle(pdf):
    return sceller(pdf)


def _signatures(data: bytes):
    return PdfFileReader(io.BytesIO(data)).embedded_signatures


def test_le_sceau_se_valide_avec_pyhanko_et_le_certificat_configure(scelle, pdf):
    assert scelle.startswith(pdf[:8]) and len(scelle) > len(pdf)
    assert scelle[: len(pdf)] == pdf, "le sceau s'ajoute en mise à jour incrémentale : le PDF d'origine est intact"
    (signature,) = _signatures(scelle)
    racine = load_cert_from_pemder(str(settings.PACTE_SCEAU_CERTIFICAT))
    contexte = ValidationContext(trust_roots=[racine], allow_fetching=False)
    status = hors_boucle(validate_pdf_signature, signature, contexte)
    assert status.intact and status.valid and status.trusted
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    assert status.bottom_line
    assert signature.signer_cert.sha256 == racine.sha256
    assert signature.sig_field.get("/T") == "SceauPacte"


def test_sceller_et_controler_depuis_un_fil_ou_tourne_une_boucle_asyncio(pdf):
    """pyHanko runs its own event loop: called where one already runs (an ASGI server, a Playwright test earlier
    in the same worker), sealing and checking still work."""

    async def dans_la_boucle():
        scelle = sceller(pdf)
        return scelle, controler_sceau(scelle)

    # A thread of its own, where no loop runs yet (this test's thread may hold Playwright's).
    with ThreadPoolExecutor(max_workers=1) as executeur:
        scelle, controle = executeur.submit(asyncio.run, dans_la_boucle()).result()
    assert controle.valide and scelle[: len(pdf)] == pdf


def test_un_autre_certificat_n_est_pas_reconnu_comme_le_sceau(scelle, tmp_path, settings):
    """Trust comes from the configured certificate only: with another one configured, the same file is not sealed
    by the platform (its hash may still be in the registry)."""
    creer_certificat(certificat=tmp_path / "c.pem", cle=tmp_path / "k.pem")
    settings.PACTE_SCEAU_CERTIFICAT, settings.PACTE_SCEAU_CLE = tmp_path / "c.pem", tmp_path / "k.pem"
    settings.PACTE_SCEAU_MOT_DE_PASSE = ""
    controle = controler_sceau(scelle)
    assert controle.lisible and not controle.du_service and not controle.valide


def test_controle_d_un_pdf_sans_sceau(pdf):
    controle = controler_sceau(pdf)
    assert controle.lisible and not controle.du_service and not controle.valide


@pytest.mark.parametrize("reglage", ["PACTE_SCEAU_CERTIFICAT", "PACTE_SCEAU_CLE"])
def test_sans_certificat_ou_sans_cle_rien_n_est_scelle(pdf, settings, tmp_path, reglage):
    setattr(settings, reglage, tmp_path / "absent.pem")
    with pytest.raises(SceauIndisponible, match="introuvable .* aucun document n'est émis sans sceau"):
        sceller(pdf)


def test_un_mauvais_mot_de_passe_de_cle_est_dit_en_francais(pdf, settings):
    settings.PACTE_SCEAU_MOT_DE_PASSE = "pas-le-bon"
    with pytest.raises(SceauIndisponible, match="ne peut pas être lu .*PACTE_SCEAU_MOT_DE_PASSE"):
        sceller(pdf)


def test_creer_certificat_demo_ecrit_la_paire_et_ne_l_ecrase_pas(settings, tmp_path, pdf):
    settings.PACTE_SCEAU_CERTIFICAT = tmp_path / "sceau" / "certificat.pem"
    settings.PACTE_SCEAU_CLE = tmp_path / "sceau" / "cle.pem"
    settings.PACTE_SCEAU_MOT_DE_PASSE = "secret-demo"
    out = io.StringIO()
    call_command("creer_certificat_demo", stdout=out)
    assert "Certificat de démonstration créé" in out.getvalue()
    cle = Path(settings.PACTE_SCEAU_CLE)
    assert stat.S_IMODE(os.stat(cle).st_mode) == 0o600, "la clé privée n'est lisible que par son propriétaire"
    assert b"ENCRYPTED PRIVATE KEY" in cle.read_bytes()
    premier = Path(settings.PACTE_SCEAU_CERTIFICAT).read_bytes()
    assert controler_sceau(sceller(pdf)).valide

    out = io.StringIO()
    call_command("creer_certificat_demo", stdout=out)
    assert "existe déjà" in out.getvalue()
    assert Path(settings.PACTE_SCEAU_CERTIFICAT).read_bytes() == premier

    call_command("creer_certificat_demo", "--remplacer", stdout=io.StringIO())
    assert Path(settings.PACTE_SCEAU_CERTIFICAT).read_bytes() != premier


def test_pas_de_certificat_de_demo_en_production(settings):
    settings.PRODUCTION = True
    with pytest.raises(CommandError, match="Pas de certificat de démonstration en production"):
        call_command("creer_certificat_demo", stdout=io.StringIO())


# --- Verification against the registry ------------------------------------------------------------------------------


@pytest.fixture
def emis(db, scelle):
    """The sealed PDF, registered as the signed convention of a contract of the Hautes-Alpes."""
    contrat = ContratFactory(collectivite=collectivite("D05"), reference="CLS-2024-D05", signe=True)
    return DocumentEmis.objects.create(
        nature=NatureDocument.CONVENTION,
        contrat=contrat,
        objet="Convention CLS-2024-D05",
        signe=True,
        version_contrat=contrat.version,
        statut=StatutTache.PRET,
        empreinte=empreinte(scelle),
        taille=len(scelle),
    )


def test_un_document_emis_et_intact_est_reconnu(emis, scelle):
    verdict = verifier_document(scelle)
    assert verdict.etat == Etat.INTACT
    assert verdict.document == emis
    assert verdict.sceau.valide
    assert verdict.empreinte == emis.empreinte


def _change_un_octet(data: bytes, position: int) -> bytes:
    altere = bytearray(data)
    altere[position] = (altere[position] + 1) % 256 if altere[position] != ord("9") else ord("8")
    return bytes(altere)


@pytest.mark.parametrize("part", [0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99])
def test_un_octet_change_n_importe_ou_et_le_document_est_altere(emis, scelle, part):
    """One byte changed anywhere after the PDF header: never "intact", always "altéré" — in the content the seal
    covers, in its structure (the file may no longer read), in the signature itself or in its padding."""
    position = max(8, int(len(scelle) * part))
    verdict = verifier_document(_change_un_octet(scelle, position))
    assert verdict.etat == Etat.ALTERE, (position, verdict)
    assert verdict.document is None
    assert "altéré" in verdict.titre


def test_un_octet_change_dans_le_texte_scelle_rompt_le_sceau(emis, scelle, pdf):
    position = len(pdf) // 2  # inside the first revision, which the seal covers
    controle = controler_sceau(_change_un_octet(scelle, position))
    assert controle.du_service and not controle.intact and not controle.valide


def test_une_modification_ajoutee_apres_le_sceau_est_dite(emis, scelle):
    writer = IncrementalPdfFileWriter(io.BytesIO(scelle))
    writer.root["/Lang"] = generic.TextStringObject("en")
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    verdict = verifier_document(out.getvalue())
    assert verdict.etat == Etat.ALTERE
    assert verdict.sceau.du_service and verdict.sceau.intact and verdict.sceau.modifie_apres
    assert "ajoutées après le scellement" in verdict.explication


def test_un_pdf_valide_inconnu_n_a_pas_ete_emis_ici(db, pdf):
    verdict = verifier_document(pdf)
    assert verdict.etat == Etat.INCONNU
    assert verdict.titre == "Document non émis par la plateforme"
    assert not verdict.sceau.du_service


def test_un_pdf_illisible_sans_sceau(db):
    verdict = verifier_document(b"%PDF-1.7\n%%EOF garbage")
    assert verdict.etat == Etat.ILLISIBLE


def test_un_document_scelle_mais_non_inscrit_au_registre_est_altere(db, scelle):
    """The platform's seal on bytes the registry does not know: the file is not one of the documents issued."""
    verdict = verifier_document(scelle)
    assert verdict.etat == Etat.ALTERE
