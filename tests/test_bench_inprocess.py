"""``bench/inprocess.py`` run in its tiniest form: every target it can load here
answers its workloads, and the instruction count comes back as a number.

The figures are printed, never compared: this only keeps the tool from
rotting (a seed that broke, a workload whose assertion no longer holds, a
callgrind output it no longer parses). The Authlib reference needs
``bench/.venv-ref`` and is covered by ``tests/test_bench_smoke.py``.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def run(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "bench.inprocess", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_every_local_target_and_workload_answers() -> None:
    out = run("--targets", "lib,serve,ceiling", "--workloads", "W1,W2", "-n", "10",
              "--rounds", "1")
    out += run("--targets", "lib", "--workloads", "W3,W4,W5", "-n", "10", "--rounds", "1")
    out += run("--targets", "serve", "--workloads", "W4", "-n", "10", "--rounds", "1")
    found = re.findall(r"^(\w+)\s+(W\d)\s+(\d+) µs CPU per (?:request|flow)$", out, re.M)
    assert {(target, workload) for target, workload, _ in found} == {
        ("lib", "W1"), ("lib", "W2"), ("serve", "W1"), ("serve", "W2"),
        ("ceiling", "W1"), ("ceiling", "W2"), ("lib", "W3"), ("lib", "W4"), ("lib", "W5"),
        ("serve", "W4")}
    assert all(int(us) > 0 for _, _, us in found)


def test_instruction_count_under_callgrind() -> None:
    if shutil.which("valgrind") is None:
        if IN_CI:
            pytest.fail("valgrind is missing (.ci/run installs it)")
        pytest.skip("valgrind is not installed")
    out = run("--instructions", "--targets", "ceiling", "--workloads", "W2", "-n", "20")
    found = re.fullmatch(r"ceiling W2\s+([\d,]+) instructions per request\n", out)
    assert found, out
    # A Flask GET through the test client is hundreds of thousands of instructions;
    # a count far off that means the collection window no longer wraps the calls.
    assert 100_000 < int(found.group(1).replace(",", "")) < 20_000_000


def test_instruction_count_leaves_out_set_up_that_sorts() -> None:
    """callgrind collects inside every ``sorted()``: a set-up sorting 100,000 items with
    a key (tens of millions of instructions) must not be spread over the 20 calls
    measured, each of which is an empty lambda inside the measuring sort."""
    if shutil.which("valgrind") is None:
        if IN_CI:
            pytest.fail("valgrind is missing (.ci/run installs it)")
        pytest.skip("valgrind is not installed")
    from bench.inprocess import instructions

    per_call = instructions([], 20, module="tests.support.sorted_setup")
    assert 0 < per_call < 5_000, per_call


def test_round_trips_to_postgres_per_request(postgres_url: str) -> None:
    """libpq's trace counts what the library app sends: the client's SELECT and the
    token's INSERT for W1, one joined SELECT for W2, client, credential and nonce
    for W4, each in autocommit. One more means a statement or a BEGIN crept in."""
    out = run("--db", "postgres", "--round-trips", "--targets", "lib",
              "--workloads", "W1,W2,W4", "-n", "30")
    found = dict(re.findall(r"^lib\s+(W\d)\s+([\d.]+) round trips per request$", out, re.M))
    assert found == {"W1": "2.00", "W2": "1.00", "W4": "3.00"}, out


def test_a_soak_publishes_soak_files_and_leaves_latest_alone(tmp_path: pathlib.Path) -> None:
    """A soak's results go to ``soak.*``: the last full run's ``latest.*`` stay as they are."""
    from bench import cli

    results = tmp_path / "results"
    results.mkdir()
    (results / "latest.md").write_text("the full run")
    soak = {"seconds": 1, "db": "sqlite", "growth_limit_kib": 10240, "runs": [], "ok": True}
    summary = {"started": "now", "server": "gunicorn", "server_settings": {}, "rows": [],
               "ratios": [], "soak": soak}
    cli.write_results(summary, tmp_path / "run", chart=False, results=results,
                      published="soak")
    assert (results / "latest.md").read_text() == "the full run"
    assert (results / "soak.md").read_text().startswith("# authgate soak (now)")
    assert (results / "soak.json").exists() and not (results / "latest.json").exists()
