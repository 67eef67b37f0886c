"""The client credentials grant (RFC 6749 §4.4): a confidential client acting for itself."""

from __future__ import annotations

from typing import Any

from authgate.core.oauth2.grants.base import BaseGrant, TokenEndpointMixin

__all__ = ["ClientCredentialsGrant"]


class ClientCredentialsGrant(BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = "client_credentials"
    # §4.4: only confidential clients; §4.4.3: no refresh token.
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")

    def validate_token_request(self) -> None:
        self.authenticate_token_endpoint_client()
        self.check_grant_type_allowed()
        self.request = self.request.with_(scope=self.validate_requested_scope())

    def create_token_response(self) -> dict[str, Any]:
        token = self.generate_token(scope=self.request.scope, include_refresh_token=False)
        self.save_token(token)
        return token
