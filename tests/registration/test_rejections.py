"""Each reason a registration is rejected, all reasons at once, duplicates and poison messages."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pytest

from shared.contract import Envelope, RequestType, SignerRole, make_envelope
from stack.runner import Endpoints
from testkit import Testbed, UnitKit, sign_payload
from tests.registration.conftest import staff_token
from tests.support import Namespace, Producer, ServiceProcess, TopicLog, poll

Build = Callable[[UnitKit, Producer, Namespace, TopicLog], Any]


def _resigned(
    unit: UnitKit,
    envelope: Envelope,
    mutate: Callable[[dict[str, Any]], None],
    *,
    signer: Any = None,
) -> Envelope:
    payload = copy.deepcopy(envelope.payload)
    mutate(payload)
    signed = sign_payload(payload, [signer or unit.signer(SignerRole.ACCOUNT_HOLDER)])
    return unit.wrap(signed, event_type=envelope.event_type)  # type: ignore[arg-type]


async def _registered(unit: UnitKit, producer: Producer, ns: Namespace, log: TopicLog) -> None:
    first = unit.registration()
    await producer.send(ns.topics.registrations, first, unit.code)
    await log.statuses(first.payload["dossier_id"], {"approved"})


def _chapter_out_of_range(unit: UnitKit) -> Envelope:
    return _resigned(unit, unit.registration(), lambda p: p["unit"].update(chapter="650"))


def _no_chief_accountant(unit: UnitKit) -> Envelope:
    def drop(p: dict[str, Any]) -> None:
        p["signers"] = [s for s in p["signers"] if s["role"] != "chief_accountant"]

    return _resigned(unit, unit.registration(), drop)


def _certificate(variant: str) -> Callable[[UnitKit], Envelope]:
    def build(unit: UnitKit) -> Envelope:
        stand_in = unit.stand_in(variant)  # type: ignore[arg-type]

        def swap(p: dict[str, Any]) -> None:
            for s in p["signers"]:
                if s["role"] == "chief_accountant":
                    s["certificate_pem"] = stand_in.certificate_pem

        return _resigned(unit, unit.registration(), swap)

    return build


def _unsigned(unit: UnitKit) -> Envelope:
    envelope = unit.registration()
    payload = {**envelope.payload, "signatures": []}
    return unit.wrap(payload, event_type=envelope.event_type)  # type: ignore[arg-type]


def _tampered(unit: UnitKit) -> Envelope:
    envelope = unit.registration()
    payload = copy.deepcopy(envelope.payload)
    payload["unit"]["name"] += " (sửa)"
    return unit.wrap(payload, event_type=envelope.event_type)  # type: ignore[arg-type]


def _wrong_type(unit: UnitKit) -> Envelope:
    envelope = unit.registration()
    return unit.wrap({**envelope.payload, "accounts": "9523.2"}, event_type=envelope.event_type)  # type: ignore[arg-type]


def _future_schema(unit: UnitKit) -> Envelope:
    envelope = unit.registration()
    return unit.wrap(
        envelope.payload,
        event_type=envelope.event_type,  # type: ignore[arg-type]
        schema_version=2,
    )


SINGLE_FAULTS: dict[str, tuple[str, Callable[[UnitKit], Envelope]]] = {
    "chapter out of range": ("CODE_INVALID", _chapter_out_of_range),
    "no chief accountant": ("SIGNER_MISSING", _no_chief_accountant),
    "expired certificate": ("CERTIFICATE_INVALID", _certificate("expired")),
    "certificate of an untrusted CA": ("CERTIFICATE_INVALID", _certificate("foreign_ca")),
    "no signature": ("SIGNATURE_MISSING", _unsigned),
    "changed after signing": ("SIGNATURE_INVALID", _tampered),
    "wrong JSON type": ("MALFORMED", _wrong_type),
    "schema version 2": ("SCHEMA_VERSION_UNSUPPORTED", _future_schema),
    "change for an unregistered unit": (
        "UNIT_UNKNOWN",
        lambda u: u.registration(request_type=RequestType.CHANGE_SIGNERS),
    ),
}


@pytest.mark.parametrize("case", list(SINGLE_FAULTS))
async def test_a_faulty_registration_is_rejected_with_its_reason(
    case: str,
    stack: Endpoints,
    bed: Testbed,
    auto: tuple[Namespace, ServiceProcess],
    auto_status: TopicLog,
) -> None:
    ns, _ = auto
    code, build = SINGLE_FAULTS[case]
    unit = bed.unit()
    envelope = build(unit)
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, envelope, unit.code)
    events = await auto_status.statuses(envelope.payload["dossier_id"], {"rejected", "approved"})
    assert [e["status"] for e in events] == ["rejected"]
    assert code in [r["code"] for r in events[0]["reasons"]]


async def test_changes_are_checked_against_the_registered_unit(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, _ = auto
    unit = bed.unit()
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await _registered(unit, producer, ns, auto_status)
        again = unit.registration()
        elsewhere = _resigned(
            unit,
            unit.registration(request_type=RequestType.ADD_ACCOUNT),
            lambda p: p.update(treasury_code="0999"),
        )
        for envelope in (again, elsewhere):
            await producer.send(ns.topics.registrations, envelope, unit.code)
        already = await auto_status.statuses(again.payload["dossier_id"], {"rejected"})
        moved = await auto_status.statuses(elsewhere.payload["dossier_id"], {"rejected"})
    assert [r["code"] for r in already[-1]["reasons"]] == ["UNIT_ALREADY_REGISTERED"]
    assert [r["code"] for r in moved[-1]["reasons"]] == ["TREASURY_MISMATCH"]


async def test_a_registration_with_three_problems_reports_all_three(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, _ = auto
    unit = bed.unit()
    expired = unit.stand_in("expired")

    def three(p: dict[str, Any]) -> None:
        p["treasury_code"] = "11A"
        p["signers"] = [s for s in p["signers"] if s["role"] != "chief_accountant"]
        p["signers"].append(
            {
                "role": "chief_accountant_deputy",
                "full_name": "Lê Văn C",
                "certificate_pem": expired.certificate_pem,
            }
        )

    envelope = _resigned(unit, unit.registration(), three)
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, envelope, unit.code)
    events = await auto_status.statuses(envelope.payload["dossier_id"], {"rejected"})
    codes = sorted(r["code"] for r in events[0]["reasons"])
    assert codes == ["CERTIFICATE_INVALID", "CODE_INVALID", "SIGNER_MISSING"]
    assert {r["field"] for r in events[0]["reasons"]} >= {"treasury_code", "signers"}


async def test_the_same_event_twice_is_applied_once(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, _ = auto
    unit = bed.unit()
    registration = unit.registration()
    marker = unit.registration(request_type=RequestType.ADD_ACCOUNT)
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        for envelope in (registration, registration, marker):
            await producer.send(ns.topics.registrations, envelope, unit.code)
    # The marker shares the unit's partition, so once it is decided the duplicate was read.
    await auto_status.statuses(marker.payload["dossier_id"], {"approved"})
    events = auto_status.by_dossier[registration.payload["dossier_id"]]
    assert [(e["status"], e["sequence"]) for e in events] == [("received", 1), ("approved", 2)]


async def test_a_resubmission_repeats_the_status_and_a_modified_one_is_refused(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, service = auto
    unit = bed.unit()
    original = unit.registration()
    dossier = original.payload["dossier_id"]
    same = unit.wrap(original.payload, event_type=original.event_type)  # type: ignore[arg-type]
    modified = _resigned(unit, original, lambda p: p["unit"].update(address="Số 2, Lai Châu"))
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, original, unit.code)
        await auto_status.statuses(dossier, {"approved"})
        await producer.send(ns.topics.registrations, same, unit.code)
        await auto_status.wait_for(
            lambda: [e["status"] for e in auto_status.by_dossier.get(dossier, [])],
            lambda seen: len(seen) == 3,
            what=f"3 statuses of {dossier} (its statuses)",
        )
        await producer.send(ns.topics.registrations, modified, unit.code)
        await auto_status.wait_for(
            lambda: [e["status"] for e in auto_status.by_dossier.get(dossier, [])],
            lambda seen: len(seen) == 4,
            what=f"4 statuses of {dossier} (its statuses)",
        )
    events = auto_status.by_dossier[dossier]
    assert [(e["status"], e["sequence"]) for e in events] == [
        ("received", 1),
        ("approved", 2),
        ("approved", 2),
        ("rejected", 3),
    ]
    assert [r["code"] for r in events[3]["reasons"]] == ["DUPLICATE_MODIFIED"]
    office = {"Authorization": f"Bearer {staff_token(unit.treasury_code)}"}
    async with httpx.AsyncClient(base_url=service.url) as http:
        kept = (await http.get(f"/registrations/{dossier}", headers=office)).json()
        entry = (await http.get(f"/units/{unit.code}", headers=office)).json()
    assert kept["status"] == "approved"
    assert [h["status"] for h in kept["history"]] == ["received", "approved", "rejected"]
    assert entry["version"] == 1


async def test_a_message_that_is_not_json_is_dead_lettered_and_the_next_is_processed(
    stack: Endpoints, bed: Testbed, auto: tuple[Namespace, ServiceProcess], auto_status: TopicLog
) -> None:
    ns, service = auto
    unit = bed.unit()
    before = service.metric("registration_dead_letters_total", source_topic=ns.topics.registrations)
    poison = b"\x00{not json"
    no_envelope = orjson.dumps({"dossier_id": "DK-0001-2026-999999"})
    no_dossier = _envelope_without_dossier(unit)
    valid = unit.registration()
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, poison, unit.code)
        await producer.send(ns.topics.registrations, no_envelope, unit.code)
        await producer.send(ns.topics.registrations, no_dossier, unit.code)
        await producer.send(ns.topics.registrations, valid, unit.code)
    await auto_status.statuses(valid.payload["dossier_id"], {"approved"})
    async with TopicLog(stack.kafka_bootstrap_servers, ns.topics.deadletter) as dead:
        await dead.wait_for(
            lambda: sum(r.key == unit.code.encode() for r in dead.records),
            lambda letters: letters >= 3,
            what=f"3 dead letters of unit {unit.code} (dead letters of it)",
        )
        mine = [r for r in dead.records if r.key == unit.code.encode()]
    assert [r.value for r in mine[:2]] == [poison, no_envelope]
    assert orjson.loads(mine[2].value)["event_id"] == no_dossier.event_id
    headers = dict(mine[0].headers)
    assert headers["source-topic"] == ns.topics.registrations.encode()
    assert b"JSON" in headers["error"] or b"json" in headers["error"]
    after = service.metric("registration_dead_letters_total", source_topic=ns.topics.registrations)
    assert after - before == 3
    # The consumer's lag on the topic, as operators see it, comes back to nothing.
    lag = "registration_consumer_lag_messages"
    sample = f'{lag}{{topic="{ns.topics.registrations}"}} '
    await poll(
        lambda: [
            line
            for line in httpx.get(f"{service.url}/metrics", timeout=10).text.splitlines()
            if line.startswith(sample)
        ],
        lambda lines: lines == [f"{sample}0.0"],
        what=f"{sample.strip()} reported as 0.0 (its samples)",
        within=120,
        every=1,
    )


def _envelope_without_dossier(unit: UnitKit) -> Envelope:
    envelope = unit.registration()
    payload = {k: v for k, v in envelope.payload.items() if k != "dossier_id"}
    return make_envelope(
        payload,
        event_type=envelope.event_type,
        event_id=unit.ids.event_id(),
        occurred_at=envelope.occurred_at,
        source="dvc-portal",
    )
