"""What the OAuth 1 core asks of clients, credentials and users: a few methods each.

These are the shapes the seed API's hooks hand around (client, temporary
credential, token credential, resource owner). Any object with these methods
works; :mod:`authgate.sqla.oauth1` offers SQLAlchemy mixins and the cache
helpers a dict-backed temporary credential.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ClientProtocol",
    "TemporaryCredentialProtocol",
    "TokenCredentialProtocol",
    "UserProtocol",
]


@runtime_checkable
class ClientProtocol(Protocol):
    def get_default_redirect_uri(self) -> str | None:
        """The callback registered for the client; None or "" when it has none."""
        ...

    def get_client_secret(self) -> str | None: ...

    def get_rsa_public_key(self) -> str | None:
        """A PEM public key, for RSA-SHA1 (§3.4.3); None when not registered."""
        ...


@runtime_checkable
class TemporaryCredentialProtocol(Protocol):
    def get_client_id(self) -> str: ...

    def get_redirect_uri(self) -> str | None: ...

    def check_verifier(self, verifier: str) -> bool:
        """True only if this credential was authorized and ``verifier`` is its verifier."""
        ...

    def get_oauth_token(self) -> str: ...

    def get_oauth_token_secret(self) -> str: ...

    def get_user_id(self) -> Any: ...


@runtime_checkable
class TokenCredentialProtocol(Protocol):
    def get_oauth_token(self) -> str: ...

    def get_oauth_token_secret(self) -> str: ...


@runtime_checkable
class UserProtocol(Protocol):
    def get_user_id(self) -> Any: ...
