"""OAuth 2.0 protocol errors.

::

    ProtocolError
    └── OAuth2Error                       rendered by the endpoint that caught it
        ├── InvalidRequestError           400  RFC 6749 §4.1.2.1, §5.2
        ├── InvalidClientError            401  §5.2 (WWW-Authenticate when Basic was tried)
        ├── InvalidGrantError             400
        ├── UnauthorizedClientError       400
        ├── UnsupportedGrantTypeError     400
        ├── UnsupportedResponseTypeError  400
        ├── UnsupportedTokenTypeError     400  RFC 7009 §2.2.1
        ├── InvalidScopeError             400
        ├── AccessDeniedError             400 / redirect
        ├── ServerError, TemporarilyUnavailableError
        ├── InvalidTokenError             401  RFC 6750 §3.1
        ├── InsufficientScopeError        403  RFC 6750 §3.1
        ├── AuthorizationPendingError, SlowDownError, ExpiredTokenError   RFC 8628 §3.5
        ├── InvalidClientMetadataError, InvalidRedirectURIError,
        │   InvalidSoftwareStatementError                             400  RFC 7591 §3.2.2
        └── RedirectURIError              an authorization error that must never be
                                           redirected: client or redirect URI unproven

An error raised at the authorization endpoint after the client and its
redirect URI were validated carries ``redirect_uri`` (and ``response_mode``)
so the edge can send it back to the client (§4.1.2.1); without it, the error
is shown to the user as a page.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.errors import ProtocolError

__all__ = [
    "AccessDeniedError",
    "AuthorizationPendingError",
    "ExpiredTokenError",
    "InsufficientScopeError",
    "InvalidClientError",
    "InvalidClientMetadataError",
    "InvalidGrantError",
    "InvalidRedirectURIError",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidSoftwareStatementError",
    "InvalidTokenError",
    "OAuth2Error",
    "RateLimitedError",
    "RedirectURIError",
    "ServerError",
    "SlowDownError",
    "TemporarilyUnavailableError",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseTypeError",
    "UnsupportedTokenTypeError",
]


class OAuth2Error(ProtocolError):
    """Base of every OAuth 2.0 error; ``headers`` are added to the rendered response."""

    def __init__(self, description: str | None = None, **kwargs: Any) -> None:
        self.redirect_uri: str | None = kwargs.pop("redirect_uri", None)
        self.response_mode: str = kwargs.pop("response_mode", "query")
        self.headers: tuple[tuple[str, str], ...] = tuple(kwargs.pop("headers", ()))
        super().__init__(description, **kwargs)

    def body(self, languages: str | None = None) -> dict[str, str]:
        """The JSON members of the error (RFC 6749 §5.2)."""
        data = {"error": self.error}
        description = self.render_description(languages)
        if description:
            data["error_description"] = description
        if self.uri:
            data["error_uri"] = self.uri
        if self.state is not None:
            data["state"] = self.state
        return data


class InvalidRequestError(OAuth2Error):
    error = "invalid_request"
    default_description = "The request is missing a parameter or is otherwise malformed."


class InvalidClientError(OAuth2Error):
    error = "invalid_client"
    status = 401
    default_description = "Client authentication failed."


class InvalidGrantError(OAuth2Error):
    error = "invalid_grant"
    default_description = "The authorization grant or refresh token is invalid."


class UnauthorizedClientError(OAuth2Error):
    error = "unauthorized_client"
    default_description = "The client is not allowed to use this grant type."


class UnsupportedGrantTypeError(OAuth2Error):
    error = "unsupported_grant_type"
    default_description = "The grant type is not supported."


class UnsupportedResponseTypeError(OAuth2Error):
    error = "unsupported_response_type"
    default_description = "The response type is not supported."


class UnsupportedTokenTypeError(OAuth2Error):
    error = "unsupported_token_type"
    default_description = "The token type is not supported."


class InvalidScopeError(OAuth2Error):
    error = "invalid_scope"
    default_description = "The requested scope is invalid, unknown or not allowed."


class AccessDeniedError(OAuth2Error):
    error = "access_denied"
    default_description = "The resource owner denied the request."


class ServerError(OAuth2Error):
    error = "server_error"
    status = 500
    default_description = "The server could not complete the request."


class TemporarilyUnavailableError(OAuth2Error):
    error = "temporarily_unavailable"
    status = 503
    default_description = "The server is temporarily unavailable."


class InvalidTokenError(OAuth2Error):
    error = "invalid_token"
    status = 401
    default_description = "The access token is invalid, expired or revoked."


class InsufficientScopeError(OAuth2Error):
    error = "insufficient_scope"
    status = 403
    default_description = "The access token does not grant the scope this request needs."


class AuthorizationPendingError(OAuth2Error):
    error = "authorization_pending"
    default_description = "The user has not yet completed the authorization."


class SlowDownError(OAuth2Error):
    error = "slow_down"
    default_description = "Polling too fast: wait longer between requests."


class ExpiredTokenError(OAuth2Error):
    error = "expired_token"
    default_description = "The device code has expired."


class InvalidClientMetadataError(OAuth2Error):
    error = "invalid_client_metadata"
    default_description = "The client metadata is invalid."


class InvalidRedirectURIError(OAuth2Error):
    error = "invalid_redirect_uri"
    default_description = "A redirect URI is invalid."


class InvalidSoftwareStatementError(OAuth2Error):
    error = "invalid_software_statement"
    default_description = "The software statement is invalid."


class RateLimitedError(OAuth2Error):
    """Too many attempts; ``retry_after`` seconds before the next one (429)."""

    error = "slow_down"
    status = 429
    default_description = "Too many attempts. Try again later."

    def __init__(self, description: str | None = None, *, retry_after: int = 60,
                 **kwargs: Any) -> None:
        self.retry_after = retry_after
        kwargs.setdefault("headers", (("Retry-After", str(retry_after)),))
        super().__init__(description, **kwargs)


class RedirectURIError(OAuth2Error):
    """The client or its redirect URI is not proven: show a page, never redirect."""

    error = "invalid_request"
    default_description = "The redirect URI is missing or not registered for this client."
    never_redirect: ClassVar[bool] = True
