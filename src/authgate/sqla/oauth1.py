"""SQLAlchemy 2.0 models and storage hooks for the OAuth 1.0a server.

Mixins for the client, the temporary and token credentials and the
timestamp/nonce record, plus the ``create_*_func`` and ``register_*_hooks``
helpers of the seed API. Two rules shape them:

* Secrets stay usable but never clear at rest (RFC 5849 §4.5): the secret
  columns use :class:`EncryptedSecret`, AES-GCM with the application's key
  (see :mod:`authgate.core.oauth1.secrets`). The key comes from a provider;
  the Flask integration installs one reading the current app's
  ``OAUTH1_SECRET_KEY`` or ``SECRET_KEY``, and :func:`add_secret_cipher_provider`
  adds others (scripts, other frameworks).
* Single use is decided by the database: the verifier is set by a
  conditional ``UPDATE ... WHERE oauth_verifier IS NULL``, the temporary
  credential consumed by a ``DELETE`` whose row count says who won, and a
  nonce recorded by an insert that a unique constraint arbitrates.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    Text,
    UniqueConstraint,
    bindparam,
    delete,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import (
    MANYTOONE,
    Mapped,
    Mapper,
    Session,
    SessionTransaction,
    declared_attr,
    mapped_column,
)
from sqlalchemy.types import TypeDecorator

from authgate.core.oauth1.models import TemporaryCredentialMethods
from authgate.core.oauth1.secrets import SecretCipher
from authgate.core.security import token_digest
from authgate.sqla._driver import require_own_connections, session_of
from authgate.sqla.rows import RowLoader, Statement

__all__ = [
    "EncryptedSecret",
    "NonceRecorder",
    "OAuth1ClientMixin",
    "OAuth1TemporaryCredentialMixin",
    "OAuth1TimestampNonceMixin",
    "OAuth1TokenCredentialMixin",
    "add_secret_cipher_provider",
    "create_exists_nonce_func",
    "create_query_client_func",
    "create_query_token_func",
    "purge_nonces",
    "register_nonce_hooks",
    "register_temporary_credential_hooks",
    "register_token_credential_hooks",
    "remove_secret_cipher_provider",
]

CipherProvider = Callable[[], "SecretCipher | None"]
_providers: list[CipherProvider] = []


def add_secret_cipher_provider(provider: CipherProvider) -> None:
    """Add a source of the secret cipher; the first one giving a cipher is used."""
    if provider not in _providers:
        _providers.append(provider)


def remove_secret_cipher_provider(provider: CipherProvider) -> None:
    if provider in _providers:
        _providers.remove(provider)


def _cipher() -> SecretCipher:
    for provider in _providers:
        cipher = provider()
        if cipher is not None:
            return cipher
    raise RuntimeError("no key for OAuth 1 secrets: use them inside a Flask app set up with "
                       "authgate, or call add_secret_cipher_provider()")


class EncryptedSecret(TypeDecorator[str]):
    """A string column stored AES-GCM encrypted; ``purpose`` keeps columns apart."""

    impl = String(255)
    cache_ok = True

    def __init__(self, purpose: str) -> None:
        super().__init__()
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else _cipher().encrypt(value, self.purpose)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return None if value is None else _cipher().decrypt(value, self.purpose)


class OAuth1ClientMixin:
    """A client: its id, its secret (encrypted), callback and optional RSA public key."""

    client_id: Mapped[str] = mapped_column(String(48), unique=True, index=True)
    client_secret: Mapped[str | None] = mapped_column(
        EncryptedSecret("oauth1 client secret"), nullable=True
    )
    default_redirect_uri: Mapped[str] = mapped_column(Text, default="")
    rsa_public_key: Mapped[str | None] = mapped_column(Text, nullable=True)

    def get_default_redirect_uri(self) -> str | None:
        return self.default_redirect_uri

    def get_client_secret(self) -> str | None:
        return self.client_secret

    def get_rsa_public_key(self) -> str | None:
        return self.rsa_public_key

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client_id={self.client_id!r} client_secret=<redacted>>"


class _UserBound:
    if TYPE_CHECKING:
        user_id: Any  # declared by the application's model, with its foreign key

    def get_user_id(self) -> Any:
        return self.user_id

    def set_user_id(self, user_id: Any) -> None:
        self.user_id = user_id


class OAuth1TemporaryCredentialMixin(_UserBound, TemporaryCredentialMethods):
    """A temporary credential; the verifier is kept as a SHA-256 digest."""

    client_id: Mapped[str] = mapped_column(String(48), index=True)
    oauth_token: Mapped[str] = mapped_column(String(84), unique=True, index=True)
    oauth_token_secret: Mapped[str] = mapped_column(EncryptedSecret("oauth1 temporary secret"))
    oauth_verifier: Mapped[str | None] = mapped_column(String(84), nullable=True)
    oauth_callback: Mapped[str] = mapped_column(Text, default="")
    issued_at: Mapped[int] = mapped_column(Integer, default=lambda: int(time.time()))

    def __repr__(self) -> str:
        return f"<{type(self).__name__} oauth_token={self.oauth_token!r} secret=<redacted>>"


class OAuth1TokenCredentialMixin(_UserBound):
    """A token credential: it does not expire (RFC 5849 has no expiry), so revoke by deleting."""

    client_id: Mapped[str] = mapped_column(String(48), index=True)
    oauth_token: Mapped[str] = mapped_column(String(84), unique=True, index=True)
    oauth_token_secret: Mapped[str] = mapped_column(EncryptedSecret("oauth1 token secret"))

    def get_oauth_token(self) -> str:
        return self.oauth_token

    def get_oauth_token_secret(self) -> str:
        return self.oauth_token_secret

    def __repr__(self) -> str:
        return f"<{type(self).__name__} oauth_token={self.oauth_token!r} secret=<redacted>>"


class OAuth1TimestampNonceMixin:
    """A used nonce; the unique constraint is what makes a replay fail (§3.3)."""

    nonce: Mapped[str] = mapped_column(String(128))
    timestamp: Mapped[int] = mapped_column(Integer, index=True)
    client_id: Mapped[str] = mapped_column(String(48))
    oauth_token: Mapped[str] = mapped_column(String(84), default="")

    @declared_attr.directive
    def __table_args__(cls) -> tuple[Any, ...]:
        return (UniqueConstraint("client_id", "oauth_token", "timestamp", "nonce"),)


class _Server(Protocol):
    def register_hook(self, name: str, func: Callable[..., Any]) -> None: ...


def create_query_client_func(session: Any, model: type[Any]) -> Callable[[str], Any]:
    """``query_client(client_id)``: the client, or None; one precompiled SELECT per call.

    Given an :class:`~sqlalchemy.Engine` instead of the session, the client is
    read on a pooled connection of its own and comes back detached (its columns
    loaded): a signed request then needs no session for it.
    """
    return RowLoader(model, model.client_id).lookup(session)


def create_query_token_func(session: Any, model: type[Any]) -> Callable[[str, str], Any]:
    """``query_token(client_id, oauth_token)``: that client's token credential, or None.

    The credential found is remembered in the session (``session.info``) with
    the transaction that read it: the nonce hook's commit, which comes next,
    expires it, and the hook then reloads it with a one-statement lookup (see
    :func:`_reload_after_commit`) rather than leaving the view's first
    ``current_credential.user`` to pay for an ORM refresh. That reload also
    brings the credential's many-to-one relationships (its ``user``), by
    primary key, as a lazy load would find them; the lookup here does so only
    in a session that does not expire on commit, since the commit would
    otherwise expire them straight away.

    Given an :class:`~sqlalchemy.Engine` instead of the session, the credential
    and its many-to-one relationships are read in one statement on a pooled
    connection of its own and come back detached: nothing to expire, nothing
    to reload.
    """
    loader = RowLoader(model, model.client_id, model.oauth_token)
    reloader = RowLoader(model, model.client_id, model.oauth_token, related=[
        rel.key for rel in inspect(model).relationships if rel.direction is MANYTOONE])
    if isinstance(session, Engine):
        return reloader.lookup(session)

    def query_token(client_id: str, oauth_token: str) -> Any:
        real = session_of(session)
        if not real.expire_on_commit:  # nothing will expire them: load the user now
            return reloader.load(real, client_id, oauth_token)
        credential = loader.load(real, client_id, oauth_token)
        if credential is not None:
            real.info[_LOADED_CREDENTIAL] = (real.get_transaction(), reloader, credential,
                                             (client_id, oauth_token))
        return credential

    return query_token


_LOADED_CREDENTIAL = "authgate.oauth1.loaded_credential"


def _reload_after_commit(session: Session, committed: SessionTransaction | None) -> None:
    """Reload the token credential ``committed`` read, if that commit expired it.

    Exactly what expire-on-commit asks for, the row as the database has it
    now, fetched at once by the precompiled lookup instead of by an ORM
    refresh on first access (several times the cost). A credential read in
    another transaction, no longer in the session, or not expired (a session
    with ``expire_on_commit=False``) is left alone.
    """
    entry = session.info.pop(_LOADED_CREDENTIAL, None)
    if entry is None or committed is None or entry[0] is not committed:
        return
    _, loader, credential, values = entry
    if credential in session and inspect(credential).expired:
        loader.load(session, *values)


def _insert_once(session: Any, model: type[Any], values: dict[str, Any]) -> bool:
    """Insert a row unless the unique constraint has it already; True if inserted.

    ``session`` is a session, or a :class:`~sqlalchemy.Connection` (its own
    transaction, committed or rolled back here the same way).
    """
    table = model.__table__
    name = session.dialect.name if isinstance(session, Connection) else \
        session.get_bind(mapper=model).dialect.name
    if name in _ON_CONFLICT:
        # RETURNING says whether a row went in (rowcount is -1 under implicit RETURNING).
        statement = _ON_CONFLICT[name](table).values(**values).on_conflict_do_nothing()
        inserted = session.execute(statement.returning(*table.primary_key.columns)).first()
        session.commit()
        return inserted is not None
    try:
        session.execute(insert(table).values(**values))
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return True


_NONCE_KEYS = ("nonce", "timestamp", "client_id", "oauth_token")


class NonceRecorder:
    """``record(session, nonce, timestamp, client_id, oauth_token)``: True for the one
    caller whose insert went in, False for a replay; then commits.

    The unique constraint decides, so two concurrent identical nonces have exactly
    one winner: on PostgreSQL the second ``INSERT ... ON CONFLICT DO NOTHING``
    waits for the first transaction and then inserts nothing; SQLite serializes
    writers. On these two databases the statement is compiled once per dialect
    and run on the DBAPI connection of the session's transaction
    (:class:`~authgate.sqla.rows.Statement`): an ORM or Core ``session.execute``
    of it costs several times the statement itself, and this runs on every
    signed request. Any other database, an engine whose statements something
    listens to (cursor events, ``echo``), or a table with Python-side defaults
    on further columns goes through the Core statement with RETURNING instead,
    whose answer does not depend on the driver reporting a row count.
    """

    def __init__(self, model: type[Any]) -> None:
        self.model = model
        self._mapper: Mapper[Any] = inspect(model)
        table = model.__table__
        values: dict[Any, Any] = {table.c[key]: bindparam(key) for key in _NONCE_KEYS}
        self._inserts = {name: Statement(make(table).values(values).on_conflict_do_nothing(),
                                         *_NONCE_KEYS)
                         for name, make in _ON_CONFLICT.items()}

    def __repr__(self) -> str:
        return f"<NonceRecorder {self.model.__name__}>"

    def record(self, session: Any, nonce: str, timestamp: int, client_id: str,
               oauth_token: str) -> bool:
        values = {"nonce": nonce, "timestamp": timestamp, "client_id": client_id,
                  "oauth_token": oauth_token}
        real = session_of(session)
        connection: Connection = real.connection(bind_arguments={"mapper": self._mapper})
        transaction = real.get_transaction()
        insert_once = self._inserts.get(connection.dialect.name)
        if insert_once is not None and insert_once.direct(connection):
            inserted = insert_once.execute(connection, *values.values()) == 1
            real.commit()
        else:
            inserted = _insert_once(real, self.model, values)
        if inserted:
            _reload_after_commit(real, transaction)
        return inserted

    def record_committed(self, engine: Engine, nonce: str, timestamp: int, client_id: str,
                         oauth_token: str) -> bool:
        """:meth:`record` outside any session: the insert is a transaction of its own,
        on one of ``engine``'s pooled connections (in autocommit on PostgreSQL: one
        round trip), or through ``engine.connect()`` where it must go through Core."""
        values = (nonce, timestamp, client_id, oauth_token)
        insert_once = self._inserts.get(engine.dialect.name)
        count = None if insert_once is None else insert_once.try_committed(engine, *values)
        if count is not None:
            return count == 1
        with engine.connect() as connection:
            return _insert_once(connection, self.model, dict(zip(_NONCE_KEYS, values,
                                                                 strict=True)))


_ON_CONFLICT: dict[str, Callable[[Any], Any]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}


def create_exists_nonce_func(
    session: Any, model: type[Any]
) -> Callable[[str, str, str, str | None], bool]:
    """``exists_nonce(nonce, timestamp, client_id, oauth_token)``: True for a replay.

    Checking and recording are one statement, an insert that the unique
    constraint on (client_id, oauth_token, timestamp, nonce) arbitrates, then
    a commit: of two concurrent requests with the same nonce exactly one
    inserts. See :class:`NonceRecorder` for how the insert is run.

    Given an :class:`~sqlalchemy.Engine` instead of the session, the insert
    commits by itself outside the application's session
    (:meth:`NonceRecorder.record_committed`).
    """
    recorder = NonceRecorder(model)
    if isinstance(session, Engine):
        engine = require_own_connections(session)

        def nonce_seen(nonce: str, timestamp: str, client_id: str,
                       oauth_token: str | None) -> bool:
            return not recorder.record_committed(engine, nonce, int(timestamp), client_id,
                                                 oauth_token or "")

        return nonce_seen

    def exists_nonce(nonce: str, timestamp: str, client_id: str, oauth_token: str | None) -> bool:
        return not recorder.record(session, nonce, int(timestamp), client_id, oauth_token or "")

    return exists_nonce


def purge_nonces(session: Any, model: type[Any], older_than: int) -> int:
    """Delete nonces whose timestamp is before ``older_than``; they can no longer be replayed."""
    result = session.execute(delete(model.__table__).where(model.timestamp < older_than))
    session.commit()
    return int(result.rowcount)


def register_nonce_hooks(server: _Server, session: Any, model: type[Any]) -> None:
    server.register_hook("exists_nonce", create_exists_nonce_func(session, model))


def register_temporary_credential_hooks(
    server: _Server, session: Any, model: type[Any], expires: int = 3600
) -> None:
    """Register the four temporary-credential hooks; a credential lives ``expires`` seconds."""

    def create_temporary_credential(token: dict[str, str], client_id: str,
                                    redirect_uri: str) -> Any:
        item = model(client_id=client_id, oauth_token=token["oauth_token"],
                     oauth_token_secret=token["oauth_token_secret"], oauth_callback=redirect_uri)
        session.add(item)
        session.commit()
        return item

    def get_temporary_credential(oauth_token: str) -> Any:
        query = select(model).where(model.oauth_token == oauth_token,
                                    model.issued_at >= int(time.time()) - expires)
        return session.execute(query).scalar_one_or_none()

    def create_authorization_verifier(credential: Any, grant_user: Any, verifier: str) -> bool:
        result = session.execute(
            update(model)
            .where(model.oauth_token == credential.get_oauth_token(),
                   model.oauth_verifier.is_(None))
            .values(oauth_verifier=token_digest(verifier), user_id=grant_user.get_user_id())
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(result.rowcount == 1)

    def delete_temporary_credential(oauth_token: str) -> bool:
        # Keep the loaded object usable for create_token_credential after the row is gone.
        loaded = session.execute(select(model).filter_by(oauth_token=oauth_token)).scalar()
        if loaded is not None:
            session.expunge(loaded)
        result = session.execute(
            delete(model).where(model.oauth_token == oauth_token)
            .execution_options(synchronize_session=False)
        )
        session.commit()
        return bool(result.rowcount == 1)

    server.register_hook("create_temporary_credential", create_temporary_credential)
    server.register_hook("get_temporary_credential", get_temporary_credential)
    server.register_hook("create_authorization_verifier", create_authorization_verifier)
    server.register_hook("delete_temporary_credential", delete_temporary_credential)


def register_token_credential_hooks(server: _Server, session: Any, model: type[Any]) -> None:
    def create_token_credential(token: dict[str, str], temporary_credential: Any) -> Any:
        item = model(client_id=temporary_credential.get_client_id(),
                     oauth_token=token["oauth_token"],
                     oauth_token_secret=token["oauth_token_secret"])
        item.set_user_id(temporary_credential.get_user_id())
        session.add(item)
        session.commit()
        return item

    server.register_hook("create_token_credential", create_token_credential)
