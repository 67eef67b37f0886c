"""The cache interface every backend implements."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

__all__ = ["Cache"]


@runtime_checkable
class Cache(Protocol):
    """A key-value store with expiry; ``expires`` is in seconds, None for no expiry."""

    def get(self, key: str) -> Any: ...

    def set(self, key: str, value: Any, expires: int | None = None) -> None: ...

    def delete(self, key: str) -> None: ...

    def add(self, key: str, value: Any, expires: int | None = None) -> bool:
        """Store ``value`` only if ``key`` is absent; True if this call stored it."""
        ...

    def pop(self, key: str) -> Any:
        """Return the value of ``key`` and delete it, atomically (None if absent)."""
        ...

    def incr(self, key: str, amount: int = 1, expires: int | None = None) -> int:
        """Add ``amount`` to a counter and return it; ``expires`` applies when it is created."""
        ...
