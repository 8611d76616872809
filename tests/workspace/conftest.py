"""The whole product as real processes — the services and the workspace — with two offices
(0011 and 0012), each with a controller, a head and an operator, and a real browser."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from stack.runner import Endpoints
from testkit import Testbed, UnitKit
from tests.support import Pipeline, Producer, TopicLog, new_pipeline, poll, staff_token
from tests.workspace.browser import chromium, sign_in

# A page's expectations wait for what a person would see, up to 30 s (Playwright's default is
# 5 s): on a machine busy with other work a page can take longer than that to answer, and a
# failed expectation still says what it looked for and what the page showed.
expect.set_options(timeout=30_000)

OFFICE, OTHER = "0011", "0012"
SECRET_KEY = "workspace-test-key-of-at-least-32-bytes!"
# Generous: the machine may be shared by several test runs at once.
STARTUP = 240
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "workspace"


def staff_of(office: str) -> dict[str, str]:
    return {role: f"{role}.{office}@kbnn.gov.vn" for role in ("controller", "head", "ops")}


@dataclass
class Desk:
    """The running product, and how to act on it from outside the workspace."""

    pipeline: Pipeline
    url: str
    maildir: Path
    bed: Testbed
    producer: Producer
    status: TopicLog

    async def register(self, unit: UnitKit, *, approve: bool = True, budget: bool = True) -> str:
        """Submit `unit`'s registration; approve it through the API unless told not to, and
        allocate its budget unless told not to (an investment project has a capital plan)."""
        registration = unit.registration()
        dossier_id: str = registration.payload["dossier_id"]
        await self.producer.send(self.pipeline.ns.topics.registrations, registration, unit.code)
        await self.status.statuses(dossier_id, {"in_review"})
        if approve:
            async with httpx.AsyncClient(base_url=self.pipeline.registration.url) as http:
                answer = await http.post(
                    f"/registrations/{dossier_id}/decision",
                    json={"decision": "approve"},
                    headers={"Authorization": f"Bearer {staff_token(unit.treasury_code)}"},
                )
            answer.raise_for_status()
            await self.status.statuses(dossier_id, {"approved"})
            if budget:
                await self.ready(unit)
            else:
                await self.known(unit)
        return dossier_id

    async def ready(self, unit: UnitKit, amount: int = 9_000_000_000) -> None:
        """Once registered: its budget allocated, and the unit known to the vouchers service."""
        for allocation in unit.allocations(amount=amount):
            await self.pipeline.allocate(allocation, self.status, self.producer)
        await self.known(unit)

    async def known(self, unit: UnitKit) -> None:
        """Wait until the vouchers service knows `unit`."""
        await poll(
            lambda: self.pipeline.directory_version(unit.code),
            lambda version: version > 0,
            within=60,
            what=f"the vouchers service to know unit {unit.code} (its directory version)",
        )

    async def opened(self, unit: UnitKit, context: BrowserContext) -> tuple[str, Page]:
        """A new held voucher of `unit`, and a page of `context` open on it."""
        dossier_id = await self.held(unit)
        page = await context.new_page()
        await page.goto(f"{self.url}/dossiers/{dossier_id}")
        return dossier_id, page

    async def decided(self, dossier_id: str, by: str) -> dict[str, Any]:
        """The dossier's final status event, once decided by `by`."""
        events = await self.status.statuses(dossier_id, {"approved", "refused", "returned"})
        assert events[-1]["decided_by"] == by, events
        return events[-1]

    async def held(self, unit: UnitKit, amount: int = 1_250_000_000) -> str:
        """A voucher of `unit` held for an officer's review."""
        voucher = unit.voucher(total_amount=amount)
        await self.pipeline.send(voucher, self.producer)
        dossier_id: str = voucher.payload["dossier_id"]
        await self.status.statuses(dossier_id, {"in_review"}, within=60)
        return dossier_id


@pytest.fixture(scope="session")
def product(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Pipeline, str, Path]]:
    assert stack.mail_dir is not None, "the test stack keeps its mail in a maildir"
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    offices = p.logs / "offices.json"
    offices.write_text(
        json.dumps(
            {
                "offices": [
                    {
                        "treasury_code": code,
                        "name": f"Kho bạc Nhà nước khu vực {code}",
                        "staff": [{"email": e, "role": r} for r, e in staff_of(code).items()],
                    }
                    for code in (OFFICE, OTHER)
                ]
            }
        ),
        encoding="utf-8",
    )
    directory = {"TREASURY_DIRECTORY": str(offices)}
    try:
        # The five start side by side, as `make run` starts them.
        p.launch("registration", "registration", REGISTRATION_APPROVAL="manual")
        p.launch("vouchers", "vouchers")
        p.launch("control", "control")
        # Webhooks to a port where nothing listens: they fail, for the deliveries page.
        p.launch(
            "notify",
            "notify",
            SMTP_FROM="tb@kbnn.gov.vn",
            PORTAL_WEBHOOKS="http://127.0.0.1:9/status",
            WEBHOOK_SECRET="test-webhook-secret",
            WEBHOOK_MAX_ATTEMPTS="2",
            RETRY_MAX_SECONDS="2",
            **directory,
        )
        urls = {f"{n.upper()}_URL": p.services[n].url for n in ("registration", "vouchers")}
        p.launch("support", "support")
        urls |= {f"{n.upper()}_URL": p.services[n].url for n in ("control", "notify", "support")}
        workspace = p.launch(
            "workspace",
            "workspace",
            WORKSPACE_SECRET_KEY=SECRET_KEY,
            SMTP_FROM="dangnhap@kbnn.gov.vn",
            **directory,
            **urls,
        )
        p.wait_ready(within=STARTUP)
        yield p, workspace.url, Path(stack.mail_dir)
    finally:
        p.stop_all()


@pytest.fixture(scope="session")
async def desk(product: tuple[Pipeline, str, Path], bed: Testbed) -> AsyncIterator[Desk]:
    p, url, maildir = product
    async with (
        Producer(p.stack.kafka_bootstrap_servers) as producer,
        TopicLog(p.stack.kafka_bootstrap_servers, p.ns.topics.status) as status,
    ):
        yield Desk(p, url, maildir, bed, producer, status)


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def officer_context(browser: Browser, desk: Desk, address: str) -> BrowserContext:
    context = await browser.new_context(viewport={"width": 1280, "height": 900}, locale="vi-VN")
    page = await context.new_page()
    await sign_in(page, desk.url, desk.maildir, address)
    await page.close()
    return context


@pytest.fixture(scope="session")
async def controller(browser: Browser, desk: Desk) -> AsyncIterator[BrowserContext]:
    context = await officer_context(browser, desk, staff_of(OFFICE)["controller"])
    yield context
    await context.close()


@pytest.fixture(scope="session")
async def other(browser: Browser, desk: Desk) -> AsyncIterator[BrowserContext]:
    """The controller of office 0012."""
    context = await officer_context(browser, desk, staff_of(OTHER)["controller"])
    yield context
    await context.close()


@pytest.fixture(scope="session")
async def unit(desk: Desk) -> UnitKit:
    kit = desk.bed.unit(treasury_code=OFFICE)
    await desk.register(kit)
    return kit


def shot(name: str) -> str:
    SHOTS.mkdir(parents=True, exist_ok=True)
    return str(SHOTS / f"{name}.png")


def mails_to(maildir: Path, recipient: str) -> list[Any]:
    found = []
    for path in sorted((maildir / "new").glob("*")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if recipient.lower() in str(message.get("To", "")).lower():
            found.append(message)
    return found


async def mail_arrives(maildir: Path, recipient: str, text: str, within: float = 60) -> Any:
    """The first mail to `recipient` that mentions `text`, once the sink has it."""
    try:
        async with asyncio.timeout(within):
            while True:
                found = [m for m in mails_to(maildir, recipient) if text in str(m)]
                if found:
                    return found[0]
                await asyncio.sleep(0.3)
    except TimeoutError:
        seen = [str(m.get("Subject")) for m in mails_to(maildir, recipient)]
        raise AssertionError(
            f"no mail to {recipient} about {text} in {within} s; saw {seen}"
        ) from None
