"""The OAuth 2.0 grants, to subclass and register on an authorization server."""

from authgate.core.oauth2.grants.authorization_code import AuthorizationCodeGrant
from authgate.core.oauth2.grants.base import (
    AuthorizationEndpointMixin,
    BaseGrant,
    GrantExtension,
    TokenEndpointMixin,
)
from authgate.core.oauth2.grants.client_credentials import ClientCredentialsGrant
from authgate.core.oauth2.grants.implicit import ImplicitGrant
from authgate.core.oauth2.grants.password import ResourceOwnerPasswordCredentialsGrant
from authgate.core.oauth2.grants.refresh_token import RefreshTokenGrant

__all__ = [
    "AuthorizationCodeGrant",
    "AuthorizationEndpointMixin",
    "BaseGrant",
    "ClientCredentialsGrant",
    "GrantExtension",
    "ImplicitGrant",
    "RefreshTokenGrant",
    "ResourceOwnerPasswordCredentialsGrant",
    "TokenEndpointMixin",
]
