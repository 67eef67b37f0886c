"""The public OAuth 2.0 API: grants to subclass, extensions, endpoints, errors.

This is the import map's target for Authlib's ``authlib.oauth2.*`` modules::

    from authgate.oauth2 import grants, CodeChallenge, RevocationEndpoint
"""

from authgate.core.oauth2 import grants
from authgate.core.oauth2.client_assertion import PrivateKeyJWT
from authgate.core.oauth2.client_auth import ClientAuthMethod
from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.endpoints import IntrospectionEndpoint, RevocationEndpoint
from authgate.core.oauth2.endpoints.registration import ClientRegistrationEndpoint, bearer_token
from authgate.core.oauth2.errors import (
    AccessDeniedError,
    InsufficientScopeError,
    InvalidClientError,
    InvalidClientMetadataError,
    InvalidGrantError,
    InvalidRedirectURIError,
    InvalidRequestError,
    InvalidScopeError,
    InvalidTokenError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
    UnsupportedResponseTypeError,
)
from authgate.core.oauth2.extension import GrantExtension
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.pkce import CodeChallenge, create_s256_code_challenge
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.resource import BearerTokenValidator
from authgate.core.oauth2.server import AuthorizationServer, Endpoint
from authgate.core.oauth2.stored import create_server, grant_classes
from authgate.core.oauth2.tokens import BearerTokenGenerator

__all__ = [
    "AccessDeniedError",
    "AuthorizationServer",
    "BearerTokenGenerator",
    "BearerTokenValidator",
    "ClientAuthMethod",
    "ClientRegistrationEndpoint",
    "CodeChallenge",
    "Endpoint",
    "GrantExtension",
    "InsufficientScopeError",
    "IntrospectionEndpoint",
    "InvalidClientError",
    "InvalidClientMetadataError",
    "InvalidGrantError",
    "InvalidRedirectURIError",
    "InvalidRequestError",
    "InvalidScopeError",
    "InvalidTokenError",
    "MemoryStore",
    "OAuth2Error",
    "OAuth2Request",
    "PrivateKeyJWT",
    "RevocationEndpoint",
    "ServerConfig",
    "UnauthorizedClientError",
    "UnsupportedGrantTypeError",
    "UnsupportedResponseTypeError",
    "bearer_token",
    "create_s256_code_challenge",
    "create_server",
    "grant_classes",
    "grants",
]
