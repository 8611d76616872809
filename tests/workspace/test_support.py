"""The support inbox and the reply page in a real browser: an officer reads a unit's question
beside the dossier it names, answers with the keyboard alone, and the unit is emailed once."""

from __future__ import annotations

import asyncio

from playwright.async_api import BrowserContext, expect

from testkit import UnitKit
from testkit.support import support_request
from tests.support import poll
from tests.workspace.conftest import OFFICE, Desk, mail_arrives, mails_to, shot, staff_of
from tests.workspace.test_pages import unlabelled


async def test_an_officer_answers_a_request_beside_its_dossier_and_the_unit_is_emailed_once(
    desk: Desk, controller: BrowserContext, other: BrowserContext, unit: UnitKit
) -> None:
    dossier_id = await desk.held(unit)
    await poll(
        lambda: desk.pipeline.query(
            "SELECT 1 FROM support.unit_directory WHERE unit_code = %s", unit.code
        ),
        what=f"unit {unit.code} in the support service's copy of the directory",
    )
    asked = support_request(unit, category="voucher", dossier_id=dossier_id)
    request_id = asked.payload["request_id"]
    await desk.producer.send(desk.pipeline.ns.topics.support, asked, unit.code)
    await desk.status.statuses(request_id, {"received"})

    page = await controller.new_page()
    await page.goto(f"{desk.url}/support")
    await expect(page.get_by_role("heading", name="Yêu cầu hỗ trợ của đơn vị")).to_be_visible()
    await page.screenshot(path=shot("support-inbox"), full_page=True)
    await page.get_by_role("link", name=request_id).click()
    await expect(page.get_by_role("heading", name=f"Yêu cầu hỗ trợ {request_id}")).to_be_visible()
    main = page.locator("main")
    await expect(main).to_contain_text(asked.payload["body"])
    dossier = page.get_by_role("region", name=f"Hồ sơ liên quan {dossier_id}")
    await expect(dossier).to_contain_text("Chờ duyệt")  # the voucher's status and history
    assert await unlabelled(page) == []

    await page.get_by_role("button", name="Gửi trả lời").click()
    await expect(page.locator("#error-summary")).to_contain_text("Nhập nội dung trả lời")
    await page.screenshot(path=shot("support-reply-error"), full_page=True)
    await page.get_by_role("link", name="Nhập nội dung trả lời").click()
    await expect(page.get_by_label("Nội dung trả lời")).to_be_focused()

    answer = "Chứng từ đang chờ kiểm soát viên duyệt; kết quả có trước 16:30 ngày mai."
    await page.keyboard.type(answer)
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Trả lời, yêu cầu vẫn mở")).to_be_focused()
    await page.keyboard.press("ArrowDown")
    await expect(page.get_by_label("Trả lời và đóng: đã giải quyết")).to_be_checked()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Gửi trả lời")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#result")).to_contain_text("Đã trả lời và đóng yêu cầu")
    await expect(page.locator("#status")).to_contain_text("Đã giải quyết")
    await expect(main).to_contain_text(answer)
    await page.screenshot(path=shot("support-request"), full_page=True)

    events = await desk.status.statuses(request_id, {"resolved"})
    assert [e["status"] for e in events] == ["received", "resolved"]
    assert events[-1]["decided_by"] == staff_of(OFFICE)["controller"]
    contact = asked.payload["contact_email"]
    mail = await mail_arrives(desk.maildir, contact, request_id)
    assert "Kho bạc Nhà nước khu vực 0011" in mail.get_body(("plain",)).get_content()
    await asyncio.sleep(3)
    assert len([m for m in mails_to(desk.maildir, contact) if request_id in str(m)]) == 1

    theirs = await other.new_page()
    answered = await theirs.goto(f"{desk.url}/support/{request_id}")
    assert answered is not None
    assert answered.status == 404
    await theirs.goto(f"{desk.url}/support")
    await expect(theirs.locator("main")).not_to_contain_text(request_id)
    await page.close()
    await theirs.close()
