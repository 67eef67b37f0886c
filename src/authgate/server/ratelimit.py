"""Rate limits on failed client authentication at the token endpoint.

Client secrets are long and random, so guessing one is hopeless; what the
limit stops is the cost of trying (every attempt is a hash check, or a JWT
signature verification with a key fetch for ``private_key_jwt``) and the
noise. Failures are counted per ``client_id`` and per client address in fixed
windows in the server cache, so with Redis every instance counts together.
Once over, the endpoint answers ``429`` with ``Retry-After`` before doing any
work, correct credentials included: that is the price of a per-client limit
(someone who knows a ``client_id`` can hold it off for a window), which is
why the per-client limit is higher than the per-address one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import flask

__all__ = ["AuthFailureLimiter", "Limit", "client_id_from_request", "is_auth_failure", "too_many"]


@dataclass(frozen=True)
class Limit:
    """At most ``failures`` per ``window`` seconds for one subject."""

    failures: int
    window: int


PER_ADDRESS = Limit(failures=20, window=300)
PER_CLIENT = Limit(failures=50, window=300)


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
    """``retry_after`` before the work, ``record_failure`` after a refused authentication."""

    def __init__(self, cache: Any, clock: Callable[[], float], *,
                 per_address: Limit = PER_ADDRESS, per_client: Limit = PER_CLIENT) -> None:
        self.cache = cache
        self.clock = clock
        self.per_address = per_address
        self.per_client = per_client

    def _subjects(self, client_id: str | None, remote_addr: str | None
                  ) -> list[tuple[str, str, Limit]]:
        subjects = [("addr", remote_addr or "unknown", self.per_address)]
        if client_id:
            subjects.append(("client", client_id, self.per_client))
        return subjects

    def _key(self, kind: str, subject: str, limit: Limit) -> tuple[str, int]:
        now = self.clock()
        window = int(now // limit.window)
        # Hashed, so hostile client_ids cannot make odd keys and addresses are not kept in clear.
        digest = hashlib.sha256(subject.encode("utf-8", "replace")).hexdigest()[:32]
        left = max(1, int(limit.window - now % limit.window) + 1)
        return f"ratelimit:client-auth:{kind}:{window}:{digest}", left

    def retry_after(self, client_id: str | None, remote_addr: str | None) -> int | None:
        """Seconds to wait when the client or the address is over its limit, else ``None``."""
        waits = []
        for kind, subject, limit in self._subjects(client_id, remote_addr):
            key, left = self._key(kind, subject, limit)
            count = self.cache.get(key)
            if isinstance(count, int) and count >= limit.failures:
                waits.append(left)
        return max(waits) if waits else None

    def record_failure(self, client_id: str | None, remote_addr: str | None) -> None:
        for kind, subject, limit in self._subjects(client_id, remote_addr):
            key, left = self._key(kind, subject, limit)
            self.cache.incr(key, 1, expires=left)


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
    body = response.get_json(silent=True)
    return isinstance(body, dict) and body.get("error") == "invalid_client"
