"""What every grant shares: the client, scope checks and token issuance.

A grant object lives for one request. Subclasses implement the storage hooks
their flow needs (the method names of Authlib's grants, so existing code
keeps working); everything else, including the order of checks, is here and
in the concrete grants.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from authgate.core.oauth2.errors import (
    InvalidRequestError,
    InvalidScopeError,
    RedirectURIError,
    UnauthorizedClientError,
)
from authgate.core.oauth2.extension import GrantExtension
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.scope import scope_to_list

if TYPE_CHECKING:
    from authgate.core.oauth2.server import AuthorizationServer

__all__ = [
    "AuthorizationEndpointMixin",
    "BaseGrant",
    "GrantExtension",
    "TokenEndpointMixin",
    "resolve_redirect_uri",
]


@runtime_checkable
class HasFamily(Protocol):
    def get_family(self) -> str | None: ...


def family_of_code(code: str) -> str:
    """The token family of tokens issued for ``code``, derivable from the code alone.

    Deriving it means a replayed code can revoke the tokens of its first use
    (RFC 6749 §4.1.2) even after the code record itself is gone.
    """
    return "code:" + hashlib.sha256(code.encode()).hexdigest()[:40]


class BaseGrant:
    """Common state and helpers of every grant."""

    GRANT_TYPE: ClassVar[str | None] = None
    RESPONSE_TYPES: ClassVar[frozenset[str]] = frozenset()
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[Sequence[str]] = ("client_secret_basic",)
    #: Whether a refresh token may accompany the access token of this grant.
    ISSUES_REFRESH_TOKEN: ClassVar[bool] = False

    def __init__(self, request: OAuth2Request, server: AuthorizationServer,
                 extensions: Sequence[GrantExtension] = ()) -> None:
        self.request = request
        self.server = server
        self.extensions = tuple(extensions)

    @property
    def client(self) -> Any:
        return self.request.client

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request!r}>"

    # -- checks --------------------------------------------------------------
    def validate_requested_scope(self, scope: str | None = None) -> str:
        """Refuse scopes the server does not know or the client may not ask for (§3.3)."""
        requested = self.request.scope if scope is None else scope
        wanted = scope_to_list(requested)
        supported = self.server.config.scopes_supported
        if supported is not None and not set(wanted).issubset(supported):
            raise InvalidScopeError(state=self.request.state)
        if wanted:
            allowed = set(scope_to_list(self.client.get_allowed_scope(requested)))
            if not set(wanted).issubset(allowed):
                raise InvalidScopeError(state=self.request.state)
        return " ".join(wanted)

    def check_grant_type_allowed(self) -> None:
        grant_type = self.GRANT_TYPE
        if grant_type is None or not self.client.check_grant_type(grant_type):
            raise UnauthorizedClientError(
                "The client is not allowed to use the '{grant_type}' grant.",
                params={"grant_type": grant_type},
            )

    # -- token issuance -------------------------------------------------------
    def include_refresh_token(self) -> bool:
        return (
            self.ISSUES_REFRESH_TOKEN
            and self.server.issues_refresh_tokens
            and self.client.check_grant_type("refresh_token")
        )

    def generate_token(self, user: Any = None, scope: str | None = None,
                       grant_type: str | None = None,
                       include_refresh_token: bool | None = None) -> dict[str, Any]:
        include = self.include_refresh_token() if include_refresh_token is None \
            else include_refresh_token
        return self.server.token_generator.generate(
            grant_type or self.GRANT_TYPE or "", self.client, user, scope or None,
            include_refresh_token=include,
        )

    def save_token(self, token: dict[str, Any]) -> None:
        self.server.save_token(token, self.request)


class TokenEndpointMixin:
    """A grant that answers at the token endpoint (§4.1.3, §4.3, §4.4, §6)."""

    request: OAuth2Request
    server: AuthorizationServer
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[Sequence[str]]

    def authenticate_token_endpoint_client(self) -> Any:
        client, method = self.server.authenticate_client(
            self.request, self.TOKEN_ENDPOINT_AUTH_METHODS, "token"
        )
        self.request = self.request.with_(client=client, auth_method=method)
        return client

    def validate_token_request(self) -> None:
        raise NotImplementedError

    def create_token_response(self) -> dict[str, Any]:
        """Issue and save the token; the server renders the 200 response."""
        raise NotImplementedError


class AuthorizationEndpointMixin:
    """A grant that answers at the authorization endpoint (§4.1.1, §4.2.1)."""

    request: OAuth2Request
    server: AuthorizationServer
    RESPONSE_TYPES: ClassVar[frozenset[str]]
    #: Where the response parameters go: ``query`` for codes, ``fragment`` for tokens.
    RESPONSE_MODE: ClassVar[str] = "query"

    redirect_uri: str

    def validate_authorization_request(self) -> str:
        raise NotImplementedError

    def validate_consent_request(self) -> None:
        self.redirect_uri = self.validate_authorization_request()

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> dict[str, str]:
        """The parameters to send back to ``redirect_uri`` (the server adds state and iss)."""
        raise NotImplementedError


def resolve_redirect_uri(
    server: AuthorizationServer, request: OAuth2Request
) -> tuple[OAuth2Request, str]:
    """Find the client and prove its redirect URI, before anything may be redirected.

    Until both are known good, every error is a :class:`RedirectURIError`,
    shown to the user and never sent to an unproven URI (RFC 6749 §4.1.2.1).
    """
    client_id = request.data.get("client_id")
    if not client_id:
        raise RedirectURIError("Missing 'client_id' parameter.")
    client = server.query_client(client_id)
    if client is None:
        raise RedirectURIError("Unknown client.")
    presented = request.data.get("redirect_uri")
    if presented is not None:
        if not client.check_redirect_uri(presented):
            raise RedirectURIError("The redirect URI is not registered for this client.")
        target = presented
    else:
        default = client.get_default_redirect_uri()
        if not default:
            raise RedirectURIError("Missing 'redirect_uri' parameter.")
        target = default
    return request.with_(client=client, redirect_uri=presented), target


def require(request: OAuth2Request, name: str) -> str:
    value = request.data.get(name)
    if value is None:
        raise InvalidRequestError("Missing '{name}' parameter.", params={"name": name})
    return value


def family_of(credential: Any) -> str | None:
    return credential.get_family() if isinstance(credential, HasFamily) else None
