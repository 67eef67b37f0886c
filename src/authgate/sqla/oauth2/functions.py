"""Storage hooks over SQLAlchemy models, for the seed-style server and grants.

The ``create_*`` factories return the callables and classes the server and
resource protector take (``query_client``, ``save_token``, a revocation
endpoint, a bearer token validator). The atomic helpers are what grant hooks
call to enforce single use: the database decides who wins with one
conditional statement, and its row count says whether this caller did, so
two concurrent requests can never both redeem one code or refresh token.

``session`` is a :class:`~sqlalchemy.orm.Session` or a
:class:`~sqlalchemy.orm.scoped_session` (such as Flask-SQLAlchemy's
``db.session``); every write commits, as the hooks' callers expect.

``query_client``, ``save_token`` and the bearer token validator also take an
:class:`~sqlalchemy.Engine` in place of the session. Each call then runs its one
statement on a pooled connection of its own, in a transaction of its own,
outside the application's session, and returns a detached instance: the token
endpoint and a protected request do their database work without a session
being built, begun, committed and closed for them. Lookups
refresh objects already in the session (``populate_existing``), so a
long-lived session never answers from a stale identity map with a token
another process has revoked since.

The conditional statements give a clean ``False`` to the losers under
PostgreSQL's default READ COMMITTED and under pysqlite's default
transaction handling (each DML statement opens its own write transaction,
so SQLite's busy timeout applies). Under stricter isolation a loser may get
a serialization error instead: still never a second winner.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NamedTuple, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Table,
    and_,
    bindparam,
    delete,
    inspect,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import MANYTOONE, Mapper, Session, scoped_session
from sqlalchemy.orm.attributes import set_committed_value

from authgate.core.oauth2.endpoints.revocation import RevocationEndpoint
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.oauth2.resource import BearerTokenValidator
from authgate.core.security import generate_token, token_digest
from authgate.sqla._driver import require_own_connections, session_of
from authgate.sqla.rows import RowInserter, RowLoader, Statement, new_record

__all__ = [
    "Bind",
    "SessionLike",
    "consume_authorization_code",
    "create_bearer_token_validator",
    "create_query_client_func",
    "create_query_token_func",
    "create_revocation_endpoint",
    "create_revoke_token_family_func",
    "create_save_token_func",
    "query_token_record",
    "revoke_token_family",
    "revoke_token_record",
    "rotate_refresh_token",
    "save_token_record",
]

#: What every helper accepts as ``session``.
SessionLike = Session | scoped_session[Any]
#: What the lookup and save hooks accept: a session, or an engine to use directly.
Bind = SessionLike | Engine
Clock = Callable[[], float]

# Members of a token response that are columns of OAuth2TokenMixin.
_TOKEN_FIELDS = ("token_type", "access_token", "refresh_token", "scope", "expires_in")


def _identity_clause(record: Any) -> ColumnElement[bool]:
    """``pk = :value`` for a persistent record, whatever its primary key is called."""
    state = inspect(record)
    if state.identity is None:
        raise ValueError(f"{type(record).__name__} is not persistent; save it first")
    columns = state.mapper.primary_key
    return and_(*(column == value for column, value in zip(columns, state.identity,
                                                           strict=True)))


def _unset(column: Any) -> ColumnElement[bool]:
    """Not revoked: NULL, or the 0 older Authlib-style schemas used."""
    return or_(column.is_(None), column == 0)


def _rowcount(result: Any) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


#: What each model maps: asked on every save, and a mapping never changes.
_mapped_names: dict[type[Any], frozenset[str]] = {}


def _has_column(model: type[Any], name: str) -> bool:
    names = _mapped_names.get(model)
    if names is None:
        names = _mapped_names[model] = frozenset(inspect(model).attrs.keys())
    return name in names


def _persistent_state(record: Any) -> Any:
    state = inspect(record)
    if state.identity is None:
        raise ValueError(f"{type(record).__name__} is not persistent; save it first")
    return state


class _ByIdentity(NamedTuple):
    """The single-use statements on one row of a model, by primary key, compiled once
    (None for a mapping a plain table statement cannot serve: inheritance)."""

    delete: Statement | None
    revoke: Statement | None  # SET both revocation times = :at
    rotate: Statement | None  # the same, only while the refresh token is unrevoked


_by_identity: dict[Mapper[Any], _ByIdentity] = {}


def _statements(mapper: Mapper[Any]) -> _ByIdentity:
    found = _by_identity.get(mapper)
    if found is not None:
        return found
    if mapper.inherits is not None or len(mapper.tables) != 1:
        found = _ByIdentity(None, None, None)
    else:
        table = cast(Table, mapper.local_table)
        keys = [f"k{i}" for i in range(len(mapper.primary_key))]
        where = and_(*(column == bindparam(key)
                       for column, key in zip(mapper.primary_key, keys, strict=True)))
        revoke = revoke_live = None
        if _has_column(mapper.class_, "refresh_token_revoked_at"):
            at: Any = bindparam("at")
            refresh = mapper.columns["refresh_token_revoked_at"]
            values = {mapper.columns["access_token_revoked_at"]: at, refresh: at}
            revoke = Statement(update(table).where(where).values(values), "at", *keys)
            revoke_live = Statement(update(table).where(where, _unset(refresh)).values(values),
                                    "at", *keys)
        found = _ByIdentity(Statement(delete(table).where(where), *keys), revoke, revoke_live)
    _by_identity[mapper] = found
    return found


def lookup_statement(model: type[Any], column: Any) -> Any:
    """``SELECT model WHERE column = :value`` refreshing what the session holds, built once.

    A prebuilt statement with a bound parameter skips building the clause and its
    cache key on every call; the parameter takes the column's type, so digest
    columns hash the clear value as ``filter_by`` does.
    """
    return select(model).where(column == bindparam("value")).execution_options(
        populate_existing=True)


# -- clients --------------------------------------------------------------------------
def create_query_client_func(session: Bind, client_model: type[Any]
                             ) -> Callable[[str], Any]:
    """``query_client(client_id)`` for the server: the client, or None.

    Given an engine, the client comes back detached: its columns are loaded, its
    relationships cannot load (the grant reads neither).
    """

    return RowLoader(client_model, client_model.client_id).lookup(session)


# -- authorization codes -------------------------------------------------------------------
def consume_authorization_code(session: Bind, record: Any) -> bool:
    """Delete the code row; True only for the one caller whose DELETE removed it.

    The record stays readable afterwards: it is detached rather than left to
    be refreshed from a row that no longer exists. The commit leaves the
    session's other instances loaded (the client and user the grant goes on
    to read) unless the session also held changes of its own to flush.

    Given an engine, the DELETE is a transaction of its own on a pooled
    connection (autocommit on PostgreSQL: one round trip), for a record read
    outside the session (``RowLoader.load_detached``).
    """
    state = _persistent_state(record)
    statement = _statements(state.mapper).delete
    if isinstance(session, Engine):
        engine = require_own_connections(session)
        if statement is None:
            with Session(engine) as own:
                return consume_authorization_code(own, record)
        won = statement.execute_committed(engine, *state.identity) == 1
        if state.session is not None:
            state.session.expunge(record)
        return won
    if statement is not None:
        connection = session.connection(bind_arguments={"mapper": state.mapper})
        won = statement.execute(connection, *state.identity) == 1
    else:
        result = session.execute(
            delete(state.mapper.class_).where(_identity_clause(record)).execution_options(
                synchronize_session=False))
        won = _rowcount(result) == 1
    if state.session is not None:
        state.session.expunge(record)
    _commit_decision(session)
    return won


def _commit_decision(session: SessionLike) -> None:
    """Commit a single-use decision without expiring what the session has loaded.

    The code or refresh token is spent before the token is made, and the grant
    then reads the client and the user it loaded a moment ago, in this
    transaction. With ``expire_on_commit`` the commit would throw those values
    away and each access would reload its row through the ORM: two SELECTs per
    exchange, for rows this commit did not touch (it wrote one Core DELETE or
    UPDATE, which changes no instance). So this one commit keeps them, but only
    when the session holds no pending change of the application's: then the
    commit flushes something, and everything is expired as usual.
    """
    target = session_of(session)
    if not target.expire_on_commit or target.new or target.dirty or target.deleted:
        target.commit()
        return
    target.expire_on_commit = False
    try:
        target.commit()
    finally:
        target.expire_on_commit = True


# -- tokens ---------------------------------------------------------------------------
def save_token_record(session: Bind, token_model: type[Any], token: dict[str, Any],
                      request: OAuth2Request, *, clock: Clock = time.time,
                      before_commit: Callable[[Any], None] | None = None,
                      write_with: Callable[[Any, Connection], None] | None = None) -> Any:
    """Insert one token row for a token response; the shared body of every ``save_token``.

    ``user_id`` and ``family`` are set only when the model has those columns.
    A token issued outside any family starts its own, so the refresh tokens
    that descend from it can still be revoked together.

    ``write_with(record, connection)`` runs after the INSERT, before the commit,
    with the connection the token was written on: what it writes there (an
    audit row, say) commits with the token or not at all, and costs no
    transaction of its own. It works with either bind: given an engine, the
    token and those writes share one transaction of their own (``engine.begin()``),
    and no session is built. ``before_commit(record)`` is the session-only form,
    for writes made through the session itself. Given an engine and neither
    hook, the row is committed by itself on a pooled connection.
    """
    values: dict[str, Any] = {k: token[k] for k in _TOKEN_FIELDS if token.get(k) is not None}
    values["client_id"] = request.client.get_client_id()
    values["issued_at"] = int(clock())
    if _has_column(token_model, "user_id"):
        values["user_id"] = request.user.get_user_id() if request.user is not None else None
    if _has_column(token_model, "family"):
        values["family"] = request.token_family or "tok:" + generate_token(24)
    record = new_record(token_model, values)
    if isinstance(session, Engine):
        if before_commit is not None:
            raise TypeError("before_commit needs a session: given an engine, write what "
                            "goes with the token in write_with(record, connection)")
        if write_with is None:
            _inserter(token_model).insert_committed(session, record)
        else:
            with require_own_connections(session).begin() as connection:
                _inserter(token_model).insert_on(connection, record)
                write_with(record, connection)
    else:
        _inserter(token_model).insert(session, record)
        if before_commit is not None:
            before_commit(record)
        if write_with is not None:
            write_in_session(session, record, write_with)
        session.commit()
    # Keep the in-memory record in the stored form too, even without expire_on_commit.
    set_committed_value(record, "access_token", token_digest(token["access_token"]))
    refresh = token.get("refresh_token")
    set_committed_value(record, "refresh_token", token_digest(refresh) if refresh else None)
    return record


def write_in_session(session: SessionLike, record: Any,
                     write_with: Callable[[Any, Connection], None]) -> None:
    """``write_with(record, connection)`` on the connection the session wrote ``record``
    on, in its transaction, once the row is there (flushed); the caller commits."""
    session.flush()
    write_with(record, session.connection(bind_arguments={"mapper": inspect(type(record))}))


#: One inserter per token model (built on first save: statements compile per dialect).
_inserters: dict[type[Any], RowInserter] = {}


def _inserter(model: type[Any]) -> RowInserter:
    inserter = _inserters.get(model)
    if inserter is None:
        inserter = _inserters[model] = RowInserter(model)
    return inserter


def create_save_token_func(session: Bind, token_model: type[Any]
                           ) -> Callable[[dict[str, Any], OAuth2Request], Any]:
    """``save_token(token, request)`` for the server (see :func:`save_token_record`)."""
    if isinstance(session, Engine):
        require_own_connections(session)

    def save_token(token: dict[str, Any], request: OAuth2Request) -> Any:
        return save_token_record(session, token_model, token, request)

    return save_token


def query_token_record(session: SessionLike, token_model: type[Any], token_string: str,
                       token_type_hint: str | None = None) -> Any:
    """Find a record by access or refresh token; the hint only says which to try first
    (RFC 7009 §2.1: a wrong hint must not make the lookup fail)."""
    columns = [token_model.access_token, token_model.refresh_token]
    if token_type_hint == "refresh_token":
        columns.reverse()
    for column in columns:
        record = session.execute(lookup_statement(token_model, column),
                                 {"value": token_string}).scalar_one_or_none()
        if record is not None:
            return record
    return None


def create_query_token_func(session: SessionLike, token_model: type[Any]
                            ) -> Callable[[str, str | None], Any]:
    """``query_token(token_string, token_type_hint)`` (revocation, introspection)."""

    def query_token(token_string: str, token_type_hint: str | None = None) -> Any:
        return query_token_record(session, token_model, token_string, token_type_hint)

    return query_token


def revoke_token_record(session: SessionLike, record: Any, *, now: float | None = None) -> None:
    """Revoke the access and the refresh token of one record."""
    at = int(time.time() if now is None else now)
    _revoke(session, record, at, only_live_refresh=False)
    session.commit()


def rotate_refresh_token(session: Bind, record: Any, *, now: float | None = None) -> bool:
    """Retire a refresh token (and its access token); True only for the one caller that did.

    One conditional UPDATE: concurrent callers serialise on the row, and every
    one after the first finds ``refresh_token_revoked_at`` already set. As for
    :func:`consume_authorization_code`, the commit leaves the session's loaded
    instances as they are unless it also flushes changes of the session's own.
    Given an engine, the UPDATE is a transaction of its own on a pooled connection.
    """
    at = int(time.time() if now is None else now)
    if isinstance(session, Engine):
        engine = require_own_connections(session)
        statement = _statements(_persistent_state(record).mapper).rotate
        if statement is None:
            with Session(engine) as own:
                return rotate_refresh_token(own, record, now=at)
        return _revoke(engine, record, at, only_live_refresh=True)
    won = _revoke(session, record, at, only_live_refresh=True)
    _commit_decision(session)
    return won


def _revoke(session: Bind, record: Any, at: int, *, only_live_refresh: bool) -> bool:
    """Set both revocation times of ``record``'s row; whether this UPDATE changed it.

    The record follows: the winner's values are set on it; a loser's are expired,
    so they are read again (as the winner left them) on next access. Given an
    engine (a statement by primary key only), the UPDATE commits by itself.
    """
    state = _persistent_state(record)
    statements = _statements(state.mapper)
    statement = statements.rotate if only_live_refresh else statements.revoke
    if isinstance(session, Engine):
        assert statement is not None
        won = statement.execute_committed(session, at, *state.identity) == 1
    elif statement is not None:
        connection = session.connection(bind_arguments={"mapper": state.mapper})
        won = statement.execute(connection, at, *state.identity) == 1
    else:
        model = state.mapper.class_
        criteria = [_identity_clause(record)]
        if only_live_refresh:
            criteria.append(_unset(model.refresh_token_revoked_at))
        result = session.execute(
            update(model).where(*criteria).values(
                refresh_token_revoked_at=at, access_token_revoked_at=at
            ).execution_options(synchronize_session=False))
        won = _rowcount(result) == 1
    names = ["access_token_revoked_at", "refresh_token_revoked_at"]
    if won:
        for name in names:
            set_committed_value(record, name, at)
    elif state.session is not None:
        state.session.expire(record, names)
    return won


def revoke_token_family(session: Bind, token_model: type[Any], family: str, *,
                        now: float | None = None) -> int:
    """Revoke every live token of ``family`` in one UPDATE; returns how many rows changed.

    Given an engine, the UPDATE commits in a short session of its own (a replay's
    answer, rare: no fast path for it).
    """
    if not family:
        return 0
    if isinstance(session, Engine):
        with Session(require_own_connections(session)) as own:
            return revoke_token_family(own, token_model, family, now=now)
    at = int(time.time() if now is None else now)
    result = session.execute(
        update(token_model)
        .where(token_model.family == family,
               or_(_unset(token_model.access_token_revoked_at),
                   _unset(token_model.refresh_token_revoked_at)))
        .values(access_token_revoked_at=at, refresh_token_revoked_at=at)
    )
    count = _rowcount(result)
    session.commit()
    return count


def create_revoke_token_family_func(session: Bind, token_model: type[Any]
                                    ) -> Callable[[str], int]:
    """``revoke_token_family(family)`` for ``AuthorizationServer(revoke_token_family=...)``."""
    if isinstance(session, Engine):
        require_own_connections(session)

    def revoke_family(family: str) -> int:
        return revoke_token_family(session, token_model, family)

    return revoke_family


def create_revocation_endpoint(session: SessionLike, token_model: type[Any]
                               ) -> type[RevocationEndpoint]:
    """A revocation endpoint (RFC 7009) class to ``register_endpoint`` on the server."""

    class SQLAlchemyRevocationEndpoint(RevocationEndpoint):
        def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
            return query_token_record(session, token_model, token_string, token_type_hint)

        def revoke_token(self, token: Any, request: OAuth2Request) -> None:
            # §2.1: revoking either token of a grant revokes the pair.
            revoke_token_record(session, token, now=self.server.now())

    return SQLAlchemyRevocationEndpoint


def create_bearer_token_validator(session: Bind, token_model: type[Any]
                                  ) -> type[BearerTokenValidator]:
    """A bearer token validator class for ``ResourceProtector.register_token_validator``.

    The token's many-to-one relationships (``Token.user`` in the seed's models) are
    loaded with it, by primary key: a protected view almost always reads
    ``current_token.user``, and this skips the ORM's lazy-load query for it.
    Given an engine, the token and those related rows come back detached.
    """

    loader = RowLoader(token_model, token_model.access_token, related=[
        rel.key for rel in inspect(token_model).relationships if rel.direction is MANYTOONE])
    if isinstance(session, Engine):
        engine = require_own_connections(session)

        class DetachedBearerTokenValidator(BearerTokenValidator):
            def authenticate_token(self, token_string: str) -> Any:
                return loader.load_detached(engine, token_string)

        return DetachedBearerTokenValidator

    class SQLAlchemyBearerTokenValidator(BearerTokenValidator):
        def authenticate_token(self, token_string: str) -> Any:
            return loader.load(session, token_string)

    return SQLAlchemyBearerTokenValidator
