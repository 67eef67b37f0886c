"""Declarative mixins for OAuth 2.0 clients, authorization codes and tokens.

They add columns and the methods of :mod:`authgate.core.oauth2.models` to an
application's own models, declared with a plain ``DeclarativeBase`` or with
Flask-SQLAlchemy's ``db.Model``. The application adds the primary key and,
if it wants one, ``user_id`` with its own foreign key: a mixin cannot know
the name of the users table, and the stores only read ``record.user_id``.

What is secret is never stored in clear: the client secret is kept as
``sha256$<hex>`` (assigning the clear secret hashes it on the spot), codes and
tokens as their digest (:class:`~.types.HashedToken`).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, cast

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, validates

from authgate.core.oauth2.redirect import redirect_uri_matches
from authgate.core.oauth2.scope import scope_to_list
from authgate.core.security import constant_time_equals, hash_secret, verify_hashed_secret
from authgate.sqla.oauth2.types import HashedToken

__all__ = ["OAuth2AuthorizationCodeMixin", "OAuth2ClientMixin", "OAuth2TokenMixin"]

_HASHED_SECRET = re.compile(r"sha256\$[0-9a-f]{64}")


def _now() -> int:
    return int(time.time())


class OAuth2ClientMixin:
    """A registered client (RFC 6749 §2) with its RFC 7591 metadata in one JSON column.

    Metadata that only describes the client lives in JSON so new registration
    fields need no migration; what is looked up (``client_id``) or secret gets
    its own column.
    """

    client_id: Mapped[str] = mapped_column(String(48), unique=True, index=True)
    client_secret: Mapped[str | None] = mapped_column(String(120), default=None)
    client_id_issued_at: Mapped[int] = mapped_column(Integer, default=_now)
    #: 0 means the secret never expires (RFC 7591 §3.2.1).
    client_secret_expires_at: Mapped[int] = mapped_column(Integer, default=0)
    _client_metadata: Mapped[str | None] = mapped_column("client_metadata", Text, default=None)

    @validates("client_secret")
    def _hash_client_secret(self, key: str, value: str | None) -> str | None:
        """Hash a clear secret as soon as it is assigned, so it is never flushed.

        A value already in the stored ``sha256$<64 hex>`` form is kept, which
        lets fixtures and migrations copy stored secrets between rows.
        """
        if value is None or _HASHED_SECRET.fullmatch(value):
            return value
        return hash_secret(value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client_id={self.client_id!r} client_secret=<redacted>>"

    # -- metadata ------------------------------------------------------------------
    @property
    def client_metadata(self) -> dict[str, Any]:
        """The registration metadata (a fresh dict: change it with ``set_client_metadata``)."""
        raw = self._client_metadata
        return dict(json.loads(raw)) if raw else {}

    def set_client_metadata(self, value: dict[str, Any]) -> None:
        self._client_metadata = json.dumps(value)

    def _metadata(self) -> dict[str, Any]:
        """The parsed metadata, shared: for reading one member, never handed out.

        A token request reads four or five members; parsing the JSON once per
        stored value instead of once per member is measurable on that path. The
        parse is kept with the string it came from, so a new value (assigned,
        or refreshed from the database) is parsed again.
        """
        raw = self._client_metadata
        cached = self.__dict__.get("_authgate_parsed_metadata")
        if cached is None or cached[0] is not raw:
            cached = (raw, json.loads(raw) if raw else {})
            self.__dict__["_authgate_parsed_metadata"] = cached
        return cast(dict[str, Any], cached[1])

    @property
    def redirect_uris(self) -> list[str]:
        return list(self._metadata().get("redirect_uris", []))

    @property
    def token_endpoint_auth_method(self) -> str:
        return str(self._metadata().get("token_endpoint_auth_method", "client_secret_basic"))

    @property
    def grant_types(self) -> list[str]:
        return list(self._metadata().get("grant_types", []))

    @property
    def response_types(self) -> list[str]:
        return list(self._metadata().get("response_types", []))

    @property
    def client_name(self) -> str | None:
        return self._metadata().get("client_name")

    @property
    def client_uri(self) -> str | None:
        return self._metadata().get("client_uri")

    @property
    def logo_uri(self) -> str | None:
        return self._metadata().get("logo_uri")

    @property
    def contacts(self) -> list[str]:
        return list(self._metadata().get("contacts", []))

    @property
    def tos_uri(self) -> str | None:
        return self._metadata().get("tos_uri")

    @property
    def policy_uri(self) -> str | None:
        return self._metadata().get("policy_uri")

    @property
    def jwks_uri(self) -> str | None:
        return self._metadata().get("jwks_uri")

    @property
    def jwks(self) -> dict[str, Any]:
        return dict(self.client_metadata.get("jwks", {}))  # a fresh copy: keys are nested

    @property
    def software_id(self) -> str | None:
        return self._metadata().get("software_id")

    @property
    def software_version(self) -> str | None:
        return self._metadata().get("software_version")

    @property
    def scope(self) -> str:
        return str(self._metadata().get("scope", ""))

    # -- the core's Client interface ----------------------------------------------------
    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        """Only an unambiguous default: with several URIs the request must name one."""
        uris = self.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(scope_to_list(self.scope))
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(r, redirect_uri) for r in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        """Constant-time check; an expired secret (RFC 7591 §3.2.1) never matches."""
        matches = verify_hashed_secret(self.client_secret, client_secret)
        expires_at = self.client_secret_expires_at or 0
        return matches and not (expires_at and expires_at <= time.time())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        """A client authenticates one way everywhere: the way it registered."""
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


class OAuth2AuthorizationCodeMixin:
    """An issued authorization code (RFC 6749 §4.1.2), kept only as its digest."""

    #: Lifetime used by :meth:`is_expired`; the server enforces its own setting.
    EXPIRES_IN = 300

    code: Mapped[str] = mapped_column(HashedToken, unique=True, index=True)
    client_id: Mapped[str] = mapped_column(String(48))
    redirect_uri: Mapped[str | None] = mapped_column(Text, default=None)
    response_type: Mapped[str] = mapped_column(Text, default="code")
    scope: Mapped[str] = mapped_column(Text, default="")
    nonce: Mapped[str | None] = mapped_column(Text, default=None)
    auth_time: Mapped[int] = mapped_column(Integer, default=_now)
    code_challenge: Mapped[str | None] = mapped_column(Text, default=None)
    code_challenge_method: Mapped[str | None] = mapped_column(String(48), default=None)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client_id={self.client_id!r} code=<redacted>>"

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope or ""

    def get_auth_time(self) -> int:
        return int(self.auth_time)

    def get_nonce(self) -> str | None:
        return self.nonce

    def is_expired(self) -> bool:
        return self.get_auth_time() + self.EXPIRES_IN < time.time()


class OAuth2TokenMixin:
    """An issued access token with, maybe, its refresh token; both kept as digests.

    ``family`` links every token descending from one authorization, so a
    replayed code or refresh token can revoke all of them at once (RFC 9700
    §4.14.2). A revocation time of NULL (or 0, as older schemas wrote) means
    not revoked.
    """

    client_id: Mapped[str] = mapped_column(String(48))
    token_type: Mapped[str] = mapped_column(String(40), default="Bearer")
    access_token: Mapped[str] = mapped_column(HashedToken, unique=True)
    refresh_token: Mapped[str | None] = mapped_column(HashedToken, unique=True, index=True,
                                                      default=None)
    scope: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[int] = mapped_column(Integer, default=_now)
    access_token_revoked_at: Mapped[int | None] = mapped_column(Integer, default=None)
    refresh_token_revoked_at: Mapped[int | None] = mapped_column(Integer, default=None)
    expires_in: Mapped[int] = mapped_column(Integer, default=0)
    family: Mapped[str | None] = mapped_column(String(80), index=True, default=None)

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} client_id={self.client_id!r} "
                f"access_token=<redacted> refresh_token=<redacted>>")

    def check_client(self, client: Any) -> bool:
        return constant_time_equals(self.client_id, client.get_client_id())

    def get_scope(self) -> str:
        return self.scope or ""

    def get_expires_in(self) -> int:
        return int(self.expires_in)

    def get_expires_at(self) -> int:
        return int(self.issued_at) + int(self.expires_in)

    def get_family(self) -> str | None:
        return self.family

    def is_revoked(self) -> bool:
        return bool(self.access_token_revoked_at) or bool(self.refresh_token_revoked_at)

    def is_expired(self) -> bool:
        return self.get_expires_at() < time.time()

    def is_refresh_token_active(self) -> bool:
        """Refresh tokens live until rotated or revoked; rotation is what ends them."""
        return self.refresh_token is not None and not self.is_revoked()

    def introspection_claims(self) -> dict[str, Any]:
        """The RFC 7662 §2.2 members this record can vouch for (``active`` is added by
        the endpoint, after checking revocation and expiry)."""
        claims: dict[str, Any] = {
            "client_id": self.client_id,
            "token_type": self.token_type,
            "exp": self.get_expires_at(),
            "iat": int(self.issued_at),
        }
        if self.scope:
            claims["scope"] = self.scope
        user_id = getattr(self, "user_id", None)
        if user_id is not None:
            claims["sub"] = str(user_id)
        return claims
