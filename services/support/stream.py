"""The support service's edge to Kafka: what it consumes, and where its events go.

Units' directory entries keep the service's copy of the directory; a `support.requested` is
decoded and applied by `handlers.handle_requested` in the batch applier's transaction
(`shared.consumer`). Its events leave as declared in `ROUTES`: a request's `StatusChanged`
on the status topic, a `SupportNotice` (what notify's emails say) on the internal support
topic, each keyed by unit code; a `DeadLetter` on the dead-letter topic as received.
"""

from __future__ import annotations

from functools import partial

from services.support import db, handlers
from services.support.config import SupportSettings
from shared.contract import StatusChanged
from shared.contract.enums import EventType
from shared.contract.internal import SUPPORT_NOTICE, SupportNotice
from shared.directory import directory_handler
from shared.outbound import Outbound, Route
from shared.service import Runtime

ROUTES = (
    Route(StatusChanged, "status", EventType.STATUS_CHANGED.value),
    Route(SupportNotice, "support_notices", SUPPORT_NOTICE),
)


def wire(runtime: Runtime, settings: SupportSettings, deps: handlers.Deps) -> Outbound:
    """Consume the directory and portals' requests; the routes of the events, for the API."""
    out = runtime.outbound(ROUTES, new_id=deps.new_id, clock=deps.clock)
    runtime.consume(settings.topics.units, directory_handler(db.directory), size=200)
    runtime.consume(
        settings.topics.support,
        out.each(partial(handlers.handle_requested, deps=deps)),
        size=settings.support_batch_size,
    )
    return out
