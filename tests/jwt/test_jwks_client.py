"""The JWKS client against a real HTTP server on loopback."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import jwt as pyjwt
import pytest
from tests.support.live import live_server

from authgate.core.oauth2.jwt import (
    InvalidJWTError,
    JWKSClient,
    JWKSFetchError,
    JWTAccessTokenGenerator,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
    jwks_document,
)
from authgate.core.oauth2.jwt.jwks_client import check_url, metadata_urls, safe_fetch

from .conftest import forge, good_claims

AUD = "https://rs.example.test"
StartResponse = Callable[[str, list[tuple[str, str]]], Any]


class AuthServer:
    """A tiny WSGI authorization server: metadata and ``/certs`` from a live key set."""

    def __init__(self, keys: KeySet) -> None:
        self.keys = keys
        self.base = ""
        self.issuer_override: str | None = None
        self.hits: dict[str, int] = {}
        self.down = False
        self.redirect_certs_to: str | None = None
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"]
        with self.lock:
            self.hits[path] = self.hits.get(path, 0) + 1
        if self.down:
            start("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"down"]
        if path == "/.well-known/oauth-authorization-server":
            body: Any = {"issuer": self.issuer_override or self.base,
                         "jwks_uri": self.base + "/certs"}
        elif path == "/certs" and self.redirect_certs_to:
            start("302 Found", [("Location", self.redirect_certs_to)])
            return [b""]
        elif path == "/certs":
            body = jwks_document(self.keys)
        elif path == "/huge":
            body = {"keys": [], "pad": "x" * 600_000}
        else:
            start("404 Not Found", [("Content-Type", "text/plain")])
            return [b"no"]
        start("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(body).encode()]

    def fetches(self) -> int:
        return self.hits.get("/certs", 0)


@pytest.fixture(scope="module")
def running() -> Iterator[AuthServer]:
    """One loopback server for the module (each shutdown costs half a second)."""
    app = AuthServer(KeySet())
    with live_server(app) as base:
        app.base = base
        yield app


@pytest.fixture
def server(running: AuthServer, session_keys: dict[str, SigningKey]) -> AuthServer:
    # The generator in some tests signs at wall-clock time, before the session NOW.
    running.keys = KeySet([session_keys["RS256"].replace(not_before=0)])
    running.hits.clear()
    running.issuer_override = running.redirect_certs_to = None
    running.down = False
    return running


def client_for(server: AuthServer, clock: Any, **kwargs: Any) -> JWKSClient:
    return JWKSClient(server.base, clock=clock, **kwargs)


def test_discovers_and_validates(server: AuthServer, session_keys, clock) -> None:
    jwks = client_for(server, clock)
    validator = JWTAccessTokenValidator(server.base, AUD, jwks)
    gen = JWTAccessTokenGenerator(server.base, server.keys, default_audience=AUD)
    token = gen.generate(client_id="c", grant_type="client_credentials", user_id=None,
                         scope="registration", expires_in=60)
    for _ in range(5):
        assert validator.validate(token).sub == "c"
    assert server.hits["/.well-known/oauth-authorization-server"] == 1
    assert server.fetches() == 1
    assert jwks.jwks_uri == server.base + "/certs" and jwks.issuer == server.base


def test_refreshes_on_unknown_kid_after_rotation(server: AuthServer, session_keys, clock) -> None:
    jwks = client_for(server, clock, min_refresh_interval=30)
    validator = JWTAccessTokenValidator(server.base, None, jwks, clock=clock)
    old, new = session_keys["RS256"], session_keys["ES256"]
    assert validator.validate(forge(old, good_claims(clock(), iss=server.base))).sub == "alice"
    clock.advance(31)
    server.keys.add(new)
    assert validator.validate(forge(new, good_claims(clock(), iss=server.base))).sub == "alice"
    assert server.fetches() == 2


def test_unknown_kid_refresh_is_rate_limited(server: AuthServer, session_keys, clock) -> None:
    jwks = client_for(server, clock, min_refresh_interval=30)
    validator = JWTAccessTokenValidator(server.base, None, jwks, clock=clock)
    key = session_keys["RS256"]
    assert validator.validate(forge(key, good_claims(clock(), iss=server.base)))
    for _ in range(20):  # an attacker sending random kids
        with pytest.raises(InvalidJWTError, match="unknown kid"):
            validator.validate(forge(key, good_claims(clock(), iss=server.base),
                                     header={"kid": uuid.uuid4().hex}))
    assert server.fetches() == 1  # the first load was seconds ago: no refresh yet
    clock.advance(30)
    for _ in range(20):
        with pytest.raises(InvalidJWTError):
            validator.validate(forge(key, good_claims(clock(), iss=server.base),
                                     header={"kid": uuid.uuid4().hex}))
    assert server.fetches() == 2  # one refresh per min_refresh_interval


def test_periodic_refresh(server: AuthServer, session_keys, clock) -> None:
    jwks = client_for(server, clock, refresh_interval=3600)
    kid = session_keys["RS256"].kid
    assert jwks.resolve_key(kid) is not None
    clock.advance(3599)
    assert jwks.resolve_key(kid) is not None and server.fetches() == 1
    clock.advance(1)
    assert jwks.resolve_key(kid) is not None and server.fetches() == 2


def test_keeps_keys_when_refresh_fails(server: AuthServer, session_keys, clock) -> None:
    jwks = client_for(server, clock)
    kid = session_keys["RS256"].kid
    assert jwks.resolve_key(kid) is not None
    server.down = True
    clock.advance(4000)
    assert jwks.resolve_key(kid) is not None  # stale, but better than failing every request
    assert server.fetches() == 2


def test_first_load_failure_is_not_an_invalid_token(server: AuthServer, session_keys,
                                                    clock) -> None:
    server.down = True
    validator = JWTAccessTokenValidator(server.base, None, client_for(server, clock), clock=clock)
    with pytest.raises(JWKSFetchError):
        validator.validate(forge(session_keys["RS256"], good_claims(clock(), iss=server.base)))


def test_concurrent_unknown_kids_fetch_once(server: AuthServer, clock) -> None:
    jwks = client_for(server, clock)
    assert jwks.resolve_key("warm-up") is None
    clock.advance(60)
    barrier = threading.Barrier(16)

    def hammer() -> None:
        barrier.wait()
        jwks.resolve_key(uuid.uuid4().hex)

    threads = [threading.Thread(target=hammer) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert server.fetches() == 2


def test_issuer_mismatch_refused(server: AuthServer, clock) -> None:
    server.issuer_override = "https://evil.test"
    with pytest.raises(JWKSFetchError, match="another issuer"):
        client_for(server, clock).resolve_key("x")


def test_metadata_url_given_directly(server: AuthServer, session_keys, clock) -> None:
    jwks = JWKSClient(server.base + "/.well-known/oauth-authorization-server", clock=clock)
    assert jwks.resolve_key(session_keys["RS256"].kid) is not None
    assert jwks.issuer == server.base


def test_jwks_uri_given_directly(server: AuthServer, session_keys, clock) -> None:
    jwks = JWKSClient(server.base, jwks_uri=server.base + "/certs", clock=clock)
    assert jwks.resolve_key(session_keys["RS256"].kid) is not None
    assert "/.well-known/oauth-authorization-server" not in server.hits


def test_redirect_to_plain_http_elsewhere_refused(server: AuthServer, clock) -> None:
    server.redirect_certs_to = "http://keys.example.com/certs"
    with pytest.raises(JWKSFetchError, match="https or loopback"):
        client_for(server, clock).resolve_key("x")


def test_oversized_document_refused(server: AuthServer) -> None:
    with pytest.raises(JWKSFetchError, match="more than"):
        safe_fetch(server.base + "/huge")


def test_missing_metadata(server: AuthServer, clock) -> None:
    with pytest.raises(JWKSFetchError):
        JWKSClient(server.base + "/tenant", clock=clock).resolve_key("x")


@pytest.mark.parametrize("url", ["http://example.com/certs", "ftp://127.0.0.1/x",
                                 "file:///etc/passwd", "https:///nohost", "http://10.0.0.1/"])
def test_url_rule_refuses(url: str) -> None:
    with pytest.raises(JWKSFetchError):
        check_url(url)


@pytest.mark.parametrize("url", ["https://as.example.com/certs", "http://127.0.0.1:4999/certs",
                                 "http://localhost/certs", "http://[::1]:80/certs"])
def test_url_rule_allows(url: str) -> None:
    check_url(url)


def test_metadata_urls_for_issuer_with_path() -> None:
    assert metadata_urls("https://as.example.com") == [
        "https://as.example.com/.well-known/oauth-authorization-server"]
    assert metadata_urls("https://as.example.com/tenant/") == [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant",
        "https://as.example.com/tenant/.well-known/oauth-authorization-server"]


def test_custom_fetch(session_keys, clock) -> None:
    docs = {"https://as.test/.well-known/oauth-authorization-server":
            {"issuer": "https://as.test", "jwks_uri": "https://as.test/certs"},
            "https://as.test/certs": KeySet([session_keys["EdDSA"]]).jwks(0)}
    jwks = JWKSClient("https://as.test", fetch=lambda url: json.dumps(docs[url]).encode(),
                      clock=clock)
    assert jwks.resolve_key(session_keys["EdDSA"].kid) is not None
    assert jwks.refresh() is False  # rate limited
    assert jwks.refresh(force=True) is True


def test_bad_intervals() -> None:
    with pytest.raises(ValueError):
        JWKSClient("https://as.test", refresh_interval=10, min_refresh_interval=30)


def test_pyjwt_jwks_client_reads_our_certs(server: AuthServer, session_keys) -> None:
    key = session_keys["RS256"]
    gen = JWTAccessTokenGenerator(server.base, server.keys, default_audience=AUD)
    token = gen.generate(client_id="c", grant_type="authorization_code", user_id="bob",
                         scope=None, expires_in=60)
    signing_key = pyjwt.PyJWKClient(server.base + "/certs").get_signing_key_from_jwt(token)
    assert signing_key.key_id == key.kid
    claims = pyjwt.decode(token, signing_key, algorithms=["RS256"], audience=AUD)
    assert claims["sub"] == "bob"


def test_nothing_listening(clock) -> None:
    from tests.conftest import free_port

    jwks = JWKSClient(f"http://127.0.0.1:{free_port()}", clock=clock, timeout=2)
    with pytest.raises(JWKSFetchError):
        jwks.resolve_key("x")
    with pytest.raises(JWKSFetchError, match="not been loaded"):
        jwks.resolve_key("x")  # rate limited: no second attempt, still an error
