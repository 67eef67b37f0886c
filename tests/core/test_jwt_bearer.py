"""JWT access tokens issued by the server and checked by a resource protector."""

from __future__ import annotations

import jwt as pyjwt
import pytest
from tests.support.oauth2 import basic

from authgate.core.http import Request
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.errors import InsufficientScopeError, InvalidTokenError
from authgate.core.oauth2.jwt import (
    JWTAccessTokenGenerator,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
)
from authgate.core.oauth2.jwt_bearer import JWTBearerTokenValidator
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.resource import ResourceProtector
from authgate.core.oauth2.stored import create_server
from authgate.core.oauth2.tokens import BearerTokenGenerator

ISSUER = "https://auth.example.test"


@pytest.fixture(params=["RS256", "ES256", "EdDSA", "RS512"])
def setup(request, clock):
    keys = KeySet([SigningKey.generate(request.param, created_at=clock() - 10,
                                       not_before=clock() - 10)])
    store = MemoryStore(clock=clock)
    generator = JWTAccessTokenGenerator(ISSUER, keys, default_audience="https://api.test",
                                        clock=clock)
    tokens = BearerTokenGenerator(generator, expires_in={"client_credentials": 600})
    server = create_server(store, ServerConfig(issuer=ISSUER, clock=clock),
                           token_generator=tokens)
    client, secret = store.add_client(client_id="svc", grant_types=["client_credentials"],
                                      scope="profile email")
    validator = JWTAccessTokenValidator(ISSUER, "https://api.test", keys, clock=clock)
    revoked: set[str] = set()
    protector = ResourceProtector()
    protector.register_token_validator(
        JWTBearerTokenValidator(validator, realm="api", clock=clock,
                                is_revoked=lambda c: c.jti in revoked))
    return server, protector, client, secret, revoked


def issue(server, client, secret, scope="profile"):
    resp = server.create_token_response(Request.build(
        "POST", ISSUER + "/oauth/token", headers=basic(client.client_id, secret),
        form={"grant_type": "client_credentials", "scope": scope}))
    assert resp.status == 200, resp.body
    return resp.json()


def api(protector, token, scope="profile"):
    return protector.validate_request(scope, Request.build(
        "GET", "https://api.test/me", headers={"Authorization": f"Bearer {token}"}))


def test_issued_jwt_is_rfc9068_and_validates(setup, clock):
    server, protector, client, secret, _ = setup
    body = issue(server, client, secret)
    header = pyjwt.get_unverified_header(body["access_token"])
    claims = pyjwt.decode(body["access_token"], options={"verify_signature": False})
    assert header["typ"] == "at+jwt" and header["kid"]
    assert claims["exp"] - claims["iat"] == body["expires_in"] == 600
    assert claims["client_id"] == "svc" and claims["sub"] == "svc"
    assert claims["scope"] == "profile" and claims["iss"] == ISSUER
    token = api(protector, body["access_token"])
    assert token.client_id == "svc"
    with pytest.raises(InsufficientScopeError):
        api(protector, body["access_token"], "email")
    clock.advance(606)  # past exp and the validator's leeway
    with pytest.raises(InvalidTokenError):
        api(protector, body["access_token"])


def test_revocation_hook_and_tampering(setup):
    server, protector, client, secret, revoked = setup
    body = issue(server, client, secret)
    head, payload, sig = body["access_token"].split(".")
    with pytest.raises(InvalidTokenError):
        api(protector, f"{head}.{payload[:-2]}AA.{sig}")
    revoked.add(pyjwt.decode(body["access_token"], options={"verify_signature": False})["jti"])
    with pytest.raises(InvalidTokenError):
        api(protector, body["access_token"])


def test_extra_claims_see_the_client_and_the_user(clock):
    seen = []

    def extra(ctx):
        seen.append((ctx.client, ctx.user))
        return {"x-user": ctx.user.username if ctx.user else None}

    keys = KeySet([SigningKey.generate("ES256", created_at=clock() - 1, not_before=clock() - 1)])
    store = MemoryStore(clock=clock)
    generator = JWTAccessTokenGenerator(ISSUER, keys, clock=clock, get_extra_claims=extra)
    server = create_server(store, ServerConfig(issuer=ISSUER, clock=clock),
                           token_generator=BearerTokenGenerator(generator))
    client, secret = store.add_client(client_id="app", grant_types=["password"],
                                      scope="profile")
    alice = store.add_user("alice", "pw")
    resp = server.create_token_response(Request.build(
        "POST", ISSUER + "/oauth/token", headers=basic("app", secret),
        form={"grant_type": "password", "username": "alice", "password": "pw"}))
    claims = pyjwt.decode(resp.json()["access_token"], options={"verify_signature": False})
    assert claims["x-user"] == "alice" and seen == [(client, alice)]
