"""How OAuth 1 answers are written, one function per endpoint kind.

The credential endpoints (RFC 5849 §2.1, §2.3) answer
``application/x-www-form-urlencoded``, errors included, so a client parses
failures the way it parses successes; the resource protector answers JSON.
Both put ``WWW-Authenticate: OAuth`` on a 401 (RFC 9110 §11.6.1).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from authgate.core.http import NO_STORE, Response, json_response, redirect_response
from authgate.core.oauth1.errors import OAuth1Error

__all__ = [
    "add_params_to_uri",
    "credential_error_response",
    "form_response",
    "oob_verifier_response",
    "redirect_response",
    "resource_error_response",
]

FORM_TYPE = ("Content-Type", "application/x-www-form-urlencoded")


def _challenge(error: OAuth1Error, realm: str | None) -> tuple[tuple[str, str], ...]:
    if error.status != 401:
        return ()
    return (("WWW-Authenticate", f'OAuth realm="{realm or ""}"'),)


def _error_pairs(error: OAuth1Error, languages: str | None) -> list[tuple[str, str]]:
    return [("error", error.error), ("error_description", error.render_description(languages))]


def form_response(
    status: int, pairs: Iterable[tuple[str, str]], headers: Iterable[tuple[str, str]] = ()
) -> Response:
    return Response(status, (FORM_TYPE, *NO_STORE, *headers), urlencode(list(pairs)).encode())


def credential_error_response(
    error: OAuth1Error, languages: str | None = None, realm: str | None = None
) -> Response:
    """The one rendering of errors at the temporary-credential and token endpoints."""
    return form_response(error.status, _error_pairs(error, languages), _challenge(error, realm))


def resource_error_response(
    error: OAuth1Error, languages: str | None = None, realm: str | None = None
) -> Response:
    """The one rendering of errors for protected resources."""
    body = dict(_error_pairs(error, languages))
    return json_response(error.status, body, _challenge(error, realm))


def add_params_to_uri(uri: str, params: Iterable[tuple[str, str]]) -> str:
    """Append ``params`` to the query of ``uri``, keeping what is already there."""
    parts = urlsplit(uri)
    query = [*parse_qsl(parts.query, keep_blank_values=True), *params]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def oob_verifier_response(token: str, verifier: str) -> Response:
    """The page shown when the client has no callback (``oob``, §2.2): the verifier to copy."""
    body = (
        "<!doctype html><meta charset=utf-8><title>Authorization granted</title>"
        "<p>Enter this code in the application:</p>"
        f'<p><code id="oauth_verifier">{html.escape(verifier)}</code></p>'
        f'<input type="hidden" id="oauth_token" value="{html.escape(token)}">'
    )
    return Response(200, (("Content-Type", "text/html; charset=utf-8"), *NO_STORE), body.encode())
