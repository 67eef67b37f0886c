"""A real OAuth 1 core over in-memory stores, and a real client (oauthlib) to sign requests.

The stores are authgate's own cache helpers on a MemoryCache, so every check
runs against real behaviour (no mocks that say yes to everything); each hook
call is recorded, which lets hostile tests assert that nothing was written.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import oauthlib.oauth1 as oauthlib1

from authgate.cache import MemoryCache
from authgate.cache.oauth1 import register_nonce_hooks, register_temporary_credential_hooks
from authgate.core.http import Request, Response
from authgate.core.oauth1 import (
    BUILTIN_SIGNATURE_METHODS,
    AuthorizationEndpoints,
    CredentialHooks,
    ResourceEndpoint,
    SecretCipher,
    SignaturePolicy,
    create_token_generator,
)

CLIENT_ID = "client-one"
CLIENT_SECRET = "client-one-secret"
CALLBACK = "https://client.example/cb"
SERVER = "http://server.example"


@dataclass
class FakeClient:
    client_id: str
    secret: str | None
    redirect_uri: str = CALLBACK
    rsa_public_key: str | None = None

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_client_secret(self) -> str | None:
        return self.secret

    def get_rsa_public_key(self) -> str | None:
        return self.rsa_public_key


@dataclass
class FakeUser:
    id: int
    name: str = "alice"

    def get_user_id(self) -> int:
        return self.id


@dataclass
class FakeToken:
    client_id: str
    oauth_token: str
    oauth_token_secret: str = field(repr=False)
    user_id: Any

    def get_oauth_token(self) -> str:
        return self.oauth_token

    def get_oauth_token_secret(self) -> str:
        return self.oauth_token_secret


class RecordingRegistry:
    """The ``register_hook`` / ``secret_cipher`` face the cache helpers need, counting calls."""

    def __init__(self) -> None:
        self.hooks: dict[str, Any] = {}
        self.calls: Counter[str] = Counter()
        self.cipher = SecretCipher("harness key")

    def register_hook(self, name: str, func: Any) -> None:
        def recorded(*args: Any) -> Any:
            self.calls[name] += 1
            return func(*args)

        self.hooks[name] = recorded

    def secret_cipher(self) -> SecretCipher:
        return self.cipher


class Harness:
    def __init__(self, clock: Any, enabled: tuple[str, ...] = ("HMAC-SHA1",),
                 methods: Any = BUILTIN_SIGNATURE_METHODS) -> None:
        self.clock = clock
        self.cache = MemoryCache(clock=clock)
        self.clients = {CLIENT_ID: FakeClient(CLIENT_ID, CLIENT_SECRET)}
        self.tokens: dict[str, FakeToken] = {}
        self.registry = RecordingRegistry()
        register_nonce_hooks(self.registry, self.cache)
        register_temporary_credential_hooks(self.registry, self.cache)
        self.registry.register_hook("create_token_credential", self._create_token)
        self.policy = SignaturePolicy(methods=methods, enabled=enabled, clock=clock)
        self.server = AuthorizationEndpoints(
            query_client=self.clients.get,
            hooks=CredentialHooks(**self.registry.hooks),
            token_generator=create_token_generator(),
            policy=self.policy,
        )
        self.resource = ResourceEndpoint(self.clients.get, self._query_token,
                                         self.registry.hooks["exists_nonce"], self.policy)

    def _create_token(self, token: dict[str, str], temporary: Any) -> FakeToken:
        item = FakeToken(temporary.get_client_id(), token["oauth_token"],
                         token["oauth_token_secret"], temporary.get_user_id())
        self.tokens[item.oauth_token] = item
        return item

    def _query_token(self, client_id: str, oauth_token: str) -> FakeToken | None:
        item = self.tokens.get(oauth_token)
        return item if item is not None and item.client_id == client_id else None

    # -- signing -------------------------------------------------------
    def sign(self, path: str, method: str = "POST", *, client_id: str = CLIENT_ID,
             client_secret: str | None = CLIENT_SECRET, signature_method: str = "HMAC-SHA1",
             placement: str = "header", base: str = SERVER, remote_addr: str = "127.0.0.1",
             nonce: str | None = None, timestamp: int | None = None, rsa_key: str | None = None,
             **oauth: Any) -> Request:
        client = oauthlib1.Client(
            client_id, client_secret=client_secret, signature_method=signature_method,
            signature_type={"header": oauthlib1.SIGNATURE_TYPE_AUTH_HEADER,
                            "body": oauthlib1.SIGNATURE_TYPE_BODY,
                            "query": oauthlib1.SIGNATURE_TYPE_QUERY}[placement],
            nonce=nonce or uuid.uuid4().hex,
            timestamp=str(int(self.clock()) if timestamp is None else timestamp),
            rsa_key=rsa_key, **oauth)
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if placement == "body" \
            else {}
        uri, signed_headers, body = client.sign(base + path, http_method=method,
                                                body="" if placement == "body" else None,
                                                headers=headers)
        return Request.build(method, uri, headers=signed_headers, body=body or b"",
                             remote_addr=remote_addr)

    # -- the three legs ---------------------------------------------------
    def initiate(self, **kwargs: Any) -> Response:
        kwargs.setdefault("callback_uri", CALLBACK)
        return self.server.create_temporary_credential_response(self.sign("/initiate", **kwargs))

    def temporary(self, **kwargs: Any) -> dict[str, str]:
        response = self.initiate(**kwargs)
        assert response.status == 200, response.text
        return dict(Request.build("GET", "http://x/?" + response.text).query.items())

    def authorize(self, token: str, user: FakeUser | None = None) -> str:
        request = Request.build("POST", f"{SERVER}/authorize", form={"oauth_token": token})
        response = self.server.create_authorization_response(request, user or FakeUser(7))
        location = response.header("Location") or ""
        return Request.build("GET", location).query["oauth_verifier"]

    def exchange(self, temporary: dict[str, str], verifier: str, **kwargs: Any) -> Response:
        request = self.sign("/token", resource_owner_key=temporary["oauth_token"],
                            resource_owner_secret=temporary["oauth_token_secret"],
                            verifier=verifier, **kwargs)
        return self.server.create_token_response(request)

    def token_credentials(self) -> dict[str, str]:
        temporary = self.temporary()
        response = self.exchange(temporary, self.authorize(temporary["oauth_token"]))
        assert response.status == 200, response.text
        return dict(Request.build("GET", "http://x/?" + response.text).query.items())


def error_of(response: Response) -> tuple[int, str]:
    return response.status, Request.build("GET", "http://x/?" + response.text).query["error"]
