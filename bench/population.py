"""The population a run starts from: units registered and their budget lines allocated."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer
from rich.console import Console

from bench.workload import Workload
from shared.settings import TopicSettings


async def populate(console: Console, bootstrap: str, dsn: str, workload: Workload) -> None:
    """Register the units through the pipeline, then allocate their lines; wait for both."""
    topics = TopicSettings()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=10)
    await producer.start()
    try:
        await asyncio.gather(
            *[
                await producer.send(topics.registrations, v, key=k.encode())
                for k, v in workload.registrations
            ]
        )
        units = len(workload.registrations)
        with console.status(f"Registering {units} units…"):
            await _until(lambda: _count(dsn, "vouchers.unit_directory") >= units, 300)
            await asyncio.gather(
                *[
                    await producer.send(topics.allocations, v, key=k.encode())
                    for k, v in workload.allocations
                ]
            )
            await _until(
                lambda: _count(dsn, "control.budget_lines") >= len(workload.allocations), 300
            )
    finally:
        await producer.stop()


def _count(dsn: str, table: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608
    return int(row[0]) if row else 0


async def _until(check: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark's set-up did not complete in time")
        await asyncio.sleep(0.5)
