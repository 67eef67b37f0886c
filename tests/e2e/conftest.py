from __future__ import annotations

import pytest

from tests.support.live import live_server


@pytest.fixture
def example_oauth2(tmp_path, monkeypatch):
    """The seed-style example app on a live loopback port, with a user and clients."""
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    from examples.oauth2_server.app import create_app
    from examples.oauth2_server.models import OAuth2Client, User, db

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'example.sqlite'}",
                      "SECRET_KEY": "test-secret"})
    with live_server(app) as base_url:
        with app.app_context():
            user = User(username="alice")
            user.set_password("wonderland")
            db.session.add(user)
            db.session.commit()
            clients = {}
            for name, method, grants, responses in [
                ("confidential", "client_secret_basic",
                 ["authorization_code", "refresh_token", "password", "client_credentials"],
                 ["code"]),
                ("post", "client_secret_post",
                 ["authorization_code", "refresh_token", "client_credentials"], ["code"]),
                ("public", "none", ["authorization_code", "refresh_token", "implicit"],
                 ["code", "token"]),
            ]:
                client = OAuth2Client(client_id=f"{name}-client-id", user_id=user.id)
                client.set_client_metadata({
                    "client_name": name, "redirect_uris": [f"{base_url}/cb"],
                    "grant_types": grants, "response_types": responses,
                    "scope": "profile email", "token_endpoint_auth_method": method,
                })
                secret = None
                if method != "none":
                    secret = f"{name}-secret-value"
                    client.client_secret = secret
                db.session.add(client)
                clients[name] = (client.client_id, secret)
            db.session.commit()
        yield base_url, clients, app
