"""Settings come from the environment, typed, and fail loudly (docs/architecture.md)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 60
PRODUCTION = {
    "DJANGO_ENV": "production",
    "SECRET_KEY": GOOD_KEY,
    "ALLOWED_HOSTS": "pacte.example.gouv.fr",
    "DATABASE_URL": "postgres://postgres@127.0.0.1/pacte",
}
# Variables the tests set themselves: a value in the caller's environment must not leak in.
OWN_VARIABLES = {
    # Set by the browser tests' conftest for the live server's thread: never in a deployment.
    "DJANGO_ALLOW_ASYNC_UNSAFE",
    "DJANGO_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CONN_MAX_AGE",
    "SESSION_IDLE_TIMEOUT",
    "SESSION_ABSOLUTE_TIMEOUT",
    "AXES_FAILURE_LIMIT",
    "AXES_COOLOFF_MINUTES",
    "PROXY_COUNT",
}


def _run(code: str, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}
    base.update(env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base, capture_output=True, text=True)


def _load(**env) -> subprocess.CompletedProcess:
    return _run("import pacte.settings as s; print(s.DEBUG, s.TIME_ZONE, s.LANGUAGE_CODE)", **env)


def _setting(expression: str, **env) -> subprocess.CompletedProcess:
    """Prints ``expression`` evaluated on the settings module ``s`` loaded with ``env``."""
    return _run(f"import pacte.settings as s; print({expression})", **env)


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


# --- Sessions, login throttling, database connections -----------------------------------------------------------

DEV = {"DATABASE_URL": "sqlite:///:memory:"}


@pytest.mark.parametrize(
    ("env", "expression", "printed"),
    [
        (DEV, "s.DATABASES['default']['CONN_MAX_AGE']", "0"),  # development: one connection per request
        (PRODUCTION, "s.DATABASES['default']['CONN_MAX_AGE']", "60"),  # production: reused for a minute
        ({**PRODUCTION, "CONN_MAX_AGE": "0"}, "s.DATABASES['default']['CONN_MAX_AGE']", "0"),
        ({**DEV, "CONN_MAX_AGE": " 300 "}, "s.DATABASES['default']['CONN_MAX_AGE']", "300"),
        (PRODUCTION, "s.DATABASES['default']['CONN_HEALTH_CHECKS']", "True"),
        (DEV, "s.SESSION_IDLE_TIMEOUT, s.SESSION_COOKIE_AGE, s.SESSION_SAVE_EVERY_REQUEST", "7200 7200 True"),
        ({**DEV, "SESSION_IDLE_TIMEOUT": "1800"}, "s.SESSION_IDLE_TIMEOUT, s.SESSION_COOKIE_AGE", "1800 1800"),
        ({**DEV, "SESSION_IDLE_TIMEOUT": "60"}, "s.SESSION_COOKIE_AGE", "60"),  # the minimum
        (DEV, "s.SESSION_ABSOLUTE_TIMEOUT", "43200"),
        (DEV, "s.AXES_FAILURE_LIMIT, s.AXES_COOLOFF_TIME", "5 0:15:00"),
        ({**DEV, "AXES_FAILURE_LIMIT": "1"}, "s.AXES_FAILURE_LIMIT", "1"),
        ({**DEV, "AXES_COOLOFF_MINUTES": "60"}, "s.AXES_COOLOFF_TIME", "1:00:00"),
        (DEV, "s.PROXY_COUNT", "0"),  # X-Forwarded-For ignored unless said otherwise
        ({**DEV, "PROXY_COUNT": "1"}, "s.PROXY_COUNT", "1"),
        (PRODUCTION, "s.MIDDLEWARE[0]", "pacte.checks.StaticManifestRequired"),
        (DEV, "'pacte.checks.StaticManifestRequired' in s.MIDDLEWARE", "False"),
    ],
)
def test_session_throttling_and_connection_settings(env, expression, printed):
    result = _setting(expression, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == printed


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("CONN_MAX_AGE", "abc", "CONN_MAX_AGE='abc' n'est pas un nombre entier."),
        ("CONN_MAX_AGE", "-1", "CONN_MAX_AGE=-1 est trop petit : au moins 0."),
        ("CONN_MAX_AGE", "1.5", "n'est pas un nombre entier"),
        ("SESSION_IDLE_TIMEOUT", "2h", "SESSION_IDLE_TIMEOUT='2h' n'est pas un nombre entier."),
        ("SESSION_IDLE_TIMEOUT", "59", "SESSION_IDLE_TIMEOUT=59 est trop petit : au moins 60."),
        ("SESSION_IDLE_TIMEOUT", "", "n'est pas un nombre entier"),
        ("SESSION_ABSOLUTE_TIMEOUT", "0", "SESSION_ABSOLUTE_TIMEOUT=0 est trop petit"),
        ("AXES_FAILURE_LIMIT", "0", "AXES_FAILURE_LIMIT=0 est trop petit : au moins 1."),
        ("AXES_COOLOFF_MINUTES", "quinze", "n'est pas un nombre entier"),
        ("PROXY_COUNT", "-1", "PROXY_COUNT=-1 est trop petit"),
    ],
)
def test_bad_numbers_fail_loudly_in_french(name, value, error):
    result = _load(**{**DEV, name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert error in result.stderr


# --- A production server refuses to start without its static files ----------------------------------------------

WSGI = """
import sys
import pacte.settings as s
s.STATIC_ROOT = sys.argv[1]  # a directory of the test's own, collected or not
from pacte.wsgi import application
print("démarré")
"""


def test_production_server_refuses_to_start_without_collected_static_files(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", WSGI, str(tmp_path)],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}, **PRODUCTION},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert "démarré" not in result.stdout
    assert "ImproperlyConfigured: Les fichiers statiques ne sont pas collectés" in result.stderr
    assert "collectstatic --no-input" in result.stderr


def test_production_server_starts_with_collected_static_files(tmp_path):
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1", "hash": ""}')
    result = subprocess.run(
        [sys.executable, "-c", WSGI, str(tmp_path)],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}, **PRODUCTION},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "démarré"


def test_check_deploy_does_not_need_collected_static_files(tmp_path):
    """CI runs ``check --deploy`` with production settings and no collected files: it must stay quiet."""
    code = WSGI.replace("from pacte.wsgi import application", "import django; django.setup()").replace(
        'print("démarré")',
        "from django.core.management import call_command; call_command('check', deploy=True, fail_level='WARNING')",
    )
    key = "ci-check-deploy-0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"  # the Makefile's: W009 wants variety
    result = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        cwd=ROOT,
        env={**{k: v for k, v in os.environ.items() if k not in OWN_VARIABLES}, **PRODUCTION, "SECRET_KEY": key},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert "collectstatic" not in result.stderr
