"""Works through the delivery ledger: every due delivery sent, none ever lost.

Never lost comes first: a delivery is recorded `sent` only after the SMTP server (or the
portal) has taken it. Until then its fate is unknown, and the sender keeps that visible:

1. In a transaction held for the whole send, it locks the delivery row (`FOR NO KEY UPDATE
   SKIP LOCKED`): no other sender, in this process or another, takes that delivery meanwhile.
2. In a short transaction of its own it records the attempt (`delivery_attempts`) and commits
   that, before the first byte leaves.
3. It sends, then records the outcome and deletes the attempt in the held transaction.

A crash after 2 rolls the held transaction back: the row is free and still `pending`, and the
attempt row stays behind. The sender that locks the delivery next finds it and cannot know
whether the mail arrived, so it sends again, under the same Message-ID (mail clients show one
message), and counts the interrupted attempt in the delivery's `attempts_in_doubt` and in
`notify_deliveries_resent_total`. A connection lost while the server was taking the message
(`InDoubt`) is counted the same way. That is the only way a second copy can arise: a row
locked by a live sender is skipped, and a `sent` row is never picked again.

Emails are retried with backoff until they go (a mail is never given up); a webhook is
marked `dead` after its last attempt, and staff can retry either from the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify import db, domain
from services.notify.faults import CrashPoint
from services.notify.render import Rendered, email_message
from services.notify.smtp import InDoubt, MailTransport, NotTaken, SendFailed

log = logging.getLogger(__name__)


@dataclass
class SenderConfig:
    sender: str
    webhook_secret: str
    webhook_max_attempts: int = 8
    retry_cap_seconds: float = 300.0


@dataclass
class Sender:
    sessionmaker: async_sessionmaker[AsyncSession]
    mail: MailTransport
    http: httpx.AsyncClient
    config: SenderConfig
    clock: Callable[[], dt.datetime]
    observe: Callable[[str, str, str, float], None] = lambda channel, kind, outcome, s: None
    # Called with (channel, n) once the ledger counts n more attempts in doubt.
    observe_in_doubt: Callable[[str, int], None] = lambda channel, n: None
    crash: CrashPoint = field(default_factory=CrashPoint)
    # Told of each failure of the delivery loop itself (logged here), not of a failed send.
    on_loop_failure: Callable[[], None] = lambda: None
    wake_event: asyncio.Event = field(default_factory=asyncio.Event)

    def wake(self) -> None:
        self.wake_event.set()

    async def run(self, idle: float = 1.0) -> None:
        while True:
            self.wake_event.clear()
            try:
                sent = await self.deliver_one()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.on_loop_failure()
                log.exception("delivery loop failed; retrying")
                await asyncio.sleep(1)
                continue
            if not sent:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake_event.wait(), timeout=idle)

    async def deliver_one(self) -> bool:
        """Send the oldest due delivery, if any; True if there was one."""
        now = self.clock()
        async with self.sessionmaker() as session:
            async with session.begin():
                row = await self._lock_due(session, now)
                if row is None:
                    return False
                interrupted = list(
                    (
                        await session.execute(
                            sa.select(db.attempts.c.id).where(
                                db.attempts.c.delivery_id == row["id"]
                            )
                        )
                    ).scalars()
                )
                send = self._prepare(row)
                self.crash.reached("locked")
                attempt = await self._start_attempt(row["id"], now)
                self.crash.reached("started")
                in_doubt = len(interrupted)
                try:
                    await send()
                except SendFailed as err:
                    in_doubt += isinstance(err, InDoubt)
                    await self._failed(session, row, in_doubt, err)
                else:
                    self.crash.reached("taken")
                    await self._sent(session, row, in_doubt)
                await session.execute(
                    sa.delete(db.attempts).where(db.attempts.c.id.in_([*interrupted, attempt]))
                )
            self.crash.reached("recorded")
        if in_doubt:
            self.observe_in_doubt(row["channel"], in_doubt)
        return True

    async def _lock_due(self, session: AsyncSession, now: dt.datetime) -> Any:
        result = await session.execute(
            sa.select(db.deliveries)
            .where(db.deliveries.c.status == "pending", db.deliveries.c.next_attempt_at <= now)
            .order_by(db.deliveries.c.next_attempt_at, db.deliveries.c.id)
            .limit(1)
            .with_for_update(skip_locked=True, key_share=True)
        )
        return result.mappings().first()

    async def _start_attempt(self, delivery_id: int, now: dt.datetime) -> int:
        """Committed before the delivery leaves, so a crash during the send is seen later."""
        async with self.sessionmaker() as session, session.begin():
            attempt: int = (
                await session.execute(
                    sa.insert(db.attempts)
                    .values(delivery_id=delivery_id, started_at=now)
                    .returning(db.attempts.c.id)
                )
            ).scalar_one()
        return attempt

    def _prepare(self, row: Any) -> Callable[[], Awaitable[None]]:
        """The send of `row`, everything that cannot reach the recipient done beforehand."""
        if row["channel"] == "email":
            message = email_message(
                sender=self.config.sender,
                recipient=row["recipient"],
                message_id=row["message_id"],
                rendered=Rendered(row["subject"], row["body_text"], row["body_html"]),
            ).as_bytes()
            return partial(self.mail.send, self.config.sender, row["recipient"], message)
        body: bytes = row["body"]
        headers = {
            "Content-Type": "application/json",
            "X-Signature": domain.webhook_signature(self.config.webhook_secret, body),
        }
        return partial(self._post, row["recipient"], body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> None:
        try:
            answer = await self.http.post(url, content=body, headers=headers)
            answer.raise_for_status()
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.HTTPStatusError) as err:
            raise NotTaken(str(err)) from err
        except httpx.HTTPError as err:
            raise InDoubt(str(err) or type(err).__name__) from err

    async def _sent(self, session: AsyncSession, row: Any, in_doubt: int) -> None:
        now = self.clock()
        await self._mark(
            session,
            row,
            in_doubt,
            status="sent",
            sent_at=now,
            attempts=row["attempts"] + in_doubt + 1,
        )
        outcome = "sent" if row["channel"] == "email" else "delivered"
        self.observe(
            row["channel"], row["kind"], outcome, (now - row["created_at"]).total_seconds()
        )

    async def _failed(
        self, session: AsyncSession, row: Any, in_doubt: int, err: SendFailed
    ) -> None:
        """`in_doubt` counts this attempt too when the recipient may have it."""
        doubt = isinstance(err, InDoubt)
        attempts = row["attempts"] + in_doubt + (not doubt)
        dead = row["channel"] == "webhook" and attempts >= self.config.webhook_max_attempts
        log.warning(
            "delivery %s to %s failed (attempt %d%s): %s",
            row["id"],
            row["recipient"],
            attempts,
            ", it may have arrived" if doubt else "",
            err,
        )
        await self._mark(
            session,
            row,
            in_doubt,
            status="dead" if dead else "pending",
            attempts=attempts,
            last_error=f"{'SMTP' if row['channel'] == 'email' else 'webhook'}: {err}"[:1000],
            next_attempt_at=self.clock()
            + domain.retry_delay(attempts, self.config.retry_cap_seconds),
        )
        self.observe(row["channel"], row["kind"], "dead" if dead else "failed", 0.0)

    async def _mark(self, session: AsyncSession, row: Any, in_doubt: int, **values: Any) -> None:
        """Record an attempt's outcome and the attempts in doubt it discovered or left."""
        await session.execute(
            sa.update(db.deliveries)
            .where(db.deliveries.c.id == row["id"])
            .values(attempts_in_doubt=row["attempts_in_doubt"] + in_doubt, **values)
        )
