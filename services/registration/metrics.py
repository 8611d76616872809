"""Every metric of the registration service, declared once."""

from __future__ import annotations

from collections.abc import Sequence

from prometheus_client import CollectorRegistry, Counter, Histogram

from shared.metrics import LATENCY_BUCKETS


class RegistrationMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # One count per registration outcome and per reason found (reason "none" when valid).
        self.registrations = Counter(
            "registration_registrations_total",
            "Registrations processed, by outcome and reason.",
            ["outcome", "reason"],
            registry=registry,
        )
        # From the message's creation on the portal side to the committed outcome.
        self.processing = Histogram(
            "registration_processing_seconds",
            "Time from submission to the recorded outcome.",
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.decisions = Counter(
            "registration_staff_decisions_total",
            "Decisions taken by treasury staff on registrations under review.",
            ["decision"],
            registry=registry,
        )

    def observe(self, outcome: str, reasons: Sequence[str], seconds: float) -> None:
        for reason in reasons or ["none"]:
            self.registrations.labels(outcome, reason).inc()
        self.processing.observe(seconds)
