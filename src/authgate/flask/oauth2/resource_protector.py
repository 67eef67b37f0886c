"""``ResourceProtector`` for Flask: ``@require_oauth('scope')`` and ``current_token``."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import flask
from werkzeug.local import LocalProxy

from authgate.core.oauth2.errors import OAuth2Error
from authgate.core.oauth2.resource import ResourceProtector as CoreProtector
from authgate.flask.http import to_core_request, to_flask_response

__all__ = ["ResourceProtector", "current_token"]

F = TypeVar("F", bound=Callable[..., Any])
_G_KEY = "_authgate_oauth2_token"


class _ErrorResponse(Exception):
    def __init__(self, response: flask.Response) -> None:
        self.response = response


class ResourceProtector(CoreProtector):
    """Protects views; ``'a b'`` needs both scopes, ``['a', 'b']`` either."""

    def acquire_token(self, scopes: str | Sequence[str] | None = None) -> Any:
        """Validate the current request's token and remember it for ``current_token``."""
        request = to_core_request()
        try:
            token = self.validate_request(scopes, request)
        except OAuth2Error as error:
            response = to_flask_response(self.error_response(error, request, scopes))
            raise _ErrorResponse(response) from None
        setattr(flask.g, _G_KEY, token)
        return token

    @contextmanager
    def acquire(self, scopes: str | Sequence[str] | None = None) -> Iterator[Any]:
        """``with require_oauth.acquire('profile') as token:`` inside a view."""
        try:
            yield self.acquire_token(scopes)
        except _ErrorResponse as error:
            flask.abort(error.response)

    def __call__(self, scopes: str | Sequence[str] | None = None,
                 optional: bool = False) -> Callable[[F], F]:
        def decorator(view: F) -> F:
            @functools.wraps(view)
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    self.acquire_token(scopes)
                except _ErrorResponse as error:
                    if optional and flask.request.headers.get("Authorization") is None:
                        return view(*args, **kwargs)
                    return error.response
                return view(*args, **kwargs)

            return cast(F, wrapper)

        return decorator


def _current_token() -> Any:
    return flask.g.get(_G_KEY)


current_token: Any = LocalProxy(_current_token)
