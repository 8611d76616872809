"""What a container deployment runs before its services: `python -m stack prepare` on a Kafka
and a PostgreSQL that already run, and services that refuse to start without their secrets."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import psycopg
from aiokafka.admin import AIOKafkaAdminClient

from shared.db import libpq_url
from stack.runner import Endpoints
from tests.support import ROOT, Namespace, service_env


async def _topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


def test_prepare_creates_the_topics_migrates_and_keeps_existing_config(
    stack: Endpoints, tmp_path: Path
) -> None:
    ns = Namespace()
    # A database of its own, so that the migrations seen are the ones prepare applied.
    server = libpq_url(stack.database_url)
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {ns.prefix}")
    database_url = stack.database_url.rsplit("/", 1)[0] + f"/{ns.prefix}"
    config = tmp_path / "config"
    config.mkdir()
    (config / "offices.json").write_text('{"offices": []}')
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TOPIC_")},
        "KAFKA_BOOTSTRAP_SERVERS": stack.kafka_bootstrap_servers,
        "DATABASE_URL": database_url,
        **{k: v for k, v in ns.environment().items() if k.startswith("TOPIC_")},
        "TOPIC_PARTITIONS": "3",
    }
    done = subprocess.run(
        [sys.executable, "-m", "stack", "prepare", "--demo-config", str(config)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Prepared." in done.stderr
    assert sorted(p.name for p in config.iterdir()) == ["offices.json", "trusted-ca.pem"]
    assert (config / "offices.json").read_text() == '{"offices": []}'
    assert (config / "trusted-ca.pem").read_text().startswith("-----BEGIN CERTIFICATE-----")
    assert list(tmp_path.iterdir()) == [config], "prepare wrote outside the directory it was given"
    assert set(ns.topics.all()) <= asyncio.run(_topics(stack.kafka_bootstrap_servers))
    with psycopg.connect(server.rsplit("/", 1)[0] + f"/{ns.prefix}") as conn:
        schemas = {
            r[0] for r in conn.execute("SELECT schema_name FROM information_schema.schemata")
        }
    assert {"registration", "vouchers", "control", "notify"} <= schemas


def test_a_service_that_requires_secrets_stops_at_start_and_says_which(
    stack: Endpoints, ca_file: Path
) -> None:
    env = {
        **os.environ,
        **service_env(stack, Namespace(), ca_file),
        "REQUIRE_SECRETS": "true",
        "STAFF_JWT_SECRET": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "services.registration"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "STAFF_JWT_SECRET is empty: every staff token would be refused" in done.stderr
    assert "PORTAL_API_KEYS is empty" not in done.stderr
