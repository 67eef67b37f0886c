"""Sign-up, sign-in and sign-out.

Sign-in starts a new session (the old one, with its CSRF token, is thrown
away) so nothing planted in a browser before sign-in survives it (session
fixation). Failed sign-ins are counted per client address and per username
in the server's cache (shared through Redis when configured); past the limit
the answer is 429 with ``Retry-After``, without checking the password, so a
guesser learns nothing more. Unknown usernames cost the same argon2 time as
known ones.
"""

from __future__ import annotations

import secrets
from typing import Any

import flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from authgate.server import admin
from authgate.server.app import state
from authgate.server.models import User, verify_dummy_password
from authgate.server.ratelimit import Limit, RateLimiter
from authgate.server.views.common import SESSION_USER, bp, current_user, safe_next
from authgate.server.views.scopes import offered_rights, parse_rights

__all__ = ["LOGIN_PER_ADDRESS", "LOGIN_PER_USERNAME", "SIGNUP_PER_ADDRESS", "check_password",
           "check_username", "start_session"]

LOGIN_PER_USERNAME = Limit("login-user", attempts=5, window=15 * 60)
LOGIN_PER_ADDRESS = Limit("login-addr", attempts=30, window=15 * 60)
SIGNUP_PER_ADDRESS = Limit("signup-addr", attempts=20, window=60 * 60)
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
#: Refused whatever their length: the first guesses of every password list.
COMMON_PASSWORDS = frozenset({
    "password", "password1", "password12", "password123", "1234567890", "12345678910",
    "qwertyuiop", "iloveyou12", "letmein123", "welcome123", "administrator", "changeme12",
})


def _limiter() -> RateLimiter:
    return RateLimiter(state().cache, state().settings.clock)


def _address() -> str:
    return flask.request.remote_addr or "unknown"


def start_session(user: User) -> None:
    """A brand-new session for ``user``: cleared, with a fresh random id."""
    flask.session.clear()
    flask.session["sid"] = secrets.token_urlsafe(16)
    flask.session[SESSION_USER] = user.id
    flask.g.pop("authgate_user", None)


def check_username(username: str) -> str | None:
    if not username:
        return "Choose a username."
    if len(username) > 80 or any(c.isspace() or ord(c) < 32 for c in username):
        return "At most 80 characters, without spaces."
    return None


def check_password(password: str, username: str) -> str | None:
    if len(password) < MIN_PASSWORD:
        return f"Use at least {MIN_PASSWORD} characters."
    if len(password) > MAX_PASSWORD:
        return f"Use at most {MAX_PASSWORD} characters."
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4 or \
            (len(username) >= 3 and username.lower() in lowered):
        return "This password is too easy to guess; choose another."
    return None


def _too_many(template: str, retry_after: int, **context: Any) -> flask.Response:
    minutes = max(1, round(retry_after / 60))
    page = flask.render_template(
        template, error=f"Too many attempts. Try again in about {minutes} minute"
                        f"{'s' if minutes != 1 else ''}.", **context)
    return flask.make_response(page, 429, {"Retry-After": str(retry_after)})


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> Any:
    settings = state().settings
    next_url = flask.request.args.get("next")
    choices = offered_rights(settings)
    form = flask.request.form
    chosen = form.getlist("scope") if flask.request.method == "POST" else \
        [c.value for c in choices[:1]]
    context = {"next": next_url, "choices": choices, "chosen": set(chosen),
               "username": form.get("username", "")[:80]}
    if flask.request.method == "GET":
        return flask.render_template("signup.html", errors={}, **context)
    limiter = _limiter()
    wait = limiter.retry_after(SIGNUP_PER_ADDRESS, _address())
    if wait is not None:
        return _too_many("signup.html", wait, errors={}, **context)
    username = form.get("username", "").strip()
    password = form.get("password", "")
    errors: dict[str, str] = {}
    if message := check_username(username):
        errors["username"] = message
    if message := check_password(password, username):
        errors["password"] = message
    try:
        rights = parse_rights(settings, chosen)
    except ValueError as exc:
        errors["scope"] = str(exc).capitalize() + "."
    if not errors:
        limiter.hit(SIGNUP_PER_ADDRESS, _address())
        try:
            user = admin.create_user(username, password, rights)
        except ValueError as exc:  # the username is taken (or a rule of admin's)
            errors["username"] = "This username is taken." if "exists" in str(exc) \
                else str(exc).capitalize() + "."
        except IntegrityError:  # taken a moment ago, by a concurrent sign-up
            state().db.session.rollback()
            errors["username"] = "This username is taken."
    if errors:
        return flask.render_template("signup.html", errors=errors, **context), 400
    start_session(user)
    return flask.redirect(safe_next(next_url), 303)


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = flask.request.args.get("next")
    if flask.request.method == "GET":
        return flask.render_template("login.html", next=next_url, username="")
    username = flask.request.form.get("username", "")[:80]
    password = flask.request.form.get("password", "")[:MAX_PASSWORD]
    limiter, address, key = _limiter(), _address(), username.strip().lower()
    waits = [limiter.retry_after(LOGIN_PER_ADDRESS, address),
             limiter.retry_after(LOGIN_PER_USERNAME, key)]
    if any(w is not None for w in waits):
        state().audit.record("user.login.limited", actor=username or None)
        return _too_many("login.html", max(w for w in waits if w is not None),
                         next=next_url, username=username)
    user = state().db.session.execute(
        select(User).filter_by(username=username)).scalar_one_or_none()
    if user is None:
        verify_dummy_password(password)
    if user is None or not user.check_password(password):
        limiter.hit(LOGIN_PER_ADDRESS, address)
        limiter.hit(LOGIN_PER_USERNAME, key)
        state().audit.sign_in(username, success=False, remote_addr=address)
        page = flask.render_template("login.html", next=next_url, username=username,
                                     error="Wrong username or password.")
        return page, 401
    start_session(user)
    state().audit.sign_in(user.username, success=True, remote_addr=address)
    return flask.redirect(safe_next(next_url), 303)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    if flask.request.method == "POST":
        flask.session.clear()
        return flask.redirect(flask.url_for("pages.login"), 303)
    if current_user() is None:
        return flask.redirect(flask.url_for("pages.login"))
    return flask.render_template("logout.html")
