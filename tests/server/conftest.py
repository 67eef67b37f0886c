"""Fixtures for the ready-to-run server: a real SQLite file per test, real keys.

ES256 keys by default (fast to make); the interop tests use the RS256 default.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import pytest

from authgate.server import create_app
from authgate.server.app import state

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "wonderland-42"


def csrf_of(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token in page"
    return match.group(1)


def server_config(tmp_path: Path, **extra: Any) -> dict[str, Any]:
    return {
        "AUTHGATE_INSTANCE_PATH": str(tmp_path / "instance"),
        "AUTHGATE_DATABASE_URL": f"sqlite:///{tmp_path / 'authgate.sqlite'}",
        "AUTHGATE_JWT_ALG": "ES256",
        **extra,
    }


@dataclass
class Server:
    app: flask.Flask
    path: Path

    @property
    def state(self) -> Any:
        return state(self.app)

    def user(self, name: str = "alice", scopes: str = "profile email") -> Any:
        from authgate.server import admin

        with self.app.app_context():
            return admin.create_user(name, PASSWORD, scopes)

    def client(self, name: str = "app", grant_types: tuple[str, ...] = (),
               redirect_uris: tuple[str, ...] = ("https://app.example.com/cb",),
               scope: str = "profile email", auth_method: str = "client_secret_basic"
               ) -> dict[str, Any]:
        from authgate.server import admin

        with self.app.app_context():
            return admin.create_oauth2_client(name, list(grant_types), list(redirect_uris),
                                              scope, auth_method)

    def count(self, model: type[Any]) -> int:
        from sqlalchemy import func, select

        with self.state.db.session_factory() as session:
            return int(session.execute(select(func.count()).select_from(model)).scalar_one())

    def login(self, web: Any, username: str = "alice", password: str = PASSWORD) -> None:
        page = web.get("/login")
        answer = web.post("/login", data={"username": username, "password": password,
                                          "csrf_token": csrf_of(page.get_data(as_text=True))})
        assert answer.status_code == 303, answer.get_data(as_text=True)


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    made: list[Server] = []

    def make(**extra: Any) -> Server:
        app = create_app(server_config(tmp_path, **extra))
        server = Server(app, tmp_path)
        made.append(server)
        return server

    yield make
    for server in made:
        server.state.db.dispose()


@pytest.fixture
def server(make_server: Callable[..., Server]) -> Server:
    return make_server()
