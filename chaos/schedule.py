"""A seeded fault schedule: what happens to which component, when, and for how long."""

from __future__ import annotations

import random
from dataclasses import dataclass

from chaos.cluster import SERVICES


@dataclass(frozen=True, order=True)
class Fault:
    at: float  # seconds after the first voucher is offered
    target: str  # a service, "kafka", "postgres", "smtp" or "webhook"
    down_for: float

    def describe(self) -> str:
        verb = "answers 500" if self.target == "webhook" else "hard stop"
        return f"t={self.at:6.1f}s  {self.target:<12} {verb} for {self.down_for:.1f}s"


def make(seed: int, duration: float) -> list[Fault]:
    """Each service killed twice, the broker and the database once each (never together),
    the SMTP server stopped and the webhook failing once, all within the offering time."""
    rng = random.Random(seed)
    span = max(duration, 20.0)
    faults = [
        Fault(round(rng.uniform(0.05, 0.9) * span, 1), name, round(rng.uniform(1.0, 4.0), 1))
        for name in SERVICES
        for _ in range(2)
    ]
    kafka_at = rng.uniform(0.2, 0.4) * span
    pg_at = rng.uniform(0.6, 0.8) * span
    faults += [
        Fault(round(kafka_at, 1), "kafka", round(rng.uniform(3.0, 8.0), 1)),
        Fault(round(pg_at, 1), "postgres", round(rng.uniform(3.0, 8.0), 1)),
        Fault(round(rng.uniform(0.1, 0.6) * span, 1), "smtp", round(rng.uniform(5.0, 15.0), 1)),
        Fault(round(rng.uniform(0.1, 0.6) * span, 1), "webhook", round(rng.uniform(5.0, 15.0), 1)),
    ]
    return sorted(faults)
