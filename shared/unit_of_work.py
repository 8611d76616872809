"""One unit of work: a session and its transaction, the events it causes written to the outbox
in that same transaction, and whoever publishes them woken once it has committed.

    async with work() as tx:
        result, events = await handlers.decide(tx.session, ...)
        tx.publish(out.messages(events))    # the service's routes (`shared.outbound`)

If the block raises, the transaction rolls back, nothing reaches the outbox and nobody is
woken. Otherwise the events are in the outbox when the commit returns, and only then is `wake`
called (a relay that looked earlier would not see them).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.messaging import MessagingTables, Outgoing, enqueue


@dataclass
class Transaction:
    """The open transaction of a unit of work and the events it will publish."""

    session: AsyncSession
    outgoing: list[Outgoing] = field(default_factory=list)

    def publish(self, events: Iterable[Outgoing]) -> None:
        """Publish `events` if, and once, the transaction commits."""
        self.outgoing.extend(events)


@dataclass(frozen=True)
class UnitOfWork:
    sessionmaker: async_sessionmaker[AsyncSession]
    tables: MessagingTables
    wake: Callable[[], None] = lambda: None

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Transaction]:
        async with self.sessionmaker() as session, session.begin():
            tx = Transaction(session)
            yield tx
            await enqueue(session, self.tables, tx.outgoing)
        self.wake()
