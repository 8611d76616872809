"""Works through the delivery ledger: each due delivery sent once, failures retried later.

Emails are retried with backoff until they go (a mail is never given up); a webhook is
marked `dead` after its last attempt, and staff can retry either from the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiosmtplib
import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify import db, domain
from services.notify.render import Rendered, email_message
from services.notify.smtp import MailTransport

log = logging.getLogger(__name__)
SMTP_FAILURES = (aiosmtplib.SMTPException, OSError, TimeoutError)


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
                row = (
                    (
                        await session.execute(
                            sa.select(db.deliveries)
                            .where(
                                db.deliveries.c.status == "pending",
                                db.deliveries.c.next_attempt_at <= now,
                            )
                            .order_by(db.deliveries.c.next_attempt_at, db.deliveries.c.id)
                            .limit(1)
                            .with_for_update(skip_locked=True)
                        )
                    )
                    .mappings()
                    .first()
                )
                if row is None:
                    return False
                if row["channel"] == "email":
                    staged = await self._stage_email(session, row, now)
                else:
                    staged = False
                    await self._webhook(session, row, now)
            if staged:
                await self._complete_email(session, row)
        return True

    async def _stage_email(self, session: AsyncSession, row: Any, now: dt.datetime) -> bool:
        message = email_message(
            sender=self.config.sender,
            recipient=row["recipient"],
            message_id=row["message_id"],
            rendered=Rendered(row["subject"], row["body_text"], row["body_html"]),
        )
        try:
            await self.mail.stage(self.config.sender, row["recipient"], message.as_bytes())
        except SMTP_FAILURES as err:
            await self.mail.reset()
            await self._failed(session, row, now, f"SMTP: {err}", dead=False)
            return False
        await self._mark(
            session, row["id"], status="sent", sent_at=now, attempts=row["attempts"] + 1
        )
        return True

    async def _complete_email(self, session: AsyncSession, row: Any) -> None:
        """After "sent" is committed: end the message. If the server refuses it, it is pending
        again (the server did not take it)."""
        try:
            await self.mail.complete()
        except SMTP_FAILURES as err:
            await self.mail.reset()
            async with session.begin():
                await self._failed(
                    session, row, self.clock(), f"SMTP at end of data: {err}", dead=False
                )
            return
        seconds = (self.clock() - row["created_at"]).total_seconds()
        self.observe("email", row["kind"], "sent", seconds)

    async def _webhook(self, session: AsyncSession, row: Any, now: dt.datetime) -> None:
        body: bytes = row["body"]
        headers = {
            "Content-Type": "application/json",
            "X-Signature": domain.webhook_signature(self.config.webhook_secret, body),
        }
        try:
            answer = await self.http.post(row["recipient"], content=body, headers=headers)
            answer.raise_for_status()
        except httpx.HTTPError as err:
            dead = row["attempts"] + 1 >= self.config.webhook_max_attempts
            await self._failed(session, row, now, f"webhook: {err}", dead=dead)
            return
        await self._mark(
            session, row["id"], status="sent", sent_at=now, attempts=row["attempts"] + 1
        )
        self.observe("webhook", row["kind"], "delivered", (now - row["created_at"]).total_seconds())

    async def _failed(
        self, session: AsyncSession, row: Any, now: dt.datetime, error: str, *, dead: bool
    ) -> None:
        attempts = row["attempts"] + 1
        log.warning(
            "delivery %s to %s failed (attempt %d): %s",
            row["id"],
            row["recipient"],
            attempts,
            error,
        )
        await self._mark(
            session,
            row["id"],
            status="dead" if dead else "pending",
            attempts=attempts,
            last_error=error[:1000],
            next_attempt_at=now + domain.retry_delay(attempts, self.config.retry_cap_seconds),
        )
        outcome = "dead" if dead else "failed"
        self.observe(row["channel"], row["kind"], outcome, 0.0)

    async def _mark(self, session: AsyncSession, delivery_id: int, **values: Any) -> None:
        await session.execute(
            sa.update(db.deliveries).where(db.deliveries.c.id == delivery_id).values(**values)
        )
