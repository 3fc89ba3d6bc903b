"""Settings for the test suite: the same as production's shape, on the database DATABASE_URL names."""

import os

os.environ.setdefault("DJANGO_ENV", "test")

from pacte.settings import *  # noqa: E402, F403
