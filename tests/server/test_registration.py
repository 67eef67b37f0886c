"""RFC 7591 at /oauth/register and private_key_jwt (RFC 7523) on the server, with the CLI."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from authgate.core.oauth2.jwt import SigningKey
from authgate.server import admin
from authgate.server.cli import cli
from authgate.server.models import AuditEvent, InitialAccessToken, OAuth2Client, OAuth2Token
from tests.server.conftest import Server, server_config
from tests.server.test_oauth2_flows import _basic

ISSUER = "http://127.0.0.1:4999"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CODE_CLIENT = {"client_name": "Web", "redirect_uris": ["https://app.example.com/cb"]}


def _register(web, metadata, token: str | None = None, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return web.post("/oauth/register", json=metadata, headers=headers, **kwargs)


def _initial_token(server: Server, expires_in: int = 3600) -> str:
    with server.app.app_context():
        return admin.create_initial_access_token(expires_in)[0]


def _assertion(key: SigningKey, client_id: str, audience: str = ISSUER + "/oauth/token",
               jti: str | None = None) -> str:
    from authgate.core.oauth2.jwt.jws import encode_compact

    now = int(time.time())
    return encode_compact({"alg": key.alg, "kid": key.kid},
                          {"iss": client_id, "sub": client_id, "aud": audience, "iat": now,
                           "exp": now + 60, "jti": jti or f"jti-{time.monotonic_ns()}"},
                          key.sign)


def test_open_registration_for_the_code_grant_stores_a_usable_client(server: Server) -> None:
    web = server.app.test_client()
    answer = _register(web, {**CODE_CLIENT, "scope": "profile"})
    assert answer.status_code == 201
    client = answer.get_json()
    assert client["grant_types"] == ["authorization_code"] and client["scope"] == "profile"
    assert len(client["client_id"]) >= 20 and client["client_secret_expires_at"] == 0
    with server.state.db.session_factory() as session:
        stored = session.query(OAuth2Client).filter_by(client_id=client["client_id"]).one()
        assert stored.check_client_secret(client["client_secret"])
        assert client["client_secret"] not in (stored.client_secret or "")  # hashed
        assert stored.redirect_uris == CODE_CLIENT["redirect_uris"]
        event = session.query(AuditEvent).filter_by(kind="client.registered").one()
        assert event.details["via"] == "rfc7591" and client["client_secret"] not in event.detail
    doc = web.get("/.well-known/oauth-authorization-server").get_json()
    assert doc["registration_endpoint"] == ISSUER + "/oauth/register"


def test_other_grants_need_a_live_initial_access_token(make_server, clock) -> None:
    clock.now = time.time()
    server = make_server(AUTHGATE_CLOCK=clock)
    web = server.app.test_client()
    machine = {"grant_types": ["client_credentials"], "scope": "profile"}
    assert _register(web, machine).status_code == 401
    assert _register(web, machine, token="guessed").get_json()["error"] == "invalid_token"
    token = _initial_token(server, expires_in=600)
    made = _register(web, machine, token=token)
    assert made.status_code == 201, made.get_data(as_text=True)
    # Reusable until it expires (one token for a rack of Nodes), then refused.
    assert _register(web, machine, token=token).status_code == 201
    clock.advance(601)
    assert _register(web, machine, token=token).status_code == 401
    # The token is stored as a digest only.
    with server.state.db.session_factory() as session:
        assert token not in {row.token for row in session.query(InitialAccessToken)}
    # The registered client really works at the token endpoint.
    answer = web.post("/oauth/token", headers=_basic(made.get_json()),
                      data={"grant_type": "client_credentials", "scope": "profile"})
    assert answer.status_code == 200


def test_a_revoked_initial_token_is_refused(server: Server) -> None:
    token = _initial_token(server)
    with server.state.db.session_factory() as session:
        session.query(InitialAccessToken).update({"revoked_at": 1})
        session.commit()
    answer = _register(server.app.test_client(), {"grant_types": ["client_credentials"]},
                       token=token)
    assert answer.status_code == 401


@pytest.mark.parametrize("body", [
    {"redirect_uris": ["http://app.example.com/cb"]},                   # plain http off loopback
    {"redirect_uris": ["https://app.example.com/cb#frag"]},
    {"redirect_uris": ["javascript:alert(1)"]},
    {**CODE_CLIENT, "grant_types": ["authorization_code"], "response_types": ["token"]},
    {**CODE_CLIENT, "scope": "admin"},
    {**CODE_CLIENT, "token_endpoint_auth_method": "private_key_jwt"},   # no keys
    {**CODE_CLIENT, "token_endpoint_auth_method": "private_key_jwt",
     "jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
    {**CODE_CLIENT, "client_name": ["not", "a", "string"]},
    {**CODE_CLIENT, "client_name": "x" * 5000},
    {**CODE_CLIENT, "grant_types": ["urn:evil"]},
    [1, 2, 3],
])
def test_hostile_metadata_changes_nothing(server: Server, body) -> None:
    web = server.app.test_client()
    before = server.count(OAuth2Client), server.count(AuditEvent)
    answer = _register(web, body)
    assert answer.status_code == 400
    assert answer.get_json()["error"] in {"invalid_client_metadata", "invalid_redirect_uri"}
    assert (server.count(OAuth2Client), server.count(AuditEvent)) == before


def test_hostile_requests_change_nothing(server: Server) -> None:
    web = server.app.test_client()
    before = server.count(OAuth2Client)
    assert web.post("/oauth/register", data={"redirect_uris": "x"}).status_code == 400
    assert web.post("/oauth/register", data=b"{not json", content_type="application/json"
                    ).status_code == 400
    assert web.post("/oauth/register", data=b'{"a":' * 20000 + b"1",
                    content_type="application/json").status_code in (400, 413)
    assert web.get("/oauth/register").status_code == 405
    bogus = _register(web, CODE_CLIENT, token="x" * 2000)  # a token where none is needed
    assert bogus.status_code == 401
    assert server.count(OAuth2Client) == before


def test_nmos_registration_rules(make_server) -> None:
    server = make_server(AUTHGATE_PROFILE="nmos")
    web = server.app.test_client()
    token = _initial_token(server)
    for grant in ("implicit", "password"):
        refused = _register(web, {**CODE_CLIENT, "grant_types": [grant]}, token=token)
        assert refused.status_code == 400
    query_node = _register(web, {"grant_types": ["client_credentials"], "scope": "query"},
                           token=token)
    assert query_node.status_code == 400
    assert query_node.get_json()["error"] == "invalid_client_metadata"
    node = _register(web, {"grant_types": ["client_credentials"],
                           "scope": "registration events"}, token=token)
    assert node.status_code == 201 and len(node.get_json()["client_id"]) >= 20
    code = _register(web, {**CODE_CLIENT, "scope": "connection"})
    assert code.status_code == 201 and len(code.get_json()["client_id"]) >= 20


def test_private_key_jwt_at_token_revocation_and_introspection(server: Server) -> None:
    web = server.app.test_client()
    key = SigningKey.generate("ES256")
    robot = _register(web, {"grant_types": ["client_credentials"], "scope": "profile",
                            "token_endpoint_auth_method": "private_key_jwt",
                            "jwks": {"keys": [key.public_jwk()]}},
                      token=_initial_token(server)).get_json()
    assert "client_secret" not in robot
    form = {"grant_type": "client_credentials", "scope": "profile",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": _assertion(key, robot["client_id"])}
    issued = web.post("/oauth/token", data=form)
    assert issued.status_code == 200, issued.get_data(as_text=True)
    replay = web.post("/oauth/token", data=form)  # same jti: the cache remembers it
    assert replay.status_code == 401 and replay.get_json()["error"] == "invalid_client"
    other_audience = {**form, "client_assertion": _assertion(key, robot["client_id"],
                                                             "https://elsewhere.example")}
    assert web.post("/oauth/token", data=other_audience).status_code == 401
    access = issued.get_json()["access_token"]
    seen = web.post("/oauth/introspect", data={
        "token": access, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(key, robot["client_id"])})
    assert seen.status_code == 200 and seen.get_json()["active"] is True
    gone = web.post("/oauth/revoke", data={
        "token": access, "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": _assertion(key, robot["client_id"])})
    assert gone.status_code == 200
    with server.state.db.session_factory() as session:
        assert session.query(OAuth2Token).one().is_revoked()
        kinds = [e.kind for e in session.query(AuditEvent).order_by(AuditEvent.id)]
    assert kinds[-2:] == ["token.issued", "token.revoked"]


def test_create_client_with_private_key_jwt(tmp_path: Path, monkeypatch) -> None:
    for key, value in server_config(tmp_path).items():
        monkeypatch.setenv(key, value)
    key = SigningKey.generate("ES256")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.public_jwk()]}))
    runner = CliRunner()
    made = runner.invoke(cli, ["create-client", "--name", "robot", "--grant-type",
                               "client_credentials", "--auth-method", "private_key_jwt",
                               "--jwks", str(jwks_file), "--json"])
    assert made.exit_code == 0, made.output
    info = json.loads(made.output)
    assert "client_secret" not in info and info["jwks"]["keys"][0]["kid"] == key.kid
    uri = runner.invoke(cli, ["create-client", "--name", "r2", "--grant-type",
                              "client_credentials", "--auth-method", "private_key_jwt",
                              "--jwks-uri", "https://robot.example.com/jwks.json", "--json"])
    assert uri.exit_code == 0 and json.loads(uri.output)["jwks_uri"].startswith("https://")
    private = tmp_path / "private.json"
    private.write_text(json.dumps({"keys": [{**key.public_jwk(), "d": "AAAA"}]}))
    for bad in (["--jwks", str(private)], [], ["--jwks-uri", "http://robot.example.com/j"],
                ["--jwks", str(jwks_file), "--jwks-uri", "https://robot.example.com/j"]):
        refused = runner.invoke(cli, ["create-client", "--name", "bad", "--grant-type",
                                      "client_credentials", "--auth-method", "private_key_jwt",
                                      *bad])
        assert refused.exit_code != 0, bad
