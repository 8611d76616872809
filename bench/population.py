"""The population a run starts from: units registered and their budget lines allocated."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Any

import psycopg
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn

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


FULL_UNITS = 120_000
FULL_LINES = 640_000
DIRECTORIES = ("vouchers", "control", "notify")


def fill(console: Console, dsn: str, *, units: int = FULL_UNITS, lines: int = FULL_LINES) -> None:
    """Grow the population to `units` units and `lines` budget lines, written with COPY.

    The units registered through the pipeline are the templates: each new unit is a copy of
    one of them under a code of its own (its signers' certificates, keys and serials shared
    with the template's), in registration's units and in every service's directory; its
    budget lines are the template's lines and more of the same kind, under the new code.
    No voucher of the run comes from a new unit: they make the tables, indexes and caches
    as large as a year-end day's.
    """
    with psycopg.connect(dsn) as conn:
        templates = conn.execute(
            "SELECT unit_code, treasury_code, status, version, entry FROM registration.units"
        ).fetchall()
        lines_of: dict[str, list[tuple[Any, ...]]] = {}
        for row in conn.execute(
            "SELECT unit_code, fiscal_year, chapter, sector_code, source_code, allocated"
            " FROM control.budget_lines"
        ):
            lines_of.setdefault(row[0], []).append(row[1:])
        taken = {t[0] for t in templates}
        fresh = [c for c in (f"3{n:06d}" for n in range(1_000_000)) if c not in taken]
        fresh = fresh[: max(0, units - len(templates))]
        have = sum(len(v) for v in lines_of.values())
        per_unit = (lines - have) / max(len(fresh), 1)
        with Progress(*Progress.get_default_columns(), TimeElapsedColumn(), console=console) as bar:
            task = bar.add_task(f"Population: {len(fresh)} more units", total=len(fresh) * 5)
            for schema in ("registration", *DIRECTORIES):
                _copy_units(conn, schema, templates, fresh, lambda: bar.advance(task))
            _copy_lines(conn, templates, lines_of, fresh, per_unit, lambda: bar.advance(task))
        conn.commit()
        for table in ("registration.units", "control.budget_lines"):
            conn.execute(f"ANALYZE {table}")
        for schema in DIRECTORIES:
            conn.execute(f"ANALYZE {schema}.unit_directory")
        conn.commit()


def _entry(template: dict[str, Any], code: str) -> str:
    return json.dumps({**template, "unit_code": code})


def _copy_units(
    conn: psycopg.Connection[Any],
    schema: str,
    templates: list[tuple[Any, ...]],
    fresh: list[str],
    advance: Callable[[], None],
) -> None:
    if schema == "registration":
        sql = (
            "COPY registration.units (unit_code, treasury_code, status, version, entry) FROM STDIN"
        )
    else:
        sql = f"COPY {schema}.unit_directory (unit_code, version, entry) FROM STDIN"
    with conn.cursor().copy(sql) as copy:
        for i, code in enumerate(fresh):
            _, treasury, status, version, entry = templates[i % len(templates)]
            if schema == "registration":
                copy.write_row((code, treasury, status, version, _entry(entry, code)))
            else:
                copy.write_row((code, version, _entry(entry, code)))
            advance()


def _copy_lines(
    conn: psycopg.Connection[Any],
    templates: list[tuple[Any, ...]],
    lines_of: dict[str, list[tuple[Any, ...]]],
    fresh: list[str],
    per_unit: float,
    advance: Callable[[], None],
) -> None:
    columns = "unit_code, fiscal_year, chapter, sector_code, source_code, allocated, committed"
    sql = f"COPY control.budget_lines ({columns}, updated_at) FROM STDIN"
    now = dt.datetime.now(dt.UTC)
    made = 0.0
    with conn.cursor().copy(sql) as copy:
        for i, code in enumerate(fresh):
            own = lines_of.get(templates[i % len(templates)][0]) or []
            made += per_unit
            count = int(made) - int(made - per_unit)
            used: set[tuple[Any, ...]] = set()
            for j in range(count):
                year, chapter, sector, source, allocated = own[j % len(own)]
                # Lines beyond the template's: the same line under other funding sources.
                while (year, chapter, sector, source) in used:
                    source = f"{(int(source) + 1) % 100:02d}"
                used.add((year, chapter, sector, source))
                copy.write_row((code, year, chapter, sector, source, allocated, 0, now))
            advance()
