"""Settings of pacte, read from the environment.

Development needs no configuration at all (SQLite, DEBUG on, a throwaway key). Production sets
``DJANGO_ENV=production``, which makes ``SECRET_KEY``, ``DATABASE_URL`` and ``ALLOWED_HOSTS``
mandatory and turns on the secure defaults checked by ``manage.py check --deploy``.
Values are parsed with django-environ: ``DEBUG=False`` means false, ``DEBUG=maybe`` fails.
"""

from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DJANGO_ENV = env.str("DJANGO_ENV", default="development")
if DJANGO_ENV not in {"development", "test", "production"}:
    raise ImproperlyConfigured(f"DJANGO_ENV={DJANGO_ENV!r} : valeurs possibles development, test, production.")
PRODUCTION = DJANGO_ENV == "production"


def _bool(name: str, default: bool) -> bool:
    raw = env.str(name, default=str(default)).strip().lower()
    truthy, falsy = {"1", "true", "yes", "on", "oui"}, {"0", "false", "no", "off", "non", ""}
    if raw not in truthy | falsy:
        raise ImproperlyConfigured(f"{name}={raw!r} n'est pas un booléen (true/false).")
    return raw in truthy


def _int(name: str, default: int, minimum: int = 0) -> int:
    raw = env.str(name, default=str(default)).strip()
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} n'est pas un nombre entier.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={value} est trop petit : au moins {minimum}.")
    return value


DEBUG = _bool("DEBUG", default=not PRODUCTION)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG doit être false en production.")

if PRODUCTION:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY est obligatoire en production (50 caractères au moins).")
    if len(SECRET_KEY) < 50:
        raise ImproperlyConfigured("SECRET_KEY doit faire au moins 50 caractères en production.")
else:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-" + "x" * 40)

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"])
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS est obligatoire en production.")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "dsfr",
    "widget_tweaks",  # django-dsfr's checkbox and radio snippets load it
    "django_filters",
    "import_export",
    "csp",
    "simple_history",
    "axes",
    "pacte",
    "contrats",
    "actions",
    "financement",
    "espace",
    "django_htmx",
    # Background tasks (django-tasks, the backport of Django 6's task API) and their database backend.
    "django_tasks",
    "django_tasks_db",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "pacte.auth.SessionAbsoluteTimeoutMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

# Content Security Policy (django-csp): scripts only from our origin (the DSFR's are static files), or
# inline with the per-request nonce (``request.csp_nonce``, which django-dsfr's base template reads).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
        "base-uri": [SELF],
        "object-src": [NONE],
    }
}

if PRODUCTION:
    # whitenoise serves the collected static files in production; runserver serves them in development.
    MIDDLEWARE.insert(1, "whitenoise.middleware.WhiteNoiseMiddleware")
    # Refuses to start the server without collected static files (see pacte/checks.py).
    MIDDLEWARE.insert(0, "pacte.checks.StaticManifestRequired")

ROOT_URLCONF = "pacte.urls"
WSGI_APPLICATION = "pacte.wsgi.application"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
# After logging out: the login page, with a message saying so (pacte.urls.Deconnexion).
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "dsfr.context_processors.site_config",
                "pacte.context_processors.skiplinks",
                "pacte.context_processors.entete",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if PRODUCTION and DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    raise ImproperlyConfigured("DATABASE_URL doit désigner PostgreSQL en production.")
DATABASES["default"]["ATOMIC_REQUESTS"] = True
# Connections are kept CONN_MAX_AGE seconds between requests (0: one per request) and checked before reuse.
DATABASES["default"]["CONN_MAX_AGE"] = _int("CONN_MAX_AGE", default=60 if PRODUCTION else 0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "pacte.User"

AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out login before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "pacte.auth.UsernamePasswordValidator"},
]

# Login throttling (django-axes). After AXES_FAILURE_LIMIT failures on one account (from any address) or from one
# address (on any account), logins are refused for AXES_COOLOFF_MINUTES; every try during the lock restarts it.
# A success clears that account's failures only (pacte.auth.AxesHandler).
AXES_FAILURE_LIMIT = _int("AXES_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=_int("AXES_COOLOFF_MINUTES", default=15, minimum=1))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "pacte.auth.AxesHandler"
AXES_LOCKOUT_CALLABLE = "pacte.auth.lockout_response"
AXES_CLIENT_IP_CALLABLE = "pacte.auth.client_ip"
# No startup banner; the log lines that name the user and the address are pacte.auth's (axes masks both).
AXES_VERBOSE = False
# No axes pages in the back-office: for every non-superuser they cost two permission queries on each admin page.
# Unlock with ``manage.py axes_reset_username <identifiant>`` or ``axes_reset_ip <adresse>``.
AXES_ENABLE_ADMIN = False
# Reverse proxies in front of the app that append the client's address to X-Forwarded-For. 0: the address is
# REMOTE_ADDR and the header, which any client can write, is ignored.
PROXY_COUNT = _int("PROXY_COUNT", default=0)

# Sessions end after SESSION_IDLE_TIMEOUT seconds without a request (each request pushes the expiry back), and in
# any case SESSION_ABSOLUTE_TIMEOUT seconds after the login (pacte.auth.SessionAbsoluteTimeoutMiddleware).
SESSION_IDLE_TIMEOUT = _int("SESSION_IDLE_TIMEOUT", default=2 * 3600, minimum=60)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT
SESSION_SAVE_EVERY_REQUEST = True
SESSION_ABSOLUTE_TIMEOUT = _int("SESSION_ABSOLUTE_TIMEOUT", default=12 * 3600, minimum=60)

LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", "Français")]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Emails (password reset links). In development they are printed on the console; elsewhere sent by SMTP.
_EMAIL_BACKEND = "console" if DEBUG else "smtp"
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=f"django.core.mail.backends.{_EMAIL_BACKEND}.EmailBackend")
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = _int("EMAIL_PORT", default=25, minimum=1)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = _bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Pacte des solidarités <ne-pas-repondre@localhost>")

# A contract page with its inline rows (fiches, ceilings, payments, signatories, committees…) posts more
# than Django's default 1 000 fields once it holds about a hundred rows.
DATA_UPLOAD_MAX_NUMBER_FIELDS = 10_000

# django-dsfr: its integrity hashes break under hashed static storage.
DSFR_USE_INTEGRITY_CHECKSUMS = False

# Business settings (docs/regles.md): the annual report for year N is due on this day of N+1.
PACTE_RAPPORT_ECHEANCE = env.str("PACTE_RAPPORT_ECHEANCE", default="03-31")
# Reminders of the annual report (manage.py relancer_rapports, run daily): days before its due date, then
# every N days once late; the site's address for the links in the e-mails.
PACTE_RAPPEL_JOURS_AVANT = _int("PACTE_RAPPEL_JOURS_AVANT", default=15)
PACTE_RAPPEL_JOURS_APRES = _int("PACTE_RAPPEL_JOURS_APRES", default=7)
PACTE_URL = env.str("PACTE_URL", default="http://127.0.0.1:8000")


def _pacte_periode(raw: str) -> str:
    """``"2024-2027"``: the Pacte's first and last years, inclusive (read by ``pacte.validators.pacte_years``)."""
    first, sep, last = raw.strip().partition("-")
    years = (first, last)
    if not sep or not all(len(y) == 4 and y.isascii() and y.isdigit() for y in years) or first > last:
        raise ImproperlyConfigured(
            f"PACTE_PERIODE={raw!r} : attendu « AAAA-AAAA », deux années de 4 chiffres, la première "
            "au plus égale à la dernière (ex. 2024-2027)."
        )
    return f"{first}-{last}"


def _montant_max(raw: str):
    """The largest amount one may enter, in euros: a Decimal that fits ``max_digits=14, decimal_places=2``."""
    from decimal import Decimal  # imported here: the settings need Decimal for this value only

    units, _, cents = raw.strip().partition(".")
    well_formed = all(part.isascii() and part.isdigit() for part in (units, cents or "0"))
    if not well_formed or len(units) > 12 or len(cents) > 2 or Decimal(raw.strip()) <= 0:
        raise ImproperlyConfigured(
            f"PACTE_MONTANT_MAX={raw!r} : attendu un montant positif en euros, 12 chiffres au plus avant "
            "le point et 2 après (ex. 100000000 pour 100 M€)."
        )
    return Decimal(raw.strip())


PACTE_PERIODE = _pacte_periode(env.str("PACTE_PERIODE", default="2024-2027"))
PACTE_MONTANT_MAX = _montant_max(env.str("PACTE_MONTANT_MAX", default="100000000"))

SIMPLE_HISTORY_HISTORY_ID_USE_UUID = False

# --- Documents: background tasks, electronic seal (financement/tasks.py, financement/sceau.py) ---------------------
# A convention costs seconds of CPU: its generation, the freeze of a signed document and batch printing run as tasks.
# The database backend keeps them in the database; ``manage.py db_worker`` runs them (``make run`` starts one beside
# the web server; in production, run it as a service of its own). TACHES_IMMEDIATES=true runs each task inside the
# request that asks for it (no worker needed; the tests do so, see settings_test.py).
TASKS = {
    "default": {
        "BACKEND": (
            "django_tasks.backends.immediate.ImmediateBackend"
            if _bool("TACHES_IMMEDIATES", default=False)
            else "django_tasks_db.DatabaseBackend"
        ),
        "QUEUES": ["default"],
    }
}
# The seal (PAdES) put on every document the platform issues: a certificate and its private key (PEM), the key's
# password if it has one, and the certificates of the chain above it if a certification authority issued it.
# ``manage.py creer_certificat_demo`` writes a self-signed demonstration pair where these settings point (``make run``
# does it when the files are missing). Verification trusts this certificate.
PACTE_SCEAU_CERTIFICAT = env.path("PACTE_SCEAU_CERTIFICAT", default=BASE_DIR / "var" / "sceau" / "certificat.pem")
PACTE_SCEAU_CLE = env.path("PACTE_SCEAU_CLE", default=BASE_DIR / "var" / "sceau" / "cle.pem")
PACTE_SCEAU_MOT_DE_PASSE = env.str("PACTE_SCEAU_MOT_DE_PASSE", default="")
PACTE_SCEAU_CHAINE = env.list("PACTE_SCEAU_CHAINE", default=[])
# The largest file one may upload (scan of a signed paper, PDF to verify), in megabytes.
PACTE_DOCUMENT_TAILLE_MAX_MO = _int("PACTE_DOCUMENT_TAILLE_MAX_MO", default=20, minimum=1)

if PRODUCTION:
    SECURE_SSL_REDIRECT = _bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # A refused or missing page (403, 404) is one line, without the traceback of the exception behind it.
    "filters": {"one_line_client_errors": {"()": "pacte.logging.OneLineClientErrors"}},
    "formatters": {"line": {"format": "{asctime} {levelname} {name} {message}", "style": "{"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "line"}},
    "loggers": {
        "django.request": {"filters": ["one_line_client_errors"]},
        "django.security.csrf": {"filters": ["one_line_client_errors"]},
        # axes' own lines mask the username and the address; pacte.auth logs both (never the password).
        "axes": {"level": "WARNING"},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

if DJANGO_ENV == "test":
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    TEMPLATES[0]["OPTIONS"]["string_if_invalid"] = "INVALID_TEMPLATE_VARIABLE<%s>"
