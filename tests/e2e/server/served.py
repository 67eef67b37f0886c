"""``authgate serve`` as a subprocess on a free loopback port, seeded with the ``authgate`` CLI.

Each module that needs a server starts one (its own instance folder, so its own
SQLite database, secret key and signing key) and seeds it the way an operator
would: ``create-user --password-stdin --scope``, ``create-client --json``,
``create-oauth1-client --json``, ``create-initial-token --json``, each a
separate ``authgate`` process pointed at the same instance folder.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import free_port

BIN = Path(sys.executable).parent
AUTHGATE = str(BIN / "authgate")
PASSWORD = "wonderland-42-rabbit"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def clean_environ() -> dict[str, str]:
    """The caller's environment without settings of its own that would reach the server."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("AUTHGATE_") or k.startswith("AUTHGATE_TEST_")}


@dataclass
class Served:
    """A running ``authgate serve``: its base URL (= issuer), environment and folders."""

    base: str
    port: int
    env: dict[str, str]
    instance: Path
    log: Path

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run([AUTHGATE, *args], env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=60, check=False)
        assert done.returncode == 0, f"authgate {' '.join(args)}: {done.stderr}"
        return done.stdout

    def cli_json(self, *args: str) -> dict[str, Any]:
        return dict(json.loads(self.cli(*args, "--json")))

    def user(self, name: str, scope: str = "profile email", password: str = PASSWORD) -> str:
        self.cli("create-user", name, "--password-stdin", "--scope", scope,
                 stdin=password + "\n")
        return name

    def client(self, name: str, *grants: str, redirect_uris: tuple[str, ...] = (),
               scope: str = "profile email", auth_method: str = "client_secret_basic"
               ) -> dict[str, Any]:
        args = ["create-client", "--name", name, "--scope", scope, "--auth-method", auth_method]
        for grant in grants:
            args += ["--grant-type", grant]
        for uri in redirect_uris:
            args += ["--redirect-uri", uri]
        return self.cli_json(*args)

    def oauth1_client(self, name: str, callback_uri: str = "") -> dict[str, Any]:
        args = ["create-oauth1-client", "--name", name]
        if callback_uri:
            args += ["--callback-uri", callback_uri]
        return self.cli_json(*args)

    def initial_token(self) -> str:
        return str(self.cli_json("create-initial-token")["initial_access_token"])


class Seeds:
    """Made on first use, then kept: a worker running part of a module makes only its part.

    (Under ``pytest -n``, a module's tests may be shared out between workers, and
    each worker starts the module's server; every ``authgate`` command costs ~2 s.)
    """

    def __init__(self, **makers: Callable[[], Any]) -> None:
        self._makers = makers
        self._made: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __getitem__(self, name: str) -> Any:
        with self._lock:
            if name not in self._made:
                self._made[name] = self._makers[name]()
            return self._made[name]


def _wait_ready(process: subprocess.Popen[bytes], base: str, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"authgate serve exited ({process.returncode}):\n{log.read_text()}")
        try:
            if requests.get(base + "/health/ready", timeout=1).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or a worker still booting
            pass
        time.sleep(0.1)
    pytest.fail("authgate serve was not ready within 30 s:\n" + log.read_text())


@contextmanager
def serve(folder: Path, **settings: str) -> Iterator[Served]:
    """Start ``authgate serve`` with ``AUTHGATE_INSTANCE_PATH`` under ``folder``; stop it after."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    instance = folder / "instance"
    env = {**clean_environ(), "AUTHGATE_INSTANCE_PATH": str(instance),
           "AUTHGATE_ISSUER": base, **settings}
    log_path = folder / "serve.log"
    # A file, not a pipe: gunicorn's access log would fill a pipe and stall the server.
    with open(log_path, "w") as log:
        process = subprocess.Popen([AUTHGATE, "serve", "--host", "127.0.0.1", "--port",
                                    str(port)], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_ready(process, base, log_path)
            yield Served(base, port, env, instance, log_path)
        finally:
            # SIGINT: gunicorn's quick shutdown (SIGTERM waits for idle keep-alive
            # connections, of the browser too, for seconds).
            process.send_signal(signal.SIGINT)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One ``authgate serve`` per test module, with a fresh instance folder."""
    with serve(tmp_path_factory.mktemp("served")) as server:
        yield server
