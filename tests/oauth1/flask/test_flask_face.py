"""The Flask face through the test client: hooks, config, decorators, signature plug-ins."""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from typing import Any

import flask
import oauthlib.oauth1 as oauthlib1
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask.views import MethodView
from flask_restful import Api, Resource

from authgate.cache import MemoryCache
from authgate.cache.oauth1 import (
    create_exists_nonce_func,
    register_nonce_hooks,
    register_temporary_credential_hooks,
)
from authgate.core.oauth1.signature import escape, generate_signature_base_string
from authgate.flask.oauth1 import AuthorizationServer, ResourceProtector, current_credential
from tests.oauth1.harness import CALLBACK, CLIENT_ID, CLIENT_SECRET, FakeClient, FakeToken

TOKEN, TOKEN_SECRET = "tok-1", "tok-1-secret"


def verify_hmac_sha256(request):
    """The seed's plug-in shape: it returns the signature it expects."""
    text = generate_signature_base_string(request)
    key = escape(request.client_secret or "") + "&" + escape(request.token_secret or "")
    sig = hmac.new(key.encode(), text.encode(), hashlib.sha256)
    return base64.b64encode(sig.digest())


class Server(AuthorizationServer):
    pass


class Protector(ResourceProtector):
    pass


Server.register_signature_method("HMAC-SHA256", verify_hmac_sha256)
Protector.register_signature_method("HMAC-SHA256", verify_hmac_sha256)


def make_token() -> str:
    return "gen-" + uuid.uuid4().hex


def make_app(clock, **config: Any) -> tuple[flask.Flask, Server, dict]:
    app = flask.Flask(__name__)
    app.config.update(SECRET_KEY="flask test", **config)
    clients = {CLIENT_ID: FakeClient(CLIENT_ID, CLIENT_SECRET)}
    tokens = {TOKEN: FakeToken(CLIENT_ID, TOKEN, TOKEN_SECRET, user_id=5)}
    cache = MemoryCache(clock=clock)
    server = Server(app, query_client=clients.get, clock=clock)
    register_nonce_hooks(server, cache)
    register_temporary_credential_hooks(server, cache)
    require_oauth = Protector(app, query_client=clients.get,
                              query_token=lambda c, t: tokens.get(t) if c == CLIENT_ID else None,
                              exists_nonce=create_exists_nonce_func(cache), clock=clock)

    @app.post("/initiate")
    def initiate():
        return server.create_temporary_credential_response()

    @app.get("/me")
    @require_oauth()
    def me():
        return {"user_id": current_credential.user_id}

    class MeView(MethodView):
        decorators = [require_oauth()]

        def get(self):
            return {"user_id": current_credential.user_id}

    app.add_url_rule("/me-view", view_func=MeView.as_view("me_view"))

    class MeResource(Resource):
        method_decorators = [require_oauth()]

        def get(self):
            return {"user_id": current_credential.user_id}

    Api(app).add_resource(MeResource, "/me-restful")
    return app, server, tokens


def signed(clock, path: str, method: str = "GET", **kwargs: Any) -> dict[str, Any]:
    client = oauthlib1.Client(CLIENT_ID, client_secret=CLIENT_SECRET,
                              timestamp=str(int(clock())), nonce=uuid.uuid4().hex, **kwargs)
    uri, headers, _ = client.sign("http://localhost" + path, http_method=method)
    return {"path": uri[len("http://localhost"):], "headers": headers}


@pytest.mark.parametrize("path", ["/me", "/me-view", "/me-restful"])
def test_require_oauth_everywhere(clock, path: str) -> None:
    app, _, _ = make_app(clock)
    request = signed(clock, path, resource_owner_key=TOKEN, resource_owner_secret=TOKEN_SECRET)
    response = app.test_client().get(request["path"], headers=request["headers"])
    assert response.status_code == 200, response.data
    assert response.get_json() == {"user_id": 5}


@pytest.mark.parametrize("path", ["/me", "/me-view", "/me-restful"])
def test_require_oauth_refuses_with_a_challenge(clock, path: str) -> None:
    app, _, _ = make_app(clock)
    request = signed(clock, path, resource_owner_key=TOKEN, resource_owner_secret="wrong")
    response = app.test_client().get(request["path"], headers=request["headers"])
    assert response.status_code == 401
    assert response.get_json()["error"] == "invalid_signature"
    assert response.headers["WWW-Authenticate"].startswith("OAuth")
    unsigned = app.test_client().get(path)
    assert unsigned.status_code == 400


def test_timestamp_window_uses_the_injected_clock_and_config(clock) -> None:
    app, _, _ = make_app(clock, OAUTH1_TIMESTAMP_WINDOW=30)
    request = signed(clock, "/me", resource_owner_key=TOKEN, resource_owner_secret=TOKEN_SECRET)
    clock.advance(31)
    response = app.test_client().get(request["path"], headers=request["headers"])
    assert (response.status_code, response.get_json()["error"]) == (401, "invalid_timestamp")


def test_registered_signature_method_needs_enabling(clock) -> None:
    kwargs = {"resource_owner_key": TOKEN, "resource_owner_secret": TOKEN_SECRET,
              "signature_method": "HMAC-SHA256"}
    app, _, _ = make_app(clock)
    request = signed(clock, "/me", **kwargs)
    refused = app.test_client().get(request["path"], headers=request["headers"])
    assert refused.get_json()["error"] == "unsupported_signature_method"

    app, _, _ = make_app(clock, OAUTH1_SUPPORTED_SIGNATURE_METHODS=["HMAC-SHA256"])
    request = signed(clock, "/me", **kwargs)
    assert app.test_client().get(request["path"], headers=request["headers"]).status_code == 200
    tampered = signed(clock, "/me", **{**kwargs, "resource_owner_secret": "nope"})
    response = app.test_client().get(tampered["path"], headers=tampered["headers"])
    assert response.status_code == 401
    # Registering on a subclass left the base classes alone.
    assert "HMAC-SHA256" not in AuthorizationServer.SIGNATURE_METHODS
    assert "HMAC-SHA256" not in ResourceProtector.SIGNATURE_METHODS


def test_rsa_sha1_signed_by_oauthlib(clock) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    app, server, _ = make_app(clock, OAUTH1_SUPPORTED_SIGNATURE_METHODS=["RSA-SHA1"])
    server.query_client(CLIENT_ID).rsa_public_key = public.decode()
    client = oauthlib1.Client(CLIENT_ID, signature_method=oauthlib1.SIGNATURE_RSA, rsa_key=private,
                              resource_owner_key=TOKEN, timestamp=str(int(clock())))
    uri, headers, _ = client.sign("http://localhost/me?x=1")
    assert app.test_client().get(uri, headers=headers).status_code == 200
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = oauthlib1.Client(CLIENT_ID, signature_method=oauthlib1.SIGNATURE_RSA,
                              rsa_key=other.private_bytes(
                                  serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode(),
                              resource_owner_key=TOKEN, timestamp=str(int(clock())))
    uri, headers, _ = forged.sign("http://localhost/me?x=1")
    assert app.test_client().get(uri, headers=headers).get_json()["error"] == "invalid_signature"


def test_register_hook_refuses_unknown_names(clock) -> None:
    _, server, _ = make_app(clock)
    with pytest.raises(ValueError, match="unknown hook"):
        server.register_hook("exist_nonce", lambda *a: False)


def test_token_generators_from_config(clock) -> None:
    app, _, _ = make_app(clock, OAUTH1_TOKEN_GENERATOR=f"{__name__}.make_token",
                         OAUTH1_TOKEN_SECRET_LENGTH=20)
    client = oauthlib1.Client(CLIENT_ID, client_secret=CLIENT_SECRET, callback_uri=CALLBACK,
                              timestamp=str(int(clock())))
    uri, headers, _ = client.sign("http://localhost/initiate", http_method="POST")
    response = app.test_client().post(uri, headers=headers)
    assert response.status_code == 200, response.data
    body = dict(x.split("=") for x in response.get_data(as_text=True).split("&"))
    assert body["oauth_token"].startswith("gen-")
    assert len(body["oauth_token_secret"]) == 20
    assert response.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_defaults_are_42_and_48(clock) -> None:
    app, _, _ = make_app(clock)
    client = oauthlib1.Client(CLIENT_ID, client_secret=CLIENT_SECRET, callback_uri="oob",
                              timestamp=str(int(clock())))
    uri, headers, _ = client.sign("http://localhost/initiate", http_method="POST")
    body = dict(x.split("=") for x in
                app.test_client().post(uri, headers=headers).get_data(as_text=True).split("&"))
    assert (len(body["oauth_token"]), len(body["oauth_token_secret"])) == (42, 48)


def test_lazy_init_app(clock) -> None:
    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = "k"
    server = AuthorizationServer()
    server.init_app(app, query_client={}.get)
    assert app.extensions["authgate.oauth1"]["authorization_server"] is server
    protector = ResourceProtector()
    protector.init_app(app, query_client={}.get, query_token=lambda c, t: None,
                       exists_nonce=lambda *a: False)
    assert protector.query_token is not None


def test_current_secret_cipher_follows_the_key_configuration() -> None:
    """The per-decryption lookup answers from a cache, but a changed key still counts."""
    from authgate.flask.oauth1._glue import current_secret_cipher

    app = flask.Flask(__name__)
    app.config["SECRET_KEY"] = "first key"
    assert current_secret_cipher() is None  # no app context, no cipher
    with app.app_context():
        first = current_secret_cipher()
        assert first is not None and current_secret_cipher() is first
        sealed = first.encrypt("s", "p")
        app.config["SECRET_KEY"] = "second key"
        second = current_secret_cipher()
        assert second is not None and second is not first
        with pytest.raises(ValueError):
            second.decrypt(sealed, "p")
        app.config["SECRET_KEY_FALLBACKS"] = ["first key"]
        assert current_secret_cipher().decrypt(sealed, "p") == "s"  # type: ignore[union-attr]
        app.config["OAUTH1_SECRET_KEY"] = "own key"
        own = current_secret_cipher()
        assert own is not None
        with pytest.raises(ValueError):
            own.decrypt(sealed, "p")
