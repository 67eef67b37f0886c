"""The OAuth 1.0a authorization server for Flask, in the seed API's shape.

A thin face: it holds ``query_client``, the registered hooks and the
signature-method table, and per request hands a core
:class:`~authgate.core.oauth1.AuthorizationEndpoints` the converted request.
Per-app configuration lives in ``app.extensions["authgate.oauth1"]``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import flask

from authgate.core.oauth1 import (
    HOOK_NAMES,
    AuthorizationEndpoints,
    AuthorizationRequest,
    CredentialHooks,
    SecretCipher,
    SignaturePolicy,
)
from authgate.flask.oauth1 import _glue


class AuthorizationServer(_glue.SignatureMethodRegistry):
    """Issues temporary and token credentials and handles the user's authorization (RFC 5849 §2)."""

    def __init__(
        self,
        app: flask.Flask | None = None,
        query_client: Callable[[str], Any] | None = None,
        token_generator: Callable[[], Mapping[str, str]] | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.query_client = query_client
        self.token_generator = token_generator
        self.clock = clock
        self._hooks: dict[str, Callable[..., Any]] = {}
        if app is not None:
            self.init_app(app)

    def init_app(
        self,
        app: flask.Flask,
        query_client: Callable[[str], Any] | None = None,
        token_generator: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        if query_client is not None:
            self.query_client = query_client
        if token_generator is not None:
            self.token_generator = token_generator
        app.extensions.setdefault(_glue.EXTENSION, {})["authorization_server"] = self
        _glue.connect_sqlalchemy_secrets()

    def register_hook(self, name: str, func: Callable[..., Any]) -> None:
        """Register one of the storage hooks; an unknown name is a mistake and refused."""
        if name not in HOOK_NAMES:
            raise ValueError(f"unknown hook {name!r}; expected one of {sorted(HOOK_NAMES)}")
        if not callable(func):
            raise TypeError(f"hook {name!r} must be callable")
        self._hooks[name] = func

    def secret_cipher(self) -> SecretCipher:
        """The current app's cipher for secrets at rest (used by the cache and SQL helpers)."""
        return _glue.secret_cipher(flask.current_app)

    def _endpoints(self) -> AuthorizationEndpoints:
        if self.query_client is None:
            raise RuntimeError("AuthorizationServer needs query_client")
        config = _glue.settings(flask.current_app)
        return AuthorizationEndpoints(
            query_client=self.query_client,
            hooks=CredentialHooks(**self._hooks),
            token_generator=self.token_generator or config.token_generator,
            policy=SignaturePolicy(
                methods=self.SIGNATURE_METHODS,
                enabled=config.signature_methods,
                timestamp_window=config.timestamp_window,
                clock=self.clock,
            ),
        )

    def create_temporary_credential_response(self) -> flask.Response:
        """Answer the temporary-credential request (§2.1); errors become form-encoded replies."""
        core = self._endpoints().create_temporary_credential_response(_glue.core_request())
        return _glue.flask_response(core)

    def check_authorization_request(self) -> AuthorizationRequest:
        """The pending authorization (§2.2) to show the user; raises OAuth1Error."""
        return self._endpoints().check_authorization_request(_glue.core_request())

    def create_authorization_response(self, grant_user: Any = None) -> flask.Response:
        """Redirect to the client with a verifier, or deny when ``grant_user`` is None.

        Raises OAuth1Error for an unknown or used temporary credential, which
        the application renders as its own page (never a redirect).
        """
        core = self._endpoints().create_authorization_response(_glue.core_request(), grant_user)
        return _glue.flask_response(core)

    def create_token_response(self) -> flask.Response:
        """Exchange an authorized temporary credential for token credentials (§2.3)."""
        core = self._endpoints().create_token_response(_glue.core_request())
        return _glue.flask_response(core)
