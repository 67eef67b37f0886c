"""Running the app under gunicorn from ``authgate serve``.

gunicorn is the production server in both cases: one worker process with
threads by default, N processes with ``--workers N``. Each worker builds its
own app (no preloading), so no database connection or lock crosses a fork.
"""

from __future__ import annotations

from typing import Any

from gunicorn.app.base import BaseApplication

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


def run(host: str, port: int, workers: int) -> None:
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
    }).run()
