"""The races of ``test_concurrence.py`` need two real PostgreSQL connections holding row locks.

SQLite has no row locks (a writer locks the whole file), so those tests say nothing there: on SQLite they
are deselected, not skipped, and the run says so in one line. The CI runs the suite on both databases, so
they run on its PostgreSQL pass.
"""

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
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"{len(deselected)} test(s) marqué(s) « {MARKER} » désélectionné(s) : la base est {vendor}, "
            "ils ne tournent que sur PostgreSQL (DATABASE_URL=postgres://…)."
        )
