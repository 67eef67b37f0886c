"""OAuth 1.0a protocol errors, with the HTTP status RFC 5849 §3.2 gives each.

::

    ProtocolError                                 (authgate.core.errors)
    └── OAuth1Error
        ├── 400  InvalidRequestError               malformed value, bad content type
        │   ├── MissingRequiredParameterError
        │   ├── DuplicatedOAuthProtocolParameterError
        │   ├── UnsupportedParameterError
        │   ├── UnsupportedSignatureMethodError
        │   ├── InsecureTransportError          PLAINTEXT without TLS
        │   └── InvalidCallbackError            callback not the registered one
        ├── 401  InvalidClientError, InvalidTokenError, InvalidSignatureError,
        │        InvalidNonceError, InvalidTimestampError, InvalidVerifierError
        ├── 403  AccessDeniedError               the resource owner said no
        └── 405  MethodNotAllowedError

The credential endpoints render these as form-encoded bodies, the resource
protector as JSON; both add ``WWW-Authenticate: OAuth`` to a 401
(see :mod:`authgate.core.oauth1.responses`). The authorization endpoint raises
them to the application, which shows its own page.
"""

from __future__ import annotations

from typing import ClassVar

from authgate.core.errors import ProtocolError

__all__ = [
    "AccessDeniedError",
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
    "UnsupportedParameterError",
    "UnsupportedSignatureMethodError",
]


class OAuth1Error(ProtocolError):
    """Any OAuth 1.0a protocol failure; ``error`` is a stable machine code."""

    error: ClassVar[str] = "invalid_request"
    status: ClassVar[int] = 400


class InvalidRequestError(OAuth1Error):
    error = "invalid_request"
    default_description = "The request is malformed."


class MissingRequiredParameterError(InvalidRequestError):
    error = "missing_required_parameter"
    default_description = 'Missing "{name}" in parameters.'

    def __init__(self, name: str) -> None:
        super().__init__(params={"name": name})


class DuplicatedOAuthProtocolParameterError(InvalidRequestError):
    error = "duplicated_oauth_protocol_parameter"
    default_description = 'The protocol parameter "{name}" is given more than once.'

    def __init__(self, name: str) -> None:
        super().__init__(params={"name": name})


class UnsupportedParameterError(InvalidRequestError):
    error = "unsupported_parameter"
    default_description = 'The value of "{name}" is not supported.'

    def __init__(self, name: str) -> None:
        super().__init__(params={"name": name})


class UnsupportedSignatureMethodError(InvalidRequestError):
    error = "unsupported_signature_method"
    default_description = "The signature method is not supported."


class InsecureTransportError(InvalidRequestError):
    error = "insecure_transport"
    default_description = "This signature method needs TLS."


class InvalidCallbackError(InvalidRequestError):
    error = "invalid_callback"
    default_description = "The callback does not match the one registered for the client."


class InvalidClientError(OAuth1Error):
    error = "invalid_client"
    status = 401
    default_description = "The client credentials are invalid."


class InvalidTokenError(OAuth1Error):
    error = "invalid_token"
    status = 401
    default_description = "The token is invalid, expired or already used."


class InvalidSignatureError(OAuth1Error):
    error = "invalid_signature"
    status = 401
    default_description = "The signature is invalid."


class InvalidNonceError(OAuth1Error):
    error = "invalid_nonce"
    status = 401
    default_description = "The nonce has already been used."


class InvalidTimestampError(OAuth1Error):
    error = "invalid_timestamp"
    status = 401
    default_description = "The timestamp is too far from the server's clock."


class InvalidVerifierError(OAuth1Error):
    error = "invalid_verifier"
    status = 401
    default_description = "The verifier is invalid."


class AccessDeniedError(OAuth1Error):
    error = "access_denied"
    status = 403
    default_description = "The resource owner denied the request."


class MethodNotAllowedError(OAuth1Error):
    error = "method_not_allowed"
    status = 405
    default_description = "This endpoint only accepts POST."
