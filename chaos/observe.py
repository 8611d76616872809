"""What a chaos run sees from the outside: the status topic, a portal's webhook, the mail.

Nothing here reads a service's tables except the verdict's budget check: a treasury's
auditor would read the same topic, the same endpoint and the same mailbox.
"""

from __future__ import annotations

import asyncio
import email.policy
import os
import re
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import orjson
from aiohttp import ClientSession
from aiokafka import AIOKafkaConsumer

from stack.apps import answers
from stack.procs import ManagedProcess, wait_until

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
    """A portal's endpoint (chaos/receiver.py, in a process of its own): answers 500 while
    `failing`, checks every signature; `read()` takes in the calls received since the last."""

    secret: str
    port: int
    folder: Path
    refused: int = 0
    calls: dict[tuple[str, int], list[bool]] = field(default_factory=lambda: defaultdict(list))
    _proc: ManagedProcess | None = None
    _offset: int = 0

    @property
    def _calls_file(self) -> Path:
        return self.folder / "webhook-calls.jsonl"

    async def fail(self, failing: bool) -> None:
        """Answer 500 to every call from now on (True), or take calls again (False)."""
        async with ClientSession() as session:
            url = f"http://127.0.0.1:{self.port}/failing"
            async with session.put(url, data="1" if failing else "0") as answer:
                answer.raise_for_status()

    def _start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._calls_file.write_bytes(b"")
        self._proc = ManagedProcess(
            name="webhook receiver",
            argv=[sys.executable, "-m", "chaos.receiver", str(self.port), str(self._calls_file)],
            log=self.folder / "webhook.log",
            env={**os.environ, "CHAOS_WEBHOOK_SECRET": self.secret},
        )
        # Foreground: it dies with the run, however the run ends.
        self._proc.start(foreground=True)
        wait_until(
            lambda: answers(f"http://127.0.0.1:{self.port}/healthz"),
            timeout=60,
            proc=self._proc,
            what=f"The webhook receiver on port {self.port}",
        )

    async def start(self) -> None:
        await asyncio.to_thread(self._start)

    def read(self) -> None:
        """Take in the whole lines written since the last read."""
        if self._proc is not None:
            self._proc.check_alive()
        with self._calls_file.open("rb") as fh:
            fh.seek(self._offset)
            data = fh.read()
        whole = data[: data.rfind(b"\n") + 1]
        self._offset += len(whole)
        for line in whole.splitlines():
            call = orjson.loads(line)
            if call.get("refused"):
                self.refused += 1
            else:
                self.calls[(call["dossier_id"], call["sequence"])].append(call["verified"])

    async def stop(self) -> None:
        if self._proc is not None:
            await asyncio.to_thread(self._proc.stop)

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
                subject = str(message["Subject"] or "")
                # One notice goes to all its recipients in one mail: each envelope recipient
                # (the sink's X-RcptTo) is one delivery.
                to = str(message["X-RcptTo"] or message["To"] or "")
                recipients = [a.strip().lower() for a in to.split(",") if a.strip()]
                found = _NOTICE.search(subject)
                if found:
                    dossier, status = found[1], found[2]
                elif approved := _APPROVED.search(subject):
                    dossier, status = approved[1], "approved"
                else:
                    self.staff += len(recipients)
                    continue
                for recipient in recipients:
                    self.notices[(dossier, status, recipient)].append(str(message["Message-ID"]))

    async def read_off_loop(self) -> None:
        await asyncio.to_thread(self.read)
