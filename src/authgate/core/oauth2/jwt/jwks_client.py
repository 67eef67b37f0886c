"""The resource server's view of the authorization server's keys.

The keys are found through the server's metadata (RFC 8414 §3: ``jwks_uri``),
cached, refreshed about hourly, and refreshed early when a token names a
``kid`` we do not know: that is how a key rotation reaches us. Early refreshes
are rate-limited, so a client sending random ``kid``\\ s cannot turn every
request into a request to the authorization server.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import logging
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from authgate.core.oauth2.jwt.errors import JWKSFetchError
from authgate.core.oauth2.jwt.jwk import VerificationKey
from authgate.core.oauth2.jwt.validator import JWKSKeys

__all__ = ["JWKSClient", "metadata_urls", "safe_fetch"]

log = logging.getLogger(__name__)

WELL_KNOWN = "/.well-known/oauth-authorization-server"
MAX_DOCUMENT_BYTES = 512 * 1024

Fetch = Callable[[str], bytes]


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str) -> None:
    """Keys travel only over TLS, or plain http to this machine (RFC 8414 §3, RFC 8252 §8.3)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return
    raise JWKSFetchError(f"refusing to fetch keys from {url!r}: https or loopback http only")


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> urllib.request.Request | None:
        check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def safe_fetch(url: str, timeout: float = 5.0) -> bytes:
    """GET ``url`` with a timeout and a size cap; redirects are held to the same rule."""
    check_url(url)
    opener = urllib.request.build_opener(_CheckedRedirects)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with opener.open(request, timeout=timeout) as response:
            body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise JWKSFetchError(f"fetching {url} failed: {exc}") from exc
    if len(body) > MAX_DOCUMENT_BYTES:
        raise JWKSFetchError(f"{url} answered more than {MAX_DOCUMENT_BYTES} bytes")
    return body


def metadata_urls(issuer: str) -> list[str]:
    """Where RFC 8414 §3.1 puts an issuer's metadata, then the common appended form."""
    parts = urlsplit(issuer)
    path = parts.path.rstrip("/")
    inserted = urlunsplit((parts.scheme, parts.netloc, WELL_KNOWN + path, "", ""))
    appended = issuer.rstrip("/") + WELL_KNOWN
    return [inserted] if inserted == appended else [inserted, appended]


def _json(body: bytes, what: str) -> Mapping[str, Any]:
    try:
        value = json.loads(body)
    except ValueError as exc:
        raise JWKSFetchError(f"{what} is not JSON") from exc
    if not isinstance(value, dict):
        raise JWKSFetchError(f"{what} is not a JSON object")
    return value


class JWKSClient:
    """A thread-safe, rate-limited cache of an issuer's signing keys.

    Give it the issuer (metadata is discovered and its ``issuer`` checked, RFC
    8414 §3.3) or a metadata URL containing ``/.well-known/``; or pass
    ``jwks_uri`` to skip discovery. It is a key resolver for
    :class:`~authgate.core.oauth2.jwt.JWTAccessTokenValidator`.
    """

    def __init__(
        self,
        issuer_or_metadata_url: str,
        *,
        jwks_uri: str | None = None,
        fetch: Fetch | None = None,
        refresh_interval: float = 3600,
        min_refresh_interval: float = 30,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 5.0,
    ) -> None:
        if min_refresh_interval < 0 or refresh_interval < min_refresh_interval:
            raise ValueError("need 0 <= min_refresh_interval <= refresh_interval")
        if "/.well-known/" in issuer_or_metadata_url:
            self.issuer: str | None = None
            self._metadata_urls = [issuer_or_metadata_url]
        else:
            self.issuer = issuer_or_metadata_url
            self._metadata_urls = metadata_urls(issuer_or_metadata_url)
        self.jwks_uri = jwks_uri
        self._fetch: Fetch = fetch or (lambda url: safe_fetch(url, timeout))
        self.refresh_interval = refresh_interval
        self.min_refresh_interval = min_refresh_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: JWKSKeys | None = None
        self._loaded_at: float | None = None
        self._attempted_at: float | None = None
        self.fetch_count = 0

    def _discover(self) -> str:
        errors: list[str] = []
        for url in self._metadata_urls:
            try:
                metadata = _json(self._fetch(url), "the metadata")
            except JWKSFetchError as exc:
                errors.append(str(exc))
                continue
            if self.issuer is not None and metadata.get("issuer") != self.issuer:
                raise JWKSFetchError("the metadata names another issuer")
            uri = metadata.get("jwks_uri")
            if not isinstance(uri, str) or not uri:
                raise JWKSFetchError("the metadata has no jwks_uri")
            self.issuer = self.issuer or str(metadata.get("issuer") or "") or None
            return uri
        raise JWKSFetchError("; ".join(errors))

    def _load(self) -> None:
        """Fetch now (the caller holds the lock and has checked the rate limit)."""
        self._attempted_at = self._clock()
        self.fetch_count += 1
        if self.jwks_uri is None:
            self.jwks_uri = self._discover()
        try:
            keys = JWKSKeys(_json(self._fetch(self.jwks_uri), "the JWKS"))
        except ValueError as exc:
            raise JWKSFetchError(str(exc)) from exc
        self._keys, self._loaded_at = keys, self._clock()

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= self.min_refresh_interval

    def refresh(self, *, force: bool = False) -> bool:
        """Reload the keys unless the rate limit says no; ``True`` when it fetched."""
        with self._lock:
            if not force and not self._may_fetch(self._clock()):
                return False
            self._load()
            return True

    def resolve_key(self, kid: str) -> VerificationKey | None:
        """The key for ``kid``, refreshing when stale or when ``kid`` is new to us.

        Raises :class:`JWKSFetchError` only while no keys were ever loaded; a
        failed refresh later keeps serving the keys we have.
        """
        keys, loaded_at, now = self._keys, self._loaded_at, self._clock()
        fresh = loaded_at is not None and now - loaded_at < self.refresh_interval
        if fresh and keys is not None:
            key = keys.resolve_key(kid)
            if key is not None:
                return key
        with self._lock:
            now = self._clock()
            stale = self._loaded_at is None or now - self._loaded_at >= self.refresh_interval
            if self._keys is not None and not stale:
                key = self._keys.resolve_key(kid)
                if key is not None or not self._may_fetch(now):
                    return key  # another thread refreshed, or we refreshed a moment ago
            if self._may_fetch(now):
                try:
                    self._load()
                except JWKSFetchError:
                    if self._keys is None:
                        raise
                    log.warning("refreshing the JWKS from %s failed", self.jwks_uri, exc_info=True)
            if self._keys is None:
                raise JWKSFetchError("the JWKS has not been loaded yet")
            return self._keys.resolve_key(kid)

    def __repr__(self) -> str:
        return f"JWKSClient(issuer={self.issuer!r}, jwks_uri={self.jwks_uri!r})"
