"""Redirect URI matching and authorization responses.

RFC 9700 §4.1.3 asks for exact string matching: no prefix, pattern or
normalisation, since each of those has been used to steal codes. The one
exception is RFC 8252 §7.3: a native app on a loopback IP address gets a port
from the OS at run time, so for ``http://127.0.0.1`` and ``http://[::1]`` the
port is ignored (and only the port).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlencode, urlsplit, urlunsplit

__all__ = ["add_params_to_uri", "is_loopback_host", "redirect_uri_matches"]

_LOOPBACK_IPS = {"127.0.0.1", "::1", "[::1]"}


def is_loopback_host(host: str | None) -> bool:
    return bool(host) and (host in _LOOPBACK_IPS or host == "localhost")


_LOOPBACK_REDIRECT = re.compile(r"(http://(?:127\.0\.0\.1|\[::1\]))(?::([0-9]{1,5}))?([/?][^#]*)?")


def redirect_uri_matches(registered: str, presented: str) -> bool:
    """Byte-for-byte equality, except the port of a loopback IP redirect."""
    if registered == presented:
        return True
    left = _LOOPBACK_REDIRECT.fullmatch(registered)
    right = _LOOPBACK_REDIRECT.fullmatch(presented)
    if left is None or right is None:
        return False
    port = right.group(2)
    if port is not None and not 0 < int(port) < 65536:
        return False
    return left.group(1) == right.group(1) and (left.group(3) or "") == (right.group(3) or "")


def redirect_uri_is_acceptable(uri: str) -> bool:
    """Registration check: absolute, no fragment (RFC 6749 §3.1.2)."""
    parts = urlsplit(uri)
    return bool(parts.scheme) and bool(parts.netloc or parts.scheme not in {"http", "https"}) \
        and not parts.fragment and "#" not in uri


def add_params_to_uri(
    uri: str, params: Mapping[str, str] | Iterable[tuple[str, str]], fragment: bool = False
) -> str:
    """Append parameters to the query (or, for implicit responses, the fragment)."""
    pairs = list(params.items()) if isinstance(params, Mapping) else list(params)
    pairs = [(k, v) for k, v in pairs if v is not None]
    scheme, netloc, path, query, frag = urlsplit(uri)
    encoded = urlencode(pairs)
    if fragment:
        frag = f"{frag}&{encoded}" if frag else encoded
    else:
        query = f"{query}&{encoded}" if query else encoded
    return urlunsplit((scheme, netloc, path, query, frag))
