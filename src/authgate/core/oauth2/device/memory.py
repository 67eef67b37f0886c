"""An in-memory device credential store: tests, examples, one process."""

from __future__ import annotations

import threading
from typing import Any

from authgate.core.oauth2.device.credential import (
    APPROVED,
    CONSUMED,
    DENIED,
    PENDING,
    DeviceCredential,
)

__all__ = ["MemoryDeviceStore"]


class MemoryDeviceStore:
    """Credentials in two dictionaries; one lock makes every transition atomic."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_hash: dict[str, DeviceCredential] = {}
        self._by_user_code: dict[str, str] = {}

    def __len__(self) -> int:
        return len(self._by_hash)

    def save_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        with self._lock:
            taken = self._by_user_code.get(credential.user_code)
            if taken is not None:
                if not self._by_hash[taken].is_expired(now):
                    return False
                del self._by_hash[taken]  # an expired code frees its user code
            self._by_hash[credential.device_code_hash] = credential
            self._by_user_code[credential.user_code] = credential.device_code_hash
            return True

    def query_device_credential(self, device_code_hash: str) -> DeviceCredential | None:
        return self._by_hash.get(device_code_hash)

    def query_user_code(self, user_code: str) -> DeviceCredential | None:
        digest = self._by_user_code.get(user_code)
        return None if digest is None else self._by_hash.get(digest)

    def _transition(self, credential: DeviceCredential, now: float, source: str,
                    **changes: Any) -> bool:
        with self._lock:
            current = self._by_hash.get(credential.device_code_hash)
            if current is None or current.status != source or current.is_expired(now):
                return False
            self._by_hash[credential.device_code_hash] = current.with_(**changes)
            return True

    def approve_device_credential(self, credential: DeviceCredential, user_id: Any,
                                  now: float) -> bool:
        return self._transition(credential, now, PENDING, status=APPROVED, user_id=user_id)

    def deny_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._transition(credential, now, PENDING, status=DENIED)

    def consume_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._transition(credential, now, APPROVED, status=CONSUMED)
