"""Hostile vouchers: each field past its bound is rejected MALFORMED naming the field, an
oversized message does not stop intake, and an id that cannot be recorded is dead-lettered."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from shared.contract import MAX_MESSAGE_BYTES
from shared.messaging import KEPT_BODY_BYTES
from shared.producer import MAX_REQUEST_BYTES
from testkit import Testbed
from tests.support import (
    API_KEY,
    Mutation,
    Producer,
    TopicLog,
    malformed_fields,
    nested,
    set_field,
    tampered,
)
from tests.vouchers.conftest import Pipeline


def _many_lines(payload: dict[str, Any]) -> None:
    payload["lines"] = payload["lines"] * 501


# (case, mutation, the field the rejection names)
CASES: list[tuple[str, Mutation, str]] = [
    ("unit_code_20kb", set_field("unit_code", "1" * 20_000), "unit_code"),
    ("treasury_code_20kb", set_field("treasury_code", "0" * 20_000), "treasury_code"),
    ("amount_2_60", set_field("lines.0.amount", 2**60), "lines[0].amount"),
    ("total_2_60", set_field("total_amount", 2**60), "total_amount"),
    ("amount_above_ceiling", set_field("lines.0.amount", 10**15 + 1), "lines[0].amount"),
    ("description_long", set_field("lines.0.description", "x" * 2001), "lines[0].description"),
    ("payee_name_long", set_field("payee.name", "x" * 501), "payee.name"),
    ("signature_value_long", set_field("signatures.0.value", "x" * 5000), "signatures[0].value"),
    ("attachment_size_negative", set_field("attachments.0.size", -1), "attachments[0].size"),
    ("fiscal_year_huge", set_field("fiscal_year", 2**40), "fiscal_year"),
    ("too_many_lines", _many_lines, "lines"),
    ("deep_unknown_field", set_field("deep", nested(300)), "deep.a.a.a.a.a.a.a.a.a"),
    ("huge_integer_unknown_field", set_field("note", 2**60), "note"),
    ("nul_in_unknown_field", set_field("note", "a\u0000b"), "note"),
]


@pytest.mark.parametrize(("case", "mutate", "field"), CASES, ids=[c[0] for c in CASES])
async def test_a_field_past_its_bound_is_rejected_malformed_naming_the_field(
    case: str,
    mutate: Mutation,
    field: str,
    bed: Testbed,
    pipeline: Pipeline,
    status: TopicLog,
    producer: Producer,
) -> None:
    unit = bed.unit()
    voucher = unit.voucher()
    if case == "attachment_size_negative" and not voucher.payload["attachments"]:
        voucher = unit.voucher(
            mutate=lambda p: p.update(
                attachments=[{"kind": "invoice", "name": "a.pdf", "sha256": "0" * 64, "size": 1}]
            )
        )
    await producer.send(pipeline.ns.topics.vouchers, tampered(voucher, mutate), unit.code)
    events = await status.statuses(voucher.payload["dossier_id"], {"rejected", "received"})
    fields = malformed_fields(events)
    assert any(f.startswith(field) for f in fields), fields


async def test_an_oversized_message_is_dead_lettered_with_its_digest_and_intake_goes_on(
    bed: Testbed, pipeline: Pipeline, status: TopicLog
) -> None:
    unit = bed.unit()
    oversized = unit.voucher()
    # Just under what the broker takes (as in the fault run), over the contract's 1 MiB.
    target = MAX_REQUEST_BYTES - 400
    bare = len(tampered(oversized, lambda p: p.update(padding="")))
    raw = tampered(oversized, lambda p: p.update(padding="x" * (target - bare)))
    assert MAX_MESSAGE_BYTES < len(raw) <= target
    valid = unit.voucher()
    producer = AIOKafkaProducer(
        bootstrap_servers=pipeline.stack.kafka_bootstrap_servers,
        acks="all",
        max_request_size=MAX_REQUEST_BYTES,
    )
    await producer.start()
    try:
        await producer.send_and_wait(pipeline.ns.topics.vouchers, raw, key=unit.code.encode())
        sent = time.monotonic()
        await producer.send_and_wait(
            pipeline.ns.topics.vouchers,
            orjson.dumps(valid.model_dump(mode="json")),
            key=unit.code.encode(),
        )
    finally:
        await producer.stop()
    events = await status.statuses(valid.payload["dossier_id"], {"received", "rejected"}, 30)
    decided_in = time.monotonic() - sent
    assert decided_in < 15, f"the voucher behind the oversized one took {decided_in:.1f} s"
    async with TopicLog(
        pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.deadletter
    ) as dead:
        await dead.wait_for(
            lambda: [r.key for r in dead.records],
            lambda keys: unit.code.encode() in keys,
            what=f"a dead letter keyed {unit.code} (the keys of the dead letters)",
        )
    [letter] = [r for r in dead.records if r.key == unit.code.encode()]
    headers = {k: v.decode() for k, v in letter.headers}
    assert letter.value == raw[:KEPT_BODY_BYTES]
    assert headers["sha256"] == hashlib.sha256(raw).hexdigest()
    assert headers["original-bytes"] == str(len(raw))
    assert "exceeds" in headers["error"]
    assert events[0]["status"] in {"received", "rejected"}
    parked = pipeline.query("SELECT count(*) FROM vouchers.parked_messages")
    assert parked == [(0,)]


async def test_a_dossier_id_that_cannot_be_recorded_is_dead_lettered_with_a_readable_error(
    bed: Testbed, pipeline: Pipeline, status: TopicLog, producer: Producer
) -> None:
    unit = bed.unit()
    long_id = "CT-" + "9" * 8000
    hostile = unit.voucher()
    valid = unit.voucher()
    await producer.send(
        pipeline.ns.topics.vouchers, tampered(hostile, set_field("dossier_id", long_id)), unit.code
    )
    await producer.send(pipeline.ns.topics.vouchers, valid, unit.code)
    await status.statuses(valid.payload["dossier_id"], {"received", "rejected"})
    async with TopicLog(
        pipeline.stack.kafka_bootstrap_servers, pipeline.ns.topics.deadletter
    ) as dead:
        await dead.wait_for(
            lambda: [r.key for r in dead.records],
            lambda keys: unit.code.encode() in keys,
            what=f"a dead letter keyed {unit.code} (the keys of the dead letters)",
        )
    [letter] = [r for r in dead.records if r.key == unit.code.encode()]
    assert dict(letter.headers)["error"] == (
        b"voucher.submitted: dossier_id of 8003 characters is longer than the 64 allowed"
    )
    assert long_id not in status.by_dossier


@pytest.mark.parametrize(
    ("mutate", "answer", "says"),
    [
        (set_field("dossier_id", "CT-" + "9" * 8000), 422, "dossier_id of 8003 characters"),
        (set_field("deep", nested(300)), 422, "nested deeper than 10 levels"),
        (set_field("note", 2**70), 422, "note: integer outside"),
        (set_field("padding", "x" * (MAX_MESSAGE_BYTES + 10)), 413, "over 1048576"),
        (set_field("padding", "x" * (3 * 1024 * 1024)), 413, "at most 2097152"),
    ],
    ids=["dossier_id_8kb", "deep_unknown_field", "huge_integer", "event_over_1mib", "body_3mib"],
)
async def test_http_intake_refuses_what_cannot_travel_as_an_event(
    mutate: Mutation, answer: int, says: str, bed: Testbed, pipeline: Pipeline
) -> None:
    voucher = bed.unit().voucher()
    body = orjson.loads(tampered(voucher, lambda p: None))["payload"]
    mutate(body)
    async with httpx.AsyncClient(base_url=pipeline.vouchers.url, timeout=30) as http:
        reply = await http.post(
            "/vouchers",
            content=json.dumps(body).encode(),
            headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
        )
    assert reply.status_code == answer, reply.text
    assert says in reply.json()["message"], reply.text


async def test_http_intake_takes_a_bounded_voucher_and_rejects_a_long_unit_code_on_the_stream(
    bed: Testbed, pipeline: Pipeline, status: TopicLog
) -> None:
    voucher = bed.unit().voucher()
    body = orjson.loads(tampered(voucher, set_field("unit_code", "1" * 20_000)))["payload"]
    async with httpx.AsyncClient(base_url=pipeline.vouchers.url, timeout=30) as http:
        reply = await http.post("/vouchers", json=body, headers={"X-API-Key": API_KEY})
    assert reply.status_code == 202, reply.text
    events = await status.statuses(voucher.payload["dossier_id"], {"rejected", "received"})
    assert [(e["status"], e["unit_code"]) for e in events] == [("rejected", "")]
    assert [r["field"] for r in events[0]["reasons"]] == ["unit_code"]
