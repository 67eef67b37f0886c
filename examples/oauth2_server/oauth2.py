"""The OAuth 2.0 provider configuration: grants, server and resource protector."""

from __future__ import annotations

from authgate.flask.oauth2 import AuthorizationServer, ResourceProtector
from authgate.oauth2 import CodeChallenge, grants
from authgate.sqla.oauth2 import (
    consume_authorization_code,
    create_bearer_token_validator,
    create_query_client_func,
    create_revocation_endpoint,
    create_revoke_token_family_func,
    create_save_token_func,
    rotate_refresh_token,
)

from .models import OAuth2AuthorizationCode, OAuth2Client, OAuth2Token, User, db


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        auth_code = OAuth2AuthorizationCode(
            code=code,
            client_id=request.client.client_id,
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            user_id=request.user.id,
            code_challenge=request.data.get("code_challenge"),
            code_challenge_method=request.data.get("code_challenge_method"),
        )
        db.session.add(auth_code)
        db.session.commit()
        return auth_code

    def query_authorization_code(self, code, client):
        return OAuth2AuthorizationCode.query.filter_by(
            code=code, client_id=client.client_id).first()

    def delete_authorization_code(self, authorization_code):
        # One conditional DELETE: False when a concurrent request used it first.
        return consume_authorization_code(db.session, authorization_code)

    def authenticate_user(self, authorization_code):
        return db.session.get(User, authorization_code.user_id)


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    def authenticate_user(self, username, password):
        user = User.query.filter_by(username=username).first()
        if user is not None and user.check_password(password):
            return user
        return None


class RefreshTokenGrant(grants.RefreshTokenGrant):
    def authenticate_refresh_token(self, refresh_token):
        # Rotated tokens are returned too, so that a replay is recognised.
        return OAuth2Token.query.filter_by(refresh_token=refresh_token).first()

    def authenticate_user(self, credential):
        return db.session.get(User, credential.user_id)

    def revoke_old_credential(self, credential):
        return rotate_refresh_token(db.session, credential)


authorization = AuthorizationServer()
require_oauth = ResourceProtector()


def config_oauth(app):
    query_client = create_query_client_func(db.session, OAuth2Client)
    save_token = create_save_token_func(db.session, OAuth2Token)
    authorization.init_app(app, query_client=query_client, save_token=save_token)
    authorization.revoke_token_family = create_revoke_token_family_func(db.session, OAuth2Token)

    authorization.register_grant(grants.ImplicitGrant)
    authorization.register_grant(grants.ClientCredentialsGrant)
    authorization.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    authorization.register_grant(PasswordGrant)
    authorization.register_grant(RefreshTokenGrant)

    revocation_cls = create_revocation_endpoint(db.session, OAuth2Token)
    authorization.register_endpoint(revocation_cls)

    bearer_cls = create_bearer_token_validator(db.session, OAuth2Token)
    require_oauth.register_token_validator(bearer_cls())
