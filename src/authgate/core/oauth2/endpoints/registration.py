"""Dynamic client registration (RFC 7591).

A client POSTs its metadata as JSON and gets back a ``client_id`` (and a
secret, unless it is public) with the metadata as registered. Every member is
checked before anything is stored, so a refused request leaves no trace.

The policy is the product's (SPEC §4): registration is open for clients that
only use the authorization code grant (with refresh tokens), because such a
client can do nothing until a user consents; any other grant lets a client
act on its own, so it needs an initial access token (RFC 7591 §3, a Bearer
token in ``Authorization``) that an operator handed out.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from authgate.core.http import Request, Response, json_response
from authgate.core.oauth2.client_assertion import parse_client_jwks
from authgate.core.oauth2.errors import (
    InvalidClientMetadataError,
    InvalidRedirectURIError,
    InvalidRequestError,
    InvalidSoftwareStatementError,
    InvalidTokenError,
)
from authgate.core.oauth2.grants.base import TokenEndpointMixin
from authgate.core.oauth2.jwt.jws import parse_json_object
from authgate.core.oauth2.redirect import redirect_uri_is_acceptable
from authgate.core.oauth2.responses import bearer_challenge
from authgate.core.oauth2.scope import list_to_scope, scope_to_list
from authgate.core.oauth2.server import Endpoint
from authgate.core.security import generate_token

if TYPE_CHECKING:
    from authgate.core.oauth2.server import AuthorizationServer

__all__ = ["OPEN_GRANT_TYPES", "ClientRegistrationEndpoint", "bearer_token"]

log = logging.getLogger(__name__)

#: Grants a client may register for without an initial access token.
OPEN_GRANT_TYPES = frozenset({"authorization_code", "refresh_token"})
#: §2.1: the grant type each response type implies, and back.
REDIRECT_GRANTS = (("authorization_code", "code"), ("implicit", "token"))
HUMAN_URI_MEMBERS = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
TEXT_MEMBERS = ("client_name", "software_id", "software_version")
_LOCALIZED = re.compile(r"(client_name|client_uri|logo_uri|tos_uri|policy_uri)#[A-Za-z0-9-]{1,35}")
_LOOPBACK_IPS = frozenset({"127.0.0.1", "::1"})
MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 2048
REDIRECT_RULE = ("Redirect URIs must be absolute https URLs, or http URLs on a loopback IP "
                 "address, without a fragment.")

SaveClient = Callable[[dict[str, Any], Request], Any]
AuthenticateToken = Callable[[Request], Any]
VerifySoftwareStatement = Callable[[str, Request], Mapping[str, Any]]


def bearer_token(request: Request) -> str | None:
    """The token of an ``Authorization: Bearer`` header (RFC 6750 §2.1), if any."""
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _invalid_token(description: str) -> InvalidTokenError:
    error = InvalidTokenError(description)
    error.headers = (("WWW-Authenticate", bearer_challenge(error, None)),)
    return error


def _text(raw: Mapping[str, Any], name: str) -> str | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT:
        raise InvalidClientMetadataError("'{name}' must be a string.", params={"name": name})
    return value


def _text_list(raw: Mapping[str, Any], name: str, *, allow_empty: bool) -> list[str] | None:
    value = raw.get(name)
    if value is None:
        return None
    if not isinstance(value, list) or (not value and not allow_empty) or len(value) > 100 \
            or not all(isinstance(v, str) and v and len(v) <= MAX_TEXT for v in value):
        raise InvalidClientMetadataError("'{name}' must be a list of strings.",
                                         params={"name": name})
    return list(dict.fromkeys(value))


def _web_url(value: str, *, https_only: bool) -> bool:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    schemes = {"https"} if https_only else {"https", "http"}
    return parts.scheme in schemes and bool(parts.hostname) and parts.username is None \
        and not parts.fragment and "#" not in value


def redirect_uri_allowed(uri: str) -> bool:
    """https, or http on a loopback IP for native apps (RFC 8252 §7.3, §8.3)."""
    if not redirect_uri_is_acceptable(uri):
        return False
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK_IPS)


class ClientRegistrationEndpoint(Endpoint):
    """The RFC 7591 registration endpoint; register it, route POSTs to it.

    Hooks, as constructor arguments or overridden methods: ``save_client(metadata,
    request)`` stores the client (``metadata`` holds ``client_id`` and the clear
    ``client_secret``, seen only this once: store its hash);
    ``authenticate_token(request)`` returns something truthy for a valid initial
    access token (see :func:`bearer_token`); ``verify_software_statement(jwt,
    request)`` returns the statement's claims or raises
    :class:`InvalidSoftwareStatementError`; without it statements are ignored
    (§3.1.1). ``check_policy`` is where a profile adds its own rules.
    """

    ENDPOINT_NAME = "registration"

    def __init__(
        self,
        server: AuthorizationServer,
        *,
        save_client: SaveClient | None = None,
        authenticate_token: AuthenticateToken | None = None,
        verify_software_statement: VerifySoftwareStatement | None = None,
        client_id_length: int = 24,
        allowed_grant_types: Iterable[str] | None = None,
        open_grant_types: Collection[str] = OPEN_GRANT_TYPES,
        default_scope: str = "",
    ) -> None:
        super().__init__(server)
        if not 16 <= client_id_length <= 255:
            raise ValueError("client_id_length must be between 16 and 255")
        self._save_client = save_client
        self._authenticate_token = authenticate_token
        self._verify_software_statement = verify_software_statement
        self.client_id_length = client_id_length
        self.allowed_grant_types = None if allowed_grant_types is None \
            else frozenset(allowed_grant_types)
        self.open_grant_types = frozenset(open_grant_types)
        self.default_scope = default_scope

    # -- hooks ------------------------------------------------------------------------
    def save_client(self, metadata: dict[str, Any], request: Request) -> Any:
        if self._save_client is None:
            raise NotImplementedError("ClientRegistrationEndpoint needs save_client")
        return self._save_client(metadata, request)

    def authenticate_token(self, request: Request) -> Any:
        """By default no initial access token is valid: registration is open-grants only."""
        return self._authenticate_token(request) if self._authenticate_token else None

    def verify_software_statement(self, statement: str,
                                  request: Request) -> Mapping[str, Any] | None:
        if self._verify_software_statement is None:
            return None
        return self._verify_software_statement(statement, request)

    def check_policy(self, metadata: dict[str, Any], token: Any, request: Request) -> None:
        """Raise an :class:`OAuth2Error` to refuse validated metadata (profile rules)."""

    # -- what the server offers --------------------------------------------------------
    def supported_grant_types(self) -> list[str]:
        grants = list(self.server.token_grants)
        if "token" in self.server.authorization_grants:
            grants.append("implicit")
        if self.allowed_grant_types is not None:
            grants = [g for g in grants if g in self.allowed_grant_types]
        return grants

    def supported_auth_methods(self) -> list[str]:
        used = {m for cls, _ in self.server.token_grants.values()
                for m in cls.TOKEN_ENDPOINT_AUTH_METHODS}
        if "token" in self.server.authorization_grants:
            used.add("none")
        return [m for m in self.server.auth_methods if m in used]

    # -- the endpoint -------------------------------------------------------------------
    def create_endpoint_response(self, request: Request) -> Response:
        self.server.check_transport(request)
        if request.method != "POST":
            raise InvalidRequestError("The request must use the POST method.")
        if request.content_type != "application/json":
            raise InvalidRequestError("The request body must be application/json.")
        token = self._initial_token(request)
        raw = self._parse_body(request.body)
        statement = self._software_statement(raw, request)
        if statement is not None:
            raw = {**raw, **statement[1]}  # §2.3: the statement's values win
        metadata = self.validate_metadata(raw)
        if not set(metadata["grant_types"]) <= self.open_grant_types and not token:
            raise _invalid_token(
                "An initial access token is required to register these grant types.")
        if statement is not None:
            metadata["software_statement"] = statement[0]
        self.check_policy(metadata, token, request)
        registered = self._credentials(metadata)
        self.save_client(dict(registered), request)
        log.info("registered client %s for %s", registered["client_id"],
                 " ".join(metadata["grant_types"]))
        return json_response(201, registered)

    def _initial_token(self, request: Request) -> Any:
        """§3: a presented token must be valid even where none is needed."""
        if "authorization" not in request.headers:
            return None
        token = self.authenticate_token(request) if bearer_token(request) else None
        if not token:
            raise _invalid_token("The initial access token is invalid.")
        return token

    @staticmethod
    def _parse_body(body: bytes) -> dict[str, Any]:
        if len(body) > MAX_BODY_BYTES:
            raise InvalidRequestError("The request body is too large.")
        try:
            return parse_json_object(body)
        except (ValueError, UnicodeError):
            raise InvalidClientMetadataError("The request body must be a JSON object.") from None

    def _software_statement(self, raw: Mapping[str, Any],
                            request: Request) -> tuple[str, Mapping[str, Any]] | None:
        """§2.3: verified claims, or ``None`` when the hook does not take statements."""
        statement = raw.get("software_statement")
        if statement is None:
            return None
        if not isinstance(statement, str):
            raise InvalidSoftwareStatementError()
        try:
            claims = self.verify_software_statement(statement, request)
        except ValueError:
            raise InvalidSoftwareStatementError() from None
        if claims is None:
            return None  # §3.1.1: a server without support ignores it
        return statement, {k: v for k, v in claims.items() if k != "software_statement"}

    def _credentials(self, metadata: dict[str, Any]) -> dict[str, Any]:
        """§3.2.1: what the server adds; the secret exists in clear only in this answer."""
        issued: dict[str, Any] = {
            "client_id": generate_token(self.client_id_length),
            "client_id_issued_at": int(self.server.now()),
        }
        if metadata["token_endpoint_auth_method"] not in {"none", "private_key_jwt"}:
            issued["client_secret"] = generate_token(48)
            issued["client_secret_expires_at"] = 0
        return {**issued, **metadata}

    # -- metadata, member by member in the order of §2 ------------------------------------
    def validate_metadata(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The registered metadata: known members only, checked and normalised."""
        grant_types, response_types = self._types(raw)
        metadata: dict[str, Any] = {
            "redirect_uris": self._redirect_uris(raw, grant_types),
            "token_endpoint_auth_method": self._auth_method(raw, grant_types),
            "grant_types": grant_types,
            "response_types": response_types,
        }
        for name in (*TEXT_MEMBERS[:1], *HUMAN_URI_MEMBERS):
            value = self._human(raw, name)
            if value is not None:
                metadata[name] = value
        for name in raw:
            if _LOCALIZED.fullmatch(name):
                metadata[name] = self._human(raw, name)
        metadata["scope"] = self._scope(raw)
        contacts = _text_list(raw, "contacts", allow_empty=True)
        if contacts:
            metadata["contacts"] = contacts
        metadata.update(self._keys(raw, metadata["token_endpoint_auth_method"]))
        for name in TEXT_MEMBERS[1:]:
            value = _text(raw, name)
            if value is not None:
                metadata[name] = value
        return metadata

    def _types(self, raw: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """``grant_types`` and ``response_types``, each derived from the other when left out.

        §2's defaults (``authorization_code`` / ``code``) apply when both are
        missing; deriving a missing one keeps a ``client_credentials``-only
        client from being handed the ``code`` response type it cannot use.
        """
        grants = _text_list(raw, "grant_types", allow_empty=False)
        responses = _text_list(raw, "response_types", allow_empty=True)
        if grants is None and responses is None:
            grants, responses = ["authorization_code"], ["code"]
        elif grants is None:
            grants = [g for g, r in REDIRECT_GRANTS if r in (responses or ())]
            if not grants:
                raise InvalidClientMetadataError("'grant_types' and 'response_types' do not match.")
        elif responses is None:
            responses = [r for g, r in REDIRECT_GRANTS if g in grants]
        assert grants is not None and responses is not None
        supported = self.supported_grant_types()
        for grant_type in grants:
            if grant_type not in supported:
                raise InvalidClientMetadataError(
                    "The grant type '{grant_type}' is not available for registration.",
                    params={"grant_type": grant_type[:64]})
        for response_type in responses:
            if response_type not in self.server.authorization_grants:
                raise InvalidClientMetadataError(
                    "The response type '{response_type}' is not available for registration.",
                    params={"response_type": response_type[:64]})
        for grant_type, response_type in REDIRECT_GRANTS:
            if (grant_type in grants) != (response_type in responses):
                raise InvalidClientMetadataError("'grant_types' and 'response_types' do not match.")
        return grants, responses

    def _redirect_uris(self, raw: Mapping[str, Any], grant_types: list[str]) -> list[str]:
        uris = _text_list(raw, "redirect_uris", allow_empty=True) or []
        if not uris and any(g for g, _ in REDIRECT_GRANTS if g in grant_types):
            raise InvalidRedirectURIError(
                "'redirect_uris' is required for the grant types asked for.")
        for uri in uris:
            if not redirect_uri_allowed(uri):
                raise InvalidRedirectURIError(REDIRECT_RULE)
        return uris

    def _auth_method(self, raw: Mapping[str, Any], grant_types: list[str]) -> str:
        method = _text(raw, "token_endpoint_auth_method") or "client_secret_basic"
        if method not in self.supported_auth_methods():
            raise InvalidClientMetadataError(
                "The authentication method '{method}' is not supported.",
                params={"method": method[:64]})
        for grant_type in grant_types:
            entry = self.server.token_grants.get(grant_type)
            if grant_type == "implicit":
                fits = method == "none"  # the implicit grant is for public clients only
            elif entry is not None and issubclass(entry[0], TokenEndpointMixin):
                fits = method in entry[0].TOKEN_ENDPOINT_AUTH_METHODS
            else:
                fits = True
            if not fits:
                raise InvalidClientMetadataError(
                    "The grant type '{grant_type}' cannot be used with authentication method "
                    "'{method}'.", params={"grant_type": grant_type, "method": method})
        return method

    @staticmethod
    def _human(raw: Mapping[str, Any], name: str) -> str | None:
        value = _text(raw, name)
        if value is not None and not name.startswith("client_name") \
                and not _web_url(value, https_only=False):
            raise InvalidClientMetadataError("'{name}' must be an https or http URL.",
                                             params={"name": name.split("#")[0]})
        return value

    def _scope(self, raw: Mapping[str, Any]) -> str:
        value = raw.get("scope", self.default_scope)
        if not isinstance(value, str):
            raise InvalidClientMetadataError("'{name}' must be a string.", params={"name": "scope"})
        wanted = scope_to_list(value)
        supported = self.server.config.scopes_supported
        for scope in wanted:
            if supported is not None and scope not in supported:
                raise InvalidClientMetadataError("The scope '{scope}' is not available.",
                                                 params={"scope": scope[:64]})
        return list_to_scope(wanted)

    @staticmethod
    def _keys(raw: Mapping[str, Any], method: str) -> dict[str, Any]:
        """§2: ``jwks`` and ``jwks_uri`` are exclusive; private_key_jwt needs one."""
        jwks, jwks_uri = raw.get("jwks"), raw.get("jwks_uri")
        if jwks is not None and jwks_uri is not None:
            raise InvalidClientMetadataError("'jwks' and 'jwks_uri' must not both be present.")
        if jwks is not None:
            try:
                if not isinstance(jwks, dict) or not parse_client_jwks(jwks, strict=True):
                    raise ValueError("no usable key")
            except ValueError:
                raise InvalidClientMetadataError(
                    "'jwks' must hold public signature keys.") from None
            return {"jwks": jwks}
        if jwks_uri is not None:
            if not isinstance(jwks_uri, str) or not _web_url(jwks_uri, https_only=True):
                raise InvalidClientMetadataError("'jwks_uri' must be an https URL.")
            return {"jwks_uri": jwks_uri}
        if method == "private_key_jwt":
            raise InvalidClientMetadataError("'private_key_jwt' needs 'jwks' or 'jwks_uri'.")
        return {}
