"""The benchmark harness, run once in its tiniest form: every target and workload must work.

Issue 6 asks for figures, not for speed checks in CI, but a harness that is
only ever run by hand rots: a target whose seed broke, a workload answered
with errors, a report that no longer renders. So CI runs ``python -m bench
--quick`` with a second per workload on SQLite, one JWT format, no
micro-benchmarks, into a temporary results directory, and fails if any
start failed, any workload reported an error or any expected row is missing.
Throughput is printed by the harness and never asserted.

It needs ``wrk`` (``.ci/run`` installs it) and ``bench/.venv-ref`` (Authlib
& co. from PyPI, which the harness creates on first use). Under ``CI=true``
it always runs; elsewhere it skips when either is missing.

It keeps both cores busy for about a minute and a half. ``make test`` runs
pytest with ``-n 2 --dist loadfile``: this file gets a worker to itself,
while the other worker goes on with other files. Nothing here depends on
speed (the harness's request timeout is 10 s), so sharing the machine only
costs time; it carries no mark, since under ``loadfile`` a mark cannot keep
the other worker idle, and an ``xdist_group`` mark breaks collection when
pytest runs without xdist (``--strict-markers``).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import sys
import time
from typing import Any

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
COMMITTED_RESULTS = REPO / "bench" / "results"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

#: (target, token label, workload) rows the tiny run must produce, each without errors.
EXPECTED = {
    *(("authgate", "opaque", w) for w in ("W1", "W2", "W3", "W4", "W5")),
    ("authgate", "RS256", "W1"), ("authgate", "RS256", "W2"),
    *(("reference", "opaque", w) for w in ("W1", "W2", "W3", "W4", "W5")),
    ("reference", "RS256", "W1"), ("reference", "RS256", "W2"),
    *(("authgate-serve", "RS256", w) for w in ("W1", "W3", "W4", "W5")),
    ("authgate-serve", "RS256+db", "W2"),
    ("ceiling", "none", "C-GET"), ("ceiling", "none", "C-POST"),
}

ARGS = ["--quick", "--db", "sqlite", "--token-formats", "opaque,RS256",
        "--duration", "1", "--warmup", "0.5", "--reps", "1", "--no-micro"]


def _missing() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (apt-get install -y wrk)"
    if not (REPO / "bench" / ".venv-ref" / ".installed").exists():
        return "bench/.venv-ref is missing (python -m bench --quick creates it from PyPI)"
    return None


def _stamps() -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in COMMITTED_RESULTS.glob("latest.*")}


def test_every_target_and_workload_runs_without_errors(tmp_path: pathlib.Path) -> None:
    missing = _missing()
    if missing and not IN_CI:
        pytest.skip(missing)
    before = _stamps()
    results = tmp_path / "results"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHGATE_")}
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "bench", *ARGS, "--results", str(results)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
                          check=False)
    elapsed = time.monotonic() - started
    output = (done.stdout + done.stderr)[-6000:]
    assert done.returncode == 0, f"python -m bench exited {done.returncode}:\n{output}"
    summary: dict[str, Any] = json.loads((results / "latest.json").read_text())

    assert summary["failures"] == [], output
    seen = {(m["target"], m["token_format"], m["workload"]): m
            for m in summary["measurements"]}
    assert not EXPECTED - set(seen), f"did not run: {sorted(EXPECTED - set(seen))}\n{output}"
    for key, m in sorted(seen.items()):
        assert m["requests"] > 0, f"{key}: no requests\n{output}"
        assert m["errors"] == 0, f"{key}: {m['errors']} errors: {m['error_detail']}\n{output}"
    # Both authgate targets get their ratios, and the report and chart were written.
    assert {r["target"] for r in summary["ratios"]} == {"authgate", "authgate-serve"}
    assert "| authgate-serve |" in (results / "latest.md").read_text()
    assert (results / "latest.png").stat().st_size > 0
    assert _stamps() == before, "the smoke run wrote to bench/results/"
    print(f"bench smoke run: {elapsed:.0f} s")
