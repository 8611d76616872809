"""`python -m stack prepare`: what a container deployment needs before its services start.

On a Kafka and a PostgreSQL that already run (`KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`): wait
for both, create the topics that are missing, apply every service's migrations. With
`--demo-config DIR`, also write a demo CA bundle and offices file into DIR when absent. It
writes nothing else: no state file, no data directory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from shared.db import sync_url
from shared.migrations import upgrade_all
from stack import demo_offices, kafka
from stack.apps import all_migrations
from stack.config import ExternalServices
from stack.errors import PrerequisiteMissing
from stack.procs import wait_until
from testkit import Testbed


def prepare(
    external: ExternalServices,
    *,
    demo_config: Path | None,
    timeout: float,
    say: Callable[[str], None],
) -> None:
    bootstrap, database_url = external.kafka_bootstrap_servers, external.database_url
    if not bootstrap or not database_url:
        raise PrerequisiteMissing(
            "prepare works on a Kafka and a PostgreSQL that already run: "
            "set KAFKA_BOOTSTRAP_SERVERS and DATABASE_URL"
        )
    say(f"Kafka: waiting for {bootstrap}")
    kafka.wait_ready(bootstrap, timeout=timeout, proc=None)
    topics = external.topics
    created = kafka.create_topics(
        bootstrap,
        topics.all(),
        set(topics.compacted()),
        partitions=external.topic_partitions,
        replication=external.topic_replication,
    )
    say(f"Kafka: {len(created)} topics created, {len(topics.all()) - len(created)} existed")
    say("PostgreSQL: waiting for it to answer")
    wait_until(
        lambda: _answers(database_url),
        timeout=timeout,
        proc=None,
        what="PostgreSQL at DATABASE_URL",
    )
    say("PostgreSQL: applying migrations")
    upgrade_all(database_url, all_migrations())
    if demo_config is not None:
        for written in write_demo_config(demo_config):
            say(f"Demo configuration: wrote {written}")


def write_demo_config(directory: Path) -> list[Path]:
    """A demo CA bundle (`trusted-ca.pem`) and offices file (`offices.json`), where absent."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    bundle, offices = directory / "trusted-ca.pem", directory / "offices.json"
    if not bundle.exists():
        Testbed().ca.write_bundle(bundle)
        written.append(bundle)
    if not offices.exists():
        offices.write_text(
            json.dumps(demo_offices.offices_document(), ensure_ascii=False, indent=2),
            encoding="utf-8",
        )
        written.append(offices)
    return written


def _answers(database_url: str) -> bool:
    engine = sa.create_engine(sync_url(database_url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return True
    except sa.exc.OperationalError:
        return False
    finally:
        engine.dispose()
