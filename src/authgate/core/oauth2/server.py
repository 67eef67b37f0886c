"""The OAuth 2.0 authorization server: grants and endpoints dispatched by tables.

Grants are registered by class and kept in two tables, one keyed by
``grant_type`` (token endpoint) and one by ``response_type`` (authorization
endpoint); other endpoints (revocation, introspection, device authorization,
metadata) by name. Each public ``create_*_response`` method catches protocol
errors once and renders them; anything else propagates to become a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2 import responses
from authgate.core.oauth2.client_auth import (
    ClientAuthMethod,
    authenticate_client,
    default_auth_methods,
)
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.errors import (
    InvalidRequestError,
    OAuth2Error,
    RedirectURIError,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
)
from authgate.core.oauth2.extension import GrantExtension
from authgate.core.oauth2.grants.base import (
    AuthorizationEndpointMixin,
    BaseGrant,
    TokenEndpointMixin,
    resolve_redirect_uri,
)
from authgate.core.oauth2.redirect import is_loopback_host
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.tokens import BearerTokenGenerator

__all__ = ["AuthorizationServer", "Endpoint"]

log = logging.getLogger(__name__)

QueryClient = Callable[[str], Any]
SaveToken = Callable[[dict[str, Any], OAuth2Request], Any]
GrantEntry = tuple[type[BaseGrant], tuple[GrantExtension, ...]]


class Endpoint:
    """A named endpoint besides authorize and token (RFC 7009, 7662, 8628, 8414)."""

    ENDPOINT_NAME: str = ""

    def __init__(self, server: AuthorizationServer) -> None:
        self.server = server

    def create_endpoint_response(self, request: Request) -> Response:
        raise NotImplementedError


class AuthorizationServer:
    """The protocol engine behind every face (Flask, the ready-to-run server, tests).

    ``query_client(client_id)`` finds a client; ``save_token(token, request)``
    stores an issued token; ``revoke_token_family(family)``, when given, lets the
    server revoke every token descending from a replayed code or refresh token.
    """

    def __init__(
        self,
        query_client: QueryClient,
        save_token: SaveToken,
        *,
        config: ServerConfig | None = None,
        token_generator: BearerTokenGenerator | None = None,
        revoke_token_family: Callable[[str], Any] | None = None,
        refresh_tokens: bool | None = None,
    ) -> None:
        self.query_client = query_client
        self._save_token = save_token
        self.config = config or ServerConfig()
        self.token_generator = token_generator or BearerTokenGenerator()
        self._revoke_token_family = revoke_token_family
        self._refresh_tokens = refresh_tokens
        self.token_grants: dict[str, GrantEntry] = {}
        self.authorization_grants: dict[str, GrantEntry] = {}
        self.endpoints: dict[str, Endpoint] = {}
        self.auth_methods: dict[str, ClientAuthMethod] = default_auth_methods()

    # -- registration -------------------------------------------------------------
    def register_grant(self, grant_cls: type[BaseGrant],
                       extensions: Sequence[GrantExtension] | None = None) -> None:
        entry: GrantEntry = (grant_cls, tuple(extensions or ()))
        if issubclass(grant_cls, AuthorizationEndpointMixin):
            for response_type in grant_cls.RESPONSE_TYPES:
                self.authorization_grants[response_type] = entry
        if issubclass(grant_cls, TokenEndpointMixin) and grant_cls.GRANT_TYPE:
            self.token_grants[grant_cls.GRANT_TYPE] = entry

    def register_endpoint(self, endpoint: Endpoint | type[Endpoint]) -> None:
        instance = endpoint(self) if isinstance(endpoint, type) else endpoint
        if not instance.ENDPOINT_NAME:
            raise ValueError("an endpoint needs an ENDPOINT_NAME")
        self.endpoints[instance.ENDPOINT_NAME] = instance

    def register_client_auth_method(self, method: ClientAuthMethod) -> None:
        self.auth_methods[method.name] = method

    # -- services used by grants and endpoints --------------------------------------
    def now(self) -> float:
        return self.config.clock()

    @property
    def issues_refresh_tokens(self) -> bool:
        """Refresh tokens go out when a refresh grant is registered, unless switched off."""
        if self._refresh_tokens is not None:
            return self._refresh_tokens
        return "refresh_token" in self.token_grants

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> Any:
        return self._save_token(token, request)

    def revoke_token_family(self, family: str) -> None:
        if family and self._revoke_token_family is not None:
            self._revoke_token_family(family)

    def authenticate_client(self, request: OAuth2Request, allowed: Sequence[str],
                            endpoint: str) -> tuple[Any, str]:
        return authenticate_client(request, self.query_client, self.auth_methods, allowed,
                                   endpoint)

    def issuer_for(self, request: Request) -> str:
        """The configured issuer; without one, the origin the request came to.

        Deriving it from the request keeps development set-ups working, but the
        ``iss`` of RFC 9207 is only a defence when it is fixed: configure it.
        """
        if self.config.issuer:
            return self.config.issuer
        parts = urlsplit(request.uri)
        return f"{parts.scheme}://{parts.netloc}"

    def check_transport(self, http: Request) -> None:
        """RFC 6749 §3.1, §3.2: TLS is required, loopback development excepted."""
        if http.is_secure or self.config.insecure_transport or is_loopback_host(http.host):
            return
        raise InvalidRequestError("OAuth 2.0 requires HTTPS.")

    # -- authorization endpoint ----------------------------------------------------
    def get_consent_grant(self, request: Request, end_user: Any = None) -> Any:
        """Validate an authorization request and return its grant for the consent page.

        Raises :class:`OAuth2Error`; when ``redirect_uri`` is set on it, the
        client and that URI were proven and the error may be redirected.
        """
        try:
            self.check_transport(request)
            oauth_request = OAuth2Request.from_query_and_form(request)
        except InvalidRequestError as error:
            raise RedirectURIError(error.description, params=error.params) from None
        oauth_request, target = resolve_redirect_uri(self, oauth_request)
        oauth_request = oauth_request.with_(user=end_user)
        state = oauth_request.state
        try:
            response_type = oauth_request.response_type
            if response_type is None:
                raise InvalidRequestError("Missing 'response_type' parameter.")
            entry = self.authorization_grants.get(response_type)
            if entry is None:
                raise UnsupportedResponseTypeError()
            grant_cls, extensions = entry
            grant: Any = grant_cls(oauth_request, self, extensions)
            grant.redirect_uri = target
            grant.validate_consent_request()
        except OAuth2Error as error:
            error.redirect_uri = target
            error.state = state
            error.response_mode = self._response_mode(oauth_request.response_type)
            raise
        return grant

    def _response_mode(self, response_type: str | None) -> str:
        entry = self.authorization_grants.get(response_type or "")
        if entry is None:
            return "query"
        grant_cls: Any = entry[0]
        return str(grant_cls.RESPONSE_MODE)

    def create_authorization_response(self, request: Request, grant_user: Any,
                                      grant: Any = None) -> Response:
        """Finish the consent: ``grant_user=None`` means the user denied.

        ``grant``: what :meth:`get_consent_grant` returned for this same request
        and ``end_user=grant_user``, to skip validating it a second time.
        """
        try:
            if grant is None:
                grant = self.get_consent_grant(request, end_user=grant_user)
            try:
                params = grant.create_authorization_response(grant.redirect_uri, grant_user)
            except OAuth2Error as error:
                error.redirect_uri = grant.redirect_uri
                error.state = grant.request.state
                error.response_mode = grant.RESPONSE_MODE
                raise
        except OAuth2Error as error:
            return self.handle_error_response(request, error)
        return responses.success_redirect(
            grant.redirect_uri, params, fragment=grant.RESPONSE_MODE == "fragment",
            state=grant.request.state, issuer=self.issuer_for(request),
        )

    def handle_error_response(self, request: Request, error: OAuth2Error) -> Response:
        """Redirect an authorization error if its URI was proven, else show a page."""
        languages = request.headers.get("accept-language")
        if error.redirect_uri and not isinstance(error, RedirectURIError):
            return responses.error_redirect(error, languages, self.config.error_uris,
                                            self.issuer_for(request))
        return responses.error_page(error, languages)

    # -- token endpoint -------------------------------------------------------------
    def create_token_response(self, request: Request) -> Response:
        try:
            self.check_transport(request)
            oauth_request = OAuth2Request.from_form(request)
            grant_type = oauth_request.grant_type
            if grant_type is None:
                raise InvalidRequestError("Missing 'grant_type' parameter.")
            entry = self.token_grants.get(grant_type)
            if entry is None:
                raise UnsupportedGrantTypeError(
                    "The grant type '{grant_type}' is not supported.",
                    params={"grant_type": grant_type[:64]},
                )
            grant_cls, extensions = entry
            grant: Any = grant_cls(oauth_request, self, extensions)
            grant.validate_token_request()
            token = grant.create_token_response()
        except OAuth2Error as error:
            return self.error_response(request, error)
        return json_response(200, token)

    def error_response(self, request: Request, error: OAuth2Error) -> Response:
        return responses.error_json(error, request.headers.get("accept-language"),
                                    self.config.error_uris)

    # -- other endpoints -------------------------------------------------------------
    def metadata(self, **extra: Any) -> dict[str, Any]:
        """The RFC 8414 document for what is registered; ``extra`` adds members."""
        from authgate.core.oauth2.endpoints.metadata import build_metadata

        return build_metadata(self, **extra)

    def create_endpoint_response(self, name: str, request: Request) -> Response:
        endpoint = self.endpoints.get(name)
        if endpoint is None:
            raise KeyError(f"no endpoint named {name!r} is registered")
        try:
            return endpoint.create_endpoint_response(request)
        except OAuth2Error as error:
            return self.error_response(request, error)

