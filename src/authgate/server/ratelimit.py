"""Fixed-window rate limits in the server cache, and their two uses.

One limiter counts events per subject (an address, a username, a
``client_id``) in fixed windows keyed by the window's number: one ``incr``
per counted event, the count expires with its window, and ``Retry-After`` is
the exact time left. The counters live in the server cache, so with Redis
(``AUTHGATE_REDIS_URL``) every worker and instance counts together; with the
in-memory cache, the threads of one process do. A cache that is down raises,
and the server answers 503: a limit is never skipped (fail closed).

The uses: failed sign-ins (``views/account.py``: per address and username)
and failed client authentication at the token endpoint (below). Client
secrets are long and random, so guessing one is hopeless; what that limit
stops is the cost of trying (every attempt is a hash check, or a JWT
signature verification with a key fetch for ``private_key_jwt``) and the
noise. Once over, the endpoint answers ``429`` before doing any work, correct
credentials included: that is the price of a per-client limit (someone who
knows a ``client_id`` can hold it off for a window), which is why the
per-client limit is higher than the per-address one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import flask

__all__ = ["PER_ADDRESS", "PER_CLIENT", "AuthFailureLimiter", "Limit", "RateLimiter",
           "client_id_from_request", "is_auth_failure", "too_many"]


@dataclass(frozen=True)
class Limit:
    """At most ``attempts`` counted events per ``window`` seconds for one subject.

    ``name`` keeps the counters of different limits apart in the cache.
    """

    name: str
    attempts: int
    window: int


class RateLimiter:
    """``retry_after`` says whether a subject is over a limit; ``hit`` counts one event."""

    def __init__(self, cache: Any, clock: Callable[[], float]) -> None:
        self.cache = cache
        self.clock = clock

    def _key(self, limit: Limit, subject: str) -> tuple[str, int]:
        now = self.clock()
        window = int(now // limit.window)
        # Hashed: hostile subjects cannot make odd keys, and usernames and addresses
        # are not kept in clear in a shared Redis.
        digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
        left = max(1, int(limit.window - now % limit.window) + 1)
        return f"ratelimit:{limit.name}:{window}:{digest}", left

    def retry_after(self, limit: Limit, subject: str) -> int | None:
        """Seconds until ``subject`` may try again, or None while under the limit."""
        key, left = self._key(limit, subject)
        count = self.cache.get(key)
        if isinstance(count, int) and count >= limit.attempts:
            return left
        return None

    def retry_after_any(self, checks: Iterable[tuple[Limit, str]]) -> int | None:
        """The longest wait among ``(limit, subject)`` pairs over their limit, else None."""
        waits = [w for limit, subject in checks
                 if (w := self.retry_after(limit, subject)) is not None]
        return max(waits) if waits else None

    def hit(self, limit: Limit, subject: str) -> None:
        key, left = self._key(limit, subject)
        self.cache.incr(key, 1, expires=left)


PER_ADDRESS = Limit("client-auth:addr", attempts=20, window=300)
PER_CLIENT = Limit("client-auth:client", attempts=50, window=300)


def client_id_from_request(request: flask.Request) -> str | None:
    """The ``client_id`` a token request claims: Basic (RFC 6749 §2.3.1) or the form."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            return None
        return unquote(decoded.partition(":")[0])[:255] or None
    form_value = request.form.get("client_id")
    return form_value[:255] if form_value else None


class AuthFailureLimiter:
    """Failed client authentications, per address and per ``client_id``, on a RateLimiter.

    ``retry_after`` before the work, ``record_failure`` after a refused authentication.
    """

    def __init__(self, cache: Any, clock: Callable[[], float], *,
                 per_address: Limit = PER_ADDRESS, per_client: Limit = PER_CLIENT) -> None:
        self.limiter = RateLimiter(cache, clock)
        self.per_address = per_address
        self.per_client = per_client

    def _checks(self, client_id: str | None, remote_addr: str | None
                ) -> list[tuple[Limit, str]]:
        checks = [(self.per_address, remote_addr or "unknown")]
        if client_id:
            checks.append((self.per_client, client_id))
        return checks

    def retry_after(self, client_id: str | None, remote_addr: str | None) -> int | None:
        """Seconds to wait when the client or the address is over its limit, else ``None``."""
        return self.limiter.retry_after_any(self._checks(client_id, remote_addr))

    def record_failure(self, client_id: str | None, remote_addr: str | None) -> None:
        for limit, subject in self._checks(client_id, remote_addr):
            self.limiter.hit(limit, subject)


def too_many(retry_after: int) -> flask.Response:
    """RFC 6585 §4, in the OAuth error shape (the code the server's 503s use too).

    Not ``invalid_client``: a client must not conclude its credentials are wrong.
    """
    response = flask.jsonify(error="temporarily_unavailable",
                             error_description="Too many failed authentications; "
                                               "try again later.")
    response.status_code = 429
    response.headers["Retry-After"] = str(retry_after)
    return response


def is_auth_failure(response: flask.Response) -> bool:
    """A refused client authentication (RFC 6749 §5.2: 401, or 400 without a header)."""
    if response.status_code not in (400, 401) or not response.is_json:
        return False
    # Most 400s are not about the client (a device polling: authorization_pending):
    # parse the body only when it can say invalid_client.
    if not response.is_streamed and b"invalid_client" not in response.get_data():
        return False
    body = response.get_json(silent=True)
    return isinstance(body, dict) and body.get("error") == "invalid_client"
