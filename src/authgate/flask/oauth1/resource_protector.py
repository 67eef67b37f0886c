"""Protecting Flask views with signed OAuth 1 requests (RFC 5849 §3)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any, TypeVar, cast

import flask
from werkzeug.local import LocalProxy

from authgate.core.oauth1 import OAuth1Error, OAuth1Request, ResourceEndpoint, SignaturePolicy
from authgate.core.oauth1.responses import resource_error_response
from authgate.flask.oauth1 import _glue

F = TypeVar("F", bound=Callable[..., Any])
_G_KEY = "_authgate_oauth1_credential"


def _credential() -> Any:
    return flask.g.get(_G_KEY)


current_credential: Any = LocalProxy(_credential)
"""The token credential of the request being served, inside a protected view."""


class ResourceProtector(_glue.SignatureMethodRegistry):
    """``require_oauth = ResourceProtector(app, ...)``; then ``@require_oauth()`` on views."""

    def __init__(
        self,
        app: flask.Flask | None = None,
        query_client: Callable[[str], Any] | None = None,
        query_token: Callable[[str, str], Any] | None = None,
        exists_nonce: Callable[[str, str, str, str | None], bool] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        realm: str | None = None,
    ) -> None:
        self.query_client = query_client
        self.query_token = query_token
        self.exists_nonce = exists_nonce
        self.clock = clock
        self.realm = realm
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: flask.Flask,
        query_client: Callable[[str], Any] | None = None,
        query_token: Callable[[str, str], Any] | None = None,
        exists_nonce: Callable[[str, str, str, str | None], bool] | None = None,
    ) -> None:
        self.query_client = query_client or self.query_client
        self.query_token = query_token or self.query_token
        self.exists_nonce = exists_nonce or self.exists_nonce
        app.extensions.setdefault(_glue.EXTENSION, {})["resource_protector"] = self
        _glue.connect_sqlalchemy_secrets()

    def validate_request(self) -> OAuth1Request:
        """Authenticate the current request; raises OAuth1Error."""
        if self.query_client is None or self.query_token is None:
            raise RuntimeError("ResourceProtector needs query_client and query_token")
        config = _glue.settings(flask.current_app)
        endpoint = ResourceEndpoint(
            query_client=self.query_client,
            query_token=self.query_token,
            exists_nonce=self.exists_nonce,
            policy=SignaturePolicy(
                methods=self.SIGNATURE_METHODS,
                enabled=config.signature_methods,
                timestamp_window=config.timestamp_window,
                clock=self.clock,
            ),
        )
        return endpoint.validate(_glue.core_request())

    def acquire_credential(self) -> Any:
        """The token credential of the current request, also set as ``current_credential``."""
        credential = self.validate_request().credential
        setattr(flask.g, _G_KEY, credential)
        return credential

    def error_response(self, error: OAuth1Error) -> flask.Response:
        languages = flask.request.headers.get("Accept-Language")
        return _glue.flask_response(resource_error_response(error, languages, self.realm))

    def __call__(self) -> Callable[[F], F]:
        """A decorator for views, ``MethodView.decorators`` and Flask-RESTful decorators."""

        def decorator(view: F) -> F:
            @functools.wraps(view)
            def protected(*args: Any, **kwargs: Any) -> Any:
                try:
                    self.acquire_credential()
                except OAuth1Error as error:
                    return self.error_response(error)
                return view(*args, **kwargs)

            return cast(F, protected)

        return decorator
