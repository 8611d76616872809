"""Intake of vouchers: each reason code, all reasons together, deadlines, duplicates, poison."""

from __future__ import annotations

import datetime as dt

import httpx
import orjson
import pytest

from shared.contract import INTAKE_REASONS, ReasonCode, SignerRole
from shared.contract.deadlines import WorkingCalendar, voucher_deadline
from testkit import Testbed, fault_variants, invalid_voucher
from tests.support import API_KEY, Producer, TopicLog, poll, staff_token
from tests.vouchers.conftest import Pipeline

CASES = [
    (kind, variant)
    for kind, variants in fault_variants().items()
    if kind in INTAKE_REASONS
    for variant in variants
    if (kind, variant)
    not in {(ReasonCode.MALFORMED, "not_json"), (ReasonCode.MALFORMED, "no_envelope")}
]


@pytest.mark.parametrize(("kind", "variant"), CASES, ids=[f"{k.value}-{v}" for k, v in CASES])
async def test_a_faulty_voucher_is_rejected_with_its_reason(
    kind: ReasonCode,
    variant: str,
    bed: Testbed,
    pipeline: Pipeline,
    status: TopicLog,
    producer: Producer,
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer, allocate=None)
    faulty = invalid_voucher(unit, kind, variant=variant)
    for prior in faulty.prior:
        await producer.send(pipeline.ns.topics.vouchers, prior, unit.code)
    await producer.send(pipeline.ns.topics.vouchers, faulty.raw, unit.code)
    assert faulty.dossier_id is not None
    if kind is ReasonCode.DUPLICATE_MODIFIED:
        await status.wait_for(
            lambda: [e["status"] for e in status.by_dossier.get(faulty.dossier_id or "", [])],
            lambda seen: len(seen) >= 2,
            what=f"2 statuses of {faulty.dossier_id} (its statuses)",
        )
    events = await status.statuses(faulty.dossier_id, {"rejected"})
    rejected = [e for e in events if e["status"] == "rejected"]
    assert len(rejected) == 1
    assert kind.value in [r["code"] for r in rejected[0]["reasons"]], rejected[0]["reasons"]


async def test_a_suspended_unit_cannot_submit(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer, allocate=None)
    token = {"Authorization": f"Bearer {staff_token(unit.treasury_code, 'head')}"}
    version = pipeline.directory_version(unit.code)
    async with httpx.AsyncClient(base_url=pipeline.registration.url) as http:
        assert (await http.post(f"/units/{unit.code}/suspend", headers=token)).status_code == 200
    await poll(
        lambda: pipeline.directory_version(unit.code),
        lambda now: now > version,
        what=f"the vouchers service to see unit {unit.code} suspended (directory version, "
        f"was {version})",
    )
    voucher = unit.voucher()
    await producer.send(pipeline.ns.topics.vouchers, voucher, unit.code)
    events = await status.statuses(voucher.payload["dossier_id"], {"rejected", "received"})
    assert [r["code"] for r in events[-1]["reasons"]] == ["UNIT_SUSPENDED"]


async def test_every_fault_of_a_voucher_is_reported_at_once(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer, allocate=None)

    def many(payload: dict[str, object]) -> None:
        payload["total_amount"] = int(payload["total_amount"]) + 1  # type: ignore[call-overload]
        payload["payee"] = None
        payload["lines"][0]["economic_code"] = "655"  # type: ignore[index]

    voucher = unit.voucher(mutate=many, signed_by=[SignerRole.ACCOUNT_HOLDER])
    await producer.send(pipeline.ns.topics.vouchers, voucher, unit.code)
    events = await status.statuses(voucher.payload["dossier_id"], {"rejected", "received"})
    codes = sorted(r["code"] for r in events[-1]["reasons"])
    assert codes == ["CODE_INVALID", "PAYEE_MISSING", "SIGNATURE_MISSING", "TOTAL_MISMATCH"]


async def test_a_valid_voucher_is_received_with_its_deadline_and_handed_to_control(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer, allocate=None)
    voucher = unit.voucher()
    dossier = voucher.payload["dossier_id"]
    await producer.send(pipeline.ns.topics.vouchers, voucher, unit.code)
    events = await status.statuses(dossier, {"received", "rejected"})
    assert [(e["status"], e["sequence"]) for e in events] == [("received", 1)]
    async with httpx.AsyncClient(base_url=pipeline.vouchers.url) as http:
        shown = (await http.get(f"/vouchers/{dossier}", headers={"X-API-Key": API_KEY})).json()
    received_at = dt.datetime.fromisoformat(shown["received_at"])
    expected = voucher_deadline(received_at, calendar=WorkingCalendar())
    assert dt.datetime.fromisoformat(events[0]["deadline"]) == expected
    assert (expected.hour, expected.minute) == (16, 30)
    assert shown["status"] == "received"
    assert [h["status"] for h in shown["history"]] == ["received"]
    async with TopicLog(
        pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.control
    ) as control:
        await control.wait_for(
            lambda: len(control.by_dossier.get(dossier, [])),
            lambda handed: handed > 0,
            what=f"{dossier} handed to control (messages for it on the control topic)",
        )
    handed = control.by_dossier[dossier][0]
    assert handed["voucher"] == voucher.payload
    assert handed["deadline"] == events[0]["deadline"]


async def test_a_resubmission_repeats_the_status_and_a_modified_one_leaves_the_original(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer, allocate=None)
    original = unit.voucher()
    dossier = original.payload["dossier_id"]
    same = unit.wrap(original.payload)
    modified = unit.voucher(dossier_id=dossier, total_amount=original.payload["total_amount"] + 5)
    for envelope in (original, original, same, modified):
        await producer.send(pipeline.ns.topics.vouchers, envelope, unit.code)
    await status.wait_for(
        lambda: [(e["status"], e["sequence"]) for e in status.by_dossier.get(dossier, [])],
        lambda seen: len(seen) >= 3,
        what=f"3 statuses of {dossier} (its statuses)",
    )
    events = status.by_dossier[dossier]
    assert [(e["status"], e["sequence"]) for e in events] == [
        ("received", 1),
        ("received", 1),
        ("rejected", 2),
    ]
    assert [r["code"] for r in events[2]["reasons"]] == ["DUPLICATE_MODIFIED"]
    async with httpx.AsyncClient(base_url=pipeline.vouchers.url) as http:
        shown = (await http.get(f"/vouchers/{dossier}", headers={"X-API-Key": API_KEY})).json()
    assert shown["status"] == "received"
    assert shown["total_amount"] == original.payload["total_amount"]


async def test_poison_messages_do_not_stop_the_consumer(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    await pipeline.register(unit, status, producer, allocate=None)
    not_json = invalid_voucher(unit, ReasonCode.MALFORMED, variant="not_json")
    no_envelope = invalid_voucher(unit, ReasonCode.MALFORMED, variant="no_envelope")
    # PostgreSQL refuses a NUL character in text: once it made the handler fail, and the
    # voucher vanished into the dead letters; now it is refused, naming the field.
    nul = unit.voucher(mutate=lambda p: p.update(voucher_no="12\u00005"))
    valid = unit.voucher()
    for raw in (
        not_json.raw,
        no_envelope.raw,
        orjson.dumps(nul.model_dump(mode="json")),
        orjson.dumps(valid.model_dump(mode="json")),
    ):
        await producer.send(pipeline.ns.topics.vouchers, raw, unit.code)
    events = await status.statuses(valid.payload["dossier_id"], {"received"})
    assert events[0]["status"] == "received"
    refused = await status.statuses(nul.payload["dossier_id"], {"rejected"})
    assert [(r["code"], r["field"]) for r in refused[0]["reasons"]] == [("MALFORMED", "voucher_no")]
    async with TopicLog(
        pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.deadletter
    ) as dead:
        await dead.wait_for(
            lambda: sum(r.key == unit.code.encode() for r in dead.records),
            lambda letters: letters >= 2,
            what=f"2 dead letters of unit {unit.code} (dead letters of it)",
        )
    values = [r.value for r in dead.records if r.key == unit.code.encode()]
    assert values == [not_json.raw, no_envelope.raw]
