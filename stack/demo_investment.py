"""The investment part of `make run`'s demo: a project receives its capital plan, takes an
advance under a works contract, is paid twice with the advance recovered, and sends one
request refused for each reason of the scheme. It reports each outcome and the contract's
position as control answers it."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from rich.table import Table

from shared.contract import Contract, Envelope
from testkit import UnitKit, new_contract
from testkit.investment import capital_plan, investment_request

BILLION = 1_000_000_000
Send = Callable[[str, list[tuple[Envelope, str]]], Awaitable[None]]
Final = Callable[[str], dict[str, Any] | None]


def _contract(project: UnitKit, number: str, value: int) -> Contract:
    contract = new_contract(project, value=value, on=dt.date.today())
    return contract.model_copy(update={"number": number})


def scenario(project: UnitKit) -> tuple[Contract, list[tuple[str, Envelope]]]:
    """The plans and requests, in the order they are sent, each with what it shows."""
    works = _contract(project, "01/2026/HĐXD", 2 * BILLION)
    other = _contract(project, "02/2026/HĐXD", BILLION)
    recovering = _contract(project, "03/2026/HĐXD", BILLION)

    def ask(kind: Any, contract: Contract, amount: int, **o: Any) -> Envelope:
        return investment_request(project, kind, contract=contract, amount=amount, **o)

    steps = [
        ("capital plan, source 14", capital_plan(project, source_code="14", amount=5 * BILLION)),
        ("capital plan, source 16", capital_plan(project, source_code="16", amount=BILLION // 10)),
        ("advance of 30%", ask("advance", works, 600_000_000)),
        (
            "payment at 40% accepted, recovering half",
            ask(
                "payment",
                works,
                700_000_000,
                completed_value=800_000_000,
                advance_recovery=300_000_000,
            ),
        ),
        (
            "payment at 80% accepted, recovering the rest",
            ask(
                "payment",
                works,
                800_000_000,
                completed_value=1_600_000_000,
                advance_recovery=300_000_000,
            ),
        ),
        ("advance above 50%", ask("advance", other, BILLION // 2 + 1_000_000)),
        (
            "payment above the work accepted",
            ask("payment", other, 500_000_000, completed_value=400_000_000),
        ),
        ("advance to recover later", ask("advance", recovering, 200_000_000)),
        (
            "payment at 85% leaving an advance open",
            ask(
                "payment",
                recovering,
                300_000_000,
                completed_value=850_000_000,
                advance_recovery=100_000_000,
            ),
        ),
        ("advance above the plan line", ask("advance", other, 200_000_000, source_code="16")),
        ("advance on no plan line", ask("advance", other, 100_000_000, source_code="12")),
    ]
    return works, steps


async def run_scenario(
    project: UnitKit,
    *,
    send: Send,
    final: Final,
    topics: tuple[str, str],
    control_url: str,
    headers: dict[str, str],
) -> Table:
    """Send each step once the one before it is decided; `topics` are (allocations,
    vouchers)."""
    works, steps = scenario(project)
    table = Table(title=f"Demo: investment capital of project {project.code}")
    for column in ("request", "status", "reasons"):
        table.add_column(column)
    for label, envelope in steps:
        plan = envelope.event_type == "capital_plan.recorded"
        dossier = envelope.payload["plan_id" if plan else "dossier_id"]
        await send(topics[0] if plan else topics[1], [(envelope, project.code)])
        deadline = time.monotonic() + 60
        while (outcome := final(dossier)) is None:
            if time.monotonic() > deadline:
                raise TimeoutError(f"demo: {label} ({dossier}) not decided within 60 s")
            await asyncio.sleep(0.2)
        codes = ", ".join(r["code"] for r in outcome.get("reasons") or [])
        table.add_row(label, outcome["status"], codes)
    async with httpx.AsyncClient(base_url=control_url) as http:
        answer = await http.get(f"/contracts/{project.code}/{works.number}", headers=headers)
    position = answer.json() if answer.status_code == 200 else {"error": answer.text}
    table.caption = f"Contract {works.number}: " + ", ".join(
        f"{k} {v}" for k, v in position.items() if k not in ("unit_code", "contract_number")
    )
    return table
