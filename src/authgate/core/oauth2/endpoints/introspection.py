"""Token introspection (RFC 7662)."""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.endpoints.token_request import TokenRequestEndpoint
from authgate.core.oauth2.request import OAuth2Request

__all__ = ["IntrospectionEndpoint"]


class IntrospectionEndpoint(TokenRequestEndpoint):
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

    def introspect_token(self, token: Any) -> dict[str, Any]:
        raise NotImplementedError

    def check_permission(self, token: Any, client: Any, request: OAuth2Request) -> bool:
        return bool(token.check_client(client))

    def is_active(self, token: Any) -> bool:
        return not token.is_revoked() and token.get_expires_at() > self.server.now()

    def create_endpoint_response(self, request: Request) -> Response:
        oauth_request, token = self.parse_token_request(request)
        client = oauth_request.client
        if (token is None or not self.check_permission(token, client, oauth_request)
                or not self.is_active(token)):
            return json_response(200, {"active": False})
        body = {"active": True, **self.introspect_token(token)}
        return json_response(200, body)
