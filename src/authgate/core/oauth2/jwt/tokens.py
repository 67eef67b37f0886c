"""JWT access tokens in the RFC 9068 profile, signed with the current key.

A resource server can validate these locally with the JWKS, which is why they
carry everything it needs (RFC 9068 §2.2): who issued it, for whom, which
client, which scopes, until when. The ``jti`` makes each token unique even
when two are minted in the same second for the same grant.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from authgate.core.oauth2.jwt.jws import encode_compact
from authgate.core.oauth2.jwt.keys import KeySet, SigningKey

__all__ = ["RESERVED_CLAIMS", "JWTAccessTokenGenerator", "TokenContext"]

# The generator owns these; extra claims may not overwrite them.
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id",
                             "scope"})

Audience = str | Sequence[str]


@dataclass(frozen=True)
class TokenContext:
    """What ``get_extra_claims`` is told about the token being minted."""

    client_id: str
    grant_type: str
    user_id: str | None
    scope: str | None
    audience: str | list[str]
    client: Any = None
    user: Any = None


def _client_id_of(client: Any) -> str:
    getter = getattr(client, "get_client_id", None)
    value = getter() if callable(getter) else getattr(client, "client_id", None)
    if not value:
        raise ValueError("the client has no client_id")
    return str(value)


def _user_id_of(user: Any) -> str | None:
    if user is None:
        return None
    getter = getattr(user, "get_user_id", None)
    value = getter() if callable(getter) else getattr(user, "id", None)
    return None if value is None else str(value)


class JWTAccessTokenGenerator:
    """Mint RFC 9068 access tokens; also the ``OAUTH2_ACCESS_TOKEN_GENERATOR`` callable.

    ``keys`` is a :class:`KeySet` (the key active at the clock's time signs) or
    a zero-argument callable returning the :class:`SigningKey` to use, for a
    server that reloads keys from its database.
    """

    expires_in: int = 3600

    def __init__(
        self,
        issuer: str,
        keys: KeySet | Callable[[], SigningKey],
        *,
        default_audience: Audience | None = None,
        clock: Callable[[], float] = time.time,
        get_extra_claims: Callable[[TokenContext], Mapping[str, Any] | None] | None = None,
        expires_in: int | None = None,
        include_nbf: bool = False,
    ) -> None:
        if not issuer:
            raise ValueError("an issuer is required")
        self.issuer = issuer
        self._keys = keys
        self.default_audience = default_audience
        self._clock = clock
        self._get_extra_claims = get_extra_claims
        self.include_nbf = include_nbf
        if expires_in is not None:
            self.expires_in = expires_in

    def current_key(self) -> SigningKey:
        if isinstance(self._keys, KeySet):
            return self._keys.active_at(self._clock())
        return self._keys()

    def _audience(self, audience: Audience | None, client_id: str) -> str | list[str]:
        chosen = audience if audience is not None else self.default_audience
        if chosen is None:
            return client_id
        if isinstance(chosen, str):
            return chosen
        values = [str(a) for a in chosen]
        if not values:
            raise ValueError("audience must not be empty")
        return values

    def generate(
        self,
        *,
        client_id: str,
        grant_type: str,
        user_id: str | None,
        scope: str | None,
        expires_in: int,
        audience: Audience | None = None,
        extra_claims: Mapping[str, Any] | None = None,
        client: Any = None,
        user: Any = None,
    ) -> str:
        """A signed token; ``sub`` is the user, or the client when there is none (§2.2)."""
        if not isinstance(expires_in, int) or isinstance(expires_in, bool) or expires_in <= 0:
            raise ValueError("expires_in must be a positive number of seconds")
        key = self.current_key()
        now = int(self._clock())
        aud = self._audience(audience, client_id)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": user_id if user_id is not None else client_id,
            "aud": aud,
            "exp": now + expires_in,
            "iat": now,
        }
        if self.include_nbf:
            claims["nbf"] = now
        claims["jti"] = secrets.token_urlsafe(18)  # 144 bits
        claims["client_id"] = client_id
        if scope:
            claims["scope"] = scope
        extras: dict[str, Any] = {}
        if self._get_extra_claims is not None:
            context = TokenContext(client_id, grant_type, user_id, scope or None, aud, client, user)
            extras.update(self._get_extra_claims(context) or {})
        extras.update(extra_claims or {})
        clash = RESERVED_CLAIMS.intersection(extras)
        if clash:
            raise ValueError(f"extra claims may not set {sorted(clash)}")
        claims.update(extras)
        header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
        return encode_compact(header, claims, key.sign)

    def __call__(
        self,
        client: Any,
        grant_type: str,
        user: Any = None,
        scope: str | None = None,
        expires_in: int | None = None,
    ) -> str:
        """The seed API's ``(client, grant_type, user, scope)`` generator signature."""
        return self.generate(
            client_id=_client_id_of(client),
            grant_type=grant_type,
            user_id=_user_id_of(user),
            scope=scope,
            expires_in=self.expires_in if expires_in is None else expires_in,
            client=client,
            user=user,
        )

    def __repr__(self) -> str:
        return f"JWTAccessTokenGenerator(issuer={self.issuer!r})"
