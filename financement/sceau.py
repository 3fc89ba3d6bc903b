"""The electronic seal on the documents the platform issues (PAdES, pyHanko), and how a document is verified.

Every PDF the platform hands out (a signed convention frozen at signature, a draft, a fiche, a report, a batch
print) is sealed with the certificate of ``PACTE_SCEAU_CERTIFICAT`` and its key ``PACTE_SCEAU_CLE`` (password
``PACTE_SCEAU_MOT_DE_PASSE``), then its SHA-256 is written in the registry (``DocumentEmis``). The public
verification page reads both back: the seal says the bytes were not changed since the platform sealed them,
the registry says which document they are.

``manage.py creer_certificat_demo`` writes a self-signed demonstration certificate (``make run`` runs it; the
test settings call its ``creer_certificat``). A production deployment configures a real one (a "cachet serveur"
issued by a certification authority; its chain in ``PACTE_SCEAU_CHAINE``). Verification trusts the configured
certificate: a document sealed with an earlier certificate is still recognised by its hash.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import io
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger(__name__)

#: The name of the signature field the seal fills in every document.
CHAMP_SCEAU = "SceauPacte"
RAISON = "Document émis par la plateforme du Pacte des solidarités"


class SceauIndisponible(Exception):
    """The seal's certificate or key cannot be read: nothing is issued unsealed."""


def hors_boucle(fonction, *args):
    """Calls ``fonction``, one of pyHanko's synchronous entry points, which run their own event loop
    (``asyncio.run``): from a thread where a loop already runs (an ASGI server, a test driving a browser through
    Playwright), it is called from a thread of its own, where ``asyncio.run`` may start one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fonction(*args)
    with ThreadPoolExecutor(max_workers=1) as executeur:
        return executeur.submit(fonction, *args).result()


def empreinte(data: bytes) -> str:
    """The SHA-256 of a file, in lowercase hexadecimal (what the registry and the contracts keep)."""
    return hashlib.sha256(data).hexdigest()


# --- Loading the configured seal ------------------------------------------------------------------------------------

_cache: dict[tuple, object] = {}


def _reglages() -> tuple[Path, Path, str, tuple[str, ...]]:
    from django.conf import settings

    return (
        Path(settings.PACTE_SCEAU_CERTIFICAT),
        Path(settings.PACTE_SCEAU_CLE),
        settings.PACTE_SCEAU_MOT_DE_PASSE,
        tuple(settings.PACTE_SCEAU_CHAINE),
    )


def _stamp(path: Path) -> tuple:
    try:
        stat = path.stat()
    except OSError:
        return (str(path), None)
    return (str(path), stat.st_mtime_ns, stat.st_size)


def certificat_du_service():
    """The configured certificate (asn1crypto), or ``None`` when the file is missing or unreadable."""
    from pyhanko.keys import load_cert_from_pemder

    path = _reglages()[0]
    key = ("certificat", _stamp(path))
    if key not in _cache:
        try:
            _cache[key] = load_cert_from_pemder(str(path))
        except Exception as error:  # missing file, or not a certificate (asn1crypto raises several kinds)
            logger.warning("Certificat du sceau illisible (%s) : %s", path, error)
            return None
    return _cache[key]


def _signataire():
    """The pyHanko signer of the configured certificate and key (kept while the files do not change)."""
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder, load_private_key_from_pemder
    from pyhanko.sign.signers import SimpleSigner
    from pyhanko_certvalidator.registry import SimpleCertificateStore

    certificat, cle, mot_de_passe, chaine = _reglages()
    key = ("signataire", _stamp(certificat), _stamp(cle), mot_de_passe, tuple(_stamp(Path(c)) for c in chaine))
    if key in _cache:
        return _cache[key]
    for path, what in ((certificat, "Le certificat"), (cle, "La clé privée")):
        if not path.is_file():
            raise SceauIndisponible(
                f"{what} du sceau est introuvable ({path}) : aucun document n'est émis sans sceau. Créez un "
                "certificat de démonstration avec « manage.py creer_certificat_demo » ou configurez "
                "PACTE_SCEAU_CERTIFICAT et PACTE_SCEAU_CLE."
            )
    try:
        signing_cert = load_cert_from_pemder(str(certificat))
        signing_key = load_private_key_from_pemder(str(cle), passphrase=mot_de_passe.encode() or None)
        others = list(load_certs_from_pemder(list(chaine))) if chaine else []
    except Exception as error:  # wrong password, not a key, not a certificate…
        raise SceauIndisponible(
            f"Le certificat ou la clé du sceau ne peut pas être lu ({error}) : vérifiez PACTE_SCEAU_CERTIFICAT, "
            "PACTE_SCEAU_CLE et PACTE_SCEAU_MOT_DE_PASSE."
        ) from None
    signer = SimpleSigner(
        signing_cert=signing_cert,
        signing_key=signing_key,
        cert_registry=SimpleCertificateStore.from_certs([signing_cert, *others]),
    )
    _cache[key] = signer
    return signer


def sceller(pdf: bytes) -> bytes:
    """The PDF with the platform's seal (PAdES B-B signature, invisible field, SHA-256) added as an incremental
    update. Raises :class:`SceauIndisponible` when the certificate or key is missing."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _signataire()
    metadata = signers.PdfSignatureMetadata(
        field_name=CHAMP_SCEAU,
        reason=RAISON,
        location="France",
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    return hors_boucle(signers.PdfSigner(metadata, signer=signer).sign_pdf, writer).getvalue()


# --- Verifying --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ControleSceau:
    """What the seal of a file says. ``du_service``: a signature made with the configured certificate is in the
    file; ``valide``: its bytes are intact, the certificate trusted, and nothing was added after it."""

    lisible: bool
    du_service: bool = False
    intact: bool = False
    valide: bool = False
    modifie_apres: bool = False
    signe_le: datetime.datetime | None = None


def _porte_le_sceau(data: bytes, cert) -> bool:
    """Whether the raw bytes hold the certificate inside a signature (hexadecimal in /Contents): the seal is
    recognised even in a file too damaged to be read. Either half of the certificate is enough: one changed byte
    cannot hide both."""
    if cert is None:
        return False
    texte = cert.dump().hex().encode()
    moitie = len(texte) // 2
    contenu = data.lower()
    return texte[:moitie] in contenu or texte[moitie:] in contenu


def controler_sceau(data: bytes) -> ControleSceau:
    """Reads the signatures of ``data`` and validates those made with the configured certificate (trusted as
    root; no network). Never raises: a file pyHanko cannot read is ``lisible=False``."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    cert = certificat_du_service()
    try:
        signatures = PdfFileReader(io.BytesIO(data)).embedded_signatures
    except Exception:  # a damaged or hostile file: pyHanko raises many kinds of errors
        return ControleSceau(lisible=False, du_service=_porte_le_sceau(data, cert))
    ours = []
    for signature in signatures:
        try:
            signer_cert = signature.signer_cert
        except Exception:
            continue
        if cert is not None and signer_cert.sha256 == cert.sha256:
            ours.append(signature)
    if not ours:
        return ControleSceau(lisible=True, du_service=_porte_le_sceau(data, cert))
    context = ValidationContext(trust_roots=[cert], allow_fetching=False)
    signature = ours[-1]
    try:
        status = hors_boucle(validate_pdf_signature, signature, context)
    except Exception:  # a signature too damaged to be evaluated: it proves nothing
        return ControleSceau(lisible=True, du_service=True)
    entier = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    return ControleSceau(
        lisible=True,
        du_service=True,
        intact=bool(status.intact),
        valide=bool(status.intact and status.valid and status.trusted and entier),
        modifie_apres=bool(status.intact and not entier),
        signe_le=status.signer_reported_dt,
    )


class Etat:
    INTACT = "intact"
    ALTERE = "altere"
    INCONNU = "inconnu"
    ILLISIBLE = "illisible"


@dataclass(frozen=True)
class Verdict:
    """The answer of the verification page: ``etat`` (one of :class:`Etat`), a title and an explanation in
    French, the registry row when the hash is known, and the seal's details."""

    etat: str
    titre: str
    explication: str
    empreinte: str
    sceau: ControleSceau
    document: object | None = None


def verifier_document(data: bytes) -> Verdict:
    """Whether ``data`` is an intact document issued here: its hash in the registry, its seal checked."""
    from financement.models import DocumentEmis, StatutTache

    sha = empreinte(data)
    sceau = controler_sceau(data)
    document = (
        DocumentEmis.objects.filter(empreinte=sha, statut=StatutTache.PRET)
        .select_related("contrat", "contrat__collectivite", "avenant")
        .order_by("cree_le", "pk")
        .first()
    )
    if document is not None:
        note = (
            "Son sceau électronique est valide."
            if sceau.valide
            else "Son empreinte figure au registre ; son sceau n'a pas pu être validé avec le certificat actuel "
            "de la plateforme (certificat renouvelé depuis l'émission ?)."
        )
        return Verdict(
            Etat.INTACT,
            "Document intact, émis par la plateforme",
            f"Ce fichier est exactement celui que la plateforme a émis. {note}",
            sha,
            sceau,
            document,
        )
    if sceau.du_service:
        # The file carries the platform's seal but is none of the documents it issued: it was changed.
        if not sceau.lisible:
            explication = "Le fichier porte le sceau de la plateforme, mais il a été endommagé ou modifié."
        elif sceau.modifie_apres:
            explication = (
                "Le sceau de la plateforme couvre une version antérieure du fichier : des modifications ont été "
                "ajoutées après le scellement."
            )
        elif sceau.valide:
            explication = (
                "Le sceau de la plateforme est valide pour la partie scellée, mais le fichier diffère de tous les "
                "documents émis : des octets ont été changés hors de la partie scellée."
            )
        else:
            explication = (
                "Le fichier porte le sceau de la plateforme, mais son contenu ne correspond plus à ce qui a été "
                "scellé : le sceau est rompu."
            )
        return Verdict(
            Etat.ALTERE,
            "Document altéré",
            f"{explication} Son empreinte ne correspond à aucun document émis. Ne vous fiez pas à son contenu : "
            "demandez l'original au service qui l'a émis.",
            sha,
            sceau,
        )
    if not sceau.lisible:
        return Verdict(
            Etat.ILLISIBLE,
            "Fichier PDF illisible",
            "Ce fichier PDF est endommagé ou incomplet, et son empreinte ne correspond à aucun document émis par "
            "la plateforme.",
            sha,
            sceau,
        )
    return Verdict(
        Etat.INCONNU,
        "Document non émis par la plateforme",
        "Ce PDF ne porte pas le sceau de la plateforme et son empreinte ne correspond à aucun document qu'elle a "
        "émis : il n'a pas été émis ici (ou il a été réenregistré, imprimé puis numérisé, ou modifié).",
        sha,
        sceau,
    )
