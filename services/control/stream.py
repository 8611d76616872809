"""The control service's edge to Kafka: what it consumes, and where its events go.

Units' directory entries keep the service's copy of the directory; the budget system's
records (`allocations.handle_allocation`) and the vouchers handed over at intake
(`handlers.handle_received`, in batches) are decoded and applied in the batch applier's
transaction (`shared.consumer`). Their events leave as declared in `ROUTES`: an allocation's
or capital plan's `StatusChanged` on the status topic, a voucher's `VoucherDecided` on the
internal decisions topic (the vouchers service publishes it as the dossier's next status),
each keyed by unit code; a `DeadLetter` on the dead-letter topic as received.
"""

from __future__ import annotations

from functools import partial

from services.control import allocations, db, handlers
from services.control.config import ControlSettings
from shared.contract import StatusChanged
from shared.contract.enums import EventType
from shared.contract.internal import VOUCHER_DECIDED, VoucherDecided
from shared.directory import directory_handler
from shared.outbound import Outbound, Route
from shared.service import Runtime

ROUTES = (
    Route(StatusChanged, "status", EventType.STATUS_CHANGED.value),
    Route(VoucherDecided, "decisions", VOUCHER_DECIDED),
)


def wire(runtime: Runtime, settings: ControlSettings, deps: handlers.Deps) -> Outbound:
    """Consume the directory, allocations and received vouchers; the routes, for the API."""
    out = runtime.outbound(ROUTES, new_id=deps.new_id, clock=deps.clock)
    topics = settings.topics
    runtime.consume(topics.units, directory_handler(db.directory), size=200)
    runtime.consume(
        topics.allocations, out.each(partial(allocations.handle_allocation, deps=deps)), size=200
    )
    runtime.consume(
        topics.control,
        batch_handler=out.batch(partial(handlers.handle_received, deps=deps)),
        size=settings.control_batch_size,
    )
    return out
