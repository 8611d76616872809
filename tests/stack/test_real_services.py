"""The stack's parts are real and usable: Kafka through Faust, PostgreSQL with migrations, SMTP."""

from __future__ import annotations

import asyncio
import mailbox
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from faust.contrib.asgi import faust_app_running
from psycopg import sql

from shared.db import libpq_url
from shared.faust_app import make_faust_app
from shared.migrations import upgrade_all
from shared.settings import BaseServiceSettings
from stack import kafka
from stack.apps import SERVICES, service_migrations
from stack.runner import Endpoints
from tests.waits import WaitTimedOut


async def test_a_faust_agent_consumes_what_aiokafka_produced_and_publishes_onwards(
    stack: Endpoints,
) -> None:
    suffix = uuid.uuid4().hex[:8]
    source, sink = f"test.in.{suffix}", f"test.out.{suffix}"
    await kafka.ensure_topics(
        stack.kafka_bootstrap_servers, [source, sink], set(), partitions=3, replication=1
    )
    app = make_faust_app(f"test-echo-{suffix}", BaseServiceSettings())
    inbound = app.topic(source)
    outbound = app.topic(sink)

    @app.agent(inbound, concurrency=1)
    async def echo(stream):  # type: ignore[no-untyped-def]
        async for batch in stream.take(50, within=0.2):
            for value in batch:
                doc = orjson.loads(value)
                await outbound.send(
                    key=doc["unit"].encode(), value=orjson.dumps({**doc, "seen": True})
                )

    sent: list[dict[str, Any]] = [{"unit": f"10{i:05d}", "n": i} for i in range(20)]
    async with faust_app_running(app, stop_timeout=30):
        producer = AIOKafkaProducer(bootstrap_servers=stack.kafka_bootstrap_servers)
        await producer.start()
        try:
            for doc in sent:
                await producer.send_and_wait(source, orjson.dumps(doc), key=doc["unit"].encode())
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            sink,
            bootstrap_servers=stack.kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            group_id=f"reader-{suffix}",
        )
        await consumer.start()
        received: list[dict[str, Any]] = []
        try:
            async with asyncio.timeout(120):
                async for message in consumer:
                    received.append(orjson.loads(message.value))
                    if len(received) == len(sent):
                        break
        except TimeoutError:
            raise WaitTimedOut(
                f"after 120 s, still waiting for {len(sent)} echoed messages on {sink}; "
                f"saw {len(received)}: {sorted(r['n'] for r in received)}"
            ) from None
        finally:
            await consumer.stop()
    assert sorted(r["n"] for r in received) == [d["n"] for d in sent]
    assert all(r["seen"] is True for r in received)


def test_migrations_create_each_service_schema_and_are_idempotent(stack: Endpoints) -> None:
    upgrade_all(stack.database_url, service_migrations())
    upgrade_all(stack.database_url, service_migrations())
    dsn = libpq_url(stack.database_url)
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema = ANY(%s)",
            (list(SERVICES),),
        ).fetchall()
        versions = {
            s: conn.execute(
                sql.SQL("SELECT version_num FROM {}.alembic_version").format(sql.Identifier(s))
            ).fetchall()
            for s in SERVICES
        }
    tables = set(rows)
    for service in SERVICES:
        assert (service, "outbox") in tables
        assert (service, "processed_events") in tables
        assert len(versions[service]) == 1


async def test_a_mail_sent_over_smtp_is_kept_in_the_sink(stack: Endpoints) -> None:
    assert stack.mail_dir is not None
    marker = uuid.uuid4().hex
    message = EmailMessage()
    message["From"] = "kbnn@example.vn"
    message["To"] = "ketoan@example.vn"
    message["Subject"] = f"Thông báo kết quả hồ sơ {marker}"
    message.set_content("Hồ sơ CT-0011-2026-00012345 đã được chấp nhận.")
    await aiosmtplib.send(message, hostname=stack.smtp_host, port=stack.smtp_port)
    found = [
        m
        for m in mailbox.Maildir(Path(stack.mail_dir), create=False)
        if marker in str(m["Subject"])
    ]
    assert len(found) == 1
    body = found[0].get_payload(decode=True)
    assert isinstance(body, bytes)
    assert "đã được chấp nhận" in body.decode(found[0].get_content_charset() or "utf-8")
