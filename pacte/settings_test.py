"""Settings for the test suite: the same as production's shape, on the database DATABASE_URL names."""

import os

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
