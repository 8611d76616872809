"""The demo workload of `make run`: units register, budgets arrive, vouchers flow; then a
project's investment capital (`demo_investment`).

A realistic mix: mostly valid vouchers, some rejected at intake, returned for additions,
refused by spending control, held for an officer (whom the demo plays, through the staff API),
and advances later settled. It reports what happened and how fast.

So that every panel of the dashboard has something to show, it also sends one message that
is not JSON (a dead letter), and leaves one voucher in review with its deadline brought
forward to 90 minutes from now (a deadline at risk, and the staff's warning email).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import psycopg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from shared.auth import issue_staff_token
from shared.contract import (
    Envelope,
    PaymentMethod,
    ReasonCode,
    SpendingType,
    encode,
)
from shared.db import sync_url
from shared.settings import TopicSettings
from stack.demo_investment import run_scenario
from testkit import CASH_ECONOMIC_CODES, Testbed, UnitKit, invalid_voucher

OFFICES = {
    "0011": "Kho bạc Nhà nước khu vực Lai Châu",
    "0012": "Kho bạc Nhà nước khu vực Hà Nội",
    "0013": "Kho bạc Nhà nước khu vực TP. Hồ Chí Minh",
}
TERMINAL = {"rejected", "approved", "refused", "returned"}
# A submission cut short: not JSON, so it goes to the dead-letter topic.
NOT_JSON = b'{"event_id": "demo-cut-short", "event_type": "voucher.submitted", "payload": {'
# Who to sign in as in the workspace after `make run`.
DEMO_OFFICER = "kiemsoat.0011@kbnn.gov.vn"
# The workload's mix: each kind up to its cumulative share of the vouchers. The first vouchers
# take each kind once, so that every outcome shows in a demo of any size and any seed.
MIX = (
    (0.05, "intake_fault"),  # rejected at intake
    (0.08, "no_contract"),  # returned: above 50,000,000 VND a contract is required
    (0.10, "cash_not_allowed"),  # refused: an item that may not be paid in cash
    (0.13, "held"),  # at or above 1 billion VND: held for an officer
    (0.18, "advance"),  # approved, then settled
    (0.22, "cash"),  # approved: payments to individuals in cash
    (1.00, "plain"),  # approved
)
INTAKE_FAULTS = (
    ReasonCode.TOTAL_MISMATCH,
    ReasonCode.PAYEE_MISSING,
    ReasonCode.SIGNATURE_INVALID,
    ReasonCode.CERTIFICATE_INVALID,
    ReasonCode.CODE_INVALID,
)


def offices_document() -> dict[str, Any]:
    return {
        "offices": [
            {
                "treasury_code": code,
                "name": name,
                "staff": [
                    {"email": f"kiemsoat.{code}@kbnn.gov.vn", "role": "controller"},
                    {"email": f"lanhdao.{code}@kbnn.gov.vn", "role": "head"},
                    {"email": f"vanhanh.{code}@kbnn.gov.vn", "role": "ops"},
                ],
            }
            for code, name in OFFICES.items()
        ]
    }


@dataclass
class Endpoints:
    bootstrap: str
    database_url: str
    topics: TopicSettings
    registration_url: str
    control_url: str
    staff_secret: str
    approval: str


@dataclass
class Summary:
    submitted: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    reviewed: int = 0
    kept_in_review: str | None = None
    seconds: float = 0.0
    investment: Table | None = None

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def table(self) -> Table:
        table = Table(title=f"Demo: {self.submitted} vouchers", show_header=True)
        table.add_column("final status")
        table.add_column("count", justify="right")
        table.add_column("reasons")
        for status, count in self.statuses.most_common():
            reasons = ", ".join(
                f"{code} {n}"
                for code, n in self.reasons.most_common()
                if code.startswith(f"{status}:")
            ).replace(f"{status}:", "")
            table.add_row(status, str(count), reasons)
        return table

    def lines(self) -> list[str]:
        rate = sum(self.statuses.values()) / self.seconds if self.seconds else 0.0
        return [
            f"Throughput: {rate:.0f} vouchers/s to a final status ({self.seconds:.1f} s in all).",
            f"Latency from submission to final status, decided without an officer: "
            f"p50 {self.percentile(0.5) * 1000:.0f} ms, p95 {self.percentile(0.95) * 1000:.0f} ms, "
            f"p99 {self.percentile(0.99) * 1000:.0f} ms ({len(self.latencies)} vouchers).",
            f"Held for an officer and decided by the demo's officer: {self.reviewed}.",
            f"Left in review, deadline within 2 hours (for the dashboard): {self.kept_in_review}.",
            "One message that is not JSON went to the dead-letter topic: `dvc deadletters list`.",
        ]


class StatusWatch:
    """Reads the status topic in the background and remembers each dossier's events."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.arrived: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._read())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self._consumer.stop()

    async def _read(self) -> None:
        async for record in self._consumer:
            payload = orjson.loads(record.value).get("payload", {})
            dossier = payload.get("dossier_id")
            if isinstance(dossier, str):
                self.events.setdefault(dossier, []).append(payload)
                if payload.get("status") in TERMINAL:
                    self.arrived.setdefault(dossier, time.monotonic())

    def final(self, dossier: str) -> dict[str, Any] | None:
        for event in self.events.get(dossier, []):
            if event["status"] in TERMINAL:
                return event
        return None

    def has(self, dossier: str, status: str) -> bool:
        return any(e["status"] == status for e in self.events.get(dossier, []))


async def _wait(count: Callable[[], int], target: int, within: float, what: str) -> None:
    """Wait until `count()` reaches `target`; fail saying how far it got."""
    deadline = time.monotonic() + within
    while (seen := count()) < target:
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"demo: after {within:.0f} s, still waiting for {what}: {seen} of {target}"
            )
        await asyncio.sleep(0.2)


class Demo:
    def __init__(self, bed: Testbed, endpoints: Endpoints, console: Console) -> None:
        self.bed, self.at, self.console = bed, endpoints, console
        self.rng = random.Random(bed.seed)  # noqa: S311 - a workload mix, not a secret
        self.units: list[UnitKit] = []
        self.project = bed.unit(treasury_code="0011", project=True)

    def _token(self, office: str, role: str = "controller") -> dict[str, str]:
        token = issue_staff_token(
            secret=self.at.staff_secret,
            sub=f"demo.{role}.{office}",
            role=role,
            treasury_code=office,
            now=dt.datetime.now(dt.UTC),
            ttl=dt.timedelta(hours=8),
        )
        return {"Authorization": f"Bearer {token}"}

    async def _send(
        self,
        producer: AIOKafkaProducer,
        topic: str,
        messages: Iterable[tuple[Envelope | bytes, str]],
    ) -> None:
        pending = [
            await producer.send(topic, m if isinstance(m, bytes) else encode(m), key=key.encode())
            for m, key in messages
        ]
        await asyncio.gather(*pending)

    def _directory_size(self) -> int:
        dsn = sync_url(self.at.database_url).replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn) as conn:
            row = conn.execute(
                "SELECT count(*) FROM vouchers.unit_directory WHERE unit_code = ANY(%s)",
                ([u.code for u in [*self.units, self.project]],),
            ).fetchone()
        return int(row[0]) if row else 0

    def _bring_deadline_forward(self, dossier_id: str) -> None:
        """Staged for the dashboard: the kept voucher's deadline moved to 90 minutes from now in
        every service's copy, as if it had been received the day before."""
        dsn = sync_url(self.at.database_url).replace("postgresql+psycopg", "postgresql")
        with psycopg.connect(dsn) as conn:
            for table in ("vouchers.dossiers", "control.vouchers", "notify.dossiers"):
                conn.execute(
                    f"UPDATE {table} SET deadline = now() + interval '90 minutes' "  # noqa: S608
                    "WHERE dossier_id = %s",
                    (dossier_id,),
                )

    async def setup(self, producer: AIOKafkaProducer, watch: StatusWatch, units: int) -> None:
        """Units register (approved by the demo's officers when approval is manual) and
        receive their budget estimates."""
        offices = list(OFFICES)
        self.units = [
            self.bed.unit(treasury_code=offices[i % len(offices)], budget_line_count=2)
            for i in range(units)
        ]
        registrations = [(u.registration(), u.code) for u in [*self.units, self.project]]
        await self._send(producer, self.at.topics.registrations, registrations)
        ids = [r.payload["dossier_id"] for r, _ in registrations]
        if self.at.approval == "manual":
            await _wait(
                lambda: sum(watch.has(d, "in_review") for d in ids),
                len(ids),
                60,
                "registrations reaching review",
            )
            async with httpx.AsyncClient(base_url=self.at.registration_url) as http:
                registered = [*self.units, self.project]
                for (registration, _), unit in zip(registrations, registered, strict=True):
                    answer = await http.post(
                        f"/registrations/{registration.payload['dossier_id']}/decision",
                        json={"decision": "approve"},
                        headers=self._token(unit.treasury_code),
                    )
                    answer.raise_for_status()
        await _wait(
            lambda: sum(watch.has(d, "approved") for d in ids),
            len(ids),
            60,
            "registrations being approved",
        )
        await _wait(
            self._directory_size,
            len(self.units) + 1,
            60,
            "units in the vouchers service's directory",
        )
        allocations = []
        for i, unit in enumerate(self.units):
            amount = 60_000_000 if i % 10 == 9 else 20_000_000_000
            allocations += [(a, unit.code) for a in unit.allocations(amount=amount)]
        await self._send(producer, self.at.topics.allocations, allocations)
        allocation_ids = [a.payload["allocation_id"] for a, _ in allocations]
        await _wait(
            lambda: sum(watch.has(a, "approved") for a in allocation_ids),
            len(allocation_ids),
            60,
            "budget allocations approved",
        )

    def _kind(self, i: int) -> str:
        """The kind of the demo's `i`th voucher: each kind once first, then drawn by share."""
        if i < len(MIX):
            return MIX[i][1]
        roll = self.rng.random()
        return next(kind for share, kind in MIX if roll < share)

    def workload(self, count: int) -> tuple[list[tuple[Envelope | bytes, str]], list[Envelope]]:
        """The vouchers to submit, and the advances whose settlements follow once approved."""
        work: list[tuple[Envelope | bytes, str]] = []
        advances: list[Envelope] = []
        for i in range(count):
            unit = self.units[i % len(self.units)]
            kind = self._kind(i)
            if kind == "intake_fault":
                faulty = invalid_voucher(unit, INTAKE_FAULTS[i % len(INTAKE_FAULTS)])
                work.append((faulty.raw, unit.code))
                continue
            if kind == "no_contract":
                envelope = unit.voucher(total_amount=80_000_000, contract=False)
            elif kind == "cash_not_allowed":
                envelope = unit.voucher(
                    payment_method=PaymentMethod.CASH,
                    economic_codes=("6551",),
                    total_amount=5_000_000,
                )
            elif kind == "held":
                envelope = unit.voucher(
                    total_amount=self.rng.choice((1_200_000_000, 2_500_000_000))
                )
            elif kind == "advance":
                envelope = unit.voucher(spending_type=SpendingType.ADVANCE, total_amount=30_000_000)
                advances.append(envelope)
            elif kind == "cash":
                envelope = unit.voucher(
                    payment_method=PaymentMethod.CASH, economic_codes=tuple(CASH_ECONOMIC_CODES)
                )
            else:
                envelope = unit.voucher()
            work.append((envelope, unit.code))
        return work, advances

    async def officers(
        self, watch: StatusWatch, dossiers: dict[str, UnitKit], decided: set[str]
    ) -> None:
        """The demo's officers: approve most vouchers held for review, refuse one in five."""
        async with httpx.AsyncClient(base_url=self.at.control_url) as http:
            while True:
                for dossier, unit in list(dossiers.items()):
                    if dossier in decided or not watch.has(dossier, "in_review"):
                        continue
                    # The first decision and every fifth after it: a refusal by an officer
                    # in every demo, whatever the order in which the held vouchers arrive.
                    refuse = len(decided) % 5 == 0
                    body: dict[str, Any] = {"decision": "refuse" if refuse else "approve"}
                    if refuse:
                        body["reasons"] = [
                            {
                                "code": "CONTENT_NOT_JUSTIFIED",
                                "message": "Nội dung chi chưa đủ căn cứ",
                            }
                        ]
                    answer = await http.post(
                        f"/reviews/{dossier}/decision",
                        json=body,
                        headers=self._token(unit.treasury_code, "head"),
                    )
                    if answer.status_code in (200, 409):
                        decided.add(dossier)
                await asyncio.sleep(0.5)

    async def run(self, count: int) -> Summary:
        summary = Summary()
        watch = StatusWatch(self.at.bootstrap, self.at.topics.status)
        producer = AIOKafkaProducer(bootstrap_servers=self.at.bootstrap, acks="all", linger_ms=5)
        await watch.start()
        await producer.start()
        try:
            with self.console.status("Demo: units register and receive their budgets…"):
                await self.setup(producer, watch, max(6, min(60, count // 40)))
            work, advances = self.workload(count)
            owners = {_dossier(m): self.units[i % len(self.units)] for i, (m, _) in enumerate(work)}
            held = self.units[0].voucher(total_amount=1_500_000_000)
            summary.kept_in_review = str(held.payload["dossier_id"])
            await self._send(
                producer,
                self.at.topics.vouchers,
                [(held, self.units[0].code), (NOT_JSON, self.units[0].code)],
            )
            sent_at: dict[str, float] = {}
            decided: set[str] = set()
            officer = asyncio.create_task(self.officers(watch, owners, decided))
            began = time.monotonic()
            with Progress(
                TextColumn("[bold]Demo vouchers"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self.console,
            ) as bar:
                task = bar.add_task("demo", total=count + len(advances), detail="")
                for chunk in range(0, len(work), 200):
                    part = work[chunk : chunk + 200]
                    now = time.monotonic()
                    sent_at.update((_dossier(m), now) for m, _ in part)
                    await self._send(producer, self.at.topics.vouchers, part)
                    bar.update(task, completed=sum(1 for d in sent_at if watch.final(d)))
                settled: set[str] = set()
                deadline = time.monotonic() + 300
                while time.monotonic() < deadline:
                    for advance in advances:
                        advance_id = advance.payload["dossier_id"]
                        final = watch.final(advance_id)
                        if advance_id in settled or not final or final["status"] != "approved":
                            continue
                        unit = owners[advance_id]
                        settlement = unit.settlement(advance)
                        settled.add(advance_id)
                        owners[settlement.payload["dossier_id"]] = unit
                        sent_at[settlement.payload["dossier_id"]] = time.monotonic()
                        await self._send(
                            producer, self.at.topics.vouchers, [(settlement, unit.code)]
                        )
                    done = sum(1 for d in sent_at if watch.final(d))
                    open_advances = sum(
                        1 for a in advances if not watch.final(a.payload["dossier_id"])
                    )
                    bar.update(
                        task,
                        completed=done,
                        total=len(sent_at) + open_advances,
                        detail=f"{len(decided)} decided by officers",
                    )
                    if done == len(sent_at) and not open_advances:
                        break
                    await asyncio.sleep(0.25)
            officer.cancel()
            await asyncio.gather(officer, return_exceptions=True)
            await _wait(
                lambda: int(watch.has(summary.kept_in_review or "", "in_review")),
                1,
                60,
                "the voucher kept in review",
            )
            self._bring_deadline_forward(summary.kept_in_review or "")
            summary.seconds = time.monotonic() - began
            with self.console.status("Demo: a project is planned, advanced and paid…"):
                summary.investment = await run_scenario(
                    self.project,
                    send=lambda topic, messages: self._send(producer, topic, messages),
                    final=watch.final,
                    topics=(self.at.topics.allocations, self.at.topics.vouchers),
                    control_url=self.at.control_url,
                    headers=self._token(self.project.treasury_code),
                )
            summary.submitted = len(sent_at)
            summary.reviewed = len(decided)
            for dossier, sent in sent_at.items():
                final = watch.final(dossier)
                if final is None:
                    summary.statuses["(no final status)"] += 1
                    continue
                summary.statuses[final["status"]] += 1
                for reason in final.get("reasons") or []:
                    summary.reasons[f"{final['status']}:{reason['code']}"] += 1
                if dossier not in decided:
                    summary.latencies.append(watch.arrived[dossier] - sent)
        finally:
            await producer.stop()
            await watch.stop()
        return summary


def _dossier(message: Envelope | bytes) -> str:
    if isinstance(message, Envelope):
        return str(message.payload["dossier_id"])
    try:
        found = orjson.loads(message).get("payload", {}).get("dossier_id")
    except (orjson.JSONDecodeError, AttributeError):
        found = None
    return str(found) if found else f"raw:{hash(message)}"
