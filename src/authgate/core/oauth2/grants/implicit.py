"""The implicit grant (RFC 6749 §4.2).

RFC 9700 §2.1.2 advises against it; it is here for clients that still need
it and only for clients registered for it, public ones (``none``) only, since
a confidential client has no reason to expose tokens in a URL.
"""

from __future__ import annotations

from typing import Any

from authgate.core.oauth2.errors import AccessDeniedError, UnauthorizedClientError
from authgate.core.oauth2.grants.base import AuthorizationEndpointMixin, BaseGrant

__all__ = ["ImplicitGrant"]


class ImplicitGrant(BaseGrant, AuthorizationEndpointMixin):
    GRANT_TYPE = "implicit"
    RESPONSE_TYPES = frozenset({"token"})
    RESPONSE_MODE = "fragment"

    def validate_authorization_request(self) -> str:
        client = self.request.client
        if not client.check_response_type("token"):
            raise UnauthorizedClientError("The client may not use response_type 'token'.")
        if not client.check_endpoint_auth_method("none", "token"):
            raise UnauthorizedClientError("The implicit grant is for public clients only.")
        self.request = self.request.with_(scope=self.validate_requested_scope())
        for extension in self.extensions:
            extension.validate_authorization_request(self, self.request)
        return self.redirect_uri

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> dict[str, str]:
        if grant_user is None:
            raise AccessDeniedError()
        self.request = self.request.with_(user=grant_user)
        token = self.generate_token(user=grant_user, scope=self.request.scope,
                                    include_refresh_token=False)
        self.save_token(token)
        return {k: str(v) for k, v in token.items()}
