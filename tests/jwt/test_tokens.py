"""The RFC 9068 generator: header, claims, audiences, extra claims, the seed callable."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from authgate.core.oauth2.jwt import (
    JWTAccessTokenGenerator,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
    TokenContext,
)
from authgate.core.oauth2.jwt.jwk import b64url_decode

from .conftest import ISSUER, NOW


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload))


def make(key: SigningKey, clock, **kwargs: Any) -> JWTAccessTokenGenerator:
    return JWTAccessTokenGenerator(ISSUER, KeySet([key]), clock=clock, **kwargs)


def test_round_trip_every_alg(any_key: SigningKey, clock) -> None:
    gen = make(any_key, clock)
    token = gen.generate(client_id="c1", grant_type="authorization_code", user_id="alice",
                         scope="profile email", expires_in=300)
    header, claims = parts(token)
    assert header == {"alg": any_key.alg, "kid": any_key.kid, "typ": "at+jwt"}
    assert claims["iss"] == ISSUER and claims["sub"] == "alice" and claims["aud"] == "c1"
    assert claims["iat"] == int(NOW) and claims["exp"] == int(NOW) + 300
    assert claims["client_id"] == "c1" and claims["scope"] == "profile email"
    assert "nbf" not in claims
    validator = JWTAccessTokenValidator(ISSUER, "c1", KeySet([any_key]), clock=clock)
    result = validator.validate(token)
    assert result.sub == "alice" and result.scopes == {"profile", "email"}
    assert result.jti == claims["jti"] and result.aud == ("c1",)


def test_jti_is_random_and_long(rsa_key: SigningKey, clock) -> None:
    gen = make(rsa_key, clock)
    jtis = {parts(gen.generate(client_id="c", grant_type="g", user_id=None, scope=None,
                                expires_in=60))[1]["jti"] for _ in range(50)}
    assert len(jtis) == 50
    assert all(len(b64url_decode(j)) >= 16 for j in jtis)


def test_client_credentials_sub_is_client(rsa_key: SigningKey, clock) -> None:
    token = make(rsa_key, clock).generate(client_id="svc", grant_type="client_credentials",
                                          user_id=None, scope="", expires_in=60)
    claims = parts(token)[1]
    assert claims["sub"] == "svc" and "scope" not in claims


def test_audiences(rsa_key: SigningKey, clock) -> None:
    gen = make(rsa_key, clock, default_audience=["https://a", "https://b"])
    kwargs: dict[str, Any] = dict(client_id="c", grant_type="g", user_id="u", scope="s",
                                  expires_in=60)
    assert parts(gen.generate(**kwargs))[1]["aud"] == ["https://a", "https://b"]
    assert parts(gen.generate(**kwargs, audience="https://x"))[1]["aud"] == "https://x"
    with pytest.raises(ValueError):
        gen.generate(**kwargs, audience=[])


def test_nbf_optional(rsa_key: SigningKey, clock) -> None:
    token = make(rsa_key, clock, include_nbf=True).generate(
        client_id="c", grant_type="g", user_id="u", scope=None, expires_in=60)
    assert parts(token)[1]["nbf"] == int(NOW)


def test_extra_claims_for_nmos(rsa_key: SigningKey, clock) -> None:
    seen: list[TokenContext] = []

    def nmos_claims(ctx: TokenContext) -> dict[str, Any]:
        seen.append(ctx)
        return {"x-nmos-registration": {"read": ["*"], "write": ["*"]}}

    gen = make(rsa_key, clock, get_extra_claims=nmos_claims)
    token = gen.generate(client_id="c", grant_type="authorization_code", user_id="u",
                         scope="registration", expires_in=60, extra_claims={"x-nmos-query":
                                                                            {"read": ["*"]}})
    claims = parts(token)[1]
    assert claims["x-nmos-registration"] == {"read": ["*"], "write": ["*"]}
    assert claims["x-nmos-query"] == {"read": ["*"]}
    assert seen[0].grant_type == "authorization_code" and seen[0].audience == "c"


@pytest.mark.parametrize("name", ["iss", "sub", "aud", "exp", "jti", "client_id"])
def test_extra_claims_cannot_override_registered(rsa_key: SigningKey, clock, name: str) -> None:
    with pytest.raises(ValueError):
        make(rsa_key, clock).generate(client_id="c", grant_type="g", user_id="u", scope=None,
                                      expires_in=60, extra_claims={name: "evil"})


@pytest.mark.parametrize("bad", [0, -5, True, 1.5])
def test_expires_in_must_be_positive_int(rsa_key: SigningKey, clock, bad: Any) -> None:
    with pytest.raises(ValueError):
        make(rsa_key, clock).generate(client_id="c", grant_type="g", user_id="u", scope=None,
                                      expires_in=bad)


@dataclass
class Client:
    client_id: str

    def get_client_id(self) -> str:
        return self.client_id


@dataclass
class User:
    id: int

    def get_user_id(self) -> int:
        return self.id


def test_seed_callable(rsa_key: SigningKey, clock) -> None:
    gen = make(rsa_key, clock, expires_in=900)
    token = gen(client=Client("c9"), grant_type="password", user=User(42), scope="a")
    claims = parts(token)[1]
    assert claims["sub"] == "42" and claims["client_id"] == "c9"
    assert claims["exp"] - claims["iat"] == 900
    positional = parts(gen(Client("c9"), "client_credentials", None, "a"))[1]
    assert positional["sub"] == "c9"

    class Bare:
        client_id = "bare"

    assert parts(gen(Bare(), "client_credentials", None, None, expires_in=5))[1]["exp"] == (
        int(NOW) + 5)


def test_signs_with_key_active_now(session_keys: dict[str, SigningKey], clock) -> None:
    old = session_keys["RS256"].replace(not_before=NOW - 100)
    new = session_keys["ES256"].replace(not_before=NOW + 100)
    keys = KeySet([old])
    keys.rotate(new, max_token_lifetime=3600)
    gen = JWTAccessTokenGenerator(ISSUER, keys, clock=clock)
    kwargs: dict[str, Any] = dict(client_id="c", grant_type="g", user_id="u", scope=None,
                                  expires_in=60)
    assert parts(gen.generate(**kwargs))[0]["kid"] == old.kid
    clock.advance(100)
    assert parts(gen.generate(**kwargs))[0]["kid"] == new.kid


def test_callable_key_source(rsa_key: SigningKey, clock) -> None:
    gen = JWTAccessTokenGenerator(ISSUER, lambda: rsa_key, clock=clock)
    token = gen.generate(client_id="c", grant_type="g", user_id="u", scope=None, expires_in=60)
    assert parts(token)[0]["kid"] == rsa_key.kid
    assert "PRIVATE" not in repr(gen)
