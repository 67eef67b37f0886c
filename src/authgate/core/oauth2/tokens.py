"""Bearer token issuance (RFC 6750): what goes into a token response.

Generators follow the seed API: ``generator(client, grant_type, user, scope)``
returns a string. A :class:`~authgate.core.oauth2.jwt.JWTAccessTokenGenerator`
is recognised and given the lifetime as well, so the ``exp`` inside the JWT
and the ``expires_in`` beside it always agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from authgate.core.oauth2.models import client_id_of, user_id_of
from authgate.core.security import generate_token

__all__ = ["DEFAULT_EXPIRES_IN", "BearerTokenGenerator", "default_token_generator"]

DEFAULT_EXPIRES_IN = 3600
TokenGenerator = Callable[[Any, str, Any, str | None], str]


def default_token_generator(client: Any, grant_type: str, user: Any, scope: str | None) -> str:
    """48 random alphanumerics (about 285 bits), well over RFC 6749 §10.10's guidance."""
    return generate_token(48)


def _is_jwt_generator(generator: object) -> bool:
    try:
        from authgate.core.oauth2.jwt import JWTAccessTokenGenerator
    except ImportError:  # pragma: no cover - the jwt package ships with the core
        return False
    return isinstance(generator, JWTAccessTokenGenerator)


class BearerTokenGenerator:
    """Builds token responses: access token, lifetime, scope and maybe a refresh token."""

    def __init__(
        self,
        access_token_generator: TokenGenerator | None = None,
        refresh_token_generator: TokenGenerator | None = None,
        expires_in: Mapping[str, int] | None = None,
        default_expires_in: int = DEFAULT_EXPIRES_IN,
    ) -> None:
        self.access_token_generator = access_token_generator or default_token_generator
        self.refresh_token_generator = refresh_token_generator or default_token_generator
        self.expires_in = dict(expires_in or {})
        self.default_expires_in = default_expires_in
        self._jwt = _is_jwt_generator(self.access_token_generator)

    def lifetime(self, grant_type: str) -> int:
        return int(self.expires_in.get(grant_type, self.default_expires_in))

    def generate(
        self,
        grant_type: str,
        client: Any,
        user: Any = None,
        scope: str | None = None,
        *,
        include_refresh_token: bool = True,
        expires_in: int | None = None,
    ) -> dict[str, Any]:
        lifetime = self.lifetime(grant_type) if expires_in is None else expires_in
        generator: Any = self.access_token_generator
        if self._jwt:
            access_token = generator.generate(
                client_id=client_id_of(client), grant_type=grant_type,
                user_id=user_id_of(user), scope=scope, expires_in=lifetime,
                client=client, user=user,
            )
        else:
            access_token = generator(client, grant_type, user, scope)
        token: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": access_token,
            "expires_in": lifetime,
        }
        if scope:
            token["scope"] = scope
        if include_refresh_token:
            token["refresh_token"] = self.refresh_token_generator(client, grant_type, user, scope)
        return token
