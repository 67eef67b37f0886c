"""The harness's report: ratios per repetition next to the ratio of medians."""

from __future__ import annotations

from typing import Any

from bench import report


def _m(target: str, rep: int, rps: float, workload: str = "W1", fmt: str = "opaque",
       **extra: Any) -> dict[str, Any]:
    return {"target": target, "db": "sqlite", "token_format": fmt, "workload": workload,
            "rep": rep, "rps": rps, "flows_per_s": rps / 2, "errors": 0, **extra}


def test_each_repetition_is_paired_with_the_reference_of_the_same_repetition() -> None:
    # The host speeds up over the run: medians pair authgate's slow repetition with the
    # reference's fast one; each repetition's own ratio does not.
    measurements = [_m("authgate", 0, 1000), _m("authgate", 1, 1500), _m("authgate", 2, 2000),
                    _m("reference", 0, 500), _m("reference", 1, 1000), _m("reference", 2, 900),
                    _m("reference", 1, 7, fmt="RS256")]
    rows = report.aggregate(measurements)
    (entry,) = [e for e in report.ratios(rows, measurements) if e["target"] == "authgate"]
    assert entry["vs_reference"] == 1500 / 900  # the ratio of medians
    assert entry["vs_reference_per_rep"] == [2.0, 1.5, 2000 / 900]
    line = next(ln for ln in report.markdown(_summary(rows, measurements)).splitlines()
                if ln.startswith("| W1 | sqlite | authgate |"))
    assert "| 2.00, 1.50, 2.22 (median 2.00) |" in line


def test_a_repetition_without_its_reference_and_failed_starts_are_left_out() -> None:
    measurements = [_m("authgate", 0, 600, "W3"), _m("authgate", 1, 800, "W3"),
                    _m("reference", 1, 400, "W3"), {"target": "reference", "db": "sqlite",
                                                    "token_format": "opaque", "rep": 0,
                                                    "workload": "W3", "error": "crashed"}]
    rows = report.aggregate(measurements)
    (entry,) = [e for e in report.ratios(rows, measurements) if e["target"] == "authgate"]
    assert entry["vs_reference_per_rep"] == [2.0]  # flows per second for W3
    assert report.ratios(rows)[0]["vs_reference_per_rep"] == []  # no measurements given


def _summary(rows: list[dict[str, Any]], measurements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"started": "now", "mode": "test", "settings": {"repetitions": 3, "duration": 1,
                                                          "warmup": 0},
            "server": "gunicorn", "server_settings": "-", "rows": rows,
            "ratios": report.ratios(rows, measurements), "measurements": measurements}
