"""Each email reaches the right people with the right words, once, whatever happens."""

from __future__ import annotations

import asyncio
import uuid
from email.message import EmailMessage

from services.notify import domain
from tests.notify.conftest import OFFICE, STAFF, Notify, Receiver
from tests.support import Producer, poll
from tests.waits import missing


def _mine(notify: Notify, dossier: str) -> list[EmailMessage]:
    return [m for m in notify.sink.messages() if dossier in str(m["Subject"])]


def _body(mail: EmailMessage, kind: str) -> str:
    part = mail.get_body(preferencelist=(kind,))
    assert part is not None, f"no {kind} part in {mail['Subject']}"
    return str(part.get_content())


def _recipients_by_dossier(notify: Notify, dossiers: list[str]) -> dict[str, list[str]]:
    mails = notify.sink.messages()
    return {d: sorted(str(m["To"]) for m in mails if d in str(m["Subject"])) for d in dossiers}


async def test_each_email_kind_reaches_its_recipients_in_vietnamese_then_english(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    unit = await notify.unit(producer)
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
    wanted = {d: sorted(unit_mail) for d in cases.values()} | {review: sorted(STAFF)}
    await poll(
        lambda: _recipients_by_dossier(notify, list(wanted)),
        lambda seen: seen == wanted,
        what=f"each dossier's mail to its recipients: {wanted} (recipients by dossier)",
        within=120,
    )
    for status, dossier in cases.items():
        mails = _mine(notify, dossier)
        assert {str(m["To"]) for m in mails} == unit_mail
        mail = mails[0]
        text = _body(mail, "plain")
        html = _body(mail, "html")
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
        key = domain.notice_key(dossier, status, str(mail["To"]))
        assert str(mail["Message-ID"]) == domain.message_id(key)
        assert mail.get_content_charset() in (None, "utf-8")
    returned = _mine(notify, cases["returned"])[0]
    returned_text = _body(returned, "plain")
    assert "chỉ yêu cầu bổ sung một lần" in returned_text
    staff_mails = _mine(notify, review)
    assert {str(m["To"]) for m in staff_mails} == set(STAFF)
    staff_text = _body(staff_mails[0], "plain")
    assert "chờ kiểm soát viên" in staff_text
    assert "waiting for an officer" in staff_text
    assert "16:30 30/12/2026" in staff_text
    # Every status went to the portal's webhook too, signed.
    await poll(
        lambda: len(webhooks.calls),
        lambda calls: calls >= 9,
        what="9 webhook calls, one per status (calls received)",
        within=120,
    )
    assert all(call["verified"] for call in webhooks.calls)
    assert {c["body"]["payload"]["dossier_id"] for c in webhooks.calls} >= set(cases.values())


async def test_a_republished_status_is_not_mailed_again(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    unit = await notify.unit(producer, recipients=("one@example.vn",), signer_emails=False)
    dossier = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    for _ in range(3):
        await notify.status(producer, unit, dossier, "approved", 2)
    marker = f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}"
    await notify.status(producer, unit, marker, "approved", 2)
    await poll(
        lambda: len(_mine(notify, marker)),
        lambda mails: mails == 1,
        what=f"the mail of {marker}, sent after the republished statuses (mails for it)",
        within=120,
    )
    assert len(_mine(notify, dossier)) == 1


async def _run(notify: Notify, producer: Producer, count: int) -> tuple[set[str], dict[str, int]]:
    unit = await notify.unit(producer, recipients=("ketoan@example.vn",), signer_emails=False)
    dossiers = [f"CT-{OFFICE}-2026-{uuid.uuid4().int % 10**8:08d}" for _ in range(count)]
    expected = {
        domain.message_id(domain.notice_key(d, "approved", "ketoan@example.vn")) for d in dossiers
    }
    for d in dossiers:
        await notify.status(producer, unit, d, "approved", 2)
    return expected, {}


# Each status also makes a webhook delivery sharing the senders, so 1000 statuses are 2000
# deliveries: the waits below leave room for a slow, loaded machine.
def _delivered(notify: Notify, expected: set[str]) -> dict[str, int]:
    return {k: len(v) for k, v in notify.sink.by_message_id().items() if k in expected}


async def _until_delivered(
    notify: Notify, expected: set[str], *, at_least: int, within: float
) -> dict[str, int]:
    def count(delivered: dict[str, int]) -> str:
        return f"{len(delivered)} of {len(expected)} mails" + (
            missing(expected, delivered) if at_least == len(expected) else ""
        )

    return await poll(
        lambda: _delivered(notify, expected),
        lambda delivered: len(delivered) >= at_least,
        what=f"{at_least} of {len(expected)} mails",
        within=within,
        every=1,
        show=count,
    )


async def test_mail_held_while_the_smtp_server_is_down_arrives_exactly_once(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    expected, _ = await _run(notify, producer, 1000)
    await _until_delivered(notify, expected, at_least=100, within=180)
    failures = notify.service.metric("notify_smtp_failures_total")
    notify.sink.stop()
    down_at = len(_delivered(notify, expected))
    # The server stays down until the service has noticed, and a while longer.
    await poll(
        lambda: notify.service.metric("notify_smtp_failures_total"),
        lambda now: now > failures,
        what="the notify service to count an SMTP failure (notify_smtp_failures_total)",
        within=120,
    )
    await asyncio.sleep(5)
    notify.sink.start()
    await _until_delivered(notify, expected, at_least=1000, within=600)
    counts = _delivered(notify, expected)
    assert down_at < 1000
    assert {k: n for k, n in counts.items() if n != 1} == {}


async def test_a_killed_worker_sends_no_mail_twice_and_misses_none(
    notify: Notify, producer: Producer, webhooks: Receiver
) -> None:
    expected, _ = await _run(notify, producer, 1000)
    await _until_delivered(notify, expected, at_least=150, within=180)
    notify.service.kill()
    killed_at = len(_delivered(notify, expected))
    notify.service.start(timeout=120)
    await _until_delivered(notify, expected, at_least=1000, within=600)
    counts = _delivered(notify, expected)
    assert killed_at < 1000
    assert {k: n for k, n in counts.items() if n != 1} == {}


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
    vietnamese, english = _body(mails[0], "plain").split("-" * 70)
    assert "Mẫu số 33" in vietnamese
    assert "Đề nghị tạm ứng, thanh toán vốn đầu tư" in vietnamese
    assert "Hợp đồng 02/2026/HĐXD" in vietnamese
    assert "nguồn 14, năm 2026" in vietnamese
    assert "investment capital" in english
