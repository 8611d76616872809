"""What every `dvc` command shares: the console, progress bars, times, and error handling."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)

from ops.errors import OpsError

T = TypeVar("T")
out = Console()
err = Console(stderr=True)
LOCAL = dt.timezone(dt.timedelta(hours=7), "ICT")
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def run(work: Callable[[], T]) -> T:
    """Run a command's body; an `OpsError` is one line on stderr and exit code 1."""
    try:
        return work()
    except OpsError as e:
        err.print(f"[bold red]dvc:[/] {e}", highlight=False, soft_wrap=True)
        raise typer.Exit(1) from None


def run_async(work: Callable[[], Coroutine[Any, Any, T]]) -> T:
    return run(lambda: asyncio.run(work()))


@contextmanager
def progress(what: str) -> Iterator[tuple[Callable[[int], None], Callable[[int], None]]]:
    """A bar on stderr: yields (set the total, advance by n)."""
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )
    with bar:
        task = bar.add_task(what, total=None)
        yield (lambda n: bar.update(task, total=n)), (lambda n: bar.advance(task, n))


def parse_since(text: str | None, *, now: dt.datetime) -> dt.datetime | None:
    """`30m`, `2h`, `7d` ago, or an ISO date or time (local time, ICT, when it has no offset)."""
    if text is None:
        return None
    m = _DURATION.match(text.strip())
    if m:
        return now - dt.timedelta(**{_UNITS[m.group(2)]: int(m.group(1))})
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise OpsError(
            f"--since {text!r}: give a duration (30m, 2h, 7d) or a date or time "
            "(2026-12-28, 2026-12-28T09:00, with an offset or in ICT)."
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=LOCAL)


def clock(at: dt.datetime | None) -> str:
    """A time as operators read it: local (ICT), to the millisecond."""
    if at is None:
        return "—"
    return at.astimezone(LOCAL).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def from_ms(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, dt.UTC)


def gap(seconds: float | None) -> str:
    """Time between two steps: `+850 ms`, `+2.4 s`, `+3 min 5 s`, `+1 h 02 min`."""
    if seconds is None:
        return ""
    if seconds < 1:
        return f"+{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"+{seconds:.1f} s"
    if seconds < 3600:
        return f"+{int(seconds // 60)} min {int(seconds % 60)} s"
    return f"+{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
