"""Token revocation (RFC 7009)."""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.http import NO_STORE, Request, Response
from authgate.core.oauth2.endpoints.token_request import TokenRequestEndpoint
from authgate.core.oauth2.request import OAuth2Request

__all__ = ["RevocationEndpoint"]


class RevocationEndpoint(TokenRequestEndpoint):
    """Subclass it with ``query_token`` and ``revoke_token``, then register it.

    A token of another client is left alone and the answer is still 200, as
    for an unknown token (§2.2): the caller learns nothing about tokens that
    are not its own.
    """

    ENDPOINT_NAME = "revocation"
    CLIENT_AUTH_METHODS: ClassVar[tuple[str, ...]] = (
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
    )

    def revoke_token(self, token: Any, request: OAuth2Request) -> None:
        raise NotImplementedError

    def create_endpoint_response(self, request: Request) -> Response:
        oauth_request, token = self.parse_token_request(request)
        if token is not None and token.check_client(oauth_request.client):
            self.revoke_token(token, oauth_request)
        return Response(200, NO_STORE, b"")
