"""The NMOS profile end to end: a user's rights become IS-10 claims a resource server obeys."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qs, urlsplit

import flask
import pytest

from authgate.core.oauth2.jwt import JWKSClient
from authgate.flask.resource_server import JWTResourceServer
from authgate.server.audit import AUDIT_LOGGER
from tests.server.conftest import Server
from tests.server.test_oauth2_flows import VERIFIER, _authorize_url, _basic, _consent

ISSUER = "https://auth.studio.example.com"
REDIRECT = "https://app.example.com/cb"


@pytest.fixture
def nmos(make_server) -> Server:
    return make_server(AUTHGATE_PROFILE="nmos", AUTHGATE_ISSUER=ISSUER,
                       AUTHGATE_JWT_ALG="RS512")


def _web(server: Server):
    web = server.app.test_client()
    web.environ_base.update({"wsgi.url_scheme": "https", "HTTP_HOST": urlsplit(ISSUER).netloc})
    return web


def _registry(server: Server, web) -> flask.Flask:
    """A registry (Registration and Query APIs) protected by the library's IS-10 checks."""
    jwks = JWKSClient(ISSUER, fetch=lambda url: web.get(url).data)
    resource = JWTResourceServer(ISSUER, "registry.studio.example.com", nmos=True,
                                 jwks_client=jwks)
    registry = flask.Flask("registry")

    @registry.route("/x-nmos/query/v1.3/nodes", methods=["GET", "POST"])
    @resource.require()
    def nodes():
        return {"nodes": []}

    @registry.route("/x-nmos/registration/v1.3/resource", methods=["POST"])
    @resource.require()
    def register_resource():
        return {"ok": True}

    @registry.route("/x-nmos/connection/v1.1/single/senders/s1/staged", methods=["PATCH"])
    @resource.require()
    def staged():
        return {"ok": True}

    return registry


def test_user_rights_become_claims_the_resource_server_obeys(nmos: Server, caplog) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    nmos.user("operator", scopes="registration query:read")
    info = nmos.client("controller", scope="registration query connection")
    web = _web(nmos)
    nmos.login(web, "operator")
    answer = _consent(web, _authorize_url(info, "registration query"))
    assert answer.status_code == 302, answer.get_data(as_text=True)
    params = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert params["iss"] == [ISSUER]
    tokens = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "authorization_code", "code": params["code"][0],
        "redirect_uri": REDIRECT, "code_verifier": VERIFIER})
    assert tokens.status_code == 200, tokens.get_data(as_text=True)
    access = tokens.get_json()["access_token"]
    header, payload = (json.loads(_b64(part)) for part in access.split(".")[:2])
    assert header["alg"] == "RS512"
    assert payload["aud"] == ["*.studio.example.com"]
    assert payload["x-nmos-query"] == {"read": ["*"]}
    assert payload["x-nmos-registration"] == {"read": ["*"], "write": ["*"]}
    assert "x-nmos-connection" not in payload

    api = _registry(nmos, web).test_client()
    bearer = {"Authorization": f"Bearer {access}"}
    assert api.get("/x-nmos/query/v1.3/nodes", headers=bearer).status_code == 200
    refused = api.post("/x-nmos/query/v1.3/nodes", headers=bearer)
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert api.post("/x-nmos/registration/v1.3/resource", headers=bearer).status_code == 200
    assert api.patch("/x-nmos/connection/v1.1/single/senders/s1/staged",
                     headers=bearer).status_code == 403

    refreshed = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "refresh_token", "refresh_token": tokens.get_json()["refresh_token"]})
    assert refreshed.status_code == 200
    kinds = [json.loads(r.getMessage())["event"] for r in caplog.records
             if r.name == AUDIT_LOGGER]
    for kind in ("authorization.code_issued", "token.issued", "token.refreshed"):
        assert kind in kinds


def test_a_user_cannot_grant_apis_beyond_their_rights(nmos: Server) -> None:
    nmos.user("viewer", scopes="query:read")
    info = nmos.client("controller", scope="query connection")
    web = _web(nmos)
    nmos.login(web, "viewer")
    answer = web.get(_authorize_url(info, "connection"))
    assert answer.status_code == 302
    assert parse_qs(urlsplit(answer.headers["Location"]).query)["error"] == ["access_denied"]


def test_pkce_required_and_implicit_and_password_off(nmos: Server) -> None:
    nmos.user("operator", scopes="query")
    info = nmos.client("controller", scope="query")
    web = _web(nmos)
    nmos.login(web, "operator")
    url = _authorize_url(info, "query").split("&code_challenge")[0]
    answer = web.get(url)
    location = answer.headers.get("Location", "")
    assert answer.status_code == 302 and "error=invalid_request" in location
    doc = web.get("/.well-known/oauth-authorization-server").get_json()
    assert "implicit" not in doc["grant_types_supported"]
    assert "password" not in doc["grant_types_supported"]
    assert doc["response_types_supported"] == ["code"]
    with pytest.raises(ValueError):
        nmos.client("legacy", grant_types=("password",), redirect_uris=())


def test_client_credentials_only_for_registration_and_events(nmos: Server) -> None:
    info = nmos.client("node", grant_types=("client_credentials",), redirect_uris=(),
                       scope="registration events query")
    web = _web(nmos)

    def ask(scope: str):
        return web.post("/oauth/token", headers=_basic(info),
                        data={"grant_type": "client_credentials", "scope": scope})

    assert ask("query").get_json()["error"] == "invalid_scope"
    assert ask("registration query").get_json()["error"] == "invalid_scope"
    granted = ask("registration events")
    assert granted.status_code == 200
    payload = json.loads(_b64(granted.get_json()["access_token"].split(".")[1]))
    assert payload["x-nmos-registration"] == {"read": ["*"], "write": ["*"]}
    assert payload["x-nmos-events"] == {"read": ["*"], "write": ["*"]}


def _b64(part: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
