"""Debian's Chromium driven by Playwright, and reading sign-in codes from the SMTP sink."""

from __future__ import annotations

import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

from tests.waits import poll

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CODE = re.compile(r"Mã đăng nhập của bạn: (\d{6})")


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield browser
        finally:
            await browser.close()


def codes_in(maildir: Path, recipient: str) -> list[tuple[float, str]]:
    """Every sign-in code mailed to `recipient`, with the time its file was written."""
    found = []
    for path in (maildir / "new").glob("*") if (maildir / "new").exists() else []:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if recipient.lower() not in str(message.get("To", "")).lower():
            continue
        body = message.get_body(("plain",))
        match = CODE.search(body.get_content() if body is not None else "")
        if match:
            found.append((path.stat().st_mtime, match.group(1)))
    return sorted(found)


async def sign_in(page: Page, base: str, maildir: Path, address: str, within: float = 30) -> None:
    """Sign in as `address` through the page, with the code the sink received."""
    before = len(codes_in(maildir, address))
    await page.goto(f"{base}/signin")
    await page.get_by_label("Địa chỉ email công vụ").fill(address)
    await page.get_by_role("button", name="Gửi mã").click()
    await page.wait_for_url(f"{base}/signin/code")
    codes = await poll(
        lambda: codes_in(maildir, address),
        lambda seen: len(seen) > before,
        within=within,
        what=f"a new sign-in code for {address} in {maildir}/new (the codes there)",
    )
    await page.get_by_label("Mã gồm 6 chữ số").fill(codes[-1][1])
    await page.get_by_role("button", name="Tiếp tục").click()
    await page.wait_for_url(f"{base}/queue")
