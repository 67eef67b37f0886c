"""Keys made once per session (RSA generation is slow), a clock, and a token forger."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from authgate.core.oauth2.jwt import SUPPORTED_ALGORITHMS, KeySet, SigningKey
from authgate.core.oauth2.jwt.jws import encode_compact

ISSUER = "https://as.example.test"
NOW = 1_800_000_000.0


@pytest.fixture(scope="session")
def session_keys() -> dict[str, SigningKey]:
    return {alg: SigningKey.generate(alg, created_at=NOW - 10) for alg in SUPPORTED_ALGORITHMS}


@pytest.fixture(params=SUPPORTED_ALGORITHMS)
def any_key(request: pytest.FixtureRequest, session_keys: dict[str, SigningKey]) -> SigningKey:
    return session_keys[request.param]


@pytest.fixture
def rsa_key(session_keys: dict[str, SigningKey]) -> SigningKey:
    return session_keys["RS256"]


@pytest.fixture
def keyset(session_keys: dict[str, SigningKey]) -> KeySet:
    return KeySet(session_keys.values())


def good_claims(now: float = NOW, **changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "alice",
        "aud": "https://rs.example.test",
        "exp": int(now) + 600,
        "iat": int(now),
        "jti": "jti-1234567890",
        "client_id": "client-1",
        "scope": "profile email",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def forge(
    key: SigningKey,
    claims: Mapping[str, Any] | None = None,
    *,
    header: Mapping[str, Any] | None = None,
    sign: Callable[[bytes], bytes] | None = None,
) -> str:
    """A token with any header and claims, signed by ``key`` unless ``sign`` is given."""
    head = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
    for name, value in (header or {}).items():
        if value is None:
            head.pop(name, None)
        else:
            head[name] = value
    return encode_compact(head, claims if claims is not None else good_claims(), sign or key.sign)


__all__ = ["ISSUER", "NOW", "forge", "good_claims", "time"]
