"""Authentication: login throttling, the login log, session lifetime, the username password rule, the French error
pages and the one-line log of refused pages."""

import logging
import sys
import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.models import Session
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import path, reverse
from django.utils import dateformat, timezone

from pacte.auth import SESSION_LOGIN_TIME_KEY, UsernamePasswordValidator, client_ip
from pacte.logging import OneLineClientErrors
from pacte.urls import urlpatterns as project_urlpatterns
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "mot-de-passe-de-test"  # UserFactory's
LOGIN = "/connexion/"  # reverse("login"); the back-office's own login (/admin/login/) is throttled the same way
ADMIN_LOGIN = "/admin/login/"


def _raise(exception):
    def view(request):
        raise exception

    return view


# The project's URLs plus three that fail on purpose, for the error pages (``@pytest.mark.urls(__name__)``).
urlpatterns = [
    *project_urlpatterns,
    path("essai/interdit/", _raise(PermissionDenied())),
    path("essai/absent/", _raise(Http404())),
    path("essai/panne/", _raise(RuntimeError("panne simulée"))),
]


@pytest.fixture
def axes_on(settings):
    """Login throttling as in production (off by default in the tests, see pacte/settings_test.py)."""
    settings.AXES_ENABLED = True
    return settings


@pytest.fixture
def ddets05(db):
    return UserFactory(username="ddets05")


@pytest.fixture
def cd05(db):
    return UserFactory(username="cd05")


def login(client, username, password, ip="10.0.0.1", url=LOGIN, **headers):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip, **headers)


def logged_in(response) -> bool:
    return response.status_code == 302 and "_auth_user_id" in response.client.session


def lock(client, username, ip="10.0.0.1", limit=5):
    for _ in range(limit):
        response = login(client, username, "mauvais-mot-de-passe", ip=ip)
    assert response.status_code == 429
    return response


# --- Login throttling -----------------------------------------------------------------------------------------------


def test_the_login_page_is_the_front_offices():
    assert reverse("login") == LOGIN


def test_production_settings_throttle_logins():
    from django.conf import settings

    assert settings.AUTHENTICATION_BACKENDS[0] == "axes.backends.AxesStandaloneBackend"
    assert settings.MIDDLEWARE[-1] == "axes.middleware.AxesMiddleware"
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_COOLOFF_TIME == timedelta(minutes=15)
    assert settings.AXES_LOCKOUT_PARAMETERS == ["username", "ip_address"]
    assert settings.AXES_RESET_ON_SUCCESS is True


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_one_failure_below_the_limit_the_right_password_still_works(client, axes_on, ddets05, limit):
    axes_on.AXES_FAILURE_LIMIT = limit
    for _ in range(limit - 1):
        response = login(client, "ddets05", "mauvais-mot-de-passe")
        assert response.status_code == 200
        assert "Saisissez un nom d’utilisateur et un mot de passe valides." in response.content.decode()
    assert logged_in(login(client, "ddets05", PASSWORD))


@pytest.mark.parametrize("limit", [1, 3, 5])
def test_at_the_limit_even_the_right_password_is_refused_with_the_french_lockout_page(client, axes_on, ddets05, limit):
    axes_on.AXES_FAILURE_LIMIT = limit
    lock(client, "ddets05", limit=limit)

    before = timezone.localtime()
    response = login(client, "ddets05", PASSWORD)
    after = timezone.localtime()

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    html = response.content.decode()
    assert "<h1>Connexion temporairement bloquée</h1>" in html
    text = " ".join(html.split())
    plural = "s" if limit > 1 else ""
    assert f"Après {limit} tentative{plural} de connexion échouée{plural} pour ce compte ou depuis votre" in text
    assert "les connexions sont bloquées pendant 15 minutes." in text
    retry_times = {dateformat.format(t + timedelta(minutes=15), r"G \h i") for t in (before, after)}
    assert any(f"Réessayez à partir de <strong>{t}</strong>" in html for t in retry_times), retry_times
    assert "INVALID_TEMPLATE_VARIABLE" not in html


def test_the_back_offices_login_still_works_and_is_throttled_too(client, axes_on, ddets05):
    assert logged_in(login(client, "ddets05", PASSWORD, url=ADMIN_LOGIN))
    client.logout()
    for _ in range(5):
        response = login(client, "ddets05", "mauvais-mot-de-passe", url=ADMIN_LOGIN)
    assert response.status_code == 429
    # Locked on both pages: the lock is the account's and the address's, not the page's.
    assert login(client, "ddets05", PASSWORD, url=ADMIN_LOGIN).status_code == 429
    assert login(client, "ddets05", PASSWORD).status_code == 429
    html = login(client, "ddets05", PASSWORD).content.decode()
    assert f'href="{reverse("login")}">Page de connexion</a>' in html
    assert f'href="{reverse("password_reset")}">Mot de passe oublié ?</a>' in html


@pytest.mark.parametrize(
    ("username", "ip", "allowed"),
    [
        ("cd05", "10.0.0.2", True),  # another account from another address: not affected
        ("ddets05", "10.0.0.2", False),  # the locked account, from anywhere
        ("cd05", "10.0.0.1", False),  # any account, from the locked address
    ],
)
def test_the_lock_holds_the_account_and_the_address(client, axes_on, ddets05, cd05, username, ip, allowed):
    lock(client, "ddets05", ip="10.0.0.1")
    response = login(Client(), username, PASSWORD, ip=ip)
    assert logged_in(response) is allowed
    assert response.status_code == (302 if allowed else 429)


@pytest.mark.parametrize(
    ("age", "allowed"),
    [
        (timedelta(minutes=15) - timedelta(seconds=5), False),  # cool-off not over
        (timedelta(minutes=15) + timedelta(seconds=1), True),  # just over
    ],
)
def test_the_lock_ends_after_the_cool_off(client, axes_on, ddets05, age, allowed):
    lock(client, "ddets05")
    AccessAttempt.objects.update(attempt_time=timezone.now() - age)  # move the failures back in time
    assert logged_in(login(client, "ddets05", PASSWORD)) is allowed


def test_a_success_clears_that_accounts_failures_only(client, axes_on, ddets05, cd05):
    for _ in range(4):
        login(client, "ddets05", "mauvais-mot-de-passe")
    # Someone holding another valid account logs in from the same address: ddets05's failures stay.
    assert logged_in(login(Client(), "cd05", PASSWORD))
    assert AccessAttempt.objects.filter(username="ddets05").exists()
    assert login(client, "ddets05", "mauvais-mot-de-passe").status_code == 429

    # The owner's own success clears them.
    AccessAttempt.objects.all().delete()
    for _ in range(4):
        login(client, "ddets05", "mauvais-mot-de-passe")
    assert logged_in(login(client, "ddets05", PASSWORD))
    assert not AccessAttempt.objects.filter(username="ddets05").exists()
    for _ in range(4):
        assert login(Client(), "ddets05", "mauvais-mot-de-passe").status_code == 200


def test_failures_are_stored_without_the_password(client, axes_on, ddets05):
    login(client, "ddets05", "secret-tape-par-erreur")
    attempt = AccessAttempt.objects.get()
    assert "secret-tape-par-erreur" not in attempt.post_data
    assert attempt.ip_address == "10.0.0.1"


def test_behind_a_proxy_the_lock_follows_the_forwarded_address(client, axes_on, ddets05, cd05):
    axes_on.PROXY_COUNT = 1
    for _ in range(5):
        login(client, f"inconnu{_}", "x", ip="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.7")
    # Same proxy address, another client: not locked.
    assert logged_in(login(Client(), "cd05", PASSWORD, ip="10.9.9.9", HTTP_X_FORWARDED_FOR="203.0.113.8"))
    # The locked client, whatever it writes in front of the proxy's entry.
    spoofed = "198.51.100.1, 203.0.113.7"
    assert login(Client(), "ddets05", PASSWORD, ip="10.9.9.9", HTTP_X_FORWARDED_FOR=spoofed).status_code == 429


@pytest.mark.parametrize(
    ("proxy_count", "remote_addr", "forwarded_for", "expected"),
    [
        (0, "10.0.0.1", "203.0.113.7", "10.0.0.1"),  # no proxy declared: the header is ignored
        (1, "10.0.0.1", "203.0.113.7", "203.0.113.7"),
        (1, "10.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the client's own entry is not trusted
        (2, "10.0.0.1", "198.51.100.1, 203.0.113.7, 10.0.0.9", "203.0.113.7"),
        (1, "10.0.0.1", "", "10.0.0.1"),  # header missing: the direct peer
        (2, "10.0.0.1", "203.0.113.7", "10.0.0.1"),  # fewer entries than proxies
        (1, "10.0.0.1", "pas-une-adresse", "10.0.0.1"),  # malformed
        (1, "10.0.0.1", " 2001:db8::1 ", "2001:db8::1"),  # IPv6, spaces
        (0, "", "", None),
        (0, "nimporte", "", None),
    ],
)
def test_client_ip(settings, proxy_count, remote_addr, forwarded_for, expected):
    settings.PROXY_COUNT = proxy_count
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected


# --- The login log --------------------------------------------------------------------------------------------------


def _auth_lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "pacte.auth"]


def test_logins_failures_and_logouts_are_logged_one_line_each_without_the_password(client, ddets05, caplog):
    caplog.set_level(logging.INFO, logger="pacte.auth")
    login(client, "ddets05", "secret-tape-par-erreur", ip="10.1.2.3")
    login(client, "ddets05", PASSWORD, ip="10.1.2.3")
    client.post(reverse("logout"), REMOTE_ADDR="10.1.2.3")

    assert _auth_lines(caplog) == [
        "login failed user='ddets05' ip='10.1.2.3'",
        "login succeeded user='ddets05' ip='10.1.2.3'",
        "logout user='ddets05' ip='10.1.2.3'",
    ]
    assert [r.levelname for r in caplog.records if r.name == "pacte.auth"] == ["WARNING", "INFO", "INFO"]
    assert "secret-tape-par-erreur" not in caplog.text
    assert PASSWORD not in caplog.text


def test_a_username_cannot_forge_a_log_line(client, caplog):
    caplog.set_level(logging.INFO, logger="pacte.auth")
    login(client, "x\nlogin succeeded user='admin'", "x", ip="10.1.2.3")
    assert _auth_lines(caplog) == ["login failed user=\"x\\nlogin succeeded user='admin'\" ip='10.1.2.3'"]


def test_a_lockout_is_logged(client, axes_on, ddets05, caplog):
    caplog.set_level(logging.INFO, logger="pacte.auth")
    lock(client, "ddets05", ip="10.1.2.3")
    assert _auth_lines(caplog)[-2:] == [
        "login locked out user='ddets05' ip='10.1.2.3'",
        "login failed user='ddets05' ip='10.1.2.3'",
    ]


# --- Session lifetime -----------------------------------------------------------------------------------------------


@pytest.fixture
def session_renewed(settings):
    """Sessions saved on every request, as in production (off by default in the tests, see settings_test)."""
    settings.SESSION_SAVE_EVERY_REQUEST = True
    return settings


def _session(client) -> Session:
    return Session.objects.get(session_key=client.session.session_key)


def test_idle_timeout_settings():
    from django.conf import settings

    assert settings.SESSION_IDLE_TIMEOUT == 7200
    assert settings.SESSION_COOKIE_AGE == settings.SESSION_IDLE_TIMEOUT


@pytest.mark.parametrize(
    ("expires_in", "still_logged_in"),
    [
        (timedelta(seconds=-1), False),  # idle one second too long
        (timedelta(seconds=5), True),  # five seconds left: the request renews the whole timeout
    ],
)
def test_a_session_ends_after_the_idle_timeout(client, session_renewed, ddets05, expires_in, still_logged_in):
    client.force_login(ddets05)
    Session.objects.filter(pk=client.session.session_key).update(expire_date=timezone.now() + expires_in)

    response = client.get(reverse("espace:accueil"))

    if still_logged_in:
        assert response.status_code == 200
        renewed = _session(client).expire_date - timezone.now()
        assert timedelta(seconds=7190) < renewed <= timedelta(seconds=7200)
    else:
        assert response.status_code == 302
        assert response["Location"] == "/connexion/?next=/"


def test_renewing_the_session_costs_one_update(client, session_renewed, ddets05):
    client.force_login(ddets05)
    client.get(reverse("espace:accueil"))
    with CaptureQueriesContext(connection) as queries:
        client.get(reverse("espace:accueil"))
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "django_session"')]
    assert len(updates) == 1


@pytest.mark.parametrize(
    ("logged_in_for", "still_logged_in"),
    [
        (12 * 3600 - 5, True),
        (12 * 3600 + 1, False),
    ],
)
def test_a_session_ends_at_the_absolute_timeout_however_active(client, ddets05, caplog, logged_in_for, still_logged_in):
    caplog.set_level(logging.INFO, logger="pacte.auth")
    client.force_login(ddets05)
    session = client.session
    session[SESSION_LOGIN_TIME_KEY] = int(time.time()) - logged_in_for
    session.save()

    response = client.get(reverse("espace:accueil"), REMOTE_ADDR="10.1.2.3")

    assert (response.status_code == 200) is still_logged_in
    if not still_logged_in:
        assert response["Location"] == "/connexion/?next=/"
        assert "session expired user='ddets05' ip='10.1.2.3'" in _auth_lines(caplog)


def test_a_login_starts_the_absolute_clock_and_an_older_session_starts_it_now(client, ddets05):
    before = int(time.time())
    client.force_login(ddets05)
    assert client.session[SESSION_LOGIN_TIME_KEY] >= before

    session = client.session
    del session[SESSION_LOGIN_TIME_KEY]  # a session opened before the rule existed
    session.save()
    assert client.get(reverse("espace:accueil")).status_code == 200
    assert client.session[SESSION_LOGIN_TIME_KEY] >= before


# --- Passwords ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "refused"),
    [
        ("ddets05", "ddets05ddets05", True),  # the case of the security review
        ("ddets05", "ddets05", True),
        ("ddets05", "DDETS05-2024!", True),  # case and separators ignored
        ("ddets05", "d.d.e.t.s.0.5.x", True),
        ("ddets05", "mon-ddets05-a-moi", True),  # contained anywhere
        ("ddets05", "50stedd-50stedd", True),  # reversed
        ("ddets05", "ddets2024ddets", True),  # its letters repeated, other digits
        ("ddets05", "ddets-2024-!!", True),  # its letters and digits only
        ("ddets05", "STEDD_1234567", True),  # its letters reversed
        ("ddets05", "Marianne-solidaire-2024", False),
        ("ddets05", "ddets-et-cd05-travaillent", False),  # its letters among other words: not built from it
        ("élodie.m", "ELODIEM-2025!", True),  # accents ignored
        ("cd05", "cd05cd05cd05", True),
        ("cd05", "abcd-2024-lyon-sud", False),  # letters "cd" too short to be checked alone
        ("ab", "abababababab", False),  # usernames under 3 letters and digits are not checked
        ("abc", "abcabcabcabc", True),  # 3: checked
        ("ddets05", "", False),  # empty passwords are the other validators' business
    ],
)
def test_password_built_from_the_username_is_refused(username, password, refused):
    user = UserFactory.build(username=username)
    validator = UsernamePasswordValidator()
    if refused:
        with pytest.raises(ValidationError) as error:
            validator.validate(password, user)
        assert error.value.messages == [
            "Le mot de passe ne doit pas reprendre l'identifiant, même répété, inversé ou complété de chiffres."
        ]
        assert error.value.error_list[0].code == "password_contains_username"
    else:
        validator.validate(password, user)


def test_password_rule_without_a_user_accepts():
    UsernamePasswordValidator().validate("ddets05ddets05", None)


def test_password_rule_is_among_the_projects_validators(ddets05):
    with pytest.raises(ValidationError) as error:
        validate_password("ddets05ddets05", ddets05)
    assert "Le mot de passe ne doit pas reprendre l'identifiant" in " ".join(error.value.messages)
    validate_password("Marianne-solidaire-2024", ddets05)
    assert "identifiant" in UsernamePasswordValidator().get_help_text()


# --- French error pages (DEBUG is off in the tests) -----------------------------------------------------------------


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "status", "title"),
    [
        ("/cette-page-n-existe-pas/", 404, "Page introuvable"),
        ("/essai/absent/", 404, "Page introuvable"),
        ("/essai/interdit/", 403, "Accès refusé"),
        ("/essai/panne/", 500, "Erreur inattendue"),
    ],
)
def test_error_pages_are_french_dsfr_pages(settings, ddets05, url, status, title):
    assert settings.DEBUG is False
    client = Client(raise_request_exception=False)
    client.force_login(ddets05)
    response = client.get(url)
    assert response.status_code == status
    html = response.content.decode()
    assert f"<h1>{title}</h1>" in html
    assert f"Erreur {status}" in html
    assert 'href="/"' in html and "Page d'accueil" in html
    assert '<html lang="fr"' in html
    assert 'class="fr-header"' in html
    assert "INVALID_TEMPLATE_VARIABLE" not in html


def test_an_anonymous_visitor_gets_the_french_404(client):
    response = client.get("/cette-page-n-existe-pas/")
    assert response.status_code == 404
    assert "<h1>Page introuvable</h1>" in response.content.decode()


def test_the_500_page_renders_with_an_empty_context_and_no_query(django_assert_num_queries):
    from django.views.defaults import server_error

    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    html = response.content.decode()
    assert response.status_code == 500
    assert "<h1>Erreur inattendue</h1>" in html
    assert 'href="/static/dsfr/dist/dsfr/dsfr.min.css"' in html
    assert "INVALID_TEMPLATE_VARIABLE" not in html


def test_csrf_failure_page_is_french(ddets05):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ddets05)
    response = client.post(reverse("admin:logout"))
    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Formulaire expiré ou refusé</h1>" in html
    assert "rien n'a été enregistré" in html
    assert "INVALID_TEMPLATE_VARIABLE" not in html


# --- A refused page is one log line -----------------------------------------------------------------------------------


def _request_records(caplog, logger="django.request"):
    return [r for r in caplog.records if r.name == logger]


@pytest.mark.urls(__name__)
def test_a_403_is_logged_on_one_line_with_method_path_and_user(client, ddets05, caplog):
    client.force_login(ddets05)
    client.get("/essai/interdit/")
    [record] = _request_records(caplog)
    assert record.getMessage() == (
        "Forbidden (Permission denied): /essai/interdit/ method='GET' user='ddets05' status=403"
    )
    assert record.exc_info is None
    assert "Traceback" not in caplog.text
    assert "\n" not in record.getMessage()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "logged_in", "message"),
    [
        ("/essai/absent/", True, "Not Found: /essai/absent/ method='POST' user='ddets05' status=404"),
        ("/nulle-part/", False, "Not Found: /nulle-part/ method='POST' user=None status=404"),
    ],
)
def test_a_404_is_logged_on_one_line(ddets05, url, logged_in, message, caplog):
    client = Client()
    if logged_in:
        client.force_login(ddets05)
    client.post(url)
    [record] = _request_records(caplog)
    assert record.getMessage() == message
    assert record.exc_info is None


@pytest.mark.urls(__name__)
def test_a_500_keeps_its_traceback(ddets05, caplog):
    client = Client(raise_request_exception=False)
    client.force_login(ddets05)
    client.get("/essai/panne/")
    [record] = _request_records(caplog)
    assert record.levelname == "ERROR"
    assert record.exc_info is not None
    assert "RuntimeError: panne simulée" in caplog.text


def test_a_csrf_refusal_is_logged_on_one_line_with_the_user(ddets05, caplog):
    client = Client(enforce_csrf_checks=True)
    client.force_login(ddets05)
    client.post(reverse("admin:logout"))
    [record] = _request_records(caplog, "django.security.csrf")
    assert record.getMessage().startswith("Forbidden (CSRF cookie not set.): /admin/logout/ method='POST'")
    assert record.getMessage().endswith("user='ddets05' status=403")


@pytest.mark.parametrize(
    ("status", "one_line"),
    [(400, False), (403, True), (404, True), (405, False), (500, False)],
)
def test_the_filter_only_shortens_403_and_404(status, one_line):
    try:
        raise PermissionDenied
    except PermissionDenied:
        exc_info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "Refused: %s", ("/x/",), exc_info)
    record.status_code = status
    record.request = RequestFactory().get("/x/")  # no ``user``: refused before authentication

    assert OneLineClientErrors().filter(record) is True

    assert (record.exc_info is None) is one_line
    expected = f"Refused: /x/ method='GET' user=None status={status}" if one_line else "Refused: /x/"
    assert record.getMessage() == expected


def test_a_bad_request_gets_the_french_400(client):
    """A host not in ALLOWED_HOSTS is a bad request (400), answered in French."""
    response = client.get("/", HTTP_HOST="pirate.example.com")
    assert response.status_code == 400
    html = response.content.decode()
    assert "<h1>Requête invalide</h1>" in html and "Erreur 400" in html


def test_favicon_mene_a_l_icone_du_dsfr_sans_connexion(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("dsfr/dist/favicon/favicon.ico")
