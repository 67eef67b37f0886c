"""Keys made once per session (RSA generation is slow) and a live stand-in authorization server."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from authgate.core.oauth2.jwt import KeySet, SigningKey

from .authside import AuthSide, running

ALGORITHMS = ("RS256", "RS512", "ES256")


@pytest.fixture(scope="session")
def signing_keys() -> dict[str, SigningKey]:
    created = time.time() - 60
    return {alg: SigningKey.generate(alg, created_at=created) for alg in ALGORITHMS}


@pytest.fixture(scope="session")
def spare_key() -> SigningKey:
    """A key the authorization server has not published (yet)."""
    return SigningKey.generate("RS256", created_at=time.time() - 60)


@pytest.fixture
def auth_side(signing_keys: dict[str, SigningKey]) -> Iterator[AuthSide]:
    with running(KeySet(signing_keys.values())) as side:
        yield side
