"""The reference target: the same provider written with Authlib, from its documented API.

Runs in ``bench/.venv-ref`` (Authlib, Flask, Flask-SQLAlchemy, gunicorn from
PyPI), never with authgate importable. Laid out as Authlib's Flask OAuth 2.0
and OAuth 1.0 server documentation describes: Flask-SQLAlchemy models on
``authlib.integrations.sqla_oauth2`` mixins, grant subclasses with their
hooks, ``CodeChallenge(required=True)``, ``create_query_client_func`` /
``create_save_token_func`` / ``create_bearer_token_validator``, the RFC 8628
endpoint and grant, the RFC 9068 generator and validator for JWT access
tokens, and Flask OAuth 1 ``ResourceProtector`` with SQLAlchemy hooks.

Same environment variables and fixtures as the authgate target; SQLite keeps
Flask-SQLAlchemy's defaults (rollback journal) unless ``BENCH_SQLITE_WAL=1``.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import time

os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # plain http on loopback

import flask
from authlib.integrations.flask_oauth1 import ResourceProtector as OAuth1Protector
from authlib.integrations.flask_oauth1 import current_credential
from authlib.integrations.flask_oauth2 import (
    AuthorizationServer,
    ResourceProtector,
    current_token,
)
from authlib.integrations.sqla_oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    create_bearer_token_validator,
    create_query_client_func,
    create_save_token_func,
)
from authlib.oauth1.rfc5849.models import ClientMixin, TokenCredentialMixin
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc8628 import (
    DeviceAuthorizationEndpoint,
    DeviceCodeGrant,
    DeviceCredentialMixin,
)
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator, JWTBearerTokenValidator
from flask import jsonify, request, session
from flask_sqlalchemy import SQLAlchemy
from joserfc.jwk import ECKey, RSAKey
from sqlalchemy import event
from werkzeug.security import check_password_hash, generate_password_hash

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


class Token(db.Model, OAuth2TokenMixin):
    __tablename__ = "oauth2_token"
    id = db.Column(db.Integer, primary_key=True)
    # The mixin's String(255) is too short for RS256 JWTs, which PostgreSQL enforces.
    access_token = db.Column(db.String(2048), unique=True, nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
    user = db.relationship("User")


class Consent(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    client_id = db.Column(db.String(48), index=True)
    scope = db.Column(db.Text, default="")


class DeviceCredential(db.Model, DeviceCredentialMixin):
    __tablename__ = "oauth2_device_credential"
    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(48), index=True)
    scope = db.Column(db.Text, default="")
    device_code = db.Column(db.String(64), unique=True, index=True)
    user_code = db.Column(db.String(16), unique=True, index=True)
    expires_at = db.Column(db.Integer)
    # Set by the verification page when the user decides: None means still pending.
    user_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=True)
    approved = db.Column(db.Boolean, nullable=True)

    def get_client_id(self):
        return self.client_id

    def get_scope(self):
        return self.scope

    def get_user_code(self):
        return self.user_code

    def is_expired(self):
        return self.expires_at < time.time()


class OAuth1Client(db.Model, ClientMixin):
    __tablename__ = "oauth1_client"
    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(48), unique=True, index=True)
    client_secret = db.Column(db.String(120))
    default_redirect_uri = db.Column(db.Text, default="")
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))

    def get_default_redirect_uri(self):
        return self.default_redirect_uri

    def get_client_secret(self):
        return self.client_secret

    def get_rsa_public_key(self):
        return None


class OAuth1Token(db.Model, TokenCredentialMixin):
    __tablename__ = "oauth1_token"
    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(48), index=True)
    oauth_token = db.Column(db.String(84), unique=True, index=True)
    oauth_token_secret = db.Column(db.String(84))
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
    user = db.relationship("User")

    def get_oauth_token(self):
        return self.oauth_token

    def get_oauth_token_secret(self):
        return self.oauth_token_secret


class OAuth1Nonce(db.Model):
    __tablename__ = "oauth1_nonce"
    __table_args__ = (db.UniqueConstraint("client_id", "timestamp", "nonce", "oauth_token"),)
    id = db.Column(db.Integer, primary_key=True)
    client_id = db.Column(db.String(48), nullable=False)
    timestamp = db.Column(db.Integer, nullable=False)
    nonce = db.Column(db.String(48), nullable=False)
    oauth_token = db.Column(db.String(84))


# -- grants and endpoints -----------------------------------------------------------------
class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        item = AuthorizationCode(
            code=code, client_id=request.client.client_id,
            redirect_uri=request.payload.redirect_uri, scope=request.payload.scope,
            user_id=request.user.id,
            code_challenge=request.payload.data.get("code_challenge"),
            code_challenge_method=request.payload.data.get("code_challenge_method"),
        )
        db.session.add(item)
        db.session.commit()
        return item

    def query_authorization_code(self, code, client):
        item = AuthorizationCode.query.filter_by(code=code, client_id=client.client_id).first()
        if item and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        db.session.delete(authorization_code)
        db.session.commit()

    def authenticate_user(self, authorization_code):
        return db.session.get(User, authorization_code.user_id)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    def authenticate_refresh_token(self, refresh_token):
        item = Token.query.filter_by(refresh_token=refresh_token).first()
        if item and item.is_refresh_token_valid():
            return item
        return None

    def authenticate_user(self, credential):
        return db.session.get(User, credential.user_id)

    def revoke_old_credential(self, credential):
        credential.refresh_token_revoked_at = int(time.time())
        db.session.add(credential)
        db.session.commit()


class DeviceEndpoint(DeviceAuthorizationEndpoint):
    CLIENT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def get_verification_uri(self):
        return os.environ.get("BENCH_ISSUER", "http://127.0.0.1:8000") + "/activate"

    def save_device_credential(self, client_id, scope, data):
        item = DeviceCredential(
            client_id=client_id, scope=scope, device_code=data["device_code"],
            user_code=data["user_code"], expires_at=int(time.time()) + data["expires_in"],
        )
        db.session.add(item)
        db.session.commit()


class DeviceGrant(DeviceCodeGrant):
    def query_device_credential(self, device_code):
        return DeviceCredential.query.filter_by(device_code=device_code).first()

    def query_user_grant(self, user_code):
        item = DeviceCredential.query.filter_by(user_code=user_code).first()
        if item is None or item.approved is None:
            return None
        return db.session.get(User, item.user_id), bool(item.approved)

    def should_slow_down(self, credential):
        return False


# -- JWT (RFC 9068) -----------------------------------------------------------------------
def _key_path(state_dir: str, alg: str) -> pathlib.Path:
    return pathlib.Path(state_dir) / f"reference-{alg}.pem"


def _load_key(state_dir: str, alg: str):
    pem = _key_path(state_dir, alg).read_bytes()
    key_type = RSAKey if alg.startswith("RS") else ECKey
    return key_type.import_key(pem, {"use": "sig", "alg": alg, "kid": f"bench-{alg}"})


class BenchJWTGenerator(JWTBearerTokenGenerator):
    def __init__(self, issuer, alg, key):
        super().__init__(issuer, alg=alg)
        self._key = key

    def get_jwks(self):
        return self._key  # imported once at start, as the docs' load_jwks() would cache

    def get_audiences(self, client, user, scope):
        return fx.AUDIENCE


class BenchJWTValidator(JWTBearerTokenValidator):
    def __init__(self, issuer, resource_server, public_key):
        super().__init__(issuer, resource_server)
        self._public_key = public_key

    def get_jwks(self):
        return self._public_key


# -- the app ------------------------------------------------------------------------
def create_app(env: dict[str, str] | None = None) -> flask.Flask:
    env = dict(os.environ if env is None else env)
    issuer = env.get("BENCH_ISSUER", "http://127.0.0.1:8000")
    token_format = fx.token_format(env)
    app = flask.Flask(__name__)
    app.config.update(
        SECRET_KEY=fx.SECRET_KEY,
        SQLALCHEMY_DATABASE_URI=env["BENCH_DATABASE_URL"],
        OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": 3600, "client_credentials": 3600},
        OAUTH1_SUPPORTED_SIGNATURE_METHODS=["HMAC-SHA1"],
    )
    db.init_app(app)
    if env.get("BENCH_SQLITE_WAL") == "1":  # sensitivity runs only, see docs/performance.md
        with app.app_context():
            if db.engine.dialect.name == "sqlite":
                event.listen(db.engine, "connect", fx.sqlite_wal)

    server = AuthorizationServer()
    server.init_app(app, query_client=create_query_client_func(db.session, Client),
                    save_token=create_save_token_func(db.session, Token))
    server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=True)])
    server.register_grant(RefreshTokenGrant)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_grant(DeviceGrant)
    server.register_endpoint(DeviceEndpoint)

    require_oauth = ResourceProtector()
    jwt_mode = token_format != "opaque"
    if jwt_mode:
        key = _load_key(env["BENCH_STATE_DIR"], token_format)
        server.register_token_generator("default", BenchJWTGenerator(issuer, token_format, key))
        public = type(key).import_key(key.as_dict(private=False))
        require_oauth.register_token_validator(BenchJWTValidator(issuer, fx.AUDIENCE, public))
    else:
        require_oauth.register_token_validator(
            create_bearer_token_validator(db.session, Token)())

    def query_oauth1_client(client_id):
        return OAuth1Client.query.filter_by(client_id=client_id).first()

    def query_oauth1_token(client_id, oauth_token):
        return OAuth1Token.query.filter_by(client_id=client_id, oauth_token=oauth_token).first()

    def exists_nonce(nonce, timestamp, client_id, oauth_token):
        timestamp = int(timestamp)  # Authlib passes the header's string
        q = OAuth1Nonce.query.filter_by(nonce=nonce, timestamp=timestamp,
                                        client_id=client_id, oauth_token=oauth_token)
        if q.first() is not None:
            return True
        db.session.add(OAuth1Nonce(nonce=nonce, timestamp=timestamp, client_id=client_id,
                                   oauth_token=oauth_token))
        db.session.commit()
        return False

    require_oauth1 = OAuth1Protector(app, query_client=query_oauth1_client,
                                     query_token=query_oauth1_token, exists_nonce=exists_nonce)

    def current_user():
        uid = session.get("uid")
        return db.session.get(User, uid) if uid is not None else None

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
            return server.handle_error_response(request, error)
        client_id = grant.client.client_id
        wanted = set((grant.request.payload.scope or "").split())
        consent = Consent.query.filter_by(user_id=user.id, client_id=client_id).first()
        if request.method == "GET" and consent is not None and \
                wanted <= set(consent.scope.split()):
            return server.create_authorization_response(grant_user=user)
        if request.method == "GET":
            return {"client": grant.client.client_name, "scope": grant.request.payload.scope}
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
        if jwt_mode:
            claims = current_token
            return jsonify(sub=claims["sub"], client_id=claims["client_id"],
                           scope=claims["scope"])
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
    env = dict(os.environ if env is None else env)
    state_dir = env["BENCH_STATE_DIR"]
    for alg in ("RS256", "ES256"):
        path = _key_path(state_dir, alg)
        if not path.exists():
            key = RSAKey.generate_key(2048) if alg.startswith("RS") else \
                ECKey.generate_key("P-256")
            path.write_bytes(key.as_pem(private=True))
    app = create_app(env)
    with app.app_context():
        db.create_all()
        user = User(username=fx.USERNAME, password_hash=generate_password_hash(fx.PASSWORD))
        db.session.add(user)
        db.session.flush()
        client = Client(client_id=fx.CLIENT_ID, client_secret=fx.CLIENT_SECRET,
                        client_id_issued_at=int(time.time()), user_id=user.id)
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
        raise SystemExit("usage: python -m bench.targets.reference.app seed")
    print(json.dumps(seed()))
