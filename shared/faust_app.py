"""The one way to build a Faust app in this product.

What the settings guard against (faust-streaming >= 0.15.2):
- an exception raised inside an agent acknowledges the message, so handlers catch, retry,
  dead-letter, or stop the worker on purpose; they never let an error escape silently;
- agents run with `concurrency=1`: higher values commit offsets past unfinished work;
- delivery is at least once; correctness comes from idempotent PostgreSQL transactions, not
  from Kafka transactions, so `exactly_once` is never used;
- the HTTP side is FastAPI (via `faust.contrib.asgi.faust_lifespan`), so Faust's web is off.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import faust

from shared.producer import MAX_REQUEST_BYTES
from shared.settings import BaseServiceSettings


def broker_urls(bootstrap_servers: str) -> list[str]:
    return [f"kafka://{host.strip()}" for host in bootstrap_servers.split(",") if host.strip()]


def make_faust_app(name: str, settings: BaseServiceSettings, **overrides: Any) -> faust.App:
    """A Faust app for service `name`, also its consumer group id. Agents use concurrency=1."""
    datadir = Path(tempfile.gettempdir()) / "dvc-faust" / name
    datadir.mkdir(parents=True, exist_ok=True)
    options: dict[str, Any] = {
        "broker": broker_urls(settings.kafka_bootstrap_servers),
        "web_enabled": False,
        "store": "memory://",
        # Tables live in memory, so Faust keeps nothing here; without this it would make an
        # empty `<name>-data` directory in whatever directory the service was started from.
        "datadir": datadir,
        "autodiscover": False,
        "processing_guarantee": "at_least_once",
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication,
        "topic_allow_declare": False,
        # No agent or timer runs on the leader only, so there is no leader to elect: without
        # this, each worker subscribes to `<app>-__assignor-__leader`, a topic it may not
        # declare, and logs at error level that it is not found.
        "topic_disable_leader": True,
        "consumer_auto_offset_reset": "earliest",
        "producer_acks": -1,
        "key_serializer": "raw",
        "value_serializer": "raw",
        "stream_wait_empty": True,
        "broker_max_poll_records": 500,
        # At least the largest message the broker accepts, so no fetch depends on Kafka's
        # first-batch exception to make progress.
        "consumer_max_fetch_size": MAX_REQUEST_BYTES,
        "producer_max_request_size": MAX_REQUEST_BYTES,
        # A worker that dies is noticed within 10 s, so its partitions move (or its restart
        # rejoins) without waiting for the 60 s default.
        "broker_session_timeout": 10.0,
        "broker_heartbeat_interval": 2.0,
        # A group rebalanced while the broker was still loading its topics (just after a
        # restart) is assigned no partitions of them; the consumer rejoins when its metadata
        # shows them, so refresh it every 10 s rather than every 5 minutes.
        "consumer_metadata_max_age_ms": 10_000,
        "loghandlers": [],
    }
    options.update(overrides)
    return faust.App(name, **options)
