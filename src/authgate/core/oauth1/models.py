"""What the OAuth 1 core asks of clients, credentials and users: a few methods each.

These are the shapes the seed API's hooks hand around (client, temporary
credential, token credential, resource owner). Any object with these methods
works; :mod:`authgate.sqla.oauth1` offers SQLAlchemy mixins and the cache
helpers a dict-backed temporary credential.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from authgate.core.security import constant_time_equals, token_digest

__all__ = [
    "ClientProtocol",
    "TemporaryCredentialMethods",
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


class TemporaryCredentialMethods:
    """The :class:`TemporaryCredentialProtocol` methods over plain attributes.

    Shared by the cache's credential and the SQLAlchemy mixin, which differ
    only in where the attributes live. ``oauth_verifier`` holds the verifier's
    digest, never the verifier: it is a one-time code like the others.
    """

    __slots__ = ()

    if TYPE_CHECKING:
        client_id: str
        oauth_callback: str
        oauth_token: str
        oauth_token_secret: str
        oauth_verifier: str | None
        user_id: Any

    def get_client_id(self) -> str:
        return self.client_id

    def get_redirect_uri(self) -> str:
        return self.oauth_callback

    def get_oauth_token(self) -> str:
        return self.oauth_token

    def get_oauth_token_secret(self) -> str:
        return self.oauth_token_secret

    def get_user_id(self) -> Any:
        return self.user_id

    def check_verifier(self, verifier: str) -> bool:
        stored = self.oauth_verifier
        return stored is not None and constant_time_equals(stored, token_digest(verifier))
