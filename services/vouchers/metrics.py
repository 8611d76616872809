"""Every metric of the vouchers service, declared once."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.metrics import LATENCY_BUCKETS


class VouchersMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # Intake outcomes (received, rejected, duplicate), one count per reason found.
        self.vouchers = Counter(
            "vouchers_vouchers_total",
            "Vouchers by intake outcome and reason.",
            ["outcome", "reason"],
            registry=registry,
        )
        # intake: submission to intake outcome; control: receipt to control's decision;
        # end_to_end: submission to terminal status without an officer;
        # end_to_end_reviewed: the same for vouchers an officer decided.
        self.stage = Histogram(
            "vouchers_stage_seconds",
            "Latency of each stage of a voucher's processing.",
            ["stage"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )

    def observe_outcome(self, outcome: str, reasons: Sequence[str]) -> None:
        for reason in reasons or ["none"]:
            self.vouchers.labels(outcome, reason).inc()

    def observe_stage(self, stage: str, seconds: float) -> None:
        self.stage.labels(stage).observe(max(0.0, seconds))
