"""JWT access tokens (RFC 9068): signing keys, the JWKS, minting and validating.

The authorization server signs with a :class:`KeySet` through
:class:`JWTAccessTokenGenerator` and serves :func:`jwks_document` at ``/certs``;
resource servers check tokens with :class:`JWTAccessTokenValidator`, fed by a
:class:`JWKSClient` that follows the server's metadata.
"""

from authgate.core.oauth2.jwt.errors import InvalidJWTError, JWKSFetchError
from authgate.core.oauth2.jwt.jwk import (
    SUPPORTED_ALGORITHMS,
    VerificationKey,
    jwk_thumbprint,
    verification_key_from_jwk,
)
from authgate.core.oauth2.jwt.jwks_client import JWKSClient
from authgate.core.oauth2.jwt.keys import KeySet, NoSigningKeyError, SigningKey, jwks_document
from authgate.core.oauth2.jwt.tokens import JWTAccessTokenGenerator, TokenContext
from authgate.core.oauth2.jwt.validator import (
    AccessTokenClaims,
    JWKSKeys,
    JWTAccessTokenValidator,
    KeyResolver,
)

__all__ = [
    "SUPPORTED_ALGORITHMS",
    "AccessTokenClaims",
    "InvalidJWTError",
    "JWKSClient",
    "JWKSFetchError",
    "JWKSKeys",
    "JWTAccessTokenGenerator",
    "JWTAccessTokenValidator",
    "KeyResolver",
    "KeySet",
    "NoSigningKeyError",
    "SigningKey",
    "TokenContext",
    "VerificationKey",
    "jwk_thumbprint",
    "jwks_document",
    "verification_key_from_jwk",
]
