"""Percent-encoding (RFC 5849 §3.6) and the ``Authorization: OAuth`` header (§3.5.1).

OAuth 1 has its own encoding: only the unreserved characters stay as they
are, everything else is UTF-8 then ``%XX`` with upper-case hex. Using
``urllib.parse.quote`` with the right safe set gives exactly that; the form
encoder (``+`` for space) must never be used for signatures.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

from authgate.core.oauth1.errors import DuplicatedOAuthProtocolParameterError, InvalidRequestError

__all__ = ["build_authorization_header", "escape", "parse_authorization_header", "unescape"]

_UNRESERVED = "-._~"
_ALL_UNRESERVED = re.compile(r"[A-Za-z0-9\-._~]*").fullmatch
_HEADER_ITEM = re.compile(r'\s*([A-Za-z0-9_.\-]+)\s*=\s*"([^"]*)"\s*(?:,|$)')


def escape(value: str) -> str:
    """Percent-encode ``value`` the OAuth way (§3.6).

    Most protocol values (keys, nonces, timestamps) need no encoding at all:
    one regex match says so for less than ``quote`` costs to find it out.
    """
    if _ALL_UNRESERVED(value):
        return value
    return quote(value, safe=_UNRESERVED)


def unescape(value: str) -> str:
    """Undo :func:`escape`; ``+`` stays a plus sign (this is not form decoding)."""
    return unquote(value)


def parse_authorization_header(value: str | None) -> list[tuple[str, str]] | None:
    """The decoded ``name, value`` pairs of an ``OAuth`` header, or None for other schemes.

    ``realm`` is returned too (the caller keeps it out of the signature); a
    name given twice is refused here, since the header cannot legitimately
    repeat a parameter.
    """
    if not value:
        return None
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "oauth":
        return None
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    position = 0
    rest = rest.strip()
    while position < len(rest):
        match = _HEADER_ITEM.match(rest, position)
        if match is None:
            raise InvalidRequestError("The Authorization header is malformed.")
        name, raw = match.group(1), match.group(2)
        if name in seen:
            raise DuplicatedOAuthProtocolParameterError(name)
        seen.add(name)
        pairs.append((name, unescape(raw)))
        position = match.end()
    return pairs


def build_authorization_header(pairs: list[tuple[str, str]], realm: str | None = None) -> str:
    """An ``OAuth`` header value for ``pairs`` (tests and outgoing requests)."""
    items = [f'realm="{realm}"'] if realm is not None else []
    items += [f'{escape(name)}="{escape(val)}"' for name, val in pairs]
    return "OAuth " + ", ".join(items)
