"""The registration service's edge to Kafka: what it consumes, and where its events go.

A `registration.submitted` is decoded and applied by `handlers.handle_submitted` in the batch
applier's transaction (`shared.consumer`); the events it returns leave as: a dossier's
`StatusChanged` on the status topic, a unit's `DirectoryEntry` on the compacted units topic,
each keyed by unit code; a `DeadLetter` on the dead-letter topic as it was received.
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

SOURCE = "registration"


def outbound(settings: RegistrationSettings, deps: handlers.Deps) -> Outbound:
    """Where the service's events go, stamped with its name, new ids and `deps.clock`."""
    topics = settings.topics
    routes = [
        Route(StatusChanged, topics.status, EventType.STATUS_CHANGED.value),
        Route(DirectoryEntry, topics.units, DIRECTORY_EVENT),
    ]
    return Outbound(
        source=SOURCE,
        routes=routes,
        deadletter_topic=topics.deadletter,
        new_id=deps.new_id,
        clock=deps.clock,
    )


def consume(
    runtime: Runtime, *, settings: RegistrationSettings, deps: handlers.Deps, out: Outbound
) -> None:
    """The consumer of portals' registrations."""
    runtime.consume(
        settings.topics.registrations,
        out.each(partial(handlers.handle_submitted, deps=deps)),
        size=settings.registration_batch_size,
    )
