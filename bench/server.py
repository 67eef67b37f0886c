"""Start a target under a WSGI server on a fresh database, and stop it.

The server is gunicorn (2 sync workers, loopback) unless the run asks for
granian (``--server granian``): the same two worker processes, each
running one request at a time, so a difference between the two is the
server's own cost, not more parallelism.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import IO

from bench import databases, procstat
from bench.targets import Target

REPO = pathlib.Path(__file__).resolve().parent.parent
WORKERS = 2
SERVERS = ("gunicorn", "granian")
#: What the results header says each server ran with (``Mode: ...; <server> with <this>``).
SERVER_SETTINGS = {
    "gunicorn": "2 sync workers, 127.0.0.1, backlog 2048",
    "granian": "--interface wsgi, 2 worker processes with 1 blocking thread (the Python "
               "one) and a single-threaded runtime each, HTTP/1.1 with keep-alive, "
               "127.0.0.1, backlog 2048",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RunningServer:
    target: Target
    db: str | None
    token_format: str
    port: int
    process: subprocess.Popen[bytes]
    state_dir: pathlib.Path
    database: databases.Database | None
    fixtures: dict[str, object] = field(default_factory=dict)
    #: granian logs to its stdout/stderr: this file, closed on stop.
    log: IO[bytes] | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return procstat.children(self.pid)

    def rss_kib(self) -> dict[int, int]:
        return {p: procstat.rss_kib(p) for p in procstat.tree(self.pid)}

    def stop(self) -> None:
        """SIGTERM the master (both servers stop their workers gracefully on it), else kill.

        Should the master have to be killed, its workers would outlive it (a
        granian worker is not told its parent died) and hold the port and
        the database, so the ones seen before the kill are killed too.
        """
        if self.process.poll() is None:
            workers = self.worker_pids()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                for pid in workers:
                    _kill_if_ours(pid, self.process.args)
        if self.log is not None:
            self.log.close()
        if self.database is not None:
            self.database.drop()


def _kill_if_ours(pid: int, args: object) -> None:
    """SIGKILL ``pid`` if it still runs our server's command line (workers are forks of it)."""
    if not isinstance(args, list):
        return
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            running = f.read().split(b"\0")[:-1]
    except OSError:
        return
    if running[-len(args):] == [os.fsencode(str(a)) for a in args]:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def _env(target: Target, url: str | None, state_dir: pathlib.Path, port: int,
         token_format: str, extra: dict[str, str]) -> dict[str, str]:
    # The caller's AUTHGATE_* settings (a Redis URL, a database URL, the test suite's own)
    # would reach authgate serve and change what is measured: each start sets its own.
    # Likewise GRANIAN_* and GUNICORN_CMD_ARGS would change the server's settings.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "PYTHONHOME", "AUTHGATE_", "GRANIAN_",
                                "GUNICORN_CMD_ARGS"))}
    env.update({
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
        "BENCH_STATE_DIR": str(state_dir),
        "BENCH_ISSUER": f"http://127.0.0.1:{port}",
        "BENCH_TOKEN_FORMAT": token_format,
    })
    if url:
        env["BENCH_DATABASE_URL"] = url
    env.update(target.env(url, state_dir, port, token_format))
    env.update(extra)
    return env


def _wait_ready(proc: subprocess.Popen[bytes], port: int, log: pathlib.Path,
                path: str = "/ping", timeout: float = 30.0, name: str = "gunicorn") -> None:
    deadline = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"{name} exited with {proc.returncode}:\n{tail}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                answered += 1
            conn.close()
        except OSError:
            pass
        if answered >= 4 and len(procstat.children(proc.pid)) >= WORKERS:
            return
        time.sleep(0.1)
    raise RuntimeError(f"{name} did not become ready:\n{log.read_text()[-3000:]}")


def gunicorn_command(target: Target, port: int, log: pathlib.Path,
                     config: pathlib.Path | None = None) -> list[str]:
    cmd = [str(target.gunicorn()), "--workers", str(WORKERS), "--worker-class", "sync",
           "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning",
           "--error-logfile", str(log), "--chdir", str(REPO)]
    if config is not None:
        cmd += ["--config", str(config)]
    return [*cmd, target.wsgi]


def granian_command(target: Target, port: int) -> list[str]:
    """granian as close to gunicorn's sync workers as it goes.

    Two worker processes, each with one blocking thread (the one that runs
    the WSGI app, so one request at a time per worker, as a sync worker)
    and a single-threaded Rust runtime for the sockets. Keep-alive stays on:
    it is granian's default and part of what it would bring in production.
    The targets are written as gunicorn's ``module:factory()``; granian
    takes ``module:factory`` with ``--factory``.
    """
    app, factory = target.wsgi, False
    if app.endswith("()"):
        app, factory = app[:-2], True
    elif "(" in app:
        raise ValueError(f"granian cannot call a factory with arguments: {target.wsgi}")
    return [str(target.venv / "bin" / "granian"), "--interface", "wsgi",
            "--host", "127.0.0.1", "--port", str(port), "--workers", str(WORKERS),
            "--blocking-threads", "1", "--runtime-threads", "1", "--runtime-mode", "st",
            "--http", "1", "--no-ws", "--backlog", "2048", "--log-level", "warning",
            "--no-access-log", "--working-dir", str(REPO),
            *(["--factory"] if factory else []), app]


def start(target: Target, db: str | None, token_format: str, run_dir: pathlib.Path,
          *, extra_env: dict[str, str] | None = None,
          gunicorn_config: pathlib.Path | None = None,
          server: str = "gunicorn") -> RunningServer:
    """Fresh state directory and database, seed, then the server; the fixtures come from the seed.

    ``gunicorn_config`` (the profiler's hooks) exists for gunicorn only.
    """
    if server not in SERVERS:
        raise ValueError(f"unknown server {server!r}")
    if server != "gunicorn" and gunicorn_config is not None:
        raise ValueError("a gunicorn config needs --server gunicorn")
    log_file: IO[bytes] | None = None
    state_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=run_dir))
    database = databases.create(db, state_dir, target.name) if db else None
    port = free_port()
    env = _env(target, database.url if database else None, state_dir, port, token_format,
               extra_env or {})
    try:
        seeded = subprocess.run([str(target.python()), *target.seed_args], env=env, cwd=REPO,
                                check=True, capture_output=True, text=True, timeout=180)
        fixtures = json.loads(seeded.stdout.strip().splitlines()[-1])
        log = state_dir / f"{server}.log"
        if server == "granian":
            cmd = granian_command(target, port)
            log_file = open(log, "wb")  # noqa: SIM115 - closed by RunningServer.stop
            output: int | IO[bytes] = log_file
        else:
            cmd = gunicorn_command(target, port, log, gunicorn_config)
            output = subprocess.DEVNULL
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=output,
                                stderr=subprocess.STDOUT if log_file else output)
    except subprocess.CalledProcessError as error:
        if database is not None:
            database.drop()
        raise RuntimeError(f"seeding {target.name} failed:\n{error.stderr[-3000:]}") from None
    except BaseException:
        if log_file is not None:
            log_file.close()
        if database is not None:
            database.drop()
        raise
    running = RunningServer(target, db, token_format, port, proc, state_dir, database,
                            fixtures, log_file)
    try:
        _wait_ready(proc, port, log, target.ready_path, name=server)
    except BaseException:
        running.stop()
        raise
    return running
