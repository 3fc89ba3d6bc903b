"""``manage.py creer_certificat_demo``: a self-signed certificate to seal the documents in development and demos.

It writes the certificate and its key where ``PACTE_SCEAU_CERTIFICAT`` and ``PACTE_SCEAU_CLE`` point (by default
``var/sceau/``, ignored by git), the key encrypted with ``PACTE_SCEAU_MOT_DE_PASSE`` when it is set. ``make run`` runs
it when the files are missing. An existing certificate is kept unless ``--remplacer``: documents sealed with it would
no longer be recognised by their seal (their hash, in the registry, still would be).

A production deployment configures a certificate issued by a certification authority instead (see .env.example).
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def creer_certificat(
    *, certificat: Path, cle: Path, mot_de_passe: str = "", nom: str = "Sceau de démonstration", annees: int = 5
) -> None:
    """Writes a self-signed seal certificate and its private key (PEM; the key encrypted when ``mot_de_passe``
    is given, readable by its owner only). An elliptic-curve key (P-256): small and fast to sign with.

    Only ``cryptography`` here, no model: the test settings call it to make the certificate of a test run.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "FR"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Pacte des solidarités (démonstration)"),
            x509.NameAttribute(NameOID.COMMON_NAME, nom),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=365 * annees))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    encryption = (
        serialization.BestAvailableEncryption(mot_de_passe.encode()) if mot_de_passe else serialization.NoEncryption()
    )
    certificat, cle = Path(certificat), Path(cle)
    certificat.parent.mkdir(parents=True, exist_ok=True)
    cle.parent.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    fd = os.open(cle, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key_pem)
    certificat.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


class Command(BaseCommand):
    help = (
        "Crée un certificat auto-signé de démonstration pour sceller les documents, là où pointent "
        "PACTE_SCEAU_CERTIFICAT et PACTE_SCEAU_CLE (s'il n'existe pas déjà)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--remplacer",
            action="store_true",
            help="Remplace un certificat existant (les documents déjà scellés ne seront plus reconnus par leur sceau, "
            "seulement par leur empreinte).",
        )
        parser.add_argument("--nom", default="Sceau de démonstration", help="Nom commun du certificat.")

    def handle(self, *args, remplacer: bool, nom: str, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "Pas de certificat de démonstration en production : configurez un certificat délivré par une "
                "autorité de certification (PACTE_SCEAU_CERTIFICAT, PACTE_SCEAU_CLE, PACTE_SCEAU_MOT_DE_PASSE)."
            )
        certificat, cle = Path(settings.PACTE_SCEAU_CERTIFICAT), Path(settings.PACTE_SCEAU_CLE)
        if (certificat.exists() or cle.exists()) and not remplacer:
            self.stdout.write(f"Le certificat du sceau existe déjà : {certificat} (rien n'est changé).")
            return
        creer_certificat(certificat=certificat, cle=cle, mot_de_passe=settings.PACTE_SCEAU_MOT_DE_PASSE, nom=nom)
        self.stdout.write(self.style.SUCCESS(f"Certificat de démonstration créé : {certificat} (clé : {cle})."))
