"""Protecting a Flask resource server with the authorization server's JWT access tokens.

The tokens are checked here, with the issuer's public keys (RFC 8414
metadata -> ``jwks_uri`` -> JWKS, cached by a :class:`JWKSClient`), so no
request waits on the authorization server. Outcomes, all rendered once in
:meth:`JWTResourceServer.error_response`:

=============================  =======================================================
no token                       401, ``WWW-Authenticate: Bearer`` without an error code
bad / expired / foreign token  401, ``error="invalid_token"`` (RFC 6750 §3.1)
token does not cover request   403, ``error="insufficient_scope"``
keys never loaded              503 with ``Retry-After``: our outage, not the client's fault
=============================  =======================================================

In the NMOS profile (``nmos_api="connection"``, say) the token must also
carry ``x-nmos-<api>`` rights for the request's method and path (AMWA IS-10),
and ``aud`` entries may be wildcards such as ``*.example.com``.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import flask
from werkzeug.local import LocalProxy

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.errors import (
    InsufficientScopeError,
    InvalidTokenError,
    OAuth2Error,
    TemporarilyUnavailableError,
)
from authgate.core.oauth2.jwt import (
    SUPPORTED_ALGORITHMS,
    AccessTokenClaims,
    JWKSClient,
    JWKSFetchError,
    JWTAccessTokenValidator,
)
from authgate.core.oauth2.jwt_bearer import JWTBearerTokenValidator, JWTToken
from authgate.core.oauth2.nmos import api_from_path, audience_permitted, request_permitted
from authgate.core.oauth2.resource import ResourceProtector, normalize_scopes
from authgate.flask.http import to_core_request, to_flask_response

__all__ = ["EXTENSION_KEY", "JWTResourceServer", "NmosSecurity", "current_claims"]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
EXTENSION_KEY = "authgate.resource_server"
_G_KEY = "_authgate_jwt_claims"
_UNSET: Any = object()

Scopes = str | Sequence[str] | None


class _AudienceCheckingValidator(JWTBearerTokenValidator):
    """RFC 9068 validation plus our own ``aud`` rule (exact, or IS-10 wildcards)."""

    def __init__(self, validator: JWTAccessTokenValidator, audiences: frozenset[str],
                 wildcards: bool, **kwargs: Any) -> None:
        super().__init__(validator, **kwargs)
        self.audiences = audiences
        self.wildcards = wildcards

    def authenticate_token(self, token_string: str) -> JWTToken | None:
        token = super().authenticate_token(token_string)
        if token is None:
            return None
        aud = token.claims.aud
        ok = (audience_permitted(aud, self.audiences) if self.wildcards
              else bool(self.audiences.intersection(aud)))
        if not ok:
            log.info("JWT access token refused: wrong aud %r", aud)
            raise InvalidTokenError()
        return token

    def validate_token(self, token: Any, scopes: Sequence[str], request: Request) -> None:
        # exp was checked by the JWT validator, with its leeway; not again here.
        if token.is_revoked():
            raise InvalidTokenError()
        if self.scope_insufficient(token.get_scope(), scopes):
            raise InsufficientScopeError()


class JWTResourceServer:
    """Validates the authorization server's JWT access tokens on Flask views.

    ``audience`` is what this resource server is called in tokens: a URL or
    host, or several. ``nmos=True`` switches on the IS-10 checks, for the API
    named by each request's path (``/x-nmos/<api>/...``); ``nmos_api`` fixes
    the API (and implies ``nmos``). NMOS tokens are RS512 (IS-10) unless
    ``algorithms`` says otherwise, and their ``aud`` wildcards are honoured.
    """

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str],
        *,
        jwks_client: JWKSClient | None = None,
        nmos_api: str | None = None,
        nmos: bool = False,
        leeway: float = 5,
        algorithms: Iterable[str] | None = None,
        wildcard_audience: bool | None = None,
        is_revoked: Callable[[AccessTokenClaims], bool] | None = None,
        realm: str | None = None,
        retry_after: int | None = None,
        clock: Callable[[], float] = time.time,
        app: flask.Flask | None = None,
    ) -> None:
        audiences = frozenset([audience] if isinstance(audience, str) else audience)
        if not audiences:
            raise ValueError("a resource server needs an audience")
        self.issuer = issuer
        self.audiences = audiences
        self.nmos_api = nmos_api
        self.nmos = nmos or bool(nmos_api)
        self.jwks_client = jwks_client if jwks_client is not None else JWKSClient(issuer)
        if algorithms is None:
            algorithms = ("RS512",) if self.nmos else SUPPORTED_ALGORITHMS
        self.validator = JWTAccessTokenValidator(
            issuer, None, self.jwks_client, algorithms=algorithms, leeway=leeway, clock=clock)
        self._protector = ResourceProtector()
        self._protector.register_token_validator(_AudienceCheckingValidator(
            self.validator, audiences,
            wildcards=self.nmos if wildcard_audience is None else wildcard_audience,
            realm=realm, is_revoked=is_revoked, clock=clock,
        ))
        # The JWKS client will not refetch sooner than this after a failure.
        self.retry_after = retry_after if retry_after is not None else max(
            1, math.ceil(self.jwks_client.min_refresh_interval))
        if app is not None:
            self.init_app(app)

    def init_app(self, app: flask.Flask) -> None:
        """Make this the server :class:`NmosSecurity` uses in ``app``."""
        app.extensions[EXTENSION_KEY] = self

    # -- framework-free checks ------------------------------------------------------

    def _required(self, scope: Scopes, api: str | None) -> list[str]:
        scopes = normalize_scopes(scope)
        return scopes or ([api] if api else [])

    def check(self, request: Request, path: str, scope: Scopes = None,
              nmos_api: str | None = None) -> AccessTokenClaims:
        """The token's claims if it permits ``request``; else an :class:`OAuth2Error`.

        ``path`` is the path the application routed on (already decoded), so
        the IS-10 path check sees exactly what the view will serve. Raises
        :class:`JWKSFetchError` when no keys could ever be loaded.
        """
        required = self._required(scope, nmos_api)
        token: JWTToken = self._protector.validate_request(required, request)
        if nmos_api and not request_permitted(
                token.claims.claims, token.claims.scopes, nmos_api, request.method, path):
            log.info("JWT access token refused: x-nmos-%s does not allow %s %s",
                     nmos_api, request.method, path)
            raise InsufficientScopeError()
        return token.claims

    def error_response(self, error: OAuth2Error | JWKSFetchError, request: Request,
                       scope: Scopes = None, nmos_api: str | None = None) -> Response:
        """The one place failures become responses (see the module's table)."""
        if isinstance(error, JWKSFetchError):
            log.warning("cannot check access tokens: the JWKS of %s is unavailable: %s",
                        self.issuer, error)
            unavailable = TemporarilyUnavailableError()
            languages = request.headers.get("accept-language")
            return json_response(503, unavailable.body(languages),
                                 (("Retry-After", str(self.retry_after)),))
        return self._protector.error_response(error, request, self._required(scope, nmos_api))

    # -- Flask ----------------------------------------------------------------------

    def api_for(self, path: str, nmos_api: str | None = _UNSET) -> str | None:
        """Whose ``x-nmos-*`` claim guards ``path``: given, configured, or from the path."""
        if nmos_api is not _UNSET:
            return nmos_api
        if self.nmos_api:
            return self.nmos_api
        return api_from_path(path) if self.nmos else None

    def authorize(self, scope: Scopes = None,
                  nmos_api: str | None = _UNSET) -> flask.Response | None:
        """Check the current request: ``None`` when allowed, else the error response.

        On success the claims are kept for :data:`current_claims`.
        """
        path = flask.request.path
        api = self.api_for(path, nmos_api)
        request = to_core_request()
        try:
            claims = self.check(request, path, scope, api)
        except (OAuth2Error, JWKSFetchError) as error:
            return to_flask_response(self.error_response(error, request, scope, api))
        setattr(flask.g, _G_KEY, claims)
        return None

    def require(self, scope: Scopes = None, *, nmos_api: str | None = _UNSET) -> Callable[[F], F]:
        """Decorator: ``'a b'`` needs both scopes, ``['a', 'b']`` either.

        With ``nmos_api`` (here or on the server) and no ``scope``, the API
        name is the scope required, as IS-10 names scopes after APIs.
        """

        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                refusal = self.authorize(scope, nmos_api)
                if refusal is not None:
                    return refusal
                return view(*args, **kwargs)

            return cast(F, wrapper)

        return decorator

    def __repr__(self) -> str:
        return (f"JWTResourceServer(issuer={self.issuer!r}, audiences={sorted(self.audiences)!r}"
                f", nmos_api={self.nmos_api!r})")


class NmosSecurity:
    """``@NmosSecurity(condition=SECURITY)``: the NMOS example's decorator, on our checks.

    With ``condition`` false the view is left as it is (security off, as in
    the example's development setting). Otherwise each request is checked by
    the :class:`JWTResourceServer` given, or the one registered with
    ``init_app`` on the current app; the API is ``api``, else the server's
    ``nmos_api``, else read from the path (``/x-nmos/<api>/...``), whether
    or not the server was made with ``nmos=True``.
    """

    def __init__(self, condition: bool = True, api: str | None = None, *,
                 resource_server: JWTResourceServer | None = None,
                 scope: Scopes = None) -> None:
        self.condition = condition
        self.api = api
        self.resource_server = resource_server
        self.scope = scope

    def _server(self) -> JWTResourceServer:
        server = self.resource_server or flask.current_app.extensions.get(EXTENSION_KEY)
        if server is None:
            raise RuntimeError("NmosSecurity needs a JWTResourceServer: pass resource_server= "
                               "or call JWTResourceServer.init_app(app)")
        return cast(JWTResourceServer, server)

    def __call__(self, view: F) -> F:
        if not self.condition:
            return view

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            server = self._server()
            api = self.api or server.nmos_api or api_from_path(flask.request.path)
            refusal = server.authorize(self.scope, api)
            if refusal is not None:
                return refusal
            return view(*args, **kwargs)

        return cast(F, wrapper)


def _current_claims() -> AccessTokenClaims | None:
    return cast(AccessTokenClaims | None, flask.g.get(_G_KEY))


current_claims: Any = LocalProxy(_current_claims)
"""The claims of the token that let the current request in (``None`` outside one)."""
