"""The races of ``test_concurrence.py`` need two real PostgreSQL connections holding row locks.

SQLite has no row locks (a writer locks the whole file), so those tests say nothing there: on SQLite they
are deselected, not skipped, and the run says so in one line. The CI runs the suite on both databases, so
they run on its PostgreSQL pass.
"""

import warnings

from django.db import connections

MARKER = "postgresql"


def pytest_collection_modifyitems(config, items):
    vendor = connections["default"].vendor
    if vendor == "postgresql":
        return
    deselected = [item for item in items if item.get_closest_marker(MARKER)]
    if not deselected:
        return
    items[:] = [item for item in items if not item.get_closest_marker(MARKER)]
    config.hook.pytest_deselected(items=deselected)
    line = (
        f"{len(deselected)} test(s) marqué(s) « {MARKER} » désélectionné(s) : la base est {vendor}, "
        "ils ne tournent que sur PostgreSQL (DATABASE_URL=postgres://…)."
    )
    if hasattr(config, "workerinput"):
        # A pytest-xdist worker (make test runs -n 2) writes to no terminal: its warnings reach the main
        # process, which lists them at the end of the run.
        warnings.warn(line, UserWarning, stacklevel=1)
        return
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(line)
