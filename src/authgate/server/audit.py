"""The audit log: one row per authorization, issue, refresh, registration and key change.

Rows are written in their own short Session, so an audit entry never rides on
(or is rolled back with) the request's unit of work. ``detail`` must never
hold a secret: callers pass names, ids, scopes and grant types only.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from authgate.server.models import AuditEvent

__all__ = ["AuditLog"]

log = logging.getLogger(__name__)


class AuditLog:
    def __init__(self, session_factory: Callable[[], Session], clock: Callable[[], float]
                 ) -> None:
        self._session_factory = session_factory
        self._clock = clock

    def record(self, kind: str, *, actor: str | None = None, client_id: str | None = None,
               **detail: Any) -> None:
        with self._session_factory() as session:
            session.add(AuditEvent(at=self._clock(), kind=kind, actor=actor,
                                   client_id=client_id, detail=json.dumps(detail, default=str)))
            session.commit()
        log.info("audit %s actor=%s client=%s", kind, actor, client_id)
