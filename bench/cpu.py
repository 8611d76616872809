"""Where the CPU goes: the CPU time of every process of the run, and peak RSS of each service.

A row is one process, or a process and all its descendants (PostgreSQL: the postmaster and
every backend, including backends that exited in between, which the postmaster reaped and
whose time the kernel then counts in its `children` times).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import psutil


@dataclass
class Tracked:
    name: str
    pid: int
    with_children: bool = False
    """Count the descendants too (PostgreSQL's backends)."""
    service: bool = False
    """A service of the pipeline: its peak RSS is reported."""


def _seconds(times: Any) -> float:
    return float(times.user + times.system)


def cpu_seconds(pid: int, *, with_children: bool) -> float:
    """CPU seconds used so far by `pid` (and its descendants, dead or alive, if asked)."""
    try:
        proc = psutil.Process(pid)
        times = proc.cpu_times()
        total = _seconds(times)
        if not with_children:
            return total
        total += float(times.children_user + times.children_system)
        for child in proc.children(recursive=True):
            try:
                total += _seconds(child.cpu_times())
            except psutil.NoSuchProcess:
                continue
        return total
    except psutil.NoSuchProcess:
        return 0.0


@dataclass
class CpuBudget:
    """CPU seconds per row between `start()` and `stop()`; peak RSS of the services."""

    rows: list[Tracked]
    began: dict[str, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)
    peak_rss: dict[str, int] = field(default_factory=dict)
    machine_busy: float = 0.0
    """The machine's busy share over the same interval, every process of anyone included."""
    _machine: Any | None = None

    @classmethod
    def of_run(cls, services: dict[str, int], stack: dict[str, int]) -> CpuBudget:
        rows = [Tracked(name, pid, service=True) for name, pid in services.items()]
        for part, pid in stack.items():
            rows.append(Tracked(part, pid, with_children=part == "postgres"))
        rows.append(Tracked("bench (producer, status reader)", os.getpid()))
        return cls(rows)

    def add(self, row: Tracked) -> None:
        self.rows.append(row)

    def start(self) -> None:
        self._machine = psutil.cpu_times()
        self.began = {r.name: cpu_seconds(r.pid, with_children=r.with_children) for r in self.rows}

    def stop(self) -> None:
        if self._machine is not None:
            self.machine_busy = _busy_share(self._machine, psutil.cpu_times())
        self.used = {
            r.name: cpu_seconds(r.pid, with_children=r.with_children) - self.began.get(r.name, 0)
            for r in self.rows
        }

    def sample(self) -> None:
        """Note the resident memory of each service (called about every second)."""
        for row in self.rows:
            if not row.service:
                continue
            try:
                rss = psutil.Process(row.pid).memory_info().rss
            except psutil.NoSuchProcess:
                continue
            self.peak_rss[row.name] = max(self.peak_rss.get(row.name, 0), rss)

    def table(self, *, vouchers: int, seconds: float) -> dict[str, object]:
        """CPU ms per voucher of each row, their sum, and what the machine had to give."""
        cores = os.cpu_count() or 1
        total = sum(self.used.values())
        return {
            "vouchers": vouchers,
            "wall_seconds": seconds,
            "cores": cores,
            "rows": {
                name: {
                    "cpu_seconds": used,
                    "cpu_ms_per_voucher": 1000 * used / max(vouchers, 1),
                    "cores_busy": used / seconds if seconds else 0.0,
                }
                for name, used in sorted(self.used.items(), key=lambda kv: -kv[1])
            },
            "total_cpu_seconds": total,
            "total_cpu_ms_per_voucher": 1000 * total / max(vouchers, 1),
            "available_cpu_seconds": cores * seconds,
            "share_of_machine": total / (cores * seconds) if seconds else 0.0,
            "machine_busy_share": self.machine_busy,
        }


def _busy_share(before: Any, after: Any) -> float:
    """The busy share of every core between two readings, whoever was busy."""
    idle = (after.idle + getattr(after, "iowait", 0)) - (before.idle + getattr(before, "iowait", 0))
    total = sum(after) - sum(before)
    return 1 - idle / total if total > 0 else 0.0
