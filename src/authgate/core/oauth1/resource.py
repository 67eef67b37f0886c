"""Checking a signed request for a protected resource (RFC 5849 §3).

The same :func:`~authgate.core.oauth1.authenticate.authenticate` as the
authorization server, with the token credential looked up by
``query_token(client_id, oauth_token)`` and the nonce recorded last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from authgate.core.http import Request
from authgate.core.oauth1.authenticate import (
    ExistsNonce,
    SignaturePolicy,
    authenticate,
    check_nonce,
)
from authgate.core.oauth1.request import OAuth1Request, collect

__all__ = ["ResourceEndpoint"]


@dataclass(frozen=True, slots=True)
class ResourceEndpoint:
    query_client: Callable[[str], Any]
    query_token: Callable[[str, str], Any]
    exists_nonce: ExistsNonce | None
    policy: SignaturePolicy = field(default_factory=SignaturePolicy)

    def validate(self, request: Request) -> OAuth1Request:
        """The authenticated request, ``.credential`` being the token; raises OAuth1Error."""
        signed = authenticate(collect(request), self.policy, self.query_client, self.query_token)
        check_nonce(signed, self.exists_nonce)
        return signed
