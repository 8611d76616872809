"""Works through the delivery ledger: every due delivery sent, none ever lost.

Never lost comes first: a delivery is recorded `sent` only after the SMTP server (or the
portal) has taken it. Until then its fate is unknown, and the sender keeps that visible. A
sender takes the due deliveries a batch at a time:

1. In a transaction held for the whole batch, it locks up to `batch` due delivery rows
   (`FOR NO KEY UPDATE SKIP LOCKED`), and the rest of a notice the limit cut: no other
   sender, in this process or another, takes them meanwhile. The senders of one process take
   their rows one at a time, so that they do not split a notice between them; senders of two
   processes may, and then each sends its part under the same Message-ID.
2. It sends the recipients of one notice together: rows with the same Message-ID and
   content go out as one mail in one SMTP transaction, one RCPT per recipient (a webhook goes
   alone). For each such mail in turn, on a connection that commits every statement at once,
   it records an attempt per delivery (`delivery_attempts`, one statement) before the first
   byte leaves, sends, and records the attempts `taken` as soon as the server has the mail
   (a recipient the server refused does not have it: its delivery is retried).
3. It records every outcome and deletes the attempts in the held transaction, in a few
   statements for the whole batch.

A crash rolls the held transaction back: the rows are free and still `pending`, and their
attempt rows stay behind. The sender that locks a delivery next reads them. An attempt
`taken` says the recipient has it: the delivery is recorded sent, not sent again. An attempt
not taken may or may not have arrived: the delivery is sent again, under the same Message-ID
(mail clients show one message), and the attempt is counted in the delivery's
`attempts_in_doubt` and in `notify_deliveries_resent_total`. A connection lost while the
server was taking the message (`InDoubt`) is counted the same way. That is the only way a
second copy can arise, at most one per crash: a row locked by a live sender is skipped, and a
`sent` row is never picked again.

Each sender works one channel: emails and webhooks have senders of their own, so a portal
that answers slowly never holds up a mail. A failed send ends the batch (the server is likely
down or slow; the rest go back to the queue at once). Emails are retried with backoff until
they go (a mail is never given up); a webhook is marked `dead` after its last attempt, and
staff can retry either from the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import asyncpg
import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.notify import db, domain, ledger_db
from services.notify.faults import CrashPoint
from services.notify.render import Rendered, email_message
from services.notify.smtp import InDoubt, MailTransport, NotTaken, SendFailed
from shared.db import driver_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Outcome:
    row: Any
    in_doubt: int
    """Attempts in doubt: those a crash left unknown, and this one if the connection was lost
    while the server was taking it."""
    error: SendFailed | None = None


@dataclass
class SenderConfig:
    sender: str
    webhook_secret: str
    webhook_max_attempts: int = 8
    retry_cap_seconds: float = 300.0
    batch: int = 20


@dataclass
class Sender:
    sessionmaker: async_sessionmaker[AsyncSession]
    mail: MailTransport
    http: httpx.AsyncClient
    config: SenderConfig
    clock: Callable[[], dt.datetime]
    channel: str = "email"
    observe: Callable[[str, str, str, float], None] = lambda channel, kind, outcome, s: None
    # Called with (channel, n) once the ledger counts n more attempts in doubt.
    observe_in_doubt: Callable[[str, int], None] = lambda channel, n: None
    crash: CrashPoint = field(default_factory=CrashPoint)
    # Told of each failure of the delivery loop itself (logged here), not of a failed send.
    on_loop_failure: Callable[[], None] = lambda: None
    wake_event: asyncio.Event = field(default_factory=asyncio.Event)
    # Shared by the senders of one process: one takes its rows at a time, so two senders woken
    # by the same commit do not split a notice's rows between them (SKIP LOCKED would let
    # each lock some of them as they race down the queue).
    claiming: asyncio.Lock = field(default_factory=asyncio.Lock)

    def wake(self) -> None:
        self.wake_event.set()

    async def run(self, idle: float = 1.0) -> None:
        while True:
            self.wake_event.clear()
            try:
                taken = await self.deliver_batch()
            except asyncio.CancelledError:
                raise
            except Exception:
                self.on_loop_failure()
                log.exception("delivery loop failed; retrying")
                await asyncio.sleep(1)
                continue
            if not taken:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake_event.wait(), timeout=idle)

    async def deliver_batch(self) -> int:
        """Send up to `config.batch` of the oldest due deliveries; how many were taken."""
        now = self.clock()
        outcomes: list[_Outcome] = []
        async with self.sessionmaker() as session:
            async with session.begin():
                async with self.claiming:
                    rows = await ledger_db.lock_due(
                        session, channel=self.channel, now=now, limit=self.config.batch
                    )
                if not rows:
                    return 0
                left = await ledger_db.interrupted(session, [r["id"] for r in rows])
                self.crash.reached("locked")
                async with self._autocommit() as marks:
                    for group in _one_mail_each(rows):
                        done = await self._attempt(marks, group, left, now)
                        outcomes += done
                        if any(o.error is not None for o in done):
                            break
                await self._record(session, outcomes)
            self.crash.reached("recorded")
        for o in outcomes:
            if o.in_doubt:
                self.observe_in_doubt(o.row["channel"], o.in_doubt)
        return len(outcomes)

    @contextlib.asynccontextmanager
    async def _autocommit(self) -> AsyncIterator[asyncpg.Connection]:
        """A pooled connection's driver, used outside any transaction: each statement on it
        commits as it runs."""
        engine = self.sessionmaker.kw["bind"]
        async with engine.connect() as conn:
            yield driver_of(await conn.get_raw_connection())

    async def _attempt(
        self,
        marks: asyncpg.Connection,
        rows: list[Any],
        interrupted: dict[int, list[dt.datetime | None]],
        now: dt.datetime,
    ) -> list[_Outcome]:
        """One mail to the recipients of `rows` (or one webhook call): for each delivery,
        sent, or known sent by an interrupted attempt, or failed."""
        outcomes: list[_Outcome] = []
        to_send: list[tuple[Any, int]] = []
        for row in rows:
            left = interrupted.get(row["id"], [])
            in_doubt = sum(1 for taken in left if taken is None)
            if len(left) > in_doubt:
                # An earlier sender's attempt was taken before it could record it: the
                # recipient has it; sending again would make a copy.
                outcomes.append(_Outcome(row, in_doubt))
            else:
                to_send.append((row, in_doubt))
        if not to_send:
            return outcomes
        send = self._prepare([row for row, _ in to_send])
        started = await ledger_db.start_attempts(marks, [row["id"] for row, _ in to_send], at=now)
        self.crash.reached("started")
        try:
            refused = await send()
        except SendFailed as err:
            doubt = isinstance(err, InDoubt)
            return outcomes + [_Outcome(row, n + doubt, err) for row, n in to_send]
        self.crash.reached("taken")
        taken = [(row, n) for row, n in to_send if row["recipient"] not in refused]
        await ledger_db.mark_taken(marks, [started[row["id"]] for row, _ in taken], at=self.clock())
        outcomes += [_Outcome(row, n) for row, n in taken]
        outcomes += [
            _Outcome(row, n, NotTaken(refused[row["recipient"]]))
            for row, n in to_send
            if row["recipient"] in refused
        ]
        return outcomes

    async def _record(self, session: AsyncSession, outcomes: list[_Outcome]) -> None:
        """Every outcome of the batch, and its attempts forgotten, in the held transaction."""
        now = self.clock()
        sent = [o for o in outcomes if o.error is None]
        await ledger_db.record_sent(session, [(o.row["id"], o.in_doubt) for o in sent], at=now)
        for o in sent:
            outcome = "sent" if o.row["channel"] == "email" else "delivered"
            waited = (now - o.row["created_at"]).total_seconds()
            self.observe(o.row["channel"], o.row["kind"], outcome, waited)
        for o in outcomes:
            if o.error is not None:
                await self._failed(session, o.row, o.in_doubt, o.error)
        await ledger_db.forget_attempts(session, [o.row["id"] for o in outcomes])

    def _prepare(self, rows: list[Any]) -> Callable[[], Awaitable[dict[str, str]]]:
        """The send of `rows` (one mail, or one webhook call), everything that cannot reach a
        recipient done beforehand; the send returns the recipients the server refused."""
        row = rows[0]
        if row["channel"] == "email":
            recipients = [r["recipient"] for r in rows]
            message = email_message(
                sender=self.config.sender,
                recipients=recipients,
                message_id=row["message_id"],
                rendered=Rendered(row["subject"], row["body_text"], row["body_html"]),
            )
            return partial(self.mail.send, self.config.sender, recipients, message)
        body: bytes = row["body"]
        headers = {
            "Content-Type": "application/json",
            "X-Signature": domain.webhook_signature(self.config.webhook_secret, body),
        }
        return partial(self._post, row["recipient"], body, headers)

    async def _post(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        try:
            answer = await self.http.post(url, content=body, headers=headers)
            answer.raise_for_status()
            return {}
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.HTTPStatusError) as err:
            raise NotTaken(str(err)) from err
        except httpx.HTTPError as err:
            raise InDoubt(str(err) or type(err).__name__) from err

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
        await ledger_db.record_failed(
            session,
            row["id"],
            attempts_in_doubt=row["attempts_in_doubt"] + in_doubt,
            status=db.DEAD if dead else db.PENDING,
            attempts=attempts,
            last_error=f"{'SMTP' if row['channel'] == 'email' else 'webhook'}: {err}"[:1000],
            next_attempt_at=self.clock()
            + domain.retry_delay(attempts, self.config.retry_cap_seconds),
        )
        self.observe(row["channel"], row["kind"], "dead" if dead else "failed", 0.0)


def _one_mail_each(rows: list[Any]) -> list[list[Any]]:
    """The rows in sends: the emails of one notice (same Message-ID and content) together,
    in the order of their first row; each webhook alone."""
    sends: dict[Any, list[Any]] = {}
    for row in rows:
        if row["channel"] == "email":
            key: Any = (row["message_id"], row["subject"], row["body_text"], row["body_html"])
        else:
            key = ("webhook", row["id"])
        sends.setdefault(key, []).append(row)
    return list(sends.values())
