"""Server settings, as plain values: the core reads no environment and no app config.

The Flask face builds a :class:`ServerConfig` from ``app.config``
(``OAUTH2_TOKEN_EXPIRES_IN``, ``OAUTH2_ERROR_URIS`` ...); other callers build
one directly.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    """Settings of one authorization server.

    ``issuer`` goes into metadata and, as ``iss``, into every authorization
    response (RFC 9207). ``insecure_transport`` allows plain http from
    non-loopback hosts (development only). ``clock`` is injectable so tests can
    expire codes and tokens.
    """

    issuer: str | None = None
    error_uris: Mapping[str, str] = field(default_factory=dict)
    scopes_supported: tuple[str, ...] | None = None
    authorization_code_expires_in: int = 120
    insecure_transport: bool = False
    clock: Callable[[], float] = time.time
    endpoint_paths: Mapping[str, str] = field(default_factory=dict)
    service_documentation: str | None = None
