"""The device credential and the two small interfaces the device flow stores it through.

``DeviceCodeStore`` keeps credentials (SQL, memory, or an application's own
models); ``DeviceCache`` keeps the short-lived polling and rate-limit state
that several server processes must share. Every state change of a credential
is a conditional transition in the store (pending → approved | denied,
approved → consumed) that reports whether *this* call made it, which is what
makes a device code single use under concurrent polls (RFC 8628 §3.5).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "APPROVED",
    "CONSUMED",
    "DENIED",
    "PENDING",
    "DeviceCache",
    "DeviceCodeStore",
    "DeviceCredential",
]

PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
CONSUMED = "consumed"


@dataclass(frozen=True)
class DeviceCredential:
    """One device authorization: what the device holds, what the user decides.

    Only the SHA-256 of the device code is kept; ``user_code`` is normalised.
    ``expires_at`` is in Unix seconds on the flow's clock.
    """

    device_code_hash: str = dataclasses.field(repr=False)
    user_code: str
    client_id: str
    scope: str
    expires_at: float
    interval: int
    status: str = PENDING
    user_id: Any = None

    def is_expired(self, now: float) -> bool:
        return self.expires_at <= now

    def with_(self, **changes: Any) -> DeviceCredential:
        return dataclasses.replace(self, **changes)


@runtime_checkable
class DeviceCodeStore(Protocol):
    def save_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        """Store a new credential; False if an unexpired one already has its user code."""
        ...

    def query_device_credential(self, device_code_hash: str) -> DeviceCredential | None:
        """The credential whose device code hashes to ``device_code_hash``, or None."""
        ...

    def query_user_code(self, user_code: str) -> DeviceCredential | None:
        """The credential with this (normalised) user code, or None."""
        ...

    def approve_device_credential(self, credential: DeviceCredential, user_id: Any,
                                  now: float) -> bool:
        """pending and unexpired → approved for ``user_id``; False if not this call."""
        ...

    def deny_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        """pending and unexpired → denied; False if not this call."""
        ...

    def consume_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        """approved and unexpired → consumed; False if not this call."""
        ...


@runtime_checkable
class DeviceCache(Protocol):
    """The part of :class:`authgate.cache.Cache` the device flow needs (JSON values)."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, expires: int | None = None) -> None: ...

    def add(self, key: str, value: Any, expires: int | None = None) -> bool: ...

    def incr(self, key: str, amount: int = 1, expires: int | None = None) -> int: ...
