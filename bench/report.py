"""Medians over repetitions, the ratios the issue's goals are stated in, JSON and Markdown."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any

METRICS = ("rps", "flows_per_s", "p50_ms", "p99_ms", "errors", "server_cpu_us_per_req",
           "server_cores", "driver_cores", "database_cores", "other_cores")

#: The issue's goals: (workload, token format of authgate, compared with, minimum ratio).
#: "reference:RS256" compares with the reference's RS256 row; "ceiling" with the ceiling
#: request of the same method (POST for W1/W5, GET for W2/W4, one of each for W3).
GOALS = [
    ("W1", "opaque", "reference", 2.5),
    ("W1", "opaque", "ceiling", 0.5),
    ("W1", "RS256", "reference:RS256", 1.8),
    ("W1", "ES256", "reference:RS256", 3.0),
    ("W2", "RS256", "ceiling", 0.8),
    ("W2", "ES256", "ceiling", 0.8),
    ("W2", "opaque", "reference", 2.5),
    ("W3", "opaque", "reference", 2.0),
    ("W4", "opaque", "reference", 2.0),
    ("W5", "opaque", "reference", 2.0),
]


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


def ratios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        if row["target"] != "authgate":
            continue
        mine = _throughput(row)
        ref = _find(rows, "reference", row["db"], row["token_format"], row["workload"])
        ref_rs = _find(rows, "reference", row["db"], "RS256", row["workload"])
        ceiling = _ceiling(rows, row["workload"])
        entry = {
            "db": row["db"], "token_format": row["token_format"], "workload": row["workload"],
            "authgate": mine,
            "vs_reference": mine / _throughput(ref) if ref and mine and _throughput(ref)
            else None,
            "vs_reference_rs256": mine / _throughput(ref_rs) if ref_rs and mine
            and _throughput(ref_rs) else None,
            "vs_ceiling": mine / ceiling if mine and ceiling else None,
            "goals": [],
        }
        for workload, fmt, against, minimum in GOALS:
            if (workload, fmt) != (row["workload"], row["token_format"]):
                continue
            value = {"reference": entry["vs_reference"], "ceiling": entry["vs_ceiling"],
                     "reference:RS256": entry["vs_reference_rs256"]}[against]
            entry["goals"].append({"against": against, "minimum": minimum, "value": value,
                                   "met": None if value is None else value >= minimum})
        out.append(entry)
    return out


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return str(value)


def markdown(summary: dict[str, Any]) -> str:
    rows, ratio_rows = summary["rows"], summary["ratios"]
    lines = [f"# authgate benchmark ({summary['started']})", "",
             f"Mode: {summary['mode']}; {summary['settings']['repetitions']} repetition(s), "
             f"{summary['settings']['duration']} s per workload after "
             f"{summary['settings']['warmup']} s warm-up; gunicorn with {summary['gunicorn']}; "
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
    lines += ["", "## Ratios and the issue's goals", "",
              "| workload | db | tokens | authgate/reference | authgate/ceiling | goals |",
              "|---|---|---|---:|---:|---|"]
    for e in ratio_rows:
        goals = "; ".join(
            f"{g['against']} ≥ {g['minimum']}: {_fmt(g['value'], 2)} "
            f"{'✓' if g['met'] else ('✗' if g['met'] is False else '?')}" for g in e["goals"])
        lines.append(f"| {e['workload']} | {e['db']} | {e['token_format']} "
                     f"| {_fmt(e['vs_reference'], 2)} | {_fmt(e['vs_ceiling'], 2)} "
                     f"| {goals or '-'} |")
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
    soak = summary.get("soak")
    if soak:
        lines += ["", "## Soak", "", f"{soak['verdict']}", ""]
    return "\n".join(lines) + "\n"
