"""Checking a signed request, in the order of RFC 5849 §3.2, without telling what exists.

Both the authorization server and the resource protector run
:func:`authenticate`: required parameters (400), signature method and
transport (400), timestamp (§3.3), then client and token look-up and the
signature (401). An unknown client or token is replaced by a stand-in with a
random secret and the signature is still computed and compared, so the
response time does not reveal which client ids or tokens exist. The nonce is
*not* recorded here: :func:`check_nonce` runs last, once every other check
passed, so a refused request does not use up its nonce.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from authgate.core.oauth1.errors import (
    InsecureTransportError,
    InvalidClientError,
    InvalidNonceError,
    InvalidRequestError,
    InvalidSignatureError,
    InvalidTimestampError,
    InvalidTokenError,
    MissingRequiredParameterError,
    UnsupportedParameterError,
    UnsupportedSignatureMethodError,
)
from authgate.core.oauth1.request import OAuth1Request
from authgate.core.oauth1.signature import (
    BUILTIN_SIGNATURE_METHODS,
    SignatureMethod,
    check_signature,
)
from authgate.core.security import generate_token

__all__ = [
    "ExistsNonce",
    "SignaturePolicy",
    "authenticate",
    "check_nonce",
    "is_loopback",
    "require",
]

ExistsNonce = Callable[[str, str, str, "str | None"], bool]
"""``exists_nonce(nonce, timestamp, client_id, oauth_token)``: True if seen; records it if not."""

TokenLookup = Callable[[str, str], Any]
"""``lookup(client_id, oauth_token)``: the credential of that client, or None."""

_TRANSPORT_BOUND = frozenset({"PLAINTEXT"})
_STAND_IN_SECRET = generate_token(48)


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """Which signature methods are on, how much clock skew is tolerated, and the clock.

    ``methods`` is the registry (name to verify function); ``enabled`` the
    names a deployment accepts, HMAC-SHA1 alone unless configured otherwise.
    """

    methods: Mapping[str, SignatureMethod] = field(
        default_factory=lambda: BUILTIN_SIGNATURE_METHODS
    )
    enabled: Collection[str] = ("HMAC-SHA1",)
    timestamp_window: int = 600
    clock: Callable[[], float] = time.time

    def method(self, name: str | None) -> SignatureMethod:
        verify = self.methods.get(name or "")
        if verify is None or name not in self.enabled:
            raise UnsupportedSignatureMethodError()
        return verify


def is_loopback(address: str | None) -> bool:
    if not address:
        return False
    try:
        return ipaddress.ip_address(address.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def require(request: OAuth1Request, *names: str) -> None:
    """Refuse the request (400) if any of ``names`` is missing or empty."""
    for name in names:
        if not request.oauth_params.get(name):
            raise MissingRequiredParameterError(name)


def _check_shape(request: OAuth1Request, policy: SignaturePolicy) -> None:
    require(request, "oauth_consumer_key", "oauth_signature_method", "oauth_signature")
    version = request.oauth_params.get("oauth_version")
    if version is not None and version != "1.0":
        raise UnsupportedParameterError("oauth_version")
    policy.method(request.signature_method)
    if request.signature_method in _TRANSPORT_BOUND and not (
        request.is_secure or is_loopback(request.remote_addr)
    ):
        raise InsecureTransportError()
    # §3.1: timestamp and nonce may be left out only with PLAINTEXT.
    if request.signature_method != "PLAINTEXT" or request.timestamp or request.nonce:
        require(request, "oauth_timestamp", "oauth_nonce")
        _check_timestamp(request.timestamp or "", policy)


def _check_timestamp(value: str, policy: SignaturePolicy) -> None:
    if not value.isdigit() or len(value) > 12:
        raise InvalidRequestError('The "oauth_timestamp" is not a number of seconds.')
    if abs(policy.clock() - int(value)) > policy.timestamp_window:
        raise InvalidTimestampError()


def authenticate(
    request: OAuth1Request,
    policy: SignaturePolicy,
    query_client: Callable[[str], Any],
    lookup_token: TokenLookup | None = None,
) -> OAuth1Request:
    """Verify the client (and the token, with ``lookup_token``) and the signature.

    Returns the request carrying the client, the credential and their
    secrets; raises the §3.2 error otherwise. Unknown client, unknown token and
    bad signature are told apart only after the same amount of work.
    """
    _check_shape(request, policy)
    if lookup_token is not None:
        require(request, "oauth_token")
    client_id = request.client_id or ""
    client = query_client(client_id)
    credential = lookup_token(client_id, request.token or "") if lookup_token else None
    known_client = client is not None
    known_token = lookup_token is None or credential is not None
    signed = request.with_credentials(
        client=client,
        client_secret=client.get_client_secret() if known_client else _STAND_IN_SECRET,
        rsa_public_key=client.get_rsa_public_key() if known_client else None,
        credential=credential,
        token_secret=(
            credential.get_oauth_token_secret() if credential is not None else
            (_STAND_IN_SECRET if lookup_token else None)
        ),
    )
    valid = check_signature(policy.method(request.signature_method), signed)
    if not known_client:
        raise InvalidClientError()
    if not known_token:
        raise InvalidTokenError()
    if not valid:
        raise InvalidSignatureError()
    return signed


def check_nonce(request: OAuth1Request, exists_nonce: ExistsNonce | None) -> None:
    """Record the nonce, refusing (401) one already used with this timestamp, client and token.

    §3.3 scopes uniqueness to the (timestamp, client, token) combination; the
    hook is expected to check and record in one atomic step.
    """
    if request.nonce is None or request.timestamp is None:
        return  # PLAINTEXT without timestamp and nonce (§3.1)
    if exists_nonce is None:
        raise RuntimeError("no exists_nonce hook is configured: nonces cannot be checked")
    if exists_nonce(request.nonce, request.timestamp, request.client_id or "", request.token):
        raise InvalidNonceError()
