"""Protecting resources with bearer tokens (RFC 6750).

A :class:`ResourceProtector` finds the token in the ``Authorization`` header,
hands it to the validator registered for its type, and checks scope. Errors
become 401 with a ``Bearer`` challenge (no error code when no token was sent,
§3.1) or 403 ``insufficient_scope``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.errors import InsufficientScopeError, InvalidTokenError, OAuth2Error
from authgate.core.oauth2.responses import bearer_challenge
from authgate.core.oauth2.scope import scope_to_list, scopes_satisfied

__all__ = ["BearerTokenValidator", "MissingTokenError", "ResourceProtector", "normalize_scopes"]

# RFC 6750 §2.1: b64token.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


class MissingTokenError(InvalidTokenError):
    """No bearer token at all: the challenge carries no error code (RFC 6750 §3.1)."""

    default_description = "An access token is required."


def normalize_scopes(scopes: str | Sequence[str] | None) -> list[str]:
    """``'a b'`` and ``['a b']`` need both; ``['a', 'b']`` needs either."""
    if scopes is None:
        return []
    if isinstance(scopes, str):
        return [scopes]
    return list(scopes)


class BearerTokenValidator:
    """Looks a bearer token up and checks it. Subclass with ``authenticate_token``."""

    TOKEN_TYPE = "bearer"

    def __init__(self, realm: str | None = None, clock: Callable[[], float] = time.time,
                 **extra_attributes: str) -> None:
        self.realm = realm
        self.clock = clock
        self.extra_attributes = extra_attributes

    def authenticate_token(self, token_string: str) -> Any:
        """The token record for ``token_string``, or None."""
        raise NotImplementedError

    def scope_insufficient(self, token_scope: str | None, required: Sequence[str]) -> bool:
        return not scopes_satisfied(token_scope, required)

    def validate_token(self, token: Any, scopes: Sequence[str], request: Request) -> None:
        if token.is_revoked() or token.get_expires_at() <= self.clock():
            raise InvalidTokenError()
        if self.scope_insufficient(token.get_scope(), scopes):
            raise InsufficientScopeError()

    def __call__(self, token_string: str, scopes: Sequence[str], request: Request) -> Any:
        token = self.authenticate_token(token_string)
        if token is None:
            raise InvalidTokenError()
        self.validate_token(token, scopes, request)
        return token


class ResourceProtector:
    """Validates the bearer token of a request against the registered validators."""

    def __init__(self) -> None:
        self._validators: dict[str, BearerTokenValidator] = {}

    def register_token_validator(self, validator: BearerTokenValidator) -> None:
        self._validators[validator.TOKEN_TYPE.lower()] = validator

    @property
    def realm(self) -> str | None:
        for validator in self._validators.values():
            return validator.realm
        return None

    def parse_authorization(self, request: Request) -> tuple[BearerTokenValidator, str]:
        header = request.headers.get("authorization")
        if not header:
            raise MissingTokenError()
        scheme, _, value = header.strip().partition(" ")
        validator = self._validators.get(scheme.lower())
        if validator is None:
            raise MissingTokenError()
        value = value.strip()
        if not _B64TOKEN.fullmatch(value):
            raise InvalidTokenError("The access token is malformed.")
        return validator, value

    def validate_request(self, scopes: str | Sequence[str] | None, request: Request) -> Any:
        """Return the token record, or raise an :class:`OAuth2Error`."""
        validator, token_string = self.parse_authorization(request)
        return validator(token_string, normalize_scopes(scopes), request)

    def error_response(self, error: OAuth2Error, request: Request,
                       scopes: str | Sequence[str] | None = None) -> Response:
        languages = request.headers.get("accept-language")
        shown = None if isinstance(error, MissingTokenError) else error
        scope = None
        if isinstance(error, InsufficientScopeError):
            scope = " ".join(dict.fromkeys(
                s for alt in normalize_scopes(scopes) for s in scope_to_list(alt)))
        challenge = bearer_challenge(shown, self.realm, scope, languages)
        headers = (("WWW-Authenticate", challenge), *error.headers)
        return json_response(error.status, error.body(languages), headers)
