"""Every metric of the support service, declared once (docs/contract.md §10).

Counts by status come from the database (every few seconds), so they are the same whichever
instance is scraped and survive restarts; the time to a first answer is observed when given.
Offices are a bounded set (the treasury's offices); a unit or request never is a label.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from services.support.db import STATUSES
from shared.contract.enums import Status

# From receipt to the first reply: minutes to a few working days.
ANSWER_BUCKETS = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 86400, 172800, 345600)


class SupportMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # Requests taken in, by outcome: received, rejected, duplicate, dead_letter.
        self.intake = Counter(
            "support_requests_received_total",
            "Support requests taken from Kafka, by outcome.",
            ["outcome"],
            registry=registry,
        )
        # Requests in each status, per office; open ones are `received` and `answered`, and
        # the resolved share is resolved / (resolved + deferred).
        self.requests = Gauge(
            "support_requests",
            "Support requests per office and status, from the database.",
            ["treasury_code", "status"],
            registry=registry,
        )
        self.open = Gauge(
            "support_requests_open",
            "Support requests not yet resolved or deferred, per office.",
            ["treasury_code"],
            registry=registry,
        )
        # Received and not answered by their deadline: the office owes the unit an answer.
        self.overdue = Gauge(
            "support_requests_overdue",
            "Support requests past their deadline without an answer, per office.",
            ["treasury_code"],
            registry=registry,
        )
        self.first_answer = Histogram(
            "support_first_answer_seconds",
            "Time from receipt of a support request to its first answer, per office.",
            ["treasury_code"],
            buckets=ANSWER_BUCKETS,
            registry=registry,
        )
        self.replies = Counter(
            "support_replies_total",
            "Officers' replies to support requests, by resolution.",
            ["resolution"],
            registry=registry,
        )

    def set_counts(self, by_status: dict[tuple[str, str], int], overdue: dict[str, int]) -> None:
        offices = {office for office, _ in by_status} | set(overdue)
        for office in offices:
            for status in STATUSES:
                self.requests.labels(office, status).set(by_status.get((office, status), 0))
            self.open.labels(office).set(
                by_status.get((office, Status.RECEIVED.value), 0)
                + by_status.get((office, Status.ANSWERED.value), 0)
            )
            self.overdue.labels(office).set(overdue.get(office, 0))
