"""Each email reaches the right people with the right words, once, whatever happens."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from services.notify import domain
from tests.notify.conftest import OFFICE, STAFF, Notify, Receiver
from tests.support import API_KEY, Producer, poll


def _mine(notify: Notify, dossier: str) -> list:  # type: ignore[type-arg]
    return [m for m in notify.sink.messages() if dossier in str(m["Subject"])]


async def test_each_email_kind_reaches_its_recipients_in_vietnamese_then_english(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    unit = await notify.unit(producer)
    await asyncio.sleep(1)
    reasons = [
        {
            "code": "BUDGET_EXCEEDED",
            "field": "lines[0]",
            "message": "Vượt dự toán còn lại: còn 10.000.000 đ, đề nghị 12.500.000 đ",
        }
    ]
    cases = {}
    for status in ("rejected", "returned", "refused", "approved"):
        dossier = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
        await notify.status(producer, unit, dossier, "received", 1)
        await notify.status(
            producer, unit, dossier, status, 2, reasons=[] if status == "approved" else reasons
        )
        cases[status] = dossier
    review = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    await notify.status(
        producer, unit, review, "in_review", 2, deadline="2026-12-30T16:30:00+07:00"
    )
    unit_mail = set(unit.recipients())
    await poll(
        lambda: (
            all(len(_mine(notify, d)) == len(unit_mail) for d in cases.values())
            and len(_mine(notify, review)) == len(STAFF)
        ),
        within=180,
        what=f"{len(unit_mail)} mails per outcome and {len(STAFF)} for the review",
        show=lambda _: ", ".join(
            f"{d}: {len(_mine(notify, d))}" for d in [*cases.values(), review]
        ),
    )
    for status, dossier in cases.items():
        mails = _mine(notify, dossier)
        assert {str(m["Delivered-To"]) for m in mails} == unit_mail
        # One mail to all of them, in one SMTP transaction, under one Message-ID.
        assert len({str(m["Message-ID"]) for m in mails}) == 1
        mail = mails[0]
        text = mail.get_body(preferencelist=("plain",)).get_content()
        html = mail.get_body(preferencelist=("html",)).get_content()
        assert dossier in text
        assert dossier in html
        vietnamese, english = text.split("-" * 70)
        if status == "approved":
            assert "Chấp thuận".lower() in str(mail["Subject"]).lower()
            assert "đã được chấp thuận" in vietnamese
            assert "has been approved" in english
        else:
            assert "THÔNG BÁO KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in vietnamese
            assert "Mẫu số 33" in vietnamese
            assert "BUDGET_EXCEEDED" in vietnamese
            assert "Vượt dự toán còn lại" in vietnamese
            assert "Form 33" in english
        assert str(mail["Message-ID"]) == domain.message_id(domain.notice_group(dossier, status))
        assert sorted(a.strip() for a in str(mail["To"]).split(",")) == sorted(unit_mail)
        assert mail.get_content_charset() in (None, "utf-8")
    returned = _mine(notify, cases["returned"])[0]
    returned_text = returned.get_body(preferencelist=("plain",)).get_content()
    assert "chỉ yêu cầu bổ sung một lần" in returned_text
    staff_mails = _mine(notify, review)
    assert {str(m["Delivered-To"]) for m in staff_mails} == set(STAFF)
    staff_text = staff_mails[0].get_body(preferencelist=("plain",)).get_content()
    assert "chờ kiểm soát viên" in staff_text
    assert "waiting for an officer" in staff_text
    assert "16:30 30/12/2026" in staff_text
    # Every status went to the portal's webhook too, signed.
    await poll(
        lambda: len(webhooks.calls) >= 9,
        within=120,
        what="9 webhook calls",
        show=lambda _: f"{len(webhooks.calls)} calls",
    )
    assert all(call["verified"] for call in webhooks.calls)
    assert {c["body"]["payload"]["dossier_id"] for c in webhooks.calls} >= set(cases.values())


async def test_a_republished_status_is_not_mailed_again(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    unit = await notify.unit(producer, recipients=("one@example.vn",), signer_emails=False)
    await asyncio.sleep(1)
    dossier = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    for _ in range(3):
        await notify.status(producer, unit, dossier, "approved", 2)
    marker = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    await notify.status(producer, unit, marker, "approved", 2)
    await poll(
        lambda: len(_mine(notify, marker)) == 1,
        within=120,
        what=f"the mail of {marker}",
        show=lambda _: f"{len(_mine(notify, marker))} mails",
    )
    assert len(_mine(notify, dossier)) == 1


async def test_a_status_that_arrives_before_its_unit_is_mailed_once_the_unit_arrives(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    # A registration's approval and the unit's directory entry travel on two topics, in no
    # fixed order: the approval may come first, and its mail must not be lost.
    unit = await notify.unit(producer, recipients=("first@example.vn",), publish=False)
    dossier = f"DK-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    voucher = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    await notify.status(producer, unit, dossier, "approved", 2, dossier_kind="registration")
    await notify.status(
        producer,
        unit,
        voucher,
        "returned",
        2,
        reasons=[
            {"code": "ATTACHMENT_MISSING", "field": "attachments", "message": "Thiếu hợp đồng"}
        ],
    )
    await poll(
        lambda: notify.awaiting({dossier, voucher}),
        lambda waiting: waiting == 2,
        what="notify to hold both statuses until the unit is known (notify.awaiting_unit)",
        within=60,
    )
    # The gauge counts them too (other tests' statuses of units never published beside them).
    await poll(
        lambda: notify.service.metric("notify_statuses_awaiting_unit"),
        lambda waiting: waiting >= 2,
        what="the awaiting gauge to count both statuses",
        within=30,
    )
    assert _mine(notify, dossier) == []
    assert _mine(notify, voucher) == []
    await notify.publish_unit(producer, unit)
    # The same entry again, as a redelivery or a compaction replay would bring it.
    await notify.publish_unit(producer, unit)
    for each in (dossier, voucher):
        await poll(
            lambda each=each: _mine(notify, each),  # type: ignore[misc]
            lambda mails: len(mails) >= len(unit.recipients()),
            what=f"the mails of {each} to each of the unit's {len(unit.recipients())} recipients",
            within=120,
        )
    await notify.status(producer, unit, dossier, "approved", 2, dossier_kind="registration")
    marker = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    await notify.status(producer, unit, marker, "approved", 2)
    await poll(
        lambda: _mine(notify, marker),
        lambda mails: len(mails) == len(unit.recipients()),
        what=f"the mails of {marker}, sent after the others",
        within=120,
    )
    for each in (dossier, voucher):
        delivered_to = sorted(str(m["Delivered-To"]) for m in _mine(notify, each))
        assert delivered_to == sorted(unit.recipients())
    assert notify.awaiting({dossier, voucher}) == 0


async def _run(notify: Notify, producer: Producer, count: int) -> dict[str, str]:
    """`count` approvals of one unit with one address: their Message-IDs and dossiers."""
    unit = await notify.unit(producer, recipients=("ketoan@example.vn",), signer_emails=False)
    await asyncio.sleep(1)
    dossiers = [f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}" for _ in range(count)]
    expected = {domain.message_id(domain.notice_group(d, "approved")): d for d in dossiers}
    for d in dossiers:
        await notify.status(producer, unit, d, "approved", 2)
    return expected


async def _second_copies_in_doubt(notify: Notify, expected: dict[str, str]) -> int:
    """Every second copy of a mail is one the ledger shows as sent again after an attempt in
    doubt, under the same Message-ID; returns how many second copies there are."""
    copies = notify.sink.mailbox.delivered(set(expected))
    extra = {k: n - 1 for k, n in copies.items() if n > 1}
    async with httpx.AsyncClient(base_url=notify.service.url) as http:
        for message_id, n in extra.items():
            answer = await http.get(
                "/notifications",
                params={"dossier_id": expected[message_id]},
                headers={"X-API-Key": API_KEY},
            )
            [delivery] = [d for d in answer.json() if d["channel"] == "email"]
            assert delivery["message_id"] == message_id
            assert delivery["attempts_in_doubt"] >= n, delivery
    return sum(extra.values())


# Each status also makes a webhook delivery, so 400 statuses are 800 deliveries: the waits
# below leave room for a slow, loaded machine.
async def _mails(
    notify: Notify, expected: dict[str, str], count: int, *, within: float, what: str
) -> None:
    """Wait until `count` of the expected mails have arrived."""
    mailbox, wanted = notify.sink.mailbox, set(expected)
    await poll(
        lambda: len(mailbox.delivered(wanted)) >= count,
        within=within,
        every=0.2,
        what=what,
        show=lambda _: mailbox.report(wanted),
    )


async def test_mail_held_while_the_smtp_server_is_down_arrives_in_the_end(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    expected = await _run(notify, producer, 400)
    await _mails(notify, expected, 60, within=180, what="60 mails before the server stops")
    notify.sink.stop()
    down_at = len(notify.sink.mailbox.delivered(set(expected)))
    # Down until the senders have failed and retried a few rounds, not for a length of time.
    failures = notify.service.metric("notify_smtp_failures_total")
    await poll(
        lambda: notify.service.metric("notify_smtp_failures_total"),
        lambda seen: seen >= failures + 8,
        within=180,
        what=f"8 failed SMTP attempts while the server is down (the counter was {failures:g})",
    )
    notify.sink.start()
    await _mails(notify, expected, 400, within=600, what="all 400 mails")
    assert down_at < 400
    # The server stopping mid-message leaves at most one mail per sender in doubt.
    assert await _second_copies_in_doubt(notify, expected) <= 4
    assert notify.service.metric("notify_smtp_failures_total") > 0


async def test_a_killed_worker_misses_no_mail_and_copies_only_those_in_doubt(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    expected = await _run(notify, producer, 400)
    await _mails(notify, expected, 60, within=180, what="60 mails before the kill")
    notify.service.kill()
    killed_at = len(notify.sink.mailbox.delivered(set(expected)))
    notify.service.start()
    await _mails(notify, expected, 400, within=600, what="all 400 mails")
    assert killed_at < 400
    # At most one delivery per sender was in flight when the process died.
    assert await _second_copies_in_doubt(notify, expected) <= 4


async def test_an_investment_refusal_is_a_notice_naming_the_contract_and_the_plan_line(
    notify: Notify, producer: Producer
) -> None:
    project = await notify.unit(producer)
    dossier = f"VDT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    reasons = [
        {
            "code": "ADVANCE_LIMIT_EXCEEDED",
            "field": "amount",
            "message": "Hợp đồng 02/2026/HĐXD: Lũy kế tạm ứng 4.000.000.001 đ vượt 50% giá trị "
            "hợp đồng 8.000.000.000 đ (cumulative advances above the limit)",
        },
        {
            "code": "CAPITAL_PLAN_EXCEEDED",
            "field": "amount",
            "message": "Vượt kế hoạch vốn còn lại (dự án 7012345, nguồn 14, năm 2026)",
        },
    ]
    await notify.status(producer, project, dossier, "received", 1, dossier_kind="investment")
    await notify.status(
        producer, project, dossier, "refused", 2, dossier_kind="investment", reasons=reasons
    )
    mails = await poll(
        lambda: _mine(notify, dossier),
        lambda found: len(found) == len(project.recipients()),
        what=f"the refusal notice of {dossier} to each of the project's recipients (mails)",
        within=120,
    )
    vietnamese, english = mails[0].get_body(preferencelist=("plain",)).get_content().split("-" * 70)
    assert "Mẫu số 33" in vietnamese
    assert "Đề nghị tạm ứng, thanh toán vốn đầu tư" in vietnamese
    assert "Hợp đồng 02/2026/HĐXD" in vietnamese
    assert "nguồn 14, năm 2026" in vietnamese
    assert "investment capital" in english
