"""The Flask face: configuration keys, decorators and request shapes."""

from __future__ import annotations

import base64
import io

import flask
import pytest
from tests.support.oauth2 import StoreValidator

from authgate.core import i18n
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.stored import grant_classes
from authgate.flask.oauth2 import AuthorizationServer, ResourceProtector, current_token
from authgate.oauth2 import grants


def fixed_token(client, grant_type, user, scope):
    return f"fixed-{grant_type}-{client.get_client_id()}"


def make_app(**config):
    store = MemoryStore()
    _client, secret = store.add_client(
        client_id="svc", grant_types=["client_credentials", "password", "refresh_token"],
        scope="profile email")
    store.add_user("alice", "pw")
    app = flask.Flask(__name__)
    app.config.update(OAUTH2_ISSUER="https://auth.test", **config)
    server = AuthorizationServer(app, query_client=store.query_client,
                                 save_token=store.save_token)
    classes = grant_classes(store)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_grant(classes.password)
    server.register_grant(classes.refresh_token)
    server.register_endpoint(classes.revocation)
    app.add_url_rule("/oauth/token", "token", server.create_token_response, methods=["POST"])
    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(StoreValidator(store, realm="test"))

    @app.route("/maybe")
    @require_oauth("profile", optional=True)
    def maybe():
        return {"token": current_token.user_id if current_token else None}

    @app.route("/meta")
    def meta():
        return server.create_metadata_response()

    auth = "Basic " + base64.b64encode(f"svc:{secret}".encode()).decode()
    return app, store, auth


def test_access_token_generator_import_string_and_expires_in():
    app, _store, auth = make_app(
        OAUTH2_ACCESS_TOKEN_GENERATOR="tests.flask.test_oauth2_config.fixed_token",
        OAUTH2_TOKEN_EXPIRES_IN={"client_credentials": 120},
    )
    body = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": auth}).get_json()
    assert body["access_token"] == "fixed-client_credentials-svc" and body["expires_in"] == 120


def test_refresh_token_generator_false_and_callable():
    app, _, auth = make_app(OAUTH2_REFRESH_TOKEN_GENERATOR=False)
    data = {"grant_type": "password", "username": "alice", "password": "pw"}
    body = app.test_client().post("/oauth/token", data=data,
                                  headers={"Authorization": auth}).get_json()
    assert "refresh_token" not in body
    app, _, auth = make_app(OAUTH2_REFRESH_TOKEN_GENERATOR=lambda *a: "r" * 50)
    body = app.test_client().post("/oauth/token", data=data,
                                  headers={"Authorization": auth}).get_json()
    assert body["refresh_token"] == "r" * 50


def test_error_uris_are_added():
    app, _, _ = make_app(OAUTH2_ERROR_URIS=[("invalid_client", "https://docs.test/e#client")])
    resp = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": "Basic " + base64.b64encode(
                                      b"svc:wrong").decode()})
    assert resp.status_code == 401
    assert resp.get_json()["error_uri"] == "https://docs.test/e#client"


def test_multipart_body_is_read_and_json_refused():
    app, store, auth = make_app()
    client = app.test_client()
    resp = client.post("/oauth/token", headers={"Authorization": auth},
                       data={"grant_type": "client_credentials",
                             "dummy": (io.BytesIO(b"x"), "x.txt")},
                       content_type="multipart/form-data")
    assert resp.status_code == 200, resp.get_data()
    before = len(store.tokens)
    resp = client.post("/oauth/token", headers={"Authorization": auth},
                       json={"grant_type": "client_credentials"})
    assert resp.status_code == 400 and resp.get_json()["error"] == "invalid_request"
    assert len(store.tokens) == before


def test_plain_http_from_a_public_host_is_refused():
    app, store, auth = make_app()
    resp = app.test_client().post("/oauth/token", base_url="http://auth.example.com",
                                  data={"grant_type": "client_credentials"},
                                  headers={"Authorization": auth})
    assert resp.status_code == 400 and "HTTPS" in resp.get_json()["error_description"]
    assert not store.tokens
    app, _, auth = make_app(OAUTH2_INSECURE_TRANSPORT=True)
    resp = app.test_client().post("/oauth/token", base_url="http://auth.example.com",
                                  data={"grant_type": "client_credentials"},
                                  headers={"Authorization": auth})
    assert resp.status_code == 200


def test_optional_protection():
    app, _store, auth = make_app()
    client = app.test_client()
    assert client.get("/maybe").get_json() == {"token": None}
    assert client.get("/maybe", headers={"Authorization": "Bearer nope"}).status_code == 401
    token = client.post("/oauth/token", data={"grant_type": "password", "username": "alice",
                                              "password": "pw", "scope": "profile"},
                        headers={"Authorization": auth}).get_json()["access_token"]
    got = client.get("/maybe", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert got == {"token": 1}


def test_metadata_lists_what_is_registered():
    app, _, _ = make_app()
    meta = app.test_client().get("/meta").get_json()
    assert meta["issuer"] == "https://auth.test"
    assert meta["token_endpoint"] == "https://auth.test/oauth/token"
    assert meta["revocation_endpoint"] == "https://auth.test/oauth/revoke"
    assert "authorization_endpoint" not in meta  # no authorization grant registered
    assert set(meta["grant_types_supported"]) == {"client_credentials", "password",
                                                  "refresh_token"}
    assert meta["authorization_response_iss_parameter_supported"] is True


def test_a_language_can_be_added_at_run_time():
    i18n.register_catalog("es", {"Client authentication failed.":
                                 "La autenticación del cliente falló."})
    app, _, _ = make_app()
    resp = app.test_client().post("/oauth/token", data={"grant_type": "client_credentials"},
                                  headers={"Authorization": "Basic " + base64.b64encode(
                                      b"svc:bad").decode(), "Accept-Language": "es-MX"})
    assert resp.get_json()["error_description"] == "La autenticación del cliente falló."


@pytest.mark.parametrize("header", ["Bearer", "Bearer a b", "Bearer ä"])
def test_malformed_bearer_is_401(header):
    app, _, _ = make_app()
    resp = app.test_client().get("/maybe", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith('Bearer realm="test"')
