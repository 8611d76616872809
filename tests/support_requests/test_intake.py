"""Requests sent twice, sent again with other content, malformed or not decodable: what each
changes (nothing, for a duplicate), and where each goes."""

from __future__ import annotations

import asyncio
import datetime as dt
from functools import partial

from services.notify import domain as notify_domain
from services.notify import handlers as notify_handlers
from services.notify.render import Renderer
from shared.contract import encode
from shared.db import make_engine, make_sessionmaker
from testkit import UnitKit
from testkit.support import support_request
from tests.support import TopicLog, poll
from tests.support_requests.conftest import OFFICE, STAFF, Desk

ROW = (
    "SELECT status, sequence, last_sequence, subject, body, content_hash, replies "
    "FROM support.requests WHERE request_id = %s"
)


async def test_duplicates_and_redeliveries_change_nothing(desk: Desk, unit: UnitKit) -> None:
    await desk.registered(unit)
    topic = desk.pipeline.ns.topics.support
    envelope = support_request(unit, category="voucher", dossier_id="CT-0011-2026-00000001")
    request_id = envelope.payload["request_id"]
    await desk.producer.send(topic, envelope, unit.code)
    await desk.status.statuses(request_id, {"received"})
    before = desk.pipeline.query(ROW, request_id)

    await desk.producer.send(topic, envelope, unit.code)  # redelivered: same event id
    await desk.producer.send(topic, support_request(unit, **envelope.payload), unit.code)
    await poll(
        lambda: [e["sequence"] for e in desk.status.by_dossier[request_id]],
        lambda seen: len(seen) >= 2,
        what=f"{request_id}'s status published again for the same content",
    )
    changed = support_request(unit, **{**envelope.payload, "body": "Nội dung khác"})
    await desk.producer.send(topic, changed, unit.code)
    events = await desk.status.statuses(request_id, {"rejected"})
    assert [(e["status"], e["sequence"]) for e in events] == [
        ("received", 1),
        ("received", 1),
        ("rejected", 2),
    ]
    assert [r["code"] for r in events[-1]["reasons"]] == ["DUPLICATE_MODIFIED"]
    after = desk.pipeline.query(ROW, request_id)
    assert after[0][:2] == before[0][:2] == ("received", 1)
    assert after[0][3:] == before[0][3:], "the request was left untouched"
    await asyncio.sleep(3)
    for member in STAFF[OFFICE]:
        assert len(desk.mail_to(member, request_id)) == 1, f"{member} told more than once"
    # The officer still answers the request as first asked, under the next sequence.
    answered = await desk.reply(request_id, OFFICE, "Chứng từ đã được duyệt sáng nay.")
    assert answered.json()["body"] == envelope.payload["body"]
    assert answered.json()["sequence"] == 3


async def test_malformed_requests_are_rejected_and_undecodable_ones_dead_lettered(
    desk: Desk, unit: UnitKit
) -> None:
    await desk.registered(unit)
    p = desk.pipeline
    topic = p.ns.topics.support
    bad_category = support_request(unit, category="complaint")
    stranger = support_request(unit, unit_code="1999999")
    no_id = support_request(unit)
    no_id.payload.pop("request_id")
    async with TopicLog(p.stack.kafka_bootstrap_servers, p.ns.topics.deadletter) as dead:
        await desk.producer.send(topic, b"not json {", unit.code)
        await desk.producer.send(topic, encode(no_id), unit.code)
        await desk.producer.send(topic, bad_category, unit.code)
        await desk.producer.send(topic, stranger, "1999999")
        letters = await dead.wait_for(
            lambda: [r for r in dead.records if r.key == unit.code.encode()],
            lambda found: len(found) >= 2,
            what=f"two dead letters keyed {unit.code}",
        )
        errors = sorted(dict(r.headers)["error"].decode() for r in letters)
        assert [e.split(":")[0] for e in errors] == ["not JSON", "support.requested"], errors
        assert errors[1] == "support.requested: no request_id"
        assert all(dict(r.headers)["source-topic"] == topic.encode() for r in letters)
    [malformed] = await desk.status.statuses(bad_category.payload["request_id"], {"rejected"})
    assert [(r["code"], r["field"]) for r in malformed["reasons"]] == [("MALFORMED", "category")]
    [unknown] = await desk.status.statuses(stranger.payload["request_id"], {"rejected"})
    assert [r["code"] for r in unknown["reasons"]] == ["UNIT_UNKNOWN"]
    refused = await desk.reply(bad_category.payload["request_id"], OFFICE, "?")
    assert refused.status_code == 409, refused.text


async def test_a_request_past_its_deadline_warns_the_office_once(desk: Desk, unit: UnitKit) -> None:
    await desk.registered(unit)
    envelope = support_request(unit, category="account")
    request_id = envelope.payload["request_id"]
    await desk.producer.send(desk.pipeline.ns.topics.support, envelope, unit.code)
    [received] = await desk.status.statuses(request_id, {"received"})
    deadline = dt.datetime.fromisoformat(received["deadline"])
    await poll(
        lambda: desk.pipeline.query(
            "SELECT status FROM notify.dossiers WHERE dossier_id = %s", request_id
        ),
        lambda rows: rows == [("received",)],
        what=f"notify to watch {request_id}",
    )
    offices = notify_domain.TreasuryDirectory.model_validate_json(
        (desk.pipeline.logs / "offices.json").read_bytes()
    )
    engine = make_engine(desk.pipeline.stack.database_url)
    try:
        sessions = make_sessionmaker(engine)
        for hours in (-3, -1, -0.5, 1, 2, 30):  # from before the deadline to a day after
            now = deadline + dt.timedelta(hours=hours)
            deps = notify_handlers.Deps(
                renderer=Renderer(),
                offices=offices,
                webhooks=(),
                clock=partial(_at, now),
            )
            async with sessions() as session, session.begin():
                await notify_handlers.scan_deadlines(session, deps=deps)
    finally:
        await engine.dispose()
    kinds = desk.pipeline.query(
        "SELECT kind, recipient FROM notify.deliveries WHERE dossier_id = %s ORDER BY id",
        request_id,
    )
    warnings = sorted(k for k in kinds if k[0] in ("deadline_warning", "overdue"))
    assert warnings == sorted(
        (kind, member) for kind in ("deadline_warning", "overdue") for member in STAFF[OFFICE]
    )
    subjects = desk.pipeline.query(
        "SELECT DISTINCT kind, subject FROM notify.deliveries WHERE dossier_id = %s "
        "AND kind IN ('deadline_warning', 'overdue') ORDER BY kind",
        request_id,
    )
    assert subjects == [
        (
            "deadline_warning",
            f"[KBNN {OFFICE}] Sắp đến hạn trả lời: {request_id} / "
            f"Answer due within two hours: {request_id}",
        ),
        (
            "overdue",
            f"[KBNN {OFFICE}] Quá hạn trả lời: {request_id} / Answer overdue: {request_id}",
        ),
    ]


def _at(instant: dt.datetime) -> dt.datetime:
    return instant
