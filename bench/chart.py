"""Draw the results as a PNG: throughput per workload, one panel per database.

Runs in ``bench/.venv-ref`` (where the harness installs matplotlib), not in
the project's venv: ``python -m bench.chart results.json chart.png``.
"""

from __future__ import annotations

import json
import sys

COLORS = {"authgate": "#2b6cb0", "reference": "#dd6b20", "ceiling": "#718096"}


def main(argv: list[str]) -> int:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(argv[0]) as f:
        summary = json.load(f)
    rows = summary["rows"]
    dbs = sorted({r["db"] for r in rows if r["db"] != "-"}) or ["-"]
    ceilings = {r["workload"]: r["rps"] for r in rows if r["target"] == "ceiling"}
    fig, axes = plt.subplots(1, len(dbs), figsize=(7 * len(dbs), 5), squeeze=False)
    for ax, db in zip(axes[0], dbs, strict=True):
        labels = sorted({(r["workload"], r["token_format"]) for r in rows
                         if r["db"] == db and r["target"] != "ceiling"})
        width = 0.38
        for offset, target in ((-width / 2, "authgate"), (width / 2, "reference")):
            values = []
            for workload, fmt in labels:
                found = [r for r in rows if (r["target"], r["db"], r["workload"],
                                             r["token_format"]) == (target, db, workload, fmt)]
                row = found[0] if found else None
                value = None if row is None else (
                    row["flows_per_s"] if workload == "W3" else row["rps"])
                values.append(value or 0)
            xs = [i + offset for i in range(len(labels))]
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
    fig.suptitle(f"authgate vs Authlib reference vs bare Flask ({summary['started']})")
    fig.tight_layout()
    fig.savefig(argv[1], dpi=110)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
