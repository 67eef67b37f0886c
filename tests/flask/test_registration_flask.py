"""RFC 7591 registration, then private_key_jwt at the token endpoint, over real HTTP.

The client side is Authlib's (``OAuth2Session`` with its RFC 7523
``PrivateKeyJWT``) and its key is made with joserfc, so nothing on that side
shares code with the server.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import flask
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oauth2.rfc7523 import PrivateKeyJWT as ClientPrivateKeyJWT
from joserfc.jwk import RSAKey
from tests.support.live import live_server

from authgate.core.http import Request
from authgate.core.oauth2.client_assertion import PrivateKeyJWT
from authgate.core.oauth2.endpoints.registration import ClientRegistrationEndpoint, bearer_token
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.stored import grant_classes
from authgate.flask.oauth2 import AuthorizationServer

INITIAL = "operator-issued-initial-token"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "registration.md"


def make_app() -> tuple[flask.Flask, AuthorizationServer, MemoryStore]:
    store = MemoryStore()
    app = flask.Flask(__name__)
    app.config["OAUTH2_SCOPES_SUPPORTED"] = ["reports", "profile"]
    server = AuthorizationServer(app, query_client=store.query_client,
                                 save_token=store.save_token)
    classes = grant_classes(store)
    server.register_grant(classes.authorization_code)
    server.register_grant(classes.client_credentials)
    server.register_endpoint(classes.revocation)

    class Registration(ClientRegistrationEndpoint):
        def save_client(self, metadata: dict[str, Any], request: Request) -> Any:
            return store.save_client(metadata, request)

        def authenticate_token(self, request: Request) -> Any:
            return bearer_token(request) == INITIAL

    server.register_endpoint(Registration)

    @app.post("/oauth/register")
    def register() -> flask.Response:
        return server.create_endpoint_response("registration")

    @app.post("/oauth/token")
    def token() -> flask.Response:
        return server.create_token_response()

    @app.post("/oauth/revoke")
    def revoke() -> flask.Response:
        return server.create_endpoint_response("revocation")

    @app.get("/.well-known/oauth-authorization-server")
    def metadata() -> flask.Response:
        return server.create_metadata_response()

    return app, server, store


def test_register_then_authenticate_with_authlib_private_key_jwt() -> None:
    app, server, store = make_app()
    key = RSAKey.generate_key(2048)
    with live_server(app) as base:
        token_url = f"{base}/oauth/token"
        server.register_client_auth_method(PrivateKeyJWT(token_url))
        metadata = {"client_name": "Reporter", "grant_types": ["client_credentials"],
                    "scope": "reports", "token_endpoint_auth_method": "private_key_jwt",
                    "jwks": {"keys": [key.as_dict(private=False)]}}
        refused = requests.post(f"{base}/oauth/register", json=metadata, timeout=10)
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_token"
        assert store.clients == {}
        answer = requests.post(f"{base}/oauth/register", json=metadata, timeout=10,
                               headers={"Authorization": f"Bearer {INITIAL}"})
        assert answer.status_code == 201, answer.text
        client_id = answer.json()["client_id"]
        assert "client_secret" not in answer.json()

        session = OAuth2Session(client_id, key, scope="reports",
                                token_endpoint_auth_method=ClientPrivateKeyJWT(token_url),
                                revocation_endpoint_auth_method=ClientPrivateKeyJWT(token_url))
        token = session.fetch_token(token_url, grant_type="client_credentials")
        assert token["token_type"] == "Bearer" and token["scope"] == "reports"
        again = session.fetch_token(token_url, grant_type="client_credentials")  # new jti
        assert again["access_token"] != token["access_token"]

        revoked = session.revoke_token(f"{base}/oauth/revoke", token["access_token"])
        assert revoked.status_code == 200
        assert store.query_access_token(token["access_token"]).is_revoked()  # type: ignore

        discovery = requests.get(f"{base}/.well-known/oauth-authorization-server",
                                 timeout=10).json()
        assert discovery["registration_endpoint"].endswith("/oauth/register")
        assert "private_key_jwt" in discovery["token_endpoint_auth_methods_supported"]
        assert "RS256" in discovery["token_endpoint_auth_signing_alg_values_supported"]


def test_open_registration_through_the_flask_glue() -> None:
    app, _, store = make_app()
    web = app.test_client()
    body = {"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none"}
    answer = web.post("/oauth/register", json=body)
    assert answer.status_code == 201 and answer.get_json()["grant_types"] == [
        "authorization_code"]
    form = web.post("/oauth/register", data={"redirect_uris": "http://127.0.0.1/cb"})
    assert form.status_code == 400 and form.get_json()["error"] == "invalid_request"
    broken = web.post("/oauth/register", data="{not json", content_type="application/json")
    assert broken.get_json()["error"] == "invalid_client_metadata"
    assert len(store.clients) == 1


def test_the_docs_examples_run() -> None:
    text = DOCS.read_text()
    blocks = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert blocks
    namespace: dict[str, object] = {"__name__": "docs_registration"}
    for number, block in enumerate(blocks, 1):
        exec(compile(block, f"docs/registration.md block {number}", "exec"), namespace)
