"""Token introspection (RFC 7662)."""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.errors import UnsupportedTokenTypeError
from authgate.core.oauth2.grants.base import require
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.server import Endpoint

__all__ = ["IntrospectionEndpoint"]


class IntrospectionEndpoint(Endpoint):
    """Subclass it with ``query_token`` and ``introspect_token``, then register it.

    By default a client may introspect only its own tokens (``check_permission``);
    a resource server registered as a client gets its own rule by overriding it.
    Anything not permitted, unknown, expired or revoked is ``{"active": false}``
    (§2.2), so the answer never tells which of those it was.
    """

    ENDPOINT_NAME = "introspection"
    CLIENT_AUTH_METHODS: ClassVar[tuple[str, ...]] = (
        "client_secret_basic", "client_secret_post", "private_key_jwt",
    )
    SUPPORTED_TOKEN_TYPES: ClassVar[tuple[str, ...]] = ("access_token", "refresh_token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        raise NotImplementedError

    def introspect_token(self, token: Any) -> dict[str, Any]:
        raise NotImplementedError

    def check_permission(self, token: Any, client: Any, request: OAuth2Request) -> bool:
        return bool(token.check_client(client))

    def is_active(self, token: Any) -> bool:
        return not token.is_revoked() and token.get_expires_at() > self.server.now()

    def create_endpoint_response(self, request: Request) -> Response:
        self.server.check_transport(request)
        oauth_request = OAuth2Request.from_form(request)
        client, method = self.server.authenticate_client(
            oauth_request, self.CLIENT_AUTH_METHODS, self.ENDPOINT_NAME
        )
        oauth_request = oauth_request.with_(client=client, auth_method=method)
        token_string = require(oauth_request, "token")
        hint = oauth_request.data.get("token_type_hint")
        if hint is not None and hint not in self.SUPPORTED_TOKEN_TYPES:
            raise UnsupportedTokenTypeError()
        token = self.query_token(token_string, hint)
        if (token is None or not self.check_permission(token, client, oauth_request)
                or not self.is_active(token)):
            return json_response(200, {"active": False})
        body = {"active": True, **self.introspect_token(token)}
        return json_response(200, body)
