"""Domain events become the messages the outbox holds (no I/O: runs in `make test-fast`)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from pydantic import BaseModel

from shared.consumer import Incoming
from shared.contract import Reason, StatusChanged, decode_envelope
from shared.contract.enums import DossierKind, EventType, Status
from shared.outbound import DeadLetter, Outbound, Route
from shared.settings import TopicSettings
from shared.status import status_changed

pytestmark = pytest.mark.fast

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
DEADLINE = NOW + dt.timedelta(days=3)


class Unrouted(BaseModel):
    unit_code: str


def _id(n: int) -> str:
    return f"00000000-0000-4000-8000-{n:012d}"


def _outbound() -> Outbound:
    ids = (_id(n) for n in itertools.count(1))
    return Outbound(
        source="registration",
        routes=[Route(StatusChanged, "status", EventType.STATUS_CHANGED.value)],
        topics=TopicSettings(status="dvc.status.v1", deadletter="dvc.deadletter.v1"),
        new_id=lambda: next(ids),
        clock=lambda: NOW,
    )


def _status(status: Status) -> StatusChanged:
    return status_changed(
        kind=DossierKind.REGISTRATION,
        dossier_id="REG-1",
        unit_code="1012345",
        status=status,
        sequence=2,
        reasons=[Reason(code="MALFORMED", field="unit.code", message="x")],
        deadline=DEADLINE,
        decided_by="system",
    )


def test_a_status_goes_to_its_topic_keyed_by_unit_in_a_stamped_envelope() -> None:
    [message] = _outbound().messages([_status(Status.IN_REVIEW)])
    assert (message.topic, message.key, message.headers) == ("dvc.status.v1", b"1012345", ())
    envelope = decode_envelope(message.value)
    assert (envelope.event_id, envelope.event_type, envelope.source, envelope.occurred_at) == (
        _id(1),
        "status.changed",
        "registration",
        NOW,
    )
    assert StatusChanged.model_validate(envelope.payload) == _status(Status.IN_REVIEW)


def test_each_event_gets_an_id_of_its_own() -> None:
    messages = _outbound().messages([_status(Status.RECEIVED), _status(Status.IN_REVIEW)])
    assert [decode_envelope(m.value).event_id for m in messages] == [_id(1), _id(2)]


@pytest.mark.parametrize(
    ("status", "deadline"),
    [
        (Status.RECEIVED, DEADLINE),
        (Status.IN_REVIEW, DEADLINE),
        (Status.APPROVED, None),
        (Status.REFUSED, None),
        (Status.REJECTED, None),
        (Status.ANSWERED, None),
    ],
)
def test_a_status_tells_its_deadline_only_while_open(
    status: Status, deadline: dt.datetime | None
) -> None:
    assert _status(status).deadline == deadline


def test_a_dead_letter_is_the_message_as_received_with_why() -> None:
    received = Incoming("dvc.registrations.v1", 0, 7, b"k", b"{not json", 0.0)
    [message] = _outbound().messages([DeadLetter(received, "registration.submitted: no id")])
    assert (message.topic, message.key, message.value) == ("dvc.deadletter.v1", b"k", b"{not json")
    assert dict(message.headers) == {
        "error": "registration.submitted: no id",
        "source-topic": "dvc.registrations.v1",
    }


def test_an_event_without_a_route_is_refused() -> None:
    with pytest.raises(LookupError, match="no route for Unrouted"):
        _outbound().messages([Unrouted(unit_code="1012345")])


def test_a_route_to_a_topic_the_settings_do_not_name_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="unknown topics"):
        Outbound(
            source="registration",
            routes=[Route(StatusChanged, "statuses", EventType.STATUS_CHANGED.value)],
            topics=TopicSettings(),
            new_id=lambda: _id(1),
            clock=lambda: NOW,
        )
