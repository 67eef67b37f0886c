"""Health endpoints, and 503 with Retry-After (never a 500) when a backing service is down."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from oauthlib.oauth1 import Client as OAuth1Signer

from authgate.server import admin
from tests.conftest import free_port
from tests.server.conftest import PASSWORD, Server, csrf_of


def test_live_and_ready(server: Server) -> None:
    web = server.app.test_client()
    assert web.get("/health/live").get_json() == {"status": "ok"}
    ready = web.get("/health/ready")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"database": True, "cache": True}


def test_database_down_answers_503(server: Server, tmp_path: Path) -> None:
    server.user()
    web = server.app.test_client()
    page = web.get("/login").get_data(as_text=True)
    database = tmp_path / "authgate.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    os.mkdir(database)  # the file is now a directory: SQLite cannot open it
    server.state.db.engine.dispose()
    try:
        answer = web.post("/login", data={"username": "alice", "password": PASSWORD,
                                          "csrf_token": csrf_of(page)})
        assert answer.status_code == 503 and answer.headers["Retry-After"]
        assert answer.get_json()["error"] == "temporarily_unavailable"
        ready = web.get("/health/ready")
        assert ready.status_code == 503 and ready.get_json()["checks"]["database"] is False
        assert web.get("/health/live").status_code == 200
        token = web.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": "Basic eDp5"})
        assert token.status_code == 503
    finally:
        shutil.rmtree(database)


def test_redis_down_answers_503(make_server) -> None:
    server = make_server(AUTHGATE_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with server.app.app_context():
        client = admin.create_oauth1_client("printer", "", None)
    ready = server.app.test_client().get("/health/ready")
    assert ready.status_code == 503 and ready.get_json()["checks"] == {"database": True,
                                                                       "cache": False}
    signer = OAuth1Signer(client["client_id"], client_secret=client["client_secret"],
                          callback_uri="oob")
    _, headers, _ = signer.sign("http://localhost/oauth1/initiate", http_method="POST")
    answer = server.app.test_client().post("/oauth1/initiate", headers=headers)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
