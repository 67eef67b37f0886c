"""Validation of JWT access tokens, in the order RFC 9068 §4 gives, hardened per RFC 8725.

The header is judged before any key is looked up: only the allow-listed
asymmetric algorithms, no embedded or remote keys (``jwk``, ``jku``, ``x5u``,
``x5c``: a token must never choose the key that verifies it), no critical
extensions, an explicit ``kid``. The key found for that ``kid`` must then be of
the algorithm's family, so an RSA public key can never be used as an HMAC
secret. Only after the signature holds are the claims read.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Protocol, runtime_checkable

from authgate.core.oauth2.jwt.errors import InvalidJWTError
from authgate.core.oauth2.jwt.jwk import (
    SUPPORTED_ALGORITHMS,
    VerificationKey,
    verification_key_from_jwk,
)
from authgate.core.oauth2.jwt.jws import ALGORITHM_OBJECTS, parse_compact, parse_json_object

__all__ = [
    "AccessTokenClaims",
    "JWKSKeys",
    "JWTAccessTokenValidator",
    "KeyResolver",
]

MAX_LEEWAY = 30
FORBIDDEN_HEADERS = frozenset({"jwk", "jku", "x5u", "x5c"})
ACCEPTED_TYP = {"at+jwt": frozenset({"at+jwt", "application/at+jwt"})}


@runtime_checkable
class KeyResolver(Protocol):
    """Finds the public key for a ``kid`` (``KeySet``, ``JWKSClient``, ``JWKSKeys``)."""

    def resolve_key(self, kid: str) -> VerificationKey | None: ...


class JWKSKeys:
    """A key resolver over a fixed JWKS document, parsed once.

    Entries that are not usable signature keys are skipped: a JWKS may carry
    encryption keys or key types we do not verify with.
    """

    def __init__(self, jwks: Mapping[str, Any]) -> None:
        entries = jwks.get("keys")
        if not isinstance(entries, list):
            raise ValueError("a JWKS needs a 'keys' list")
        self._keys: dict[str, VerificationKey] = {}
        for entry in entries:
            try:
                key = verification_key_from_jwk(entry)
            except (ValueError, TypeError, AttributeError):
                continue
            self._keys.setdefault(key.kid, key)

    def resolve_key(self, kid: str) -> VerificationKey | None:
        return self._keys.get(kid)


class _CallableKeys:
    """A key resolver over ``(kid) -> jwk | None``, caching parsed keys per JWK."""

    def __init__(self, lookup: Callable[[str], Mapping[str, Any] | None]) -> None:
        self._lookup = lookup
        self._parsed: dict[str, VerificationKey] = {}

    def resolve_key(self, kid: str) -> VerificationKey | None:
        jwk = self._lookup(kid)
        if jwk is None:
            return None
        cache_key = json.dumps(dict(jwk), sort_keys=True)
        key = self._parsed.get(cache_key)
        if key is None:
            try:
                key = verification_key_from_jwk(jwk)
            except (ValueError, TypeError, AttributeError):
                return None
            if len(self._parsed) >= 64:
                self._parsed.clear()
            self._parsed[cache_key] = key
        return key if key.kid == kid else None


def _as_resolver(source: object) -> KeyResolver:
    if isinstance(source, KeyResolver):
        return source
    if isinstance(source, Mapping):
        return JWKSKeys(source)
    if callable(source):
        return _CallableKeys(source)
    raise TypeError("key_resolver must be a KeySet, a JWKS dict, a JWKSClient or a callable")


@dataclass(frozen=True)
class AccessTokenClaims:
    """The claims of a validated access token; ``claims`` holds all of them, read-only."""

    sub: str
    client_id: str
    scope: str
    scopes: frozenset[str]
    exp: int
    iat: int
    jti: str
    iss: str
    aud: tuple[str, ...]
    claims: Mapping[str, Any] = field(compare=False, hash=False, repr=False)

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]

    def __contains__(self, name: object) -> bool:
        return name in self.claims

    def __iter__(self) -> Iterator[str]:
        return iter(self.claims)

    def get(self, name: str, default: Any = None) -> Any:
        return self.claims.get(name, default)


@dataclass(frozen=True, slots=True)
class _Verified:
    """A token once found valid: its claims, and the key (by ``kid``) that verified it."""

    claims: AccessTokenClaims
    kid: str
    key: VerificationKey


def _number(claims: Mapping[str, Any], name: str, *, required: bool) -> int | float | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise InvalidJWTError(f"missing {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidJWTError(f"{name} is not a number")
    return value


def _string(claims: Mapping[str, Any], name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise InvalidJWTError(f"missing {name}")
    return value


class JWTAccessTokenValidator:
    """Check a JWT access token and return its claims, or raise :class:`InvalidJWTError`."""

    def __init__(
        self,
        issuer: str,
        audience: str | Iterable[str] | None,
        key_resolver: KeyResolver | Mapping[str, Any] | Callable[[str], Mapping[str, Any] | None],
        *,
        algorithms: Iterable[str] = SUPPORTED_ALGORITHMS,
        leeway: float = 5,
        clock: Callable[[], float] = time.time,
        required_typ: str = "at+jwt",
        cache_size: int = 1024,
    ) -> None:
        self.algorithms = frozenset(algorithms)
        unknown = self.algorithms - set(SUPPORTED_ALGORITHMS)
        if unknown or not self.algorithms:
            raise ValueError(f"algorithms must be among {SUPPORTED_ALGORITHMS}")
        if not 0 <= leeway <= MAX_LEEWAY:
            raise ValueError(f"leeway must be between 0 and {MAX_LEEWAY} seconds")
        if required_typ not in ACCEPTED_TYP:
            raise ValueError("only at+jwt tokens are validated here")
        self.issuer = issuer
        self.audiences = (
            None if audience is None
            else frozenset([audience] if isinstance(audience, str) else audience)
        )
        self.leeway = leeway
        self._resolver = _as_resolver(key_resolver)
        self._clock = clock
        self._typ = ACCEPTED_TYP[required_typ]
        if cache_size < 0:
            raise ValueError("cache_size must be 0 (no cache) or more")
        self._cache_size = cache_size
        self._verified: dict[str, _Verified] = {}

    def validate(self, token: str) -> AccessTokenClaims:
        """The token's claims, or :class:`InvalidJWTError`.

        A client sends the same access token with every request until it expires,
        so a token whose signature and claims once held is remembered (up to
        ``cache_size`` of them, by the exact token string): the next time only what
        can change is checked again, the clock against ``exp``/``nbf``/``iat`` and
        that its ``kid`` still resolves to the very key that verified it (a key
        dropped from the JWKS ends its tokens at once). Tokens that fail are never
        remembered.
        """
        verified = self._verified.get(token)
        if verified is not None:
            if self._resolver.resolve_key(verified.kid) is verified.key:
                self._check_times(verified.claims.claims)
                return verified.claims
            self._verified.pop(token, None)
        claims, kid, key = self._verify(token)
        if self._cache_size:
            self._remember(token, _Verified(claims, kid, key))
        return claims

    def _remember(self, token: str, verified: _Verified) -> None:
        cache = self._verified
        while len(cache) >= self._cache_size:
            try:  # the oldest first; another thread may be evicting too
                cache.pop(next(iter(cache)), None)
            except (RuntimeError, StopIteration):
                break
        cache[token] = verified

    def _verify(self, token: str) -> tuple[AccessTokenClaims, str, VerificationKey]:
        try:
            jws = parse_compact(token)
        except (ValueError, UnicodeError) as exc:
            raise InvalidJWTError("malformed token") from exc
        alg = self._check_header(jws.header)
        key = self._resolver.resolve_key(jws.header["kid"])
        if key is None:
            raise InvalidJWTError("unknown kid")
        if not key.allows(alg):
            raise InvalidJWTError("alg does not fit the key")
        if not ALGORITHM_OBJECTS[alg].verify(jws.signing_input, key.key, jws.signature):
            raise InvalidJWTError("bad signature")
        try:
            claims = parse_json_object(jws.payload)
        except (ValueError, UnicodeError) as exc:
            raise InvalidJWTError("malformed claims") from exc
        return self._check_claims(claims), jws.header["kid"], key

    def _check_header(self, header: Mapping[str, Any]) -> str:
        """RFC 8725 §3.1-3.2 and RFC 9068 §4 step 1: the header before any key."""
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidJWTError("alg not allowed")
        if FORBIDDEN_HEADERS.intersection(header):
            raise InvalidJWTError("embedded or remote key in header")
        if "crit" in header:
            raise InvalidJWTError("unsupported critical header")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in self._typ:
            raise InvalidJWTError("typ is not at+jwt")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidJWTError("missing kid")
        return alg

    def _check_times(self, claims: Mapping[str, Any]) -> tuple[int | float, int | float]:
        """RFC 9068 §4 step 5 and RFC 7519 §4.1.4-4.1.6: ``exp``, ``nbf``, ``iat``."""
        now = self._clock()
        exp = _number(claims, "exp", required=True)
        assert exp is not None
        if now >= exp + self.leeway:
            raise InvalidJWTError("expired")
        nbf = _number(claims, "nbf", required=False)
        if nbf is not None and nbf > now + self.leeway:
            raise InvalidJWTError("not yet valid")
        iat = _number(claims, "iat", required=True)
        assert iat is not None
        if iat > now + self.leeway:
            raise InvalidJWTError("issued in the future")
        return exp, iat

    def _check_claims(self, claims: dict[str, Any]) -> AccessTokenClaims:
        """RFC 9068 §4 steps 3-5 and the claims §2.2 makes required."""
        if claims.get("iss") != self.issuer:
            raise InvalidJWTError("wrong iss")
        aud = claims.get("aud")
        audiences = (aud,) if isinstance(aud, str) else aud
        if audiences is not None and (
            not isinstance(audiences, list | tuple)
            or not all(isinstance(a, str) for a in audiences)
        ):
            raise InvalidJWTError("malformed aud")
        if self.audiences is not None and not self.audiences.intersection(audiences or ()):
            raise InvalidJWTError("wrong aud")
        exp, iat = self._check_times(claims)
        scope = claims.get("scope", "")
        if not isinstance(scope, str):
            raise InvalidJWTError("malformed scope")
        return AccessTokenClaims(
            sub=_string(claims, "sub"),
            client_id=_string(claims, "client_id"),
            scope=scope,
            scopes=frozenset(scope.split()),
            exp=int(exp),
            iat=int(iat),
            jti=_string(claims, "jti"),
            iss=self.issuer,
            aud=tuple(audiences or ()),
            claims=MappingProxyType(claims),
        )

    def __repr__(self) -> str:
        return f"JWTAccessTokenValidator(issuer={self.issuer!r}, audiences={self.audiences!r})"
