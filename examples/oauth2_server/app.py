"""The application factory."""

from __future__ import annotations

import os

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from .models import db
from .oauth2 import config_oauth
from .routes import bp

csrf = CSRFProtect()


def create_app(config=None):
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=os.environ.get("SECRET_KEY") or os.urandom(32).hex(),
        SQLALCHEMY_DATABASE_URI=os.environ.get("DATABASE_URL", "sqlite:///oauth2-example.sqlite"),
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
        OAUTH2_TOKEN_EXPIRES_IN={"authorization_code": 3600, "implicit": 3600,
                                 "password": 3600, "client_credentials": 3600},
        OAUTH2_SCOPES_SUPPORTED=["profile", "email"],
    )
    if config:
        app.config.update(config)
    db.init_app(app)
    csrf.init_app(app)
    # The token-style endpoints are called by clients, not browsers: no CSRF there.
    csrf.exempt("examples.oauth2_server.routes.issue_token")
    csrf.exempt("examples.oauth2_server.routes.revoke_token")
    config_oauth(app)
    app.register_blueprint(bp)

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; frame-ancestors 'none'")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    with app.app_context():
        db.create_all()
    return app
