"""Settings for the test suite: the same as production's shape, on the database DATABASE_URL names."""

import atexit
import os
import shutil
import tempfile
from pathlib import Path

os.environ.setdefault("DJANGO_ENV", "test")

from pacte.settings import *  # noqa: E402, F403

# Two production settings are off by default here and turned on by the tests that test them
# (tests/pacte/test_auth.py):
# - login throttling: Django's test ``Client.login()`` calls ``authenticate()`` without the request django-axes needs;
# - saving the session on every request (the idle timeout): the query budgets of the page tests count the page's own
#   queries, not the session's renewal (one UPDATE in production; SAVEPOINT, UPDATE, RELEASE inside a test's
#   transaction), which test_auth measures once.
AXES_ENABLED = False
SESSION_SAVE_EVERY_REQUEST = False

# Tasks run inside the call that enqueues them (after the commit when enqueued by ``transaction.on_commit``);
# tests/financement/test_taches.py runs the database backend and its worker too.
TASKS = {
    "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"},
    "database": {"BACKEND": "django_tasks_db.DatabaseBackend"},
}
# Uploaded and generated files go to a directory of this test process, never into the project's media/; the seal is
# a certificate created for this test process (with a password on its key), never the developer's.
MEDIA_ROOT = Path(tempfile.mkdtemp(prefix="pacte-tests-media-"))
atexit.register(shutil.rmtree, MEDIA_ROOT, ignore_errors=True)
PACTE_SCEAU_CERTIFICAT = MEDIA_ROOT / "sceau" / "certificat.pem"
PACTE_SCEAU_CLE = MEDIA_ROOT / "sceau" / "cle.pem"
PACTE_SCEAU_MOT_DE_PASSE = "mot-de-passe-des-tests"
PACTE_SCEAU_CHAINE = []

from pacte.management.commands.creer_certificat_demo import creer_certificat  # noqa: E402  (no model imported)

creer_certificat(
    certificat=PACTE_SCEAU_CERTIFICAT, cle=PACTE_SCEAU_CLE, mot_de_passe=PACTE_SCEAU_MOT_DE_PASSE, nom="Sceau des tests"
)
