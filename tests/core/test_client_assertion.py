"""private_key_jwt (RFC 7523 §2.2, §3) at the token, revocation and metadata endpoints."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest

from authgate.cache import MemoryCache
from authgate.core.http import Request, Response
from authgate.core.oauth2.client_assertion import (
    JWT_BEARER_ASSERTION_TYPE,
    ClientJWKSCache,
    MemoryReplayCache,
    PrivateKeyJWT,
    parse_client_jwks,
)
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.jwt import SigningKey
from authgate.core.oauth2.jwt.jwk import b64url_encode
from authgate.core.oauth2.jwt.jws import encode_compact
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.server import AuthorizationServer
from authgate.core.oauth2.stored import create_server

ISSUER = "https://auth.example.test"
TOKEN_URL = ISSUER + "/oauth/token"
NOW = 1_800_000_000.0


@pytest.fixture(scope="module")
def keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg) for alg in ("RS256", "RS512", "ES256", "EdDSA")}


@pytest.fixture(scope="module")
def stranger() -> SigningKey:
    return SigningKey.generate("RS256")


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> float:
        return self.now


class Setup:
    def __init__(self, keys: dict[str, SigningKey], **method_options: Any) -> None:
        self.clock = Clock()
        self.store = MemoryStore(clock=self.clock)
        self.keys = keys
        self.client, _ = self.store.add_client(
            secret=False, client_id="robot", grant_types=["client_credentials"], scope="reports",
            jwks={"keys": [k.public_jwk() for k in keys.values()]},
        )
        self.client.token_endpoint_auth_method = "private_key_jwt"
        self.server: AuthorizationServer = create_server(
            self.store, ServerConfig(issuer=ISSUER, clock=self.clock))
        options: dict[str, Any] = {"issuer": ISSUER, "clock": self.clock, **method_options}
        self.method = PrivateKeyJWT(TOKEN_URL, **options)
        self.server.register_client_auth_method(self.method)

    def claims(self, **changes: Any) -> dict[str, Any]:
        claims: dict[str, Any] = {"iss": "robot", "sub": "robot", "aud": TOKEN_URL,
                                  "iat": int(self.clock.now), "exp": int(self.clock.now) + 60,
                                  "jti": f"jti-{self.clock.now}-{len(changes)}"}
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def assertion(self, key: SigningKey | None = None, header: dict[str, Any] | None = None,
                  **changes: Any) -> str:
        key = key or self.keys["RS256"]
        head = {"alg": key.alg, "kid": key.kid, **(header or {})}
        return encode_compact(head, self.claims(**changes), key.sign)

    def token(self, assertion: str, *, headers: dict[str, str] | None = None,
              url: str = TOKEN_URL, **form: str) -> Response:
        data = {"grant_type": "client_credentials", "scope": "reports",
                "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
                "client_assertion": assertion, **form}
        return self.server.create_token_response(
            Request.build("POST", url, headers=headers or {}, form=data))


@pytest.fixture
def setup(keys: dict[str, SigningKey]) -> Setup:
    return Setup(keys)


def refused(response: Response) -> bool:
    body = response.json()
    return (response.status == 401 and body["error"] == "invalid_client"
            and response.header("WWW-Authenticate") is None)


@pytest.mark.parametrize("alg", ["RS256", "RS512", "ES256", "EdDSA"])
def test_each_algorithm_authenticates(setup: Setup, alg: str) -> None:
    response = setup.token(setup.assertion(setup.keys[alg]))
    assert response.status == 200, response.json()
    assert response.json()["scope"] == "reports"


def test_key_without_kid_is_found_by_thumbprint(setup: Setup) -> None:
    key = setup.keys["ES256"]
    bare = {k: v for k, v in key.public_jwk().items() if k != "kid"}
    setup.client.jwks = {"keys": [bare]}
    assert setup.token(encode_compact({"alg": "ES256"}, setup.claims(), key.sign)).status == 200


def test_signed_by_another_key(setup: Setup, stranger: SigningKey) -> None:
    assert refused(setup.token(setup.assertion(stranger)))
    # even when it claims the kid of a registered key
    forged = setup.assertion(stranger, header={"kid": setup.keys["RS256"].kid})
    assert refused(setup.token(forged))


def test_alg_none(setup: Setup) -> None:
    header = b64url_encode(json.dumps({"alg": "none"}).encode())
    payload = b64url_encode(json.dumps(setup.claims()).encode())
    assert refused(setup.token(f"{header}.{payload}.c2ln"))
    assert refused(setup.token(f"{header}.{payload}."))


def test_hs256_with_the_public_key_as_secret(setup: Setup) -> None:
    rsa_key = setup.keys["RS256"]
    for secret in (rsa_key.public_pem(), json.dumps(rsa_key.public_jwk()).encode()):
        def sign(data: bytes, secret: bytes = secret) -> bytes:
            return hmac.new(secret, data, hashlib.sha256).digest()
        token = encode_compact({"alg": "HS256", "kid": rsa_key.kid}, setup.claims(), sign)
        assert refused(setup.token(token))


def test_key_bearing_headers_are_refused(setup: Setup, stranger: SigningKey) -> None:
    for name, value in [("jwk", stranger.public_jwk()), ("jku", "https://evil.test/jwks"),
                        ("x5u", "https://evil.test/cert"), ("x5c", ["MIIB"])]:
        assert refused(setup.token(setup.assertion(header={name: value})))
    assert refused(setup.token(setup.assertion(header={"crit": ["exp"]})))
    assert refused(setup.token(setup.assertion(header={"typ": "at+jwt"})))


@pytest.mark.parametrize("changes", [
    {"exp": int(NOW) - 31},                       # expired beyond the leeway
    {"exp": int(NOW) + 3700, "iat": None},        # exp beyond the hour (and leeway)
    {"exp": int(NOW) + 3590, "iat": int(NOW) - 20},  # lifetime above an hour
    {"exp": None},
    {"exp": "soon"},
    {"nbf": int(NOW) + 120},
    {"iat": int(NOW) + 120},
    {"jti": None},
    {"jti": "x" * 300},
    {"aud": "https://other.example.test/oauth/token"},
    {"aud": None},
    {"aud": [1, 2]},
    {"sub": "someone-else"},
    {"iss": "someone-else"},
    {"iss": None, "sub": None},
])
def test_bad_claims(setup: Setup, changes: dict[str, Any]) -> None:
    assert refused(setup.token(setup.assertion(**changes)))


def test_within_the_leeway_and_bounds(setup: Setup) -> None:
    assert setup.token(setup.assertion(exp=int(NOW) - 5, jti="a")).status == 200
    assert setup.token(setup.assertion(exp=int(NOW) + 300, iat=None, jti="b")).status == 200
    assert setup.token(setup.assertion(nbf=int(NOW) + 10, jti="c")).status == 200


def test_audiences(keys: dict[str, SigningKey]) -> None:
    setup = Setup(keys)
    assert setup.token(setup.assertion(aud=ISSUER, jti="1")).status == 200
    assert setup.token(setup.assertion(aud=["https://x.test", TOKEN_URL], jti="2")).status == 200
    strict = Setup(keys, accept_issuer=False)
    assert refused(strict.token(strict.assertion(aud=ISSUER, jti="3")))
    assert strict.token(strict.assertion(jti="4")).status == 200


def test_without_configured_audience_the_request_url_counts() -> None:
    method = PrivateKeyJWT()
    from authgate.core.oauth2.request import OAuth2Request

    request = OAuth2Request(http=Request.build("POST", TOKEN_URL + "?x=1", form={}))
    assert method.accepted_audiences(request) == {TOKEN_URL}


def test_replayed_jti(setup: Setup) -> None:
    assertion = setup.assertion()
    assert setup.token(assertion).status == 200
    assert refused(setup.token(assertion))
    setup.clock.now += 100  # still refused after the assertion expired
    assert refused(setup.token(assertion))


def test_a_shared_cache_works_as_replay_cache(keys: dict[str, SigningKey]) -> None:
    cache = MemoryCache()
    first, second = Setup(keys, replay_cache=cache), Setup(keys, replay_cache=cache)
    assertion = first.assertion()
    assert first.token(assertion).status == 200
    assert refused(second.token(assertion))  # another worker, same cache


def test_memory_replay_cache_forgets_expired_entries() -> None:
    clock = Clock()
    cache = MemoryReplayCache(clock)
    assert cache.add("k", 1, 5) and not cache.add("k", 1, 5)
    clock.now += 20
    assert cache.add("other", 1, 5)
    assert cache.add("k", 1, 5) and len(cache) == 2


def test_client_registered_for_another_method(setup: Setup) -> None:
    fetched: list[str] = []
    setup.client.token_endpoint_auth_method = "client_secret_basic"
    setup.client.jwks, setup.client.jwks_uri = None, "https://client.test/jwks"
    setup.method.jwks_cache = ClientJWKSCache(lambda url: fetched.append(url) or b"{}")
    assert refused(setup.token(setup.assertion()))
    assert fetched == []  # no fetch on behalf of a client not registered for the method


def test_private_key_jwt_and_basic_at_once(setup: Setup) -> None:
    basic = "Basic " + base64.b64encode(b"robot:secret").decode()
    response = setup.token(setup.assertion(), headers={"Authorization": basic})
    assert response.status == 400 and response.json()["error"] == "invalid_request"


def test_assertion_with_client_secret_post_at_once(setup: Setup) -> None:
    response = setup.token(setup.assertion(), client_secret="x", client_id="robot")
    assert response.status == 400 and response.json()["error"] == "invalid_request"


def test_form_client_id_must_match(setup: Setup) -> None:
    assert setup.token(setup.assertion(jti="ok"), client_id="robot").status == 200
    assert refused(setup.token(setup.assertion(jti="no"), client_id="other"))


def test_missing_assertion_type(setup: Setup) -> None:
    data = {"grant_type": "client_credentials", "client_assertion": setup.assertion()}
    response = setup.server.create_token_response(Request.build("POST", TOKEN_URL, form=data))
    assert response.status == 400 and response.json()["error"] == "invalid_request"


def test_garbage_assertion(setup: Setup) -> None:
    for junk in ["", "a.b", "a.b.c", "x" * 20000, "e30.e30.e30"]:
        response = setup.token(junk) if junk else setup.token("a..c")
        assert refused(response)


def test_unknown_client(setup: Setup) -> None:
    assert refused(setup.token(setup.assertion(iss="ghost", sub="ghost")))


def test_client_without_keys(setup: Setup) -> None:
    setup.client.jwks = None
    assert refused(setup.token(setup.assertion()))


def test_unregistered_method_is_not_used(keys: dict[str, SigningKey]) -> None:
    setup = Setup(keys)
    del setup.server.auth_methods["private_key_jwt"]
    response = setup.token(setup.assertion())
    assert response.status == 401 and response.json()["error"] == "invalid_client"


def test_grant_not_listing_the_method(setup: Setup) -> None:
    grant_cls, ext = setup.server.token_grants["client_credentials"]

    class Narrow(grant_cls):  # type: ignore[valid-type, misc]
        TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic",)

    setup.server.token_grants["client_credentials"] = (Narrow, ext)
    assert refused(setup.token(setup.assertion()))


class FakeJWKS:
    def __init__(self, documents: dict[str, list[dict[str, Any]]]) -> None:
        self.documents = documents
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        return json.dumps({"keys": self.documents[url]}).encode()


def test_jwks_uri_is_fetched_cached_and_refreshed_on_rotation(keys: dict[str, SigningKey],
                                                               stranger: SigningKey) -> None:
    url = "https://client.test/jwks.json"
    fake = FakeJWKS({url: [keys["ES256"].public_jwk()]})
    monotonic = Clock()
    setup = Setup(keys, jwks_cache=ClientJWKSCache(fake, clock=monotonic))
    setup.client.jwks, setup.client.jwks_uri = None, url
    assert setup.token(setup.assertion(keys["ES256"], jti="1")).status == 200
    assert setup.token(setup.assertion(keys["ES256"], jti="2")).status == 200
    assert fake.calls == [url]
    # The client rotates to a new key: an unknown kid triggers one refetch ...
    fake.documents[url] = [stranger.public_jwk()]
    monotonic.now += 31
    assert setup.token(setup.assertion(stranger, jti="3")).status == 200
    assert len(fake.calls) == 2
    # ... but forged kids cannot make us fetch on every request.
    for n in range(3):
        assert refused(setup.token(setup.assertion(keys["RS256"], jti=f"x{n}")))
    assert len(fake.calls) == 2


def test_jwks_uri_failure_is_invalid_client(keys: dict[str, SigningKey]) -> None:
    def broken(url: str) -> bytes:
        raise OSError("down")

    setup = Setup(keys, fetch=broken)
    setup.client.jwks, setup.client.jwks_uri = None, "https://client.test/jwks.json"
    assert refused(setup.token(setup.assertion()))


def test_default_fetcher_refuses_plain_http(keys: dict[str, SigningKey]) -> None:
    setup = Setup(keys)
    setup.client.jwks, setup.client.jwks_uri = None, "http://client.example.test/jwks"
    assert refused(setup.token(setup.assertion()))


def test_parse_client_jwks_is_strict_when_asked(keys: dict[str, SigningKey]) -> None:
    private = dict(keys["EdDSA"].public_jwk(), d="c2VjcmV0")
    assert parse_client_jwks({"keys": [private]}) == []
    with pytest.raises(ValueError):
        parse_client_jwks({"keys": [private]}, strict=True)
    with pytest.raises(ValueError):
        parse_client_jwks({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}, strict=True)
    with pytest.raises(ValueError):
        parse_client_jwks({"keys": "nope"})


def test_revocation_endpoint_accepts_the_method(setup: Setup) -> None:
    token = setup.token(setup.assertion(jti="t")).json()["access_token"]
    response = setup.server.create_endpoint_response("revocation", Request.build(
        "POST", ISSUER + "/oauth/revoke",
        form={"token": token, "client_assertion_type": JWT_BEARER_ASSERTION_TYPE,
              "client_assertion": setup.assertion(jti="r", aud=ISSUER)}))
    assert response.status == 200
    assert setup.store.query_access_token(token).is_revoked()  # type: ignore[union-attr]


def test_metadata_lists_the_method_and_its_algorithms(setup: Setup) -> None:
    metadata = setup.server.metadata()
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert metadata["token_endpoint_auth_signing_alg_values_supported"] == [
        "RS256", "RS512", "ES256", "EdDSA"]
    assert "private_key_jwt" in metadata["revocation_endpoint_auth_methods_supported"]
    assert "HS256" not in metadata["introspection_endpoint_auth_signing_alg_values_supported"]


def test_metadata_without_the_method(keys: dict[str, SigningKey]) -> None:
    plain = create_server(MemoryStore(), ServerConfig(issuer=ISSUER)).metadata()
    assert "private_key_jwt" not in plain["token_endpoint_auth_methods_supported"]
    assert "token_endpoint_auth_signing_alg_values_supported" not in plain


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError):
        PrivateKeyJWT(algorithms=["HS256"])
    with pytest.raises(ValueError):
        PrivateKeyJWT(algorithms=["none"])
    with pytest.raises(ValueError):
        PrivateKeyJWT(leeway=600)
    assert "RS256" in repr(PrivateKeyJWT(TOKEN_URL))


def test_the_failure_reason_is_logged_not_returned(setup: Setup,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="authgate.core.oauth2.client_assertion")
    response = setup.token(setup.assertion(aud="https://other.test"))
    assert response.json()["error_description"] == "The client assertion is invalid."
    assert "aud names another server" in caplog.text
    assert setup.assertion() not in caplog.text
