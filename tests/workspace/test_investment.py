"""An investment request held for review, as an officer sees it: the request laid out as its
paper form, the capital plan line it draws on and the contract's position, then approved."""

from __future__ import annotations

import datetime as dt

import httpx
from playwright.async_api import BrowserContext, expect

from shared.contract import AttachmentKind
from testkit import new_contract
from testkit.investment import capital_plan, investment_request
from tests.support import API_KEY
from tests.workspace.conftest import OFFICE, Desk, shot, staff_of

BILLION = 1_000_000_000


async def test_an_officer_sees_the_plan_line_and_the_contract_and_approves_the_advance(
    desk: Desk, controller: BrowserContext
) -> None:
    project = desk.bed.unit(treasury_code=OFFICE, project=True)
    await desk.register(project, budget=False)
    plan = capital_plan(project, source_code="14", amount=9 * BILLION)
    await desk.pipeline.send(plan, desk.producer)
    await desk.status.statuses(plan.payload["plan_id"], {"approved"})
    contract = new_contract(project, value=6 * BILLION, on=dt.date.today())
    contract = contract.model_copy(update={"number": f"{project.ids.digits(3)}/2026/HĐXD"})
    guarantee = (AttachmentKind.CONTRACT, AttachmentKind.GUARANTEE)
    first = investment_request(
        project, "advance", contract=contract, amount=400_000_000, attachments=guarantee
    )
    await desk.pipeline.send(first, desk.producer)
    await desk.status.statuses(first.payload["dossier_id"], {"approved"})
    # At or above the review threshold: held for an officer.
    held = investment_request(
        project, "advance", contract=contract, amount=2 * BILLION, attachments=guarantee
    )
    dossier_id = held.payload["dossier_id"]
    await desk.pipeline.send(held, desk.producer)
    await desk.status.statuses(dossier_id, {"in_review"}, within=60)

    page = await controller.new_page()
    await page.goto(f"{desk.url}/dossiers/{dossier_id}")
    paper = page.get_by_role("region", name="Giấy đề nghị tạm ứng, thanh toán vốn đầu tư")
    await expect(paper).to_be_visible()
    await expect(paper).to_contain_text("Tạm ứng vốn theo hợp đồng")
    await expect(paper).to_contain_text(contract.number)
    plan_row = page.get_by_role("row", name=f"Kế hoạch vốn {plan.payload['fiscal_year']}")
    # Requested 2 bn; the line holds 9 bn of which 0.4 bn is committed.
    await expect(plan_row).to_contain_text("2.000.000.000")
    await expect(plan_row).to_contain_text("8.600.000.000")
    position = page.get_by_role("heading", name=f"Tình hình hợp đồng {contract.number}")
    await expect(position).to_be_visible()
    await expect(page.locator("table", has=page.get_by_text("Đã tạm ứng"))).to_contain_text(
        "400.000.000"
    )
    await page.screenshot(path=shot("investment-dossier"), full_page=True)

    await page.get_by_label("Duyệt chi").check()
    await page.get_by_role("button", name="Tiếp tục").click()
    await page.get_by_role("button", name="Gửi quyết định").click()
    await expect(page.locator("#result")).to_contain_text("Hồ sơ đã được duyệt")
    events = await desk.status.statuses(dossier_id, {"approved"})
    assert events[-1]["decided_by"] == staff_of(OFFICE)["controller"], events
    async with httpx.AsyncClient(base_url=desk.pipeline.services["control"].url) as http:
        path = f"/contracts/{project.code}/{contract.number}"
        answer = await http.get(path, headers={"X-API-Key": API_KEY})
    assert answer.status_code == 200, answer.text
    assert answer.json()["advanced"] == 2_400_000_000
    await page.close()
