"""The support desk in `make run`'s demo: units ask their offices for help (one request
malformed), the offices' officers answer most of them through the support API (resolving some
and deferring one), and leave the rest open in the workspace's support inbox, one of them due
within two hours so that its staff's deadline warning is seen."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import httpx
import psycopg
from rich.table import Table

from shared.contract import Envelope
from testkit import UnitKit
from testkit.support import support_request

Send = Callable[[str, list[tuple[Envelope, str]]], Awaitable[None]]
Has = Callable[[str, str], bool]
Headers = Callable[[str], dict[str, str]]
CATEGORIES = ("signature", "voucher", "registration", "account", "other")
MEANING = {
    "received": "waiting in the office's support inbox for a first answer",
    "answered": "answered; the request stays open for more",
    "resolved": "answered and closed",
    "deferred": "answered and taken into a later version of the system",
    "rejected": "malformed (an unknown category): MALFORMED",
}
REPLIES = {
    "signature": "Chứng thư số đã hết hạn: đề nghị gia hạn với nhà cung cấp rồi ký lại.",
    "voucher": "Chứng từ đang được kiểm soát, kết quả có trong ngày làm việc tiếp theo.",
    "registration": "Đơn vị gửi hồ sơ thay đổi người ký (change_signers) trên cổng dịch vụ công.",
    "account": "Số dư tài khoản đã được đối chiếu, khớp với sổ của Kho bạc.",
    "other": "Hướng dẫn tra cứu hồ sơ đã được gửi kèm; đơn vị liên hệ nếu cần thêm.",
}


def requests(units: Sequence[UnitKit], count: int, dossier: str | None) -> list[Envelope]:
    """`count` requests spread over the units and categories; the first, of the first unit,
    asks about `dossier` (one of that unit's vouchers)."""
    made = []
    for i in range(count):
        unit = units[i % len(units)]
        category = "voucher" if i == 0 and dossier else CATEGORIES[i % len(CATEGORIES)]
        named = dossier if i == 0 else None
        made.append(support_request(unit, category=category, dossier_id=named))
    return made


async def wait_for(done: Callable[[], bool], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"demo: {what} did not happen within {within:.0f} s")
        await asyncio.sleep(0.2)


def _due_soon(dsn: str, request_id: str) -> None:
    """Staged for the dashboard and the inbox: the request's deadline moved to 90 minutes from
    now, in the support service's record and in notify's, as if received the day before."""
    with psycopg.connect(dsn) as conn:
        for table in ("support.requests", "notify.dossiers"):
            conn.execute(
                f"UPDATE {table} SET deadline = now() + interval '90 minutes' "  # noqa: S608
                f"WHERE {'request_id' if table.startswith('support') else 'dossier_id'} = %s",
                (request_id,),
            )


async def run_desk(
    units: Sequence[UnitKit],
    *,
    send: Send,
    has: Has,
    topic: str,
    support_url: str,
    headers: Headers,
    dsn: str,
    dossier: str | None = None,
    count: int = 15,
) -> Table:
    """Send the requests, answer two in three of them, and report what each became."""
    with psycopg.connect(dsn) as conn:
        codes = [u.code for u in units]
        await wait_for(
            lambda: (
                conn.execute(
                    "SELECT count(*) FROM support.unit_directory WHERE unit_code = ANY(%s)",
                    (codes,),
                ).fetchone()
                == (len(set(codes)),)
            ),
            60,
            "the unit directory reaching the support service",
        )
    asked = requests(units, count, dossier)
    malformed = support_request(units[0], category="complaint")
    await send(topic, [(e, e.payload["unit_code"]) for e in [*asked, malformed]])
    ids = [e.payload["request_id"] for e in asked]
    await wait_for(lambda: all(has(r, "received") for r in ids), 60, "support requests received")
    await wait_for(lambda: has(malformed.payload["request_id"], "rejected"), 60, "a rejection")
    outcome: Counter[str] = Counter({"rejected": 1})
    async with httpx.AsyncClient(base_url=support_url, timeout=30) as http:
        for i, envelope in enumerate(asked):
            request_id, office = envelope.payload["request_id"], envelope.payload["treasury_code"]
            if i % 3 == 2 or i == 0:
                outcome["received"] += 1
                continue
            resolution = "deferred" if i == 4 else "resolved" if i % 2 == 0 else "answered"
            body: dict[str, Any] = {
                "message": REPLIES[envelope.payload["category"]],
                "resolution": resolution,
            }
            answer = await http.post(
                f"/support/{request_id}/reply", json=body, headers=headers(office)
            )
            answer.raise_for_status()
            outcome[resolution] += 1
    _due_soon(dsn, ids[2])
    table = Table(title=f"Demo: {len(asked) + 1} support requests")
    for column in ("status", "count", "what it means"):
        table.add_column(column, justify="right" if column == "count" else "left")
    for status in ("received", "answered", "resolved", "deferred", "rejected"):
        table.add_row(status, str(outcome[status]), MEANING[status])
    table.caption = (
        f"{ids[2]} is due within two hours; `dvc report support --since 1h` gives the "
        "figures per office."
    )
    return table
