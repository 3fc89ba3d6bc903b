"""Reference data in and out of the back-office (django-import-export, pacte/admin.py ``ReferenceImportExport``).

The administration centrale exports the axes and imports them back changed, in two steps (preview, then
confirmation); each row is written by the reference data's service with the acting user (version, audit trail). A
refused row and nothing is written; an agent who may not change the rows has no import page.
"""

import csv
import io
import re

import pytest
from django.urls import reverse

from pacte.enums import Role
from pacte.models import Axe
from tests.factories import OrganisationFactory, UserFactory

pytestmark = pytest.mark.django_db

IMPORT = reverse("admin:pacte_axe_import")
PROCESS = reverse("admin:pacte_axe_process_import")
EXPORT = reverse("admin:pacte_axe_export")
#: The import's formats (pacte.admin.ReferenceImportExport.import_formats): csv first, then xlsx.
CSV = "0"


@pytest.fixture
def dgcs():
    return UserFactory(organisation=OrganisationFactory(centrale=True), role=Role.EDITEUR, is_staff=True)


@pytest.fixture
def ddets():
    return UserFactory(organisation=OrganisationFactory(ddets=True), role=Role.EDITEUR, is_staff=True)


def _exporter(client) -> list[dict]:
    response = client.post(EXPORT, {"format": CSV, "resource": "0", **{f"axeresource_{f}": "on" for f in CHAMPS}})
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))


CHAMPS = ("numero", "intitule", "intitule_court")


def _fichier(rows: list[dict]) -> io.BytesIO:
    sortie = io.StringIO()
    writer = csv.DictWriter(sortie, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    fichier = io.BytesIO(sortie.getvalue().encode("utf-8"))
    fichier.name = "axes.csv"
    return fichier


def _confirmation(html: str) -> dict:
    """The hidden fields of the preview's confirmation form."""
    champs = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html))
    return {k: champs[k] for k in ("import_file_name", "original_file_name", "format", "resource") if k in champs}


def test_export_then_import_changed_in_two_steps_through_the_service(client, dgcs):
    client.force_login(dgcs)
    rows = _exporter(client)
    assert [r["Numéro"] for r in rows] == ["1", "2", "3", "4"]
    axe = Axe.objects.get(numero=2)
    version = axe.version
    autres = {a.numero: a.version for a in Axe.objects.exclude(numero=2)}
    rows[1]["Intitulé court"] = "Insertion et emploi"

    apercu = client.post(IMPORT, {"format": CSV, "resource": "0", "import_file": _fichier(rows)})
    assert apercu.status_code == 200
    html = apercu.content.decode()
    texte = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    # The preview: one row to update (its change marked cell by cell), the three others skipped.
    assert texte.count("Mettre à jour") == 1 and texte.count("Ignoré") == 3, texte[-1500:]
    axe.refresh_from_db()
    assert axe.intitule_court != "Insertion et emploi"  # the preview writes nothing

    confirme = client.post(PROCESS, _confirmation(html))
    assert confirme.status_code == 302
    axe.refresh_from_db()
    assert axe.intitule_court == "Insertion et emploi"
    assert axe.version == version + 1
    assert axe.history.latest().history_user == dgcs
    # The other axes were unchanged: skipped, not rewritten.
    assert {a.numero: a.version for a in Axe.objects.exclude(numero=2)} == autres


def test_a_refused_row_and_nothing_is_written(client, dgcs):
    client.force_login(dgcs)
    rows = _exporter(client)
    avant = {a.numero: (a.intitule_court, a.version) for a in Axe.objects.all()}
    rows[0]["Intitulé court"] = "Enfance renouvelée"
    rows[1]["Intitulé court"] = "bad\x00"
    apercu = client.post(IMPORT, {"format": CSV, "resource": "0", "import_file": _fichier(rows)})
    assert apercu.status_code == 200
    html = apercu.content.decode()
    # No confirmation to give: the preview names the refused row and offers nothing to confirm.
    assert 'name="import_file_name"' not in html
    texte = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Certaines lignes ont échoué à la validation" in texte
    assert "Ce texte contient le caractère invisible U+0000 (position 4)" in texte
    assert {a.numero: (a.intitule_court, a.version) for a in Axe.objects.all()} == avant


def test_an_agent_who_may_not_change_the_axes_has_no_import_but_exports(client, ddets):
    client.force_login(ddets)
    assert client.get(IMPORT).status_code == 403
    fichier = _fichier([{"Numéro": "1", "Intitulé": "x", "Intitulé court": "y"}])
    assert client.post(IMPORT, {"format": CSV, "resource": "0", "import_file": fichier}).status_code == 403
    assert [r["Numéro"] for r in _exporter(client)] == ["1", "2", "3", "4"]
