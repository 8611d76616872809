"""Registrations, units, search, the office's day and failed deliveries, in a real browser;
every input of every page has a label."""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, Page, expect

from testkit import UnitKit
from tests.workspace.conftest import OFFICE, Desk, officer_context, shot, staff_of

UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.labels.length === 0 && !el.getAttribute('aria-label'))
  .map(el => el.outerHTML)"""


async def unlabelled(page: Page) -> list[str]:
    found: list[str] = await page.evaluate(UNLABELLED)
    return found


async def test_a_registration_approved_on_the_page_lets_the_units_voucher_through(
    desk: Desk, controller: BrowserContext
) -> None:
    kit = desk.bed.unit(treasury_code=OFFICE)
    dossier_id = await desk.register(kit, approve=False)
    page = await controller.new_page()
    await page.goto(f"{desk.url}/registrations")
    await page.screenshot(path=shot("registrations"), full_page=True)
    await page.get_by_role("link", name=dossier_id).click()
    await expect(page.get_by_role("heading", name=f"Hồ sơ đăng ký {dossier_id}")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("CN=")  # certificates' subjects
    await page.screenshot(path=shot("registration"), full_page=True)
    assert await unlabelled(page) == []
    await page.get_by_label("Duyệt chi").check()
    await page.get_by_role("button", name="Tiếp tục").click()
    await page.get_by_role("button", name="Gửi quyết định").click()
    await expect(page.locator("#result")).to_contain_text("Đăng ký đã được duyệt")
    events = await desk.status.statuses(dossier_id, {"approved", "refused"})
    assert events[-1]["status"] == "approved"
    assert events[-1]["decided_by"] == staff_of(OFFICE)["controller"]

    await desk.ready(kit)
    voucher = kit.voucher(total_amount=12_000_000)
    await desk.pipeline.send(voucher, desk.producer)
    final = await desk.status.statuses(voucher.payload["dossier_id"], {"approved", "rejected"})
    assert final[-1]["status"] == "approved", final
    await page.close()


async def test_the_head_finds_a_unit_suspends_and_reinstates_it(
    desk: Desk, browser: Browser, unit: UnitKit
) -> None:
    head = await officer_context(browser, desk, staff_of(OFFICE)["head"])
    page = await head.new_page()
    await page.goto(f"{desk.url}/units")
    await page.get_by_label("Mã hoặc tên đơn vị").fill(unit.code[:4])
    await page.get_by_role("button", name="Tìm").click()
    await page.screenshot(path=shot("units"), full_page=True)
    await page.get_by_role("link", name=unit.code).click()
    await expect(page.locator("#status")).to_contain_text("Đang hoạt động")
    await page.screenshot(path=shot("unit"), full_page=True)
    await page.get_by_role("link", name="Tạm dừng đơn vị").click()
    await page.get_by_role("button", name="Xác nhận: Tạm dừng đơn vị").click()
    await expect(page.locator("#result")).to_contain_text("Đơn vị đã bị tạm dừng")
    await expect(page.locator("#status")).to_contain_text("Tạm dừng")
    await page.get_by_role("link", name="Cho đơn vị hoạt động lại").click()
    await page.get_by_role("button", name="Xác nhận: Cho đơn vị hoạt động lại").click()
    await expect(page.locator("#status")).to_contain_text("Đang hoạt động")

    # The search lists the unit's vouchers: it gets one here, whatever ran before this test.
    await desk.ready(unit)
    await desk.held(unit)
    await page.goto(f"{desk.url}/search")
    await page.get_by_label("Mã đơn vị").fill(unit.code)
    await page.get_by_role("button", name="Tra cứu").click()
    await expect(page.locator("table")).to_contain_text(unit.code)
    assert await unlabelled(page) == []
    await page.screenshot(path=shot("search"), full_page=True)

    await page.goto(f"{desk.url}/today")
    await expect(page.get_by_role("img")).to_be_visible()
    await page.screenshot(path=shot("today"), full_page=True)
    await head.close()


async def test_a_controller_cannot_suspend_and_the_page_says_so(
    desk: Desk, controller: BrowserContext, unit: UnitKit
) -> None:
    page = await controller.new_page()
    await page.goto(f"{desk.url}/units/{unit.code}")
    await expect(page.locator("main")).to_contain_text("Chỉ lãnh đạo Kho bạc")
    answer = await controller.request.post(f"{desk.url}/units/{unit.code}/suspend", form={})
    assert answer.status == 403
    await page.close()


async def test_an_operator_sees_failed_webhooks_and_retries_one(
    desk: Desk, browser: Browser, unit: UnitKit
) -> None:
    await desk.held(unit)  # its status webhook goes nowhere, so it fails
    ops = await officer_context(browser, desk, staff_of(OFFICE)["ops"])
    page = await ops.new_page()
    retry = page.get_by_role("button", name="Gửi lại lần gửi").first
    for _ in range(60):
        await page.goto(f"{desk.url}/deliveries")
        if await retry.count():
            break
        await page.wait_for_timeout(1000)
    await page.screenshot(path=shot("deliveries"))
    await retry.click()
    await expect(page.locator("#result")).to_contain_text("Đã xếp lịch gửi lại")
    await ops.close()


async def test_the_sign_in_pages_and_the_language_switch(desk: Desk, browser: Browser) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(f"{desk.url}/signin")
    assert await unlabelled(page) == []
    await page.get_by_role("button", name="Gửi mã").click()
    await expect(page.locator("#error-summary")).to_contain_text("Nhập địa chỉ email")
    await page.get_by_role("link", name="English").click()
    await expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    await context.close()
