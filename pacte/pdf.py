"""The one PDF helper (CONVENTIONS.md rule 10): an HTML template with print CSS becomes PDF bytes, by WeasyPrint.

Documents are Django templates (``templates/documents/``) that link their resources with ``{% static %}``:
the print stylesheet, the Marianne font of django-dsfr, the logo. WeasyPrint reads them through
:class:`StaticFetcher`, straight from the static folders (``django.contrib.staticfiles.finders``), so that a
document renders the same with or without ``collectstatic`` and never reaches the network: any other
URL stops the rendering (the rich text a document prints may hold links, which are not fetched).
"""

from __future__ import annotations

import logging
import mimetypes
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.template.loader import render_to_string
from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

#: What relative URLs of a document resolve against when the caller gives no ``base_url``. The host is
#: never contacted: only the path counts (see :class:`StaticFetcher`).
DOCUMENT_BASE_URL = "https://documents.pacte.invalid/"

# fontTools reports every glyph it keeps when WeasyPrint subsets a font: thousands of lines per document.
logging.getLogger("fontTools").setLevel(logging.WARNING)

mimetypes.add_type("font/woff2", ".woff2")
mimetypes.add_type("font/woff", ".woff")
mimetypes.add_type("image/svg+xml", ".svg")


class DocumentResourceError(ValueError):
    """A document asked for a resource that is neither a static file of the project nor inline data."""


def static_path(url: str) -> str | None:
    """The file on disk behind a static URL (``/static/documents/print.css`` on any host), or ``None``."""
    prefix = "/" + settings.STATIC_URL.strip("/") + "/"
    path = unquote(urlsplit(url).path)
    if not path.startswith(prefix):
        return None
    relative = path.removeprefix(prefix)
    if not relative or ".." in relative.split("/"):
        return None
    return finders.find(relative)


class StaticFetcher(URLFetcher):
    """Serves a document's resources from the static folders; ``data:`` URLs are read as usual; any other
    URL fails the rendering (``fail_on_errors``): a missing font or stylesheet is an error, not a silently
    different document."""

    def __init__(self):
        super().__init__(allowed_protocols={"data", "http", "https", "file"}, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if url.startswith("data:"):
            return super().fetch(url, headers)
        path = static_path(url)
        if path is None:
            raise DocumentResourceError(f"Ressource refusée dans un document : {url}")
        mime_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
        with open(path, "rb") as file:
            body = file.read()
        return URLFetcherResponse(url, body, headers={"Content-Type": mime_type})


def html_to_pdf(html: str, *, base_url: str | None = None) -> bytes:
    """HTML (a whole document, with its ``<link rel="stylesheet">``) → PDF bytes."""
    fonts = FontConfiguration()
    document = HTML(string=html, base_url=base_url or DOCUMENT_BASE_URL, url_fetcher=StaticFetcher())
    return document.write_pdf(font_config=fonts)


def render_pdf(template_name: str, context: dict, *, base_url: str | None = None) -> bytes:
    """Renders a document template with ``context`` and returns the PDF's bytes.

    The template links its print stylesheet and fonts with ``{% static %}``; relative URLs resolve
    against ``base_url`` (by default :data:`DOCUMENT_BASE_URL`, whose host is never contacted).
    """
    return html_to_pdf(render_to_string(template_name, context), base_url=base_url)
