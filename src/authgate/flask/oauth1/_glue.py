"""The Flask side of OAuth 1: request conversion, per-app settings and the secret key.

This is the only place that reads ``flask.request`` for OAuth 1; everything
after it works on the immutable :class:`~authgate.core.http.Request`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import import_module
from typing import Any, ClassVar, cast

import flask

from authgate.core.http import Headers, Params, Request, media_type
from authgate.core.oauth1 import BUILTIN_SIGNATURE_METHODS, SecretCipher, SignatureMethod
from authgate.core.oauth1.request import FORM_MEDIA_TYPE
from authgate.core.oauth1.tokens import (
    DEFAULT_TOKEN_LENGTH,
    DEFAULT_TOKEN_SECRET_LENGTH,
    create_token_generator,
)
from authgate.flask.http import request_url, to_flask_response

EXTENSION = "authgate.oauth1"
DEFAULT_SIGNATURE_METHODS = ("HMAC-SHA1",)


class SignatureMethodRegistry:
    """``register_signature_method`` as a class method, per class (the seed API's shape).

    Registering on one class copies its table first, so adding HMAC-SHA256 to
    the authorization server does not silently change the resource protector.
    """

    SIGNATURE_METHODS: ClassVar[Mapping[str, SignatureMethod]] = BUILTIN_SIGNATURE_METHODS

    @classmethod
    def register_signature_method(cls, name: str, verify: SignatureMethod) -> None:
        if not callable(verify):
            raise TypeError("verify must be callable")
        cls.SIGNATURE_METHODS = {**cls.SIGNATURE_METHODS, name: verify}


def core_request() -> Request:
    """The current Flask request as a core request value."""
    req = flask.request._get_current_object()  # type: ignore[attr-defined]
    query_text = req.query_string.decode("utf-8", "replace")
    is_form = media_type(req.content_type) == FORM_MEDIA_TYPE
    # Werkzeug's parsed form, not the raw body: a view may have read the form already.
    form = Params(req.form.items(multi=True)) if is_form else Params()
    body = b"" if is_form else req.get_data(cache=True)
    uri = request_url(req, query=False) + (f"?{query_text}" if query_text else "")
    return Request(
        method=req.method,
        uri=uri,
        headers=Headers(list(req.headers.items())),
        query=Params.parse(query_text),
        form=form,
        body=body,
        remote_addr=req.remote_addr,
        is_secure=req.is_secure,
    )


#: Core responses become Flask ones the same way for every face.
flask_response = to_flask_response


def _resolve(value: Any, what: str) -> Callable[[], str] | None:
    if value is None or callable(value):
        return cast("Callable[[], str] | None", value)
    if isinstance(value, str):
        module, _, name = value.replace(":", ".").rpartition(".")
        found = getattr(import_module(module), name)
        if callable(found):
            return cast("Callable[[], str]", found)
    raise TypeError(f"{what} must be a callable or an import string, not {value!r}")


@dataclass(frozen=True)
class Settings:
    """What an app's ``OAUTH1_*`` configuration says, read once per app."""

    signature_methods: tuple[str, ...]
    timestamp_window: int
    token_generator: Callable[[], dict[str, str]]


def settings(app: flask.Flask) -> Settings:
    state = app.extensions.setdefault(EXTENSION, {})
    if "settings" not in state:
        config = app.config
        state["settings"] = Settings(
            signature_methods=tuple(
                config.get("OAUTH1_SUPPORTED_SIGNATURE_METHODS", DEFAULT_SIGNATURE_METHODS)
            ),
            timestamp_window=int(config.get("OAUTH1_TIMESTAMP_WINDOW", 600)),
            token_generator=create_token_generator(
                _resolve(config.get("OAUTH1_TOKEN_GENERATOR"), "OAUTH1_TOKEN_GENERATOR"),
                _resolve(config.get("OAUTH1_TOKEN_SECRET_GENERATOR"),
                         "OAUTH1_TOKEN_SECRET_GENERATOR"),
                int(config.get("OAUTH1_TOKEN_LENGTH", DEFAULT_TOKEN_LENGTH)),
                int(config.get("OAUTH1_TOKEN_SECRET_LENGTH", DEFAULT_TOKEN_SECRET_LENGTH)),
            ),
        )
    result: Settings = state["settings"]
    return result


def secret_cipher(app: flask.Flask) -> SecretCipher:
    """The cipher for OAuth 1 secrets at rest, from ``OAUTH1_SECRET_KEY`` or ``SECRET_KEY``.

    The fallback lists (``OAUTH1_SECRET_KEY_FALLBACKS``, or Flask's own
    ``SECRET_KEY_FALLBACKS``) still decrypt, so a key can be rotated.
    """
    material = _key_material(app.config)
    if material is None:
        raise RuntimeError("OAuth 1 secrets are encrypted at rest: set SECRET_KEY "
                           "or OAUTH1_SECRET_KEY in the app configuration")
    state = app.extensions.setdefault(EXTENSION, {})
    cached = state.get("cipher")
    if cached is None or cached[0] != material:
        cached = (material, SecretCipher(material[0], material[1]))
        state["cipher"] = cached
    cipher: SecretCipher = cached[1]
    return cipher


def current_secret_cipher() -> SecretCipher | None:
    """The current app's cipher, or None outside an app context.

    Called for every secret a query decrypts, so it resolves ``current_app``
    once and, while the key configuration is unchanged, answers from the
    cipher :func:`secret_cipher` cached instead of re-deriving anything.
    """
    if not flask.has_app_context():
        return None
    app: flask.Flask = flask.current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(EXTENSION)
    cached = state.get("cipher") if state is not None else None
    if cached is not None and cached[0] == _key_material(app.config):
        cipher: SecretCipher = cached[1]
        return cipher
    return secret_cipher(app)


def _key_material(config: Mapping[str, Any]) -> tuple[Any, tuple[Any, ...]] | None:
    """The configured key and its fallbacks, as :func:`secret_cipher` picks them."""
    if config.get("OAUTH1_SECRET_KEY"):
        key, fallbacks = config["OAUTH1_SECRET_KEY"], config.get("OAUTH1_SECRET_KEY_FALLBACKS")
    elif config.get("SECRET_KEY"):
        key, fallbacks = config["SECRET_KEY"], config.get("SECRET_KEY_FALLBACKS")
    else:
        return None
    return key, tuple(fallbacks or ())


def connect_sqlalchemy_secrets() -> None:
    """Let the SQLAlchemy mixins encrypt with the current app's key, when SQLAlchemy is there."""
    try:
        from authgate.sqla import oauth1 as sqla_oauth1
    except ImportError:  # pragma: no cover - SQLAlchemy is optional
        return
    sqla_oauth1.add_secret_cipher_provider(current_secret_cipher)
