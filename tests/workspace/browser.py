"""Debian's Chromium driven by Playwright, and reading sign-in codes from the SMTP sink."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from playwright.async_api import Browser, Page, async_playwright

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
    async with asyncio.timeout(within):
        while len(codes := codes_in(maildir, address)) <= before:  # noqa: ASYNC110
            await asyncio.sleep(0.2)
    await page.get_by_label("Mã gồm 6 chữ số").fill(codes[-1][1])
    await page.get_by_role("button", name="Tiếp tục").click()
    await page.wait_for_url(f"{base}/queue")
