"""``private_key_jwt``: a client proves itself with a JWT signed by its own key.

RFC 7523 §2.2 and §3 define the assertion, OpenID Connect Core §9 the method
name. The client keeps its private key and registers only public keys
(``jwks``, or a ``jwks_uri`` we fetch), so the server holds no secret that
could leak. What would make that promise hollow is refused here: algorithms
that turn a public key into an HMAC secret (``none``, ``HS*``), headers that
let the assertion pick its own key (``jwk``, ``jku``, ``x5u``, ``x5c``),
assertions meant for another audience, long-lived ones, and a second use of
the same ``jti``.

Every refusal is the same ``invalid_client`` (401); which rule tripped goes to
the log only, so a caller probing the check learns nothing.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from authgate.core.oauth2.errors import InvalidClientError, InvalidRequestError
from authgate.core.oauth2.jwt.errors import JWKSFetchError
from authgate.core.oauth2.jwt.jwk import (
    SUPPORTED_ALGORITHMS,
    VerificationKey,
    jwk_thumbprint,
    verification_key_from_jwk,
)
from authgate.core.oauth2.jwt.jwks_client import safe_fetch
from authgate.core.oauth2.jwt.jws import ALGORITHM_OBJECTS, parse_compact, parse_json_object
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import token_digest

__all__ = [
    "JWT_BEARER_ASSERTION_TYPE",
    "ClientJWKSCache",
    "MemoryReplayCache",
    "PrivateKeyJWT",
    "ReplayCache",
    "parse_client_jwks",
]

log = logging.getLogger(__name__)

JWT_BEARER_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_INVALID = "The client assertion is invalid."
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c"})
#: Members only a private or symmetric JWK has: such a key must never be registered.
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MAX_CLIENT_KEYS = 10
MAX_JTI_LENGTH = 256

QueryClient = Callable[[str], Any]
Fetch = Callable[[str], bytes]


class ReplayCache(Protocol):
    """Where used ``jti`` values wait out their assertion's lifetime.

    ``add`` must be atomic: it stores only when the key is absent and says
    whether this call stored it. Every :mod:`authgate.cache` backend fits.
    """

    def add(self, key: str, value: Any, expires: int | None = None) -> bool: ...


class MemoryReplayCache:
    """A single-process :class:`ReplayCache`; use a shared cache with several workers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, float] = {}
        self._next_prune = 0.0

    def add(self, key: str, value: Any, expires: int | None = None) -> bool:
        with self._lock:
            now = self._clock()
            if now >= self._next_prune:
                self._entries = {k: t for k, t in self._entries.items() if t > now}
                self._next_prune = now + 10
            deadline = self._entries.get(key)
            if deadline is not None and deadline > now:
                return False
            self._entries[key] = math.inf if expires is None else now + expires
            return True

    def __len__(self) -> int:
        return len(self._entries)


def parse_client_jwks(jwks: Mapping[str, Any], *, strict: bool = False) -> list[VerificationKey]:
    """The signature keys of a client's JWKS; a key without ``kid`` gets its thumbprint.

    Clients often publish a single key without ``kid`` (RFC 7517 §4.5 makes it
    optional), so the RFC 7638 thumbprint stands in. With ``strict`` (at
    registration) an unusable or private entry is an error rather than skipped.
    """
    entries = jwks.get("keys")
    if not isinstance(entries, list) or len(entries) > MAX_CLIENT_KEYS:
        raise ValueError("a JWKS needs a 'keys' list of at most 10 keys")
    keys: list[VerificationKey] = []
    for entry in entries:
        try:
            if not isinstance(entry, Mapping) or PRIVATE_JWK_MEMBERS.intersection(entry):
                raise ValueError("not a public JWK")
            kid = entry.get("kid") or jwk_thumbprint(entry)
            keys.append(verification_key_from_jwk({**entry, "kid": kid}))
        except (ValueError, TypeError, KeyError, AttributeError):
            if strict:
                raise ValueError("the JWKS holds a key that is not a public signature key") \
                    from None
    return keys


class ClientJWKSCache:
    """Keys fetched from clients' ``jwks_uri``, cached per URI.

    Entries are refreshed after ``ttl`` seconds, and early when an assertion
    names a ``kid`` we do not have (the client rotated its key) but not more
    often than ``min_refresh_interval``, so forged ``kid``\\ s cannot make us
    fetch on every request. A failed refresh keeps serving the keys we have.
    """

    def __init__(self, fetch: Fetch | None = None, *, ttl: float = 300,
                 min_refresh_interval: float = 30, max_entries: int = 1024,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._fetch: Fetch = fetch or safe_fetch
        self.ttl = ttl
        self.min_refresh_interval = min_refresh_interval
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        # uri -> (keys, loaded_at, attempted_at)
        self._entries: dict[str, tuple[list[VerificationKey] | None, float, float]] = {}
        self.fetch_count = 0

    def keys(self, uri: str, *, want_fresh: bool = False) -> list[VerificationKey]:
        """The keys at ``uri``; ``want_fresh`` asks for a refetch (rate-limited)."""
        now = self._clock()
        with self._lock:
            keys, loaded_at, attempted_at = self._entries.get(uri, (None, -math.inf, -math.inf))
        stale = now - loaded_at >= self.ttl
        may_fetch = now - attempted_at >= self.min_refresh_interval
        if keys is not None and not stale and not (want_fresh and may_fetch):
            return keys
        if not may_fetch:
            if keys is None:
                raise JWKSFetchError(f"the JWKS at {uri} could not be loaded")
            return keys
        with self._lock:
            self._remember(uri, keys, loaded_at, now)
        try:
            self.fetch_count += 1
            fetched = parse_client_jwks(parse_json_object(self._fetch(uri)))
        except (JWKSFetchError, OSError, ValueError, UnicodeError) as exc:
            if keys is None:
                raise JWKSFetchError(f"the JWKS at {uri} could not be loaded: {exc}") from exc
            log.warning("refreshing the client JWKS at %s failed: %s", uri, exc)
            return keys
        with self._lock:
            self._remember(uri, fetched, self._clock(), now)
        return fetched

    def _remember(self, uri: str, keys: list[VerificationKey] | None, loaded_at: float,
                  attempted_at: float) -> None:
        if uri not in self._entries and len(self._entries) >= self.max_entries:
            self._entries.pop(next(iter(self._entries)))
        self._entries[uri] = (keys, loaded_at, attempted_at)


class _Refused(Exception):
    """Internal: which check failed, for the log."""


def _number(claims: Mapping[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused(f"{name} is not a number")
    return float(value)


class PrivateKeyJWT:
    """The ``private_key_jwt`` client authentication method (RFC 7523 §2.2, §3).

    ``aud`` must name ``token_endpoint`` (or one of ``extra_audiences``), or the
    ``issuer`` when ``accept_issuer``; with neither configured the URL the
    request was sent to is accepted, which suits development only (behind a
    proxy, or with a forged ``Host``, that URL is not ours to trust).
    ``max_lifetime`` bounds both ``exp - iat`` and how far ``exp`` may lie in
    the future (an hour by default, which common clients such as Authlib's
    use); ``leeway`` absorbs clock skew. Used ``jti`` values go to
    ``replay_cache`` (in memory by default: pass a shared cache when several
    processes serve the token endpoint).
    """

    name = "private_key_jwt"

    def __init__(
        self,
        token_endpoint: str | None = None,
        *,
        issuer: str | None = None,
        accept_issuer: bool = True,
        extra_audiences: Iterable[str] = (),
        algorithms: Sequence[str] = SUPPORTED_ALGORITHMS,
        replay_cache: ReplayCache | None = None,
        jwks_cache: ClientJWKSCache | None = None,
        fetch: Fetch | None = None,
        max_lifetime: int = 3600,
        leeway: int = 30,
        clock: Callable[[], float] = time.time,
    ) -> None:
        unknown = set(algorithms) - set(SUPPORTED_ALGORITHMS)
        if unknown or not algorithms:
            raise ValueError(f"algorithms must be among {SUPPORTED_ALGORITHMS}")
        if not 0 <= leeway <= 120 or max_lifetime <= 0:
            raise ValueError("need 0 <= leeway <= 120 and max_lifetime > 0")
        self.algorithms: tuple[str, ...] = tuple(algorithms)
        self.token_endpoint = token_endpoint
        self.issuer = issuer
        self.accept_issuer = accept_issuer
        self.extra_audiences = frozenset(extra_audiences)
        self.replay_cache: ReplayCache = replay_cache or MemoryReplayCache(clock)
        self.jwks_cache = jwks_cache or ClientJWKSCache(fetch)
        self.max_lifetime = max_lifetime
        self.leeway = leeway
        self.clock = clock

    # -- the ClientAuthMethod protocol -----------------------------------------------------
    def is_used(self, request: OAuth2Request) -> bool:
        """A JWT bearer assertion, or an assertion whose type was left out (refused later)."""
        kind = request.data.get("client_assertion_type")
        return kind == JWT_BEARER_ASSERTION_TYPE or (
            kind is None and "client_assertion" in request.data)

    def authenticate(self, request: OAuth2Request, query_client: QueryClient) -> Any:
        for name in ("client_assertion_type", "client_assertion"):
            if name not in request.data:
                raise InvalidRequestError("Missing '{name}' parameter.", params={"name": name})
        try:
            return self._authenticate(request, query_client)
        except _Refused as refused:
            log.info("private_key_jwt assertion refused: %s", refused)
            raise InvalidClientError(ASSERTION_INVALID) from None

    # -- the checks, in the order of RFC 7523 §3 ------------------------------------------
    def _authenticate(self, request: OAuth2Request, query_client: QueryClient) -> Any:
        try:
            jws = parse_compact(request.data["client_assertion"])
        except (ValueError, UnicodeError):
            raise _Refused("malformed JWS") from None
        alg = self._check_header(jws.header)
        try:
            claims = parse_json_object(jws.payload)
        except (ValueError, UnicodeError):
            raise _Refused("malformed claims") from None
        # §3 items 1-2: iss and sub are both the client_id (OpenID Connect Core §9).
        client_id = claims.get("iss")
        if not isinstance(client_id, str) or not client_id or claims.get("sub") != client_id:
            raise _Refused("iss and sub must both be the client_id")
        named = request.data.get("client_id")
        if named is not None and named != client_id:
            raise _Refused("client_id does not match iss")
        client = query_client(client_id)
        if client is None:
            raise _Refused(f"unknown client {client_id[:64]!r}")
        # Before any key is fetched: only clients registered for this method.
        if not client.check_endpoint_auth_method(self.name, "token"):
            raise _Refused(f"client {client_id!r} is not registered for private_key_jwt")
        self._check_audience(claims.get("aud"), request)
        exp = self._check_times(claims)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise _Refused("missing or oversized jti")
        self._verify_signature(client, jws.header.get("kid"), alg, jws.signing_input,
                               jws.signature)
        # §3 item 7: single use, remembered until the assertion expires anyway.
        key = "authgate:private_key_jwt:" + token_digest(f"{client_id}\x00{jti}")
        ttl = max(1, math.ceil(exp + self.leeway - self.clock()))
        if not self.replay_cache.add(key, 1, ttl):
            raise _Refused(f"jti replayed by {client_id!r}")
        return client

    def _check_header(self, header: Mapping[str, Any]) -> str:
        """RFC 8725 §3.1-3.2: the header is judged before any key is looked at."""
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise _Refused(f"alg {str(alg)[:16]!r} not allowed")
        if FORBIDDEN_HEADERS.intersection(header):
            raise _Refused("key-bearing header")
        if "crit" in header:
            raise _Refused("unsupported critical header")
        kid = header.get("kid")
        if kid is not None and (not isinstance(kid, str) or not kid):
            raise _Refused("malformed kid")
        typ = header.get("typ")
        if isinstance(typ, str) and typ.lower() in {"at+jwt", "application/at+jwt"}:
            raise _Refused("an access token is not a client assertion")
        return alg

    def accepted_audiences(self, request: OAuth2Request) -> frozenset[str]:
        audiences = set(self.extra_audiences)
        if self.token_endpoint:
            audiences.add(self.token_endpoint)
        if self.issuer and self.accept_issuer:
            audiences.update({self.issuer, self.issuer.rstrip("/")})
        if not audiences:
            parts = urlsplit(request.uri)
            audiences.add(urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")))
        return frozenset(audiences)

    def _check_audience(self, aud: Any, request: OAuth2Request) -> None:
        """§3 item 3: the assertion must be meant for us."""
        audiences = [aud] if isinstance(aud, str) else aud
        if not isinstance(audiences, list) or not audiences or \
                not all(isinstance(a, str) for a in audiences):
            raise _Refused("missing or malformed aud")
        if not self.accepted_audiences(request).intersection(audiences):
            raise _Refused("aud names another server")

    def _check_times(self, claims: Mapping[str, Any]) -> float:
        """§3 items 4-6: expiry required, lifetime bounded, nbf and iat sensible."""
        now = self.clock()
        exp = _number(claims, "exp")
        if exp is None:
            raise _Refused("missing exp")
        if now >= exp + self.leeway:
            raise _Refused("expired")
        if exp - now > self.max_lifetime + self.leeway:
            raise _Refused("exp too far in the future")
        nbf = _number(claims, "nbf")
        if nbf is not None and nbf > now + self.leeway:
            raise _Refused("not yet valid")
        iat = _number(claims, "iat")
        if iat is not None:
            if iat > now + self.leeway:
                raise _Refused("issued in the future")
            if exp - iat > self.max_lifetime:
                raise _Refused("lifetime too long")
        return exp

    def _verify_signature(self, client: Any, kid: str | None, alg: str, signing_input: bytes,
                          signature: bytes) -> None:
        """§3 item 9: signed by one of the client's registered keys."""
        jwks_uri = getattr(client, "jwks_uri", None)
        inline = getattr(client, "jwks", None)
        try:
            if jwks_uri:
                keys = self.jwks_cache.keys(str(jwks_uri))
            elif isinstance(inline, Mapping) and inline:
                keys = parse_client_jwks(inline)
            else:
                raise _Refused("the client has no registered keys")
        except (JWKSFetchError, ValueError) as exc:
            raise _Refused(f"client keys unavailable: {exc}") from None
        if self._verifies(keys, kid, alg, signing_input, signature):
            return
        if jwks_uri:  # perhaps the client rotated its key: look once more (rate-limited)
            try:
                fresh = self.jwks_cache.keys(str(jwks_uri), want_fresh=True)
            except JWKSFetchError:
                fresh = keys
            if fresh is not keys and self._verifies(fresh, kid, alg, signing_input, signature):
                return
        raise _Refused("no registered key verifies the signature")

    @staticmethod
    def _verifies(keys: Sequence[VerificationKey], kid: str | None, alg: str,
                  signing_input: bytes, signature: bytes) -> bool:
        candidates = [k for k in keys if k.allows(alg) and (kid is None or k.kid == kid)]
        algorithm = ALGORITHM_OBJECTS[alg]
        return any(algorithm.verify(signing_input, k.key, signature) for k in candidates)

    def __repr__(self) -> str:
        return (f"PrivateKeyJWT(token_endpoint={self.token_endpoint!r}, "
                f"issuer={self.issuer!r}, algorithms={self.algorithms!r})")
