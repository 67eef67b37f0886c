"""The resource owner password credentials grant (RFC 6749 §4.3).

RFC 9700 §2.4 says it MUST NOT be used; it exists for migrations and only for
clients registered for it explicitly.
"""

from __future__ import annotations

from typing import Any

from authgate.core.oauth2.errors import InvalidGrantError
from authgate.core.oauth2.grants.base import BaseGrant, TokenEndpointMixin, require

__all__ = ["ResourceOwnerPasswordCredentialsGrant"]


class ResourceOwnerPasswordCredentialsGrant(BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = "password"
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt")
    ISSUES_REFRESH_TOKEN = True

    def authenticate_user(self, username: str, password: str) -> Any:
        """The user with these credentials, or None."""
        raise NotImplementedError

    def validate_token_request(self) -> None:
        self.authenticate_token_endpoint_client()
        self.check_grant_type_allowed()
        username = require(self.request, "username")
        password = require(self.request, "password")
        scope = self.validate_requested_scope()
        user = self.authenticate_user(username, password)
        if user is None:
            raise InvalidGrantError("Invalid username or password.")
        self.request = self.request.with_(user=user, scope=scope)

    def create_token_response(self) -> dict[str, Any]:
        token = self.generate_token(user=self.request.user, scope=self.request.scope)
        self.save_token(token)
        return token
