"""Settings come from the environment, typed, and fail loudly (CONVENTIONS.md rule 12)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 60


def _load(**env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"DJANGO_ENV", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS"}}
    base.update(env)
    code = "import pacte.settings as s; print(s.DEBUG, s.TIME_ZONE, s.LANGUAGE_CODE)"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True)


def test_development_needs_nothing():
    result = _load(DATABASE_URL="sqlite:///:memory:")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "Europe/Paris", "fr"]


@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"DEBUG": "maybe"}, "n'est pas un booléen"),
        ({"DJANGO_ENV": "prod"}, "DJANGO_ENV"),
        ({"DJANGO_ENV": "production", "ALLOWED_HOSTS": "x.gouv.fr"}, "SECRET_KEY"),
        ({"DJANGO_ENV": "production", "SECRET_KEY": "short", "ALLOWED_HOSTS": "x.gouv.fr"}, "50 caractères"),
        ({"DJANGO_ENV": "production", "SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
        ({"DJANGO_ENV": "production", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "x", "DEBUG": "true"}, "DEBUG"),
        (
            {"DJANGO_ENV": "production", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "x", "DATABASE_URL": "sqlite:///x"},
            "PostgreSQL",
        ),
    ],
)
def test_bad_values_fail_loudly(env, error):
    result = _load(**{"DATABASE_URL": "postgres://postgres@127.0.0.1/pacte", **env})
    assert result.returncode != 0
    assert error in result.stderr


def test_debug_false_means_false():
    result = _load(DEBUG="False", DATABASE_URL="sqlite:///:memory:")
    assert result.stdout.split()[0] == "False"
