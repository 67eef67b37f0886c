"""Pages for people: sign-in, the OAuth 2 and OAuth 1 consent pages, home.

Every POST carries the Flask-WTF ``csrf_token``. Consent is remembered per
user and client for the scopes granted; the page comes back only for scopes
not granted yet, or when the client sends ``prompt=consent``. A user can only
grant scopes among their own access rights: a request for more is answered
``access_denied`` without a page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import flask
from sqlalchemy import select

from authgate.flask.oauth1 import OAuth1Error
from authgate.oauth2 import OAuth2Error
from authgate.server.app import state
from authgate.server.models import Consent, User, verify_dummy_password

__all__ = ["bp", "current_user"]

bp = flask.Blueprint("pages", __name__)
_SESSION_USER = "user_id"


def current_user() -> User | None:
    user_id = flask.session.get(_SESSION_USER)
    if not isinstance(user_id, int):
        return None
    return state().db.session.get(User, user_id)


def _safe_next(value: str | None) -> str:
    """Only a path on this server: never ``//host`` or ``/\\host``, which browsers leave by."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return flask.url_for("pages.home")
    return value


def _login_redirect() -> flask.Response:
    return flask.redirect(flask.url_for("pages.login", next=flask.request.full_path))


def _error_page(error: str, description: str | None, status: int) -> tuple[str, int]:
    return flask.render_template("error.html", error=error, description=description), status


@bp.get("/")
def home() -> str:
    return flask.render_template("home.html", user=current_user())


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    next_url = flask.request.args.get("next")
    if flask.request.method == "GET":
        return flask.render_template("login.html", next=next_url)
    username = flask.request.form.get("username", "")
    password = flask.request.form.get("password", "")
    user = state().db.session.execute(
        select(User).filter_by(username=username[:80])).scalar_one_or_none()
    if user is None:
        verify_dummy_password(password)
    if user is None or not user.check_password(password):
        return flask.render_template("login.html", next=next_url,
                                     error="Wrong username or password."), 401
    flask.session.clear()  # a fresh session: no fixation across the sign-in
    flask.session[_SESSION_USER] = user.id
    state().audit.record("user.login", actor=user.username)
    return flask.redirect(_safe_next(next_url), 303)


@bp.route("/logout", methods=["GET", "POST"])
def logout() -> Any:
    if flask.request.method == "POST":
        flask.session.clear()
        return flask.redirect(flask.url_for("pages.home"), 303)
    return flask.render_template("home.html", user=current_user())


def _consent_of(user: User, client_id: str) -> Consent | None:
    return state().db.session.execute(
        select(Consent).filter_by(user_id=user.id, client_id=client_id)).scalar_one_or_none()


def _remember(user: User, client_id: str, scope: str) -> None:
    session = state().db.session
    consent = _consent_of(user, client_id)
    granted = scope.split()
    if consent is None:
        session.add(Consent(user_id=user.id, client_id=client_id, scopes=" ".join(granted),
                            granted_at=int(state().settings.clock())))
    else:
        merged = dict.fromkeys([*consent.scopes.split(), *granted])
        consent.scopes = " ".join(merged)
        consent.granted_at = int(state().settings.clock())
    session.commit()


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize() -> Any:
    user = current_user()
    if user is None:
        return _login_redirect()
    server_state = state()
    server = server_state.oauth2.server
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return server.handle_error_response(error)
    client = grant.client
    scope = grant.request.scope or ""
    audit = server_state.audit
    if not user.may_grant(scope):
        audit.record("authorization.refused", actor=user.username,
                     client_id=client.client_id, scope=scope, reason="user rights")
        return server.create_authorization_response(grant_user=None)
    if flask.request.method == "GET":
        consent = _consent_of(user, client.client_id)
        if (flask.request.args.get("prompt") != "consent" and consent is not None
                and consent.covers(scope)):
            audit.record("authorization.granted", actor=user.username,
                         client_id=client.client_id, scope=scope, remembered=True)
            return server.create_authorization_response(grant_user=user)
        return flask.render_template(
            "consent.html", user=user, client_name=client.client_name or client.client_id,
            redirect_host=urlsplit(grant.redirect_uri or "").hostname, scopes=scope.split(),
            action=flask.request.full_path)
    if flask.request.form.get("confirm") == "yes":
        _remember(user, client.client_id, scope)
        audit.record("authorization.granted", actor=user.username, client_id=client.client_id,
                     scope=scope)
        return server.create_authorization_response(grant_user=user)
    audit.record("authorization.denied", actor=user.username, client_id=client.client_id,
                 scope=scope)
    return server.create_authorization_response(grant_user=None)


@bp.route("/activate", methods=["GET", "POST"])
def activate() -> Any:
    """Where a person enters a device's user code (RFC 8628 §3.3), then consents."""
    user = current_user()
    if user is None:
        return _login_redirect()
    flow = state().oauth2.devices
    form = flask.request.form
    user_code = (form.get("user_code") or flask.request.args.get("user_code") or "")[:32]
    if flask.request.method == "GET":
        return flask.render_template("activate.html", user_code=user_code)
    where = {"remote_addr": flask.request.remote_addr, "session_key": f"user:{user.id}"}
    audit = state().audit
    try:
        prompt = flow.lookup(user_code, **where)
        client_id = prompt.credential.client_id
        if "confirm" not in form:
            return flask.render_template(
                "consent.html", user=user, client_name=prompt.client.client_name or client_id,
                redirect_host=None, scopes=list(prompt.scopes),
                action=flask.url_for("pages.activate"), user_code=user_code)
        if form.get("confirm") == "yes" and user.may_grant(" ".join(prompt.scopes)):
            flow.approve(user_code, user, **where)
            audit.record("device.approved", actor=user.username, client_id=client_id)
            return flask.render_template("activate.html", done="approved")
        flow.deny(user_code, **where)
        audit.record("device.denied", actor=user.username, client_id=client_id)
        return flask.render_template("activate.html", done="denied")
    except OAuth2Error as error:
        page = flask.render_template("activate.html", user_code="", error=error.description)
        return page, error.status, dict(error.headers)


@bp.route("/oauth1/authorize", methods=["GET", "POST"])
def oauth1_authorize() -> Any:
    user = current_user()
    if user is None:
        return _login_redirect()
    server = state().oauth1.server
    try:
        if flask.request.method == "GET":
            request = server.check_authorization_request()
            return flask.render_template(
                "consent.html", user=user,
                client_name=getattr(request.client, "client_name", "") or request.client_id,
                redirect_host=None if request.is_oob
                else urlsplit(request.redirect_uri or "").hostname,
                scopes=[], action=flask.request.full_path)
        allowed = flask.request.form.get("confirm") == "yes"
        response = server.create_authorization_response(user if allowed else None)
    except OAuth1Error as error:
        return _error_page(error.error, error.description, error.status)
    state().audit.record("oauth1.authorization." + ("granted" if allowed else "denied"),
                         actor=user.username)
    return response
