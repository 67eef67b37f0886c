"""Liveness, readiness, and 503 instead of 500 when a backing service is down.

A database or Redis outage is the operator's problem, not a bug: clients get
``503`` with ``Retry-After`` (and the OAuth ``temporarily_unavailable`` code),
load balancers see ``/health/ready`` fail, and ``/health/live`` keeps saying
the process itself is fine so it is not restarted for nothing.
"""

from __future__ import annotations

import logging
from typing import Any

import flask
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

__all__ = ["init_app"]

log = logging.getLogger(__name__)
RETRY_AFTER = "5"

#: Errors that mean "the service is not there", not "we have a bug". InterfaceError is a
#: connection the driver already knows is closed (a server restarted under it); redis-py's
#: ConnectionError covers refused and dropped connections and a Redis still loading its data.
_UNAVAILABLE: list[type[Exception]] = [OperationalError, InterfaceError, PoolTimeoutError]
try:
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    _UNAVAILABLE += [RedisConnectionError, RedisTimeoutError]
except ImportError:  # pragma: no cover - redis ships with the server extra
    pass


def _unavailable(what: str) -> flask.Response:
    response = flask.jsonify(error="temporarily_unavailable",
                             error_description=f"The {what} is unavailable; try again shortly.")
    response.status_code = 503
    response.headers["Retry-After"] = RETRY_AFTER
    return response


def _on_backend_error(error: Exception) -> flask.Response:
    from authgate.server.app import state

    # Log the class only: driver messages can carry connection strings.
    log.error("backing service unavailable: %s", type(error).__name__)
    try:
        state().db.session.rollback()
    except Exception:
        log.debug("rollback after a backend error failed", exc_info=True)
    what = "database" if isinstance(error, DBAPIError | PoolTimeoutError) else "cache"
    return _unavailable(what)


def _check_database() -> bool:
    from authgate.server.app import state

    try:
        with state().db.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        return False
    return True


def _check_cache() -> bool:
    from authgate.server.app import state

    cache: Any = state().cache
    try:
        ping = getattr(cache, "ping", None)
        if ping is not None:
            return bool(ping())
        cache.get("health-check")
    except Exception:
        return False
    return True


def live() -> flask.Response:
    return flask.jsonify(status="ok")


def ready() -> flask.Response:
    checks = {"database": _check_database(), "cache": _check_cache()}
    response = flask.jsonify(status="ok" if all(checks.values()) else "unavailable",
                             checks=checks)
    if not all(checks.values()):
        response.status_code = 503
        response.headers["Retry-After"] = RETRY_AFTER
    return response


def init_app(app: flask.Flask) -> None:
    app.add_url_rule("/health/live", "health.live", live)
    app.add_url_rule("/health/ready", "health.ready", ready)
    for error_class in _UNAVAILABLE:
        app.register_error_handler(error_class, _on_backend_error)
