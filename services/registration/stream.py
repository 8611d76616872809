"""The registration service's edge to Kafka: what it consumes, and where its events go.

A `registration.submitted` is decoded and applied by `handlers.handle_submitted` in the batch
applier's transaction (`shared.consumer`). Its events leave as declared in `ROUTES`: a
dossier's `StatusChanged` on the status topic, a unit's `DirectoryEntry` on the compacted
units topic, each keyed by unit code; a `DeadLetter` on the dead-letter topic as received.
"""

from __future__ import annotations

from functools import partial

from services.registration import handlers
from services.registration.config import RegistrationSettings
from shared.contract import StatusChanged
from shared.contract.directory import EVENT_TYPE as DIRECTORY_EVENT
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import EventType
from shared.outbound import Outbound, Route
from shared.service import Runtime

ROUTES = (
    Route(StatusChanged, "status", EventType.STATUS_CHANGED.value),
    Route(DirectoryEntry, "units", DIRECTORY_EVENT),
)


def wire(runtime: Runtime, settings: RegistrationSettings, deps: handlers.Deps) -> Outbound:
    """Consume portals' registrations; the routes of the events, for the API as well."""
    out = runtime.outbound(ROUTES, new_id=deps.new_id, clock=deps.clock)
    runtime.consume(
        settings.topics.registrations,
        out.each(partial(handlers.handle_submitted, deps=deps)),
        size=settings.registration_batch_size,
    )
    return out
