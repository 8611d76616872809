"""Notify killed (SIGKILL) at every point of a send, over and over, across 600 mails: no mail
is lost, and every second copy is one the ledger and the metric count, under the same
Message-ID as the first.

The process kills itself at a named point of a send (`NOTIFY_FAULT=<point>:<n>`), so the test
knows what each crash interrupted: at `started` the mail had not left (an attempt in doubt
without a copy), at `taken` the server had it (an attempt in doubt with a copy), at `locked`
and `recorded` nothing was in doubt. A crash in the middle of a batch leaves the mails sent
before it known as taken: they are recorded sent, not sent again. One sender, and a database,
topics and mailbox of the test's own, so nothing else passes those points. Three crashes at
each point, then a process left alone sends the rest. The crashing processes never reach a
broker: sending needs only the ledger and the SMTP server.
"""

from __future__ import annotations

import asyncio
import collections
import random
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import URL, make_url

from services.notify import domain
from services.notify.faults import POINTS
from shared.db import libpq_url, sync_url
from shared.migrations import upgrade_all
from stack.apps import service_migrations
from stack.runner import Endpoints
from tests.notify.conftest import OFFICE, Notify, Receiver, Sink
from tests.support import Namespace, Producer, ServiceProcess, free_port, poll, service_env

MAILS = 600
RECIPIENT = "ketoan@example.vn"


class Ledger:
    """The test's own database, with notify's schema migrated."""

    def __init__(self, database_url: str) -> None:
        name = f"notify_crash_{uuid.uuid4().hex[:8]}"
        server = make_url(sync_url(database_url))
        with psycopg.connect(_dsn(server), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.url = server.set(database=name).render_as_string(hide_password=False)
        upgrade_all(self.url, service_migrations(("notify",)))

    def one(self, sql: str) -> tuple[int, ...]:
        with psycopg.connect(_dsn(make_url(self.url))) as conn:
            row = conn.execute(sql).fetchone()
        assert row is not None
        return tuple(int(v or 0) for v in row)

    def count(self, table: str, where: str = "true") -> int:
        return self.one(f"SELECT count(*) FROM notify.{table} WHERE {where}")[0]  # noqa: S608

    def in_doubt(self) -> int:
        return self.one("SELECT sum(attempts_in_doubt) FROM notify.deliveries")[0]

    def per_message_id(self) -> dict[str, int]:
        with psycopg.connect(_dsn(make_url(self.url))) as conn:
            rows = conn.execute(
                "SELECT message_id, attempts_in_doubt FROM notify.deliveries"
            ).fetchall()
        return {str(m): int(n) for m, n in rows}


def _dsn(url: URL) -> str:
    return libpq_url(url.render_as_string(hide_password=False))


def _readyz(service: ServiceProcess) -> str:
    """What the service's /readyz answers: its status code, or the error of the call."""
    try:
        return str(httpx.get(f"{service.url}/readyz", timeout=1).status_code)
    except httpx.HTTPError as err:
        return repr(err)


@pytest.fixture(scope="module")
def bench(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Notify, Ledger]]:
    root = tmp_path_factory.mktemp("notify-crash")
    ns = Namespace()
    ns.create(stack.kafka_bootstrap_servers)
    ledger = Ledger(stack.database_url)
    sink = Sink(root)
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "DATABASE_URL": ledger.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_FROM": "thongbao@kbnn.gov.vn",
        "NOTIFY_PORT": str(port),
        "NOTIFY_SENDERS": "1",
        # Batches of 2: a process passes `locked` and `recorded` often enough to die there, and
        # a crash at `started` or `taken` often leaves the batch's first mail taken before it.
        "NOTIFY_SEND_BATCH": "2",
        "PORTAL_WEBHOOKS": "",
        "RETRY_MAX_SECONDS": "1",
        "DIGEST_TIME": "23:59",
    }
    service = ServiceProcess("notify", env, root / "notify.log", port)
    yield Notify(stack, ns, sink, service, Receiver()), ledger
    service.stop()
    sink.stop()


def _dossier_of(subject: str) -> str:
    return next(w for w in subject.split() if w.startswith(f"CT-{OFFICE}-"))


async def test_notify_killed_at_every_point_of_a_send_loses_no_mail_and_counts_each_copy(
    bench: tuple[Notify, Ledger],
) -> None:
    notify, ledger = bench
    service, mailbox = notify.service, notify.sink.mailbox
    # All the deliveries into the ledger first, the SMTP server not yet up: from then on
    # only the senders run, whatever the consumer group does after each crash.
    service.start()
    async with Producer(notify.stack.kafka_bootstrap_servers) as producer:
        unit = await notify.unit(producer, recipients=(RECIPIENT,), signer_emails=False)
        await poll(
            lambda: ledger.count("unit_directory"),
            lambda units: units > 0,
            what="the unit in notify's directory (how many units it holds)",
        )
        dossiers = [f"CT-{OFFICE}-2026-{n:08d}" for n in range(MAILS)]
        for d in dossiers:
            await notify.status(producer, unit, d, "approved", 2)
    await poll(
        lambda: ledger.count("deliveries") == MAILS,
        within=120,
        what=f"{MAILS} deliveries in the ledger",
        show=lambda _: f"{ledger.count('deliveries')} deliveries",
    )
    service.stop()
    # From here on no broker answers: the senders need only the ledger and the SMTP server,
    # and a restarted process sends without waiting for a consumer group to settle.
    service.env["KAFKA_BOOTSTRAP_SERVERS"] = f"127.0.0.1:{free_port()}"
    # Stopping notify while it retried may have interrupted an attempt, still to be counted
    # in doubt by the sender that takes the delivery next: the count starts above it.
    in_doubt_at_start = ledger.in_doubt() + ledger.count("delivery_attempts")
    notify.sink.start()
    expected = {domain.message_id(domain.notice_group(d, "approved")) for d in dossiers}

    rng = random.Random(1203)
    kills: collections.Counter[str] = collections.Counter()
    while True:
        point = POINTS[sum(kills.values()) % len(POINTS)]
        if all(kills[p] >= 3 for p in POINTS):
            # Three crashes at every point: the last process sends what is left.
            service.env.pop("NOTIFY_FAULT", None)
        else:
            service.env["NOTIFY_FAULT"] = f"{point}:{rng.randint(10, 40)}"
        in_doubt_before = ledger.in_doubt()
        service.start(until=None)
        assert service.proc is not None
        proc = service.proc

        def ended(proc: subprocess.Popen[bytes] = proc) -> bool:
            return proc.poll() is not None or ledger.count("deliveries", "status <> 'sent'") == 0

        await poll(
            ended,
            within=120,
            what=f"a crash at {service.env.get('NOTIFY_FAULT', 'no point')} or every delivery sent",
            show=lambda _: mailbox.report(expected),
        )
        if proc.poll() is None:
            break
        assert proc.returncode == -9, f"notify exited with {proc.returncode}, not by its crash"
        kills[point] += 1
    # Every mail went out with the broker away: the process is alive but not ready.
    service.wait_ready(600, until="/healthz")
    assert _readyz(service) == "503"
    resent_by_last = service.metric("notify_deliveries_resent_total", channel="email")
    service.stop()

    copies = mailbox.delivered(expected)
    assert set(copies) == expected, mailbox.report(expected)
    subjects: dict[str, set[str]] = collections.defaultdict(set)
    for m in mailbox.messages():
        subjects[_dossier_of(str(m["Subject"]))].add(str(m["Message-ID"]))
    assert all(len(ids) == 1 for ids in subjects.values()), "a copy under another Message-ID"
    second_copies = sum(n - 1 for n in copies.values())
    doubt = ledger.per_message_id()
    print(
        f"crashes {dict(kills)}; {len(copies)} of {MAILS} mails; {second_copies} second "
        f"copies; {ledger.in_doubt() - in_doubt_at_start} attempts in doubt on the ledger"
    )
    assert sum(kills.values()) >= 12, kills
    assert all(kills[p] >= 3 for p in POINTS), kills
    # A copy only where the server had the mail when the process died, and each one counted.
    assert second_copies == kills["taken"], (second_copies, kills)
    assert all(copies[m] - 1 <= doubt[m] for m in expected)
    assert ledger.in_doubt() - in_doubt_at_start == kills["started"] + kills["taken"], kills
    assert resent_by_last == ledger.in_doubt() - in_doubt_before
    assert ledger.count("delivery_attempts") == 0


@pytest.mark.parametrize(("point", "copies"), [("started", 1), ("taken", 2)])
async def test_a_crash_in_the_middle_of_a_mail_to_three_leaves_each_one_copy_or_two_counted(
    stack: Endpoints,
    ca_file: Path,
    tmp_path: Path,
    point: str,
    copies: int,
) -> None:
    """A notice's three recipients share one SMTP transaction: killed before it left
    (`started`) or after the server took it (`taken`), the mail goes again to all three,
    under the same Message-ID; each delivery counts the attempt in doubt."""
    ledger = await asyncio.to_thread(Ledger, stack.database_url)
    ns = Namespace()
    await asyncio.to_thread(ns.create, stack.kafka_bootstrap_servers)
    sink = Sink(tmp_path)
    await asyncio.to_thread(sink.start)
    port = free_port()
    env = {
        **service_env(stack, ns, ca_file),
        "DATABASE_URL": ledger.url,
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "NOTIFY_PORT": str(port),
        "NOTIFY_SENDERS": "1",
        # A batch of 2 cuts the notice of 3: the sender takes the rest of it too.
        "NOTIFY_SEND_BATCH": "2",
        "PORTAL_WEBHOOKS": "",
        "RETRY_MAX_SECONDS": "1",
        "DIGEST_TIME": "23:59",
        "NOTIFY_FAULT": f"{point}:1",
    }
    service = ServiceProcess("notify", env, tmp_path / "notify.log", port)
    notify = Notify(stack, ns, sink, service, Receiver())
    try:
        await asyncio.to_thread(service.start)
        async with Producer(stack.kafka_bootstrap_servers) as producer:
            unit = await notify.unit(producer)
            dossier = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
            await notify.status(producer, unit, dossier, "approved", 2)
        proc = service.proc
        assert proc is not None
        await poll(
            lambda: proc.poll(),
            lambda code: code is not None,
            within=120,
            what=f"notify to kill itself at {point} (its exit code)",
        )
        assert proc.returncode == -9
        service.env.pop("NOTIFY_FAULT")
        await asyncio.to_thread(service.start)
        await poll(
            lambda: (ledger.count("deliveries"), ledger.count("deliveries", "status = 'sent'")),
            lambda counts: counts == (3, 3),
            within=120,
            what="the 3 deliveries sent (deliveries, sent)",
        )
    finally:
        service.stop()
        sink.stop()
    mails = sink.messages()
    received = collections.Counter(str(m["Delivered-To"]) for m in mails)
    assert received == {r: copies for r in unit.recipients()}
    assert {str(m["Message-ID"]) for m in mails} == {
        domain.message_id(domain.notice_group(dossier, "approved"))
    }
    assert ledger.one(
        "SELECT min(attempts_in_doubt), max(attempts_in_doubt) FROM notify.deliveries"
    ) == (1, 1)
