"""Grant and endpoint classes wired to the storage interfaces of :mod:`.storage`.

``grant_classes(store)`` returns subclasses of the seed-style grants whose
hooks call the store, so an application with a complete store registers
grants without writing hooks; ``create_server`` does all of it at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from authgate.core.oauth2.config import ServerConfig
from authgate.core.oauth2.endpoints.introspection import IntrospectionEndpoint
from authgate.core.oauth2.endpoints.revocation import RevocationEndpoint
from authgate.core.oauth2.extension import GrantExtension
from authgate.core.oauth2.grants import (
    AuthorizationCodeGrant,
    BaseGrant,
    ClientCredentialsGrant,
    ImplicitGrant,
    RefreshTokenGrant,
    ResourceOwnerPasswordCredentialsGrant,
)
from authgate.core.oauth2.pkce import CodeChallenge
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.server import AuthorizationServer
from authgate.core.oauth2.tokens import BearerTokenGenerator

__all__ = ["StoredGrants", "create_server", "grant_classes"]


@dataclass(frozen=True)
class StoredGrants:
    authorization_code: type[AuthorizationCodeGrant]
    implicit: type[ImplicitGrant]
    password: type[ResourceOwnerPasswordCredentialsGrant]
    client_credentials: type[ClientCredentialsGrant]
    refresh_token: type[RefreshTokenGrant]
    revocation: type[RevocationEndpoint]
    introspection: type[IntrospectionEndpoint]


def grant_classes(store: Any) -> StoredGrants:
    """Grant and endpoint classes whose hooks delegate to ``store``.

    ``store`` implements :class:`~.storage.ClientStore`, :class:`~.storage.UserStore`,
    :class:`~.storage.AuthorizationCodeStore` and :class:`~.storage.TokenStore`.
    """

    class StoredAuthorizationCodeGrant(AuthorizationCodeGrant):
        def save_authorization_code(self, code: str, request: OAuth2Request) -> Any:
            return store.save_authorization_code(code, request)

        def query_authorization_code(self, code: str, client: Any) -> Any:
            return store.query_authorization_code(code, client)

        def delete_authorization_code(self, authorization_code: Any) -> bool:
            return bool(store.delete_authorization_code(authorization_code))

        def authenticate_user(self, authorization_code: Any) -> Any:
            return store.get_user(authorization_code.user_id)

    class StoredPasswordGrant(ResourceOwnerPasswordCredentialsGrant):
        def authenticate_user(self, username: str, password: str) -> Any:
            return store.authenticate_user(username, password)

    class StoredRefreshTokenGrant(RefreshTokenGrant):
        def authenticate_refresh_token(self, refresh_token: str) -> Any:
            return store.query_refresh_token(refresh_token)

        def authenticate_user(self, credential: Any) -> Any:
            if credential.user_id is None:
                return None
            return store.get_user(credential.user_id)

        def revoke_old_credential(self, credential: Any) -> bool:
            return bool(store.rotate_refresh_token(credential))

    class StoredRevocationEndpoint(RevocationEndpoint):
        def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
            return store.query_token(token_string, token_type_hint)

        def revoke_token(self, token: Any, request: OAuth2Request) -> None:
            store.revoke_token(token)

    class StoredIntrospectionEndpoint(IntrospectionEndpoint):
        def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
            return store.query_token(token_string, token_type_hint)

        def introspect_token(self, token: Any) -> dict[str, Any]:
            return dict(token.introspection_claims())

    return StoredGrants(
        authorization_code=StoredAuthorizationCodeGrant,
        implicit=ImplicitGrant,
        password=StoredPasswordGrant,
        client_credentials=ClientCredentialsGrant,
        refresh_token=StoredRefreshTokenGrant,
        revocation=StoredRevocationEndpoint,
        introspection=StoredIntrospectionEndpoint,
    )


def create_server(
    store: Any,
    config: ServerConfig | None = None,
    *,
    token_generator: BearerTokenGenerator | None = None,
    pkce_required: bool = False,
    grants: Iterable[str] = ("authorization_code", "implicit", "password",
                             "client_credentials", "refresh_token"),
    extra_grants: Iterable[tuple[type[BaseGrant], list[GrantExtension]]] = (),
) -> AuthorizationServer:
    """A server with every grant and endpoint, all backed by ``store``.

    Grants are still per client: a client gets only the grant types it was
    registered for (``check_grant_type``).
    """
    classes = grant_classes(store)
    server = AuthorizationServer(
        store.query_client, store.save_token, config=config,
        token_generator=token_generator, revoke_token_family=store.revoke_token_family,
    )
    for name in grants:
        grant_cls: type[BaseGrant] = getattr(classes, name)
        extensions: list[GrantExtension] = (
            [CodeChallenge(required=pkce_required)] if name == "authorization_code" else []
        )
        server.register_grant(grant_cls, extensions)
    for grant_cls, extensions in extra_grants:
        server.register_grant(grant_cls, extensions)
    server.register_endpoint(classes.revocation)
    server.register_endpoint(classes.introspection)
    return server
