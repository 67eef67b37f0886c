"""Generating credentials: ``oauth_token`` and ``oauth_token_secret`` (RFC 5849 §2.1, §2.3)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from authgate.core.security import generate_token

__all__ = ["DEFAULT_TOKEN_LENGTH", "DEFAULT_TOKEN_SECRET_LENGTH", "create_token_generator"]

DEFAULT_TOKEN_LENGTH = 42
DEFAULT_TOKEN_SECRET_LENGTH = 48


def create_token_generator(
    token: Callable[[], str] | None = None,
    secret: Callable[[], str] | None = None,
    token_length: int = DEFAULT_TOKEN_LENGTH,
    secret_length: int = DEFAULT_TOKEN_SECRET_LENGTH,
) -> Callable[[], dict[str, str]]:
    """A ``token_generator()`` from two string generators (random ones of the given length)."""
    make_token = token or partial(generate_token, token_length)
    make_secret = secret or partial(generate_token, secret_length)

    def token_generator() -> dict[str, str]:
        return {"oauth_token": make_token(), "oauth_token_secret": make_secret()}

    return token_generator
