"""``save_token_record``: one Core INSERT for a plain token model, the unit of work otherwise.

Either way the caller gets the same persistent record (digests in memory,
defaults loaded on access, revocable by identity), and a model with an
INSERT hook still sees it run.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import ForeignKey, create_engine, event, inspect, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from authgate.core.http import Request
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import token_digest
from authgate.sqla.oauth2 import OAuth2TokenMixin, revoke_token_record, save_token_record


class Base(DeclarativeBase):
    pass


class Owner(Base):
    __tablename__ = "owners"
    id: Mapped[int] = mapped_column(primary_key=True)

    def get_user_id(self) -> int:
        return self.id


class PlainToken(Base, OAuth2TokenMixin):
    __tablename__ = "plain_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(Owner.id), default=None)


class HookedToken(Base, OAuth2TokenMixin):
    __tablename__ = "hooked_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(default=None)


inserted: list[Any] = []
event.listen(HookedToken, "before_insert", lambda _m, _c, target: inserted.append(target))


class _Client:
    def get_client_id(self) -> str:
        return "client-1"


def _save(session: Any, model: type[Any], access: str) -> Any:
    token = {"token_type": "Bearer", "access_token": access, "refresh_token": access + "-r",
             "expires_in": 60, "scope": "profile"}
    request = OAuth2Request(http=Request.build("POST", "https://as.example/token"),
                            client=_Client(), user=session.get(Owner, 1))
    return save_token_record(session, model, token, request, clock=lambda: 1000.0)


def test_plain_and_hooked_models_give_the_same_record(tmp_path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    Base.metadata.create_all(engine)
    for expire_on_commit in (True, False):
        with sessionmaker(engine, expire_on_commit=expire_on_commit)() as session:
            if session.get(Owner, 1) is None:
                session.add(Owner(id=1))
                session.commit()
            for model in (PlainToken, HookedToken):
                access = f"{model.__name__}-{expire_on_commit}-" + "a" * 32
                record = _save(session, model, access)
                assert record in session and record.id is not None
                assert record.access_token == token_digest(access)
                assert record.refresh_token == token_digest(access + "-r")
                assert record.user_id == 1 and record.client_id == "client-1"
                assert record.issued_at == 1000 and record.family.startswith("tok:")
                assert not record.is_revoked()
                revoke_token_record(session, record, now=2000)
                stored = session.execute(select(model).where(
                    model.access_token == access)).scalar_one()
                assert stored is record and stored.is_revoked()
    assert len(inserted) == 2  # the hook ran for each HookedToken
    engine.dispose()


def test_before_commit_writes_in_the_token_transaction(tmp_path) -> None:
    """What ``before_commit`` writes commits with the token; if it fails, neither is stored."""
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE side (note TEXT NOT NULL)")
    factory = sessionmaker(engine)
    with factory() as session:
        session.add(Owner(id=1))
        session.commit()
        for model in (PlainToken, HookedToken):
            seen: list[Any] = []

            def note(record: Any, seen: list[Any] = seen) -> None:
                seen.append(record)
                session.connection().exec_driver_sql("INSERT INTO side VALUES ('kept')")

            token = {"token_type": "Bearer", "access_token": model.__name__ + "-ok" + "a" * 32,
                     "expires_in": 60}
            request = OAuth2Request(http=Request.build("POST", "https://as.example/token"),
                                    client=_Client(), user=session.get(Owner, 1))
            record = save_token_record(session, model, token, request, before_commit=note)
            assert seen == [record]

            def fail(_record: Any) -> None:
                session.connection().exec_driver_sql("INSERT INTO side VALUES ('lost')")
                raise RuntimeError("audit store down")

            token = {**token, "access_token": model.__name__ + "-no" + "a" * 32}
            try:
                save_token_record(session, model, token, request, before_commit=fail)
            except RuntimeError:
                session.rollback()
            else:
                raise AssertionError("before_commit's error was swallowed")
    _assert_kept_once_each(engine)


@pytest.mark.parametrize("bind", ["session", "engine"])
def test_write_with_shares_the_token_transaction_and_connection(tmp_path, bind) -> None:
    """``write_with(record, connection)`` gets the connection the token was written on:
    what it writes there commits with the token, and if it fails neither is stored.
    Given an engine, no session is built and the record comes back detached."""
    engine = create_engine(f"sqlite:///{tmp_path / 't.db'}")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE side (note TEXT NOT NULL)")
        connection.execute(Owner.__table__.insert(), [{"id": 1}])
    factory = sessionmaker(engine)
    sessions: list[Any] = []
    event.listen(factory, "after_begin", lambda session, *_: sessions.append(session))
    with factory() as session:
        target = session if bind == "session" else engine
        owner = Owner(id=1)
        for model in (PlainToken, HookedToken):  # the direct INSERT and the unit of work
            seen: list[Any] = []

            def note(record: Any, connection: Any, seen: list[Any] = seen,
                     table: str = model.__tablename__) -> None:
                # the token's row is visible here: same connection, same transaction
                count = connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar()
                seen.append((record, count))
                connection.exec_driver_sql("INSERT INTO side VALUES ('kept')")

            token = {"token_type": "Bearer", "access_token": model.__name__ + "-ok" + "a" * 32,
                     "expires_in": 60}
            request = OAuth2Request(http=Request.build("POST", "https://as.example/token"),
                                    client=_Client(), user=owner)
            record = save_token_record(target, model, token, request, write_with=note)
            assert seen == [(record, 1)] and record.id is not None
            assert inspect(record).detached is (bind == "engine")

            def fail(_record: Any, connection: Any) -> None:
                connection.exec_driver_sql("INSERT INTO side VALUES ('lost')")
                raise RuntimeError("audit store down")

            token = {**token, "access_token": model.__name__ + "-no" + "a" * 32}
            with pytest.raises(RuntimeError):
                save_token_record(target, model, token, request, write_with=fail)
            session.rollback()
        assert engine.pool.checkedout() == 0  # nothing lent and not given back
    assert bool(sessions) is (bind == "session")
    _assert_kept_once_each(engine)


def _assert_kept_once_each(engine: Any) -> None:
    """One kept side row per model and one token each: the failed saves left nothing."""
    with engine.connect() as connection:
        assert [r[0] for r in connection.exec_driver_sql("SELECT note FROM side")] == \
            ["kept", "kept"]
        for model in (PlainToken, HookedToken):
            table = model.__tablename__
            assert connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar() == 1
    engine.dispose()
