"""The authorization code grant (RFC 6749 §4.1), with PKCE (RFC 7636) built in."""

from __future__ import annotations

from typing import Any, ClassVar

from authgate.core.oauth2.errors import (
    AccessDeniedError,
    InvalidGrantError,
    UnauthorizedClientError,
)
from authgate.core.oauth2.grants.base import (
    AuthorizationEndpointMixin,
    BaseGrant,
    TokenEndpointMixin,
    family_of_code,
    require,
)
from authgate.core.oauth2.pkce import CodeChallenge
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import generate_token

__all__ = ["AuthorizationCodeGrant"]


class AuthorizationCodeGrant(BaseGrant, AuthorizationEndpointMixin, TokenEndpointMixin):
    """Subclass it and implement the four storage hooks.

    ``delete_authorization_code`` is where single use is enforced: return
    ``False`` when the code was already consumed by a concurrent request (the
    :mod:`authgate.sqla.oauth2` helpers do this with one conditional DELETE).

    A code presented again after its redemption completed revokes the tokens
    of that redemption. One presented while the first redemption is still in
    flight (between consuming the code and saving the token, a few
    milliseconds) is refused without revoking: that is what makes concurrent
    retries of one code end with exactly one working token.
    Without any :class:`CodeChallenge` extension registered, PKCE still applies
    to public clients and any challenge sent is still verified.
    """

    GRANT_TYPE = "authorization_code"
    RESPONSE_TYPES = frozenset({"code"})
    TOKEN_ENDPOINT_AUTH_METHODS = (
        "client_secret_basic", "client_secret_post", "none", "private_key_jwt",
    )
    ISSUES_REFRESH_TOKEN = True
    AUTHORIZATION_CODE_LENGTH: ClassVar[int] = 48
    DEFAULT_PKCE: ClassVar[CodeChallenge] = CodeChallenge(required=False)

    # -- hooks ------------------------------------------------------------------
    def save_authorization_code(self, code: str, request: OAuth2Request) -> Any:
        raise NotImplementedError

    def query_authorization_code(self, code: str, client: Any) -> Any:
        """The code record issued to ``client``, or None."""
        raise NotImplementedError

    def delete_authorization_code(self, authorization_code: Any) -> bool | None:
        """Consume the code; return False if another request consumed it first."""
        raise NotImplementedError

    def authenticate_user(self, authorization_code: Any) -> Any:
        raise NotImplementedError

    def generate_authorization_code(self) -> str:
        return generate_token(self.AUTHORIZATION_CODE_LENGTH)

    # -- authorization endpoint ---------------------------------------------------
    @property
    def pkce(self) -> tuple[Any, ...]:
        registered = [e for e in self.extensions if isinstance(e, CodeChallenge)]
        others = [e for e in self.extensions if not isinstance(e, CodeChallenge)]
        return (*(registered or [self.DEFAULT_PKCE]), *others)

    def validate_authorization_request(self) -> str:
        """§4.1.1, after the client and redirect URI were proven by the server."""
        client = self.request.client
        if not client.check_response_type("code"):
            raise UnauthorizedClientError("The client may not use response_type 'code'.")
        scope = self.validate_requested_scope()
        self.request = self.request.with_(scope=scope)
        for extension in self.pkce:
            extension.validate_authorization_request(self, self.request)
        return self.redirect_uri

    def create_authorization_response(self, redirect_uri: str, grant_user: Any) -> dict[str, str]:
        if grant_user is None:
            raise AccessDeniedError()
        code = self.generate_authorization_code()
        self.request = self.request.with_(user=grant_user)
        self.save_authorization_code(code, self.request)
        return {"code": code}

    # -- token endpoint -------------------------------------------------------------
    def validate_token_request(self) -> None:
        """§4.1.3 in order: client, grant type, code, expiry, redirect URI, PKCE, user."""
        client = self.authenticate_token_endpoint_client()
        self.check_grant_type_allowed()
        code = require(self.request, "code")
        record = self.query_authorization_code(code, client)
        if record is None:
            # Unknown, another client's, or already used: §4.1.2 asks to revoke
            # what a used code produced, and its family is derivable.
            self.server.revoke_token_family(family_of_code(code))
            raise InvalidGrantError("The authorization code is invalid or was already used.")
        if record.get_auth_time() + self.server.config.authorization_code_expires_in \
                < self.server.now():
            raise InvalidGrantError("The authorization code has expired.")
        original = record.get_redirect_uri()
        if original and self.request.data.get("redirect_uri") != original:
            raise InvalidGrantError("'redirect_uri' does not match the authorization request.")
        for extension in self.pkce:
            extension.validate_token_request(self, self.request, record)
        user = self.authenticate_user(record)
        if user is None:
            raise InvalidGrantError("The user of this authorization code is gone.")
        self.request = self.request.with_(
            user=user, credential=record, scope=record.get_scope() or None,
            token_family=family_of_code(code),
        )

    def create_token_response(self) -> dict[str, Any]:
        if self.delete_authorization_code(self.request.credential) is False:
            self.server.revoke_token_family(self.request.token_family or "")
            raise InvalidGrantError("The authorization code is invalid or was already used.")
        token = self.generate_token(user=self.request.user, scope=self.request.scope)
        self.save_token(token)
        return token
