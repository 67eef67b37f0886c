"""``python -m bench``: start the targets alternately, run the workloads, write the results.

    python -m bench                       # everything: 3 repetitions, SQLite and PostgreSQL
    python -m bench --quick               # smoke run: short, 1 repetition, SQLite, a subset
    python -m bench --workloads W1,W2 --targets authgate,authgate-serve,reference --db postgres
    python -m bench --quick --duration 1 --results /tmp/b   # results elsewhere (the CI smoke test)
    python -m bench --profile --workloads W1   # cProfile of each authgate worker
    python -m bench --soak 300            # W1-W5 at once on authgate-serve for 5 minutes,
                                          # errors counted, worker memory sampled
    python -m bench --quick --server granian   # every target under granian instead of gunicorn

Results go to ``bench/results/latest.{json,md,png}`` (a soak: ``soak.{json,md}``) and
``bench/results/runs/<time>/`` (``--results DIR``: the same under ``DIR``).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Any

from bench import databases, measure, profiling, report, server, wrkload
from bench import driver as pydriver
from bench.targets import (
    BENCH,
    FLOW_WORKLOADS,
    OAUTH_WORKLOADS,
    REFERENCE_VENV,
    REPO,
    TARGETS,
    Target,
)

RESULTS = BENCH / "results"
REFERENCE_PACKAGES = ["Authlib", "Flask", "Flask-SQLAlchemy", "gunicorn", "psycopg[binary]",
                      "matplotlib"]
#: Installed into a target's venv the first time ``--server granian`` needs it (not a project
#: dependency: only this option uses it). 2.x has the flags ``server.granian_command`` passes.
GRANIAN_PACKAGE = "granian>=2"


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- set-up --------------------------------------------------------------------------
def ensure_reference_venv() -> None:
    """Create ``bench/.venv-ref`` with Authlib & co. from PyPI, once."""
    stamp = REFERENCE_VENV / ".installed"
    if stamp.exists():
        return
    log(f"creating {REFERENCE_VENV} (Authlib, Flask, Flask-SQLAlchemy, gunicorn, matplotlib)")
    if not (REFERENCE_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(REFERENCE_VENV)], check=True)
    pip = [str(REFERENCE_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *REFERENCE_PACKAGES], check=True)
    stamp.write_text("\n".join(REFERENCE_PACKAGES) + "\n")


def ensure_granian(venvs: set[pathlib.Path]) -> None:
    """Install granian into each venv that will serve a target under it, once.

    Every target must run on the same server for the ratios to mean
    anything, so the reference's venv gets it as well as the project's.
    """
    for venv in sorted(venvs):
        if (venv / "bin" / "granian").exists():
            continue
        log(f"installing {GRANIAN_PACKAGE} into {venv} (--server granian)")
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                        GRANIAN_PACKAGE], check=True)


def versions(python: pathlib.Path) -> dict[str, str]:
    code = ("import importlib.metadata as m, json, platform\n"
            "names = ['authgate', 'Authlib', 'Flask', 'Werkzeug', 'SQLAlchemy', "
            "'Flask-SQLAlchemy', 'gunicorn', 'granian', 'psycopg', 'cryptography', 'PyJWT', "
            "'joserfc']\n"
            "out = {'python': platform.python_version()}\n"
            "for n in names:\n"
            "    try: out[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(out))")
    try:
        return json.loads(subprocess.run([str(python), "-c", code], capture_output=True,
                                         text=True, check=True).stdout)
    except (OSError, subprocess.CalledProcessError, json.JSONDecodeError):
        return {}


def state_root() -> pathlib.Path:
    """Databases and keys live on tmpfs when there is one: disk fsyncs are not what we measure."""
    base = os.environ.get("BENCH_STATE_ROOT") or ("/dev/shm" if os.path.isdir("/dev/shm")
                                                  else None)
    return pathlib.Path(tempfile.mkdtemp(prefix="authgate-bench-", dir=base))


# -- the plan ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Start:
    rep: int
    target: Target
    db: str | None
    token_format: str
    workloads: tuple[str, ...]

    def label(self) -> str:
        return f"rep {self.rep + 1} {self.target.name} db={self.db or '-'} " \
               f"tokens={self.token_format} {','.join(self.workloads)}"


def plan(args: argparse.Namespace) -> list[Start]:
    """Every start of every repetition; targets alternate, their order turning each time."""
    names = [t for t in args.targets if t != "ceiling"]
    starts: list[Start] = []
    for rep in range(args.reps):
        order = names[rep % len(names):] + names[:rep % len(names)] if names else []
        ceiling = []
        if "ceiling" in args.targets:
            wanted = tuple(w for w in TARGETS["ceiling"].workloads if w in args.workloads)
            if wanted:
                ceiling = [Start(rep, TARGETS["ceiling"], None, "none", wanted)]
        body = []
        for db in args.db:
            for fmt in args.token_formats:
                for name in order:
                    target = TARGETS[name]
                    if fmt not in target.token_formats or db not in target.databases:
                        continue
                    wanted = tuple(w for w in target.workloads_for(fmt) if w in args.workloads)
                    if wanted:
                        body.append(Start(rep, target, db, fmt, wanted))
        starts += ceiling + body if rep % 2 == 0 else body + ceiling
    return starts


def run_start(start: Start, settings: measure.Settings, root: pathlib.Path,
              server_name: str = "gunicorn") -> list[dict[str, Any]]:
    srv = server.start(start.target, start.db, start.token_format, root, server=server_name)
    out = []
    try:
        for workload in start.workloads:
            work = srv.state_dir / workload
            result = measure.measure(srv, workload, settings, work)
            result.update(rep=start.rep, target=start.target.name, db=start.db or "-",
                          token_format=start.target.token_label(start.token_format, workload),
                          workload=workload)
            out.append(result)
            throughput = (f"{result['flows_per_s']:,.0f} flows/s, " if workload == "W3"
                          else "")
            log(f"  {workload}: {throughput}{result['rps']:,.0f} req/s, p50 "
                f"{result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, errors "
                f"{result['errors']}, server {result['server_cpu_us_per_req']:,.0f} µs/req, "
                f"driver {result['driver_cores']:.2f} / db {result['database_cores']:.2f} / "
                f"other {result['other_cores']:.2f} cores")
    finally:
        srv.stop()
        shutil.rmtree(srv.state_dir, ignore_errors=True)
    return out


# -- soak --------------------------------------------------------------------------------
#: The issue's bar for "memory flat": no worker grows more than this after the first fifth.
SOAK_GROWTH_LIMIT_KIB = 10 * 1024


def _rss_growth(samples: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per worker: RSS first, after the first fifth (caches are warm by then), last, max."""
    per_worker: dict[str, list[int]] = {}
    for sample in samples:
        for pid, kib in sample["rss_kib"].items():
            per_worker.setdefault(str(pid), []).append(kib)
    growth = {}
    for pid, series in per_worker.items():
        settled = series[len(series) // 5]
        growth[pid] = {"first_kib": series[0], "settled_kib": settled, "last_kib": series[-1],
                       "max_kib": max(series), "growth_after_warmup_kib": series[-1] - settled}
    return growth


def _running(proc: subprocess.Popen[Any]) -> bool:
    """Whether ``proc`` still runs, without reaping it (``Popen.poll`` would, and
    ``WrkRun.wait`` then could not read wrk's rusage with ``wait4``)."""
    return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is None


def soak_target(name: str, seconds: float, db: str, settings: measure.Settings,
                root: pathlib.Path, server_name: str = "gunicorn") -> dict[str, Any]:
    """Mixed traffic against one target: W1-W5 all at once for ``seconds``.

    W1 and W2 run as two wrk processes, W3, W4 and W5 as three Python drivers
    (each with its threads), all started together and all running to the end,
    so every code path the workloads touch is under load at the same time.
    Every worker's RSS is sampled every few seconds meanwhile.
    """
    target = TARGETS[name]
    srv = server.start(target, db, target.flow_token_format, root, server=server_name)
    work = srv.state_dir / "soak"
    work.mkdir()
    # No warm-up (the first fifth is the warm-up); W4 signs as it goes (presign_rate 0).
    drive = dataclasses.replace(settings, duration=seconds, warmup=0, presign_rate=0)
    drivers: dict[str, subprocess.Popen[str]] = {}
    samples: list[dict[str, Any]] = []
    workloads: dict[str, dict[str, Any]] = {}
    try:
        tokens = pydriver.obtain_user_tokens(srv.port, srv.fixtures, measure.TOKEN_POOL)
        for workload in FLOW_WORKLOADS:
            drivers[workload] = measure.launch_driver(srv, workload, drive, work)
        for proc in drivers.values():
            assert proc.stdin
            proc.stdin.write("GO\n")
            proc.stdin.flush()
        wrks = {}
        for workload in ("W1", "W2"):
            script = work / f"{workload}.lua"
            script.write_text(wrkload.script(workload, srv.fixtures,
                                             tokens if workload == "W2" else None))
            wrks[workload] = wrkload.WrkRun(srv.port, script, seconds,
                                            threads=settings.wrk_threads,
                                            connections=settings.wrk_connections,
                                            out=work / f"{workload}.out")
        t0 = time.monotonic()
        while any(_running(run.process) for run in wrks.values()):
            workers = srv.worker_pids()
            rss = {pid: kib for pid, kib in srv.rss_kib().items() if pid in workers}
            samples.append({"t": round(time.monotonic() - t0, 1), "rss_kib": rss})
            time.sleep(min(5.0, max(0.5, seconds / 60)))
        for workload, run in wrks.items():
            result, _ = run.wait()
            errors, detail = measure.wrk_errors(result)
            workloads[workload] = {"driver": "wrk", "requests": result["requests"],
                                   "errors": errors, "error_detail": detail}
        for workload, proc in drivers.items():
            assert proc.stdout
            line = proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{workload} driver died: "
                                   f"{proc.stderr.read() if proc.stderr else ''}")
            result = json.loads(line)
            workloads[workload] = {"driver": "python", "requests": result["requests"],
                                   "errors": result["errors"],
                                   "error_detail": result["error_samples"]}
    finally:
        for proc in drivers.values():
            if proc.stdin:
                proc.stdin.close()
            proc.wait(timeout=30)
        srv.stop()
    growth = _rss_growth(samples)
    worst = max((g["growth_after_warmup_kib"] for g in growth.values()), default=0)
    errors = sum(w["errors"] for w in workloads.values())
    memory_ok, errors_ok = worst < SOAK_GROWTH_LIMIT_KIB, errors == 0
    verdict = (f"{name} {target.flow_token_format}, W1-W5 at once for {seconds:.0f} s on {db}: "
               f"{sum(w['requests'] for w in workloads.values()):,} requests, {errors} errors "
               f"({'none' if errors_ok else 'NOT ZERO'}); worst worker RSS growth after "
               f"the first fifth {worst / 1024:.1f} MiB ({'flat' if memory_ok else 'GROWING'})")
    log(verdict)
    return {"target": name, "token_format": target.flow_token_format, "workloads": workloads,
            "workers": growth, "worst_growth_kib": worst, "memory_ok": memory_ok,
            "errors_ok": errors_ok, "samples": samples, "verdict": verdict}


def soak(seconds: float, db: str, settings: measure.Settings, root: pathlib.Path,
         server_name: str = "gunicorn", targets: tuple[str, ...] = ("authgate-serve",)
         ) -> dict[str, Any]:
    """The issue's soak: zero errors and flat worker memory under mixed traffic, per target."""
    runs = []
    for name in targets:
        log(f"soak: {name}, W1-W5 at once for {seconds:.0f} s on {db}")
        runs.append(soak_target(name, seconds, db, settings, root, server_name))
    return {"seconds": seconds, "db": db, "growth_limit_kib": SOAK_GROWTH_LIMIT_KIB,
            "runs": runs, "ok": all(r["memory_ok"] and r["errors_ok"] for r in runs)}


# -- output ------------------------------------------------------------------------------
def write_results(summary: dict[str, Any], run_dir: pathlib.Path, chart: bool,
                  results: pathlib.Path = RESULTS, published: str = "latest") -> None:
    """Write the run's files, then publish them as ``results/<published>.*`` (a soak
    as ``soak.*``, so it never replaces the last full run's ``latest.*``)."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("results.json", json.dumps(summary, indent=1)),
                       ("results.md", report.markdown(summary))):
        tmp = run_dir / (name + ".tmp")
        tmp.write_text(text)
        tmp.replace(run_dir / name)
    if chart and summary["rows"]:
        python = REFERENCE_VENV / "bin" / "python"
        done = subprocess.run([str(python), "-m", "bench.chart", str(run_dir / "results.json"),
                               str(run_dir / "chart.png")], cwd=REPO, capture_output=True,
                              text=True)
        if done.returncode != 0:
            log(f"chart failed: {done.stderr[-500:]}")
    for name in ("results.json", "results.md", "chart.png"):
        if (run_dir / name).exists():
            suffix = name.split(".")[-1]
            tmp = results / f"{published}.{suffix}.tmp"
            shutil.copyfile(run_dir / name, tmp)
            tmp.replace(results / f"{published}.{suffix}")
    log(f"results: {run_dir} (and {results}/{published}.*)")


def run_micro(quick: bool) -> list[dict[str, Any]]:
    done = subprocess.run([str(TARGETS["authgate"].python()), "-m", "bench.micro", "--json",
                           *(["--quick"] if quick else [])], cwd=REPO, capture_output=True,
                          text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    if done.returncode != 0:
        log(f"micro-benchmarks failed: {done.stderr[-1000:]}")
        return []
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smoke run: 3 s per workload, 1 s warm-up, 1 repetition, SQLite, "
                        "short micro-benchmarks")
    p.add_argument("--workloads", help="comma-separated, from W1..W5,C-GET,C-POST (default all)")
    p.add_argument("--targets",
                   help="comma-separated, from authgate,authgate-serve,reference,ceiling")
    p.add_argument("--db", choices=["sqlite", "postgres", "both"],
                   help="default both (sqlite with --quick)")
    p.add_argument("--token-formats", help="comma-separated, from opaque,RS256,ES256")
    p.add_argument("--duration", type=float, help="seconds per timed workload (default 10)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up per workload (default 2)")
    p.add_argument("--reps", type=int, help="repetitions (default 3)")
    p.add_argument("--wrk-connections", type=int, default=8)
    p.add_argument("--wrk-threads", type=int, default=1)
    p.add_argument("--driver-threads", type=int, default=8)
    p.add_argument("--device-polls", type=int, default=10, help="W5 polls per device code")
    p.add_argument("--no-micro", action="store_true", help="skip the micro-benchmarks")
    p.add_argument("--no-chart", action="store_true")
    p.add_argument("--results", type=pathlib.Path, metavar="DIR",
                   help="write latest.* and runs/<time>/ under DIR instead of bench/results "
                        "(the CI smoke test keeps the committed results untouched)")
    p.add_argument("--profile", action="store_true",
                   help="run authgate (and the reference) with cProfile in every worker "
                        "instead of measuring; writes profile-*.txt")
    p.add_argument("--server", choices=server.SERVERS, default="gunicorn",
                   help="the WSGI server every target runs under (default gunicorn; granian "
                        "is installed into the targets' venvs on first use)")
    p.add_argument("--soak", type=float, nargs="?", const=300.0, metavar="SECONDS",
                   help="W1-W5 at once for SECONDS (300) against each of --targets "
                        "(default authgate-serve): errors counted, worker memory sampled")
    args = p.parse_args(argv)
    quick = args.quick
    args.workloads = args.workloads.split(",") if args.workloads else \
        ["W1", "W2", "W3", "W4", "W5", "C-GET", "C-POST"]
    args.targets = args.targets.split(",") if args.targets else \
        (["authgate-serve"] if args.soak else list(TARGETS))
    args.db = {"both": ["sqlite", "postgres"], None: ["sqlite"] if quick else
               ["sqlite", "postgres"]}.get(args.db, [args.db])
    args.token_formats = args.token_formats.split(",") if args.token_formats else \
        ["opaque", "RS256", "ES256"]
    args.duration = args.duration or (3.0 if quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if quick else 2.0)
    args.reps = args.reps or (1 if quick else 3)
    unknown = set(args.targets) - set(TARGETS)
    if unknown:
        p.error(f"unknown targets: {sorted(unknown)}")
    if args.soak and any(TARGETS[t].workloads != OAUTH_WORKLOADS for t in args.targets):
        p.error("--soak runs W1-W5: its --targets must be OAuth targets (not the ceiling)")
    if args.profile and args.server != "gunicorn":
        p.error("--profile hooks into gunicorn's workers: it needs --server gunicorn")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if wrkload.wrk_path() is None:
        log(wrkload.INSTALL_HINT)
        return 2
    if "postgres" in args.db:
        problem = databases.postgres_problem()
        if problem:
            log(f"{problem}; running on SQLite only")
            args.db = [d for d in args.db if d != "postgres"] or ["sqlite"]
    if "reference" in args.targets or not args.no_chart:
        ensure_reference_venv()
    if args.server == "granian":
        ensure_granian({TARGETS[name].venv for name in args.targets})
    settings = measure.Settings(duration=args.duration, warmup=args.warmup,
                                wrk_threads=args.wrk_threads,
                                wrk_connections=args.wrk_connections,
                                driver_threads=args.driver_threads,
                                device_polls=args.device_polls)
    started = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
    results = (args.results or RESULTS).resolve()
    run_dir = results / "runs" / dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    root = state_root()
    try:
        if args.profile:
            profiling.run(plan(args), settings, root, run_dir, log)
            return 0
        summary: dict[str, Any] = {
            "started": started,
            "mode": "soak" if args.soak else "quick" if args.quick else "full",
            "settings": {**dataclasses.asdict(settings), "repetitions": args.reps,
                         "databases": args.db, "token_formats": args.token_formats},
            "server": args.server,
            "server_settings": server.SERVER_SETTINGS[args.server],
            "versions": {"project": versions(TARGETS["authgate"].python()),
                         "reference": versions(REFERENCE_VENV / "bin" / "python")},
            "measurements": [], "failures": [],
        }
        if args.soak:
            summary["soak"] = soak(args.soak, args.db[0], settings, root, args.server,
                                   tuple(args.targets))
        else:
            starts = plan(args)
            for i, start in enumerate(starts, 1):
                log(f"[{i}/{len(starts)}] {start.label()}")
                try:
                    summary["measurements"] += run_start(start, settings, root, args.server)
                except Exception as error:  # keep going: one broken target must not void a run
                    log(f"  FAILED: {error}")
                    summary["failures"].append({
                        "target": start.target.name, "db": start.db or "-",
                        "token_format": start.token_format, "rep": start.rep,
                        "error": f"{error}\n{traceback.format_exc()[-2000:]}"})
            if not args.no_micro:
                log("micro-benchmarks")
                summary["micro"] = run_micro(args.quick)
        summary["rows"] = report.aggregate(summary["measurements"])
        summary["ratios"] = report.ratios(summary["rows"], summary["measurements"])
        write_results(summary, run_dir, chart=not args.no_chart, results=results,
                      published="soak" if args.soak else "latest")
        print(report.markdown(summary))
        soak_failed = args.soak and not summary["soak"]["ok"]
        return 1 if summary["failures"] or soak_failed else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)
