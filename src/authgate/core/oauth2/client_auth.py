"""Client authentication at the token-style endpoints (RFC 6749 §2.3).

Each method is a small object that says whether a request uses it and, if so,
authenticates the client. The server keeps them in a registry keyed by name,
so more methods (``private_key_jwt``, RFC 7523) plug in without touching the
grants. A request must use exactly one method (§2.3: "MUST NOT use more than
one authentication method in each request").
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import Any, Protocol
from urllib.parse import unquote_plus

from authgate.core.oauth2.errors import InvalidClientError, InvalidRequestError
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import verify_hashed_secret

__all__ = [
    "ClientAuthMethod",
    "ClientSecretBasic",
    "ClientSecretPost",
    "NoClientAuth",
    "authenticate_client",
    "default_auth_methods",
]

QueryClient = Callable[[str], Any]
BASIC_CHALLENGE = (("WWW-Authenticate", 'Basic realm="authgate"'),)


class ClientAuthMethod(Protocol):
    name: str

    def is_used(self, request: OAuth2Request) -> bool: ...

    def authenticate(self, request: OAuth2Request, query_client: QueryClient) -> Any:
        """Return the authenticated client or raise :class:`InvalidClientError`."""
        ...


def _basic_credentials(request: OAuth2Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    _scheme, _, value = header.partition(" ")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidClientError("Malformed Basic credentials.", headers=BASIC_CHALLENGE) from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not client_id:
        raise InvalidClientError("Malformed Basic credentials.", headers=BASIC_CHALLENGE)
    # §2.3.1: both parts are form-encoded before being joined.
    return unquote_plus(client_id), unquote_plus(secret)


def _check_secret(query_client: QueryClient, client_id: str, secret: str,
                  headers: tuple[tuple[str, str], ...]) -> Any:
    client = query_client(client_id)
    if client is None:
        verify_hashed_secret(None, secret)  # same work as for a real client
        raise InvalidClientError(headers=headers)
    if not client.check_client_secret(secret):
        raise InvalidClientError(headers=headers)
    return client


class ClientSecretBasic:
    name = "client_secret_basic"

    def is_used(self, request: OAuth2Request) -> bool:
        header = request.headers.get("authorization", "")
        return header[:6].lower() == "basic "

    def authenticate(self, request: OAuth2Request, query_client: QueryClient) -> Any:
        client_id, secret = _basic_credentials(request)
        named = request.data.get("client_id")
        if named is not None and named != client_id:
            raise InvalidRequestError("client_id does not match the Basic credentials.")
        return _check_secret(query_client, client_id, secret, BASIC_CHALLENGE)


class ClientSecretPost:
    name = "client_secret_post"

    def is_used(self, request: OAuth2Request) -> bool:
        return "client_secret" in request.data

    def authenticate(self, request: OAuth2Request, query_client: QueryClient) -> Any:
        client_id = request.data.get("client_id")
        if not client_id:
            raise InvalidClientError("client_id is required with client_secret.")
        return _check_secret(query_client, client_id, request.data["client_secret"], ())


class NoClientAuth:
    """A public client identifying itself by ``client_id`` alone (§2.1)."""

    name = "none"

    def is_used(self, request: OAuth2Request) -> bool:
        return "client_id" in request.data

    def authenticate(self, request: OAuth2Request, query_client: QueryClient) -> Any:
        client = query_client(request.data["client_id"])
        if client is None:
            raise InvalidClientError()
        return client


def default_auth_methods() -> dict[str, ClientAuthMethod]:
    methods: list[ClientAuthMethod] = [ClientSecretBasic(), ClientSecretPost(), NoClientAuth()]
    return {m.name: m for m in methods}


def authenticate_client(
    request: OAuth2Request,
    query_client: QueryClient,
    methods: dict[str, ClientAuthMethod],
    allowed: Iterable[str],
    endpoint: str,
) -> tuple[Any, str]:
    """Find the one method the request uses, check it is allowed, authenticate.

    ``none`` counts only when no credential-bearing method is used: a
    ``client_id`` in the body is part of every ``client_secret_post`` request.
    """
    used = [m for name, m in methods.items() if name != "none" and m.is_used(request)]
    if len(used) > 1:
        raise InvalidRequestError("More than one client authentication method was used.")
    if not used:
        fallback = methods.get("none")
        if fallback is None or not fallback.is_used(request):
            raise InvalidClientError("Client authentication is required.")
        used = [fallback]
    method = used[0]
    headers = BASIC_CHALLENGE if method.name == "client_secret_basic" else ()
    if method.name not in set(allowed):
        raise InvalidClientError(
            "Client authentication method '{method}' is not allowed here.",
            params={"method": method.name}, headers=headers,
        )
    client = method.authenticate(request, query_client)
    if not client.check_endpoint_auth_method(method.name, endpoint):
        raise InvalidClientError(
            "The client is not registered for authentication method '{method}'.",
            params={"method": method.name}, headers=headers,
        )
    return client, method.name
