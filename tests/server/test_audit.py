"""The audit log: a table row and a JSON line per event, never a secret."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from authgate.server.audit import AUDIT_LOGGER, redact
from authgate.server.models import AuditEvent, OAuth2AuthorizationCode, OAuth2Token
from tests.server.conftest import PASSWORD, Server
from tests.server.test_oauth2_flows import _authorize_url, _basic, _consent
from tests.support.postgres import fresh_postgres


def _lines(caplog) -> list[dict]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == AUDIT_LOGGER]


def test_issue_refresh_revoke_and_registration_are_audited(server: Server, caplog) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    server.user()
    info = server.client("cli", grant_types=("password", "refresh_token"), redirect_uris=())
    web = server.app.test_client()
    issued = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "password", "username": "alice", "password": PASSWORD,
        "scope": "profile"}).get_json()
    refreshed = web.post("/oauth/token", headers=_basic(info), data={
        "grant_type": "refresh_token", "refresh_token": issued["refresh_token"]}).get_json()
    assert web.post("/oauth/revoke", headers=_basic(info),
                    data={"token": refreshed["refresh_token"]}).status_code == 200
    web.post("/oauth/register", json={"redirect_uris": ["https://a.example.com/cb"]})
    lines = _lines(caplog)
    kinds = [line["event"] for line in lines]
    for kind in ("client.registered", "token.issued", "token.refreshed", "token.revoked"):
        assert kind in kinds
    issue = next(line for line in lines if line["event"] == "token.issued")
    assert issue["actor"] == "alice" and issue["client_id"] == info["client_id"]
    assert issue["grant_type"] == "password" and issue["scope"] == "profile"
    with server.state.db.session_factory() as session:
        rows = session.query(AuditEvent).all()
    assert {r.kind for r in rows} >= set(kinds)
    # No secret, token or password anywhere, in the lines or the rows.
    everything = json.dumps(lines) + "".join(r.detail for r in rows)
    for secret in (info["client_secret"], PASSWORD, issued["access_token"],
                   issued["refresh_token"], refreshed["refresh_token"]):
        assert secret not in everything


def test_sign_in_is_recorded_without_the_password(server: Server, caplog) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    with server.app.app_context():
        server.state.audit.sign_in("alice", success=True, remote_addr="192.0.2.1")
        server.state.audit.sign_in("mallory" * 30, success=False, remote_addr="192.0.2.9")
    ok, failed = _lines(caplog)[-2:]
    assert ok["event"] == "user.login" and ok["actor"] == "alice"
    assert ok["remote_addr"] == "192.0.2.1"
    assert failed["event"] == "user.login_failed" and len(failed["actor"]) == 80


def test_careless_details_are_redacted(server: Server, caplog) -> None:
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    with server.app.app_context():
        server.state.audit.record("test.event", client_id="c", client_secret="s3cr3t",
                                  password="pw", refresh_token="rt", code="c0de",
                                  client_assertion="eyJ", scope="profile")
    line = _lines(caplog)[-1]
    assert line["scope"] == "profile"
    assert not {"client_secret", "password", "refresh_token", "code",
                "client_assertion"} & set(line)
    assert redact({"Authorization": "Basic x", "grant_type": "password"}) == {
        "grant_type": "password"}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    if request.param == "sqlite":
        yield {}
        return
    with fresh_postgres(request.getfixturevalue("postgres_url")) as url:
        yield {"AUTHGATE_DATABASE_URL": url}


def test_a_token_and_its_audit_row_commit_together(make_server, database, caplog) -> None:
    """The ``token.issued`` row joins the token's transaction: when the row cannot be
    written, the token is not stored either, and no line claims it was issued."""
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    server = make_server(**database)
    info = server.client("svc", grant_types=("client_credentials",), redirect_uris=())
    web = server.app.test_client()
    form = {"grant_type": "client_credentials", "scope": "profile"}
    assert web.post("/oauth/token", headers=_basic(info), data=form).status_code == 200
    assert server.count(OAuth2Token) == 1
    assert [r.kind for r in _rows(server)].count("token.issued") == 1

    # An audit table no row fits (a CHECK no kind meets): the INSERT fails inside the
    # token's transaction, after the token's own INSERT.
    with server.state.db.engine.begin() as connection:
        connection.execute(text("ALTER TABLE audit_event RENAME TO audit_event_away"))
        connection.execute(text("CREATE TABLE audit_event (id INTEGER PRIMARY KEY, "
                                "at FLOAT, kind VARCHAR(40) CHECK (kind = 'never'), "
                                "actor VARCHAR(120), client_id VARCHAR(48), detail TEXT)"))
    caplog.clear()
    answer = web.post("/oauth/token", headers=_basic(info), data=form)
    assert answer.status_code == 500 and "access_token" not in answer.get_data(as_text=True)
    assert server.count(OAuth2Token) == 1  # the second token was rolled back with its row
    assert "token.issued" not in [line["event"] for line in _lines(caplog)]


def _rows(server: Server) -> list[AuditEvent]:
    with server.state.db.session_factory() as session:
        return list(session.query(AuditEvent).all())


def test_a_code_and_its_audit_row_commit_together(make_server, database, caplog) -> None:
    """``authorization.code_issued`` joins the code's transaction: when its row cannot be
    written, no code is stored, none reaches the client, and no line claims one was
    issued (the consent itself, recorded before, stands)."""
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    server = make_server(**database)
    server.user()
    info = server.client()
    web = server.app.test_client()
    server.login(web)
    answer = _consent(web, _authorize_url(info))
    assert answer.status_code == 302 and "code=" in answer.headers["Location"]
    assert server.count(OAuth2AuthorizationCode) == 1
    assert [r.kind for r in _rows(server)].count("authorization.code_issued") == 1

    engine = server.state.db.engine
    key = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    with engine.begin() as connection:  # a table the one kind cannot enter
        connection.execute(text("ALTER TABLE audit_event RENAME TO audit_event_away"))
        connection.execute(text(f"CREATE TABLE audit_event (id {key} PRIMARY KEY, "
                                "at FLOAT, kind VARCHAR(40) "
                                "CHECK (kind <> 'authorization.code_issued'), "
                                "actor VARCHAR(120), client_id VARCHAR(48), detail TEXT)"))
    caplog.clear()
    answer = web.get(_authorize_url(info))  # consent remembered: the code at once
    assert answer.status_code == 500 and "code=" not in answer.headers.get("Location", "")
    assert server.count(OAuth2AuthorizationCode) == 1  # rolled back with its row
    events = [line["event"] for line in _lines(caplog)]
    assert "authorization.code_issued" not in events and "authorization.granted" in events
