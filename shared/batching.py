"""Batches from a Faust stream that do not wait when the stream is quiet.

Faust's `take_events(n, within)` yields every `within` seconds (or when n are buffered), so a
lone message waits for the rest of the window: about half a window on each hop, for nothing.
`take_ready` yields as soon as `n` messages are buffered, or the stream has been quiet for
`quiet` seconds, or `within` seconds have passed since the batch's first message. Under load
messages keep arriving, so batches fill as before; when the stream is idle, a message is
applied about `quiet` seconds after it arrives.

Acknowledgements work exactly as in `take_events` (this is its code with another wait):
the events of a batch are acknowledged only when the caller asks for the next batch, that is,
after it has applied and committed this one.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

QUIET_SECONDS = 0.002


async def take_ready(
    stream: Any, size: int, *, within: float, quiet: float = QUIET_SECONDS
) -> AsyncIterator[list[Any]]:
    """Lists of at most `size` Faust events; see the module's docstring for when each comes."""
    events: list[Any] = []
    full = asyncio.Event()
    arrived = asyncio.Event()
    consumed = asyncio.Event()
    consuming: asyncio.Future[None] | None = None
    acks_enabled: bool = stream.enable_acks

    async def add(value: Any) -> Any:
        nonlocal consuming
        if consuming is not None:
            try:
                await consuming
            finally:
                consuming = None
        event = stream.current_event
        if event is None:
            raise RuntimeError("a buffered value has no current event")
        events.append(event)
        arrived.set()
        if len(events) >= size:
            full.set()
            consumed.clear()
            # Never more than `size` in a batch: wait until this one is taken.
            await stream.wait(consumed)
        return value

    stream.enable_acks = False
    stream.add_processor(add)
    stream._enable_passive(aiter(stream.channel))  # as take_events does
    try:
        while not stream.should_stop:
            arrived.clear()
            await stream.wait_for_stopped(arrived, timeout=within)
            if not events:
                continue
            deadline = time.monotonic() + within
            # One wake-up per `quiet` seconds, not one per message.
            while not full.is_set() and time.monotonic() < deadline:
                before = len(events)
                await stream.wait_for_stopped(full, timeout=quiet)
                if len(events) == before:
                    break  # quiet: nothing more is coming now
            consuming = asyncio.get_running_loop().create_future()
            try:
                yield list(events)
            finally:
                for event in events:
                    await stream.ack(event)
                events.clear()
                if not consuming.done():
                    consuming.set_result(None)
                full.clear()
                consumed.set()
    finally:
        stream.enable_acks = acks_enabled
        stream._processors.remove(add)
