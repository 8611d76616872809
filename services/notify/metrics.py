"""Every metric of the notify service, declared once."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import LATENCY_BUCKETS


class NotifyMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # Email attempts by kind (rejected … digest) and outcome (sent, failed).
        self.emails = Counter(
            "notify_emails_total",
            "Emails by kind and outcome.",
            ["kind", "outcome"],
            registry=registry,
        )
        self.webhooks = Counter(
            "notify_webhooks_total",
            "Webhook calls by outcome (delivered, failed, dead).",
            ["outcome"],
            registry=registry,
        )
        # From the delivery's creation in the ledger to its acceptance by the SMTP server or
        # the portal.
        self.delivery = Histogram(
            "notify_delivery_seconds",
            "Time from notice to delivery.",
            ["channel"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.pending = Gauge(
            "notify_pending_deliveries",
            "Deliveries waiting to be sent or retried.",
            ["channel"],
            registry=registry,
        )
        self.awaiting_unit = Gauge(
            "notify_statuses_awaiting_unit",
            "Statuses whose notices wait for their unit's directory entry to arrive.",
            registry=registry,
        )
        # An attempt in doubt: a crash, or a connection lost mid-message, left unknown whether
        # the server took the delivery; it is sent again under the same Message-ID, so the
        # recipient may hold two copies. The only way a second copy can arise.
        self.resent = Counter(
            "notify_deliveries_resent_total",
            "Deliveries sent again after an attempt whose outcome was unknown.",
            ["channel"],
            registry=registry,
        )
        self.smtp_failures = Counter(
            "notify_smtp_failures_total",
            "SMTP attempts that failed (retried later).",
            registry=registry,
        )

    def observe_in_doubt(self, channel: str, attempts: int) -> None:
        self.resent.labels(channel).inc(attempts)

    def observe(self, channel: str, kind: str, outcome: str, seconds: float) -> None:
        if channel == "email":
            self.emails.labels(kind, outcome).inc()
            if outcome == "failed":
                self.smtp_failures.inc()
        else:
            self.webhooks.labels(outcome).inc()
        if outcome in ("sent", "delivered"):
            self.delivery.labels(channel).observe(seconds)
