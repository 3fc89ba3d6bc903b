"""An uploaded file and the state of its import, and the two steps run now or in the background."""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone

from contrats.models import Contrat
from financement.importation.ecriture import alertes, apercu, importer, rapport
from financement.importation.lecture import EXTENSIONS, FichierIllisible, lire_fichier

#: Beyond this size (bytes), the preview and the import run in the background (``PACTE_IMPORT_SEUIL_FOND``).
SEUIL_FOND = 100_000
#: Imports are kept this long, then removed at the next upload.
CONSERVATION = timedelta(days=7)


# --- Storage and the two steps ------------------------------------------------------------------------------------

RACINE = "imports"
#: The states of an import: analysed (being previewed), preview ready, being imported, imported, failed.
ANALYSE, APERCU, IMPORT, IMPORTE, ECHEC = "analyse", "apercu", "import", "importe", "echec"
EN_COURS = (ANALYSE, IMPORT)


def seuil_fond() -> int:
    return getattr(settings, "PACTE_IMPORT_SEUIL_FOND", SEUIL_FOND)


class Depot:
    """An uploaded file and the state of its import, under ``MEDIA_ROOT/imports/<uid>/`` (the file as uploaded and
    ``etat.json``). The state is a file, not a row: a background import writes its progress while its own
    transaction is still open, and the page reads it from another connection."""

    def __init__(self, uid: str, etat: dict):
        self.uid = uid
        self.etat = etat

    @staticmethod
    def _chemin(uid: str, nom: str) -> str:
        return f"{RACINE}/{uid}/{nom}"

    @classmethod
    def creer(cls, *, contenu: bytes, nom: str, contrat: Contrat, auteur) -> Depot:
        nettoyer()
        uid = str(uuid.uuid4())
        extension = PurePosixPath(nom.lower()).suffix
        source = "source" + (extension if extension in EXTENSIONS else ".bin")
        default_storage.save(cls._chemin(uid, source), ContentFile(contenu))
        depot = cls(
            uid,
            {
                "auteur": auteur.pk,
                "contrat": contrat.reference,
                "nom": PurePosixPath(nom).name[:200],
                "source": source,
                "taille": len(contenu),
                "cree_le": timezone.now().isoformat(),
                "statut": ANALYSE,
                "fait": 0,
                "total": 0,
                "rapport": None,
                "bilan": "",
                "erreur": "",
                "alertes_apres": [],
            },
        )
        depot.enregistrer()
        return depot

    @classmethod
    def charger(cls, uid) -> Depot | None:
        try:
            uid = str(uuid.UUID(str(uid)))
        except ValueError:
            return None
        try:
            with default_storage.open(cls._chemin(uid, "etat.json"), "rb") as fichier:
                return cls(uid, json.loads(fichier.read().decode()))
        except (FileNotFoundError, OSError, ValueError):
            return None

    def enregistrer(self) -> None:
        """Writes the state at once (a new file moved over the old one: a reader never sees half of it)."""
        chemin = default_storage.path(self._chemin(self.uid, "etat.json"))
        os.makedirs(os.path.dirname(chemin), exist_ok=True)
        provisoire = f"{chemin}.{os.getpid()}.tmp"
        with open(provisoire, "w", encoding="utf-8") as fichier:
            json.dump(self.etat, fichier, ensure_ascii=False, default=str)
        os.replace(provisoire, chemin)

    def contenu(self) -> bytes:
        with default_storage.open(self._chemin(self.uid, self.etat["source"]), "rb") as fichier:
            return fichier.read()

    def est_a(self, user, contrat: Contrat) -> bool:
        """Only its author sees an import, on its contract."""
        return self.etat.get("auteur") == user.pk and self.etat.get("contrat") == contrat.reference

    @property
    def en_cours(self) -> bool:
        return self.etat["statut"] in EN_COURS

    def suivre(self) -> Callable[[int, int], None]:
        """A progress callback that writes the state at most twice a second."""
        dernier = [0.0]

        def progression(fait: int, total: int) -> None:
            maintenant = time.monotonic()
            if fait < total and maintenant - dernier[0] < 0.5:
                return
            dernier[0] = maintenant
            self.etat.update(fait=fait, total=total)
            self.enregistrer()

        return progression


def nettoyer(maintenant: datetime | None = None) -> int:
    """Removes the imports older than ``CONSERVATION``; returns how many."""
    maintenant = maintenant or timezone.now()
    try:
        dossiers, _ = default_storage.listdir(RACINE)
    except (FileNotFoundError, OSError):
        return 0
    retires = 0
    for uid in dossiers:
        depot = Depot.charger(uid)
        cree_le = datetime.fromisoformat(depot.etat["cree_le"]) if depot else None
        if cree_le is None or maintenant - cree_le > CONSERVATION:
            shutil.rmtree(default_storage.path(f"{RACINE}/{uid}"), ignore_errors=True)
            retires += 1
    return retires


def _contexte(depot: Depot):
    contrat = Contrat.objects.select_related("collectivite").get(reference=depot.etat["contrat"])
    user = get_user_model().objects.select_related("organisation").get(pk=depot.etat["auteur"])
    return contrat, user


def analyser(depot: Depot) -> Depot:
    """Step one: reads the file and previews the import (a trial run rolled back); the report goes in the state."""
    depot.etat.update(statut=ANALYSE, fait=0, total=0, erreur="")
    depot.enregistrer()
    try:
        contrat, user = _contexte(depot)
        plan = apercu(lire_fichier(depot.contenu(), depot.etat["nom"]), contrat, user, depot.suivre())
        depot.etat.update(statut=APERCU, rapport=rapport(plan), bilan="")
    except FichierIllisible as error:
        depot.etat.update(statut=ECHEC, erreur=str(error))
    except Exception as error:  # a background task reports what failed rather than dying silently
        depot.etat.update(statut=ECHEC, erreur=f"Erreur inattendue pendant la lecture : {error.__class__.__name__}.")
        depot.enregistrer()
        raise
    depot.enregistrer()
    return depot


def executer(depot: Depot) -> Depot:
    """Step two: imports what the preview showed, all or nothing."""
    depot.etat.update(statut=IMPORT, fait=0, total=0, erreur="")
    depot.enregistrer()
    try:
        contrat, user = _contexte(depot)
        empreinte = (depot.etat.get("rapport") or {}).get("empreinte")
        plan, bilan = importer(
            lire_fichier(depot.contenu(), depot.etat["nom"]),
            contrat,
            user,
            empreinte=empreinte,
            progression=depot.suivre(),
        )
        depot.etat.update(statut=IMPORTE if bilan == "importe" else APERCU, rapport=rapport(plan), bilan=bilan)
        if bilan == "importe":
            depot.etat["alertes_apres"] = alertes(contrat)
    except FichierIllisible as error:
        depot.etat.update(statut=ECHEC, erreur=str(error))
    except Exception as error:
        depot.etat.update(statut=ECHEC, erreur=f"Erreur inattendue pendant l'import : {error.__class__.__name__}.")
        depot.enregistrer()
        raise
    depot.enregistrer()
    return depot


def traiter(uid: str, etape: str) -> str:
    """What the background task runs: ``analyser`` or ``executer`` the import ``uid``; returns its state."""
    depot = Depot.charger(uid)
    if depot is None:
        return "introuvable"
    return (analyser if etape == ANALYSE else executer)(depot).etat["statut"]


def lancer(depot: Depot, etape: str) -> Depot:
    """Runs a step now for a small file, in the background (``financement.tasks.traiter_import``) for a large one."""
    if depot.etat["taille"] <= seuil_fond():
        return analyser(depot) if etape == ANALYSE else executer(depot)
    from financement.tasks import traiter_import

    depot.etat.update(statut=etape, fait=0, total=0, erreur="")
    depot.enregistrer()
    traiter_import.enqueue(depot.uid, etape)
    return Depot.charger(depot.uid) or depot
