"""The OAuth 1.0a protocol core (RFC 5849): no web framework, ORM or cache inside.

:func:`~authgate.core.oauth1.request.collect` turns a core HTTP request into
an :class:`OAuth1Request`; :class:`AuthorizationEndpoints` serves the three
credential endpoints over a set of :class:`CredentialHooks`;
:class:`ResourceEndpoint` checks signed resource requests. Signature methods
are plain functions in a registry (:data:`BUILTIN_SIGNATURE_METHODS`), enabled
by name through :class:`SignaturePolicy`.
"""

from authgate.core.oauth1.authenticate import SignaturePolicy, authenticate, check_nonce
from authgate.core.oauth1.encoding import escape, unescape
from authgate.core.oauth1.errors import (
    AccessDeniedError,
    DuplicatedOAuthProtocolParameterError,
    InsecureTransportError,
    InvalidCallbackError,
    InvalidClientError,
    InvalidNonceError,
    InvalidRequestError,
    InvalidSignatureError,
    InvalidTimestampError,
    InvalidTokenError,
    InvalidVerifierError,
    MethodNotAllowedError,
    MissingRequiredParameterError,
    OAuth1Error,
    UnsupportedParameterError,
    UnsupportedSignatureMethodError,
)
from authgate.core.oauth1.models import (
    ClientProtocol,
    TemporaryCredentialProtocol,
    TokenCredentialProtocol,
    UserProtocol,
)
from authgate.core.oauth1.request import OAuth1Request, collect
from authgate.core.oauth1.resource import ResourceEndpoint
from authgate.core.oauth1.secrets import SecretCipher, SecretDecryptionError
from authgate.core.oauth1.server import (
    HOOK_NAMES,
    AuthorizationEndpoints,
    AuthorizationRequest,
    CredentialHooks,
)
from authgate.core.oauth1.signature import (
    BUILTIN_SIGNATURE_METHODS,
    SignatureMethod,
    generate_signature_base_string,
)
from authgate.core.oauth1.tokens import create_token_generator

__all__ = [
    "BUILTIN_SIGNATURE_METHODS",
    "HOOK_NAMES",
    "AccessDeniedError",
    "AuthorizationEndpoints",
    "AuthorizationRequest",
    "ClientProtocol",
    "CredentialHooks",
    "DuplicatedOAuthProtocolParameterError",
    "InsecureTransportError",
    "InvalidCallbackError",
    "InvalidClientError",
    "InvalidNonceError",
    "InvalidRequestError",
    "InvalidSignatureError",
    "InvalidTimestampError",
    "InvalidTokenError",
    "InvalidVerifierError",
    "MethodNotAllowedError",
    "MissingRequiredParameterError",
    "OAuth1Error",
    "OAuth1Request",
    "ResourceEndpoint",
    "SecretCipher",
    "SecretDecryptionError",
    "SignatureMethod",
    "SignaturePolicy",
    "TemporaryCredentialProtocol",
    "TokenCredentialProtocol",
    "UnsupportedParameterError",
    "UnsupportedSignatureMethodError",
    "UserProtocol",
    "authenticate",
    "check_nonce",
    "collect",
    "create_token_generator",
    "escape",
    "generate_signature_base_string",
    "unescape",
]
