"""The demo workload of `make run`: units register, budgets arrive, vouchers flow; then a
project's investment capital (`demo_investment`) and the support desk (`demo_support`).

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
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from shared.auth import issue_staff_token
from shared.contract import (
    Envelope,
    encode,
)
from shared.db import libpq_url
from shared.settings import TopicSettings
from stack.demo_db import bring_deadline_forward, directory_size
from stack.demo_investment import run_scenario
from stack.demo_mix import dossier_of, workload
from stack.demo_offices import OFFICES
from stack.demo_support import run_desk
from stack.demo_watch import StatusWatch, Summary, wait_until
from testkit import Testbed, UnitKit

# A submission cut short: not JSON, so it goes to the dead-letter topic.
NOT_JSON = b'{"event_id": "demo-cut-short", "event_type": "voucher.submitted", "payload": {'


@dataclass
class Endpoints:
    bootstrap: str
    database_url: str
    topics: TopicSettings
    registration_url: str
    control_url: str
    support_url: str
    staff_secret: str
    approval: str


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
        return directory_size(
            libpq_url(self.at.database_url), [u.code for u in [*self.units, self.project]]
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
            await wait_until(
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
        await wait_until(
            lambda: sum(watch.has(d, "approved") for d in ids),
            len(ids),
            60,
            "registrations being approved",
        )
        await wait_until(
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
        await wait_until(
            lambda: sum(watch.has(a, "approved") for a in allocation_ids),
            len(allocation_ids),
            60,
            "budget allocations approved",
        )

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
            work, advances = workload(self.units, self.rng, count)
            owners = {
                dossier_of(m): self.units[i % len(self.units)] for i, (m, _) in enumerate(work)
            }
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
                    sent_at.update((dossier_of(m), now) for m, _ in part)
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
            await wait_until(
                lambda: int(watch.has(summary.kept_in_review or "", "in_review")),
                1,
                60,
                "the voucher kept in review",
            )
            bring_deadline_forward(libpq_url(self.at.database_url), summary.kept_in_review or "")
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
            with self.console.status("Demo: units ask their offices for help…"):
                summary.support = await run_desk(
                    self.units,
                    send=lambda topic, messages: self._send(producer, topic, messages),
                    has=watch.has,
                    topic=self.at.topics.support,
                    support_url=self.at.support_url,
                    headers=self._token,
                    dsn=libpq_url(self.at.database_url),
                    dossier=summary.kept_in_review,
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
