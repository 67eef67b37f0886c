"""Rendering of OAuth 2.0 outcomes: the one place each kind of response is built.

- JSON errors of token-style endpoints (RFC 6749 §5.2),
- redirects back to the client, errors included (§4.1.2, §4.2.2, RFC 9207 ``iss``),
- error pages for authorization errors that must not be redirected,
- ``WWW-Authenticate: Bearer`` challenges of protected resources (RFC 6750 §3).
"""

from __future__ import annotations

import html
from collections.abc import Mapping

from authgate.core.http import Response, json_response, redirect_response
from authgate.core.oauth2.errors import OAuth2Error
from authgate.core.oauth2.redirect import add_params_to_uri

__all__ = ["bearer_challenge", "error_json", "error_page", "error_redirect", "success_redirect"]


def _with_uri(error: OAuth2Error, error_uris: Mapping[str, str]) -> OAuth2Error:
    if error.uri is None and error.error in error_uris:
        error.uri = error_uris[error.error]
    return error


def error_json(error: OAuth2Error, languages: str | None,
               error_uris: Mapping[str, str]) -> Response:
    _with_uri(error, error_uris)
    return json_response(error.status, error.body(languages), error.headers)


def success_redirect(redirect_uri: str, params: Mapping[str, str], *, fragment: bool,
                     state: str | None, issuer: str | None) -> Response:
    values = dict(params)
    if state is not None:
        values["state"] = state
    if issuer:
        values["iss"] = issuer
    return redirect_response(add_params_to_uri(redirect_uri, values, fragment=fragment))


def error_redirect(error: OAuth2Error, languages: str | None, error_uris: Mapping[str, str],
                   issuer: str | None) -> Response:
    assert error.redirect_uri is not None
    _with_uri(error, error_uris)
    return success_redirect(
        error.redirect_uri, error.body(languages),
        fragment=error.response_mode == "fragment", state=None, issuer=issuer,
    )


def error_page(error: OAuth2Error, languages: str | None) -> Response:
    """A minimal, self-contained HTML page; the Flask face lets apps use their own."""
    title = html.escape(error.error)
    text = html.escape(error.render_description(languages))
    body = (
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>Authorization error</title></head><body><main><h1>{title}</h1>"
        f"<p>{text}</p></main></body></html>"
    )
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Cache-Control", "no-store"),
        ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
        ("X-Frame-Options", "DENY"),
    )
    return Response(error.status, headers, body.encode())


def bearer_challenge(error: OAuth2Error | None, realm: str | None,
                     scope: str | None = None, languages: str | None = None) -> str:
    """The ``WWW-Authenticate`` value: no error code when no token was sent (§3.1)."""
    parts = ["Bearer"]
    attrs: list[str] = []
    if realm:
        attrs.append(f'realm="{_quote(realm)}"')
    if error is not None:
        attrs.append(f'error="{error.error}"')
        description = error.render_description(languages)
        if description:
            attrs.append(f'error_description="{_quote(description)}"')
    if scope:
        attrs.append(f'scope="{_quote(scope)}"')
    if attrs:
        parts.append(", ".join(attrs))
    return " ".join(parts)


def _quote(value: str) -> str:
    # RFC 6750 §3: the values are quoted-strings; keep them to printable ASCII.
    cleaned = "".join(ch for ch in value if 0x20 <= ord(ch) < 0x7F and ch not in '"\\')
    return cleaned
