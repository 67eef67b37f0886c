"""Consent pages: OAuth 2 authorization (code, implicit), device activation, OAuth 1.

Each shows the client's name, the host it sends the user back to and the
scopes asked for, described in words, and posts ``confirm=yes|no`` with the
CSRF token. Consent is remembered per user and client for the scopes granted:
the page comes back only for scopes not granted yet, or when the client sends
``prompt=consent``. A user can only grant scopes among their own access
rights: a request for more is answered ``access_denied`` without a page.
Errors the client must not see (unknown client, unregistered redirect URI)
are shown here as a page and never redirected.
"""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

import flask

from authgate.flask.oauth1 import OAuth1Error
from authgate.oauth2 import OAuth2Error
from authgate.server.app import state
from authgate.server.models import Consent, User
from authgate.server.views.common import bp, current_user, error_page, login_required
from authgate.server.views.scopes import scope_items
from authgate.sqla.rows import RowLoader

__all__ = ["remember_consent"]


_CONSENT = RowLoader(Consent, Consent.user_id, Consent.client_id)


def _consent_of(user: User, client_id: str) -> Consent | None:
    return cast("Consent | None", _CONSENT.load(state().db.session, user.id, client_id))


def remember_consent(user: User, client_id: str, scope: str) -> None:
    """Add ``scope`` to what ``user`` granted ``client_id`` (listed, and revocable, on home)."""
    session = state().db.session
    consent = _consent_of(user, client_id)
    now = int(state().settings.clock())
    if consent is None:
        session.add(Consent(user_id=user.id, client_id=client_id,
                            scopes=" ".join(dict.fromkeys(scope.split())), granted_at=now))
    else:
        consent.scopes = " ".join(dict.fromkeys([*consent.scopes.split(), *scope.split()]))
        consent.granted_at = now
    session.commit()


def _consent_page(user: User, client_name: str, redirect_uri: str | None, scopes: Any,
                  action: str, kind: str, **extra: Any) -> str:
    return flask.render_template(
        "consent.html", user=user, client_name=client_name, kind=kind,
        redirect_host=urlsplit(redirect_uri).hostname if redirect_uri else None,
        scopes=scope_items(scopes), action=action, **extra)


def _authorization_error(server: Any, error: OAuth2Error) -> flask.Response:
    response: flask.Response = server.handle_error_response(error)
    if response.status_code in (302, 303):
        return response  # the client and its redirect URI were validated
    return error_page(error.error, error.description, response.status_code)


@bp.route("/oauth/authorize", methods=["GET", "POST"])
@login_required
def authorize() -> Any:
    user = current_user()
    assert user is not None
    server_state = state()
    server = server_state.oauth2.server
    try:
        grant = server.get_consent_grant(end_user=user)
    except OAuth2Error as error:
        return _authorization_error(server, error)
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
        return _consent_page(user, client.client_name or client.client_id, grant.redirect_uri,
                             scope, flask.request.full_path, "oauth2")
    if flask.request.form.get("confirm") == "yes":
        remember_consent(user, client.client_id, scope)
        audit.record("authorization.granted", actor=user.username, client_id=client.client_id,
                     scope=scope)
        return server.create_authorization_response(grant_user=user)
    audit.record("authorization.denied", actor=user.username, client_id=client.client_id,
                 scope=scope)
    return server.create_authorization_response(grant_user=None)


@bp.route("/activate", methods=["GET", "POST"])
@login_required
def activate() -> Any:
    """Where a person enters a device's user code (RFC 8628 §3.3), then consents."""
    user = current_user()
    assert user is not None
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
        scope = " ".join(prompt.scopes)
        if "confirm" not in form:
            return _consent_page(user, prompt.client.client_name or client_id, None,
                                 list(prompt.scopes), flask.url_for("pages.activate"),
                                 "device", user_code=user_code)
        if form.get("confirm") == "yes" and user.may_grant(scope):
            flow.approve(user_code, user, **where)
            remember_consent(user, client_id, scope)
            audit.record("device.approved", actor=user.username, client_id=client_id)
            return flask.render_template("activate.html", done="approved")
        flow.deny(user_code, **where)
        audit.record("device.denied", actor=user.username, client_id=client_id)
        return flask.render_template("activate.html", done="denied")
    except OAuth2Error as error:
        page = flask.render_template("activate.html", user_code="", error=error.description)
        return page, error.status, dict(error.headers)


@bp.route("/oauth1/authorize", methods=["GET", "POST"])
@login_required
def oauth1_authorize() -> Any:
    user = current_user()
    assert user is not None
    server = state().oauth1.server
    try:
        if flask.request.method == "GET":
            request = server.check_authorization_request()
            return _consent_page(
                user, getattr(request.client, "client_name", "") or request.client_id,
                None if request.is_oob else request.redirect_uri, [],
                flask.request.full_path, "oauth1")
        allowed = flask.request.form.get("confirm") == "yes"
        response = server.create_authorization_response(user if allowed else None)
    except OAuth1Error as error:
        return error_page(error.error, error.description, error.status)
    state().audit.record("oauth1.authorization." + ("granted" if allowed else "denied"),
                         actor=user.username)
    return response
