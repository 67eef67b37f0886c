"""The root of authgate's protocol errors.

::

    ProtocolError                      error code, description, HTTP status
    ├── authgate.core.oauth2.errors.OAuth2Error
    │   ├── InvalidRequestError, InvalidClientError, InvalidGrantError, ...
    │   ├── InvalidTokenError, InsufficientScopeError       (RFC 6750 §3.1)
    │   ├── AuthorizationPendingError, SlowDownError, ...   (RFC 8628 §3.5)
    │   └── RedirectURIError         never redirected: shown as a page
    └── authgate.core.oauth1.errors.OAuth1Error            (RFC 5849 §3.2)

Protocol errors are expected outcomes of bad input: each endpoint catches them
once, at its edge, and renders them (JSON body, redirect, ``WWW-Authenticate``).
Anything else that escapes is a bug and becomes a 500 upstream.

The ``description`` is an English message template; it is translated at
rendering time with :mod:`authgate.core.i18n`, so the same error can be shown
in the language the client asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from authgate.core import i18n

__all__ = ["ProtocolError"]


class ProtocolError(Exception):
    """An error the protocol defines, with its code, a description and a status."""

    error: ClassVar[str] = "server_error"
    status: ClassVar[int] = 400
    default_description: ClassVar[str] = ""

    def __init__(
        self,
        description: str | None = None,
        *,
        params: Mapping[str, Any] | None = None,
        uri: str | None = None,
        state: str | None = None,
    ) -> None:
        self.description = description if description is not None else self.default_description
        self.params = dict(params or {})
        self.uri = uri
        self.state = state
        super().__init__(f"{self.error}: {self.render_description()}")

    def render_description(self, languages: str | None = None) -> str:
        """The description in the best language for an ``Accept-Language`` value."""
        return i18n.translate(self.description, languages, self.params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.error!r}, {self.render_description()!r})"
