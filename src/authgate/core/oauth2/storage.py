"""The small storage interfaces behind the ready-made grants.

The seed-style API lets an application write grant subclasses with storage
hooks; these protocols are the same hooks gathered per object, so one store
(in memory, :mod:`authgate.sqla.oauth2`, or your own) serves every grant.
:mod:`authgate.core.oauth2.stored` turns a store into grant classes.

Every single-use operation (consuming a code, rotating a refresh token) is
atomic in the store and reports whether *this* call won, so two concurrent
requests can never both succeed.

Records handed back carry ``user_id`` (None for a client acting for itself),
and token records also offer ``introspection_claims()`` (RFC 7662 §2.2
members) besides the :class:`~.models.Token` methods.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from authgate.core.oauth2.request import OAuth2Request

__all__ = ["AuthorizationCodeStore", "ClientStore", "TokenStore", "UserStore"]


@runtime_checkable
class ClientStore(Protocol):
    def query_client(self, client_id: str) -> Any:
        """The client with this id, or None."""
        ...


@runtime_checkable
class UserStore(Protocol):
    def get_user(self, user_id: Any) -> Any:
        """The user with this id, or None."""
        ...

    def authenticate_user(self, username: str, password: str) -> Any:
        """The user with these credentials, or None (password grant)."""
        ...


@runtime_checkable
class AuthorizationCodeStore(Protocol):
    def save_authorization_code(self, code: str, request: OAuth2Request) -> Any:
        """Store ``code`` (hashed) with client, user, redirect URI, scope and PKCE data."""
        ...

    def query_authorization_code(self, code: str, client: Any) -> Any:
        """The unconsumed code issued to ``client``, or None."""
        ...

    def delete_authorization_code(self, authorization_code: Any) -> bool:
        """Consume the code atomically; False if it was already consumed."""
        ...


@runtime_checkable
class TokenStore(Protocol):
    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> Any:
        """Store an issued token (hashed), with ``request.client``, ``request.user`` and
        ``request.token_family``."""
        ...

    def query_token(self, token_string: str, token_type_hint: str | None = None) -> Any:
        """Find a token record by access or refresh token (the hint says which first)."""
        ...

    def query_refresh_token(self, refresh_token: str) -> Any:
        """The record of this refresh token, even if rotated or revoked."""
        ...

    def revoke_token(self, token: Any) -> None:
        """Revoke the access and refresh token of this record."""
        ...

    def rotate_refresh_token(self, token: Any) -> bool:
        """Retire the refresh token atomically; False if it was already retired."""
        ...

    def revoke_token_family(self, family: str) -> int:
        """Revoke every token of ``family``; returns how many records were revoked."""
        ...
