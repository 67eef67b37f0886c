"""Start a target under gunicorn (2 sync workers, loopback) on a fresh database, and stop it."""

from __future__ import annotations

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

from bench import databases, procstat
from bench.targets import Target

REPO = pathlib.Path(__file__).resolve().parent.parent
WORKERS = 2


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

    @property
    def pid(self) -> int:
        return self.process.pid

    def worker_pids(self) -> list[int]:
        return procstat.children(self.pid)

    def rss_kib(self) -> dict[int, int]:
        return {p: procstat.rss_kib(p) for p in procstat.tree(self.pid)}

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.database is not None:
            self.database.drop()


def _env(target: Target, url: str | None, state_dir: pathlib.Path, port: int,
         token_format: str, extra: dict[str, str]) -> dict[str, str]:
    # The caller's AUTHGATE_* settings (a Redis URL, a database URL, the test suite's own)
    # would reach authgate serve and change what is measured: each start sets its own.
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("VIRTUAL_ENV", "PYTHONHOME", "AUTHGATE_"))}
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
                path: str = "/ping", timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    answered = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text()[-3000:]
            raise RuntimeError(f"gunicorn exited with {proc.returncode}:\n{tail}")
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
    raise RuntimeError(f"gunicorn did not become ready:\n{log.read_text()[-3000:]}")


def start(target: Target, db: str | None, token_format: str, run_dir: pathlib.Path,
          *, extra_env: dict[str, str] | None = None,
          gunicorn_config: pathlib.Path | None = None) -> RunningServer:
    """Fresh state directory and database, seed, then gunicorn; the fixtures come from the seed."""
    state_dir = pathlib.Path(tempfile.mkdtemp(prefix=f"{target.name}-", dir=run_dir))
    database = databases.create(db, state_dir, target.name) if db else None
    port = free_port()
    env = _env(target, database.url if database else None, state_dir, port, token_format,
               extra_env or {})
    try:
        seeded = subprocess.run([str(target.python()), *target.seed_args], env=env, cwd=REPO,
                                check=True, capture_output=True, text=True, timeout=180)
        fixtures = json.loads(seeded.stdout.strip().splitlines()[-1])
        log = state_dir / "gunicorn.log"
        cmd = [str(target.gunicorn()), "--workers", str(WORKERS), "--worker-class", "sync",
               "--bind", f"127.0.0.1:{port}", "--backlog", "2048", "--log-level", "warning",
               "--error-logfile", str(log), "--chdir", str(REPO)]
        if gunicorn_config is not None:
            cmd += ["--config", str(gunicorn_config)]
        cmd.append(target.wsgi)
        proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
    except subprocess.CalledProcessError as error:
        if database is not None:
            database.drop()
        raise RuntimeError(f"seeding {target.name} failed:\n{error.stderr[-3000:]}") from None
    except BaseException:
        if database is not None:
            database.drop()
        raise
    server = RunningServer(target, db, token_format, port, proc, state_dir, database, fixtures)
    try:
        _wait_ready(proc, port, log, target.ready_path)
    except BaseException:
        server.stop()
        raise
    return server
