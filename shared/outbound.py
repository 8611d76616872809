"""From a service's domain events to the Kafka messages its outbox holds.

Handlers return what happened, as the contract's payload models (a `StatusChanged`, a
`DirectoryEntry`, …) or a `DeadLetter` for a message they cannot apply; they name no topic,
make no event id and read no clock for it. Each service's `stream.py` declares, once, where
each kind of event goes (`Route`: its model, topic, `event_type`, key); `Outbound` wraps
each event in an envelope stamped with a new `event_id`, the clock's time and the service's
name, and turns it into bytes. The batch applier (`shared.consumer`) and the API's unit of work
(`shared.unit_of_work`) then write those messages to the outbox in their transaction.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import BatchHandler, Handler, Incoming, Item
from shared.contract import Envelope, encode, make_envelope
from shared.contract.codec import to_json_dict
from shared.messaging import Outgoing, dead_letter
from shared.settings import TopicSettings


@dataclass(frozen=True)
class DeadLetter:
    """A received message that cannot be applied, and why: it goes to the dead-letter topic
    as it was received."""

    message: Incoming
    error: str


Event = BaseModel | DeadLetter
"""What a handler returns: a payload of the contract, or a message it cannot apply."""

EventHandler = Callable[[AsyncSession, Envelope, Incoming], Awaitable[Sequence[Event]]]
EventBatchHandler = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Event]]]


@dataclass(frozen=True)
class Route:
    """Where one kind of event goes: its topic, its `event_type` and the key of its message
    (by default the event's `unit_code`, so that a unit's events stay in order)."""

    event: type[BaseModel]
    topic: str
    """The topic's name in `TopicSettings` (`status`, `units`, …): deployments may rename it."""
    event_type: str
    key: Callable[[Any], str] = field(default=operator.attrgetter("unit_code"))


@dataclass(frozen=True)
class Outbound:
    """A service's routes and stamps: domain events in, messages for the outbox out."""

    source: str
    routes: Sequence[Route]
    topics: TopicSettings
    new_id: Callable[[], str]
    clock: Callable[[], dt.datetime]

    def __post_init__(self) -> None:
        unknown = [r.topic for r in self.routes if r.topic not in TopicSettings.model_fields]
        if unknown:
            raise ValueError(f"{self.source} routes events to unknown topics {unknown}")

    def messages(self, events: Iterable[Event]) -> list[Outgoing]:
        """The message of each event, in order; all stamped with the same time."""
        events = list(events)
        now = self.clock() if events else None
        return [self._message(e, now) for e in events]

    def _message(self, event: Event, now: dt.datetime | None) -> Outgoing:
        if isinstance(event, DeadLetter):
            return dead_letter(
                topic=self.topics.deadletter,
                source_topic=event.message.topic,
                key=event.message.key,
                raw=event.message.value or b"",
                error=event.error,
            )
        route = next((r for r in self.routes if r.event is type(event)), None)
        if route is None:
            raise LookupError(f"{self.source} has no route for {type(event).__name__}")
        assert now is not None
        envelope = make_envelope(
            to_json_dict(event),
            event_type=route.event_type,
            event_id=self.new_id(),
            occurred_at=now,
            source=self.source,
        )
        topic = getattr(self.topics, route.topic)
        return Outgoing(topic=topic, key=route.key(event).encode(), value=encode(envelope))

    def each(self, handler: EventHandler) -> Handler:
        """A consumer's handler applying `handler` and sending what it returns."""

        async def apply(
            session: AsyncSession, envelope: Envelope, message: Incoming
        ) -> list[Outgoing]:
            return self.messages(await handler(session, envelope, message))

        return apply

    def batch(self, handler: EventBatchHandler) -> BatchHandler:
        """A consumer's batch handler applying `handler` and sending what it returns."""

        async def apply(session: AsyncSession, items: Sequence[Item]) -> list[Outgoing]:
            return self.messages(await handler(session, items))

        return apply
