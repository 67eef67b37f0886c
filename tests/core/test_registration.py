"""Dynamic client registration (RFC 7591) through the core, policy of SPEC §4 included."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from authgate.core.http import Request, Response
from authgate.core.oauth2.client_assertion import JWT_BEARER_ASSERTION_TYPE, PrivateKeyJWT
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.endpoints.registration import (
    ClientRegistrationEndpoint,
    bearer_token,
)
from authgate.core.oauth2.errors import InvalidClientMetadataError, InvalidSoftwareStatementError
from authgate.core.oauth2.jwt import SigningKey
from authgate.core.oauth2.jwt.jws import encode_compact
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.server import AuthorizationServer
from authgate.core.oauth2.stored import create_server

ISSUER = "https://auth.example.test"
REGISTER = ISSUER + "/oauth/register"
INITIAL = "initial-token-0123456789"
NOW = 1_800_000_000.0
CODE_CLIENT = {"redirect_uris": ["https://app.example.test/cb"], "client_name": "App"}


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return SigningKey.generate("ES256")


class Setup:
    def __init__(self, **options: Any) -> None:
        self.store = MemoryStore(clock=lambda: NOW)
        self.server: AuthorizationServer = create_server(self.store, ServerConfig(
            issuer=ISSUER, scopes_supported=("profile", "reports", "registration", "events"),
            clock=lambda: NOW))
        self.server.register_client_auth_method(PrivateKeyJWT(
            ISSUER + "/oauth/token", issuer=ISSUER, clock=lambda: NOW))
        options.setdefault("save_client", self.store.save_client)
        options.setdefault("authenticate_token", lambda r: bearer_token(r) == INITIAL)
        self.endpoint = ClientRegistrationEndpoint(self.server, **options)
        self.server.register_endpoint(self.endpoint)

    def register(self, metadata: Any = None, *, token: str | None = None,
                 content_type: str = "application/json", body: bytes | None = None,
                 method: str = "POST", **headers: str) -> Response:
        hdrs = {"Content-Type": content_type, **headers}
        if token is not None:
            hdrs["Authorization"] = f"Bearer {token}"
        raw = body if body is not None else json.dumps(metadata).encode()
        return self.server.create_endpoint_response(
            "registration", Request.build(method, REGISTER, headers=hdrs, body=raw))


@pytest.fixture
def setup() -> Setup:
    return Setup()


def test_open_registration_of_a_code_client(setup: Setup) -> None:
    response = setup.register({**CODE_CLIENT, "scope": "profile", "unknown_member": 1,
                               "grant_types": ["authorization_code", "refresh_token"]})
    assert response.status == 201, response.json()
    assert response.header("Cache-Control") == "no-store"
    body = response.json()
    assert len(body["client_id"]) == 24 and body["client_id_issued_at"] == int(NOW)
    assert len(body["client_secret"]) == 48 and body["client_secret_expires_at"] == 0
    assert body["redirect_uris"] == CODE_CLIENT["redirect_uris"]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_name"] == "App" and body["scope"] == "profile"
    assert "unknown_member" not in body
    stored = setup.store.clients[body["client_id"]]
    assert stored.client_secret_hash != body["client_secret"]
    assert body["client_secret"] not in json.dumps(stored.client_metadata)
    assert stored.check_client_secret(body["client_secret"])
    assert stored.check_redirect_uri("https://app.example.test/cb")


def test_defaults_of_section_2(setup: Setup) -> None:
    body = setup.register(CODE_CLIENT).json()
    assert body["grant_types"] == ["authorization_code"] and body["response_types"] == ["code"]
    assert body["token_endpoint_auth_method"] == "client_secret_basic" and body["scope"] == ""


def test_public_client_gets_no_secret(setup: Setup) -> None:
    body = setup.register({**CODE_CLIENT, "token_endpoint_auth_method": "none"}).json()
    assert "client_secret" not in body and "client_secret_expires_at" not in body
    assert setup.store.clients[body["client_id"]].client_secret_hash is None


@pytest.mark.parametrize("uri", [
    "https://app.example.test/cb", "http://127.0.0.1/cb", "http://127.0.0.1:8400/cb",
    "http://[::1]:8400/cb", "https://app.example.test/cb?x=1",
])
def test_acceptable_redirect_uris(setup: Setup, uri: str) -> None:
    assert setup.register({"redirect_uris": [uri]}).status == 201


@pytest.mark.parametrize("uri", [
    "http://app.example.test/cb",        # plain http, not loopback
    "https://app.example.test/cb#frag",  # fragment (RFC 6749 §3.1.2)
    "https://app.example.test/cb#",
    "/cb",                               # relative
    "http://localhost/cb",               # RFC 8252 §8.3: loopback IP literals only
    "com.example.app:/cb",               # private-use schemes are not offered
    "javascript:alert(1)",
    "https://user@app.example.test/cb",  # userinfo
    "https://app.example.test:99999/cb",
])
def test_refused_redirect_uris(setup: Setup, uri: str) -> None:
    response = setup.register({"redirect_uris": ["https://ok.example.test/cb", uri]})
    assert response.status == 400 and response.json()["error"] == "invalid_redirect_uri"
    assert setup.store.clients == {}


def test_redirect_uris_required_for_redirect_grants(setup: Setup) -> None:
    response = setup.register({"client_name": "No URIs"})
    assert response.json()["error"] == "invalid_redirect_uri"


@pytest.mark.parametrize("metadata", [
    {"grant_types": ["authorization_code"], "response_types": ["token"]},
    {"grant_types": ["implicit"], "response_types": ["code"],
     "token_endpoint_auth_method": "none"},
    {"grant_types": ["authorization_code", "implicit"], "response_types": ["code"]},
    {"grant_types": ["refresh_token"], "response_types": ["code"]},
    {"grant_types": ["urn:example:unknown"]},
    {"response_types": ["code id_token"]},
    {"grant_types": []},
    {"grant_types": "authorization_code"},
    {"response_types": []},
    {"token_endpoint_auth_method": "client_secret_jwt"},
    {"token_endpoint_auth_method": 3},
    {"scope": "admin"},
    {"scope": ["profile"]},
    {"client_name": 7},
    {"logo_uri": "javascript:alert(1)"},
    {"client_uri": "ftp://app.example.test"},
    {"tos_uri#fr": "data:text/html,hi"},
    {"contacts": "admin@example.test"},
    {"jwks": {"keys": []}, "jwks_uri": "https://app.example.test/jwks"},
    {"jwks_uri": "http://app.example.test/jwks"},
    {"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}},
    {"jwks": "not an object"},
    {"token_endpoint_auth_method": "private_key_jwt"},
])
def test_invalid_metadata(setup: Setup, metadata: dict[str, Any]) -> None:
    response = setup.register({**CODE_CLIENT, **metadata}, token=INITIAL)
    assert response.status == 400, response.json()
    assert response.json()["error"] == "invalid_client_metadata"
    assert setup.store.clients == {}


def test_grant_and_auth_method_must_fit(setup: Setup) -> None:
    for metadata in [{"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"},
                     {"grant_types": ["implicit"], "redirect_uris": CODE_CLIENT["redirect_uris"]},
                     {"grant_types": ["password"], "token_endpoint_auth_method": "none"}]:
        response = setup.register(metadata, token=INITIAL)
        assert response.json()["error"] == "invalid_client_metadata", metadata
    assert setup.store.clients == {}


def test_implicit_for_a_public_client_with_a_token(setup: Setup) -> None:
    metadata = {**CODE_CLIENT, "grant_types": ["implicit"], "token_endpoint_auth_method": "none"}
    assert setup.register(metadata).json()["error"] == "invalid_token"
    body = setup.register(metadata, token=INITIAL).json()
    assert body["response_types"] == ["token"]


def test_response_types_alone_imply_the_grant(setup: Setup) -> None:
    body = setup.register({**CODE_CLIENT, "response_types": ["code"]}).json()
    assert body["grant_types"] == ["authorization_code"]


@pytest.mark.parametrize("grant", ["client_credentials", "password"])
def test_other_grants_need_an_initial_access_token(setup: Setup, grant: str) -> None:
    metadata = {"grant_types": [grant], "scope": "reports"}
    response = setup.register(metadata)
    assert response.status == 401 and response.json()["error"] == "invalid_token"
    assert response.header("WWW-Authenticate", ).startswith('Bearer error="invalid_token"')
    assert setup.register(metadata, token="wrong-token").status == 401
    assert setup.store.clients == {}
    body = setup.register(metadata, token=INITIAL).json()
    assert body["grant_types"] == [grant] and body["response_types"] == []


def test_a_bad_token_is_refused_even_where_none_is_needed(setup: Setup) -> None:
    assert setup.register(CODE_CLIENT, token="wrong").json()["error"] == "invalid_token"
    response = setup.register(CODE_CLIENT, Authorization="Basic " + base64.b64encode(
        b"a:b").decode())
    assert response.status == 401
    assert setup.store.clients == {}


@pytest.mark.parametrize(("kwargs", "error"), [
    ({"content_type": "application/x-www-form-urlencoded", "body": b"client_name=x"},
     "invalid_request"),
    ({"content_type": "text/plain", "body": b"{}"}, "invalid_request"),
    ({"body": b"not json"}, "invalid_client_metadata"),
    ({"body": b"[1, 2]"}, "invalid_client_metadata"),
    ({"body": b'{"client_name": "a", "client_name": "b"}'}, "invalid_client_metadata"),
    ({"body": b'{"scope": NaN}'}, "invalid_client_metadata"),
    ({"body": b"\xff\xfe"}, "invalid_client_metadata"),
    ({"body": b" " * (70 * 1024)}, "invalid_request"),
    ({"method": "GET", "body": b""}, "invalid_request"),
])
def test_malformed_requests(setup: Setup, kwargs: dict[str, Any], error: str) -> None:
    response = setup.register(**kwargs)
    assert response.status == 400 and response.json()["error"] == error
    assert setup.store.clients == {}


def test_plain_http_from_elsewhere_is_refused() -> None:
    setup = Setup()
    request = Request.build("POST", "http://auth.example.test/oauth/register",
                            headers={"Content-Type": "application/json"},
                            body=json.dumps(CODE_CLIENT))
    response = setup.server.create_endpoint_response("registration", request)
    assert response.json()["error"] == "invalid_request"


def test_private_key_jwt_client_registers_and_authenticates(setup: Setup,
                                                            key: SigningKey) -> None:
    metadata = {"grant_types": ["client_credentials"], "scope": "reports",
                "token_endpoint_auth_method": "private_key_jwt",
                "jwks": {"keys": [key.public_jwk()]}}
    body = setup.register(metadata, token=INITIAL).json()
    assert "client_secret" not in body and body["jwks"] == metadata["jwks"]
    client_id = body["client_id"]
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER + "/oauth/token",
              "exp": int(NOW) + 60, "iat": int(NOW), "jti": "one"}
    assertion = encode_compact({"alg": "ES256", "kid": key.kid}, claims, key.sign)
    token = setup.server.create_token_response(Request.build(
        "POST", ISSUER + "/oauth/token",
        form={"grant_type": "client_credentials", "scope": "reports", "client_assertion": assertion,
              "client_assertion_type": JWT_BEARER_ASSERTION_TYPE}))
    assert token.status == 200 and token.json()["scope"] == "reports"


def test_jwks_uri_is_kept(setup: Setup) -> None:
    body = setup.register({**CODE_CLIENT, "token_endpoint_auth_method": "private_key_jwt",
                           "jwks_uri": "https://app.example.test/jwks.json"}).json()
    stored = setup.store.clients[body["client_id"]]
    assert stored.jwks_uri == "https://app.example.test/jwks.json" and stored.jwks is None


def test_private_keys_are_never_registered(setup: Setup, key: SigningKey) -> None:
    leaked = dict(key.public_jwk(), d="c2VjcmV0")
    response = setup.register({**CODE_CLIENT, "jwks": {"keys": [leaked]}})
    assert response.json()["error"] == "invalid_client_metadata"


def test_human_readable_members_are_echoed(setup: Setup) -> None:
    metadata = {**CODE_CLIENT, "client_uri": "https://app.example.test",
                "logo_uri": "https://app.example.test/logo.png",
                "tos_uri": "https://app.example.test/tos",
                "policy_uri": "https://app.example.test/privacy",
                "client_name#fr": "Appli", "contacts": ["ops@app.example.test"],
                "software_id": "4NRB1-0XZABZI9E6-5SM3R", "software_version": "2.1"}
    body = setup.register(metadata).json()
    for name, value in metadata.items():
        assert body[name] == value


def test_software_statements_are_ignored_without_a_verifier(setup: Setup) -> None:
    body = setup.register({**CODE_CLIENT, "software_statement": "eyJ.eyJ.sig"}).json()
    assert "software_statement" not in body


def test_software_statement_values_take_precedence() -> None:
    def verify(statement: str, request: Request) -> dict[str, Any]:
        if statement != "trusted":
            raise InvalidSoftwareStatementError()
        return {"client_name": "From the statement", "software_id": "sw-1"}

    setup = Setup(verify_software_statement=verify)
    body = setup.register({**CODE_CLIENT, "software_statement": "trusted"}).json()
    assert body["client_name"] == "From the statement" and body["software_id"] == "sw-1"
    assert body["software_statement"] == "trusted"
    for statement in ("forged", 42):
        response = setup.register({**CODE_CLIENT, "software_statement": statement})
        assert response.json()["error"] == "invalid_software_statement"
    assert len(setup.store.clients) == 1


def test_nmos_like_profile() -> None:
    class NMOSRegistration(ClientRegistrationEndpoint):
        def check_policy(self, metadata: dict[str, Any], token: Any, request: Request) -> None:
            if "client_credentials" in metadata["grant_types"] and \
                    not set(metadata["scope"].split()) <= {"registration", "events"}:
                raise InvalidClientMetadataError("The scope '{scope}' is not available.",
                                                 params={"scope": metadata["scope"]})

    setup = Setup()
    endpoint = NMOSRegistration(setup.server, save_client=setup.store.save_client,
                                authenticate_token=lambda r: bearer_token(r) == INITIAL,
                                client_id_length=20,
                                allowed_grant_types={"authorization_code", "refresh_token",
                                                     "client_credentials"})
    setup.server.register_endpoint(endpoint)
    assert len(setup.register(CODE_CLIENT).json()["client_id"]) == 20
    password = setup.register({"grant_types": ["password"]}, token=INITIAL).json()
    assert password["error"] == "invalid_client_metadata"
    wide = setup.register({"grant_types": ["client_credentials"], "scope": "reports"},
                          token=INITIAL)
    assert wide.json()["error"] == "invalid_client_metadata"
    narrow = setup.register({"grant_types": ["client_credentials"], "scope": "registration"},
                            token=INITIAL)
    assert narrow.status == 201


def test_client_id_length_is_bounded(setup: Setup) -> None:
    with pytest.raises(ValueError):
        ClientRegistrationEndpoint(setup.server, client_id_length=8)


def test_save_client_is_required() -> None:
    setup = Setup(save_client=None)
    setup.endpoint._save_client = None
    with pytest.raises(NotImplementedError):
        setup.register(CODE_CLIENT)


def test_without_a_token_hook_only_open_grants_register() -> None:
    setup = Setup(authenticate_token=None)
    setup.endpoint._authenticate_token = None
    assert setup.register(CODE_CLIENT).status == 201
    assert setup.register({"grant_types": ["client_credentials"]}, token=INITIAL).status == 401


def test_errors_are_translated(setup: Setup) -> None:
    response = setup.register({"redirect_uris": ["http://app.example.test/cb"]},
                              **{"Accept-Language": "de"})
    assert "Weiterleitungs-URIs" in response.json()["error_description"]


def test_metadata_advertises_registration(setup: Setup) -> None:
    assert setup.server.metadata()["registration_endpoint"] == REGISTER
    plain = create_server(MemoryStore(), ServerConfig(issuer=ISSUER)).metadata()
    assert "registration_endpoint" not in plain
