"""Composition root of the notify service: `build(settings)` wires everything."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi import FastAPI

from services.notify import api, db, domain, handlers, ledger_db, stream
from services.notify.config import NotifySettings
from services.notify.faults import CrashPoint
from services.notify.metrics import NotifyMetrics
from services.notify.render import Renderer
from services.notify.sender import Sender, SenderConfig
from services.notify.smtp import MailTransport
from shared.clock import utc_now
from shared.logging import configure_logging
from shared.service import Runtime, build_runtime, make_api, serve

log = logging.getLogger(__name__)


def load_offices(path: Path | None) -> domain.TreasuryDirectory:
    if path is None:
        log.warning("TREASURY_DIRECTORY is not set: no email will go to treasury staff")
        return domain.TreasuryDirectory()
    try:
        return domain.TreasuryDirectory.model_validate_json(path.read_bytes())
    except (OSError, ValueError) as err:
        raise SystemExit(f"TREASURY_DIRECTORY {path} cannot be used: {err}") from None


async def _watch(
    runtime: Runtime, deps: handlers.Deps, metrics: NotifyMetrics, wake: Callable[[], None]
) -> None:
    """Deadline warnings, digests and the pending-deliveries gauge, every few seconds."""
    while True:
        try:
            async with runtime.sessionmaker() as session, session.begin():
                created = await handlers.scan_deadlines(session, deps=deps)
                created += await handlers.send_digests(session, deps=deps)
            if created:
                wake()
            async with runtime.sessionmaker() as session:
                counts = await ledger_db.pending_by_channel(session)
                metrics.awaiting_unit.set(await db.awaiting_count(session))
            for channel in ("email", "webhook"):
                metrics.pending.labels(channel).set(counts.get(channel, 0))
        except Exception:
            runtime.failed("deadline_scan")
            log.exception("deadline and digest scan failed")
        await asyncio.sleep(5)


def build(settings: NotifySettings, *, clock: Callable[[], dt.datetime] = utc_now) -> FastAPI:
    runtime = build_runtime("notify", settings, db.messaging)
    metrics = NotifyMetrics(runtime.registry)
    http = httpx.AsyncClient(timeout=10.0)
    config = SenderConfig(
        sender=settings.smtp_from,
        webhook_secret=settings.webhook_secret,
        webhook_max_attempts=settings.webhook_max_attempts,
        retry_cap_seconds=settings.retry_max_seconds,
        batch=settings.notify_send_batch,
    )
    crash = CrashPoint.parse(settings.notify_fault)
    # Several senders share the ledger (SKIP LOCKED): each email sender with its own SMTP
    # connection, and webhook senders of their own, so a slow portal never holds up a mail.
    lanes = ["email"] * settings.notify_senders + ["webhook"] * settings.notify_webhook_senders
    claiming = asyncio.Lock()
    senders = [
        Sender(
            sessionmaker=runtime.sessionmaker,
            mail=MailTransport(settings.smtp_host, settings.smtp_port),
            http=http,
            config=config,
            clock=clock,
            channel=channel,
            observe=metrics.observe,
            observe_in_doubt=metrics.observe_in_doubt,
            crash=crash,
            on_loop_failure=lambda: runtime.failed("delivery"),
            claiming=claiming,
        )
        for channel in lanes
    ]

    def wake_all() -> None:
        for each in senders:
            each.wake()

    deps = handlers.Deps(
        renderer=Renderer(),
        offices=load_offices(settings.treasury_directory),
        webhooks=settings.webhook_urls(),
        clock=clock,
        warn=dt.timedelta(minutes=settings.deadline_warning_minutes),
        digest_at=settings.digest_at(),
    )
    # Deliveries a batch writes wake the senders once it has committed.
    stream.wire(runtime, settings, deps, wake=wake_all)
    for each in senders:
        runtime.background(each.run)
    runtime.background(lambda: _watch(runtime, deps, metrics, wake_all))
    runtime.background(lambda: _close_on_exit(http))
    return make_api(
        runtime,
        title="Notify service",
        description="Emails to units and treasury staff, deadline alerts, portal webhooks.",
        routers=[api.router(runtime, wake_all, clock)],
    )


async def _close_on_exit(http: httpx.AsyncClient) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        with contextlib.suppress(Exception):
            await http.aclose()


def main() -> None:
    settings = NotifySettings()
    configure_logging(service="notify", level=settings.log_level, fmt=settings.log_format)
    serve(build(settings), port=settings.notify_port, host=settings.listen_host)
