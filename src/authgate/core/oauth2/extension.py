"""The extension point of grants: PKCE and future RFC add-ons plug in here."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from authgate.core.oauth2.grants.base import BaseGrant
    from authgate.core.oauth2.request import OAuth2Request

__all__ = ["GrantExtension"]


class GrantExtension:
    """Hooks called at fixed points of a grant's flow; the defaults do nothing."""

    def validate_authorization_request(self, grant: BaseGrant, request: OAuth2Request) -> None:
        """Called once the client, redirect URI and scope are valid."""

    def validate_token_request(self, grant: BaseGrant, request: OAuth2Request,
                               credential: Any) -> None:
        """Called at the token endpoint with the code (or other credential) found."""
