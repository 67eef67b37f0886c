"""The audit log: a table row and a JSON line per event, never a secret."""

from __future__ import annotations

import json
import logging

from authgate.server.audit import AUDIT_LOGGER, redact
from authgate.server.models import AuditEvent
from tests.server.conftest import PASSWORD, Server
from tests.server.test_oauth2_flows import _basic


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
