"""The stream side of a service: one Faust agent per consumed topic, applying batches."""

from __future__ import annotations

from collections.abc import Callable

import faust

from shared.batching import QUIET_SECONDS
from shared.consumer import BatchApplier, consume_batches


def add_agent(
    app: faust.App,
    topic_name: str,
    applier: BatchApplier,
    *,
    size: int,
    within: float,
    quiet: float = QUIET_SECONDS,
    observe: Callable[[int, float], None],
) -> None:
    """An agent (concurrency 1, see shared/faust_app.py) that applies `topic_name` in batches
    of at most `size` messages or `within` seconds (sooner once the stream is `quiet` for that
    long, see shared/batching.py), each committed before it is acknowledged."""
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes)

    async def agent(stream: faust.StreamT[bytes]) -> None:
        await consume_batches(
            stream, applier, size=size, within=within, quiet=quiet, observe=observe
        )

    agent.__name__ = f"consume_{topic_name.replace('.', '_')}"
    app.agent(topic, name=agent.__name__, concurrency=1)(agent)
