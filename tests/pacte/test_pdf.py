"""The one PDF helper (pacte/pdf.py): WeasyPrint on a template, resources from the static folders only.

The PDFs are read back with poppler-utils (``pdftotext``, ``pdfinfo``, ``pdffonts``), as a person's reader
would show them. The helpers here are shared with tests/financement/test_documents.py.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from weasyprint.urls import FatalURLFetchingError

from pacte.pdf import DOCUMENT_BASE_URL, html_to_pdf, render_pdf, static_path

# --- Reading a PDF back ------------------------------------------------------------------------------------------


def _poppler(command: str, pdf: bytes, *args: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        result = subprocess.run([command, *args, str(path), "-"], capture_output=True, text=True, check=True)
    return result.stdout


def pdf_text(pdf: bytes, *, layout: bool = True) -> str:
    """The PDF's text as ``pdftotext`` reads it (``-layout``: each table row on one line), spaces made plain
    (non-breaking and narrow spaces become spaces) and pages separated by form feeds."""
    text = _poppler("pdftotext", pdf, *(["-layout"] if layout else []))
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def pdf_pages(pdf: bytes) -> int:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))


def pdf_info(pdf: bytes) -> dict[str, str]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in info.splitlines())}


def pdf_fonts(pdf: bytes) -> list[tuple[str, bool]]:
    """Each font of the PDF: its name (subset prefix removed) and whether it is embedded."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "document.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    fonts = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        name = parts[0].split("+", 1)[-1]
        # Columns from the right: object ID (2), uni, sub, emb.
        fonts.append((name, parts[-5] == "yes"))
    return fonts


def plain(text: str) -> str:
    """Spaces made plain, as ``pdf_text`` returns them: to compare a formatted amount with the text."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


# --- render_pdf --------------------------------------------------------------------------------------------------

DOCUMENT = {
    "titre": "Document d'essai",
    "auteur": "Préfète des Hautes-Alpes",
    "description": "Un document pour tester le rendu",
    "projet": True,
    "filigrane": "PROJET",
    "entete": "Entête courant",
    "reference": "REF-ESSAI",
    "pied": "Pacte des solidarités 2024-2027",
}


@pytest.fixture(scope="module")
def essai() -> bytes:
    """The base template of the documents, rendered alone: A4, fonts, watermark, page numbers."""
    return render_pdf("documents/base_print.html", {"document": DOCUMENT})


def test_render_pdf_returns_a_pdf_on_a4_pages(essai):
    assert essai.startswith(b"%PDF-")
    info = pdf_info(essai)
    assert info["Page size"].startswith("595.276 x 841.89 pts (A4)")
    assert info["Title"] == "Document d'essai"
    assert info["Author"] == "Préfète des Hautes-Alpes"


def test_page_numbers_and_watermark(essai):
    text = pdf_text(essai)
    assert "Page 1 sur 1" in text
    assert "PROJET" in text
    assert "REF-ESSAI" not in text  # the running header starts on the second page


def test_no_watermark_on_a_signed_document():
    pdf = render_pdf("documents/base_print.html", {"document": {**DOCUMENT, "projet": False}})
    text = pdf_text(pdf)
    assert "Page 1 sur 1" in text
    assert "PROJET" not in text
    assert "P\nR\nO\nJ" not in pdf_text(pdf, layout=False)


def test_fonts_are_marianne_embedded(essai):
    fonts = pdf_fonts(essai)
    assert fonts, "aucune police dans le PDF"
    assert all(name.startswith("Marianne") and embedded for name, embedded in fonts), fonts


def test_same_input_same_bytes():
    """Two renderings of the same template and context are byte-identical (no date, no random identifier)."""
    context = {"document": {**DOCUMENT, "projet": False}}
    assert render_pdf("documents/base_print.html", context) == render_pdf("documents/base_print.html", context)


def test_static_path_finds_the_project_and_dsfr_files():
    assert static_path("https://documents.pacte.invalid/static/documents/print.css") == finders.find(
        "documents/print.css"
    )
    assert static_path("http://autre-hote/static/dsfr/dist/fonts/Marianne-Bold.woff2").endswith("Marianne-Bold.woff2")


@pytest.mark.parametrize(
    "url",
    [
        "https://documents.pacte.invalid/media/contrats/signes/x.pdf",
        "https://documents.pacte.invalid/static/../pacte/settings.py",
        "https://documents.pacte.invalid/static/",
        "file:///etc/passwd",
        "https://documents.pacte.invalid/static/documents/absent.css",
    ],
)
def test_static_path_refuses_anything_else(url):
    assert static_path(url) is None


def test_a_document_never_fetches_another_url():
    """An image or stylesheet from elsewhere stops the rendering: the network is never reached."""
    html = '<html><body><img src="https://exemple.invalid/image.png"><p>Texte</p></body></html>'
    with pytest.raises(FatalURLFetchingError):
        html_to_pdf(html)


def test_a_missing_static_file_is_an_error():
    html = '<html><head><link rel="stylesheet" href="/static/documents/absent.css"></head><body>x</body></html>'
    with pytest.raises(FatalURLFetchingError):
        html_to_pdf(html)


def test_inline_data_is_read():
    png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    pixel = f"data:image/png;base64,{png}"
    pdf = html_to_pdf(f'<html><body><img src="{pixel}"><p>Image en ligne</p></body></html>')
    assert "Image en ligne" in pdf_text(pdf)


def test_relative_urls_resolve_against_base_url():
    """Relative URLs resolve against ``base_url`` (its host is never contacted, only the path counts)."""
    html = (
        '<html><head><link rel="stylesheet" href="documents/print.css"></head>'
        '<body><p class="x">Feuille relative</p></body></html>'
    )
    pdf = html_to_pdf(html, base_url="https://ailleurs.invalid/static/")
    assert all(name.startswith("Marianne") for name, _ in pdf_fonts(pdf))
    assert DOCUMENT_BASE_URL.startswith("https://")
