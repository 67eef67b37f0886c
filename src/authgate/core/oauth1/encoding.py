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
_HEADER_ITEMS = re.compile(r'(?:\s*[A-Za-z0-9_.\-]+\s*=\s*"[^"]*"\s*(?:,|$))*')


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
    rest = rest.strip()
    # One pass checks the whole value is well formed, a second takes the items: the
    # same items as matching one after another, since each can only match one way.
    if not _HEADER_ITEMS.fullmatch(rest):
        _refuse_malformed(rest)
    pairs: list[tuple[str, str]] = []
    seen: set[str] = set()
    for name, raw in _HEADER_ITEM.findall(rest):
        if name in seen:
            raise DuplicatedOAuthProtocolParameterError(name)
        seen.add(name)
        pairs.append((name, unquote(raw) if "%" in raw else raw))
    return pairs


def _refuse_malformed(rest: str) -> None:
    """Raise the error of a malformed header: a repeated name found before the
    first malformed item is reported as such, as an item-by-item reading does."""
    seen: set[str] = set()
    position = 0
    while position < len(rest):
        match = _HEADER_ITEM.match(rest, position)
        if match is None:
            break
        if match.group(1) in seen:
            raise DuplicatedOAuthProtocolParameterError(match.group(1))
        seen.add(match.group(1))
        position = match.end()
    raise InvalidRequestError("The Authorization header is malformed.")


def build_authorization_header(pairs: list[tuple[str, str]], realm: str | None = None) -> str:
    """An ``OAuth`` header value for ``pairs`` (tests and outgoing requests)."""
    items = [f'realm="{realm}"'] if realm is not None else []
    items += [f'{escape(name)}="{escape(val)}"' for name, val in pairs]
    return "OAuth " + ", ".join(items)
