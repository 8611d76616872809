"""Every metric of the control service, declared once."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from shared.metrics import LATENCY_BUCKETS


class ControlMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # Decisions by outcome (approved, refused, returned, in_review), one per reason.
        self.decisions = Counter(
            "control_decisions_total",
            "Spending-control decisions by outcome and reason.",
            ["outcome", "reason"],
            registry=registry,
        )
        self.review_queue = Gauge(
            "control_review_queue_dossiers",
            "Vouchers waiting for an officer's decision.",
            registry=registry,
        )
        # Vouchers in review whose deadline is within 2 hours (at_risk) or has passed (overdue).
        self.deadlines = Gauge(
            "control_deadline_dossiers",
            "Vouchers in review near or past their deadline.",
            ["state"],
            registry=registry,
        )
        # From the moment a voucher is held for review to the officer's decision.
        self.time_in_review = Histogram(
            "control_review_seconds",
            "Time vouchers spend in review.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # From receipt at intake to the commitment of the funds.
        self.commitment = Histogram(
            "control_commitment_seconds",
            "Time from receipt to committed funds.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe_decision(self, outcome: str, reasons: Sequence[str]) -> None:
        for reason in reasons or ["none"]:
            self.decisions.labels(outcome, reason).inc()
