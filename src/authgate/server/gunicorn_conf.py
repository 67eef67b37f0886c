"""gunicorn settings for running the server with the plain ``gunicorn`` command.

``gunicorn -c python:authgate.server.gunicorn_conf 'authgate.server:create_app()'``
gives what ``authgate serve`` sets up: DNS-SD advertisement in the arbiter
when ``AUTHGATE_ADVERTISE=1``. Only the settings the hooks need are read here
(issuer, advertisement), so no secret key file is made by the arbiter.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from authgate.server.config import load_settings
from authgate.server.nmos.service import gunicorn_hooks

_hooks = gunicorn_hooks(load_settings({"AUTHGATE_SECRET_KEY": "unused-by-the-arbiter"},
                                      Path.cwd() / "instance"))
control_socket_disable = True


def when_ready(arbiter: Any) -> None:
    if "when_ready" in _hooks:
        _hooks["when_ready"](arbiter)


def on_exit(arbiter: Any) -> None:
    if "on_exit" in _hooks:
        _hooks["on_exit"](arbiter)
