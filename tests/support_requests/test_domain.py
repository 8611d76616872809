"""Support request rules (no I/O: runs in `make test-fast`): deadlines, replies, routing,
who is told, and the payload's bounds."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.support import domain
from shared.contract import EventType, MalformedPayloadError, SupportRequested, parse_payload
from shared.contract.deadlines import TZ, WorkingCalendar
from shared.contract.directory import DirectoryEntry
from testkit import Testbed
from testkit.support import support_payload, support_request

pytestmark = pytest.mark.fast

CALENDAR = WorkingCalendar()
BED = Testbed(seed=2020, algorithm="ES256")
KIT = BED.unit(code="1012345", treasury_code="0011", chapter="422")
NOW = dt.datetime(2026, 6, 15, 9, 0, tzinfo=TZ)  # a Monday


def _entry(**changes: Any) -> DirectoryEntry:
    fields: dict[str, Any] = {
        "unit_code": "1012345",
        "name": "Trường THPT Lai Châu",
        "treasury_code": "0011",
        "chapter": "422",
        "status": "active",
        "notify_emails": ("ketoan@example.vn", "KeToan2@example.vn"),
        "version": 1,
        "updated_at": NOW,
    }
    return DirectoryEntry(**{**fields, **changes})


def _at(day: int, month: int, year: int = 2026, hour: int = 9) -> dt.datetime:
    return dt.datetime(year, month, day, hour, 0, tzinfo=TZ)


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        (_at(15, 6), 1, _at(16, 6)),  # Monday → Tuesday
        (_at(19, 6), 1, _at(22, 6)),  # Friday → Monday
        (_at(20, 6), 1, _at(22, 6)),  # received on a Saturday: the next working day
        (_at(15, 6), 3, _at(18, 6)),
        (_at(29, 12), 1, _at(30, 12)),  # no year-end extension, unlike vouchers
        (_at(29, 4), 1, _at(4, 5)),  # 30/4 and 1/5 are holidays, then a weekend
    ],
)
def test_the_deadline_is_n_working_days_at_half_past_four(
    received: dt.datetime, days: int, due: dt.datetime
) -> None:
    deadline = domain.response_deadline(received, working_days=days, calendar=CALENDAR)
    assert deadline == due.replace(hour=16, minute=30)


def test_a_request_received_after_hours_counts_from_its_local_day() -> None:
    late_utc = dt.datetime(2026, 6, 15, 18, 0, tzinfo=dt.UTC)  # Tuesday 01:00 in Hà Nội
    deadline = domain.response_deadline(late_utc, working_days=1, calendar=CALENDAR)
    assert deadline == _at(17, 6).replace(hour=16, minute=30)


@pytest.mark.parametrize("status", ["received", "answered"])
@pytest.mark.parametrize("resolution", ["answered", "resolved", "deferred"])
def test_an_open_request_takes_each_resolution(status: str, resolution: str) -> None:
    reply = domain.reply(
        status=status, resolution=resolution, message="Đã hướng dẫn", number=2, officer="a", at=NOW
    )
    assert (reply.status.value, reply.number, reply.officer) == (resolution, 2, "a")


@pytest.mark.parametrize("status", ["resolved", "deferred", "rejected"])
def test_a_final_or_rejected_request_takes_no_reply(status: str) -> None:
    with pytest.raises(domain.ReplyRefused, match="a new question is a new request"):
        domain.reply(
            status=status, resolution="answered", message="Thêm", number=3, officer="a", at=NOW
        )


@pytest.mark.parametrize(
    ("message", "resolution", "says"),
    [
        ("", "answered", "needs a message"),
        ("   \n", "resolved", "needs a message"),
        ("x" * 20_001, "answered", "at most 20000"),
        ("ok", "closed", "resolution must be one of answered, resolved, deferred"),
        ("a\x00b", "answered", "U\\+0000"),
    ],
)
def test_a_reply_that_breaks_a_rule_says_which(message: str, resolution: str, says: str) -> None:
    with pytest.raises(domain.ReplyInvalid, match=says):
        domain.reply(
            status="received", resolution=resolution, message=message, number=1, officer="a", at=NOW
        )


def test_a_request_goes_to_the_units_office_and_an_unknown_unit_is_refused() -> None:
    assert domain.office_of(_entry(treasury_code="0012")) == "0012"
    assert domain.intake_reasons("1012345", _entry(status="suspended")) == []
    [reason] = domain.intake_reasons("1099999", None)
    assert (reason.code, reason.field) == ("UNIT_UNKNOWN", "unit_code")
    assert "1099999" in reason.message


def test_the_reply_goes_to_the_contact_then_the_notify_addresses_each_once() -> None:
    assert domain.recipients("KeToan@example.vn", _entry()) == [
        "KeToan@example.vn",
        "KeToan2@example.vn",
    ]
    assert domain.recipients(None, _entry()) == ["ketoan@example.vn", "KeToan2@example.vn"]
    assert domain.recipients("a@example.vn", None) == ["a@example.vn"]


def test_overdue_means_received_without_an_answer_by_the_deadline() -> None:
    due = _at(16, 6).replace(hour=16, minute=30)
    assert domain.overdue(status="received", deadline_at=due, now=due)
    assert not domain.overdue(status="received", deadline_at=due, now=due - dt.timedelta(seconds=1))
    assert not domain.overdue(status="answered", deadline_at=due, now=due + dt.timedelta(days=3))


def test_the_resolved_share_is_of_the_requests_closed() -> None:
    assert domain.resolved_share(1867, 32) == pytest.approx(1867 / 1899)
    assert domain.resolved_share(0, 0) is None


def test_the_documented_request_parses() -> None:
    parsed = parse_payload(support_request(KIT, category="voucher", dossier_id="CT-1"))
    assert isinstance(parsed, SupportRequested)
    assert (parsed.category.value, parsed.dossier_id) == ("voucher", "CT-1")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"category": "complaint"}, "category"),
        ({"subject": ""}, "subject"),
        ({"body": ""}, "body"),
        ({"body": "x" * 20_001}, "body"),
        ({"request_id": "H" * 65}, "request_id"),
        ({"contact_email": 7}, "contact_email"),
    ],
)
def test_a_payload_that_breaks_the_schema_names_the_field(
    change: dict[str, Any], field: str
) -> None:
    envelope = KIT.wrap(support_payload(KIT, **change), event_type=EventType.SUPPORT_REQUESTED)
    with pytest.raises(MalformedPayloadError) as caught:
        parse_payload(envelope, SupportRequested)
    assert [f for f, _ in caught.value.problems()] == [field]
