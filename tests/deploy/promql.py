"""The metrics the services expose, and the metric names a PromQL expression refers to."""

from __future__ import annotations

import re

SERVICES = ("registration", "vouchers", "control", "notify", "support")


def _histogram(name: str) -> set[str]:
    return {f"{name}_bucket", f"{name}_sum", f"{name}_count"}


def _pipeline(service: str) -> set[str]:
    """What every consuming service exposes, named after itself (shared/service/metrics.py)."""
    return {
        f"{service}_dead_letters_total",
        f"{service}_outbox_backlog_messages",
        f"{service}_outbox_published_total",
        f"{service}_outbox_parked_total",
        f"{service}_consumer_lag_messages",
        f"{service}_background_failures_total",
        *_histogram(f"{service}_batch_seconds"),
        *_histogram(f"{service}_batch_size_messages"),
    }


KNOWN_METRICS: frozenset[str] = frozenset(
    {
        *(name for service in SERVICES for name in _pipeline(service)),
        "registration_registrations_total",
        "registration_staff_decisions_total",
        *_histogram("registration_processing_seconds"),
        "vouchers_vouchers_total",
        *_histogram("vouchers_stage_seconds"),
        "control_decisions_total",
        "control_review_queue_dossiers",
        "control_deadline_dossiers",
        *_histogram("control_review_seconds"),
        *_histogram("control_commitment_seconds"),
        "notify_emails_total",
        "notify_webhooks_total",
        "notify_pending_deliveries",
        "notify_smtp_failures_total",
        *_histogram("notify_delivery_seconds"),
        "support_requests_received_total",
        "support_requests",
        "support_requests_open",
        "support_requests_overdue",
        "support_replies_total",
        *_histogram("support_first_answer_seconds"),
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "python_gc_objects_collected_total",
        "up",
    }
)

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^}]*\}")
_RANGES = re.compile(r"\[[^\]]*\]")
_LABEL_LISTS = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
# A whole identifier (not the tail of a number or duration) that is not called like a function.
_IDENTIFIER = re.compile(r"(?<![\w:.])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "unless", "atan2", "bool", "offset", "by", "without", "on", "ignoring"}
    | {"group_left", "group_right", "inf", "nan"}
)


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects: not functions, keywords, label names or values."""
    bare = _STRINGS.sub(" ", expr)
    for pattern in (_MATCHERS, _RANGES, _LABEL_LISTS):
        bare = pattern.sub(" ", bare)
    return {name for name in _IDENTIFIER.findall(bare) if name.lower() not in _KEYWORDS}
