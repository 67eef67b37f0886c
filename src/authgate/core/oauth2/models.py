"""What the core needs to know of clients, users, codes and tokens.

These are structural interfaces: any object with these methods works, an
SQLAlchemy model using :mod:`authgate.sqla.oauth2` mixins or a plain class.
The method names are those of Authlib's mixins, so models written for it keep
working. Times are Unix seconds.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["AuthorizationCode", "Client", "Token", "User"]


@runtime_checkable
class User(Protocol):
    def get_user_id(self) -> Any: ...


@runtime_checkable
class Client(Protocol):
    """A registered client (RFC 6749 §2)."""

    def get_client_id(self) -> str: ...

    def get_default_redirect_uri(self) -> str | None:
        """The redirect URI to use when the request names none (only if exactly one)."""
        ...

    def get_allowed_scope(self, scope: str | None) -> str:
        """The part of ``scope`` this client may ask for."""
        ...

    def check_redirect_uri(self, redirect_uri: str) -> bool: ...

    def check_client_secret(self, client_secret: str) -> bool:
        """Compare in constant time against the stored (hashed) secret."""
        ...

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool: ...

    def check_response_type(self, response_type: str) -> bool: ...

    def check_grant_type(self, grant_type: str) -> bool: ...


@runtime_checkable
class AuthorizationCode(Protocol):
    def get_redirect_uri(self) -> str | None: ...

    def get_scope(self) -> str: ...

    def get_auth_time(self) -> int: ...


@runtime_checkable
class Token(Protocol):
    """An issued token record (access token and, maybe, its refresh token)."""

    def check_client(self, client: Client) -> bool: ...

    def get_scope(self) -> str: ...

    def get_expires_at(self) -> int: ...

    def is_revoked(self) -> bool: ...


def client_id_of(client: Any) -> str:
    return str(client.get_client_id())


def user_id_of(user: Any) -> str | None:
    if user is None:
        return None
    return str(user.get_user_id())
