"""The IS-10 checks through Flask: x-nmos claims against method and path, wildcard aud, the shim."""

from __future__ import annotations

from typing import Any

import flask
import pytest

from authgate.core.oauth2.jwt import JWTAccessTokenGenerator, SigningKey
from authgate.core.oauth2.nmos import make_get_extra_claims
from authgate.flask.resource_server import JWTResourceServer, NmosSecurity, current_claims

from .authside import AuthSide

HOST = "node1.studio.example.test"
SENDERS = "/x-nmos/connection/v1.1/single/senders/abc/staged"
RECEIVERS = "/x-nmos/connection/v1.1/single/receivers/abc/staged"


def nmos_app(server: JWTResourceServer, security: bool = True) -> flask.Flask:
    app = flask.Flask(__name__)
    server.init_app(app)

    @app.route("/x-nmos/connection/v1.1/", methods=["GET", "POST"])
    @server.require()
    def connection_base() -> Any:
        return ["bulk/", "single/"]

    @app.route("/x-nmos/connection/v1.1/single/<path:rest>", methods=["GET", "PATCH", "POST"])
    @server.require()
    def single(rest: str) -> Any:
        return {"path": rest, "sub": current_claims.sub}

    @app.route("/x-nmos/query/v1.3/<path:rest>", methods=["GET", "POST"])
    @NmosSecurity(condition=security)
    def query(rest: str) -> Any:
        return {"query": rest}

    @app.route("/x-nmos/node/v1.3/self")
    @NmosSecurity(condition=security, api="node")
    def node_self() -> Any:
        return {"id": "self"}

    return app


@pytest.fixture
def server(auth_side: AuthSide) -> JWTResourceServer:
    return JWTResourceServer(auth_side.issuer, HOST, nmos_api="connection")


def nmos_generator(side: AuthSide, key: SigningKey, rights: str,
                   audience: list[str] | str = "*.studio.example.test") -> JWTAccessTokenGenerator:
    return side.generator(audience, key=key,
                          get_extra_claims=make_get_extra_claims(lambda ctx: rights))


def token(side: AuthSide, key: SigningKey, rights: str, scope: str, **kw: Any) -> dict[str, str]:
    value = nmos_generator(side, key, rights, **kw).generate(
        client_id="controller", grant_type="authorization_code", user_id="operator",
        scope=scope, expires_in=600)
    return {"Authorization": f"Bearer {value}"}


def raw_token(side: AuthSide, key: SigningKey, scope: str, **claims: Any) -> dict[str, str]:
    value = side.generator(["*.studio.example.test"], key=key).generate(
        client_id="controller", grant_type="authorization_code", user_id="operator",
        scope=scope, expires_in=600, extra_claims=claims)
    return {"Authorization": f"Bearer {value}"}


def test_read_right_allows_get_not_patch(auth_side: AuthSide, server: JWTResourceServer,
                                         signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    headers = token(auth_side, signing_keys["RS512"], "connection:read", "connection")
    response = client.get(SENDERS, headers=headers)
    assert response.status_code == 200 and response.json == {
        "path": "senders/abc/staged", "sub": "operator"}
    refused = client.patch(SENDERS, headers=headers, json={})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    assert 'scope="connection"' in refused.headers["WWW-Authenticate"]


def test_write_right_allows_patch(auth_side: AuthSide, server: JWTResourceServer,
                                  signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    headers = token(auth_side, signing_keys["RS512"], "connection", "connection")
    assert client.patch(SENDERS, headers=headers, json={}).status_code == 200
    assert client.post(RECEIVERS, headers=headers, json={}).status_code == 200


def test_path_globs(auth_side: AuthSide, server: JWTResourceServer,
                    signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    headers = raw_token(auth_side, signing_keys["RS512"], "connection", **{
        "x-nmos-connection": {"read": ["single/senders/*"], "write": ["single/senders/abc/*"]}})
    assert client.get(SENDERS, headers=headers).status_code == 200
    assert client.get(RECEIVERS, headers=headers).status_code == 403
    assert client.patch(SENDERS, headers=headers).status_code == 200
    assert client.patch(SENDERS.replace("abc", "xyz"), headers=headers).status_code == 403
    escape = "/x-nmos/connection/v1.1/single/senders/abc/../../receivers/abc/staged"
    assert client.patch(escape, headers=headers).status_code == 403


def test_base_path_needs_only_the_scope_and_is_read_only(
        auth_side: AuthSide, server: JWTResourceServer,
        signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    headers = raw_token(auth_side, signing_keys["RS512"], "connection")  # no x-nmos claim
    assert client.get("/x-nmos/connection/v1.1/", headers=headers).status_code == 200
    assert client.post("/x-nmos/connection/v1.1/", headers=headers).status_code == 403
    assert client.get(SENDERS, headers=headers).status_code == 403


def test_scope_of_another_api_is_refused(auth_side: AuthSide, server: JWTResourceServer,
                                         signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    headers = raw_token(auth_side, signing_keys["RS512"], "query", **{
        "x-nmos-connection": {"read": ["*"], "write": ["*"]}})
    assert client.get(SENDERS, headers=headers).status_code == 403


@pytest.mark.parametrize(("aud", "status"), [
    (["*.studio.example.test"], 200),
    (["*.example.test"], 200),
    (["https://node1.studio.example.test"], 200),
    (["*.other.example.test", HOST.upper()], 200),
    (["*.other.example.test"], 401),
    (["studio.example.test"], 401),
])
def test_wildcard_audience(aud: list[str], status: int, auth_side: AuthSide,
                           server: JWTResourceServer,
                           signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    headers = token(auth_side, signing_keys["RS512"], "connection", "connection", audience=aud)
    assert client.get(SENDERS, headers=headers).status_code == status


def test_nmos_profile_wants_rs512(auth_side: AuthSide, server: JWTResourceServer,
                                  signing_keys: dict[str, SigningKey]) -> None:
    client = nmos_app(server).test_client()
    for alg in ("RS256", "ES256"):
        headers = token(auth_side, signing_keys[alg], "connection", "connection")
        assert client.get(SENDERS, headers=headers).status_code == 401
    relaxed = JWTResourceServer(auth_side.issuer, HOST, nmos_api="connection",
                                algorithms=["RS512", "ES256"])
    headers = token(auth_side, signing_keys["ES256"], "connection", "connection")
    assert nmos_app(relaxed).test_client().get(SENDERS, headers=headers).status_code == 200


def test_nmos_security_shim_reads_the_api_from_the_path(
        auth_side: AuthSide, signing_keys: dict[str, SigningKey]) -> None:
    server = JWTResourceServer(auth_side.issuer, HOST, nmos=True)
    client = nmos_app(server).test_client()
    key = signing_keys["RS512"]
    assert client.get("/x-nmos/query/v1.3/nodes").status_code == 401
    reader = token(auth_side, key, "query:read node:read", "query node")
    assert client.get("/x-nmos/query/v1.3/nodes", headers=reader).json == {"query": "nodes"}
    assert client.post("/x-nmos/query/v1.3/subscriptions", headers=reader).status_code == 403
    assert client.get("/x-nmos/node/v1.3/self", headers=reader).status_code == 200
    # The connection routes infer their API from the path too (nmos=True, no nmos_api).
    connection = token(auth_side, key, "connection:read", "connection")
    assert client.get(SENDERS, headers=connection).status_code == 200
    assert client.get("/x-nmos/query/v1.3/nodes", headers=connection).status_code == 403


def test_nmos_security_explicit_api_wins(auth_side: AuthSide,
                                         signing_keys: dict[str, SigningKey]) -> None:
    server = JWTResourceServer(auth_side.issuer, HOST, nmos=True)
    client = nmos_app(server).test_client()
    query_only = token(auth_side, signing_keys["RS512"], "query:read", "query")
    assert client.get("/x-nmos/node/v1.3/self", headers=query_only).status_code == 403


def test_nmos_security_off_leaves_the_view_alone(auth_side: AuthSide,
                                                 server: JWTResourceServer) -> None:
    client = nmos_app(server, security=False).test_client()
    assert client.get("/x-nmos/query/v1.3/nodes").status_code == 200
    assert client.get(SENDERS).status_code == 401  # server.require still guards these


def test_nmos_security_without_a_server_is_a_setup_error() -> None:
    app = flask.Flask(__name__)

    @app.get("/x-nmos/query/v1.3/nodes")
    @NmosSecurity()
    def nodes() -> Any:
        return []

    app.testing = True
    with pytest.raises(RuntimeError, match="init_app"):
        app.test_client().get("/x-nmos/query/v1.3/nodes")


def test_client_credentials_token_for_registration(auth_side: AuthSide,
                                                   signing_keys: dict[str, SigningKey]) -> None:
    """A Node registering itself: no user, full rights on the granted scope."""
    server = JWTResourceServer(auth_side.issuer, "registry.studio.example.test",
                               nmos_api="registration")
    app = flask.Flask(__name__)

    @app.post("/x-nmos/registration/v1.3/resource")
    @server.require()
    def register() -> Any:
        return {"by": current_claims.client_id}, 201

    value = nmos_generator(auth_side, signing_keys["RS512"], "").generate(
        client_id="node-1", grant_type="client_credentials", user_id=None,
        scope="registration", expires_in=600)
    response = app.test_client().post("/x-nmos/registration/v1.3/resource",
                                      headers={"Authorization": f"Bearer {value}"})
    assert response.status_code == 201 and response.json == {"by": "node-1"}
