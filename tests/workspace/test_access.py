"""The workspace's doors, checked on the server: sessions, offices, form tokens.

The services' access matrix (tests/access) walks their OpenAPI documents; the workspace has
none (it serves pages), so its rules are tried here: no session goes to the sign-in page,
another office's dossier is not found, and a form not issued to this session for this
path — replayed from another session, or without its token — is refused.
"""

from __future__ import annotations

from playwright.async_api import Browser, BrowserContext, expect

from testkit import UnitKit
from tests.workspace.conftest import Desk, shot

FIELDS = ("csrf", "decision", "reason_code", "message")


async def test_without_a_session_pages_send_to_sign_in_and_posts_are_refused(
    desk: Desk, browser: Browser, unit: UnitKit
) -> None:
    dossier_id = await desk.held(unit)
    context = await browser.new_context()
    page = await context.new_page()
    for path in ("/queue", f"/dossiers/{dossier_id}", "/registrations", "/today"):
        await page.goto(f"{desk.url}{path}")
        assert page.url.startswith(f"{desk.url}/signin?next="), (path, page.url)
    await page.screenshot(path=shot("signin"))
    answer = await context.request.post(
        f"{desk.url}/dossiers/{dossier_id}/decision", form={"decision": "approve"}
    )
    assert answer.status == 403
    await context.close()


async def test_another_office_sees_nothing_and_cannot_replay_a_form(
    desk: Desk, controller: BrowserContext, other: BrowserContext, unit: UnitKit
) -> None:
    dossier_id = await desk.held(unit)
    theirs = await other.new_page()
    await theirs.goto(f"{desk.url}/queue")
    await expect(theirs.get_by_role("heading", name="Hồ sơ chờ duyệt")).to_be_visible()
    assert dossier_id not in await theirs.content()
    answer = await theirs.goto(f"{desk.url}/dossiers/{dossier_id}")
    assert answer is not None
    assert answer.status == 404
    await expect(theirs.get_by_role("heading", name="Không tìm thấy trang")).to_be_visible()

    # The office's own officer gets as far as the confirmation; its form is captured.
    mine = await controller.new_page()
    await mine.goto(f"{desk.url}/dossiers/{dossier_id}")
    await mine.get_by_label("Duyệt chi").check()
    await mine.get_by_role("button", name="Tiếp tục").click()
    confirm = mine.locator("form[action$='/decision']")
    await expect(confirm).to_be_visible()
    form: dict[str, str | float | bool] = {
        name: await confirm.locator(f"input[name={name}]").input_value() for name in FIELDS
    }
    url = f"{desk.url}/dossiers/{dossier_id}/decision"

    replayed = await other.request.post(url, form=form)
    assert replayed.status == 403, await replayed.text()
    without_token = await controller.request.post(
        url, form={k: v for k, v in form.items() if k != "csrf"}
    )
    assert without_token.status == 403, await without_token.text()
    forged = await controller.request.post(url, form={**form, "csrf": "forged"})
    assert forged.status == 403

    events = desk.status.by_dossier[dossier_id]
    assert [e["status"] for e in events][-1] == "in_review", events
    await mine.goto(f"{desk.url}/dossiers/{dossier_id}")
    await expect(mine.locator("#status")).to_contain_text("Chờ duyệt")
    await mine.close()
    await theirs.close()
