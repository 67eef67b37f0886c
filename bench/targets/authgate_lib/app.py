"""The authgate bench target: a provider written with authgate's public library API.

What a Flask developer following ``docs/oauth2.md``, ``docs/oauth1.md`` and
``docs/jwt.md`` would write: Flask-SQLAlchemy models on the SQLAlchemy
mixins, hand-written grants with the atomic hook helpers and the row tools
(``authgate.sqla.rows``, for the hooks' lookups and the code insert, as
``docs/oauth2.md`` shows them; the app's own user and consent lookups too), the seed-style
``create_*`` helpers, a remembered consent, and the device flow over
``SQLDeviceStore``, SQLite in WAL mode. ``BENCH_TOKEN_FORMAT`` switches access tokens to RS256 or
ES256 JWTs validated locally by ``/api/me``.

Environment: ``BENCH_DATABASE_URL``, ``BENCH_STATE_DIR`` (keys live there, so
every worker signs with the same key), ``BENCH_ISSUER``, ``BENCH_TOKEN_FORMAT``.

    gunicorn 'bench.targets.authgate_lib.app:create_app()'
    python -m bench.targets.authgate_lib.app seed      # tables, rows, keys; prints fixtures
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

import flask
from flask import jsonify, request, session
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import sessionmaker
from werkzeug.security import check_password_hash, generate_password_hash

from authgate.cache import MemoryCache
from authgate.core.oauth2.device import DeviceFlow
from authgate.core.oauth2.jwt import (
    JWTAccessTokenGenerator,
    JWTAccessTokenValidator,
    KeySet,
    SigningKey,
)
from authgate.core.oauth2.jwt_bearer import JWTBearerTokenValidator
from authgate.flask.oauth1 import AuthorizationServer as OAuth1Server
from authgate.flask.oauth1 import ResourceProtector as OAuth1Protector
from authgate.flask.oauth1 import current_credential
from authgate.flask.oauth2 import AuthorizationServer, ResourceProtector, current_token
from authgate.oauth2 import CodeChallenge, OAuth2Error, grants
from authgate.sqla import oauth1 as sqla_oauth1
from authgate.sqla.device import DeviceCodeMixin, SQLDeviceStore
from authgate.sqla.oauth1 import (
    OAuth1ClientMixin,
    OAuth1TimestampNonceMixin,
    OAuth1TokenCredentialMixin,
)
from authgate.sqla.oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    consume_authorization_code,
    create_bearer_token_validator,
    create_query_client_func,
    create_revoke_token_family_func,
    create_save_token_func,
    rotate_refresh_token,
)
from authgate.sqla.rows import RowInserter, RowLoader
from bench.targets import fixtures as fx

db = SQLAlchemy()


# -- models -------------------------------------------------------------------------
class User(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(40), unique=True, nullable=False)
    password_hash = db.Column(db.String(255), nullable=False)

    def get_user_id(self):
        return self.id


class Client(db.Model, OAuth2ClientMixin):
    __tablename__ = "oauth2_client"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))


class AuthorizationCode(db.Model, OAuth2AuthorizationCodeMixin):
    __tablename__ = "oauth2_code"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
    user = db.relationship("User")


class Token(db.Model, OAuth2TokenMixin):
    __tablename__ = "oauth2_token"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
    user = db.relationship("User")


class Consent(db.Model):
    """Scopes a user already granted a client: the consent page is skipped for them."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    client_id = db.Column(db.String(48), index=True)
    scope = db.Column(db.Text, default="")


class DeviceCode(db.Model, DeviceCodeMixin):
    __tablename__ = "oauth2_device_code"
    id = db.Column(db.Integer, primary_key=True)


class OAuth1Client(db.Model, OAuth1ClientMixin):
    __tablename__ = "oauth1_client"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))


class OAuth1Token(db.Model, OAuth1TokenCredentialMixin):
    __tablename__ = "oauth1_token"
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
    user = db.relationship("User")


class OAuth1Nonce(db.Model, OAuth1TimestampNonceMixin):
    __tablename__ = "oauth1_nonce"
    id = db.Column(db.Integer, primary_key=True)


# -- grants ---------------------------------------------------------------------------
# As docs/oauth2.md writes them on the engine ("Keeping the token endpoint out of the
# session"): each lookup, the code's insert and each single-use decision is one
# statement on a pooled connection of its own; no session is built for a code flow.
insert_code = RowInserter(AuthorizationCode)
code_by_value = RowLoader(AuthorizationCode, AuthorizationCode.code, related=["user"])
token_by_refresh = RowLoader(Token, Token.refresh_token, related=["user"])
user_by_id = RowLoader(User, User.id)
consent_of = RowLoader(Consent, Consent.user_id, Consent.client_id)


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        item = AuthorizationCode(
            code=code, client_id=request.client.client_id,
            redirect_uri=request.redirect_uri, scope=request.scope,
            user_id=request.user.id,
            code_challenge=request.data.get("code_challenge"),
            code_challenge_method=request.data.get("code_challenge_method"),
        )
        insert_code.insert_committed(db.engine, item)
        return item

    def query_authorization_code(self, code, client):
        item = code_by_value.load_detached(db.engine, code)
        return item if item is not None and item.client_id == client.client_id else None

    def delete_authorization_code(self, authorization_code):
        return consume_authorization_code(db.engine, authorization_code)

    def authenticate_user(self, authorization_code):
        return authorization_code.user  # read with the code


class RefreshTokenGrant(grants.RefreshTokenGrant):
    def authenticate_refresh_token(self, refresh_token):
        return token_by_refresh.load_detached(db.engine, refresh_token)

    def authenticate_user(self, credential):
        return credential.user

    def revoke_old_credential(self, credential):
        return rotate_refresh_token(db.engine, credential)


# -- JWT keys -------------------------------------------------------------------------
def _key_path(state_dir: str, alg: str) -> pathlib.Path:
    return pathlib.Path(state_dir) / f"signing-{alg}.pem"


def load_signing_key(state_dir: str, alg: str) -> SigningKey:
    return SigningKey.from_pem(_key_path(state_dir, alg).read_bytes(), alg, created_at=0)


# -- the app ------------------------------------------------------------------------
def create_app(env: dict[str, str] | None = None) -> flask.Flask:
    env = dict(os.environ if env is None else env)
    issuer = env.get("BENCH_ISSUER", "http://127.0.0.1:8000")
    token_format = fx.token_format(env)
    app = flask.Flask(__name__)
    app.config.update(
        SECRET_KEY=fx.SECRET_KEY,
        SQLALCHEMY_DATABASE_URI=env["BENCH_DATABASE_URL"],
        OAUTH2_ISSUER=issuer,
        OAUTH2_TOKEN_EXPIRES_IN={"default": 3600},
        OAUTH1_SUPPORTED_SIGNATURE_METHODS=["HMAC-SHA1"],
    )
    jwt_keys = None
    if token_format != "opaque":
        jwt_keys = KeySet([load_signing_key(env["BENCH_STATE_DIR"], token_format)])
        app.config["OAUTH2_ACCESS_TOKEN_GENERATOR"] = JWTAccessTokenGenerator(
            issuer, jwt_keys, default_audience=fx.AUDIENCE, expires_in=3600)
    db.init_app(app)
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":  # WAL for several workers, as docs/oauth2.md recommends
        event.listen(engine, "connect", fx.sqlite_wal)

    # The client lookup and the token insert on the engine's own connections, outside
    # db.session, as docs/oauth2.md shows for a token endpoint.
    server = AuthorizationServer()
    server.init_app(app, query_client=create_query_client_func(engine, Client),
                    save_token=create_save_token_func(engine, Token))
    server.revoke_token_family = create_revoke_token_family_func(db.session, Token)
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(grants.ClientCredentialsGrant)

    flow = DeviceFlow(
        SQLDeviceStore(sessionmaker(bind=engine), DeviceCode), MemoryCache(),
        query_client=create_query_client_func(engine, Client),
        get_user=lambda user_id: db.session.get(User, int(user_id)),
        interval=0,  # every poll is answered authorization_pending, never slow_down
    )
    server.register_grant(flow.grant_class)
    server.register_endpoint(flow.endpoint_class)

    require_oauth = ResourceProtector()
    if jwt_keys is not None:
        validator = JWTAccessTokenValidator(issuer, fx.AUDIENCE, jwt_keys.jwks(time.time()))
        require_oauth.register_token_validator(JWTBearerTokenValidator(validator))
    else:
        require_oauth.register_token_validator(
            create_bearer_token_validator(engine, Token)())

    # The signed request's lookups and its nonce on the engine's own connections, as
    # docs/oauth1.md shows for a resource protector: no session for a protected view.
    oauth1 = OAuth1Server()
    oauth1.init_app(app, query_client=sqla_oauth1.create_query_client_func(
        engine, OAuth1Client))
    sqla_oauth1.register_nonce_hooks(oauth1, engine, OAuth1Nonce)
    sqla_oauth1.register_token_credential_hooks(oauth1, db.session, OAuth1Token)
    require_oauth1 = OAuth1Protector(
        app,
        query_client=sqla_oauth1.create_query_client_func(engine, OAuth1Client),
        query_token=sqla_oauth1.create_query_token_func(engine, OAuth1Token),
        exists_nonce=sqla_oauth1.create_exists_nonce_func(engine, OAuth1Nonce),
    )

    def current_user():
        uid = session.get("uid")
        return user_by_id.load_detached(engine, uid) if uid is not None else None

    @app.post("/login")
    def login():
        user = User.query.filter_by(username=request.form.get("username")).first()
        if user is None or not check_password_hash(user.password_hash,
                                                   request.form.get("password", "")):
            return {"error": "bad credentials"}, 401
        session["uid"] = user.id
        return {"ok": True}

    @app.route("/oauth/authorize", methods=["GET", "POST"])
    def authorize():
        user = current_user()
        if user is None:
            return flask.redirect("/login")
        try:
            grant = server.get_consent_grant(end_user=user)
        except OAuth2Error as error:
            return server.handle_error_response(error)
        client_id = grant.client.client_id
        wanted = set((grant.request.scope or "").split())
        consent = consent_of.load_detached(engine, user.id, client_id)
        if request.method == "GET" and consent is not None and \
                wanted <= set(consent.scope.split()):
            return server.create_authorization_response(grant_user=user)
        if request.method == "GET":
            return {"client": grant.client.client_name, "scope": grant.request.scope}
        if request.form.get("confirm") == "yes":
            return server.create_authorization_response(grant_user=user)
        return server.create_authorization_response(grant_user=None)

    @app.post("/oauth/token")
    def issue_token():
        return server.create_token_response()

    @app.post("/oauth/device")
    def device_authorization():
        return server.create_endpoint_response("device_authorization")

    @app.get("/api/me")
    @require_oauth("profile")
    def api_me():
        if jwt_keys is not None:  # validated locally: what the token says, no database
            claims = current_token.claims
            return jsonify(sub=claims.sub, client_id=claims.client_id, scope=claims.scope)
        return jsonify(username=current_token.user.username, sub=str(current_token.user_id))

    @app.get("/oauth1/api/me")
    @require_oauth1()
    def oauth1_me():
        user = current_credential.user
        return jsonify(username=user.username, sub=str(user.id))

    @app.get("/ping")
    def ping():
        return "pong"

    return app


def seed(env: dict[str, str] | None = None) -> dict[str, object]:
    """Create the tables, the rows of :mod:`bench.targets.fixtures` and the signing keys."""
    env = dict(os.environ if env is None else env)
    state_dir = env["BENCH_STATE_DIR"]
    for alg in ("RS256", "ES256"):
        path = _key_path(state_dir, alg)
        if not path.exists():
            path.write_bytes(SigningKey.generate(alg, created_at=0).to_pem())
    app = create_app(env)
    with app.app_context():
        db.create_all()
        user = User(username=fx.USERNAME, password_hash=generate_password_hash(fx.PASSWORD))
        db.session.add(user)
        db.session.flush()
        client = Client(client_id=fx.CLIENT_ID, user_id=user.id)
        client.client_secret = fx.CLIENT_SECRET
        client.set_client_metadata({
            "client_name": "Bench client", "redirect_uris": [fx.REDIRECT_URI],
            "grant_types": fx.GRANT_TYPES, "response_types": ["code"], "scope": fx.SCOPE,
            "token_endpoint_auth_method": "client_secret_basic",
        })
        db.session.add(client)
        db.session.add(Consent(user_id=user.id, client_id=fx.CLIENT_ID, scope=fx.SCOPE))
        db.session.add(OAuth1Client(client_id=fx.OAUTH1_CLIENT_KEY,
                                    client_secret=fx.OAUTH1_CLIENT_SECRET,
                                    default_redirect_uri=fx.REDIRECT_URI, user_id=user.id))
        db.session.add(OAuth1Token(client_id=fx.OAUTH1_CLIENT_KEY, oauth_token=fx.OAUTH1_TOKEN,
                                   oauth_token_secret=fx.OAUTH1_TOKEN_SECRET, user_id=user.id))
        db.session.commit()
    return fx.fixtures(env.get("BENCH_ISSUER", ""))


if __name__ == "__main__":
    if sys.argv[1:] != ["seed"]:
        raise SystemExit("usage: python -m bench.targets.authgate_lib.app seed")
    print(json.dumps(seed()))
