"""The Faust transport ceiling: the services' own consumer and producer, and no work between.

`python -m bench.passthrough_faust <loop> <bootstrap> <topic0> … <topicN>` forwards topic i to
topic i+1 as a service would: on the services' event loop (`uvloop`) or asyncio's own
(`asyncio`), a Faust app made by `shared.faust_app` (the services' settings),
one agent per hop taking batches as the services do (`shared.batching.take_ready`, their batch
size and window),
each batch sent through the services' producer and acknowledged once the broker has it.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
from collections.abc import Callable, Coroutine
from typing import Any

import uvloop
from faust.contrib.asgi import faust_app_running

from shared.batching import take_ready
from shared.faust_app import make_faust_app
from shared.producer import Producer
from shared.settings import BaseServiceSettings

BATCH = 500


def agent_for(
    producer: Producer, target: str, window: float
) -> Callable[[Any], Coroutine[Any, Any, None]]:
    async def forward(stream: Any) -> None:
        async for events in take_ready(stream, BATCH, within=window):
            pending = [
                await producer.send(target, e.message.value or b"", key=e.message.key)
                for e in events
            ]
            await asyncio.gather(*pending)

    return forward


async def main(bootstrap: str, topics: list[str]) -> None:
    settings = BaseServiceSettings(kafka_bootstrap_servers=bootstrap)
    app = make_faust_app(f"pass-faust-{topics[0]}", settings)
    producer = Producer(bootstrap)
    await producer.start()
    for i, (source, target) in enumerate(itertools.pairwise(topics)):
        topic = app.topic(source, key_type=bytes, value_type=bytes)
        forward = agent_for(producer, target, settings.batch_window_seconds)
        app.agent(topic, name=f"hop{i}", concurrency=1)(forward)
    try:
        async with faust_app_running(app, stop_timeout=5):
            await asyncio.Event().wait()
    finally:
        await producer.stop()


if __name__ == "__main__":
    loop, bootstrap, *names = sys.argv[1:]
    (uvloop.run if loop == "uvloop" else asyncio.run)(main(bootstrap, names))
