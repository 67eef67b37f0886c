"""A live seed-style example server, in each storage variant, with one registered client."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.support.live import live_server

CALLBACK = "https://client.example/callback"


@dataclass
class LiveExample:
    base: str
    app: object
    client_id: str
    client_secret: str
    private_key: str

    def logged_in_browser(self, name: str = "alice") -> requests.Session:
        browser = requests.Session()
        browser.post(self.base + "/login", data={"username": name}, allow_redirects=False)
        return browser

    def approve(self, browser: requests.Session, authorization_url: str) -> requests.Response:
        page = browser.get(authorization_url)
        assert page.status_code == 200, page.text
        token = authorization_url.split("oauth_token=", 1)[1].split("&", 1)[0]
        return browser.post(self.base + "/authorize",
                            data={"oauth_token": token, "granted": "yes"}, allow_redirects=False)


@pytest.fixture(scope="module")
def rsa_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_pair(key: rsa.RSAPrivateKey) -> tuple[str, str]:
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(params=["cache-memory", "cache-redis", "sqla-sqlite"])
def example(request: pytest.FixtureRequest, tmp_path, rsa_private_key) -> Iterator[LiveExample]:
    yield from _example(request, request.param, tmp_path, rsa_private_key)


def _example(request, variant, tmp_path, rsa_private_key) -> Iterator[LiveExample]:
    from examples.oauth1_server import app_cache, app_sqla
    from examples.oauth1_server.models import Client, db

    config = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/example.db",
              "SECRET_KEY": uuid.uuid4().hex}
    if variant == "cache-redis":
        config["REDIS_URL"] = request.getfixturevalue("redis_url")
        config["REDIS_PREFIX"] = request.getfixturevalue("redis_prefix")
    if variant == "sqla-postgres":
        config["SQLALCHEMY_DATABASE_URI"] = request.getfixturevalue("postgres_url")
    app = (app_cache if variant.startswith("cache") else app_sqla).create_app(config)
    private, public = _pem_pair(rsa_private_key)
    client_id, secret = "client-" + uuid.uuid4().hex[:12], "secret-" + uuid.uuid4().hex
    with app.app_context():
        db.session.add(Client(client_id=client_id, client_secret=secret,
                              default_redirect_uri=CALLBACK, rsa_public_key=public))
        db.session.commit()
    with live_server(app) as base:
        yield LiveExample(base, app, client_id, secret, private)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def example_on_postgres(request: pytest.FixtureRequest, tmp_path,
                        rsa_private_key) -> Iterator[LiveExample]:
    yield from _example(request, "sqla-postgres", tmp_path, rsa_private_key)
