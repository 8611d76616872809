"""The vouchers service's edge to Kafka: what it consumes, and where its events go.

Units' directory entries keep the service's copy of the directory; portals' submissions
(`handlers.handle_submissions`) and spending control's decisions (`handlers.handle_decisions`)
are decoded and applied in batches in the batch applier's transaction (`shared.consumer`).
Their events leave as declared in `ROUTES`: a dossier's `StatusChanged` on the status topic,
a `VoucherReceived` for spending control on the internal control topic, each keyed by unit
code; a `DeadLetter` on the dead-letter topic as received.
"""

from __future__ import annotations

from functools import partial

from services.vouchers import db, handlers
from services.vouchers.config import VouchersSettings
from shared.contract import StatusChanged
from shared.contract.enums import EventType
from shared.contract.internal import VOUCHER_RECEIVED, VoucherReceived
from shared.directory import directory_handler
from shared.outbound import Outbound, Route
from shared.service import Runtime

ROUTES = (
    Route(StatusChanged, "status", EventType.STATUS_CHANGED.value),
    Route(VoucherReceived, "control", VOUCHER_RECEIVED),
)


def wire(runtime: Runtime, settings: VouchersSettings, deps: handlers.Deps) -> Outbound:
    """Consume the directory, submissions and decisions; the routes of the events."""
    out = runtime.outbound(ROUTES, new_id=deps.new_id, clock=deps.clock)
    topics, size = settings.topics, settings.vouchers_batch_size
    runtime.consume(topics.units, directory_handler(db.directory), size=200)
    submissions = partial(handlers.handle_submissions, deps=deps)
    runtime.consume(topics.vouchers, batch_handler=out.batch(submissions), size=size)
    decisions = partial(handlers.handle_decisions, deps=deps)
    runtime.consume(topics.decisions, batch_handler=out.batch(decisions), size=size)
    return out
