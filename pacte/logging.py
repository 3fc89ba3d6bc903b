"""Logging filters wired in ``LOGGING`` (pacte/settings.py).

Imported while Django configures logging, before the apps are loaded: no model imports here.
"""

import logging


class OneLineClientErrors(logging.Filter):
    """Turns Django's log of a refused or missing page (403, 404) into one line: method, path, status and user.

    Django logs "Forbidden (Permission denied): /path" with the PermissionDenied (or Http404) traceback attached:
    45 lines for an ordinary, expected refusal. The traceback says nothing the line does not, so it is dropped;
    5xx records, the ones whose traceback matters, pass untouched.
    """

    def __init__(self, statuses: tuple[int, ...] = (403, 404)):
        super().__init__()
        self.statuses = frozenset(statuses)

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) not in self.statuses:
            return True
        request = getattr(record, "request", None)
        message = record.getMessage()
        if request is not None:
            message = f"{message} method={request.method!r} user={_username(request)!r} status={record.status_code}"
        record.msg, record.args = message, ()
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def _username(request) -> str | None:
    """The username, or None for an anonymous visitor or a request refused before authentication."""
    try:
        user = request.user
        return user.get_username() if user.is_authenticated else None
    except Exception:  # a log line must never turn a 403 into a 500 (e.g. database unreachable)
        return None
