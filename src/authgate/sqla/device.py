"""SQLAlchemy 2.0 storage of device credentials (RFC 8628).

:class:`DeviceCodeMixin` adds the columns to an application's model (it adds
the primary key, and may redeclare ``user_id`` with its own foreign key);
:class:`SQLDeviceStore` implements
:class:`~authgate.core.oauth2.device.DeviceCodeStore` on it. Every state
change is one conditional ``UPDATE ... WHERE status = <expected> AND
expires_at > now`` whose row count says whether this call won, so concurrent
polls or approvals cannot both succeed, on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Float, Integer, String, Text, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from authgate.core.oauth2.device import (
    APPROVED,
    CONSUMED,
    DENIED,
    PENDING,
    DeviceCredential,
)

__all__ = ["DeviceCodeMixin", "SQLDeviceStore"]


class DeviceCodeMixin:
    """Columns of a device credential; the device code itself is never stored."""

    #: SHA-256 hex of the device code.
    device_code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    #: Normalised (``BCDFGHJK``): what people type is normalised before lookup.
    user_code: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    client_id: Mapped[str] = mapped_column(String(48), index=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    expires_at: Mapped[float] = mapped_column(Float)
    interval: Mapped[int] = mapped_column(Integer, default=5)
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    user_id: Mapped[str | None] = mapped_column(String(255), default=None)
    #: When the device last polled successfully (the pace itself is kept in the cache).
    last_poll: Mapped[float | None] = mapped_column(Float, default=None)

    def to_credential(self) -> DeviceCredential:
        return DeviceCredential(
            device_code_hash=self.device_code_hash, user_code=self.user_code,
            client_id=self.client_id, scope=self.scope or "", expires_at=self.expires_at,
            interval=self.interval, status=self.status, user_id=self.user_id,
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} client_id={self.client_id!r} status={self.status!r}>"


class SQLDeviceStore:
    """Device credentials in ``model`` (a :class:`DeviceCodeMixin` model).

    ``session_factory`` makes a new session per operation (a ``sessionmaker``),
    so the store is safe to share between threads and each transition commits
    on its own.
    """

    def __init__(self, session_factory: Callable[[], Session], model: type[Any]) -> None:
        self.session_factory = session_factory
        self.model = model

    def __repr__(self) -> str:
        return f"<SQLDeviceStore {self.model.__name__}>"

    def save_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        model = self.model
        with self.session_factory() as session:
            # An expired row frees its user code (the unique index guards live ones).
            session.execute(delete(model).where(model.user_code == credential.user_code,
                                                model.expires_at <= now))
            session.add(model(
                device_code_hash=credential.device_code_hash, user_code=credential.user_code,
                client_id=credential.client_id, scope=credential.scope,
                expires_at=credential.expires_at, interval=credential.interval,
                status=credential.status,
                user_id=None if credential.user_id is None else str(credential.user_id),
            ))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
        return True

    def _one(self, clause: Any) -> DeviceCredential | None:
        with self.session_factory() as session:
            row = session.scalars(select(self.model).where(clause)).first()
            return None if row is None else row.to_credential()

    def query_device_credential(self, device_code_hash: str) -> DeviceCredential | None:
        return self._one(self.model.device_code_hash == device_code_hash)

    def query_user_code(self, user_code: str) -> DeviceCredential | None:
        return self._one(self.model.user_code == user_code)

    def _transition(self, credential: DeviceCredential, now: float, source: str,
                    **values: Any) -> bool:
        model = self.model
        statement = (
            update(model)
            .where(model.device_code_hash == credential.device_code_hash,
                   model.status == source, model.expires_at > now)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        with self.session_factory() as session:
            result = session.execute(statement)
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0) == 1

    def approve_device_credential(self, credential: DeviceCredential, user_id: Any,
                                  now: float) -> bool:
        return self._transition(credential, now, PENDING, status=APPROVED, user_id=str(user_id))

    def deny_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._transition(credential, now, PENDING, status=DENIED)

    def consume_device_credential(self, credential: DeviceCredential, now: float) -> bool:
        return self._transition(credential, now, APPROVED, status=CONSUMED, last_poll=now)
