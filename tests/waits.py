"""Waiting for what another process does, and saying what was seen when it does not happen.

Every wait of the suite is for a state (rows, mails, messages, metrics), never for a length of
time, and its limits are generous: a loaded machine makes a test slower, not red. When a limit
is reached the failure names the awaited condition and the last value observed, e.g.
"after 120 s, still waiting for 150 of 1000 mails; saw 143; missing: <...>, ...".
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable, Collection
from typing import Any, TypeVar

T = TypeVar("T")


class WaitTimedOut(AssertionError):
    """A state the test waited for did not come within the limit."""


def describe(check: Callable[..., Any]) -> str:
    """The source of a condition, for waits that were not given a description."""
    try:
        source = inspect.getsource(check).strip()
    except (OSError, TypeError):
        return getattr(check, "__name__", repr(check))
    return " ".join(source.split())[:300]


def shown(value: object, limit: int = 400) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"


def missing(wanted: Collection[str], seen: Collection[str], limit: int = 5) -> str:
    """'; missing: a, b, … (12 in all)' for what of `wanted` is not in `seen`, or ''."""
    absent = sorted(set(wanted) - set(seen))
    if not absent:
        return ""
    more = f", … ({len(absent)} in all)" if len(absent) > limit else ""
    return f"; missing: {', '.join(absent[:limit])}{more}"


def timed_out(what: str, within: float, saw: str) -> WaitTimedOut:
    return WaitTimedOut(f"after {within:g} s, still waiting for {what}; {saw}")


async def poll(
    observe: Callable[[], T],
    until: Callable[[T], bool] = bool,
    *,
    what: str = "",
    within: float = 60,
    every: float = 0.2,
    show: Callable[[T], str] = shown,
) -> T:
    """Look at `observe()` (in a worker thread: it may read files or a database) until
    `until(value)` holds, and return that value; fail with `what` and the last value seen."""
    deadline = time.monotonic() + within
    last: Any = None
    error: BaseException | None = None
    while True:
        try:
            last, error = await asyncio.to_thread(observe), None
            if until(last):
                return last  # type: ignore[no-any-return]
        except (OSError, ValueError, LookupError) as err:
            error = err
        if time.monotonic() >= deadline:
            condition = what or describe(until if until is not bool else observe)
            saw = f"the last look failed: {error!r}" if error else f"saw {show(last)}"
            raise timed_out(condition, within, saw)
        await asyncio.sleep(every)


def wait_sync(
    observe: Callable[[], T],
    until: Callable[[T], bool] = bool,
    *,
    what: str,
    within: float = 60,
    every: float = 0.5,
) -> T:
    """`poll` for code without an event loop."""
    deadline = time.monotonic() + within
    while True:
        last = observe()
        if until(last):
            return last
        if time.monotonic() >= deadline:
            raise timed_out(what, within, f"saw {shown(last)}")
        time.sleep(every)
