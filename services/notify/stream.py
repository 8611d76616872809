"""The notify service's edge to Kafka: what it consumes. It publishes nothing.

Units' directory entries (with the emails of statuses that arrived before them), statuses
and support notices are decoded and applied in the batch applier's transaction
(`shared.consumer`); what they cause is deliveries in the ledger, not events, so `ROUTES` is
empty (an event a handler returned would find no route: its message would be dead-lettered).
The senders are woken once a batch that may have written deliveries has committed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial

from services.notify import handlers
from services.notify.config import NotifySettings
from services.notify.support import handle_support_notices
from shared.outbound import Route
from shared.service import Runtime

ROUTES: tuple[Route, ...] = ()


def wire(
    runtime: Runtime, settings: NotifySettings, deps: handlers.Deps, *, wake: Callable[[], None]
) -> None:
    """Consume the directory, statuses and support notices; `wake` the senders after each."""
    out = runtime.outbound(ROUTES, new_id=lambda: str(uuid.uuid4()), clock=deps.clock)
    topics = settings.topics
    units = out.each(handlers.directory_with_notices(deps))
    runtime.consume(topics.units, units, size=200, on_committed=wake)
    statuses = out.batch(partial(handlers.handle_statuses, deps=deps))
    runtime.consume(
        topics.status, batch_handler=statuses, size=settings.notify_batch_size, on_committed=wake
    )
    notices = out.batch(partial(handle_support_notices, deps=deps))
    runtime.consume(topics.support_notices, batch_handler=notices, size=200, on_committed=wake)
