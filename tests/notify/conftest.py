"""The notify service as a real process, with its own SMTP server and a webhook receiver."""

from __future__ import annotations

import copy
import datetime as dt
import email
import email.policy
import json
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from aiohttp import web

from services.notify import domain
from shared.contract import StatusChanged, encode, make_envelope
from shared.contract.directory import EVENT_TYPE, DirectoryEntry, DirectorySigner
from shared.db import libpq_url
from stack.procs import ManagedProcess, wait_until
from stack.runner import Endpoints, smtp_answers, smtp_sink
from tests.support import Namespace, Producer, ServiceProcess, free_port, poll, service_env

WEBHOOK_SECRET = "portal-webhook-secret"
OFFICE = "0011"
STAFF = ("ksv1.0011@kbnn.gov.vn", "ksv2.0011@kbnn.gov.vn")


def as_delivered(message: EmailMessage) -> list[EmailMessage]:
    """What each recipient's mailbox got: one copy per envelope recipient (the sink's
    `X-RcptTo`), each with `Delivered-To`. Notify sends one notice to all its recipients in one
    SMTP transaction, so one file in the sink is as many deliveries as it has recipients."""
    recipients = [a.strip() for a in str(message.get("X-RcptTo", "")).split(",") if a.strip()]
    copies = [message] + [copy.deepcopy(message) for _ in recipients[1:]]
    for each, recipient in zip(copies, recipients or [str(message["To"])], strict=True):
        each["Delivered-To"] = recipient
    return copies


class Mailbox:
    """The messages of one maildir, read incrementally: each look parses only the files
    that arrived since the last one (the SMTP server renames each into `new/` whole)."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self._read: set[str] = set()
        self._messages: list[EmailMessage] = []

    def messages(self) -> list[EmailMessage]:
        for sub in ("new", "cur"):
            folder = self.maildir / sub
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                name = entry.name.split(":", 1)[0]
                if name in self._read:
                    continue
                message = email.message_from_bytes(
                    Path(entry.path).read_bytes(), policy=email.policy.default
                )
                assert isinstance(message, EmailMessage)
                self._read.add(name)
                self._messages += as_delivered(message)
        return self._messages

    def by_message_id(self) -> dict[str, list[EmailMessage]]:
        index: dict[str, list[EmailMessage]] = {}
        for m in self.messages():
            index.setdefault(str(m["Message-ID"]), []).append(m)
        return index

    def delivered(self, expected: set[str]) -> dict[str, int]:
        """How many copies of each expected Message-ID arrived."""
        return {k: len(v) for k, v in self.by_message_id().items() if k in expected}

    def report(self, expected: set[str]) -> str:
        """`143 of 150 mails; missing: <…>, …` for a poll that timed out."""
        got = self.delivered(expected)
        missing = sorted(expected - set(got))
        shown = ", ".join(missing[:5]) + (
            f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        )
        return f"{len(got)} of {len(expected)} mails" + (f"; missing: {shown}" if missing else "")


class Sink:
    """A real SMTP server (aiosmtpd, its own process) keeping every message in a maildir.

    Each test reads a mailbox of its own: `open_mailbox()` files away what earlier tests
    received, and mail is read incrementally (each file parsed once), so a test's reads cost
    what it received, not what the module received.
    """

    def __init__(self, root: Path) -> None:
        self.port = free_port()
        self.maildir = root / "mail"
        self.proc = smtp_sink(self.port, self.maildir, root / "smtp.log")
        self._read: dict[str, list[EmailMessage]] = {}
        self._lock = threading.Lock()
        self.mailbox = Mailbox(self.maildir)

    def start(self) -> None:
        self.proc.start(foreground=True)
        wait_until(
            lambda: smtp_answers("127.0.0.1", self.port),
            timeout=60,
            proc=self.proc,
            what="the SMTP sink",
        )

    def stop(self) -> None:
        self.proc.stop()

    def open_mailbox(self) -> None:
        """From now on, `messages()` holds only mail received after this call."""
        with self._lock:
            filed = self.maildir / "filed"
            filed.mkdir(parents=True, exist_ok=True)
            for path in self._new_files():
                path.rename(filed / path.name)
            self._read.clear()

    def _new_files(self) -> list[Path]:
        new = self.maildir / "new"
        return sorted(new.iterdir()) if new.exists() else []

    def messages(self) -> list[EmailMessage]:
        """The mailbox's messages, one per recipient (`as_delivered`); files not seen before
        are parsed now, each once.

        Reads files: call it from a worker thread (`poll` does) while the loop serves."""
        with self._lock:
            for path in self._new_files():
                if path.name not in self._read:
                    message = email.message_from_bytes(
                        path.read_bytes(), policy=email.policy.default
                    )
                    assert isinstance(message, EmailMessage)
                    self._read[path.name] = as_delivered(message)
            return [m for copies in self._read.values() for m in copies]

    def by_message_id(self) -> dict[str, list[EmailMessage]]:
        index: dict[str, list[EmailMessage]] = {}
        for m in self.messages():
            index.setdefault(str(m["Message-ID"]), []).append(m)
        return index


@dataclass
class Receiver:
    """A portal's webhook endpoint that checks every call's signature."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    port: int = field(default_factory=free_port)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        expected = domain.webhook_signature(WEBHOOK_SECRET, body)
        self.calls.append(
            {"verified": request.headers.get("X-Signature") == expected, "body": json.loads(body)}
        )
        return web.Response(status=204)


@dataclass
class Notify:
    stack: Endpoints
    ns: Namespace
    sink: Sink
    service: ServiceProcess
    receiver: Receiver

    async def unit(
        self,
        producer: Producer,
        *,
        recipients: tuple[str, ...] = (),
        signer_emails: bool = True,
        publish: bool = True,
    ) -> DirectoryEntry:
        """A unit of office 0011 published to the unit directory (unless told not to: then
        `publish_unit` publishes it later)."""
        code = f"1{uuid.uuid4().int % 10**6:06d}"
        now = dt.datetime.now(dt.UTC)
        signers = tuple(
            DirectorySigner(
                role=role,
                full_name=name,
                email=f"{role}.{code}@example.vn" if signer_emails else None,
                certificate_serial=uuid.uuid4().hex,
                certificate_pem="-",
                public_key_pem="-",
                not_before=now,
                not_after=now,
            )
            for role, name in (
                ("account_holder", "Nguyễn Văn A"),
                ("chief_accountant", "Trần Thị B"),
            )
        )
        entry = DirectoryEntry(
            unit_code=code,
            name=f"Trường THPT số {code[-2:]}",
            treasury_code=OFFICE,
            chapter="422",
            status="active",
            signers=signers,
            notify_emails=recipients or (f"ketoan.{code}@example.vn",),
            version=1,
            updated_at=now,
        )
        if publish:
            await self.publish_unit(producer, entry)
        return entry

    async def publish_unit(self, producer: Producer, entry: DirectoryEntry) -> None:
        """Publish `entry` to the unit directory and wait until notify holds it."""
        envelope = make_envelope(
            entry.model_dump(mode="json"),
            event_type=EVENT_TYPE,
            event_id=str(uuid.uuid4()),
            occurred_at=entry.updated_at,
            source="test",
        )
        await producer.send(self.ns.topics.units, envelope, entry.unit_code)
        await poll(
            lambda: self.directory_version(entry.unit_code),
            lambda version: version >= entry.version,
            what=f"the notify service to know unit {entry.unit_code} (its directory version)",
        )

    def awaiting(self, dossiers: set[str]) -> int:
        """How many statuses of `dossiers` notify holds until their unit is known."""
        url = self.service.env.get("DATABASE_URL", self.stack.database_url)
        dsn = libpq_url(url)
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM notify.awaiting_unit WHERE dossier_id = ANY(%s)",
                (sorted(dossiers),),
            ).fetchone()
        return int(row[0]) if row else 0

    def directory_version(self, unit_code: str) -> int:
        """The unit's directory version as the notify service holds it (0: unknown)."""
        # The service's own database: a test may give notify one of its own.
        url = self.service.env.get("DATABASE_URL", self.stack.database_url)
        dsn = libpq_url(url)
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT version FROM notify.unit_directory WHERE unit_code = %s", (unit_code,)
            ).fetchone()
        return int(row[0]) if row else 0

    async def status(
        self,
        producer: Producer,
        entry: DirectoryEntry,
        dossier_id: str,
        status: str,
        sequence: int,
        **extra: Any,
    ) -> StatusChanged:
        payload = StatusChanged.model_validate(
            {
                "dossier_id": dossier_id,
                "dossier_kind": "voucher",
                "unit_code": entry.unit_code,
                "status": status,
                "sequence": sequence,
                "decided_by": "system",
                **extra,
            }
        )
        envelope = make_envelope(
            payload,
            event_id=str(uuid.uuid4()),
            occurred_at=dt.datetime.now(dt.UTC),
            source="vouchers",
        )
        await producer.send(self.ns.topics.status, encode(envelope), entry.unit_code)
        return payload


@pytest.fixture(scope="module")
def notify(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Notify]:
    root = tmp_path_factory.mktemp("notify")
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers)
    sink = Sink(root)
    sink.start()
    offices = root / "offices.json"
    offices.write_text(
        json.dumps(
            {
                "offices": [
                    {
                        "treasury_code": OFFICE,
                        "name": "Kho bạc Nhà nước khu vực Lai Châu",
                        "staff": [{"email": e, "role": "controller"} for e in STAFF],
                    }
                ]
            }
        )
    )
    receiver = Receiver()
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_FROM": "thongbao@kbnn.gov.vn",
        "TREASURY_DIRECTORY": str(offices),
        "NOTIFY_PORT": str(port),
        "PORTAL_WEBHOOKS": f"http://127.0.0.1:{receiver.port}/hook",
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "RETRY_MAX_SECONDS": "4",
        "DIGEST_TIME": "23:59",
    }
    service = ServiceProcess("notify", env, root / "notify.log", port)
    service.start(timeout=120)
    yield Notify(stack, ns, sink, service, receiver)
    service.stop()
    sink.stop()


@pytest.fixture(autouse=True)
def mailbox(request: pytest.FixtureRequest) -> None:
    """Each test of the notify service reads a mailbox of its own."""
    if "notify" in request.fixturenames:
        notify: Notify = request.getfixturevalue("notify")
        notify.sink.open_mailbox()


@pytest.fixture
async def webhooks(notify: Notify) -> AsyncIterator[Receiver]:
    app = web.Application()
    app.router.add_post("/hook", notify.receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", notify.receiver.port)
    await site.start()
    yield notify.receiver
    await runner.cleanup()


@pytest.fixture
async def producer(notify: Notify) -> AsyncIterator[Producer]:
    async with Producer(notify.stack.kafka_bootstrap_servers) as p:
        yield p


__all__ = ["ManagedProcess"]
