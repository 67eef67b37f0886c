"""What revocation and introspection share: an authenticated request about one token."""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.http import Request
from authgate.core.oauth2.errors import UnsupportedTokenTypeError
from authgate.core.oauth2.grants.base import require
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.server import Endpoint

__all__ = ["TokenRequestEndpoint"]


class TokenRequestEndpoint(Endpoint):
    """An endpoint where a client asks about ``token`` (RFC 7009 §2.1, RFC 7662 §2.1)."""

    CLIENT_AUTH_METHODS: ClassVar[tuple[str, ...]] = ()
    SUPPORTED_TOKEN_TYPES: ClassVar[tuple[str, ...]] = ("access_token", "refresh_token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
        raise NotImplementedError

    def parse_token_request(self, request: Request) -> tuple[OAuth2Request, Any]:
        """Authenticate the client and find the token (None when unknown)."""
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
        return oauth_request, self.query_token(token_string, hint)
