"""The commits of the single-use helpers keep what the request has loaded.

``consume_authorization_code`` and ``rotate_refresh_token`` commit before the
token is made; the grant then reads the client and the user again. Those
instances must stay loaded (no SELECT per attribute afterwards), unless the
commit also flushes changes of the session's own: then everything is expired,
as ``expire_on_commit`` asks. On SQLite and PostgreSQL.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker

from authgate.core.security import generate_token
from authgate.sqla.oauth2 import consume_authorization_code, rotate_refresh_token
from tests.sqla_oauth2.support import REDIRECT, AuthorizationCode, Client, Token
from tests.support.concurrency import race


def _seed(sql) -> tuple[int, int, str, str]:
    user = sql.add_user("alice", "pw")
    client, _ = sql.add_client(redirect_uris=[REDIRECT],
                               grant_types=["authorization_code", "refresh_token"])
    code, refresh = generate_token(32), generate_token(48)
    sql.session.add(AuthorizationCode(code=code, client_id=client.client_id,
                                      redirect_uri=REDIRECT, scope="profile",
                                      user_id=user.id, auth_time=1000))
    sql.session.add(Token(client_id=client.client_id, token_type="Bearer",
                          access_token=generate_token(32), refresh_token=refresh,
                          scope="profile", issued_at=1000, expires_in=3600, user_id=user.id))
    sql.session.commit()
    ids = (user.id, client.id)
    sql.session.remove()
    return ids[0], ids[1], code, refresh


def _load(session: Any, code: str, refresh: str) -> tuple[Any, Any, Any]:
    client = session.execute(select(Client)).scalar_one()
    code_row = session.execute(
        select(AuthorizationCode).filter_by(code=code)).scalar_one()
    token = session.execute(select(Token).filter_by(refresh_token=refresh)).scalar_one()
    return client, code_row, token


def _sql_on_access(sql, *instances: Any) -> list[str]:
    """The statements that reading every instance's attributes runs."""
    counter: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        counter.append(statement)

    event.listen(sql.engine, "before_cursor_execute", record)
    try:
        for instance in instances:
            for column in type(instance).__table__.columns:
                getattr(instance, column.key)
    finally:
        event.remove(sql.engine, "before_cursor_execute", record)
    return counter


def _code_rows(sql) -> int:
    table = AuthorizationCode.__table__.name
    with sql.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


@pytest.mark.parametrize("helper", ["consume", "rotate"])
def test_the_decision_commits_and_keeps_the_loaded_instances(sql, helper):
    _, _, code, refresh = _seed(sql)
    session = sql.session
    client, code_row, token = _load(session, code, refresh)
    if helper == "consume":
        assert consume_authorization_code(session, code_row) is True
        assert _code_rows(sql) == 0  # committed: another connection sees it gone
        kept: tuple[Any, ...] = (client, token)
    else:
        assert rotate_refresh_token(session, token, now=2000) is True
        with sql.engine.connect() as conn:  # committed
            revoked = conn.execute(select(Token.refresh_token_revoked_at)).scalar_one()
        assert revoked == 2000
        assert token.refresh_token_revoked_at == 2000
        kept = (client, code_row)
    assert not session().in_transaction()
    assert _sql_on_access(sql, *kept) == []  # nothing was expired
    assert session().expire_on_commit is True  # the session's own setting is back


def test_pending_changes_of_the_session_are_committed_and_expire_as_usual(sql):
    _, _, code, refresh = _seed(sql)
    session = sql.session
    client, code_row, token = _load(session, code, refresh)
    client.client_id_issued_at = 4242  # the application's own change, not yet flushed
    assert consume_authorization_code(session, code_row) is True
    assert _sql_on_access(sql, token)  # expired by this commit: reloaded
    with sql.engine.connect() as conn:
        stored = conn.execute(select(Client.client_id_issued_at)).scalar_one()
    assert stored == 4242
    assert session().expire_on_commit is True


def test_a_session_without_expire_on_commit_keeps_its_setting(sql):
    _, _, code, refresh = _seed(sql)
    session = Session(sql.engine, expire_on_commit=False)
    try:
        client, code_row, _ = _load(session, code, refresh)
        assert consume_authorization_code(session, code_row) is True
        assert session.expire_on_commit is False
        assert _sql_on_access(sql, client) == []
    finally:
        session.close()


def test_a_failed_commit_gives_the_setting_back(sql):
    _, _, code, refresh = _seed(sql)
    factory = sessionmaker(sql.engine)
    session = scoped_session(factory)

    def refuse(_session: Any) -> None:
        raise RuntimeError("commit refused")

    try:
        _, code_row, _ = _load(session, code, refresh)
        event.listen(session(), "before_commit", refuse)
        with pytest.raises(RuntimeError, match="commit refused"):
            consume_authorization_code(session, code_row)
        assert session().expire_on_commit is True
        session.rollback()
        assert _code_rows(sql) == 1  # nothing was committed
    finally:
        session.remove()


# -- the engine forms: records read outside the session, decisions committed alone ------------
def _detached(sql, code: str, refresh: str) -> tuple[Any, Any]:
    from authgate.sqla.rows import RowLoader

    code_row = RowLoader(AuthorizationCode, AuthorizationCode.code).load_detached(
        sql.engine, code)
    token = RowLoader(Token, Token.refresh_token).load_detached(sql.engine, refresh)
    return code_row, token


@pytest.mark.parametrize("listened", [False, True])
def test_engine_decisions_have_one_winner_and_commit_alone(sql, listened):
    """On the engine: the first call wins and its decision is committed; a second loses
    and changes nothing. Through Core when something listens to the engine."""
    _, _, code, refresh = _seed(sql)
    code_row, token = _detached(sql, code, refresh)
    heard: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        heard.append(statement)

    if listened:
        event.listen(sql.engine, "before_cursor_execute", record)
    try:
        assert consume_authorization_code(sql.engine, code_row) is True
        assert consume_authorization_code(sql.engine, code_row) is False
        assert rotate_refresh_token(sql.engine, token, now=2000) is True
        assert rotate_refresh_token(sql.engine, token, now=3000) is False
    finally:
        if listened:
            event.remove(sql.engine, "before_cursor_execute", record)
    assert _code_rows(sql) == 0
    with sql.engine.connect() as conn:
        stored = conn.execute(select(Token.refresh_token_revoked_at,
                                     Token.access_token_revoked_at)).one()
    assert tuple(stored) == (2000, 2000)  # the loser wrote nothing
    assert token.refresh_token_revoked_at == 2000
    if listened:
        assert sum(s.startswith(("DELETE", "UPDATE")) for s in heard) == 4


def test_engine_decisions_leave_the_application_session_alone(sql):
    _, _, code, refresh = _seed(sql)
    session = sql.session
    client = session.execute(select(Client)).scalar_one()
    client.client_id_issued_at = 4242  # the application's own change, not flushed
    code_row, token = _detached(sql, code, refresh)
    assert consume_authorization_code(sql.engine, code_row) is True
    assert rotate_refresh_token(sql.engine, token, now=2000) is True
    assert session().in_transaction() and session().dirty  # neither flushed nor committed
    session.rollback()
    with sql.engine.connect() as conn:
        assert conn.execute(select(Client.client_id_issued_at)).scalar_one() != 4242


def test_concurrent_engine_redemptions_of_one_code_have_one_winner(sql):
    _, _, code, refresh = _seed(sql)
    code_row, _ = _detached(sql, code, refresh)
    outcomes = race(8, lambda: consume_authorization_code(sql.engine, code_row))
    assert outcomes.count(True) == 1
    assert _code_rows(sql) == 0
