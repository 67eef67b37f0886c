"""The three endpoints of an OAuth 1.0a authorization server (RFC 5849 §2).

``initiate`` issues temporary credentials (§2.1), ``authorize`` binds a
verifier to one for the resource owner who approved (§2.2), ``token`` trades
it, once, for token credentials (§2.3). Storage is reached only through the
hooks of :class:`CredentialHooks` (the seed API's ``register_hook`` names).
Single use rests on the hooks' answers: ``delete_temporary_credential``
returns False when another request consumed the credential first, and
``create_authorization_verifier`` returns False when the credential was
already authorized, so implementations must decide that atomically.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from urllib.parse import urlsplit

from authgate.core.http import Request, Response
from authgate.core.oauth1.authenticate import (
    ExistsNonce,
    SignaturePolicy,
    authenticate,
    check_nonce,
)
from authgate.core.oauth1.errors import (
    AccessDeniedError,
    DuplicatedOAuthProtocolParameterError,
    InvalidCallbackError,
    InvalidRequestError,
    InvalidTokenError,
    InvalidVerifierError,
    MethodNotAllowedError,
    MissingRequiredParameterError,
    OAuth1Error,
)
from authgate.core.oauth1.request import FORM_MEDIA_TYPE, collect
from authgate.core.oauth1.responses import (
    add_params_to_uri,
    credential_error_response,
    form_response,
    oob_verifier_response,
    redirect_response,
)
from authgate.core.security import constant_time_equals, generate_token

__all__ = ["HOOK_NAMES", "AuthorizationEndpoints", "AuthorizationRequest", "CredentialHooks"]

TokenGenerator = Callable[[], Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class CredentialHooks:
    """The storage behind the authorization server, one function per operation."""

    exists_nonce: ExistsNonce | None = None
    create_temporary_credential: Callable[[dict[str, str], str, str], Any] | None = None
    get_temporary_credential: Callable[[str], Any] | None = None
    delete_temporary_credential: Callable[[str], bool | None] | None = None
    create_authorization_verifier: Callable[[Any, Any, str], bool | None] | None = None
    create_token_credential: Callable[[dict[str, str], Any], Any] | None = None

    def need(self, name: str) -> Callable[..., Any]:
        hook: Callable[..., Any] | None = getattr(self, name)
        if hook is None:
            raise RuntimeError(f"register_hook({name!r}, ...) before serving this endpoint")
        return hook


HOOK_NAMES: frozenset[str] = frozenset(f.name for f in fields(CredentialHooks))


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """What the consent page needs: the temporary credential and its client."""

    token: str
    credential: Any
    client_id: str
    client: Any
    redirect_uri: str | None

    @property
    def is_oob(self) -> bool:
        return not self.redirect_uri or self.redirect_uri == "oob"


def check_callback(callback: str, client: Any) -> None:
    """Accept ``oob`` or the client's registered callback (query aside), nothing else.

    RFC 5849 leaves callback checking to the server; binding it to what was
    registered keeps a stolen client identity from sending verifiers elsewhere.
    """
    if callback == "oob":
        return
    registered = client.get_default_redirect_uri()
    given = urlsplit(callback)
    if not registered or not given.scheme or given.fragment:
        raise InvalidCallbackError()
    expected = urlsplit(registered)
    same = (given.scheme.lower(), given.netloc.lower(), given.path or "/") == (
        expected.scheme.lower(), expected.netloc.lower(), expected.path or "/")
    if not same:
        raise InvalidCallbackError()


def _check_post(request: Request) -> None:
    if request.method != "POST":
        raise MethodNotAllowedError()
    if request.body and request.content_type != FORM_MEDIA_TYPE:
        raise InvalidRequestError("The body must be application/x-www-form-urlencoded.")


def _single(request: Request, name: str) -> str | None:
    for params in (request.query, request.form):
        if params.is_repeated(name):
            raise DuplicatedOAuthProtocolParameterError(name)
    values = [v for v in (request.query.get(name), request.form.get(name)) if v]
    if len(values) > 1:
        raise DuplicatedOAuthProtocolParameterError(name)
    return values[0] if values else None


@dataclass(frozen=True, slots=True)
class AuthorizationEndpoints:
    """The endpoints over one configuration: stateless, built per request by the web glue."""

    query_client: Callable[[str], Any]
    hooks: CredentialHooks
    token_generator: TokenGenerator
    policy: SignaturePolicy = field(default_factory=SignaturePolicy)
    verifier_generator: Callable[[], str] = lambda: generate_token(32)

    # §2.1 ---------------------------------------------------------------
    def create_temporary_credential_response(self, request: Request) -> Response:
        try:
            return self._initiate(request)
        except OAuth1Error as error:
            return credential_error_response(error, request.headers.get("accept-language"))

    def _initiate(self, request: Request) -> Response:
        _check_post(request)
        unsigned = collect(request)
        if not unsigned.callback:
            raise MissingRequiredParameterError("oauth_callback")
        signed = authenticate(unsigned, self.policy, self.query_client)
        check_callback(signed.callback or "", signed.client)
        check_nonce(signed, self.hooks.exists_nonce)
        token = self._new_token()
        self.hooks.need("create_temporary_credential")(
            token, signed.client_id, signed.callback
        )
        return form_response(200, [
            ("oauth_token", token["oauth_token"]),
            ("oauth_token_secret", token["oauth_token_secret"]),
            ("oauth_callback_confirmed", "true"),
        ])

    # §2.2 ---------------------------------------------------------------
    def check_authorization_request(self, request: Request) -> AuthorizationRequest:
        """Find the temporary credential the user is asked about; raises OAuth1Error."""
        token = _single(request, "oauth_token")
        if not token:
            raise MissingRequiredParameterError("oauth_token")
        credential = self.hooks.need("get_temporary_credential")(token)
        if credential is None:
            raise InvalidTokenError()
        client_id = credential.get_client_id()
        return AuthorizationRequest(
            token=token,
            credential=credential,
            client_id=client_id,
            client=self.query_client(client_id),
            redirect_uri=credential.get_redirect_uri(),
        )

    def create_authorization_response(self, request: Request, grant_user: Any) -> Response:
        """Redirect with the verifier (or show it, for ``oob``); ``grant_user=None`` denies."""
        pending = self.check_authorization_request(request)
        if grant_user is None:
            self.hooks.need("delete_temporary_credential")(pending.token)
            if pending.is_oob:
                raise AccessDeniedError()
            return redirect_response(add_params_to_uri(
                pending.redirect_uri or "",
                [("oauth_token", pending.token), ("error", AccessDeniedError.error)],
            ))
        verifier = self.verifier_generator()
        stored = self.hooks.need("create_authorization_verifier")(
            pending.credential, grant_user, verifier
        )
        if stored is False:
            raise InvalidTokenError("The temporary credential has already been authorized.")
        if pending.is_oob:
            return oob_verifier_response(pending.token, verifier)
        return redirect_response(add_params_to_uri(
            pending.redirect_uri or "",
            [("oauth_token", pending.token), ("oauth_verifier", verifier)],
        ))

    # §2.3 ---------------------------------------------------------------
    def create_token_response(self, request: Request) -> Response:
        try:
            return self._token(request)
        except OAuth1Error as error:
            return credential_error_response(error, request.headers.get("accept-language"))

    def _token(self, request: Request) -> Response:
        _check_post(request)
        unsigned = collect(request)
        for name in ("oauth_token", "oauth_verifier"):
            if not unsigned.oauth_params.get(name):
                raise MissingRequiredParameterError(name)
        signed = authenticate(unsigned, self.policy, self.query_client, self._temporary_of)
        if not signed.credential.check_verifier(signed.verifier or ""):
            raise InvalidVerifierError()
        check_nonce(signed, self.hooks.exists_nonce)
        if self.hooks.need("delete_temporary_credential")(signed.token) is False:
            raise InvalidTokenError()  # a concurrent request consumed it first
        token = self._new_token()
        self.hooks.need("create_token_credential")(token, signed.credential)
        return form_response(200, [
            ("oauth_token", token["oauth_token"]),
            ("oauth_token_secret", token["oauth_token_secret"]),
        ])

    def _temporary_of(self, client_id: str, token: str) -> Any:
        credential = self.hooks.need("get_temporary_credential")(token)
        if credential is None or not constant_time_equals(credential.get_client_id(), client_id):
            return None
        return credential

    def _new_token(self) -> dict[str, str]:
        token = dict(self.token_generator())
        if not token.get("oauth_token") or not token.get("oauth_token_secret"):
            raise RuntimeError("the token generator must give oauth_token and oauth_token_secret")
        return token

