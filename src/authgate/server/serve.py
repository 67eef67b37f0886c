"""Running the app under gunicorn from ``authgate serve``.

gunicorn is the production server in both cases: one worker process with
threads by default, N processes with ``--workers N``. Each worker builds its
own app (no preloading), so no database connection or lock crosses a fork.
The DNS-SD advertisement (``AUTHGATE_ADVERTISE=1``) runs in the arbiter,
once for the whole server: see :mod:`authgate.server.nmos.service`.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

from authgate.server.config import Settings

__all__ = ["run"]

THREADS_PER_WORKER = 4


class _Gunicorn(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # newer settings are skipped on older gunicorns
                self.cfg.set(key, value)

    def load(self) -> Any:
        from authgate.server.app import create_app

        return create_app()


def run(host: str, port: int, workers: int, settings: Settings | None = None) -> None:
    """Serve until stopped; ``settings`` (the CLI's) decide the advertisement."""
    hooks: dict[str, Any] = {}
    if settings is not None:
        from authgate.server.nmos.service import gunicorn_hooks

        hooks = gunicorn_hooks(settings)
    _Gunicorn({
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": THREADS_PER_WORKER,
        "accesslog": "-",
        "graceful_timeout": 10,
        "preload_app": False,
        # No control socket: it lives in $HOME and two servers on one host would share it.
        "control_socket_disable": True,
        **hooks,
    }).run()
