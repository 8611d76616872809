"""The metrics every consuming service has, named after it."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import BATCH_SIZE_BUCKETS, LATENCY_BUCKETS


class PipelineMetrics:
    """The metrics every consuming service has, named `<service>_…`."""

    def __init__(self, service: str, registry: CollectorRegistry) -> None:
        # Messages that could not be decoded or applied, by the topic they came from.
        self.dead_letters = Counter(
            f"{service}_dead_letters_total",
            "Messages sent to the dead-letter topic.",
            ["source_topic"],
            registry=registry,
        )
        # Wall time to apply one batch in one transaction, retries included.
        self.batch_seconds = Histogram(
            f"{service}_batch_seconds",
            "Time to apply one batch.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.batch_size = Histogram(
            f"{service}_batch_size_messages",
            "Messages per applied batch.",
            buckets=BATCH_SIZE_BUCKETS,
            registry=registry,
        )
        # Rows committed to the outbox and not yet published to Kafka.
        self.outbox_backlog = Gauge(
            f"{service}_outbox_backlog_messages",
            "Outbox rows waiting to be published.",
            registry=registry,
        )
        # Messages on each consumed topic not yet committed by this service's consumer group.
        self.consumer_lag = Gauge(
            f"{service}_consumer_lag_messages",
            "Consumer lag of the service's group, per topic.",
            ["topic"],
            registry=registry,
        )
        self.outbox_published = Counter(
            f"{service}_outbox_published_total",
            "Messages published from the outbox.",
            registry=registry,
        )
        # Outbox rows that could never be published (too large, refused for good), moved to
        # the service's parked_messages table so that the rows behind them go on.
        self.outbox_parked = Counter(
            f"{service}_outbox_parked_total",
            "Outbox rows parked because they can never be published.",
            ["topic"],
            registry=registry,
        )

        # Failures of the loops that run beside the stream (the relay, the watchers, a
        # service's own), by loop; each is logged where it happens.
        self.background_failures = Counter(
            f"{service}_background_failures_total",
            "Failures of a background loop, each logged; the loop goes on.",
            ["loop"],
            registry=registry,
        )

    def observe_batch(self, size: int, seconds: float) -> None:
        self.batch_size.observe(size)
        self.batch_seconds.observe(seconds)
