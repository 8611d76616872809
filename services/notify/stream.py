"""The notify service's edge to Kafka: what it consumes. It publishes nothing.

Units' directory entries (with the emails of statuses that arrived before them), statuses
and support notices are decoded and applied in the batch applier's transaction
(`shared.consumer`); what they cause is deliveries in the ledger, not events: the handlers
return no message. The senders are woken once a batch that may have written deliveries has
committed.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from services.notify import handlers
from services.notify.config import NotifySettings
from services.notify.support import handle_support_notices
from shared.service import Runtime


def wire(
    runtime: Runtime, settings: NotifySettings, deps: handlers.Deps, *, wake: Callable[[], None]
) -> None:
    """Consume the directory, statuses and support notices; `wake` the senders after each."""
    topics = settings.topics
    units = handlers.directory_with_notices(deps)
    runtime.consume(topics.units, units, size=200, on_committed=wake)
    statuses = partial(handlers.handle_statuses, deps=deps)
    runtime.consume(
        topics.status,
        batch_handler=statuses,
        size=settings.notify_batch_size,
        gather=settings.notify_gather_seconds or None,
        on_committed=wake,
    )
    notices = partial(handle_support_notices, deps=deps)
    runtime.consume(topics.support_notices, batch_handler=notices, size=200, on_committed=wake)
