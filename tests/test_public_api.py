"""The public API is pinned: a change to it is a deliberate change to this file."""

from __future__ import annotations

import importlib

import pytest

PUBLIC = {
    "authgate.oauth2": [
        "AccessDeniedError", "AuthorizationServer", "BearerTokenGenerator",
        "BearerTokenValidator", "ClientAuthMethod", "ClientRegistrationEndpoint", "CodeChallenge",
        "Endpoint",
        "GrantExtension", "InsufficientScopeError", "IntrospectionEndpoint",
        "InvalidClientError", "InvalidClientMetadataError", "InvalidGrantError",
        "InvalidRedirectURIError", "InvalidRequestError", "InvalidScopeError",
        "InvalidTokenError", "MemoryStore", "OAuth2Error", "OAuth2Request", "PrivateKeyJWT",
        "RevocationEndpoint", "ServerConfig", "UnauthorizedClientError",
        "UnsupportedGrantTypeError", "UnsupportedResponseTypeError",
        "bearer_token", "create_s256_code_challenge", "create_server", "grant_classes", "grants",
    ],
    "authgate.flask.oauth2": ["AuthorizationServer", "ResourceProtector", "current_token"],
    "authgate.core.oauth2.grants": [
        "AuthorizationCodeGrant", "AuthorizationEndpointMixin", "BaseGrant",
        "ClientCredentialsGrant", "GrantExtension", "ImplicitGrant", "RefreshTokenGrant",
        "ResourceOwnerPasswordCredentialsGrant", "TokenEndpointMixin",
    ],
    "authgate.cache": ["Cache", "MemoryCache", "RedisCache"],
}


@pytest.mark.parametrize("module_name", sorted(PUBLIC))
def test_exported_members(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert sorted(module.__all__) == sorted(PUBLIC[module_name])
    for name in module.__all__:
        assert getattr(module, name) is not None
