"""Medians over repetitions, the ratios the issue's goals are stated in, JSON and Markdown."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

METRICS = ("rps", "flows_per_s", "p50_ms", "p99_ms", "errors", "server_cpu_us_per_req",
           "server_cores", "driver_cores", "database_cores", "other_cores")

#: The measured targets: the library app and ``authgate serve``'s app.
AUTHGATE_TARGETS = ("authgate", "authgate-serve")

#: The issue's goals: (workload, token label of the authgate row, compared with, minimum).
#: "reference:<fmt>" compares with the reference's row of that token format; "ceiling" with
#: the ceiling request of the same method (POST for W1/W5, GET for W2/W4, one of each for
#: W3). A goal applies to every authgate target that has a row with that label.
GOALS = [
    ("W1", "opaque", "reference:opaque", 2.5),
    ("W1", "opaque", "ceiling", 0.5),
    ("W1", "RS256", "reference:RS256", 1.8),
    ("W1", "ES256", "reference:RS256", 3.0),
    ("W2", "RS256", "ceiling", 0.8),
    ("W2", "ES256", "ceiling", 0.8),
    ("W2", "opaque", "reference:opaque", 2.5),
    # authgate serve's /api/me looks each JWT up in the database: held to the goal for
    # DB-validated tokens, not to the local-validation one against the ceiling.
    ("W2", "RS256+db", "reference:opaque", 2.5),
    ("W2", "ES256+db", "reference:opaque", 2.5),
    ("W3", "opaque", "reference:opaque", 2.0),
    ("W4", "opaque", "reference:opaque", 2.0),
    ("W5", "opaque", "reference:opaque", 2.0),
    # authgate serve runs the flows with RS256 tokens (it has no opaque ones); the reference
    # runs them with opaque tokens only, so this is the only comparison there is.
    ("W3", "RS256", "reference:opaque", 2.0),
    ("W4", "RS256", "reference:opaque", 2.0),
    ("W5", "RS256", "reference:opaque", 2.0),
]


def reference_formats(workload: str, label: str) -> list[str]:
    """Which reference rows an authgate row is compared with, the like-for-like one first.

    - ``RS256+db``/``ES256+db`` (W2 on ``authgate serve``): the reference's opaque row,
      whose tokens are also looked up in the database per request, then its JWT row of the
      same algorithm, validated locally without the database (a harder comparison);
    - flows (W3-W5) with JWTs: the reference runs flows with opaque tokens only;
    - otherwise the reference's row of the same format (W1 ES256 also gets the RS256 row,
      which its goal names: see ``GOALS``).
    """
    if label.endswith("+db"):
        return ["opaque", label.removesuffix("+db")]
    if workload in ("W3", "W4", "W5") and label != "opaque":
        return ["opaque"]
    return [label]


def _median(values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def aggregate(measurements: list[dict[str, Any]]) -> list[dict[str, Any]]:
    groups: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for m in measurements:
        if "error" in m:
            continue
        groups[(m["target"], m["db"], m["token_format"], m["workload"])].append(m)
    rows = []
    for (target, db, fmt, workload), items in sorted(groups.items()):
        row: dict[str, Any] = {"target": target, "db": db, "token_format": fmt,
                               "workload": workload, "repetitions": len(items)}
        for metric in METRICS:
            row[metric] = _median([i.get(metric) for i in items])
        row["errors_total"] = sum(i.get("errors") or 0 for i in items)
        rows.append(row)
    return rows


def _find(rows: list[dict[str, Any]], target: str, db: str, fmt: str, workload: str
          ) -> dict[str, Any] | None:
    for r in rows:
        if (r["target"], r["db"], r["token_format"], r["workload"]) == (target, db, fmt,
                                                                        workload):
            return r
    return None


def _throughput(row: dict[str, Any]) -> float | None:
    return row["flows_per_s"] if row["workload"] == "W3" else row["rps"]


def _ceiling(rows: list[dict[str, Any]], workload: str) -> float | None:
    get = _find(rows, "ceiling", "-", "none", "C-GET")
    post = _find(rows, "ceiling", "-", "none", "C-POST")
    if workload in ("W2", "W4"):
        return get["rps"] if get else None
    if workload in ("W1", "W5"):
        return post["rps"] if post else None
    if workload == "W3" and get and post:  # one GET and one POST per flow
        return 1 / (1 / get["rps"] + 1 / post["rps"])
    return None


def per_repetition(measurements: list[dict[str, Any]], target: str, db: str, fmt: str,
                   workload: str, reference_fmt: str) -> list[float]:
    """The ratio to the reference in each repetition that measured both rows.

    A ratio of medians can pair repetitions taken minutes apart on a host whose
    speed drifts; each repetition's own ratio pairs runs taken close together.
    """
    def throughput(name: str, token_format: str) -> dict[int, float]:
        found = {}
        for m in measurements:
            if "error" in m or (m["target"], m["db"], m["token_format"], m["workload"]) != \
                    (name, db, token_format, workload):
                continue
            value = m.get("flows_per_s") if workload == "W3" else m.get("rps")
            if value:
                found[m["rep"]] = value
        return found

    mine, theirs = throughput(target, fmt), throughput("reference", reference_fmt)
    return [mine[rep] / theirs[rep] for rep in sorted(mine) if rep in theirs]


def ratios(rows: list[dict[str, Any]], measurements: list[dict[str, Any]] | None = None
           ) -> list[dict[str, Any]]:
    """One entry per authgate row (of either authgate target): its ratios and goals, and
    (given the measurements) the like-for-like ratio of each repetition."""
    out = []
    for row in rows:
        if row["target"] not in AUTHGATE_TARGETS:
            continue
        mine = _throughput(row)
        label, workload = row["token_format"], row["workload"]
        against: dict[str, float | None] = {}
        for fmt in dict.fromkeys([*reference_formats(workload, label),
                                  *(g[2].split(":", 1)[1] for g in GOALS
                                    if g[:2] == (workload, label) and ":" in g[2])]):
            ref = _find(rows, "reference", row["db"], fmt, workload)
            theirs = _throughput(ref) if ref else None
            against[fmt] = mine / theirs if mine and theirs else None
        ceiling = _ceiling(rows, workload)
        primary = reference_formats(workload, label)[0]
        entry = {
            "target": row["target"], "db": row["db"], "token_format": label,
            "workload": workload, "authgate": mine,
            "reference_format": primary,
            "vs_reference": against.get(primary),
            "vs_reference_by_format": against,
            "vs_ceiling": mine / ceiling if mine and ceiling else None,
            "vs_reference_per_rep": per_repetition(
                measurements or [], row["target"], row["db"], label, workload, primary),
            "goals": [],
        }
        for goal_workload, fmt, goal_against, minimum in GOALS:
            if (goal_workload, fmt) != (workload, label):
                continue
            value = entry["vs_ceiling"] if goal_against == "ceiling" else \
                against.get(goal_against.split(":", 1)[1])
            entry["goals"].append({"against": goal_against, "minimum": minimum,
                                   "value": value,
                                   "met": None if value is None else value >= minimum})
        out.append(entry)
    return out


def _vs_reference(entry: dict[str, Any]) -> str:
    """``2.31 (opaque)``: the like-for-like reference row first, the others after it."""
    by_format = entry.get("vs_reference_by_format") or {}
    return "; ".join(f"{_fmt(value, 2)} ({fmt})" for fmt, value in by_format.items()) or \
        _fmt(entry.get("vs_reference"), 2)


def _per_rep(entry: dict[str, Any]) -> str:
    """``1.48, 1.56, 1.75 (median 1.56)``; ``-`` for results written before it existed."""
    values = entry.get("vs_reference_per_rep") or []
    if not values:
        return "-"
    return f"{', '.join(f'{v:.2f}' for v in values)} (median {statistics.median(values):.2f})"


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def _poll_notes(measurements: list[dict[str, Any]]) -> list[str]:
    """W5 polls answered other than ``authorization_pending`` (a target seeded to accept
    ``slow_down`` too), so a reader sees what the row is made of."""
    notes = []
    for m in measurements:
        answers = m.get("poll_answers") or {}
        others = {k: v for k, v in answers.items() if k != "authorization_pending"}
        if others:
            total = sum(answers.values())
            shares = ", ".join(f"{k} {v:,} of {total:,} ({v / total:.0%})"
                               for k, v in sorted(others.items()))
            notes.append(f"- W5 polls, {m['target']} {m['db']} {m['token_format']} "
                         f"(rep {m['rep'] + 1}): {shares}")
    return ["", "W5 polls answered other than `authorization_pending` (the same work "
            "server-side: client authentication, the device code read, the pace check):",
            "", *notes] if notes else []


def _mib(kib: int) -> str:
    return f"{kib / 1024:,.1f}"


def soak_markdown(soak: dict[str, Any]) -> list[str]:
    """The soak's tables: per workload its requests and errors, per worker its RSS."""
    limit = soak.get("growth_limit_kib", 10 * 1024)
    lines = ["## Soak", "",
             f"Mixed traffic for {soak['seconds']:.0f} s on {soak['db']}: W1 and W2 (two wrk "
             "processes) and W3, W4, W5 (three Python drivers, each with its threads) all "
             "at the same time against each target. An error is a wrong status, a socket "
             "error or a timeout; the bar is zero. Memory: each worker's RSS, sampled every "
             "few seconds; growth is the last sample minus the one after the first fifth "
             f"(caches warm), and must stay under {_mib(limit)} MiB.", ""]
    for run in soak.get("runs") or []:
        lines += [f"### {run['target']} ({run['token_format']})", "",
                  "| workload | driver | requests | errors | verdict |",
                  "|---|---|---:|---:|---|"]
        for workload, w in sorted(run["workloads"].items()):
            lines.append(f"| {workload} | {w['driver']} | {w['requests']:,} | {w['errors']:,} "
                         f"| {'✓' if w['errors'] == 0 else '✗ ' + str(w['error_detail'])[:200]} "
                         "|")
        lines += ["", "| worker pid | RSS first MiB | after first fifth | last | max "
                  "| growth | verdict |", "|---|---:|---:|---:|---:|---:|---|"]
        for pid, g in sorted(run["workers"].items()):
            growth = g["growth_after_warmup_kib"]
            lines.append(f"| {pid} | {_mib(g['first_kib'])} | {_mib(g['settled_kib'])} "
                         f"| {_mib(g['last_kib'])} | {_mib(g['max_kib'])} | {_mib(growth)} "
                         f"| {'✓ flat' if growth < limit else '✗ growing'} |")
        lines += ["", f"{'✓' if run['memory_ok'] and run['errors_ok'] else '✗'} "
                  f"{run['verdict']}", ""]
    return lines


def markdown(summary: dict[str, Any]) -> str:
    rows, ratio_rows = summary["rows"], summary["ratios"]
    soak = summary.get("soak")
    if soak and not rows:  # a soak run measures nothing else: no empty benchmark tables
        return "\n".join([f"# authgate soak ({summary['started']})", "",
                           f"{summary.get('server', 'gunicorn')} with "
                           f"{summary.get('server_settings')}.", "",
                           *soak_markdown(soak)]) + "\n"
    lines = [f"# authgate benchmark ({summary['started']})", "",
             f"Mode: {summary['mode']}; {summary['settings']['repetitions']} repetition(s), "
             f"{summary['settings']['duration']} s per workload after "
             f"{summary['settings']['warmup']} s warm-up; "
             # Results written before --server existed name gunicorn's settings only.
             f"{summary.get('server', 'gunicorn')} with "
             f"{summary.get('server_settings', summary.get('gunicorn'))}; "
             f"figures are medians.", "",
             "CPU columns are cores (CPU seconds per second of the window): the server's "
             "process tree, the load driver, every `postgres` process, and everything "
             "else on the machine (other users: a noisy neighbour shows there).", "",
             "| workload | db | tokens | target | req/s | flows/s | p50 ms | p99 ms | errors "
             "| server µs/req | server | driver | postgres | other |",
             "|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['db']} | {r['token_format']} | {r['target']} "
            f"| {_fmt(r['rps'])} | {_fmt(r['flows_per_s'])} | {_fmt(r['p50_ms'], 2)} "
            f"| {_fmt(r['p99_ms'], 2)} | {r['errors_total']} "
            f"| {_fmt(r['server_cpu_us_per_req'])} | {_fmt(r['server_cores'], 2)} "
            f"| {_fmt(r['driver_cores'], 2)} | {_fmt(r['database_cores'], 2)} "
            f"| {_fmt(r['other_cores'], 2)} |")
    lines += _poll_notes(summary.get("measurements") or [])
    lines += ["", "## Ratios and the issue's goals", "",
              "Each authgate target (`authgate`: the library app; `authgate-serve`: the "
              "ready-to-run server) divided by the reference row named in brackets (the "
              "like-for-like one first) and by the ceiling request of the same method. "
              "`RS256+db`: a JWT that `authgate serve`'s `/api/me` also looks up in the "
              "database (revocation), so it is set against the reference's opaque, "
              "DB-validated tokens first and its locally validated JWTs second. The "
              "reference runs W3-W5 with opaque tokens only. \"per repetition\": the "
              "like-for-like ratio within each repetition (runs minutes apart rather than "
              "medians across the whole run), then their median.", "",
              "| workload | db | target | tokens | authgate/reference | per repetition "
              "| authgate/ceiling | goals |",
              "|---|---|---|---|---:|---:|---:|---|"]
    for e in ratio_rows:
        goals = "; ".join(
            f"{g['against']} ≥ {g['minimum']}: {_fmt(g['value'], 2)} "
            f"{'✓' if g['met'] else ('✗' if g['met'] is False else '?')}" for g in e["goals"])
        lines.append(f"| {e['workload']} | {e['db']} | {e.get('target', 'authgate')} "
                     f"| {e['token_format']} | {_vs_reference(e)} | {_per_rep(e)} "
                     f"| {_fmt(e['vs_ceiling'], 2)} | {goals or '-'} |")
    failures = summary.get("failures") or []
    if failures:
        lines += ["", "## Failed starts", ""]
        lines += [f"- {f['target']} {f['db']} {f['token_format']}: {f['error'][:300]}"
                  for f in failures]
    micro = summary.get("micro")
    if micro:
        lines += ["", "## Micro-benchmarks (authgate, in process)", "",
                  "| case | µs/call (best) | µs/call (median) |", "|---|---:|---:|"]
        lines += [f"| {m['name']} | {m['best_us']:.1f} | {m['median_us']:.1f} |"
                  for m in micro]
    if soak:
        lines += ["", *soak_markdown(soak)]
    return "\n".join(lines) + "\n"
