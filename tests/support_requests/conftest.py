"""Registration, support and notify as real processes on the suite's Kafka, PostgreSQL and
SMTP server, with two offices (0011 and 0012) and their staff."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from stack.runner import Endpoints
from testkit import Testbed, UnitKit
from testkit.support import support_request
from tests.notify.conftest import Mailbox
from tests.support import (
    API_KEY,
    Pipeline,
    Producer,
    TopicLog,
    new_pipeline,
    poll,
    staff_token,
)

OFFICE, OTHER = "0011", "0012"
STAFF = {
    OFFICE: ("ksv1.0011@kbnn.gov.vn", "ksv2.0011@kbnn.gov.vn"),
    OTHER: ("ksv.0012@kbnn.gov.vn",),
}
OFFICE_NAME = "Kho bạc Nhà nước khu vực XI"


@dataclass
class Desk:
    """The running services, the mail the SMTP server received, and the status stream."""

    pipeline: Pipeline
    mailbox: Mailbox
    status: TopicLog
    producer: Producer

    @property
    def url(self) -> str:
        return self.pipeline.services["support"].url

    async def registered(self, unit: UnitKit) -> None:
        """Register `unit` (approved automatically) and wait until support knows it."""
        registration = unit.registration()
        await self.producer.send(self.pipeline.ns.topics.registrations, registration, unit.code)
        await self.status.statuses(registration.payload["dossier_id"], {"approved"})
        await poll(
            lambda: self.pipeline.query(
                "SELECT 1 FROM support.unit_directory WHERE unit_code = %s", unit.code
            ),
            what=f"unit {unit.code} in the support service's copy of the directory",
            within=60,
        )

    async def asked(self, unit: UnitKit, *categories: str) -> list[str]:
        """One request of `unit` per category, sent on Kafka; their ids once received."""
        sent = [support_request(unit, category=c) for c in categories]
        for envelope in sent:
            await self.producer.send(self.pipeline.ns.topics.support, envelope, unit.code)
        ids = [str(e.payload["request_id"]) for e in sent]
        for request_id in ids:
            await self.status.statuses(request_id, {"received"})
        return ids

    def mail_to(self, recipient: str, about: str) -> list[EmailMessage]:
        """Messages to `recipient` whose subject names `about`."""
        return [
            m
            for m in self.mailbox.messages()
            if str(m["Delivered-To"]) == recipient and about in str(m["Subject"])
        ]

    async def reply(
        self, request_id: str, office: str, message: str, resolution: str = "answered"
    ) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            return await http.post(
                f"/support/{request_id}/reply",
                json={"message": message, "resolution": resolution},
                headers=officer(office),
            )

    async def get(self, path: str, office: str, **params: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as http:
            return await http.get(path, params=params, headers=officer(office))


def officer(office: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {staff_token(office)}"}


def portal() -> dict[str, str]:
    return {"X-API-Key": API_KEY}


@pytest.fixture(scope="module")
def desk_services(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    offices = p.logs / "offices.json"
    document = {
        "offices": [
            {
                "treasury_code": code,
                "name": OFFICE_NAME if code == OFFICE else f"Kho bạc {code}",
                "staff": [{"email": e, "role": "controller"} for e in emails],
            }
            for code, emails in STAFF.items()
        ]
    }
    offices.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    try:
        p.start("registration", "registration", REGISTRATION_APPROVAL="auto")
        p.start("support", "support")
        p.start("notify", "notify", TREASURY_DIRECTORY=str(offices), SMTP_FROM="hotro@kbnn.gov.vn")
        yield p
    finally:
        p.stop_all()


@pytest.fixture
async def desk(desk_services: Pipeline, stack: Endpoints) -> AsyncIterator[Desk]:
    assert stack.mail_dir is not None, "the suite's SMTP server keeps its mail in a maildir"
    async with (
        Producer(stack.kafka_bootstrap_servers) as producer,
        TopicLog(stack.kafka_bootstrap_servers, desk_services.ns.topics.status) as status,
    ):
        yield Desk(desk_services, Mailbox(Path(stack.mail_dir)), status, producer)


@pytest.fixture
def unit(bed: Testbed) -> UnitKit:
    return bed.unit(treasury_code=OFFICE)
