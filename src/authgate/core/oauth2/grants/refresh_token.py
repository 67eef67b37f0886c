"""The refresh token grant (RFC 6749 §6), rotating, with replay detection.

RFC 9700 §4.14.2: each use returns a new refresh token and retires the old
one. If a retired refresh token comes back, either the client or an attacker
holds a copy; the server cannot tell which, so the whole family (every token
descending from the same authorization) is revoked.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.oauth2.errors import InvalidGrantError, InvalidScopeError
from authgate.core.oauth2.grants.base import BaseGrant, TokenEndpointMixin, family_of, require
from authgate.core.oauth2.scope import scope_to_list

__all__ = ["RefreshTokenGrant"]


class RefreshTokenGrant(BaseGrant, TokenEndpointMixin):
    """Implement ``authenticate_refresh_token``, ``authenticate_user`` and
    ``revoke_old_credential``.

    ``authenticate_refresh_token`` should return the record even when it was
    already rotated (revoked): that is how a replay is recognised. It may
    return None for revoked records instead, giving up replay detection.
    ``revoke_old_credential`` returns False when a concurrent request rotated
    the same token first.
    """

    GRANT_TYPE = "refresh_token"
    TOKEN_ENDPOINT_AUTH_METHODS = (
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
    )
    INCLUDE_NEW_REFRESH_TOKEN: ClassVar[bool] = True

    def authenticate_refresh_token(self, refresh_token: str) -> Any:
        raise NotImplementedError

    def authenticate_user(self, credential: Any) -> Any:
        raise NotImplementedError

    def revoke_old_credential(self, credential: Any) -> bool | None:
        raise NotImplementedError

    def validate_token_request(self) -> None:
        client = self.authenticate_token_endpoint_client()
        self.check_grant_type_allowed()
        refresh_token = require(self.request, "refresh_token")
        credential = self.authenticate_refresh_token(refresh_token)
        if credential is None or not credential.check_client(client):
            raise InvalidGrantError("The refresh token is invalid.")
        if credential.is_revoked():
            self.server.revoke_token_family(family_of(credential) or "")
            raise InvalidGrantError("The refresh token was already used or revoked.")
        original = scope_to_list(credential.get_scope())
        requested = self.request.scope
        if requested is not None and not set(scope_to_list(requested)).issubset(original):
            # §6: the new scope must not include any scope not originally granted.
            raise InvalidScopeError("The requested scope exceeds the original grant.")
        scope = " ".join(scope_to_list(requested)) if requested is not None else \
            " ".join(original)
        user = self.authenticate_user(credential)
        if user is None:
            raise InvalidGrantError("The user of this refresh token is gone.")
        self.request = self.request.with_(
            user=user, credential=credential, scope=scope or None,
            token_family=family_of(credential),
        )

    def create_token_response(self) -> dict[str, Any]:
        credential = self.request.credential
        if self.revoke_old_credential(credential) is False:
            self.server.revoke_token_family(family_of(credential) or "")
            raise InvalidGrantError("The refresh token was already used or revoked.")
        token = self.generate_token(
            user=self.request.user, scope=self.request.scope,
            include_refresh_token=self.INCLUDE_NEW_REFRESH_TOKEN
            and self.server.issues_refresh_tokens,
        )
        self.save_token(token)
        return token
