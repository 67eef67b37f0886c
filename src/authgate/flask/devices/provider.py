"""``OAuth2DevicesProvider``: the flask-oauth2-devices API over authgate's device engine.

The app keeps writing what that extension documents (getters and setters,
``code_handler``, ``authorize_handler``, ``require_oauth``); underneath, one
:class:`~authgate.core.oauth2.device.DeviceFlow` and one core authorization
server answer with RFC 8628 semantics, the same engine standard device
clients get at ``/oauth/token``.
"""

from __future__ import annotations

import dataclasses
import functools
import secrets
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import flask

from authgate.core.http import Headers, Request, Response, json_response
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.device import (
    DEVICE_CODE_GRANT_TYPE,
    DeviceCodeGrant,
    DeviceCredential,
    DeviceFlow,
    DevicePrompt,
    normalize_user_code,
)
from authgate.core.oauth2.errors import InvalidClientError, InvalidGrantError, OAuth2Error
from authgate.core.oauth2.grants.base import require
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.resource import MissingTokenError
from authgate.core.oauth2.responses import bearer_challenge
from authgate.core.oauth2.server import AuthorizationServer
from authgate.core.security import constant_time_equals
from authgate.flask.devices.adapters import (
    DevicesClient,
    ModelDeviceStore,
    UserRef,
    expires_at_of,
    scopes_of,
)
from authgate.flask.http import to_core_request, to_flask_response

__all__ = ["OAuth2DevicesProvider", "OAuthContext"]

EXTENSION = "authgate.devices"
_SESSION_KEY = "_authgate_device_session"


def _core_request() -> Request:
    """The current Flask request as a core value.

    A POST with no body at all counts as an empty form: legacy device clients
    authenticate with Basic and send nothing else.
    """
    request = to_core_request()
    req = flask.request
    if req.method == "POST" and not req.content_type and not req.get_data(cache=True):
        headers = Headers([*request.headers.items(),
                           ("Content-Type", "application/x-www-form-urlencoded")])
        request = dataclasses.replace(request, headers=headers)
    return request


_flask_response = to_flask_response


class _ErrorURIs(Mapping[str, str]):
    """``OAUTH2_PROVIDER_ERROR_URI`` (or ``_ENDPOINT``) for every error code, read per request."""

    def __init__(self, provider: OAuth2DevicesProvider) -> None:
        self.provider = provider

    def __getitem__(self, key: str) -> str:
        return self.provider.error_uri

    def __contains__(self, key: object) -> bool:
        return flask.has_request_context()

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass(frozen=True)
class OAuthContext:
    """``request.oauth`` inside a view protected by ``require_oauth``."""

    user: Any
    client: Any
    scopes: list[str]
    token: Any = field(repr=False)
    error_message: str | None = None


@dataclass(frozen=True)
class _InvalidRequest:
    """What an ``invalid_response`` handler receives about a refused request."""

    error: str
    error_message: str
    scopes: tuple[str, ...]
    status: int


class OAuth2DevicesProvider:
    """The device-flow provider; see ``docs/devices.md`` for every difference from the original.

    ``cache`` (an :class:`authgate.cache.Cache`, e.g. ``RedisCache`` when
    several processes serve the app) keeps polling pace, rate limits and
    decisions; ``clock`` is injectable for tests.
    """

    def __init__(self, app: flask.Flask | None = None, *, cache: Any = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cache = cache
        self.clock = clock
        self.app: flask.Flask | None = None
        self._clientgetter: Callable[[str], Any] | None = None
        self._authcodegetter: Callable[[str], Any] | None = None
        self._authcodesetter: Callable[..., Any] | None = None
        self._tokengetter: Callable[..., Any] | None = None
        self._tokensetter: Callable[..., Any] | None = None
        self._usergetter: Callable[[Any], Any] | None = None
        self._invalid_response: Callable[[Any], Any] | None = None
        self._engine: tuple[AuthorizationServer, DeviceFlow] | None = None
        if app is not None:
            self.init_app(app)

    def __repr__(self) -> str:
        return f"<OAuth2DevicesProvider app={self.app.name if self.app else None!r}>"

    def init_app(self, app: flask.Flask) -> None:
        app.config.setdefault("OAUTH2_PROVIDER_ERROR_URI", "/oauth/errors")
        app.config.setdefault("OAUTH2_PROVIDER_CODE_EXPIRES_IN", 3600)
        if self.cache is None:
            from authgate.cache import MemoryCache

            self.cache = MemoryCache()
        app.extensions[EXTENSION] = self
        self.app = app
        self._engine = None

    # -- registration, as flask-oauth2-devices names it ---------------------------------
    def clientgetter(self, f: Callable[[str], Any]) -> Callable[[str], Any]:
        self._clientgetter = f
        return f

    def authcodegetter(self, f: Callable[[str], Any]) -> Callable[[str], Any]:
        self._authcodegetter = f
        return f

    def authcodesetter(self, f: Callable[..., Any]) -> Callable[..., Any]:
        self._authcodesetter = f
        return f

    def tokengetter(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """``f(access_token=...)`` returns the token with ``user``, ``client``, ``scopes``."""
        self._tokengetter = f
        return f

    def tokensetter(self, f: Callable[..., Any]) -> Callable[..., Any]:
        """``f(token, request)``: ``request.client`` and ``request.user`` are set."""
        self._tokensetter = f
        return f

    def usergetter(self, f: Callable[[Any], Any]) -> Callable[[Any], Any]:
        self._usergetter = f
        return f

    def invalid_response(self, f: Callable[[Any], Any]) -> Callable[[Any], Any]:
        self._invalid_response = f
        return f

    @property
    def error_uri(self) -> str:
        config = self._config()
        if config.get("OAUTH2_PROVIDER_ERROR_ENDPOINT"):
            return flask.url_for(config["OAUTH2_PROVIDER_ERROR_ENDPOINT"])
        return str(config.get("OAUTH2_PROVIDER_ERROR_URI") or "/oauth/errors")

    def _config(self) -> Any:
        return (self.app or flask.current_app).config

    # -- the engine ---------------------------------------------------------------------
    def _need(self, value: Any, name: str) -> Any:
        if value is None:
            raise RuntimeError(f"OAuth2DevicesProvider needs @{name}")
        return value

    def _query_client(self, client_id: str) -> DevicesClient | None:
        client = self._need(self._clientgetter, "clientgetter")(client_id)
        return None if client is None else DevicesClient(client)

    def _get_user(self, user_id: Any) -> Any:
        if user_id is None:
            return None
        if self._usergetter is not None:
            return self._usergetter(user_id)
        return UserRef(user_id)

    def _save_token(self, token: dict[str, Any], request: OAuth2Request) -> Any:
        return self._need(self._tokensetter, "tokensetter")(token, request)

    @property
    def server(self) -> AuthorizationServer:
        return self._build()[0]

    @property
    def flow(self) -> DeviceFlow:
        return self._build()[1]

    def _build(self) -> tuple[AuthorizationServer, DeviceFlow]:
        if self._engine is None:
            config = self._config()
            server = AuthorizationServer(self._query_client, self._save_token, config=ServerConfig(
                issuer=config.get("AUTHGATE_ISSUER"), error_uris=_ErrorURIs(self),
                insecure_transport=bool(config.get("AUTHGATE_INSECURE_TRANSPORT")),
                clock=self.clock,
            ))
            store = ModelDeviceStore(
                lambda code: self._need(self._authcodegetter, "authcodegetter")(code),
                lambda *a, **k: self._need(self._authcodesetter, "authcodesetter")(*a, **k),
                self.cache, self.clock,
            )
            flow = DeviceFlow(
                store, self.cache, query_client=self._query_client, get_user=self._get_user,
                clock=self.clock, expires_in=int(config["OAUTH2_PROVIDER_CODE_EXPIRES_IN"]),
                default_scope=lambda client: client.get_default_scope(),
            )
            flow.register(server)
            self._engine = (server, flow)
        return self._engine

    def _answer(self, call: Callable[[Request], Response]) -> flask.Response:
        if flask.request.method != "POST":
            return flask.Response("Use POST.", status=405, headers={"Allow": "POST"})
        request = _core_request()
        try:
            return _flask_response(call(request))
        except OAuth2Error as error:
            return _flask_response(self.server.error_response(request, error))

    # -- the two handlers -----------------------------------------------------------------
    def code_handler(self, authorize_url: str, activate_url: str, expires_in: int | None = None,
                     interval: int | None = None) -> Callable[..., Any]:
        """The device authorization endpoint (RFC 8628 §3.1) plus the legacy links.

        A URL starting with ``/`` is made absolute with the request's host.
        """
        def respond(request: Request) -> Response:
            server = self.server
            base = server.issuer_for(request).rstrip("/") if hasattr(server, "issuer_for") \
                else flask.request.host_url.rstrip("/")
            authorize_link = base + authorize_url if authorize_url.startswith("/") \
                else authorize_url
            activate_link = base + activate_url if activate_url.startswith("/") else activate_url
            endpoint = server.endpoints["device_authorization"]
            data = endpoint.authorize(  # type: ignore[attr-defined]
                request, expires_in=expires_in, interval=interval,
                verification_uri=activate_link)
            data.update(authorize_link=authorize_link, activate_link=activate_link)
            return json_response(200, data)

        return self._handler(respond)

    def _handler(self, respond: Callable[[Request], Response]) -> Callable[..., Any]:
        """A decorator whose view answers with ``respond`` (the decorated body is not run,
        as in the original extension, where those views ``return None``)."""
        def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(f)
            def view(*args: Any, **kwargs: Any) -> Any:
                return self._answer(respond)
            return view
        return decorator

    def authorize_handler(self) -> Callable[..., Any]:
        """The legacy poll: ``auth_code`` (the user code) and ``device_code``, RFC answers."""
        def respond(request: Request) -> Response:
            server, flow = self._build()
            oauth_request = OAuth2Request.from_form(request)
            data = {**oauth_request.data, "grant_type": DEVICE_CODE_GRANT_TYPE}
            grant = _LegacyPoll(oauth_request.with_(data=data), server)
            grant.legacy_flow = flow
            grant.validate_token_request()
            return json_response(200, grant.create_token_response())

        return self._handler(respond)

    def token_handler(self) -> Callable[..., Any]:
        """The RFC 8628 §3.4 token endpoint on the same engine, for standard clients."""
        return self._handler(lambda request: self.server.create_token_response(request))

    # -- the activation page ----------------------------------------------------------------
    def _who(self) -> dict[str, str | None]:
        session = flask.session
        if _SESSION_KEY not in session:
            session[_SESSION_KEY] = secrets.token_urlsafe(16)
        return {"remote_addr": flask.request.remote_addr, "session_key": session[_SESSION_KEY]}

    def lookup_user_code(self, user_code: str | None) -> DevicePrompt:
        """The pending request for the consent page; wrong codes count toward the rate limit."""
        return self.flow.lookup(user_code, **self._who())

    def approve_user_code(self, user_code: str | None, user: Any) -> DeviceCredential:
        user_id = user.get_user_id() if hasattr(user, "get_user_id") else user.id
        return self.flow.approve(user_code, UserRef(user_id), **self._who())

    def deny_user_code(self, user_code: str | None) -> DeviceCredential:
        return self.flow.deny(user_code, **self._who())

    # -- protecting resources -----------------------------------------------------------------
    def require_oauth(self, *scopes: str) -> Callable[..., Any]:
        """Protect a view: a valid bearer token holding every scope in ``scopes``."""
        def decorator(f: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(f)
            def view(*args: Any, **kwargs: Any) -> Any:
                try:
                    context = self._verify(scopes)
                except OAuth2Error as error:
                    return self._refuse(error, scopes)
                flask.request.oauth = context  # type: ignore[attr-defined]
                return f(*args, **kwargs)
            return view
        return decorator

    def _verify(self, scopes: tuple[str, ...]) -> OAuthContext:
        from authgate.core.oauth2.errors import InsufficientScopeError, InvalidTokenError

        scheme, _, value = flask.request.headers.get("Authorization", "").strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise MissingTokenError()
        token = self._need(self._tokengetter, "tokengetter")(access_token=value.strip())
        if token is None:
            raise InvalidTokenError()
        expires_at = expires_at_of(token)
        if expires_at is None or expires_at <= self.clock() or getattr(token, "revoked", False):
            raise InvalidTokenError()
        held = scopes_of(token)
        if not set(scopes).issubset(held):
            raise InsufficientScopeError()
        return OAuthContext(user=getattr(token, "user", None),
                            client=getattr(token, "client", None), scopes=held, token=token)

    def _refuse(self, error: OAuth2Error, scopes: tuple[str, ...]) -> Any:
        if self._invalid_response is not None:
            return self._invalid_response(_InvalidRequest(
                error.error, error.render_description(), scopes, error.status))
        shown = None if isinstance(error, MissingTokenError) else error
        challenge = bearer_challenge(shown, None, " ".join(scopes) or None)
        return _flask_response(json_response(error.status, error.body(),
                                             (("WWW-Authenticate", challenge),)))


class _LegacyPoll(DeviceCodeGrant):
    """The device-code grant as the legacy ``/oauth/device/authorize`` is asked for it.

    The legacy client sends the user code along, and may send no client
    credentials: then holding both codes identifies its client. Client
    credentials, when sent, are checked as at the token endpoint.
    """

    legacy_flow: DeviceFlow

    @property
    def device_flow(self) -> DeviceFlow:
        return self.legacy_flow

    def authenticate_token_endpoint_client(self) -> Any:
        data = self.request.data
        user_code = normalize_user_code(require(self.request, "auth_code"))
        credential = self.find_credential(require(self.request, "device_code"))
        if credential is None or user_code is None or \
                not constant_time_equals(credential.user_code, user_code):
            raise InvalidGrantError("The device code is invalid.")
        presented = "authorization" in self.request.headers or "client_id" in data \
            or "client_secret" in data
        if presented:
            return super().authenticate_token_endpoint_client()
        client = self.server.query_client(credential.client_id)
        if client is None:
            raise InvalidClientError()
        self.request = self.request.with_(client=client, auth_method="device_code")
        return client
