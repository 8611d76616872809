"""What a chaos run sees from the outside: the status topic, a portal's webhook, the mail.

Nothing here reads a service's tables except the verdict's budget check: a treasury's
auditor would read the same topic, the same endpoint and the same mailbox.
"""

from __future__ import annotations

import asyncio
import email.policy
import hashlib
import hmac
import re
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiokafka import AIOKafkaConsumer

TERMINAL = frozenset({"rejected", "approved", "refused", "returned"})
_NOTICE = re.compile(r"Result of dossier (\S+): (rejected|returned|refused)")
_APPROVED = re.compile(r"Dossier (\S+) approved")


@dataclass
class StatusLog:
    """Every `status.changed` event, by dossier, read from the beginning of the topic."""

    bootstrap: str
    topic: str
    by_dossier: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    events: int = 0

    async def run(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            async for record in consumer:
                doc = orjson.loads(record.value)
                payload = doc["payload"]
                self.by_dossier[payload["dossier_id"]].append(payload)
                self.events += 1
        finally:
            await consumer.stop()

    def terminal(self, dossier_id: str) -> set[tuple[int, str]]:
        return {
            (e["sequence"], e["status"])
            for e in self.by_dossier.get(dossier_id, [])
            if e["status"] in TERMINAL
        }


@dataclass
class Webhook:
    """A portal's endpoint; answers 500 while `failing`, and checks every signature."""

    secret: str
    port: int
    failing: bool = False
    refused: int = 0
    calls: dict[tuple[str, int], list[bool]] = field(default_factory=lambda: defaultdict(list))
    _runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        try:
            body = await request.read()
        except ConnectionResetError:
            # notify gave up waiting (its timeout) and closed the call: a call that never
            # arrived whole, as a portal would see it. notify counts it in doubt and calls again.
            return web.Response(status=400)
        if self.failing:
            self.refused += 1
            return web.Response(status=500, text="the portal is down")
        digest = hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
        verified = hmac.compare_digest(request.headers.get("X-Signature", ""), f"sha256={digest}")
        doc = orjson.loads(body)
        payload = doc.get("payload", doc)
        self.calls[(payload["dossier_id"], payload["sequence"])].append(verified)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"


@dataclass
class Mailbox:
    """The SMTP sink's maildir, read incrementally: unit notices by (dossier, status, to)."""

    maildir: Path
    seen: set[str] = field(default_factory=set)
    # (dossier, status, recipient) -> the Message-ID of each copy received
    notices: dict[tuple[str, str, str], list[str]] = field(
        default_factory=lambda: defaultdict(list)
    )
    staff: int = 0

    def read(self) -> None:
        parser = BytesParser(policy=email.policy.default)
        for folder in ("new", "cur"):
            directory = self.maildir / folder
            if not directory.is_dir():
                continue
            for path in directory.iterdir():
                if path.name in self.seen:
                    continue
                self.seen.add(path.name)
                with path.open("rb") as fh:
                    message = parser.parse(fh, headersonly=True)
                subject, to = str(message["Subject"] or ""), str(message["To"] or "")
                found = _NOTICE.search(subject)
                if found:
                    key = (found[1], found[2], to.lower())
                elif approved := _APPROVED.search(subject):
                    key = (approved[1], "approved", to.lower())
                else:
                    self.staff += 1
                    continue
                self.notices[key].append(str(message["Message-ID"]))

    async def read_off_loop(self) -> None:
        await asyncio.to_thread(self.read)
