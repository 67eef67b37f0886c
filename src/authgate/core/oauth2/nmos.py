"""AMWA IS-10 (NMOS Authorization) rules, as plain functions over plain values.

Three parties use them:

* the authorization server, to turn a user's *access rights* into the
  ``x-nmos-<api>`` claims of a token (:func:`make_get_extra_claims`), to pick
  the token's ``aud`` array (:func:`default_audience`) and to keep the client
  credentials grant to the APIs IS-10 allows it (:func:`check_client_credentials_scope`);
* sign-up and ``create-user --scope``, to read and store access rights
  (:func:`parse_access_rights`, :func:`format_access_rights`);
* resource servers, to judge a request's method and path against a token
  (:func:`request_permitted`, :func:`audience_permitted`).

Access rights, the format the server stores per user, is a scope-like string::

    "registration query:read connection"

one entry per NMOS API: ``api`` (or ``api:write``) grants read and write,
``api:read`` read only. Write implies read because a controller that may
change a resource has to be able to look at it first. As a mapping it is
``{"registration": {"read", "write"}, "query": {"read"}}``. Token scopes stay
bare API names, as IS-10 names its scopes.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from authgate.core.oauth2.errors import InvalidScopeError
from authgate.core.oauth2.jwt import TokenContext

__all__ = [
    "CLIENT_CREDENTIALS_APIS",
    "NMOS_APIS",
    "READ_METHODS",
    "AccessRights",
    "access_claim",
    "api_from_path",
    "audience_permitted",
    "check_client_credentials_scope",
    "client_credentials_scope_allowed",
    "default_audience",
    "format_access_rights",
    "grantable_scope",
    "make_get_extra_claims",
    "parse_access_rights",
    "path_matches",
    "relative_path",
    "request_permitted",
    "x_nmos_claims",
]

NMOS_APIS: tuple[str, ...] = (
    "registration", "query", "node", "connection", "events", "channelmapping",
)
"""The APIs IS-10 names scopes for (IS-04 registration/query/node, IS-05, IS-07, IS-08)."""

CLIENT_CREDENTIALS_APIS = frozenset({"registration", "events"})
"""What a client may get for itself: Nodes register and send events with no user."""

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LEVELS = frozenset({"read", "write"})
_API_NAME = re.compile(r"[a-z][a-z0-9-]*")

AccessRights = Mapping[str, frozenset[str]]
"""API name -> the levels granted, a subset of ``{"read", "write"}``."""


# -- access rights -------------------------------------------------------------------

def _levels(api: str, given: Iterable[str]) -> frozenset[str]:
    levels = frozenset(given)
    unknown = levels - LEVELS
    if unknown:
        raise ValueError(f"unknown access level {sorted(unknown)[0]!r} for {api!r}")
    return levels | {"read"} if "write" in levels else levels


def parse_access_rights(
    value: str | Mapping[str, Iterable[str]] | None,
    *,
    apis: Iterable[str] | None = NMOS_APIS,
) -> dict[str, frozenset[str]]:
    """Read access rights from their string or mapping form; unknown names raise ValueError.

    Refusing unknown API names (instead of dropping them) turns a typo at
    ``create-user --scope`` into an error rather than a user who silently
    cannot reach an API. ``apis=None`` accepts any well-formed name: stored
    rights may name an API that a newer release introduced.
    """
    rights: dict[str, set[str]] = {}
    if value is None:
        return {}
    if isinstance(value, str):
        for entry in value.replace(",", " ").split():
            api, _, level = entry.partition(":")
            rights.setdefault(api, set()).update(_levels(api, [level] if level else LEVELS))
    else:
        for api, levels in value.items():
            if isinstance(levels, str):
                raise ValueError(f"levels for {api!r} must be a collection, not a string")
            rights.setdefault(api, set()).update(_levels(api, levels))
    malformed = sorted(api for api in rights if not _API_NAME.fullmatch(api))
    if malformed:
        raise ValueError(f"malformed API name {malformed[0]!r}")
    if apis is not None:
        known = tuple(apis)
        unknown = sorted(set(rights) - set(known))
        if unknown:
            raise ValueError(f"unknown NMOS API {unknown[0]!r}; known: {', '.join(known)}")
    return {api: _levels(api, levels) for api, levels in rights.items() if levels}


def format_access_rights(rights: Mapping[str, Iterable[str]]) -> str:
    """The canonical string form (sorted; ``api`` for read+write, ``api:read``)."""
    entries = []
    for api in sorted(rights):
        levels = _levels(api, rights[api])
        if levels:
            entries.append(api if "write" in levels else f"{api}:read")
    return " ".join(entries)


def grantable_scope(requested: str | None, rights: AccessRights) -> str:
    """The requested API scopes the user holds any right to, in request order."""
    seen = dict.fromkeys((requested or "").split())
    return " ".join(api for api in seen if rights.get(api))


def access_claim(levels: Iterable[str]) -> dict[str, list[str]]:
    """The IS-10 access permissions object for whole-API rights."""
    granted = _levels("", levels)
    claim: dict[str, list[str]] = {}
    for level in ("read", "write"):
        if level in granted:
            claim[level] = ["*"]
    return claim


def x_nmos_claims(rights: AccessRights, scope: str | None) -> dict[str, dict[str, list[str]]]:
    """``x-nmos-<api>`` claims for the granted scope only, never for rights not asked for."""
    claims: dict[str, dict[str, list[str]]] = {}
    for api in dict.fromkeys((scope or "").split()):
        levels = rights.get(api)
        if levels:
            claims[f"x-nmos-{api}"] = access_claim(levels)
    return claims


RightsLookup = Callable[[TokenContext], str | Mapping[str, Iterable[str]] | None]


def make_get_extra_claims(rights_of: RightsLookup) -> Callable[[TokenContext], dict[str, Any]]:
    """A ``get_extra_claims`` for :class:`JWTAccessTokenGenerator` in the NMOS profile.

    ``rights_of(ctx)`` returns the user's stored access rights (``ctx.user``
    is the user object). A token without a user (client credentials) gets
    full rights on the scope it was granted: the grant already limited that
    scope to :data:`CLIENT_CREDENTIALS_APIS`.
    """

    def get_extra_claims(ctx: TokenContext) -> dict[str, Any]:
        if ctx.user_id is None:
            rights: AccessRights = {api: LEVELS for api in (ctx.scope or "").split()}
        else:
            rights = parse_access_rights(rights_of(ctx), apis=None)
        return dict(x_nmos_claims(rights, ctx.scope))

    return get_extra_claims


def client_credentials_scope_allowed(scope: str | None) -> bool:
    """IS-10: the client credentials grant is for Nodes, so only these APIs."""
    return set((scope or "").split()) <= CLIENT_CREDENTIALS_APIS


def check_client_credentials_scope(scope: str | None) -> None:
    """Raise :class:`InvalidScopeError` (RFC 6749 §5.2) for any other scope."""
    if not client_credentials_scope_allowed(scope):
        raise InvalidScopeError()


# -- audience --------------------------------------------------------------------------

def _host_of(value: str) -> str:
    if "://" in value:
        value = urlsplit(value).netloc.rpartition("@")[2]
    if value.startswith("["):
        return value[1:].partition("]")[0].lower()
    if value.count(":") > 1:
        return value.lower()  # a bare IPv6 address
    host, _, port = value.rpartition(":")
    return (host if host and port.isdigit() else value).rstrip(".").lower()


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def default_audience(issuer: str) -> list[str]:
    """``aud`` for tokens of ``issuer``: every host in its domain (``*.example.com``).

    IS-10 tokens name where they may be used; without better knowledge the
    authorization server's own domain is the studio's domain. An IP address
    or a single-label host has no domain to widen to, so it stands alone.
    """
    host = _host_of(issuer)
    if _is_ip(host) or "." not in host:
        return [host]
    return ["*." + host.partition(".")[2]]


def _pattern(entry: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in entry.split("*")), re.IGNORECASE)


def audience_permitted(aud: Iterable[str], audiences: Iterable[str]) -> bool:
    """Whether any ``aud`` entry names one of ``audiences`` (hosts or URLs).

    Entries are compared by host, case-insensitively; ``*`` in an entry
    stands for any run of characters, so ``*.example.com`` covers
    ``node1.example.com`` (IS-10 allows such wildcards in ``aud``).
    """
    ours = [_host_of(a) for a in audiences]
    for entry in aud:
        host = _host_of(entry)
        if not host:
            continue
        if "*" in host:
            pattern = _pattern(host)
            if any(pattern.fullmatch(h) for h in ours):
                return True
        elif host in ours:
            return True
    return False


# -- requests ------------------------------------------------------------------------

_API_PATH = re.compile(r"(?:^|/)x-nmos/([a-z][a-z0-9-]*)(?:/|$)")  # same shape as _API_NAME


def api_from_path(path: str) -> str | None:
    """The API a path belongs to: ``/x-nmos/connection/v1.1/...`` -> ``connection``."""
    match = _API_PATH.search(path)
    return match.group(1) if match else None


def relative_path(path: str, api: str) -> str | None:
    """The path after the API version, as ``x-nmos-*`` claims list them.

    ``""`` for the API's base paths (``/x-nmos/``, ``/x-nmos/<api>/`` and
    ``/x-nmos/<api>/<version>/``); ``None`` when ``path`` is not under ``api``.
    """
    if re.search(r"(?:^|/)x-nmos/?$", path):
        return ""
    match = re.search(rf"(?:^|/)x-nmos/{re.escape(api)}(?:/(v\d+\.\d+)(?:/(.*))?)?/?$", path)
    if match is None:
        return None
    return match.group(2) or ""


def path_matches(patterns: object, path: str) -> bool:
    """Whether one of the claim's path globs (``*`` = anything) covers ``path``.

    A trailing slash is not significant (NMOS resources are served both ways).
    """
    if not isinstance(patterns, list):
        return False
    candidates = {path, path.rstrip("/")}
    for pattern in patterns:
        if isinstance(pattern, str) and pattern:
            compiled = _pattern(pattern.rstrip("/") if pattern != "/" else pattern)
            if any(compiled.fullmatch(c) for c in candidates):
                return True
    return False


def _dot_segments(path: str) -> bool:
    return any(segment in {".", ".."} for segment in path.split("/"))


def request_permitted(
    claims: Mapping[str, Any], scopes: Iterable[str], api: str, method: str, path: str
) -> bool:
    """IS-10 resource-server path validation for one request.

    Base paths are readable with the API in ``scope`` or an ``x-nmos-<api>``
    claim, and never writable; below them the claim must list the path under
    ``read`` (GET, HEAD, OPTIONS) or ``write`` (every other method). Paths
    with ``.`` or ``..`` segments are refused: a glob like ``single/senders/*``
    must not be stretched to a sibling by ``senders/x/../../receivers``.
    A request outside the API's namespace is judged by its whole path.
    """
    relative = relative_path(path, api)
    if relative is None:
        relative = path.lstrip("/")
    if _dot_segments(relative):
        return False
    claim = claims.get(f"x-nmos-{api}")
    reading = method.upper() in READ_METHODS
    if relative == "":
        return reading and (api in set(scopes) or isinstance(claim, Mapping))
    if not isinstance(claim, Mapping):
        return False
    return path_matches(claim.get("read" if reading else "write"), relative)
