"""Checks that stop a production server at startup instead of answering 500 on every page.

Why a middleware and not a system check: in production every page links its CSS and scripts through the static
manifest that ``collectstatic`` writes; without it, every page raises and answers 500. A system check cannot catch
this where it matters: ``collectstatic`` itself runs the ``staticfiles`` checks before collecting (such a check
would block the very command that fixes the problem), ``check --deploy`` runs every check (CI runs it with no
collected files), and gunicorn runs none. A middleware's constructor, though, runs exactly once per process, when
the WSGI handler is built: at server start, never in a management command. ``StaticManifestRequired`` checks
there, refuses to start with a French message, then removes itself from the request path (``MiddlewareNotUsed``).
"""

from django.conf import settings
from django.contrib.staticfiles.storage import ManifestFilesMixin, staticfiles_storage
from django.core.exceptions import ImproperlyConfigured, MiddlewareNotUsed


def static_manifest_problem() -> str | None:
    """What is wrong with the static files manifest, in French, or None when pages can be served."""
    if not isinstance(staticfiles_storage, ManifestFilesMixin):
        return None  # development: files are served from the apps, no manifest involved
    if staticfiles_storage.read_manifest() is None:
        return (
            f"Les fichiers statiques ne sont pas collectés : le manifeste {staticfiles_storage.manifest_name} est "
            f"absent de {settings.STATIC_ROOT}, toutes les pages répondraient par une erreur 500. Lancez "
            "« python manage.py collectstatic --no-input » (ou « make prod », qui le fait) avant de démarrer "
            "le serveur."
        )
    return None


class StaticManifestRequired:
    """Refuses to start the server while the static manifest is missing (installed in production only)."""

    def __init__(self, get_response):
        problem = static_manifest_problem()
        if problem:
            raise ImproperlyConfigured(problem)
        raise MiddlewareNotUsed
