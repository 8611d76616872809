"""Hostile registrations: each field past its bound is rejected MALFORMED naming the field;
a dossier id that cannot be recorded is dead-lettered with a readable error."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from stack.runner import Endpoints
from testkit import Testbed
from tests.registration.conftest import API_KEY
from tests.support import (
    Mutation,
    Namespace,
    Producer,
    ServiceProcess,
    TopicLog,
    malformed_fields,
    nested,
    set_field,
    tampered,
)


def _many_emails(payload: dict[str, Any]) -> None:
    payload["notify_emails"] = [f"k{i}@example.vn" for i in range(21)]


CASES: list[tuple[str, Mutation, str]] = [
    ("unit_code_20kb", set_field("unit.code", "1" * 20_000), "unit.code"),
    ("treasury_code_20kb", set_field("treasury_code", "0" * 20_000), "treasury_code"),
    ("unit_name_long", set_field("unit.name", "x" * 501), "unit.name"),
    ("certificate_long", set_field("signers.0.certificate_pem", "x" * 20_000), "signers[0]"),
    ("email_long", set_field("notify_emails.0", "k" * 400 + "@example.vn"), "notify_emails[0]"),
    ("too_many_emails", _many_emails, "notify_emails"),
    ("budget_level_2_60", set_field("unit.budget_level", 2**60), "unit.budget_level"),
    ("deep_unknown_field", set_field("deep", nested(300)), "deep.a.a.a"),
]


@pytest.mark.parametrize(("mutate", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_a_field_past_its_bound_is_rejected_malformed_naming_the_field(
    mutate: Mutation,
    field: str,
    bed: Testbed,
    stack: Endpoints,
    auto: tuple[Namespace, ServiceProcess],
    auto_status: TopicLog,
) -> None:
    ns, _ = auto
    unit = bed.unit()
    registration = unit.registration()
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, tampered(registration, mutate), unit.code)
    dossier_id = registration.payload["dossier_id"]
    events = await auto_status.statuses(dossier_id, {"rejected", "approved"})
    fields = malformed_fields(events)
    assert any(f.startswith(field) for f in fields), fields


async def test_a_dossier_id_that_cannot_be_recorded_is_dead_lettered_and_the_next_goes_on(
    bed: Testbed,
    stack: Endpoints,
    auto: tuple[Namespace, ServiceProcess],
    auto_status: TopicLog,
) -> None:
    ns, _ = auto
    unit = bed.unit()
    hostile = tampered(unit.registration(), set_field("dossier_id", "DK-" + "9" * 8000))
    valid = unit.registration()
    async with Producer(stack.kafka_bootstrap_servers) as producer:
        await producer.send(ns.topics.registrations, hostile, unit.code)
        await producer.send(ns.topics.registrations, valid, unit.code)
    await auto_status.statuses(valid.payload["dossier_id"], {"approved"})
    async with TopicLog(stack.kafka_bootstrap_servers, ns.topics.deadletter) as dead:
        await dead.wait_for(
            lambda: [r.key for r in dead.records],
            lambda keys: unit.code.encode() in keys,
            what=f"a dead letter keyed {unit.code} (the keys of the dead letters)",
        )
    [letter] = [r for r in dead.records if r.key == unit.code.encode()]
    assert dict(letter.headers)["error"] == (
        b"registration.submitted: dossier_id of 8003 characters is longer than the 64 allowed"
    )


@pytest.mark.parametrize(
    ("mutate", "answer", "says"),
    [
        (set_field("dossier_id", "DK-" + "9" * 8000), 422, "dossier_id of 8003 characters"),
        (set_field("deep", nested(300)), 422, "nested deeper than 10 levels"),
        (set_field("unit", "not an object"), 422, "needs its unit code"),
    ],
    ids=["dossier_id_8kb", "deep_unknown_field", "unit_not_an_object"],
)
async def test_http_intake_refuses_what_cannot_travel_as_an_event(
    mutate: Mutation,
    answer: int,
    says: str,
    bed: Testbed,
    auto: tuple[Namespace, ServiceProcess],
) -> None:
    _, service = auto
    registration = bed.unit().registration()
    body = json.loads(tampered(registration, lambda p: None))["payload"]
    mutate(body)
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as http:
        reply = await http.post(
            "/registrations",
            content=json.dumps(body).encode(),
            headers={"X-API-Key": API_KEY, "Content-Type": "application/json"},
        )
    assert reply.status_code == answer, reply.text
    assert says in reply.json()["message"], reply.text
