"""Bearer validation of JWT access tokens (RFC 9068) for a :class:`ResourceProtector`.

The JWT is checked locally with the issuer's keys; no call to the
authorization server. Such a token cannot be revoked before it expires,
unless the resource server can ask: ``is_revoked(claims)`` is that hook (the
ready-to-run server's own resources use it so a revocation is honoured at once).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from authgate.core.oauth2.errors import InvalidTokenError
from authgate.core.oauth2.jwt import AccessTokenClaims, InvalidJWTError, JWTAccessTokenValidator
from authgate.core.oauth2.resource import BearerTokenValidator

__all__ = ["JWTBearerTokenValidator", "JWTToken"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class JWTToken:
    """A validated JWT access token, with the token-record methods the core uses."""

    claims: AccessTokenClaims
    revoked: bool = False

    @property
    def user_id(self) -> str:
        return self.claims.sub

    @property
    def client_id(self) -> str:
        return self.claims.client_id

    def get_scope(self) -> str:
        return self.claims.scope

    def get_expires_at(self) -> int:
        return int(self.claims.exp)

    def is_revoked(self) -> bool:
        return self.revoked

    def check_client(self, client: Any) -> bool:
        return bool(self.claims.client_id == client.get_client_id())


class JWTBearerTokenValidator(BearerTokenValidator):
    """Validates JWT access tokens with a :class:`JWTAccessTokenValidator`."""

    def __init__(self, validator: JWTAccessTokenValidator, *, realm: str | None = None,
                 is_revoked: Callable[[AccessTokenClaims], bool] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(realm=realm, **kwargs)
        self.validator = validator
        self.is_revoked = is_revoked

    def authenticate_token(self, token_string: str) -> JWTToken | None:
        try:
            claims = self.validator.validate(token_string)
        except InvalidJWTError as error:
            log.info("JWT access token refused: %s", error.reason)
            raise InvalidTokenError() from None
        revoked = bool(self.is_revoked and self.is_revoked(claims))
        return JWTToken(claims, revoked)
