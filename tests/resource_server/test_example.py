"""examples/resource_server end to end: the example served live, tokens from a live issuer."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from examples.resource_server.app import create_app
from werkzeug.serving import make_server

from authgate.core.oauth2.jwt import SigningKey
from authgate.core.oauth2.nmos import make_get_extra_claims
from tests.conftest import free_port
from tests.support.live import live_server

from .authside import AuthSide


def call(method: str, url: str, token: str | None = None,
         body: Any = None) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            payload = error.read()
            return error.code, dict(error.headers), json.loads(payload) if payload else None


@pytest.fixture
def example(auth_side: AuthSide, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AUTHGATE_ISSUER", auth_side.issuer)
    monkeypatch.delenv("AUTHGATE_AUDIENCE", raising=False)
    monkeypatch.setenv("NMOS_AUDIENCE", "node1.studio.example.test")
    with live_server(create_app()) as base:
        yield base


def test_api_with_a_token_from_the_issuer(auth_side: AuthSide, example: str,
                                          signing_keys: dict[str, SigningKey]) -> None:
    generator = auth_side.generator(auth_side.issuer, key=signing_keys["RS256"])
    token = generator.generate(client_id="cli", grant_type="authorization_code",
                               user_id="alice", scope="profile", expires_in=300)
    status, _, body = call("GET", example + "/api/me", token)
    assert status == 200 and body == {"sub": "alice", "client_id": "cli", "scope": "profile"}

    status, headers, body = call("GET", example + "/api/me")
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    status, headers, body = call("POST", example + "/api/notes", token, {"text": "hi"})
    assert status == 403 and 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    status, headers, body = call("GET", example + "/api/me", token + "x")
    assert status == 401 and body["error"] == "invalid_token"
    assert auth_side.jwks_fetches == 1


def test_nmos_routes(auth_side: AuthSide, example: str,
                     signing_keys: dict[str, SigningKey]) -> None:
    def nmos_token(rights: str) -> str:
        generator = auth_side.generator(
            ["*.studio.example.test"], key=signing_keys["RS512"],
            get_extra_claims=make_get_extra_claims(lambda ctx: rights))
        return generator.generate(client_id="controller", grant_type="authorization_code",
                                  user_id="operator", scope="connection", expires_in=300)

    staged = example + "/x-nmos/connection/v1.1/single/senders/s1/staged"
    reader, writer = nmos_token("connection:read"), nmos_token("connection")
    assert call("GET", example + "/x-nmos/connection/v1.1/", reader)[0] == 200
    assert call("GET", staged, reader)[2] == {"master_enable": False}
    status, headers, _ = call("PATCH", staged, reader, {"master_enable": True})
    assert status == 403 and 'error="insufficient_scope"' in headers["WWW-Authenticate"]
    assert call("PATCH", staged, writer, {"master_enable": True})[2] == {"master_enable": True}
    assert call("GET", staged)[0] == 401


def test_jwks_outage_is_a_503(auth_side: AuthSide, example: str,
                              signing_keys: dict[str, SigningKey]) -> None:
    auth_side.down = True
    token = auth_side.generator(auth_side.issuer, key=signing_keys["ES256"]).generate(
        client_id="cli", grant_type="client_credentials", user_id=None, scope="profile",
        expires_in=300)
    status, headers, body = call("GET", example + "/api/me", token)
    assert status == 503 and headers["Retry-After"] == "30"
    assert body["error"] == "temporarily_unavailable"


def test_security_off_and_missing_issuer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AUTHGATE_ISSUER", raising=False)
    with pytest.raises(RuntimeError, match="AUTHGATE_ISSUER"):
        create_app()
    app = create_app({"AUTHGATE_ISSUER": "https://as.example.test", "NMOS_SECURITY": "0"})
    client = app.test_client()
    assert client.get("/x-nmos/connection/v1.1/").status_code == 200
    assert client.get("/api/me").status_code == 401


def test_with_the_ready_to_run_server(tmp_path: Path) -> None:
    """The real authorization server issues a token over HTTP; the example accepts it."""
    server_app = pytest.importorskip("authgate.server").create_app
    admin = pytest.importorskip("authgate.server.admin")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    app = server_app({
        "AUTHGATE_INSTANCE_PATH": str(tmp_path / "instance"),
        "AUTHGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'authgate.sqlite'}",
        "AUTHGATE_ISSUER": issuer,
        "AUTHGATE_JWT_ALG": "ES256",
    })
    with app.app_context():
        registered = admin.create_oauth2_client("rs-test", ["client_credentials"], [],
                                                "profile", "client_secret_post")
    http = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        form = urllib.parse.urlencode({
            "grant_type": "client_credentials", "scope": "profile",
            "client_id": registered["client_id"], "client_secret": registered["client_secret"],
        }).encode()
        with urllib.request.urlopen(issuer + "/oauth/token", data=form, timeout=10) as answer:
            access_token = json.loads(answer.read())["access_token"]
        client = create_app({"AUTHGATE_ISSUER": issuer}).test_client()
        response = client.get("/api/me", headers={"Authorization": f"Bearer {access_token}"})
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.json["client_id"] == registered["client_id"]
    finally:
        http.shutdown()
        thread.join(5)
        http.server_close()
