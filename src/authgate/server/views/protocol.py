"""Endpoints OAuth clients and resource servers call: token, revoke, introspect, keys, APIs.

They authenticate with client credentials or tokens, never with the browser
session, so this blueprint is exempt from CSRF checks. Each view hands the
request to the library and returns what it answers.
"""

from __future__ import annotations

from collections.abc import Callable

import flask

from authgate.flask.http import to_core_request, to_flask_response
from authgate.flask.oauth1 import OAuth1Error, current_credential
from authgate.server.app import state
from authgate.server.legacy_devices import legacy_poll
from authgate.server.ratelimit import client_id_from_request, is_auth_failure, too_many

__all__ = ["bp"]

bp = flask.Blueprint("protocol", __name__)

#: How long resource servers may cache the JWKS; a rotation is published at once anyway
#: (new keys appear before they sign), so this only delays what is not urgent.
JWKS_MAX_AGE = 60


def _limited(answer: Callable[[], flask.Response]) -> flask.Response:
    """Run a client-authenticating endpoint under the failed-authentication limit."""
    limiter = state().oauth2.auth_limiter
    request = flask.request
    client_id = client_id_from_request(request)
    wait = limiter.retry_after(client_id, request.remote_addr)
    if wait is not None:
        return too_many(wait)
    response = answer()
    if is_auth_failure(response):
        limiter.record_failure(client_id, request.remote_addr)
    return response


@bp.post("/oauth/token")
def token() -> flask.Response:
    return _limited(state().oauth2.server.create_token_response)


@bp.post("/oauth/revoke")
def revoke() -> flask.Response:
    return state().oauth2.server.create_endpoint_response("revocation")


@bp.post("/oauth/introspect")
def introspect() -> flask.Response:
    return state().oauth2.server.create_endpoint_response("introspection")


@bp.post("/oauth/device")
def device_authorization() -> flask.Response:
    """RFC 8628 §3.1-3.2, plus the links flask-oauth2-devices clients read."""
    response = state().oauth2.server.create_endpoint_response("device_authorization")
    if response.status_code == 200:
        body = response.get_json()
        issuer = state().settings.issuer
        body.update(authorize_link=issuer + "/oauth/device/authorize",
                    activate_link=issuer + "/activate")
        response.set_data(flask.json.dumps(body))
    return response


@bp.post("/oauth/device/authorize")
def device_legacy_poll() -> flask.Response:
    """The flask-oauth2-devices poll, answered by the same device engine as /oauth/token."""
    oauth2 = state().oauth2

    def answer() -> flask.Response:
        return to_flask_response(legacy_poll(oauth2.server.core, oauth2.devices,
                                             to_core_request()))

    return _limited(answer)


@bp.post("/oauth/register")
def register() -> flask.Response:
    """RFC 7591: open for code-grant clients; other grants need an initial access token."""
    return state().oauth2.server.create_endpoint_response("registration")


@bp.get("/.well-known/oauth-authorization-server")
def metadata() -> flask.Response:
    server_state = state()
    issuer = server_state.settings.issuer
    return server_state.oauth2.server.create_metadata_response(jwks_uri=issuer + "/certs")


@bp.get("/certs")
def certs() -> flask.Response:
    response = flask.jsonify(state().keys.jwks())
    response.headers["Cache-Control"] = f"public, max-age={JWKS_MAX_AGE}"
    return response


@bp.get("/api/me")
def api_me() -> flask.Response:
    """The demo resource: who the token speaks for (scope ``profile``)."""
    with state().oauth2.require_oauth.acquire("profile") as token:
        user = token.user  # read with the token's row (ServerTokenValidator)
        # A client's own token (client credentials) speaks for no user.
        if user is None or token.claims.sub != str(user.id):
            return flask.make_response(flask.jsonify(error="invalid_token"), 401)
        return flask.jsonify(username=user.username, sub=str(user.id))


@bp.post("/oauth1/initiate")
def oauth1_initiate() -> flask.Response:
    return state().oauth1.server.create_temporary_credential_response()


@bp.post("/oauth1/token")
def oauth1_token() -> flask.Response:
    return state().oauth1.server.create_token_response()


@bp.get("/oauth1/api/me")
def oauth1_api_me() -> flask.Response:
    protector = state().oauth1.require_oauth
    try:
        protector.acquire_credential()
    except OAuth1Error as error:
        return protector.error_response(error)
    # Read with the credential, in its SELECT (a deleted user is None there too).
    found = current_credential.user
    if found is None:
        return flask.make_response(flask.jsonify(error="invalid_token"), 401)
    return flask.jsonify(username=found.username, sub=str(found.id))
