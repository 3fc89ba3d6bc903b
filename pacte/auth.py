"""Authentication plumbing: client address, login throttling (django-axes), the login log, session lifetime,
and the password rule against passwords built from the username.

``pacte.apps.PacteConfig.ready`` imports this module, which connects the login/logout log receivers.
"""

import ipaddress
import logging
import re
import time
import unicodedata
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.core.exceptions import ValidationError
from django.dispatch import receiver
from django.shortcuts import render
from django.utils import timezone

logger = logging.getLogger("pacte.auth")

# --- Client address ------------------------------------------------------------------------------------------------


def client_ip(request) -> str | None:
    """The client's IP address: REMOTE_ADDR, or, behind ``PROXY_COUNT`` trusted reverse proxies, the address the
    outermost of them saw, read from the right of X-Forwarded-For.

    Entries to the left of those the proxies appended are written by the client and never trusted. A missing or
    malformed header falls back to REMOTE_ADDR. Also django-axes' ``AXES_CLIENT_IP_CALLABLE``.
    """
    remote = _valid_ip(request.META.get("REMOTE_ADDR"))
    count = settings.PROXY_COUNT
    if count == 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote
    return _valid_ip(forwarded[-count]) or remote


def _valid_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


# --- Login throttling (django-axes) -------------------------------------------------------------------------------


class AxesHandler(AxesDatabaseHandler):
    """django-axes' database handler, except that a successful login clears only that account's failures.

    axes' own reset deletes every attempt matching any lockout parameter, so also every failure from the same
    address: whoever holds one valid account could then clear, by logging in, the failures its address piled up
    against other accounts, and guess their passwords without ever being locked.
    """

    def reset_user_attempts(self, request, credentials: dict | None = None) -> int:
        username = get_client_username(request, credentials)
        if not username:
            return 0
        count, _ = AccessAttempt.objects.filter(username=username).delete()
        return count


def lockout_response(request, original_response=None, credentials: dict | None = None):
    """The page answered to a locked-out login attempt (``AXES_LOCKOUT_CALLABLE``): when to retry, in French.

    Every attempt during the lock restarts the cool-off, so the lock ends one cool-off after this attempt.
    """
    cool_off = get_cool_off(request) or timedelta(0)
    minutes = max(1, round(cool_off.total_seconds() / 60))
    context = {
        "title": "Connexion temporairement bloquée",
        "failure_limit": get_failure_limit(request, credentials),
        "cooloff_minutes": minutes,
        "retry_at": timezone.now() + cool_off,
    }
    return render(request, "pacte/verrouillage.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


# --- The login log: one line per event, username and address, never the password -----------------------------------


def _username(credentials: dict) -> str | None:
    return credentials.get("username")


@receiver(user_logged_in, dispatch_uid="pacte.auth.log_login")
def log_login(sender, request, user, **kwargs) -> None:
    logger.info("login succeeded user=%r ip=%r", user.get_username(), _ip(request))


@receiver(user_login_failed, dispatch_uid="pacte.auth.log_login_failed")
def log_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # Django has already masked the password in ``credentials``; we only ever read the username.
    logger.warning("login failed user=%r ip=%r", _username(credentials), _ip(request))


@receiver(user_logged_out, dispatch_uid="pacte.auth.log_logout")
def log_logout(sender, request, user, **kwargs) -> None:
    logger.info("logout user=%r ip=%r", user.get_username() if user else None, _ip(request))


@receiver(user_locked_out, dispatch_uid="pacte.auth.log_locked_out")
def log_locked_out(sender, request, username, ip_address, **kwargs) -> None:
    logger.warning("login locked out user=%r ip=%r", username, ip_address)


def _ip(request) -> str | None:
    return client_ip(request) if request is not None else None


# --- Session lifetime ---------------------------------------------------------------------------------------------

SESSION_LOGIN_TIME_KEY = "pacte_login_time"


@receiver(user_logged_in, dispatch_uid="pacte.auth.stamp_login_time")
def stamp_login_time(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_LOGIN_TIME_KEY] = int(time.time())


class SessionAbsoluteTimeoutMiddleware:
    """Logs out a session ``SESSION_ABSOLUTE_TIMEOUT`` seconds after its login, however active it was.

    The idle timeout is Django's own (``SESSION_COOKIE_AGE`` renewed on every request); this bounds the life of
    a stolen session cookie. Sits after AuthenticationMiddleware and before LoginRequiredMiddleware, which then
    sends the now anonymous visitor to the login page.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            logged_in_at = request.session.get(SESSION_LOGIN_TIME_KEY)
            if logged_in_at is None:
                # A session opened before this rule existed: its clock starts now.
                request.session[SESSION_LOGIN_TIME_KEY] = int(time.time())
            elif time.time() - logged_in_at > settings.SESSION_ABSOLUTE_TIMEOUT:
                logger.info("session expired user=%r ip=%r", request.user.get_username(), client_ip(request))
                logout(request)
        return self.get_response(request)


# --- Passwords ----------------------------------------------------------------------------------------------------


def _letters_and_digits(value: str) -> str:
    """Lowercase, accents removed, only letters and digits: ``Ddets-05`` and ``ddets05`` compare equal."""
    decomposed = unicodedata.normalize("NFKD", value.casefold())
    return "".join(char for char in decomposed if char.isalnum() and not unicodedata.combining(char))


class UsernamePasswordValidator:
    """Refuses a password built from the username: containing it (so also twice, or followed by digits), containing
    it reversed, or made of nothing but its letters, forwards or reversed, repeated, with digits or symbols.

    Usernames shorter than ``min_length`` letters and digits are not checked (they would refuse too much).
    Case, accents and separators are ignored. ``UserAttributeSimilarityValidator`` misses these: for
    ``ddets05``, ``ddets05ddets05`` is only 67 % similar.
    """

    message = "Le mot de passe ne doit pas reprendre l'identifiant, même répété, inversé ou complété de chiffres."

    def __init__(self, min_length: int = 3):
        self.min_length = min_length

    def validate(self, password: str, user=None) -> None:
        if user is None or not (username := user.get_username()):
            return
        name, secret = _letters_and_digits(username), _letters_and_digits(password)
        if len(name) < self.min_length:
            return
        name_letters, secret_letters = re.sub(r"\d", "", name), re.sub(r"\d", "", secret)
        built_from_name = name in secret or name[::-1] in secret
        if len(name_letters) >= self.min_length and secret_letters:
            pattern = f"(?:{re.escape(name_letters)}|{re.escape(name_letters[::-1])})+"
            built_from_name = built_from_name or re.fullmatch(pattern, secret_letters) is not None
        if built_from_name:
            raise ValidationError(self.message, code="password_contains_username")

    def get_help_text(self) -> str:
        return (
            "Votre mot de passe ne doit pas reprendre votre identifiant, même répété, inversé ou complété de chiffres."
        )
