"""``manage.py captures`` (demo/management/commands/captures.py): the plan of pages found in the database through
each account's perimeter, and the screenshots written as PNG files of the asked width."""

import struct

import pytest
from django.core.management.base import CommandError

from demo.management.commands.captures import capturer, plan_de_captures
from tests.navigateur.conftest import MOT_DE_PASSE

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def taille_png(chemin) -> tuple[int, int]:
    entete = chemin.read_bytes()[:24]
    assert entete[:8] == b"\x89PNG\r\n\x1a\n", f"{chemin} n'est pas un PNG"
    return struct.unpack(">II", entete[16:24])


def test_captures_des_pages_du_jeu_de_donnees(live_server, browser, agents, tmp_path):
    comptes = {"ddets": agents.editeur, "collectivite": agents.collectivite, "prefecture": agents.prefecture}
    plan = plan_de_captures(comptes)
    assert {c.slug: c.url for c in plan} == {
        "connexion": "/connexion/",
        "verification": "/verification/",
        "accueil-ddets": "/",
        "accueil-collectivite": "/",
        "accueil-prefecture": "/",
        "contrats": "/contrats/",
        "fiches": "/fiches/",
        "tableau-ddets": "/tableaux/",
        "contrat-en-preparation": "/contrats/CU-2024-D05/",
        "fiche-nouvelle": "/contrats/CU-2024-D05/fiches/nouvelle/",
        "confirmation": "/contrats/CU-2024-D05/statut/pret/",
        "import": "/contrats/CU-2024-D05/import/",
        "historique-contrat": "/contrats/CU-2024-D05/historique/",
        "fiche-modifier": "/contrats/CU-2024-D05/fiches/A1-01/modifier/",
        "contrat-signe": "/contrats/CLS-2024-D05/",
        "fiche": "/contrats/CLS-2024-D05/fiches/A1-01/",
        "execution": "/contrats/CLS-2024-D05/fiches/A1-01/execution/",
        "argent": "/contrats/CLS-2024-D05/argent/",
        "documents": "/contrats/CLS-2024-D05/documents/",
        "avenant": "/contrats/CLS-2024-D05/avenants/1/",
        "rapports": "/rapports/",
        "rapport": "/contrats/CLS-2024-D05/rapports/2024/",
        "rapport-modifier": "/contrats/CLS-2024-D05/rapports/2024/modifier/",
        # No contract ready for signature in the data set: the signing page of the one in negotiation.
        "signature": "/contrats/CU-2024-D05/statut/signer/",
    }
    assert {c.slug: c.compte for c in plan if c.slug in {"connexion", "signature", "fiches", "execution"}} == {
        "connexion": None,
        "signature": agents.prefecture,
        "fiches": agents.editeur,
        "execution": agents.collectivite,
    }

    choisies = [c for c in plan if c.slug in {"connexion", "contrat-en-preparation", "signature"}]
    fichiers = capturer(browser, live_server.url, choisies, tmp_path / "captures", [390], MOT_DE_PASSE)
    assert sorted(f.name for f in fichiers) == [
        "01-connexion-390.png",
        "02-contrat-en-preparation-390.png",
        "03-signature-390.png",
    ]
    for fichier in fichiers:
        largeur, hauteur = taille_png(fichier)
        assert largeur == 390 and hauteur > 900, (fichier.name, largeur, hauteur)


def test_captures_sans_les_comptes_de_demo():
    with pytest.raises(CommandError, match="Comptes absents de la base : ddets05"):
        plan_de_captures({"ddets": "ddets05"})
