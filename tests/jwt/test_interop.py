"""Our tokens and JWKS read by other JOSE implementations, and theirs read by us."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import jwt as pyjwt
import pytest

from authgate.core.oauth2.jwt import (
    JWTAccessTokenGenerator,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
)

from .conftest import ISSUER, good_claims

joserfc_jwt = pytest.importorskip("joserfc.jwt")
joserfc_jwk = pytest.importorskip("joserfc.jwk")
from joserfc.errors import SecurityWarning  # noqa: E402

AUD = "https://rs.example.test"


@contextmanager
def rfc9864_tolerated(alg: str) -> Iterator[None]:
    """joserfc warns that RFC 9864 deprecates the polymorphic ``EdDSA`` name."""
    with warnings.catch_warnings():
        if alg == "EdDSA":
            warnings.filterwarnings("ignore", category=SecurityWarning)
        yield


def mint(key: SigningKey) -> str:
    # Real time: the other libraries check exp/iat against the wall clock.
    gen = JWTAccessTokenGenerator(ISSUER, KeySet([key.replace(not_before=0)]),
                                  default_audience=AUD)
    return gen.generate(client_id="c1", grant_type="authorization_code", user_id="alice",
                        scope="profile", expires_in=300)


def test_joserfc_verifies_our_tokens(any_key: SigningKey) -> None:
    jwks = joserfc_jwk.KeySet.import_key_set(KeySet([any_key]).jwks(0))
    with rfc9864_tolerated(any_key.alg):
        token = joserfc_jwt.decode(mint(any_key), jwks, algorithms=[any_key.alg])
    assert token.header["typ"] == "at+jwt" and token.header["kid"] == any_key.kid
    registry = joserfc_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": ISSUER}, aud={"essential": True, "value": AUD},
        sub={"essential": True}, jti={"essential": True}, exp={"essential": True})
    registry.validate(token.claims)
    assert token.claims["client_id"] == "c1"


def test_joserfc_agrees_on_the_kid(any_key: SigningKey) -> None:
    imported = joserfc_jwk.JWKRegistry.import_key(any_key.to_pem(), any_key.kty)
    assert imported.thumbprint() == any_key.kid
    assert imported.as_dict(private=False).items() <= any_key.public_jwk().items()


def test_we_verify_joserfc_tokens(any_key: SigningKey, clock) -> None:
    theirs = joserfc_jwk.JWKRegistry.import_key(any_key.to_pem(), any_key.kty)
    header = {"alg": any_key.alg, "kid": any_key.kid, "typ": "at+jwt"}
    claims = good_claims(clock())
    with rfc9864_tolerated(any_key.alg):
        token = joserfc_jwt.encode(header, claims, theirs, algorithms=[any_key.alg])
    validator = JWTAccessTokenValidator(ISSUER, AUD, KeySet([any_key]).jwks(0), clock=clock)
    assert validator.validate(token).sub == "alice"


def test_pyjwt_high_level_api_verifies_our_tokens(any_key: SigningKey) -> None:
    jwk_set = pyjwt.PyJWKSet.from_dict(KeySet([any_key]).jwks(0))
    claims = pyjwt.decode(mint(any_key), key=jwk_set[any_key.kid], algorithms=[any_key.alg],
                          audience=AUD, issuer=ISSUER,
                          options={"require": ["exp", "iat", "sub", "jti"]})
    assert claims["sub"] == "alice" and claims["scope"] == "profile"


def test_pyjwt_tokens_need_typ_at_jwt(any_key: SigningKey, clock) -> None:
    jwks = KeySet([any_key]).jwks(0)
    validator = JWTAccessTokenValidator(ISSUER, AUD, jwks, clock=clock)
    plain = pyjwt.encode(good_claims(clock()), any_key.to_pem(), algorithm=any_key.alg,
                         headers={"kid": any_key.kid})
    with pytest.raises(Exception, match="typ"):
        validator.validate(plain)
    typed = pyjwt.encode(good_claims(clock()), any_key.to_pem(), algorithm=any_key.alg,
                         headers={"kid": any_key.kid, "typ": "at+jwt"})
    assert validator.validate(typed).client_id == "client-1"
