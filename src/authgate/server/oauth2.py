"""The OAuth 2.0 side of the server, assembled from the library's public pieces.

``SQLAlchemyStore`` backs every grant through ``grant_classes``; the Flask
``AuthorizationServer`` takes them, with JWT access tokens minted by
``JWTAccessTokenGenerator`` over the worker's :class:`~.keys.KeyRing`. The
server's own resources (``/api/me``) validate the JWT locally and then look
its digest up among the issued tokens, which is what lets them honour a
revocation at once while outside resource servers wait for ``exp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from authgate.core.oauth2.device import DeviceFlow
from authgate.core.oauth2.jwt import JWTAccessTokenGenerator, JWTAccessTokenValidator, TokenContext
from authgate.core.oauth2.jwt_bearer import JWTBearerTokenValidator, JWTToken
from authgate.core.oauth2.nmos import check_client_credentials_scope, make_get_extra_claims
from authgate.flask.oauth2 import AuthorizationServer, ResourceProtector
from authgate.oauth2 import CodeChallenge, InvalidScopeError, OAuth2Request, grant_classes
from authgate.server.audit import AuditLog
from authgate.server.config import Settings
from authgate.server.database import Database
from authgate.server.keys import KeyRing
from authgate.server.models import (
    DeviceCode,
    OAuth2AuthorizationCode,
    OAuth2Client,
    OAuth2Token,
    User,
    load_user,
    verify_dummy_password,
)
from authgate.server.ratelimit import AuthFailureLimiter
from authgate.server.registration import ServerRegistration, build_private_key_jwt
from authgate.sqla.device import SQLDeviceStore
from authgate.sqla.oauth2 import SQLAlchemyStore, create_query_client_func, save_token_record
from authgate.sqla.rows import RowLoader

__all__ = ["OAuth2Parts", "ServerToken", "build_oauth2", "flask_settings"]

#: Grants offered to clients registered for them; implicit and password only on request.
GRANTS = ("authorization_code", "implicit", "password", "client_credentials", "refresh_token")
NMOS_GRANTS = ("authorization_code", "client_credentials", "refresh_token")


@dataclass
class OAuth2Parts:
    server: AuthorizationServer
    require_oauth: ResourceProtector
    store: SQLAlchemyStore
    generator: JWTAccessTokenGenerator
    validator: JWTAccessTokenValidator
    devices: DeviceFlow
    auth_limiter: AuthFailureLimiter


def flask_settings(settings: Settings, generator: JWTAccessTokenGenerator) -> dict[str, Any]:
    """The library's ``OAUTH2_*`` keys for these settings."""
    return {
        "OAUTH2_ISSUER": settings.issuer,
        "OAUTH2_SCOPES_SUPPORTED": list(settings.scopes),
        "OAUTH2_INSECURE_TRANSPORT": settings.insecure_transport,
        "OAUTH2_ACCESS_TOKEN_GENERATOR": generator,
        "OAUTH2_REFRESH_TOKEN_GENERATOR": True,
        "OAUTH2_TOKEN_DEFAULT_EXPIRES_IN": settings.token_lifetime,
        "OAUTH2_CLOCK": settings.clock,
    }


def _authenticate(db: Database):  # type: ignore[no-untyped-def]
    def authenticate_user(username: str, password: str) -> User | None:
        user = db.session.execute(
            select(User).filter_by(username=username)).scalar_one_or_none()
        if user is None:
            verify_dummy_password(password)
            return None
        return user if user.check_password(password) else None

    return authenticate_user


def _get_user(db: Database):  # type: ignore[no-untyped-def]
    def get_user(user_id: Any) -> User | None:
        return load_user(db.session, user_id)  # the device store keeps ids as text

    return get_user


def _access_rights(db: Database):  # type: ignore[no-untyped-def]
    get_user = _get_user(db)

    def rights_of(ctx: TokenContext) -> str | None:
        """The NMOS rights of the user a token speaks for (``create-user --scope``, sign-up).

        ``ctx.user`` should carry the user, but the library's BearerTokenGenerator
        passes only ``user_id`` to a JWT generator, so the user is loaded by id.
        """
        user = ctx.user if ctx.user is not None else get_user(ctx.user_id)
        return getattr(user, "scopes", None)

    return rights_of


def build_oauth2(app: Any, settings: Settings, db: Database, keys: KeyRing,
                 audit: AuditLog, cache: Any) -> OAuth2Parts:
    # The token endpoint's reads and single-use decisions on the engine's own pooled
    # connections (codes, refresh tokens, their users): no session transaction around
    # a code exchange or a refresh. Authorization, consent and revocation use the session.
    store = SQLAlchemyStore(db.session, OAuth2Client, OAuth2Token, OAuth2AuthorizationCode,
                            User, authenticate_user=_authenticate(db), clock=settings.clock,
                            engine=db.engine)
    classes = grant_classes(store)
    grant_map = _audited_grants(classes, store, settings, audit)

    class PasswordGrant(classes.password):  # type: ignore[name-defined,misc]
        """The password grant, limited to the access rights the user may grant."""

        def authenticate_user(self, username: str, password: str) -> Any:
            user = super().authenticate_user(username, password)
            if user is not None and not user.may_grant(self.validate_requested_scope()):
                raise InvalidScopeError()
            return user

    def save_token(token: dict[str, Any], request: OAuth2Request) -> Any:
        """The token and its audit row, in one transaction on a connection of their own
        (no session: the token endpoint has nothing else to write)."""
        grant_type = request.grant_type or "implicit"
        event = audit.joining(
            "token.refreshed" if grant_type == "refresh_token" else "token.issued",
            actor=getattr(request.user, "username", None),
            client_id=request.client.get_client_id(), grant_type=grant_type,
            scope=token.get("scope"), auth_method=request.auth_method,
            refresh_token_issued="refresh_token" in token)
        record = save_token_record(db.engine, OAuth2Token, token, request,
                                   clock=settings.clock, write_with=event.write)
        event.log()  # once the row has committed with the token
        return record

    # IS-10: x-nmos-<api> claims from the user's rights, for the granted scope only.
    extra_claims = make_get_extra_claims(_access_rights(db)) if settings.nmos else None
    generator = JWTAccessTokenGenerator(settings.issuer, keys, default_audience=settings.audience,
                                        clock=settings.clock, get_extra_claims=extra_claims,
                                        expires_in=settings.token_lifetime)
    app.config.update(flask_settings(settings, generator))
    # Clients are read on a pooled connection of their own, not through the request's
    # session: every token request, authorization and device poll starts with one, and
    # the detached client is all the grants need (docs/oauth2.md, "Keeping the token
    # endpoint out of the session"). Tokens are stored the same way (save_token above),
    # and so are the token endpoint's code and refresh-token steps (the store's engine);
    # issuing codes and remembering consent stay in the request's session.
    query_client = create_query_client_func(db.engine, OAuth2Client)
    server = AuthorizationServer(query_client=query_client, save_token=save_token,
                                 revoke_token_family=store.revoke_token_family)
    server.init_app(app)
    grant_map["password"] = PasswordGrant
    for name in NMOS_GRANTS if settings.nmos else GRANTS:
        extensions = [CodeChallenge(required=settings.nmos, allow_plain=False)] \
            if name == "authorization_code" else []
        server.register_grant(grant_map[name], extensions)
    server.register_endpoint(grant_map["revocation"])
    server.register_endpoint(classes.introspection)
    # RFC 7523 at the token, revocation and introspection endpoints (they all take it).
    server.register_client_auth_method(build_private_key_jwt(settings, cache))
    # The device flow (RFC 8628): polling pace and the user-code rate limit live in the
    # cache, so they are shared between processes only with Redis.
    devices = DeviceFlow(SQLDeviceStore(db.session_factory, DeviceCode), cache,
                         query_client=query_client, get_user=_get_user(db),
                         clock=settings.clock, verification_uri=settings.issuer + "/activate",
                         interval=settings.device_interval)
    devices.register(server)
    # After every grant: registration offers what the token endpoint serves.
    server.register_endpoint(ServerRegistration(server.core, settings, db, audit))

    validator = JWTAccessTokenValidator(settings.issuer, settings.audience, keys,
                                        clock=settings.clock)

    class ServerTokenValidator(JWTBearerTokenValidator):
        """A valid JWT that is also still live among the issued tokens."""

        def authenticate_token(self, token_string: str) -> JWTToken | None:
            token = super().authenticate_token(token_string)
            if token is None:
                return None
            # One SELECT on a pooled connection: the token's row and its user together.
            record = _LIVE_TOKEN.load_detached(db.engine, token_string)
            return ServerToken(token.claims, revoked=record is None or record.is_revoked(),
                               user=record.user if record is not None else None)

    require_oauth = ResourceProtector()
    require_oauth.register_token_validator(
        ServerTokenValidator(validator, realm=settings.issuer, clock=settings.clock))
    limiter = AuthFailureLimiter(cache, settings.clock)
    return OAuth2Parts(server, require_oauth, store, generator, validator, devices, limiter)


#: A JWT's row among the issued tokens, with the user it was issued to (one SELECT).
_LIVE_TOKEN = RowLoader(OAuth2Token, OAuth2Token.access_token, related=("user",))


@dataclass(frozen=True)
class ServerToken(JWTToken):
    """A validated JWT with the user its row names (None for a client's own token, or
    once the user is gone), read with the row: ``/api/me`` needs no query of its own."""

    user: User | None = None


def _audited_grants(classes: Any, store: SQLAlchemyStore, settings: Settings,
                    audit: AuditLog) -> dict[str, Any]:
    """The stored grant classes, with the audit events and IS-10 rules the server adds."""

    class AuthorizationCodeGrant(classes.authorization_code):  # type: ignore[misc]
        def save_authorization_code(self, code: str, request: OAuth2Request) -> Any:
            """The code and its ``authorization.code_issued`` entry, in one transaction."""
            event = audit.joining("authorization.code_issued",
                                  actor=getattr(request.user, "username", None),
                                  client_id=request.client.get_client_id(),
                                  scope=request.scope,
                                  pkce=bool(request.data.get("code_challenge")))
            saved = store.save_authorization_code(code, request, write_with=event.write)
            event.log()  # once the row has committed with the code
            return saved

    class ClientCredentialsGrant(classes.client_credentials):  # type: ignore[misc]
        def validate_token_request(self) -> None:
            super().validate_token_request()
            if settings.nmos:  # IS-10: Nodes reach only the registration and events APIs
                check_client_credentials_scope(self.request.scope)

    class RevocationEndpoint(classes.revocation):  # type: ignore[misc]
        def revoke_token(self, token: Any, request: OAuth2Request) -> None:
            super().revoke_token(token, request)
            audit.record("token.revoked", client_id=request.client.get_client_id(),
                         hint=request.data.get("token_type_hint"))

    return {"authorization_code": AuthorizationCodeGrant, "implicit": classes.implicit,
            "password": classes.password, "client_credentials": ClientCredentialsGrant,
            "refresh_token": classes.refresh_token, "revocation": RevocationEndpoint}
