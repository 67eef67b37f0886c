"""OAuth 2.0 scenario plumbing: one store, and drivers that reach the same server.

``CoreDriver`` calls the protocol core directly; ``FlaskDriver`` goes through
a Flask app and its test client. Scenario tests take a driver, so every flow
is proven both ways and the Flask glue is shown to be thin.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from authgate.core.http import Request
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.pkce import create_s256_code_challenge
from authgate.core.oauth2.resource import BearerTokenValidator, ResourceProtector
from authgate.core.oauth2.stored import create_server
from authgate.core.security import generate_token

ISSUER = "https://auth.example.test"
REDIRECT = "https://client.example.test/cb"


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def location(self) -> str:
        return self.headers.get("location", "")

    def redirect_params(self) -> dict[str, str]:
        parts = urlsplit(self.location)
        text = parts.fragment if parts.fragment else parts.query
        return {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}


class StoreValidator(BearerTokenValidator):
    def __init__(self, store: MemoryStore, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.store = store

    def authenticate_token(self, token_string: str) -> Any:
        return self.store.query_access_token(token_string)


@dataclass
class World:
    """A store with a user and clients of every kind, and the server over it."""

    clock: Any
    store: MemoryStore = field(init=False)
    server: Any = field(init=False)
    protector: ResourceProtector = field(init=False)

    def __post_init__(self) -> None:
        self.store = MemoryStore(clock=self.clock)
        self.server = create_server(
            self.store, ServerConfig(issuer=ISSUER, clock=self.clock,
                                     scopes_supported=("profile", "email", "admin")),
        )
        self.protector = ResourceProtector()
        self.protector.register_token_validator(
            StoreValidator(self.store, realm="api", clock=self.clock))
        self.user = self.store.add_user("alice", "wonderland")
        self.other_user = self.store.add_user("bob", "builder")
        all_grants = ["authorization_code", "refresh_token", "password", "client_credentials"]
        self.confidential, self.secret = self.store.add_client(
            client_id="confidential-client", redirect_uris=[REDIRECT], grant_types=all_grants,
            scope="profile email", client_name="Confidential app",
        )
        self.other, self.other_secret = self.store.add_client(
            client_id="other-client", redirect_uris=["https://other.example.test/cb"],
            grant_types=all_grants, scope="profile email",
        )
        self.public, _ = self.store.add_client(
            client_id="public-client", secret=False,
            redirect_uris=["http://127.0.0.1/callback", "https://spa.example.test/cb"],
            grant_types=["authorization_code", "refresh_token", "implicit"],
            response_types=["code", "token"], scope="profile",
        )

    def token_count(self) -> int:
        return len(self.store.tokens)


def pkce_pair() -> tuple[str, str]:
    verifier = generate_token(64)
    return verifier, create_s256_code_challenge(verifier)


class CoreDriver:
    """Reaches the core directly with :class:`Request` values."""

    name = "core"

    def __init__(self, world: World) -> None:
        self.world = world

    @staticmethod
    def _resp(response: Any) -> Resp:
        return Resp(response.status, {k.lower(): v for k, v in response.headers},
                    response.body)

    def token(self, data: Any, headers: dict[str, str] | None = None, *, query: str = "",
              content_type: str | None = None, method: str = "POST") -> Resp:
        hdrs = dict(headers or {})
        uri = ISSUER + "/oauth/token" + (f"?{query}" if query else "")
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        if content_type is not None:
            hdrs["Content-Type"] = content_type
            request = Request.build(method, uri, headers=hdrs, body=urlencode(pairs))
        else:
            request = Request.build(method, uri, headers=hdrs, form=pairs)
        return self._resp(self.world.server.create_token_response(request))

    def _authorize_request(self, params: Any, method: str = "GET",
                           form: dict[str, str] | None = None) -> Request:
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        uri = ISSUER + "/oauth/authorize?" + urlencode(pairs)
        return Request.build(method, uri, form=form)

    def consent(self, params: Any) -> tuple[Any, Any]:
        """(grant, None) when the request is valid, (None, rendered error) otherwise."""
        from authgate.core.oauth2.errors import OAuth2Error

        request = self._authorize_request(params)
        try:
            return self.world.server.get_consent_grant(request, end_user=self.world.user), None
        except OAuth2Error as error:
            return None, self._resp(self.world.server.handle_error_response(request, error))

    def authorize(self, params: Any, *, allow: bool = True, user: Any = None) -> Resp:
        request = self._authorize_request(params, "POST", {"confirm": "yes" if allow else "no"})
        grant_user = (user or self.world.user) if allow else None
        return self._resp(self.world.server.create_authorization_response(request, grant_user))

    def endpoint(self, name: str, data: Any, headers: dict[str, str] | None = None) -> Resp:
        path = {"revocation": "/oauth/revoke", "introspection": "/oauth/introspect"}[name]
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        request = Request.build("POST", ISSUER + path, headers=headers or {}, form=pairs)
        return self._resp(self.world.server.create_endpoint_response(name, request))

    def resource(self, token: str | None, scope: Any = "profile") -> Resp:
        from authgate.core.http import json_response
        from authgate.core.oauth2.errors import OAuth2Error

        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = Request.build("GET", ISSUER + "/api/me", headers=headers)
        try:
            record = self.world.protector.validate_request(scope, request)
        except OAuth2Error as error:
            return self._resp(self.world.protector.error_response(error, request, scope))
        return self._resp(json_response(200, {"user_id": record.user_id}))
