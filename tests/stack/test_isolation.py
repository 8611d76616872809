"""The suite never touches a user's running stack, even when the product's variables name it.

A stand-in for a user's `make run` stack (its own ports, files in var/test-live) holds data:
rows in the services' schemas and in schemas the suite's own tests drop, a message on a topic,
a mail. Part of the suite then runs in a subprocess with `DATABASE_URL`,
`KAFKA_BOOTSTRAP_SERVERS` and `SMTP_HOST` pointing at it; afterwards every row, every
topic's offsets and every mail are as they were.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import psycopg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from psycopg import sql

from shared.db import libpq_url
from stack.apps import SERVICES
from stack.config import ExternalServices
from stack.ports import stack_settings
from stack.runner import Endpoints, Stack
from tests.isolation import RefusedDatabase, claim_database
from tests.support import ROOT

# Tests that write to every part of their stack, drop schemas and start a service. Not the
# late-broker start-up test: its broker is one of its own, its service is started as the
# registration test's is, and its half minute of waiting for that broker would be all it adds.
SUBSET = (
    "tests/shared/test_consumer.py",
    "tests/shared/test_outbox.py",
    "tests/stack/test_real_services.py",
    "tests/registration/test_registration_flow.py::"
    "test_a_valid_new_registration_is_approved_at_once_and_reaches_the_directory",
)
PLANTED_SCHEMAS = ("outbox_test", "consumer_test")


@pytest.fixture(scope="module")
def live() -> Iterator[Endpoints]:
    var_dir = ROOT / "var" / "test-live"
    shutil.rmtree(var_dir, ignore_errors=True)
    runner = Stack(stack_settings("test-live", var_dir), ExternalServices.none())
    try:
        yield runner.up(foreground=True)
    finally:
        runner.stop_started()


def _dsn(endpoints: Endpoints) -> str:
    return libpq_url(endpoints.database_url)


async def _put_data(live: Endpoints) -> None:
    with psycopg.connect(_dsn(live)) as conn:
        for service in SERVICES:
            conn.execute(
                sql.SQL(
                    "INSERT INTO {}.processed_events (event_id, source_topic) "
                    "VALUES ('a-users-event', 'dvc.vouchers.v1')"
                ).format(sql.Identifier(service))
            )
        for schema in PLANTED_SCHEMAS:
            conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            conn.execute(
                sql.SQL("CREATE TABLE {}.kept AS SELECT 'a user''s row' AS what").format(
                    sql.Identifier(schema)
                )
            )
    producer = AIOKafkaProducer(bootstrap_servers=live.kafka_bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait("dvc.status.v1", b"a user's status", key=b"1000001")
    finally:
        await producer.stop()
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "a@kbnn.gov.vn", "b@example.vn", "a user's mail"
    mail.set_content("kept")
    await aiosmtplib.send(mail, hostname=live.smtp_host, port=live.smtp_port)


async def _snapshot(live: Endpoints) -> dict[str, Any]:
    """Every table's row count and content digest, every topic's size, every mail file."""
    tables: dict[str, Any] = {}
    with psycopg.connect(_dsn(live)) as conn:
        names = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
        ).fetchall()
        for schema, table in names:
            rows = conn.execute(
                sql.SQL(
                    "SELECT count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), ''))"
                    " FROM {}.{} t"
                ).format(sql.Identifier(schema), sql.Identifier(table))
            ).fetchone()
            tables[f"{schema}.{table}"] = rows
    admin = AIOKafkaAdminClient(bootstrap_servers=live.kafka_bootstrap_servers)
    await admin.start()
    try:
        topics = sorted(t for t in await admin.list_topics() if not t.startswith("__"))
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    consumer = AIOKafkaConsumer(bootstrap_servers=live.kafka_bootstrap_servers)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(
            [TopicPartition(t["topic"], p["partition"]) for t in described for p in t["partitions"]]
        )
    finally:
        await consumer.stop()
    sizes = {t: sum(n for tp, n in ends.items() if tp.topic == t) for t in topics}
    assert live.mail_dir is not None
    mails = sorted(p.name for p in (Path(live.mail_dir) / "new").iterdir())
    return {"tables": tables, "topics": sizes, "mails": mails}


def _suite(env: dict[str, str], *tests: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        env={**os.environ, "DVC_TEST_STACK": "test-nested", **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


async def test_the_suite_leaves_a_running_stack_named_by_the_products_variables_untouched(
    live: Endpoints,
) -> None:
    await _put_data(live)
    before = await _snapshot(live)
    assert before["tables"]["outbox_test.kept"][0] == 1
    assert before["topics"]["dvc.status.v1"] >= 1
    assert len(before["mails"]) == 1
    run = _suite(live.environment(), *SUBSET)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "product variables ignored: DATABASE_URL, KAFKA_BOOTSTRAP_SERVERS" in run.stdout
    assert await _snapshot(live) == before


async def test_the_suite_refuses_a_database_it_did_not_fill(live: Endpoints) -> None:
    before = await _snapshot(live)
    with pytest.raises(RefusedDatabase, match="schema control"):
        claim_database(live.database_url)
    own = {f"TEST_{key}": value for key, value in live.environment().items()}
    run = _suite(own, "tests/stack/test_real_services.py")
    assert run.returncode != 0
    assert "The tests refuse the database" in run.stdout
    assert await _snapshot(live) == before
