"""``AuthorizationServer`` for Flask: app config in, core server inside.

The seed API is kept (``AuthorizationServer(app, query_client=...,
save_token=...)``, ``init_app``, ``register_grant``, ``get_consent_grant``,
``create_authorization_response``, ``create_token_response``,
``create_endpoint_response``); every protocol decision is the core's.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from typing import Any

import flask
from werkzeug.wrappers import Request as WerkzeugRequest

from authgate.core.http import json_response
from authgate.core.oauth2.client_auth import ClientAuthMethod
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.errors import OAuth2Error
from authgate.core.oauth2.extension import GrantExtension
from authgate.core.oauth2.grants.base import BaseGrant
from authgate.core.oauth2.server import AuthorizationServer as CoreServer
from authgate.core.oauth2.server import Endpoint
from authgate.core.oauth2.tokens import DEFAULT_EXPIRES_IN, BearerTokenGenerator
from authgate.flask.http import to_core_request, to_flask_response

__all__ = ["AuthorizationServer"]


def _import_string(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    module, _, name = value.rpartition(".")
    if not module:
        raise ValueError(f"not an import path: {value!r}")
    return getattr(importlib.import_module(module), name)


class AuthorizationServer:
    """An OAuth 2.0 authorization server bound to a Flask app."""

    def __init__(self, app: flask.Flask | None = None, query_client: Callable[..., Any] | None
                 = None, save_token: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        self.query_client = query_client
        self.save_token = save_token
        self.revoke_token_family: Callable[[str], Any] | None = kwargs.pop(
            "revoke_token_family", None)
        self.core = CoreServer(self._query_client, self._save_token,
                               revoke_token_family=self._revoke_family)
        if kwargs:
            raise TypeError(f"unexpected arguments: {sorted(kwargs)}")
        if app is not None:
            self.init_app(app)

    # -- wiring -------------------------------------------------------------------
    def _query_client(self, client_id: str) -> Any:
        if self.query_client is None:
            raise RuntimeError("AuthorizationServer needs query_client")
        return self.query_client(client_id)

    def _save_token(self, token: dict[str, Any], request: Any) -> Any:
        if self.save_token is None:
            raise RuntimeError("AuthorizationServer needs save_token")
        return self.save_token(token, request)

    def _revoke_family(self, family: str) -> Any:
        if self.revoke_token_family is not None:
            return self.revoke_token_family(family)
        return None

    def init_app(self, app: flask.Flask, query_client: Callable[..., Any] | None = None,
                 save_token: Callable[..., Any] | None = None) -> None:
        """Read the ``OAUTH2_*`` settings of ``app`` and attach to it."""
        if query_client is not None:
            self.query_client = query_client
        if save_token is not None:
            self.save_token = save_token
        conf = app.config
        self.core.config = ServerConfig(
            issuer=conf.get("OAUTH2_ISSUER"),
            error_uris=dict(conf.get("OAUTH2_ERROR_URIS") or ()),
            scopes_supported=tuple(conf["OAUTH2_SCOPES_SUPPORTED"])
            if conf.get("OAUTH2_SCOPES_SUPPORTED") is not None else None,
            authorization_code_expires_in=int(
                conf.get("OAUTH2_AUTHORIZATION_CODE_EXPIRES_IN", 120)),
            insecure_transport=bool(conf.get("OAUTH2_INSECURE_TRANSPORT", False)),
            endpoint_paths=dict(conf.get("OAUTH2_ENDPOINT_PATHS") or {}),
            **({"clock": conf["OAUTH2_CLOCK"]} if conf.get("OAUTH2_CLOCK") else {}),
        )
        refresh = conf.get("OAUTH2_REFRESH_TOKEN_GENERATOR")
        if refresh is False:
            self.core._refresh_tokens = False
        elif refresh is True or refresh is None:
            refresh = None
            self.core._refresh_tokens = None
        self.core.token_generator = BearerTokenGenerator(
            access_token_generator=_import_string(conf.get("OAUTH2_ACCESS_TOKEN_GENERATOR")),
            refresh_token_generator=_import_string(refresh) if refresh else None,
            expires_in=conf.get("OAUTH2_TOKEN_EXPIRES_IN"),
            default_expires_in=int(conf.get("OAUTH2_TOKEN_DEFAULT_EXPIRES_IN",
                                            DEFAULT_EXPIRES_IN)),
        )
        app.extensions["authgate.oauth2"] = self

    # -- registration ------------------------------------------------------------------
    def register_grant(self, grant_cls: type[BaseGrant],
                       extensions: Sequence[GrantExtension] | None = None) -> None:
        self.core.register_grant(grant_cls, extensions)

    def register_endpoint(self, endpoint: Endpoint | type[Endpoint]) -> None:
        self.core.register_endpoint(endpoint)

    def register_client_auth_method(self, method: ClientAuthMethod) -> None:
        self.core.register_client_auth_method(method)

    # -- flows --------------------------------------------------------------------------
    def get_consent_grant(self, request: WerkzeugRequest | None = None,
                          end_user: Any = None) -> Any:
        """Validate the authorization request; raises :class:`OAuth2Error` if invalid.

        The grant is kept for the rest of this request: a view that validates and
        then answers at once (consent already given) does not validate twice.
        """
        core_request = to_core_request(request)
        grant = self.core.get_consent_grant(core_request, end_user=end_user)
        if end_user is not None:
            _environ(request)[_GRANT_KEY] = (end_user, grant)
        return grant

    def create_authorization_response(self, request: WerkzeugRequest | None = None,
                                      grant_user: Any = None) -> flask.Response:
        """Finish the authorization; ``grant_user=None`` means the user denied.

        The request is validated again, unless :meth:`get_consent_grant` validated
        this very request for this very user moments ago (the same view call).
        """
        core_request = to_core_request(request)
        grant = None
        if grant_user is not None:
            kept = _environ(request).pop(_GRANT_KEY, None)
            if kept is not None and kept[0] is grant_user:
                grant = kept[1]
        response = self.core.create_authorization_response(core_request, grant_user,
                                                           grant=grant)
        return to_flask_response(response)

    def handle_error_response(self, error: OAuth2Error,
                              request: WerkzeugRequest | None = None) -> flask.Response:
        """Redirect a validated authorization error, or show it as a page."""
        core_request = to_core_request(request)
        return to_flask_response(self.core.handle_error_response(core_request, error))

    def create_token_response(self, request: WerkzeugRequest | None = None) -> flask.Response:
        return to_flask_response(self.core.create_token_response(to_core_request(request)))

    def create_endpoint_response(self, name: str,
                                 request: WerkzeugRequest | None = None) -> flask.Response:
        core_request = to_core_request(request)
        return to_flask_response(self.core.create_endpoint_response(name, core_request))

    def metadata(self, **extra: Any) -> dict[str, Any]:
        return self.core.metadata(**extra)

    def create_metadata_response(self, **extra: Any) -> flask.Response:
        """The RFC 8414 document as a response (cacheable: it holds no secret)."""
        return to_flask_response(json_response(200, self.metadata(**extra), no_store=False))


_GRANT_KEY = "authgate.consent_grant"


def _environ(request: WerkzeugRequest | None) -> dict[str, Any]:
    req = request if request is not None else flask.request
    return req.environ
