"""Draw the results as a PNG: throughput per workload, one panel per database.

Runs in ``bench/.venv-ref`` (where the harness installs matplotlib), not in
the project's venv: ``python -m bench.chart results.json chart.png``.
"""

from __future__ import annotations

import json
import sys

COLORS = {"authgate": "#2b6cb0", "authgate-serve": "#38a169", "reference": "#dd6b20",
          "ceiling": "#718096"}
#: Bar order within a group; a target without a row there leaves its slot empty.
BARS = ("authgate", "authgate-serve", "reference")


def main(argv: list[str]) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(argv[0]) as f:
        summary = json.load(f)
    rows = summary["rows"]
    dbs = sorted({r["db"] for r in rows if r["db"] != "-"}) or ["-"]
    ceilings = {r["workload"]: r["rps"] for r in rows if r["target"] == "ceiling"}
    present = [t for t in BARS if any(r["target"] == t for r in rows)] or ["authgate"]
    groups = max(len({(r["workload"], r["token_format"]) for r in rows if r["db"] == db})
                 for db in dbs)
    fig, axes = plt.subplots(1, len(dbs), figsize=(max(8.0, 0.9 * groups) * len(dbs), 5),
                             squeeze=False)
    for ax, db in zip(axes[0], dbs, strict=True):
        # Groups are (workload, token label): authgate serve's "RS256+db" W2 is a group of
        # its own, next to the reference's "opaque" and "RS256" W2 groups it is compared with.
        labels = sorted({(r["workload"], r["token_format"]) for r in rows
                         if r["db"] == db and r["target"] != "ceiling"})
        width = 0.8 / len(present)
        for i, target in enumerate(present):
            offset = (i - (len(present) - 1) / 2) * width
            xs, values = [], []
            for x, (workload, fmt) in enumerate(labels):
                found = [r for r in rows if (r["target"], r["db"], r["workload"],
                                             r["token_format"]) == (target, db, workload, fmt)]
                if found:
                    row = found[0]
                    xs.append(x + offset)
                    values.append((row["flows_per_s"] if workload == "W3" else row["rps"]) or 0)
            ax.bar(xs, values, width, label=target, color=COLORS[target])
        for name, style in (("C-GET", "--"), ("C-POST", ":")):
            if name in ceilings:
                ax.axhline(ceilings[name], linestyle=style, color=COLORS["ceiling"],
                           label=f"ceiling {name} ({ceilings[name]:,.0f}/s)")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([f"{w}\n{f}" for w, f in labels])
        ax.set_ylabel("requests/s (W3: flows/s)")
        ax.set_title(f"database: {db}")
        ax.legend(fontsize=8)
    fig.suptitle("authgate (library app, authgate serve) vs Authlib reference vs bare Flask "
                 f"({summary['started']})")
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
