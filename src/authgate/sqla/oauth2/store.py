"""One object implementing every storage interface of :mod:`authgate.core.oauth2.storage`.

Hand it to :func:`authgate.core.oauth2.stored.create_server` (or
``grant_classes``) and every grant and endpoint is backed by the
application's models. It behaves like the core's ``MemoryStore``: digests
only at rest, and single-use operations decided by one conditional statement
in the database (see :mod:`.functions`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from authgate.core.oauth2.request import OAuth2Request
from authgate.core.security import token_digest
from authgate.sqla._driver import require_own_connections
from authgate.sqla.oauth2 import functions
from authgate.sqla.oauth2.functions import SessionLike
from authgate.sqla.rows import RowInserter, RowLoader

__all__ = ["SQLAlchemyStore"]

AuthenticateUser = Callable[[str, str], Any]


class SQLAlchemyStore:
    """Clients, users, codes and tokens in the application's SQLAlchemy models.

    ``code_model`` and ``token_model`` use the mixins of :mod:`.mixins` and
    have a ``user_id`` column (with whatever foreign key the application
    wants). ``authenticate_user(username, password)`` serves the password
    grant; without it, a ``user_model`` with ``username`` and
    ``check_password`` is used, and otherwise no password ever matches.
    ``clock`` dates codes, tokens and revocations, so tests can freeze it.
    A threaded server passes a ``scoped_session`` (one Session per thread):
    a plain Session must not be shared between threads.

    Given ``engine`` (the session's engine, one whose pool lends each caller a
    connection of its own), the token endpoint leaves the session: the client,
    the code or refresh token presented and the user it names are each read by
    one SELECT on a pooled connection and come back detached (every column
    loaded, nothing lazy); spending the code or rotating the refresh token is
    one statement committed alone, with the same one-winner guarantee; and the
    new token is inserted by itself (through the session still when
    ``save_token`` is given ``before_commit``, a session-only hook). On
    PostgreSQL a code exchange then takes one round trip per statement, with no
    BEGIN or COMMIT of a session around them. The token endpoint holds no
    connection while it asks for another, so it cannot wait on its own pool;
    what the application does with the session (authorization, consent,
    revocation, introspection) is unchanged.
    """

    def __init__(
        self,
        session: SessionLike,
        client_model: type[Any],
        token_model: type[Any],
        code_model: type[Any],
        user_model: type[Any],
        *,
        authenticate_user: AuthenticateUser | None = None,
        clock: Callable[[], float] = time.time,
        engine: Engine | None = None,
    ) -> None:
        for model in (code_model, token_model):
            if "user_id" not in inspect(model).attrs:
                raise TypeError(f"{model.__name__} needs a user_id column for SQLAlchemyStore")
        self.session = session
        self.client_model = client_model
        self.token_model = token_model
        self.code_model = code_model
        self.user_model = user_model
        self._authenticate_user = authenticate_user
        self.clock = clock
        self._access_token = RowLoader(token_model, token_model.access_token)
        self._refresh_token = RowLoader(token_model, token_model.refresh_token)
        self._code = RowLoader(code_model, code_model.code, code_model.client_id)
        self._code_inserter = RowInserter(code_model)
        user_key = inspect(user_model).primary_key
        if len(user_key) != 1:
            raise TypeError(f"{user_model.__name__} needs a one-column primary key")
        self._user = RowLoader(user_model, user_key[0])
        #: Where the token endpoint reads and decides: the session, or the engine's
        #: own pooled connections (see the class docstring).
        self.engine = None if engine is None else require_own_connections(engine)
        self._bind: Any = session if self.engine is None else self.engine
        self._query_client = functions.create_query_client_func(self._bind, client_model)
        self._find_user = self._user.lookup(self._bind)
        self._find_code = self._code.lookup(self._bind)
        self._find_refresh_token = self._refresh_token.lookup(self._bind)

    def __repr__(self) -> str:
        return (f"<SQLAlchemyStore clients={self.client_model.__name__} "
                f"tokens={self.token_model.__name__} codes={self.code_model.__name__}>")

    # -- ClientStore / UserStore -----------------------------------------------------
    def query_client(self, client_id: str) -> Any:
        return self._query_client(client_id)

    def get_user(self, user_id: Any) -> Any:
        if user_id is None:
            return None
        return self._find_user(user_id)

    def authenticate_user(self, username: str, password: str) -> Any:
        if self._authenticate_user is not None:
            return self._authenticate_user(username, password)
        if "username" not in inspect(self.user_model).attrs or \
                not hasattr(self.user_model, "check_password"):
            return None
        stmt = select(self.user_model).filter_by(username=username)
        if self.engine is not None:  # read and let go: the token is stored on the engine next
            with Session(self.engine) as own:
                user = own.execute(stmt).scalar_one_or_none()
        else:
            user = self.session.execute(stmt).scalar_one_or_none()
        if user is None or not user.check_password(password):
            return None
        return user

    # -- AuthorizationCodeStore -----------------------------------------------------------
    def save_authorization_code(
        self, code: str, request: OAuth2Request, *,
        write_with: Callable[[Any, Connection], None] | None = None,
    ) -> Any:
        """Store the code's digest; ``write_with(record, connection)`` writes in the same
        transaction, on the connection the row went to (an audit entry that must
        not outlive, or be outlived by, the code)."""
        record = self.code_model(
            code=code,
            client_id=request.client.get_client_id(),
            user_id=request.user.get_user_id(),
            redirect_uri=request.redirect_uri,
            response_type=request.response_type or "code",
            scope=request.scope or "",
            nonce=request.data.get("nonce"),
            auth_time=int(self.clock()),
            code_challenge=request.data.get("code_challenge"),
            code_challenge_method=request.data.get("code_challenge_method"),
        )
        self._code_inserter.insert(self.session, record)
        if write_with is not None:
            functions.write_in_session(self.session, record, write_with)
        self.session.commit()
        set_committed_value(record, "code", token_digest(code))
        return record

    def query_authorization_code(self, code: str, client: Any) -> Any:
        """The code issued to ``client``: one lookup on digest and client together, so
        another client's code is as absent as an unknown one."""
        return self._find_code(code, client.get_client_id())

    def delete_authorization_code(self, authorization_code: Any) -> bool:
        return functions.consume_authorization_code(self._bind, authorization_code)

    # -- TokenStore ---------------------------------------------------------------------
    def save_token(self, token: dict[str, Any], request: OAuth2Request, *,
                   before_commit: Callable[[Any], None] | None = None,
                   write_with: Callable[[Any, Connection], None] | None = None) -> Any:
        """See :func:`~authgate.sqla.oauth2.functions.save_token_record`."""
        bind = self.session if before_commit is not None else self._bind
        return functions.save_token_record(bind, self.token_model, token, request,
                                           clock=self.clock, before_commit=before_commit,
                                           write_with=write_with)

    def query_token(self, token_string: str, token_type_hint: str | None = None) -> Any:
        return functions.query_token_record(self.session, self.token_model, token_string,
                                            token_type_hint)

    def query_access_token(self, token_string: str) -> Any:
        return self._access_token.load(self.session, token_string)

    def query_refresh_token(self, refresh_token: str) -> Any:
        return self._find_refresh_token(refresh_token)

    def revoke_token(self, token: Any) -> None:
        functions.revoke_token_record(self.session, token, now=self.clock())

    def rotate_refresh_token(self, token: Any) -> bool:
        return functions.rotate_refresh_token(self._bind, token, now=self.clock())

    def revoke_token_family(self, family: str) -> int:
        return functions.revoke_token_family(self._bind, self.token_model, family,
                                             now=self.clock())
