"""``create_app``: the ready-to-run authorization server as a Flask application.

``gunicorn 'authgate.server:create_app()'`` and ``authgate serve`` both land
here. The first start of an instance creates what it needs: the secret key
(instance folder, mode 0600), the database schema (Alembic, to head) and the
first signing key; later starts find them. A file lock in the instance folder
keeps concurrent first starts (gunicorn workers) from racing each other.
"""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import flask
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from authgate.cache import MemoryCache
from authgate.server import health, migrate
from authgate.server.audit import AuditLog
from authgate.server.config import Settings, load_settings
from authgate.server.crypto import KeyCipher
from authgate.server.database import Database
from authgate.server.keys import KeyRing, ensure_signing_key
from authgate.server.oauth1 import OAuth1Parts, build_oauth1
from authgate.server.oauth2 import OAuth2Parts, build_oauth2

if TYPE_CHECKING:
    from itsdangerous import URLSafeTimedSerializer

__all__ = ["EXTENSION", "ServerState", "create_app", "state"]

log = logging.getLogger(__name__)
EXTENSION = "authgate.server"
PACKAGE_DIR = Path(__file__).resolve().parent

SECURITY_HEADERS = {
    # No form-action: browsers apply it to the redirect back to the client after consent.
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
#: Responses that hold nothing secret and may be cached a little.
CACHEABLE_ENDPOINTS = {"protocol.certs", "protocol.metadata", "static"}


@dataclass
class ServerState:
    """Everything one app instance holds, in ``app.extensions["authgate.server"]``."""

    settings: Settings
    db: Database
    cache: Any
    keys: KeyRing
    cipher: KeyCipher
    audit: AuditLog
    oauth2: OAuth2Parts
    oauth1: OAuth1Parts

    def __repr__(self) -> str:
        return f"<ServerState {self.settings!r} {self.db!r}>"


def state(app: flask.Flask | None = None) -> ServerState:
    target = app if app is not None else flask.current_app
    result: ServerState = target.extensions[EXTENSION]
    return result


@contextmanager
def startup_lock(instance_path: Path) -> Iterator[None]:
    instance_path.mkdir(parents=True, exist_ok=True)
    with open(instance_path / ".startup.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _make_cache(settings: Settings) -> Any:
    if settings.redis_url:
        from authgate.cache import RedisCache

        return RedisCache.from_url(settings.redis_url, prefix=settings.redis_prefix,
                                   socket_connect_timeout=3, socket_timeout=3)
    return MemoryCache()


def prepare_database(settings: Settings, db: Database, cipher: KeyCipher, *,
                     upgrade: bool) -> None:
    """Upgrade the schema to head (unless told not to) and make sure a signing key exists.

    With ``AUTHGATE_MIGRATE=0`` the operator runs ``authgate db upgrade``
    themselves; until then there is no schema and so no key to make.
    """
    with startup_lock(settings.instance_path):
        if upgrade:
            migrate.upgrade(db.engine)
        if migrate.current_revision(db.engine) is None:
            log.warning("the database has no schema yet: run `authgate db upgrade`")
            return
        with db.session_factory() as session:
            ensure_signing_key(session, cipher, settings.jwt_alg, settings.clock())


def _configure_flask(app: flask.Flask, settings: Settings) -> None:
    secure = settings.issuer.startswith("https://")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        SESSION_COOKIE_NAME="authgate_session",
        WTF_CSRF_TIME_LIMIT=3600,
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    app.config.update(settings.flask)
    app.session_interface = _KeptSerializerSessions()


class _KeptSerializerSessions(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of
    keys instead of on every request.

    Flask builds a new ``URLSafeTimedSerializer`` each time it opens a session, even
    for a request without a cookie (every API and token request): about 65,000
    instructions a request, for an object that depends only on the keys. It is kept
    for the keys it was made with, so a changed ``SECRET_KEY`` or
    ``SECRET_KEY_FALLBACKS`` gets a new one on the next request.
    """

    def __init__(self) -> None:
        self._kept: tuple[tuple[Any, ...], URLSafeTimedSerializer | None] | None = None

    def get_signing_serializer(self, app: flask.Flask) -> URLSafeTimedSerializer | None:
        keys = (app.secret_key, *(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        kept = self._kept
        if kept is not None and kept[0] == keys:
            return kept[1]
        serializer = super().get_signing_serializer(app)
        self._kept = (keys, serializer)
        return serializer


_ALWAYS = tuple(SECURITY_HEADERS.items())
_WITH_NO_CACHE = (*_ALWAYS, ("Cache-Control", "no-store"), ("Pragma", "no-cache"))


def _security_headers(response: flask.Response) -> flask.Response:
    """Add each header the view did not set itself (one pass over the headers, not
    one lookup per name: this runs on every response)."""
    headers = response.headers
    present = {name.lower() for name, _ in headers.items()}
    wanted = _ALWAYS if flask.request.endpoint in CACHEABLE_ENDPOINTS else _WITH_NO_CACHE
    headers.extend([(name, value) for name, value in wanted if name.lower() not in present])
    return response


def _trust_proxies(app: flask.Flask, count: int) -> None:
    """Behind ``count`` reverse proxies, take the client address, scheme, host, port and
    prefix from their ``X-Forwarded-*`` headers.

    Without it, every request seems to come from the proxy: one address for the
    per-address rate limits (a few failures would lock everyone out), and plain
    http behind a TLS-terminating proxy (refused off loopback). Off by default,
    because a server reached directly must not believe headers a client can forge.
    """
    if count:
        trusted = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count,
                           x_port=count, x_prefix=count)
        app.wsgi_app = trusted  # type: ignore[method-assign]


def create_app(config: Mapping[str, Any] | None = None) -> flask.Flask:
    """Build the server; ``config`` holds ``AUTHGATE_*`` settings and Flask keys."""
    app = flask.Flask("authgate.server", root_path=str(PACKAGE_DIR),
                      instance_relative_config=True)
    settings = load_settings(config, Path(app.instance_path))
    app.instance_path = str(settings.instance_path)
    _configure_flask(app, settings)
    _trust_proxies(app, settings.proxy_fix)

    db = Database(settings.database_url)
    cipher = KeyCipher(settings.secret_key)
    prepare_database(settings, db, cipher, upgrade=settings.migrate)
    cache = _make_cache(settings)
    keys = KeyRing(db.session_factory, cipher, clock=settings.clock,
                   reload_interval=settings.key_reload_interval)
    audit = AuditLog(db.engine, settings.clock)
    oauth2 = build_oauth2(app, settings, db, keys, audit, cache)
    oauth1 = build_oauth1(app, settings, db, cache)
    app.extensions[EXTENSION] = ServerState(settings, db, cache, keys, cipher, audit,
                                            oauth2, oauth1)

    from authgate.server.views import pages, protocol

    csrf = CSRFProtect(app)
    csrf.exempt(protocol.bp)  # called by OAuth clients with their own credentials, not browsers
    app.register_blueprint(protocol.bp)
    app.register_blueprint(pages.bp)
    health.init_app(app)
    app.teardown_appcontext(db.remove)
    app.after_request(_security_headers)
    log.info("authgate server ready: issuer %s, database %s", settings.issuer, db.backend)
    return app
