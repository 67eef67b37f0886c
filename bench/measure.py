"""Measure one workload against a running server: throughput, latency, errors and CPU.

The window is bounded by two /proc snapshots; CPU is reported in cores
(CPU seconds per wall second) for the server's process tree, the driver
(wrk or the Python driver), the harness itself, and everything else.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import time
from dataclasses import dataclass
from typing import Any

from bench import driver as pydriver
from bench import procstat, wrkload
from bench.server import REPO, RunningServer
from bench.targets import PROJECT_VENV

WRK_WORKLOADS = ("W1", "W2", "C-GET", "C-POST")
TOKEN_POOL = 32


@dataclass(frozen=True)
class Settings:
    duration: float = 10.0
    warmup: float = 2.0
    wrk_threads: int = 1
    wrk_connections: int = 8
    driver_threads: int = 8
    device_polls: int = 10
    presign_rate: int = 7000


def _window(server: RunningServer, before: procstat.Snapshot, after: procstat.Snapshot,
            wall: float, driver_cpu: float) -> dict[str, float]:
    server_cpu = after.server - before.server
    harness = after.harness - before.harness
    busy = after.machine.busy - before.machine.busy
    database = after.database - before.database
    other = max(0.0, busy - server_cpu - driver_cpu - harness - database)
    return {
        "window_s": wall,
        "server_cpu_s": server_cpu,
        "server_cores": server_cpu / wall,
        "driver_cores": driver_cpu / wall,
        "harness_cores": harness / wall,
        "database_cores": database / wall,
        "other_cores": other / wall,
        "machine_cores": busy / wall,
    }


def wrk_errors(result: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """Every kind of failure wrk counts (a wrong status included), in total and by kind."""
    detail = {k: result[k] for k in ("wrong_status", "connect_errors", "read_errors",
                                     "write_errors", "timeouts")}
    return sum(detail.values()), detail


def _wrk(server: RunningServer, workload: str, s: Settings, work_dir: pathlib.Path
         ) -> dict[str, Any]:
    tokens = None
    if workload == "W2":
        tokens = pydriver.obtain_user_tokens(server.port, server.fixtures, TOKEN_POOL)
    path = work_dir / f"{workload}.lua"
    path.write_text(wrkload.script(workload, server.fixtures, tokens))
    if s.warmup > 0:
        wrkload.WrkRun(server.port, path, s.warmup, threads=s.wrk_threads,
                       connections=s.wrk_connections, out=work_dir / f"{workload}.warm").wait()
    before, t0 = procstat.Snapshot.take(server.pid, None), time.monotonic()
    run = wrkload.WrkRun(server.port, path, s.duration, threads=s.wrk_threads,
                         connections=s.wrk_connections, out=work_dir / f"{workload}.out")
    result, driver_cpu = run.wait()
    after, wall = procstat.Snapshot.take(server.pid, None), time.monotonic() - t0
    duration = result["duration_us"] / 1e6
    errors, detail = wrk_errors(result)
    out = {
        "driver": "wrk",
        "duration_s": duration,
        "requests": result["requests"],
        "flows": None,
        "errors": errors,
        "error_detail": detail,
        "rps": result["requests"] / duration,
        "flows_per_s": None,
        "p50_ms": result["p50_us"] / 1000,
        "p99_ms": result["p99_us"] / 1000,
    }
    out.update(_window(server, before, after, wall, driver_cpu))
    return out


def launch_driver(server: RunningServer, workload: str, s: Settings, work_dir: pathlib.Path
                  ) -> subprocess.Popen[str]:
    """Start ``bench.driver`` for one workload and return once it is ``READY``.

    Its timed part starts when ``GO`` is written to its stdin, so several drivers
    (the soak's W3-W5) can be prepared first and then let go together.
    """
    spec = {"workload": workload, "port": server.port, "fixtures": server.fixtures,
            "duration": s.duration, "warmup": s.warmup, "threads": s.driver_threads,
            "polls": s.device_polls, "presign_rate": s.presign_rate}
    spec_path = work_dir / f"{workload}.json"
    spec_path.write_text(json.dumps(spec))
    proc = subprocess.Popen([str(PROJECT_VENV / "bin" / "python"), "-m", "bench.driver",
                             str(spec_path)], cwd=REPO, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout
    ready = proc.stdout.readline().strip()
    if ready != "READY":
        proc.stdin.close()
        proc.wait(timeout=30)
        detail = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"driver failed: {ready} {detail}")
    return proc


def _python_driver(server: RunningServer, workload: str, s: Settings, work_dir: pathlib.Path
                   ) -> dict[str, Any]:
    proc = launch_driver(server, workload, s, work_dir)
    assert proc.stdin and proc.stdout
    try:
        before, t0 = procstat.Snapshot.take(server.pid, proc.pid), time.monotonic()
        proc.stdin.write("GO\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        after, wall = procstat.Snapshot.take(server.pid, proc.pid), time.monotonic() - t0
        if not line:
            raise RuntimeError(f"driver died: {proc.stderr.read() if proc.stderr else ''}")
        result = json.loads(line)
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
    duration = result["duration_s"]
    out = {
        "driver": "python",
        "duration_s": duration,
        "requests": result["requests"],
        "flows": result["flows"],
        "errors": result["errors"],
        "error_detail": result["error_samples"],
        "rps": result["requests"] / duration,
        "flows_per_s": result["flows"] / duration,
        "p50_ms": result["p50_ms"],
        "p99_ms": result["p99_ms"],
        "presigned_exhausted": result["exhausted"],
        "poll_answers": result.get("poll_answers") or {},
    }
    out.update(_window(server, before, after, wall, after.driver - before.driver))
    return out


def measure(server: RunningServer, workload: str, s: Settings, work_dir: pathlib.Path
            ) -> dict[str, Any]:
    work_dir.mkdir(parents=True, exist_ok=True)
    if workload in WRK_WORKLOADS:
        result = _wrk(server, workload, s, work_dir)
    else:
        result = _python_driver(server, workload, s, work_dir)
    requests = max(1, result["requests"])
    result["server_cpu_us_per_req"] = result["server_cpu_s"] / requests * 1e6
    return result
