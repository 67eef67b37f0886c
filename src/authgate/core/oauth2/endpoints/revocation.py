"""Token revocation (RFC 7009)."""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.http import NO_STORE, Request, Response
from authgate.core.oauth2.errors import UnsupportedTokenTypeError
from authgate.core.oauth2.grants.base import require
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.server import Endpoint

__all__ = ["RevocationEndpoint"]


class RevocationEndpoint(Endpoint):
    """Subclass it with ``query_token`` and ``revoke_token``, then register it.

    A token of another client is left alone and the answer is still 200, as
    for an unknown token (§2.2): the caller learns nothing about tokens that
    are not its own.
    """

    ENDPOINT_NAME = "revocation"
    CLIENT_AUTH_METHODS: ClassVar[tuple[str, ...]] = (
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
    )
    SUPPORTED_TOKEN_TYPES: ClassVar[tuple[str, ...]] = ("access_token", "refresh_token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        raise NotImplementedError

    def revoke_token(self, token: Any, request: OAuth2Request) -> None:
        raise NotImplementedError

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
        if token is not None and token.check_client(client):
            self.revoke_token(token, oauth_request)
        return Response(200, NO_STORE, b"")
