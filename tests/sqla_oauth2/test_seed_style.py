"""The seed's way: Flask-SQLAlchemy models, hand-written grants, the ``create_*`` helpers.

Models are declared as the seed declares them (``db.Model`` first, the mixin
second, ``user_id`` as a ``db.Column`` with the application's foreign key);
the helpers get ``db.session``, a ``scoped_session``. Every test runs twice:
``query_client``, ``save_token`` and the bearer validator are also given
``db.engine``, as a token endpoint that keeps out of the session does.
"""

from __future__ import annotations

from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text
from sqlalchemy.orm import DeclarativeBase

from authgate.core.http import Request, Response
from authgate.core.oauth2 import grants
from authgate.core.oauth2.grants.base import family_of_code
from authgate.core.oauth2.resource import ResourceProtector
from authgate.core.oauth2.server import AuthorizationServer
from authgate.core.security import token_digest
from authgate.sqla.oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    consume_authorization_code,
    create_bearer_token_validator,
    create_query_client_func,
    create_query_token_func,
    create_revocation_endpoint,
    create_revoke_token_family_func,
    create_save_token_func,
    rotate_refresh_token,
)
from tests.sqla_oauth2.support import ISSUER, REDIRECT, basic, oauth_request


def build(db: SQLAlchemy, bind: Any = None) -> SimpleNamespace:
    """The seed's models, server and resource protector on ``db``; the lookup and save
    hooks on ``bind`` (an engine) when given, else on ``db.session``."""
    hooks = db.session if bind is None else bind

    class User(db.Model):
        id = db.Column(db.Integer, primary_key=True)
        username = db.Column(db.String(40), unique=True)

        def get_user_id(self) -> int:
            return self.id

    class Client(db.Model, OAuth2ClientMixin):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
        user = db.relationship("User")

    class Token(db.Model, OAuth2TokenMixin):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
        user = db.relationship("User")

    class AuthorizationCode(db.Model, OAuth2AuthorizationCodeMixin):
        id = db.Column(db.Integer, primary_key=True)
        user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"))
        user = db.relationship("User")

    class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
        def save_authorization_code(self, code: str, request: Any) -> Any:
            item = AuthorizationCode(
                code=code, client_id=request.client.client_id,
                redirect_uri=request.redirect_uri, scope=request.scope,
                user_id=request.user.id)
            db.session.add(item)
            db.session.commit()
            return item

        def query_authorization_code(self, code: str, client: Any) -> Any:
            return AuthorizationCode.query.filter_by(
                code=code, client_id=client.client_id).first()

        def delete_authorization_code(self, authorization_code: Any) -> bool:
            return consume_authorization_code(db.session, authorization_code)

        def authenticate_user(self, authorization_code: Any) -> Any:
            return db.session.get(User, authorization_code.user_id)

    class RefreshTokenGrant(grants.RefreshTokenGrant):
        def authenticate_refresh_token(self, refresh_token: str) -> Any:
            return Token.query.filter_by(refresh_token=refresh_token).first()

        def authenticate_user(self, credential: Any) -> Any:
            return db.session.get(User, credential.user_id)

        def revoke_old_credential(self, credential: Any) -> bool:
            return rotate_refresh_token(db.session, credential)

    server = AuthorizationServer(
        create_query_client_func(hooks, Client),
        create_save_token_func(hooks, Token),
        revoke_token_family=create_revoke_token_family_func(db.session, Token),
    )
    server.register_grant(AuthorizationCodeGrant)
    server.register_grant(RefreshTokenGrant)
    server.register_grant(grants.ClientCredentialsGrant)
    server.register_endpoint(create_revocation_endpoint(db.session, Token))
    protector = ResourceProtector()
    protector.register_token_validator(create_bearer_token_validator(hooks, Token)())
    return SimpleNamespace(db=db, User=User, Client=Client, Token=Token,
                           AuthorizationCode=AuthorizationCode, server=server,
                           protector=protector)


@pytest.fixture(params=["session", "engine"])
def seed(tmp_path, request) -> Iterator[SimpleNamespace]:
    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'seed.db'}"
    db = SQLAlchemy()
    db.init_app(app)
    with app.app_context():
        env = build(db, db.engine if request.param == "engine" else None)
        env.bind = request.param
    with app.app_context():
        db.create_all()
        env.user = env.User(username="alice")
        env.client = env.Client(client_id="seed-client", client_secret="seed-secret")
        env.client.set_client_metadata({
            "redirect_uris": [REDIRECT], "scope": "profile",
            "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
            "response_types": ["code"]})
        db.session.add_all([env.user, env.client])
        db.session.commit()
        yield env
        db.session.remove()
        db.engine.dispose()


def token(env: SimpleNamespace, data: dict[str, str]) -> Response:
    request = Request.build("POST", ISSUER + "/token", form=data,
                            headers=basic("seed-client", "seed-secret"))
    return env.server.create_token_response(request)


def authorize(env: SimpleNamespace) -> str:
    query = urlencode({"response_type": "code", "client_id": "seed-client",
                       "redirect_uri": REDIRECT, "scope": "profile"})
    request = Request.build("GET", ISSUER + "/authorize?" + query)
    response = env.server.create_authorization_response(request, grant_user=env.user)
    assert response.status == 302, response.body
    return parse_qs(urlsplit(response.header("Location") or "").query)["code"][0]


def redeem(env: SimpleNamespace, code: str) -> Response:
    return token(env, {"grant_type": "authorization_code", "code": code,
                       "redirect_uri": REDIRECT})


def resource_status(env: SimpleNamespace, access_token: str) -> int:
    request = Request.build("GET", ISSUER + "/api",
                            headers={"Authorization": "Bearer " + access_token})
    try:
        env.protector.validate_request(None, request)
    except Exception as error:
        return int(getattr(error, "status", 500))
    return 200


def raw_tokens(env: SimpleNamespace) -> list[Any]:
    sql = "SELECT access_token, refresh_token, user_id, family FROM token"
    return [tuple(row) for row in env.db.session.execute(text(sql))]


def test_authorization_code_saves_user_family_and_digests_only(seed):
    code = authorize(seed)
    resp = redeem(seed, code)
    assert resp.status == 200, resp.body
    body = resp.json()
    assert raw_tokens(seed) == [(token_digest(body["access_token"]),
                                 token_digest(body["refresh_token"]),
                                 seed.user.id, family_of_code(code))]
    assert resource_status(seed, body["access_token"]) == 200


def test_code_replay_revokes_through_the_family_helper(seed):
    code = authorize(seed)
    first = redeem(seed, code).json()
    replay = redeem(seed, code)
    assert replay.status == 400 and replay.json()["error"] == "invalid_grant"
    assert resource_status(seed, first["access_token"]) == 401


def test_refresh_rotation_and_replay(seed):
    first = redeem(seed, authorize(seed)).json()
    refreshed = token(seed, {"grant_type": "refresh_token",
                             "refresh_token": first["refresh_token"]})
    assert refreshed.status == 200, refreshed.body
    second = refreshed.json()
    assert resource_status(seed, first["access_token"]) == 401
    assert resource_status(seed, second["access_token"]) == 200
    replay = token(seed, {"grant_type": "refresh_token",
                          "refresh_token": first["refresh_token"]})
    assert replay.status == 400
    assert resource_status(seed, second["access_token"]) == 401


def test_client_credentials_token_has_no_user(seed):
    resp = token(seed, {"grant_type": "client_credentials"})
    assert resp.status == 200, resp.body
    [(_access, refresh, user_id, family)] = raw_tokens(seed)
    assert refresh is None and user_id is None and family


def test_revocation_endpoint_and_bearer_validator(seed):
    body = redeem(seed, authorize(seed)).json()
    request = Request.build("POST", ISSUER + "/revoke", headers=basic("seed-client",
                                                                       "seed-secret"),
                            form={"token": body["access_token"]})
    assert seed.server.create_endpoint_response("revocation", request).status == 200
    assert resource_status(seed, body["access_token"]) == 401
    assert resource_status(seed, "never-issued") == 401


def test_query_token_func_honours_hints_without_depending_on_them(seed):
    body = redeem(seed, authorize(seed)).json()
    query_token = create_query_token_func(seed.db.session, seed.Token)
    record = query_token(body["access_token"], None)
    assert query_token(body["access_token"], "refresh_token") is record
    assert query_token(body["refresh_token"], "access_token") is record
    assert query_token(body["refresh_token"], "refresh_token") is record
    assert query_token("unknown", None) is None


def test_save_token_func_without_a_user(seed):
    bind = seed.db.engine if seed.bind == "engine" else seed.db.session
    save = create_save_token_func(bind, seed.Token)
    record = save({"token_type": "Bearer", "access_token": "x" * 40, "expires_in": 10,
                   "id_token": "ignored"}, oauth_request(client=seed.client))
    assert record.user_id is None and record.access_token == token_digest("x" * 40)
    assert record.get_expires_in() == 10


def test_mixins_on_a_flask_sqlalchemy_declarative_base(tmp_path):
    class Base(DeclarativeBase):
        pass

    app = Flask(__name__)
    app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'typed.db'}"
    db = SQLAlchemy(model_class=Base)
    env = build(db)
    db.init_app(app)
    with app.app_context():
        db.create_all()
        db.session.add(env.Client(client_id="typed", client_secret="s"))
        db.session.commit()
        found = create_query_client_func(db.session, env.Client)("typed")
        assert found.check_client_secret("s")
        db.session.remove()
        db.engine.dispose()
