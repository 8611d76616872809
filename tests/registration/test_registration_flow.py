"""A unit registers; staff review; the directory carries the unit to other services."""

from __future__ import annotations

import httpx
import orjson

from shared.contract import RequestType, SignerRole
from stack.runner import Endpoints
from testkit import Testbed
from tests.registration.conftest import API_KEY, staff_token
from tests.support import Namespace, Producer, ServiceProcess, TopicLog


def _sequence(events: list[dict[str, object]]) -> list[tuple[object, object]]:
    return [(e["status"], e["sequence"]) for e in events]


async def test_a_valid_new_registration_is_approved_at_once_and_reaches_the_directory(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, _ = auto
    unit = bed.unit()
    registration = unit.registration()
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, registration, unit.code)
    dossier = registration.payload["dossier_id"]
    events = await auto_status.statuses(dossier, {"approved", "rejected"})
    assert _sequence(events) == [("received", 1), ("approved", 2)]
    assert events[0]["deadline"] is not None
    assert events[0]["dossier_kind"] == "registration"

    async with TopicLog(stack.kafka_bootstrap_servers, ns.topics.units) as directory:
        await directory.wait_for(
            lambda: sum(r.key == unit.code.encode() for r in directory.records),
            lambda entries: entries > 0,
            what=f"unit {unit.code} in the directory (its entries)",
        )
        entry = orjson.loads(
            next(r for r in directory.records if r.key == unit.code.encode()).value
        )["payload"]
    assert entry["status"] == "active"
    assert entry["treasury_code"] == unit.treasury_code
    assert {s["certificate_serial"]: s["role"] for s in entry["signers"]} == {
        serial: role.value for serial, role in unit.serials().items()
    }
    assert all("BEGIN PUBLIC KEY" in s["public_key_pem"] for s in entry["signers"])


async def test_a_registration_under_manual_approval_waits_for_staff_of_its_office(
    stack: Endpoints,
    bed: Testbed,
    manual: tuple[Namespace, ServiceProcess],
    manual_status: TopicLog,
) -> None:
    ns, service = manual
    unit = bed.unit()
    registration = unit.registration()
    dossier = registration.payload["dossier_id"]
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, registration, unit.code)
    events = await manual_status.statuses(dossier, {"in_review"})
    assert _sequence(events) == [("received", 1), ("in_review", 2)]

    office = {"Authorization": f"Bearer {staff_token(unit.treasury_code)}"}
    async with httpx.AsyncClient(base_url=service.url) as http:
        queue = await http.get("/registrations", params={"status": "in_review"}, headers=office)
        assert queue.status_code == 200
        assert dossier in [d["dossier_id"] for d in queue.json()]
        decided = await http.post(
            f"/registrations/{dossier}/decision", json={"decision": "approve"}, headers=office
        )
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "approved"
        assert decided.json()["decided_by"] == f"kbnn.{unit.treasury_code}.controller"
        again = await http.post(
            f"/registrations/{dossier}/decision", json={"decision": "approve"}, headers=office
        )
        assert again.status_code == 409
        shown = await http.get(f"/units/{unit.code}", headers=office)
    events = await manual_status.statuses(dossier, {"approved"})
    assert _sequence(events) == [("received", 1), ("in_review", 2), ("approved", 3)]
    assert shown.status_code == 200
    assert shown.json()["status"] == "active"


async def test_staff_can_refuse_with_reasons(
    stack: Endpoints,
    bed: Testbed,
    manual: tuple[Namespace, ServiceProcess],
    manual_status: TopicLog,
) -> None:
    ns, service = manual
    unit = bed.unit()
    registration = unit.registration()
    dossier = registration.payload["dossier_id"]
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, registration, unit.code)
    await manual_status.statuses(dossier, {"in_review"})
    office = {"Authorization": f"Bearer {staff_token(unit.treasury_code, 'head')}"}
    reason = {"code": "SIGNATURE_SAMPLE_UNCLEAR", "message": "Mẫu chữ ký không rõ"}
    async with httpx.AsyncClient(base_url=service.url) as http:
        empty = await http.post(
            f"/registrations/{dossier}/decision", json={"decision": "refuse"}, headers=office
        )
        refused = await http.post(
            f"/registrations/{dossier}/decision",
            json={"decision": "refuse", "reasons": [reason]},
            headers=office,
        )
    assert empty.status_code == 422
    assert refused.status_code == 200
    events = await manual_status.statuses(dossier, {"refused"})
    assert events[-1]["reasons"][0]["code"] == "SIGNATURE_SAMPLE_UNCLEAR"


async def test_staff_endpoints_need_a_token_of_the_dossiers_office(
    stack: Endpoints,
    bed: Testbed,
    manual: tuple[Namespace, ServiceProcess],
    manual_status: TopicLog,
) -> None:
    ns, service = manual
    unit = bed.unit(treasury_code="0011")
    registration = unit.registration()
    dossier = registration.payload["dossier_id"]
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, registration, unit.code)
    await manual_status.statuses(dossier, {"in_review"})
    other_office = {"Authorization": f"Bearer {staff_token('0099')}"}
    async with httpx.AsyncClient(base_url=service.url) as http:
        anonymous = await http.post(
            f"/registrations/{dossier}/decision", json={"decision": "approve"}
        )
        forged = await http.post(
            f"/registrations/{dossier}/decision",
            json={"decision": "approve"},
            headers={"Authorization": "Bearer not-a-jwt"},
        )
        foreign = await http.post(
            f"/registrations/{dossier}/decision", json={"decision": "approve"}, headers=other_office
        )
        foreign_list = await http.get(
            "/registrations", params={"treasury_code": "0011"}, headers=other_office
        )
        foreign_unit = await http.get(f"/units/{unit.code}", headers=other_office)
    assert anonymous.status_code == 401
    assert forged.status_code == 401
    assert foreign.status_code == 404  # another office's dossier is not shown to exist
    assert foreign_list.status_code == 403
    assert foreign_unit.status_code == 404  # not registered yet: still under review
    events = await manual_status.statuses(dossier, {"in_review"})
    assert events[-1]["status"] == "in_review"


async def test_portals_without_kafka_submit_over_http_with_their_api_key(
    bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    _, service = auto
    unit = bed.unit()
    payload = unit.registration().payload
    async with httpx.AsyncClient(base_url=service.url) as http:
        without = await http.post("/registrations", json=payload)
        wrong = await http.post("/registrations", json=payload, headers={"X-API-Key": "nope"})
        accepted = await http.post("/registrations", json=payload, headers={"X-API-Key": API_KEY})
        incomplete = await http.post(
            "/registrations", json={"unit": {}}, headers={"X-API-Key": API_KEY}
        )
    assert without.status_code == 401
    assert wrong.status_code == 401
    assert incomplete.status_code == 422
    assert accepted.status_code == 202
    assert accepted.json()["dossier_id"] == payload["dossier_id"]
    events = await auto_status.statuses(payload["dossier_id"], {"approved"})
    assert events[-1]["status"] == "approved"


async def test_a_suspended_unit_is_marked_in_the_directory_and_can_be_reinstated(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, service = auto
    unit = bed.unit()
    registration = unit.registration()
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, registration, unit.code)
        await auto_status.statuses(registration.payload["dossier_id"], {"approved"})
        office = {"Authorization": f"Bearer {staff_token(unit.treasury_code, 'head')}"}
        async with httpx.AsyncClient(base_url=service.url) as http:
            suspended = await http.post(f"/units/{unit.code}/suspend", headers=office)
            twice = await http.post(f"/units/{unit.code}/suspend", headers=office)
        assert suspended.status_code == 200
        assert suspended.json()["status"] == "suspended"
        assert twice.status_code == 409
        change = unit.registration(request_type=RequestType.CHANGE_SIGNERS)
        await producer.send(ns.topics.registrations, change, unit.code)
        events = await auto_status.statuses(change.payload["dossier_id"], {"rejected"})
        assert [r["code"] for r in events[-1]["reasons"]] == ["UNIT_SUSPENDED"]
        async with httpx.AsyncClient(base_url=service.url) as http:
            reinstated = await http.post(f"/units/{unit.code}/reinstate", headers=office)
        assert reinstated.json()["status"] == "active"
        assert reinstated.json()["version"] == suspended.json()["version"] + 1
        change = unit.registration(request_type=RequestType.CHANGE_SIGNERS)
        await producer.send(ns.topics.registrations, change, unit.code)
        events = await auto_status.statuses(change.payload["dossier_id"], {"approved"})
    async with TopicLog(stack.kafka_bootstrap_servers, ns.topics.units) as directory:
        await directory.wait_for(
            lambda: sum(r.key == unit.code.encode() for r in directory.records),
            lambda entries: entries >= 4,
            what=f"4 directory entries of unit {unit.code} (its entries)",
        )
        versions = [
            orjson.loads(r.value)["payload"]
            for r in directory.records
            if r.key == unit.code.encode()
        ]
    assert [(v["version"], v["status"]) for v in versions] == [
        (1, "active"),
        (2, "suspended"),
        (3, "active"),
        (4, "active"),
    ]
    assert {s["role"] for s in versions[-1]["signers"]} == {
        SignerRole.ACCOUNT_HOLDER.value,
        SignerRole.CHIEF_ACCOUNTANT.value,
    }
