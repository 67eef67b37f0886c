"""``--profile``: where a target's workers spend their time, per workload (cProfile).

Each workload gets its own server start with ``gunicorn_profile.py``; the
workers' profiles are merged, then summarised twice: own time grouped by
package (authgate, SQLAlchemy, the database driver, Flask/Werkzeug, crypto,
gunicorn, the rest), and the functions with the most cumulative time.
The profiler counts the workers' CPU time (not wall time), so time spent
waiting for the next connection and other processes' load stay out.
cProfile slows Python code down more than C code, so read shares, not µs.
"""

from __future__ import annotations

import io
import pathlib
import pstats
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from bench import measure, server

GROUPS = [
    ("authgate", ("/authgate/",)),
    ("bench target app", ("/bench/targets/",)),
    ("authlib/joserfc", ("/authlib/", "/joserfc/")),
    ("sqlalchemy", ("/sqlalchemy/", "/flask_sqlalchemy/")),
    ("db driver", ("sqlite3", "psycopg")),
    ("flask/werkzeug/jinja", ("/flask/", "/werkzeug/", "/jinja2/", "/itsdangerous/")),
    ("crypto", ("cryptography", "/jwt/", "hashlib", "_hashlib", "hmac", "secrets", "random")),
    ("gunicorn", ("/gunicorn/",)),
    ("socket/select", ("socket", "select", "selectors")),
]


def group_of(filename: str, name: str) -> str:
    text = f"{filename} {name}"
    for group, needles in GROUPS:
        if any(n in text for n in needles):
            return group
    return "stdlib/other"


def requests_seen(stats: pstats.Stats) -> int:
    """Requests the profiled workers served (warm-up included): calls of ``Flask.wsgi_app``."""
    for (filename, _, name), (_, ncalls, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
        if name == "wsgi_app" and filename.endswith("flask/app.py"):
            return int(ncalls)
    return 0


def summarise(stats: pstats.Stats) -> str:
    requests = requests_seen(stats)
    own: dict[str, float] = defaultdict(float)
    total = 0.0
    for (filename, _, name), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        own[group_of(filename, name)] += tottime
        total += tottime
    lines = [f"requests served while profiled: {requests}",
             f"profiled time: {total:.2f} s ({total / max(1, requests) * 1e6:,.0f} µs/request "
             "under cProfile)", "", "own time by package:"]
    for group, seconds in sorted(own.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {group:<22} {seconds / total * 100:5.1f} %  "
                     f"{seconds / max(1, requests) * 1e6:8.0f} µs/req")
    buffer = io.StringIO()
    stats.stream = buffer  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(r"authgate|bench/targets|authlib", 40)
    stats.sort_stats("tottime").print_stats(25)
    return "\n".join(lines) + "\n\n" + buffer.getvalue()


def run(starts: list[Any], settings: measure.Settings, root: pathlib.Path,
        run_dir: pathlib.Path, log: Callable[[str], None]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    config = pathlib.Path(__file__).resolve().parent / "gunicorn_profile.py"
    for start in starts:
        if start.target.name == "ceiling" or start.rep > 0:
            continue
        for workload in start.workloads:
            label = f"{start.target.name}-{start.db}-{start.token_format}-{workload}"
            prof_dir = root / f"profile-{label}"
            prof_dir.mkdir(parents=True, exist_ok=True)
            srv = server.start(start.target, start.db, start.token_format, root,
                               extra_env={"BENCH_PROFILE_DIR": str(prof_dir)},
                               gunicorn_config=config)
            try:
                result = measure.measure(srv, workload, settings, srv.state_dir / workload)
            finally:
                srv.stop()
            files = sorted(prof_dir.glob("*.pstats"))
            if not files:
                log(f"{label}: no profile written")
                continue
            stats = pstats.Stats(str(files[0]))
            for f in files[1:]:
                stats.add(str(f))
            out = run_dir / f"profile-{label}.txt"
            out.write_text(summarise(stats))
            stats.dump_stats(str(run_dir / f"profile-{label}.pstats"))
            log(f"{label}: {result['rps']:,.0f} req/s under cProfile -> {out}")
