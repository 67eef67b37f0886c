"""Errors of the JWT layer.

::

    Exception
    ├── InvalidJWTError    the token is not acceptable: render as RFC 6750 invalid_token
    └── JWKSFetchError     the issuer's keys could not be loaded: our problem, not the token's

``InvalidJWTError.reason`` says which check failed, for logs only; what goes
back to the client is the generic :attr:`InvalidJWTError.description`, so a
caller probing the validator learns nothing about which rule it tripped.
"""

from __future__ import annotations

__all__ = ["InvalidJWTError", "JWKSFetchError"]


class InvalidJWTError(Exception):
    """A JWT access token failed validation."""

    description = "The access token is invalid, expired or revoked."

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class JWKSFetchError(Exception):
    """The authorization server's metadata or JWKS could not be fetched or read."""
