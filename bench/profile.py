"""Sampling profiles of the services during the fast phase: py-spy, a flame graph, top frames.

py-spy samples each service from outside (`--nonblocking`: the service is never paused),
writes collapsed stacks, and each is drawn as an SVG flame graph under `bench/out/`. Idle
samples (a thread waiting in `epoll` or on a lock) are not recorded, so the shares are of the
time each service was on the CPU.
"""

from __future__ import annotations

import html
import shutil
import signal
import subprocess
import sys
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

RATE = 50
"""Samples per second: enough for the top frames, light on a 2-core machine."""
OURS = ("(services/", "(shared/")
# The event loop itself: asyncio's `select`, or uvloop's C code (no Python frame of its own,
# so its samples end in `Runner.run`). Mostly waiting for sockets, which py-spy in its
# non-blocking mode cannot always tell from running.
LOOP = ("EpollSelector.select (", "Runner.run (")


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter, or on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass
class Profiler:
    out: Path
    pids: dict[str, int]
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def start(self) -> dict[str, int]:
        """Start one py-spy per service; their pids (their CPU is part of the budget)."""
        exe = py_spy()
        if exe is None:
            self.problems.append("py-spy is not installed (pip install py-spy)")
            return {}
        self.out.mkdir(parents=True, exist_ok=True)
        # --nonblocking: the service is never paused; the raw format is collapsed stacks.
        record = [exe, "record", "-r", str(RATE), "--nonblocking", "--nolineno", "-f", "raw"]
        for name, pid in self.pids.items():
            raw = self.out / f"profile-{name}.txt"
            raw.unlink(missing_ok=True)
            # Stopped with SIGINT at the end of the phase; it writes its file then.
            self.running[name] = subprocess.Popen(
                [*record, "-p", str(pid), "-o", str(raw)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
        return {name: p.pid for name, p in self.running.items()}

    def stop(self) -> dict[str, dict[str, object]]:
        """Stop every py-spy, draw the flame graphs; the top frames of each service."""
        summary: dict[str, dict[str, object]] = {}
        for name, proc in self.running.items():
            proc.send_signal(signal.SIGINT)
            try:
                _, err = proc.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
            raw = self.out / f"profile-{name}.txt"
            if not raw.exists():
                self.problems.append(f"{name}: py-spy wrote nothing: {err.decode()[-300:]}")
                continue
            stacks = read_collapsed(raw)
            (self.out / f"flame-{name}.svg").write_text(flame_svg(stacks, f"{name}"))
            summary[name] = top_frames(stacks)
        self.running.clear()
        return summary


def read_collapsed(path: Path) -> Counter[tuple[str, ...]]:
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def _short(frame: str) -> str:
    """`func (module path)`, the path from the project or from site-packages."""
    func, _, where = frame.partition(" (")
    where = where.rstrip(")").split("site-packages/")[-1]
    return f"{func} ({where})" if where else func


def top_frames(stacks: Counter[tuple[str, ...]], n: int = 8) -> dict[str, object]:
    """The functions most often on top of the stack (self), and the project's functions most
    often anywhere on it (total), as shares of the samples."""
    waiting = sum(c for f, c in stacks.items() if f[-1].startswith(LOOP))
    total = sum(stacks.values()) or 1
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    for frames, count in stacks.items():
        own[_short(frames[-1])] += count
        for frame in {f for f in frames if any(m in f for m in OURS)}:
            inclusive[_short(frame)] += count
    # The frames under which every sample of the event loop falls (`main`, `serve`, …) say
    # nothing: only frames below the widest are listed.
    widest = max(inclusive.values(), default=0)
    return {
        "samples": total,
        "in_loop": waiting / total,
        "self": [(f, c / total) for f, c in own.most_common(n)],
        "total": [(f, c / total) for f, c in inclusive.most_common() if c < widest][:n],
    }


def flame_svg(stacks: Counter[tuple[str, ...]], title: str, width: int = 1200) -> str:
    """A flame graph (root at the bottom) of collapsed stacks, as a standalone SVG."""
    tree: dict[str, object] = {}
    for frames, count in stacks.items():
        node = tree
        for frame in frames:
            child = node.setdefault(frame, {"#": 0})
            assert isinstance(child, dict)
            child["#"] = int(child["#"]) + count
            node = child
    total = sum(stacks.values()) or 1
    depth = max((len(f) for f in stacks), default=1)
    row, rects = 16, []

    def draw(node: dict[str, object], x: float, level: int) -> None:
        for frame, child in sorted((k, v) for k, v in node.items() if k != "#"):
            assert isinstance(child, dict)
            w = width * int(child["#"]) / total
            if w >= 0.5:
                y = (depth - level) * row + 20
                label = html.escape(_short(frame))
                share = 100 * int(child["#"]) / total
                hue = 20 + zlib.crc32(frame.encode()) % 40
                rects.append(
                    f'<g><title>{label} ({share:.1f}%)</title><rect x="{x:.1f}" y="{y}" '
                    f'width="{w:.1f}" height="{row - 1}" fill="hsl({hue},90%,60%)"/>'
                    f'<text x="{x + 2:.1f}" y="{y + 12}" font-size="11" clip-path="none">'
                    f"{label[: int(w / 7)]}</text></g>"
                )
                draw(child, x, level + 1)
            x += w

    draw(tree, 0.0, 0)
    height = (depth + 2) * row + 20
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="monospace"><text x="4" y="14" font-size="13">{html.escape(title)}: '
        f"{total} samples at {RATE}/s, on-CPU only</text>{''.join(rects)}</svg>\n"
    )
