"""Models and backends shared by the SQLAlchemy OAuth 2 tests and the store contract.

Real databases only: a SQLite file per test, and the run's PostgreSQL
database (tables created once, emptied per test).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, ForeignKey, String, create_engine, delete, text
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    mapped_column,
    relationship,
    scoped_session,
    sessionmaker,
)

from authgate.core.http import Request
from authgate.core.oauth2.memory import MemoryStore
from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import generate_token, hash_secret, verify_hashed_secret
from authgate.sqla.oauth2 import (
    OAuth2AuthorizationCodeMixin,
    OAuth2ClientMixin,
    OAuth2TokenMixin,
    SQLAlchemyStore,
)

ISSUER = "https://as.example"
REDIRECT = "https://client.example/cb"
# Enough connections for many threads to race, few enough for two xdist workers
# to share one PostgreSQL (max_connections is often 100).
POOL = {"pool_size": 20, "max_overflow": 0, "pool_timeout": 30}


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "ag_test_users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    password_hash: Mapped[str] = mapped_column(String(80))

    def get_user_id(self) -> int:
        return self.id

    def check_password(self, password: str) -> bool:
        return verify_hashed_secret(self.password_hash, password)


class Client(Base, OAuth2ClientMixin):
    __tablename__ = "ag_test_oauth2_clients"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))


class AuthorizationCode(Base, OAuth2AuthorizationCodeMixin):
    __tablename__ = "ag_test_oauth2_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))


class Token(Base, OAuth2TokenMixin):
    __tablename__ = "ag_test_oauth2_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey(User.id, ondelete="CASCADE"))


# Many-to-one relationships for the row tools: one lazy, one lazy="raise", both to
# one table (a SQLite file per test: the ``owned`` fixture).
class OwnBase(DeclarativeBase):
    pass


class Owner(OwnBase):
    __tablename__ = "ag_test_rows_owner"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))


class Owned(OwnBase):
    __tablename__ = "ag_test_rows_owned"
    id: Mapped[int] = mapped_column(primary_key=True)
    label: Mapped[str] = mapped_column(String(20), unique=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey(Owner.id))
    keeper_id: Mapped[int | None] = mapped_column(ForeignKey(Owner.id))
    owner: Mapped[Owner | None] = relationship(foreign_keys=[owner_id])
    keeper: Mapped[Owner | None] = relationship(foreign_keys=[keeper_id], lazy="raise")


# -- engines ----------------------------------------------------------------------------
def sqlite_engine(path: Any) -> Engine:
    engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": 30}, **POOL)
    Base.metadata.create_all(engine)
    return engine


def postgres_engine(url: str) -> Engine:
    engine = create_engine(url, **POOL)
    Base.metadata.create_all(engine)
    return engine


def empty_tables(engine: Engine) -> None:
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))


# -- backends: one shape for the memory store and the SQL stores -----------------------------
class MemoryBackend:
    name = "memory"

    def __init__(self, clock: Callable[[], float]) -> None:
        self.store = MemoryStore(clock=clock)

    def add_user(self, username: str, password: str) -> Any:
        return self.store.add_user(username, password)

    def add_client(self, **kwargs: Any) -> tuple[Any, str | None]:
        return self.store.add_client(**kwargs)

    def stored_codes(self) -> list[str]:
        return [record.code_hash for record in self.store.codes.values()]

    def stored_tokens(self) -> list[tuple[str, str | None]]:
        return [(t.access_token_hash, t.refresh_token_hash) for t in self.store.tokens]

    def end_thread(self) -> None:
        pass

    def close(self) -> None:
        pass


class SQLBackend:
    """A store on a ``scoped_session``: every thread gets its own Session.

    ``on_engine``: the store's token-endpoint side (codes, refresh tokens, users,
    single-use decisions) on the engine's own connections (``engine=``).
    """

    def __init__(self, name: str, engine: Engine, clock: Callable[[], float], *,
                 on_engine: bool = False) -> None:
        self.name = name
        self.engine = engine
        self.session = scoped_session(sessionmaker(engine))
        self.store = SQLAlchemyStore(self.session, Client, Token, AuthorizationCode, User,
                                     clock=clock, engine=engine if on_engine else None)

    def add_user(self, username: str, password: str) -> User:
        user = User(username=username, password_hash=hash_secret(password))
        self.session.add(user)
        self.session.commit()
        return user

    def add_client(self, *, secret: bool = True, client_id: str | None = None,
                   **metadata: Any) -> tuple[Client, str | None]:
        """Same defaults as ``MemoryStore.add_client``."""
        plain = generate_token(48) if secret else None
        metadata.setdefault("grant_types", ["authorization_code"])
        metadata.setdefault("response_types", ["code"])
        if not secret:
            metadata["token_endpoint_auth_method"] = "none"
        client = Client(client_id=client_id or generate_token(24), client_secret=plain)
        client.set_client_metadata(metadata)
        self.session.add(client)
        self.session.commit()
        return client, plain

    def stored_codes(self) -> list[str]:
        table = AuthorizationCode.__table__.name
        with self.engine.connect() as conn:
            return [row[0] for row in conn.execute(text(f"SELECT code FROM {table}"))]

    def stored_tokens(self) -> list[tuple[str, str | None]]:
        table = Token.__table__.name
        with self.engine.connect() as conn:
            rows = conn.execute(text(f"SELECT access_token, refresh_token FROM {table}"))
            return [(row[0], row[1]) for row in rows]

    def end_thread(self) -> None:
        self.session.remove()

    def close(self) -> None:
        self.session.remove()


# -- requests ------------------------------------------------------------------------------
def oauth_request(**attrs: Any) -> OAuth2Request:
    data = attrs.pop("data", {})
    http = Request.build("POST", ISSUER + "/token", form=data)
    return OAuth2Request(http=http, data=dict(data), **attrs)


def basic(client_id: str, secret: str | None) -> dict[str, str]:
    raw = f"{client_id}:{secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
