"""An in-memory store implementing every storage interface of :mod:`.storage`.

For tests, examples and single-process experiments. It keeps only digests of
secrets, codes and tokens, like the persistent stores, and takes one lock per
operation so single-use operations are atomic across threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from authgate.core.oauth2.redirect import redirect_uri_matches
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.scope import scope_to_list
from authgate.core.security import (
    constant_time_equals,
    generate_token,
    hash_secret,
    token_digest,
    verify_hashed_secret,
)

__all__ = ["MemoryClient", "MemoryStore", "MemoryUser"]


@dataclass
class MemoryUser:
    id: int
    username: str
    password: str = field(repr=False)

    def get_user_id(self) -> int:
        return self.id


@dataclass
class MemoryClient:
    """A registered client; ``client_secret_hash`` is what is kept, never the secret."""

    client_id: str
    client_secret_hash: str | None = field(default=None, repr=False)
    redirect_uris: list[str] = field(default_factory=list)
    grant_types: list[str] = field(default_factory=lambda: ["authorization_code"])
    response_types: list[str] = field(default_factory=lambda: ["code"])
    scope: str = ""
    token_endpoint_auth_method: str = "client_secret_basic"
    client_name: str = ""
    user_id: int | None = None
    #: Public keys for ``private_key_jwt`` (RFC 7523): one of the two, never both.
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = None
    #: Everything registered through RFC 7591, as the registration answer echoed it.
    client_metadata: dict[str, Any] = field(default_factory=dict)

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if len(self.redirect_uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        allowed = set(scope_to_list(self.scope))
        return " ".join(s for s in scope_to_list(scope) if s in allowed)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return any(redirect_uri_matches(r, redirect_uri) for r in self.redirect_uris)

    def check_client_secret(self, client_secret: str) -> bool:
        return verify_hashed_secret(self.client_secret_hash, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == self.token_endpoint_auth_method

    def check_response_type(self, response_type: str) -> bool:
        return response_type in self.response_types

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in self.grant_types


@dataclass
class MemoryCode:
    code_hash: str = field(repr=False)
    client_id: str
    user_id: Any
    redirect_uri: str | None
    scope: str
    auth_time: int
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    nonce: str | None = None

    def get_redirect_uri(self) -> str | None:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class MemoryToken:
    access_token_hash: str = field(repr=False)
    refresh_token_hash: str | None = field(repr=False)
    client_id: str
    user_id: Any
    scope: str
    token_type: str
    issued_at: int
    expires_in: int
    family: str | None = None
    access_token_revoked: bool = False
    refresh_token_revoked: bool = False

    def check_client(self, client: Any) -> bool:
        return constant_time_equals(self.client_id, client.get_client_id())

    def get_scope(self) -> str:
        return self.scope

    def get_expires_at(self) -> int:
        return self.issued_at + self.expires_in

    def get_family(self) -> str | None:
        return self.family

    def is_revoked(self) -> bool:
        return self.access_token_revoked or self.refresh_token_revoked

    def introspection_claims(self) -> dict[str, Any]:
        claims: dict[str, Any] = {
            "client_id": self.client_id, "token_type": self.token_type,
            "exp": self.get_expires_at(), "iat": self.issued_at,
        }
        if self.scope:
            claims["scope"] = self.scope
        if self.user_id is not None:
            claims["sub"] = str(self.user_id)
        return claims


class MemoryStore:
    """Clients, users, codes and tokens in dictionaries keyed by digests."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self.clients: dict[str, MemoryClient] = {}
        self.users: dict[int, MemoryUser] = {}
        self.codes: dict[str, MemoryCode] = {}
        self.tokens: list[MemoryToken] = []
        self._by_access: dict[str, MemoryToken] = {}
        self._by_refresh: dict[str, MemoryToken] = {}

    # -- set-up helpers ---------------------------------------------------------
    def add_user(self, username: str, password: str) -> MemoryUser:
        user = MemoryUser(len(self.users) + 1, username, password)
        self.users[user.id] = user
        return user

    def add_client(self, *, secret: bool = True, client_id: str | None = None,
                   **metadata: Any) -> tuple[MemoryClient, str | None]:
        """Register a client; returns it with its clear secret (shown once)."""
        plain = generate_token(48) if secret else None
        client = MemoryClient(
            client_id=client_id or generate_token(24),
            client_secret_hash=hash_secret(plain) if plain else None,
            **metadata,
        )
        if not secret:
            client.token_endpoint_auth_method = "none"
        self.clients[client.client_id] = client
        return client, plain

    def save_client(self, metadata: dict[str, Any], request: Any = None) -> MemoryClient:
        """The ``save_client`` hook of RFC 7591 registration: keeps the secret's hash only."""
        secret = metadata.get("client_secret")
        kept = {k: v for k, v in metadata.items() if k != "client_secret"}
        client = MemoryClient(
            client_id=metadata["client_id"],
            client_secret_hash=hash_secret(secret) if secret else None,
            redirect_uris=list(metadata.get("redirect_uris", [])),
            grant_types=list(metadata.get("grant_types", [])),
            response_types=list(metadata.get("response_types", [])),
            scope=metadata.get("scope", ""),
            token_endpoint_auth_method=metadata.get("token_endpoint_auth_method",
                                                    "client_secret_basic"),
            client_name=metadata.get("client_name", ""),
            jwks=metadata.get("jwks"),
            jwks_uri=metadata.get("jwks_uri"),
            client_metadata=kept,
        )
        with self._lock:
            if client.client_id in self.clients:
                raise ValueError("client_id already registered")
            self.clients[client.client_id] = client
        return client

    # -- ClientStore / UserStore ---------------------------------------------------
    def query_client(self, client_id: str) -> MemoryClient | None:
        return self.clients.get(client_id)

    def get_user(self, user_id: Any) -> MemoryUser | None:
        return self.users.get(user_id)

    def authenticate_user(self, username: str, password: str) -> MemoryUser | None:
        for user in self.users.values():
            if user.username == username and constant_time_equals(user.password, password):
                return user
        return None

    # -- AuthorizationCodeStore -------------------------------------------------------
    def save_authorization_code(self, code: str, request: OAuth2Request) -> MemoryCode:
        record = MemoryCode(
            code_hash=token_digest(code),
            client_id=request.client.get_client_id(),
            user_id=request.user.get_user_id(),
            redirect_uri=request.redirect_uri,
            scope=request.scope or "",
            auth_time=int(self.clock()),
            code_challenge=request.data.get("code_challenge"),
            code_challenge_method=request.data.get("code_challenge_method"),
            nonce=request.data.get("nonce"),
        )
        with self._lock:
            self.codes[record.code_hash] = record
        return record

    def query_authorization_code(self, code: str, client: Any) -> MemoryCode | None:
        record = self.codes.get(token_digest(code))
        if record is None or record.client_id != client.get_client_id():
            return None
        return record

    def delete_authorization_code(self, authorization_code: Any) -> bool:
        with self._lock:
            return self.codes.pop(authorization_code.code_hash, None) is not None

    # -- TokenStore -----------------------------------------------------------------
    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> MemoryToken:
        refresh = token.get("refresh_token")
        record = MemoryToken(
            access_token_hash=token_digest(token["access_token"]),
            refresh_token_hash=token_digest(refresh) if refresh else None,
            client_id=request.client.get_client_id(),
            user_id=request.user.get_user_id() if request.user is not None else None,
            scope=token.get("scope", ""),
            token_type=token.get("token_type", "Bearer"),
            issued_at=int(self.clock()),
            expires_in=int(token.get("expires_in", 0)),
            family=request.token_family or "tok:" + generate_token(24),
        )
        with self._lock:
            self.tokens.append(record)
            self._by_access[record.access_token_hash] = record
            if record.refresh_token_hash:
                self._by_refresh[record.refresh_token_hash] = record
        return record

    def query_token(self, token_string: str, token_type_hint: str | None = None) -> Any:
        digest = token_digest(token_string)
        order: Iterable[dict[str, MemoryToken]] = (
            (self._by_refresh, self._by_access) if token_type_hint == "refresh_token"
            else (self._by_access, self._by_refresh)
        )
        for index in order:
            if digest in index:
                return index[digest]
        return None

    def query_access_token(self, token_string: str) -> MemoryToken | None:
        return self._by_access.get(token_digest(token_string))

    def query_refresh_token(self, refresh_token: str) -> MemoryToken | None:
        return self._by_refresh.get(token_digest(refresh_token))

    def revoke_token(self, token: Any) -> None:
        with self._lock:
            token.access_token_revoked = True
            token.refresh_token_revoked = True

    def rotate_refresh_token(self, token: Any) -> bool:
        with self._lock:
            if token.refresh_token_revoked:
                return False
            token.refresh_token_revoked = True
            token.access_token_revoked = True
            return True

    def revoke_token_family(self, family: str) -> int:
        count = 0
        with self._lock:
            for record in self.tokens:
                if record.family == family and not (
                        record.access_token_revoked and record.refresh_token_revoked):
                    record.access_token_revoked = record.refresh_token_revoked = True
                    count += 1
        return count
