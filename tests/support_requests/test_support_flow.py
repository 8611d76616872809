"""A unit asks, its office is told, an officer answers, the unit reads the answer once, and
the request is resolved; against the real Kafka, PostgreSQL and SMTP server."""

from __future__ import annotations

import asyncio
from functools import partial

import httpx

from testkit import Testbed, UnitKit
from testkit.support import support_payload
from tests.ops.conftest import Dvc
from tests.support import poll
from tests.support_requests.conftest import OFFICE, OFFICE_NAME, OTHER, STAFF, Desk, portal

REPORTED = "0099"
ANSWER = "Kính gửi đơn vị: chứng thư số của kế toán trưởng đã hết hạn.\nĐề nghị gia hạn rồi ký lại."


async def test_a_request_is_received_answered_once_to_the_unit_and_resolved(
    desk: Desk, unit: UnitKit
) -> None:
    await desk.registered(unit)
    payload = support_payload(unit, category="signature", dossier_id=None)
    request_id = payload["request_id"]
    async with httpx.AsyncClient(base_url=desk.url, timeout=30) as http:
        accepted = await http.post("/support", json=payload, headers=portal())
    assert accepted.status_code == 202, accepted.text
    assert accepted.json()["request_id"] == request_id

    [received] = await desk.status.statuses(request_id, {"received"})
    assert (received["dossier_kind"], received["sequence"]) == ("support", 1)
    assert received["deadline"].endswith("16:30:00+07:00"), received

    for member in STAFF[OFFICE]:
        [told] = await poll(
            partial(desk.mail_to, member, request_id),
            what=f"the email to {member} about {request_id}",
            within=60,
        )
        text = told.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert payload["subject"] in str(told["Subject"])
        assert payload["body"] in text
    assert not desk.mail_to(STAFF[OTHER][0], request_id), "another office's staff were told"

    assert (await desk.get(f"/support/{request_id}", OTHER)).status_code == 404
    refused = await desk.reply(request_id, OTHER, "Không phải việc của tôi")
    assert refused.status_code == 404, refused.text
    listed = await desk.get("/support", OTHER, status="open")
    assert request_id not in listed.text

    answered = await desk.reply(request_id, OFFICE, ANSWER)
    assert answered.status_code == 200, answered.text
    view = answered.json()
    assert view["status"] == "answered"
    assert view["first_answer_at"] is not None
    [first] = view["replies"]
    assert (first["number"], first["message"], first["officer"]) == (
        1,
        ANSWER,
        f"kbnn.{OFFICE}.controller",
    )
    addresses = [payload["contact_email"], f"ketoan.{unit.code}@example.vn"]
    for address in addresses:
        [mail] = await poll(
            partial(desk.mail_to, address, request_id),
            what=f"the answer to {address}",
            within=60,
        )
        text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert payload["subject"] in str(mail["Subject"])
        assert OFFICE_NAME in text
        assert "chứng thư số của kế toán trưởng đã hết hạn" in text

    resolved = await desk.reply(request_id, OFFICE, "Đơn vị đã ký lại được.", "resolved")
    assert resolved.status_code == 200, resolved.text
    assert [r["number"] for r in resolved.json()["replies"]] == [1, 2]
    events = await desk.status.statuses(request_id, {"resolved"})
    assert [(e["status"], e["sequence"]) for e in events] == [
        ("received", 1),
        ("answered", 2),
        ("resolved", 3),
    ]
    assert events[-1]["decided_by"] == f"kbnn.{OFFICE}.controller"
    again = await desk.reply(request_id, OFFICE, "Thêm một câu")
    assert again.status_code == 409, again.text
    open_now = await desk.get("/support", OFFICE, status="open")
    assert request_id not in [r["request_id"] for r in open_now.json()]

    await poll(
        lambda: [len(desk.mail_to(a, request_id)) for a in addresses],
        lambda counts: counts == [2, 2],
        what="both answers at both of the unit's addresses",
        within=60,
    )
    await asyncio.sleep(3)  # a second copy, if any, would have come by now
    assert [len(desk.mail_to(a, request_id)) for a in addresses] == [2, 2]
    for member in STAFF[OFFICE]:
        assert len(desk.mail_to(member, request_id)) == 1


async def test_the_office_lists_its_open_requests_earliest_deadline_first(
    desk: Desk, unit: UnitKit
) -> None:
    await desk.registered(unit)
    ids = await desk.asked(unit, "voucher", "account", "other")
    listed = (await desk.get("/support", OFFICE, status="open", page_size=200)).json()
    mine = [r for r in listed if r["request_id"] in ids]
    assert [r["request_id"] for r in mine] == ids, "same deadline: in the order received"
    deadlines = [r["deadline"] for r in listed]
    assert deadlines == sorted(deadlines)
    answered = await desk.reply(ids[0], OFFICE, "Đã xem", "deferred")
    assert answered.json()["status"] == "deferred"


async def test_the_report_counts_an_offices_requests_as_operators_read_them(
    desk: Desk, bed: Testbed
) -> None:
    unit = bed.unit(treasury_code=REPORTED)  # an office of this test alone
    await desk.registered(unit)
    ids = await desk.asked(unit, "voucher", "account", "other")
    for request_id, resolution in zip(ids[:2], ("resolved", "deferred"), strict=True):
        answered = await desk.reply(request_id, REPORTED, "Đã xử lý", resolution)
        assert answered.status_code == 200, answered.text
    dvc = Dvc({"DATABASE_URL": desk.pipeline.stack.database_url})
    done = await asyncio.to_thread(dvc, "report", "support", "--since", "1h")
    assert done.returncode == 0, done.stderr
    [row] = [line for line in done.stdout.splitlines() if f" {REPORTED} " in line]
    cells = [c.strip() for c in row.strip("│ ").split("│")]
    # received, open, overdue, answered in time, resolved share, median first answer
    assert cells[1:6] == ["3", "1", "0", "67%", "50%"], done.stdout
    assert cells[6].endswith(" h"), done.stdout
