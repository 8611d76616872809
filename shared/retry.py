"""The one retry policy of the product: exponential backoff from `tenacity`.

The wait doubles from `first` up to `cap` and the attempts never run out: what is retried is
either a failure that a retry outlives (a database or broker away) or, for the relay and the
start-up waits, anything at all. A failure `retry_on` refuses is raised at once, as it is, for
the caller to sort (isolate a message, stop the worker on purpose).
"""

from __future__ import annotations

from collections.abc import Callable

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, wait_exponential


def backoff(
    *,
    first: float,
    cap: float,
    retry_on: Callable[[BaseException], bool] = lambda exc: isinstance(exc, Exception),
    before_sleep: Callable[[RetryCallState], None] | None = None,
) -> AsyncRetrying:
    """Retry without end while `retry_on(exc)`, waiting `first`, 2×`first`, … at most `cap`
    seconds; `before_sleep` hears of each failure before its wait."""
    return AsyncRetrying(
        retry=retry_if_exception(retry_on),
        wait=wait_exponential(multiplier=first, max=cap),
        before_sleep=before_sleep,
        reraise=True,
    )


def failure(state: RetryCallState) -> BaseException | None:
    """The exception of the attempt that just failed."""
    return state.outcome.exception() if state.outcome else None


def next_wait(state: RetryCallState) -> float:
    """Seconds until the next attempt."""
    return state.next_action.sleep if state.next_action else 0.0
