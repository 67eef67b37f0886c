"""The seed set-up with SQLAlchemy only: no cache at all."""

import os

from flask import Flask

from authgate.flask.oauth1 import AuthorizationServer, ResourceProtector
from authgate.sqla.oauth1 import (
    create_exists_nonce_func,
    create_query_client_func,
    create_query_token_func,
    register_nonce_hooks,
    register_temporary_credential_hooks,
    register_token_credential_hooks,
)

from .models import Client, TemporaryCredential, TimestampNonce, TokenCredential, db
from .views import register_views

server = AuthorizationServer()
require_oauth = ResourceProtector()


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY", "change me"),
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///oauth1-example.db"),
        OAUTH1_SUPPORTED_SIGNATURE_METHODS=["HMAC-SHA1", "PLAINTEXT", "RSA-SHA1"],
    )
    app.config.update(config or {})
    db.init_app(app)
    with app.app_context():
        db.create_all()

    query_client = create_query_client_func(db.session, Client)
    server.init_app(app, query_client=query_client)
    register_nonce_hooks(server, db.session, TimestampNonce)
    register_temporary_credential_hooks(server, db.session, TemporaryCredential)
    register_token_credential_hooks(server, db.session, TokenCredential)

    query_token = create_query_token_func(db.session, TokenCredential)
    exists_nonce = create_exists_nonce_func(db.session, TimestampNonce)
    require_oauth.init_app(
        app, query_client=query_client, query_token=query_token, exists_nonce=exists_nonce
    )
    register_views(app, server, require_oauth)
    return app
