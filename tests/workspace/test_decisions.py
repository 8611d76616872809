"""An officer decides held vouchers in a real browser, against the real services."""

from __future__ import annotations

from playwright.async_api import BrowserContext, expect

from testkit import UnitKit
from tests.workspace.conftest import OFFICE, Desk, mail_arrives, shot, staff_of


async def test_officer_approves_a_held_dossier_and_the_unit_is_told(
    desk: Desk, controller: BrowserContext, unit: UnitKit
) -> None:
    dossier_id = await desk.held(unit)
    page = await controller.new_page()
    await page.goto(f"{desk.url}/queue")
    await expect(page.get_by_role("heading", name="Hồ sơ chờ duyệt")).to_be_visible()
    await page.screenshot(path=shot("queue"), full_page=True)
    await page.get_by_role("link", name=dossier_id).click()
    await expect(page.get_by_role("heading", name=f"Hồ sơ {dossier_id}")).to_be_visible()
    await page.screenshot(path=shot("dossier"), full_page=True)
    await page.get_by_label("Duyệt chi").check()
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.get_by_role("heading", name="Kiểm tra trước khi gửi")).to_be_visible()
    await page.screenshot(path=shot("dossier-check"), full_page=True)
    await page.get_by_role("button", name="Gửi quyết định").click()
    await expect(page.locator("#result")).to_contain_text("Hồ sơ đã được duyệt")
    await page.screenshot(path=shot("dossier-approved"))

    final = await desk.decided(dossier_id, by=staff_of(OFFICE)["controller"])
    assert final["status"] == "approved", final
    await mail_arrives(desk.maildir, f"ketoan.{unit.code}@example.vn", dossier_id)
    await page.close()


async def test_refusing_needs_a_reason_and_then_lands_as_refused(
    desk: Desk, controller: BrowserContext, unit: UnitKit
) -> None:
    dossier_id, page = await desk.opened(unit, controller)
    await page.get_by_label("Từ chối").check()
    async with page.expect_response(f"**/dossiers/{dossier_id}/check") as answered:
        await page.get_by_role("button", name="Tiếp tục").click()
    answer = await answered.value
    assert answer.status == 400
    summary = page.locator("#error-summary")
    await expect(summary).to_contain_text("Chọn lý do từ chối hoặc trả lại")
    await expect(page.locator("#reason_code-error")).to_be_visible()
    await page.screenshot(path=shot("dossier-error"), full_page=False)
    assert desk.status.by_dossier[dossier_id][-1]["status"] == "in_review"

    await page.get_by_label("Lý do", exact=True).select_option("CONTENT_NOT_JUSTIFIED")
    await page.get_by_label("Lời nhắn cho đơn vị").fill("Thiếu bảng kê chi tiết")
    await page.get_by_role("button", name="Tiếp tục").click()
    await expect(page.locator("#check-decision")).to_contain_text("Từ chối")
    await page.get_by_role("button", name="Gửi quyết định").click()
    await expect(page.locator("#result")).to_contain_text("Hồ sơ đã bị từ chối")

    final = await desk.decided(dossier_id, by=staff_of(OFFICE)["controller"])
    assert final["status"] == "refused", final
    reasons = [(r["code"], r["message"]) for r in final["reasons"]]
    assert reasons == [("CONTENT_NOT_JUSTIFIED", "Thiếu bảng kê chi tiết")]
    await page.close()


async def test_the_approve_flow_works_with_the_keyboard_alone(
    desk: Desk, controller: BrowserContext, unit: UnitKit
) -> None:
    dossier_id, page = await desk.opened(unit, controller)

    async def tab_to(selector: str) -> None:
        target = page.locator(selector)
        for _ in range(300):
            await page.keyboard.press("Tab")
            if await target.evaluate("el => el === document.activeElement"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    await tab_to("#decision-approve")
    await page.keyboard.press("Space")
    await expect(page.locator("#decision-approve")).to_be_checked()
    await tab_to("form[action$='/check'] button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.locator("#check-decision")).to_contain_text("Duyệt chi")
    await tab_to("form[action$='/decision'] button[type=submit]")
    await page.keyboard.press("Enter")
    await expect(page.locator("#result")).to_contain_text("Hồ sơ đã được duyệt")
    final = await desk.decided(dossier_id, by=staff_of(OFFICE)["controller"])
    assert final["status"] == "approved"
    await page.close()
