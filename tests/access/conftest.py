"""Every service as a real process, with data of one office (0011) for other offices to try;
one pipeline for the whole package, the hostile requests and the access matrix alike."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack.runner import Endpoints
from testkit import Testbed, UnitKit, new_contract
from testkit.investment import capital_plan, investment_request
from testkit.support import support_request
from tests.support import Pipeline, Producer, TopicLog, new_pipeline, poll

OFFICE, OTHER = "0011", "0012"
SERVICES = ("registration", "vouchers", "control", "notify", "support")


@dataclass
class Office0011:
    """What office 0011 holds, and what no other office may see of it."""

    pipeline: Pipeline
    unit: UnitKit
    registration_id: str
    voucher_id: str
    contract_number: str
    delivery_id: int
    request_id: str
    secrets: tuple[str, ...]

    def keys(self, service: str) -> dict[str, str]:
        """The value of each key parameter, as each service names its own things."""
        dossier = self.registration_id if service == "registration" else self.voucher_id
        return {
            "dossier_id": dossier,
            "unit_code": self.unit.code,
            "delivery_id": str(self.delivery_id),
            "request_id": self.request_id,
            "treasury_code": OFFICE,
            "fiscal_year": str(dt.date.today().year),
            # The contract number of `/contracts/{unit_code}/{number}`, reached through the
            # office of its project.
            "number": self.contract_number,
        }


@pytest.fixture(scope="package")
def services_0011(
    stack: Endpoints, ca_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Pipeline]:
    p = new_pipeline(stack, ca_file, tmp_path_factory)
    offices = p.logs / "offices.json"
    offices.write_text(
        json.dumps(
            {
                "offices": [
                    {"treasury_code": code, "name": f"Kho bạc {code}", "staff": staff}
                    for code, staff in (
                        (OFFICE, [{"email": "ksv.0011@kbnn.gov.vn", "role": "controller"}]),
                        (OTHER, [{"email": "ksv.0012@kbnn.gov.vn", "role": "controller"}]),
                    )
                ]
            }
        ),
        encoding="utf-8",
    )
    try:
        p.launch("registration", "registration", REGISTRATION_APPROVAL="auto")
        p.launch("vouchers", "vouchers")
        p.launch("control", "control")
        p.launch("notify", "notify", TREASURY_DIRECTORY=str(offices), SMTP_FROM="tb@kbnn.gov.vn")
        p.launch("support", "support")
        p.wait_ready()
        yield p
    finally:
        p.stop_all()


@pytest.fixture(scope="package")
async def office_0011(services_0011: Pipeline, bed: Testbed) -> Office0011:
    return await _populate(services_0011, bed)


async def _populate(p: Pipeline, bed: Testbed) -> Office0011:
    # An investment project: it also submits vouchers, and it has a contract.
    unit = bed.unit(treasury_code=OFFICE, project=True)
    async with (
        Producer(p.stack.kafka_bootstrap_servers) as producer,
        TopicLog(p.stack.kafka_bootstrap_servers, p.ns.topics.status) as status,
    ):
        await p.register(unit, status, producer)
        # Notify addresses a unit's notices from its copy of the directory: it must hold the
        # unit before the voucher's statuses arrive.
        await poll(
            lambda: bool(
                p.query("SELECT 1 FROM notify.unit_directory WHERE unit_code = %s", unit.code)
            ),
            what=f"unit {unit.code} in notify's copy of the directory",
            within=120,
        )
        voucher = unit.voucher()
        await p.send(voucher, producer)
        voucher_id = voucher.payload["dossier_id"]
        await status.statuses(voucher_id, {"approved"}, within=60)
        contract = new_contract(unit, value=1_000_000_000, on=dt.date.today())
        await p.send(capital_plan(unit, source_code="14", amount=500_000_000), producer)
        advance = investment_request(unit, "advance", contract=contract, amount=100_000_000)
        await p.send(advance, producer)
        await status.statuses(advance.payload["dossier_id"], {"approved"}, within=60)
        await poll(
            lambda: bool(
                p.query("SELECT 1 FROM support.unit_directory WHERE unit_code = %s", unit.code)
            ),
            what=f"unit {unit.code} in support's copy of the directory",
            within=60,
        )
        request = support_request(unit, dossier_id=voucher_id)
        await producer.send(p.ns.topics.support, request, unit.code)
        request_id = request.payload["request_id"]
        await status.statuses(request_id, {"received"}, within=60)

    def deliveries() -> list[tuple[int, str]]:
        return [
            (int(r[0]), str(r[1]))
            for r in p.query(
                "SELECT id, recipient FROM notify.deliveries WHERE dossier_id = %s", voucher_id
            )
        ]

    await poll(deliveries, what=f"a delivery of voucher {voucher_id}", within=120)
    await poll(
        lambda: p.query(
            "SELECT version FROM control.unit_directory WHERE unit_code = %s", unit.code
        ),
        within=60,
        what=f"unit {unit.code} in control's copy of the directory (its rows)",
    )
    found = deliveries()
    registration_id = p.query(
        "SELECT dossier_id FROM registration.dossiers WHERE unit_code = %s", unit.code
    )[0][0]
    return Office0011(
        pipeline=p,
        unit=unit,
        registration_id=str(registration_id),
        voucher_id=voucher_id,
        contract_number=contract.number,
        delivery_id=found[0][0],
        request_id=request_id,
        secrets=(
            unit.name,
            request.payload["subject"],
            *(recipient for _, recipient in found),
        ),
    )
