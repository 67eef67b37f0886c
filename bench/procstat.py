"""CPU and memory from /proc: per process tree (gunicorn and its workers), and machine-wide.

Times are seconds of CPU; the machine's busy time is every core's
non-idle time, so ``busy - server - driver - database`` is what the rest
of the machine (a noisy neighbour) took in the same window. The database
is every ``postgres`` process: other users of the same PostgreSQL count
there too.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """utime + stime of one process (its threads included), or 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


def children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for tid in tasks:
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                found.extend(int(x) for x in f.read().split())
        except OSError:
            continue
    return found


def tree(pid: int) -> list[int]:
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        todo.extend(children(current))
    return pids


def tree_cpu(pid: int) -> float:
    return sum(process_cpu(p) for p in tree(pid))


def rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def named_cpu(name: str) -> float:
    """CPU of every process whose command is ``name`` (the PostgreSQL server's backends)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() != name:
                    continue
        except OSError:
            continue
        total += process_cpu(int(entry))
    return total


@dataclass(frozen=True)
class Machine:
    busy: float  # seconds of non-idle CPU summed over cores
    total: float

    @staticmethod
    def read() -> Machine:
        with open("/proc/stat") as f:
            values = [int(x) for x in f.readline().split()[1:]]
        idle = values[3] + (values[4] if len(values) > 4 else 0)
        total = sum(values[:8])  # guest time is already inside user
        return Machine((total - idle) / _TICK, total / _TICK)


@dataclass(frozen=True)
class Snapshot:
    """What a measurement window needs at each of its two ends."""

    server: float
    driver: float
    machine: Machine
    harness: float
    database: float

    @staticmethod
    def take(server_pid: int, driver_pid: int | None) -> Snapshot:
        return Snapshot(
            server=tree_cpu(server_pid),
            driver=process_cpu(driver_pid) if driver_pid else 0.0,
            machine=Machine.read(),
            harness=process_cpu(os.getpid()),
            database=named_cpu("postgres"),
        )
