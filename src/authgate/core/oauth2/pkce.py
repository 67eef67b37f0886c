"""Proof Key for Code Exchange (RFC 7636), as a grant extension.

PKCE binds the code to the client instance that asked for it. RFC 9700 §2.1.1
makes it mandatory for public clients; ``CodeChallenge(required=True)`` asks
it of every client. A ``code_verifier`` sent for a code issued without a
challenge is refused: accepting it would let an attacker downgrade a flow to
no PKCE at all (RFC 9700 §4.8.2).
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING, Any

from authgate.core.oauth2.errors import InvalidGrantError, InvalidRequestError
from authgate.core.oauth2.extension import GrantExtension
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import constant_time_equals

if TYPE_CHECKING:
    from authgate.core.oauth2.grants.base import BaseGrant

__all__ = ["CodeChallenge", "create_s256_code_challenge"]

# §4.1 and §4.2: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
_PKCE_VALUE = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def create_s256_code_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def _verify(method: str, challenge: str, verifier: str) -> bool:
    if method == "S256":
        return constant_time_equals(create_s256_code_challenge(verifier), challenge)
    if method == "plain":
        return constant_time_equals(verifier, challenge)
    return False


class CodeChallenge(GrantExtension):
    """PKCE for the authorization code grant.

    ``required`` asks every client for PKCE, not only public ones;
    ``allow_plain`` may switch the ``plain`` method off (S256 is always on).
    """

    SUPPORTED_METHODS = ("S256", "plain")

    def __init__(self, required: bool = False, allow_plain: bool = True) -> None:
        self.required = required
        self.methods = self.SUPPORTED_METHODS if allow_plain else ("S256",)

    def __repr__(self) -> str:
        return f"CodeChallenge(required={self.required})"

    def is_required(self, client: Any) -> bool:
        return self.required or bool(client.check_endpoint_auth_method("none", "token"))

    def get_authorization_code_challenge(self, authorization_code: Any) -> str | None:
        """The challenge stored with the code; override for models that keep it elsewhere."""
        return getattr(authorization_code, "code_challenge", None) or None

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str | None:
        return getattr(authorization_code, "code_challenge_method", None) or None

    def validate_authorization_request(self, grant: BaseGrant, request: OAuth2Request) -> None:
        challenge = request.data.get("code_challenge")
        method = request.data.get("code_challenge_method")
        if challenge is None:
            if method is not None:
                raise InvalidRequestError("'code_challenge_method' without 'code_challenge'.")
            if self.is_required(request.client):
                raise InvalidRequestError("PKCE is required: send 'code_challenge'.")
            return
        if not _PKCE_VALUE.fullmatch(challenge):
            raise InvalidRequestError("Invalid 'code_challenge'.")
        # §4.3: the method defaults to "plain" when absent.
        if (method or "plain") not in self.methods:
            raise InvalidRequestError("Unsupported 'code_challenge_method'.")

    def validate_token_request(self, grant: BaseGrant, request: OAuth2Request,
                               credential: Any) -> None:
        verifier = request.data.get("code_verifier")
        challenge = self.get_authorization_code_challenge(credential)
        method = self.get_authorization_code_challenge_method(credential)
        if not challenge:
            if verifier is not None:
                raise InvalidGrantError("'code_verifier' sent for a code issued without PKCE.")
            if self.is_required(request.client):
                raise InvalidGrantError("PKCE is required for this client.")
            return
        if verifier is None:
            raise InvalidGrantError("Missing 'code_verifier'.")
        if not _PKCE_VALUE.fullmatch(verifier):
            raise InvalidGrantError("Invalid 'code_verifier'.")
        if not _verify(method or "plain", challenge, verifier):
            raise InvalidGrantError("The 'code_verifier' does not match the challenge.")
