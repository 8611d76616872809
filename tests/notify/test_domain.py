"""Who is told what, and when: notify's rules, table by table (no I/O: `make test-fast`).

The recipients and templates a status causes, the keys that keep each notice single, the
deadline warnings, the retry backoff, the webhook signature and what the templates say.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Any

import pytest

from services.notify import domain
from services.notify.config import NotifySettings
from services.notify.handlers import Deps, notices_for
from services.notify.render import Renderer
from shared.contract import StatusChanged
from shared.contract.deadlines import TZ
from shared.contract.directory import DirectoryEntry, DirectorySigner

pytestmark = pytest.mark.fast

NOW = dt.datetime(2026, 12, 28, 9, 15, tzinfo=TZ)
RENDERER = Renderer()
OFFICES = domain.TreasuryDirectory.model_validate(
    {
        "offices": [
            {
                "treasury_code": "0011",
                "name": "KBNN Lai Châu",
                "staff": [
                    {"email": "ksv1@kbnn.vn", "role": "controller"},
                    {"email": "ksv2@kbnn.vn", "role": "controller"},
                    {"email": "gd@kbnn.vn", "role": "head"},
                ],
            },
            {"treasury_code": "0012", "name": "KBNN Điện Biên", "staff": []},
        ]
    }
)
DEPS = Deps(renderer=RENDERER, offices=OFFICES, webhooks=(), clock=lambda: NOW)


def _signer(role: str, email: str | None) -> DirectorySigner:
    return DirectorySigner(
        role=role,
        full_name="Người ký",
        email=email,
        certificate_serial="1a",
        certificate_pem="-",
        public_key_pem="-",
        not_before=NOW,
        not_after=NOW,
    )


def _entry(treasury_code: str = "0011", **changes: Any) -> DirectoryEntry:
    return DirectoryEntry(
        unit_code="1012345",
        name="Trường THPT Lai Châu",
        treasury_code=treasury_code,
        chapter="422",
        status="active",
        signers=(
            _signer("account_holder", "ht@example.vn"),
            _signer("chief_accountant", "KETOAN@example.vn"),
            _signer("account_holder_deputy", None),
        ),
        notify_emails=("ketoan@example.vn", "vanthu@example.vn"),
        version=1,
        updated_at=NOW,
    ).model_copy(update=changes)


UNIT = ["ketoan@example.vn", "vanthu@example.vn", "ht@example.vn", "KETOAN@example.vn"]
STAFF = ["ksv1@kbnn.vn", "ksv2@kbnn.vn", "gd@kbnn.vn"]


def _status(status: str, kind: str = "voucher", **changes: Any) -> StatusChanged:
    return StatusChanged.model_validate(
        {
            "dossier_id": "CT-0011-2026-00012345",
            "dossier_kind": kind,
            "unit_code": "1012345",
            "status": status,
            "sequence": 3,
            "reasons": [
                {"code": "BUDGET_EXCEEDED", "field": "lines[0]", "message": "Vượt dự toán còn lại"}
            ],
            "deadline": "2026-12-30T16:30:00+07:00",
            "decided_by": "system",
            **changes,
        }
    )


def _dossier(status: StatusChanged) -> dict[str, Any]:
    return {
        "dossier_id": status.dossier_id,
        "dossier_kind": status.dossier_kind.value,
        "unit_code": status.unit_code,
        "first_seen": NOW,
        "deadline": status.deadline,
    }


def _notices(status: StatusChanged, entry: DirectoryEntry | None) -> list[domain.Notice]:
    return notices_for(status, _dossier(status), entry, DEPS)


CHOICES: list[tuple[str, str, DirectoryEntry | None, str | None, list[str]]] = [
    ("voucher rejected", "rejected", _entry(), "notice", UNIT),
    ("voucher returned", "returned", _entry(), "notice", UNIT),
    ("voucher refused", "refused", _entry(), "notice", UNIT),
    ("voucher approved", "approved", _entry(), "approved", UNIT),
    ("voucher held for review", "in_review", _entry(), "staff", STAFF),
    ("voucher received: nobody", "received", _entry(), None, []),
    ("review at an office without staff", "in_review", _entry("0012"), None, []),
    ("review at an office not in the directory", "in_review", _entry("0099"), None, []),
    ("unit unknown to notify: nobody", "refused", None, None, []),
    (
        "a unit without notify emails: its signers",
        "approved",
        _entry(notify_emails=()),
        "approved",
        ["ht@example.vn", "KETOAN@example.vn"],
    ),
]


@pytest.mark.parametrize(
    ("status", "entry", "template", "recipients"),
    [c[1:] for c in CHOICES],
    ids=[c[0] for c in CHOICES],
)
def test_each_status_reaches_its_recipients_with_its_template(
    status: str, entry: DirectoryEntry | None, template: str | None, recipients: list[str]
) -> None:
    notices = _notices(_status(status), entry)
    assert [n.recipient for n in notices] == recipients
    assert {n.template for n in notices} == ({template} if template else set())
    assert {n.kind for n in notices} <= {status}


@pytest.mark.parametrize("status", ["rejected", "refused", "approved", "in_review"])
def test_registrations_are_told_like_vouchers(status: str) -> None:
    assert _notices(_status(status, "registration"), _entry())


@pytest.mark.parametrize("status", ["approved", "refused"])
def test_allocations_cause_no_email(status: str) -> None:
    assert _notices(_status(status, "allocation"), _entry()) == []


def test_an_address_written_twice_in_other_cases_gets_one_ledger_key() -> None:
    """The ledger keeps one delivery per key, so ketoan@ and KETOAN@ receive one email."""
    keys = {n.key for n in _notices(_status("refused"), _entry())}
    assert keys == {
        f"CT-0011-2026-00012345|refused|{address}"
        for address in ("ketoan@example.vn", "vanthu@example.vn", "ht@example.vn")
    }
    # One mail to the three of them, under one Message-ID.
    notices = _notices(_status("refused"), _entry())
    assert {domain.message_id(n.group) for n in notices} == {
        domain.message_id(domain.notice_group("CT-0011-2026-00012345", "refused"))
    }


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (("CT-1", "refused", "a@x.vn"), ("CT-1", "approved", "a@x.vn")),
        (("CT-1", "deadline_warning", "a@x.vn"), ("CT-1", "overdue", "a@x.vn")),
        (("CT-1", "refused", "a@x.vn"), ("CT-2", "refused", "a@x.vn")),
        (("CT-1", "refused", "a@x.vn"), ("CT-1", "refused", "b@x.vn")),
    ],
    ids=["status", "warning kind", "dossier", "recipient"],
)
def test_a_notice_key_tells_apart_dossier_kind_and_recipient(
    a: tuple[str, str, str], b: tuple[str, str, str]
) -> None:
    assert domain.notice_key(*a) != domain.notice_key(*b)


def test_the_same_notice_always_has_the_same_message_id() -> None:
    group = domain.notice_group("CT-0011-2026-00012345", "refused")
    first, again = domain.message_id(group), domain.message_id(group)
    assert first != domain.message_id(domain.notice_group("CT-0011-2026-00012345", "approved"))
    assert first == again
    assert first.startswith("<")
    assert first.endswith("@dvc.kbnn.gov.vn>")


DEADLINE = dt.datetime(2026, 12, 30, 16, 30, tzinfo=TZ)
TWO_HOURS = dt.timedelta(hours=2)


@pytest.mark.parametrize(
    ("now", "warn", "due"),
    [
        (DEADLINE - dt.timedelta(hours=5), TWO_HOURS, None),
        (DEADLINE - dt.timedelta(hours=2, seconds=1), TWO_HOURS, None),
        (DEADLINE - TWO_HOURS, TWO_HOURS, "deadline_warning"),
        (DEADLINE - dt.timedelta(minutes=1), TWO_HOURS, "deadline_warning"),
        (DEADLINE, TWO_HOURS, "overdue"),
        (DEADLINE + dt.timedelta(days=3), TWO_HOURS, "overdue"),
        (DEADLINE - dt.timedelta(hours=5), dt.timedelta(hours=6), "deadline_warning"),
        (DEADLINE - dt.timedelta(minutes=31), dt.timedelta(minutes=30), None),
        (DEADLINE.astimezone(dt.UTC) - dt.timedelta(minutes=5), TWO_HOURS, "deadline_warning"),
    ],
    ids=[
        "5 h before",
        "just over 2 h",
        "exactly 2 h",
        "1 min",
        "at the deadline",
        "3 days late",
        "warn 6 h",
        "warn 30 min",
        "another time zone",
    ],
)
def test_staff_are_warned_within_the_warning_time_and_when_overdue(
    now: dt.datetime, warn: dt.timedelta, due: str | None
) -> None:
    assert domain.warning_due(DEADLINE, now, warn) == due


@pytest.mark.parametrize(
    ("attempts", "cap", "seconds"),
    [
        (0, 300, 2),
        (1, 300, 2),
        (2, 300, 4),
        (3, 300, 8),
        (8, 300, 256),
        (9, 300, 300),
        (30, 300, 300),
        (5, 10, 10),
    ],
)
def test_retries_back_off_exponentially_up_to_the_cap(
    attempts: int, cap: float, seconds: float
) -> None:
    assert domain.retry_delay(attempts, cap) == dt.timedelta(seconds=seconds)


@pytest.mark.parametrize("body", [b"{}", '{"status":"refused","x":"đ"}'.encode()])
def test_webhook_bodies_are_signed_with_hmac_sha256(body: bytes) -> None:
    expected = hmac.new(b"webhook-secret", body, hashlib.sha256).hexdigest()
    assert domain.webhook_signature("webhook-secret", body) == f"sha256={expected}"
    assert domain.webhook_signature("other-secret", body) != f"sha256={expected}"


@pytest.mark.parametrize(
    ("code", "name"), [("0011", "KBNN Lai Châu"), ("0012", "KBNN Điện Biên"), ("0099", None)]
)
def test_the_directory_finds_an_office_by_its_code(code: str, name: str | None) -> None:
    office = OFFICES.office(code)
    assert (office.name if office else None) == name


SUBJECTS: list[tuple[str, str, str]] = [
    ("refused", "Từ chối", "Result of dossier CT-0011-2026-00012345: refused"),
    ("rejected", "Không tiếp nhận", "Result of dossier CT-0011-2026-00012345: rejected"),
    ("returned", "Yêu cầu bổ sung hồ sơ", "returned for additions"),
    ("approved", "đã được chấp thuận", "Dossier CT-0011-2026-00012345 approved"),
    ("in_review", "Hồ sơ chờ kiểm soát", "awaits review"),
]


@pytest.mark.parametrize(("status", "vietnamese", "english"), SUBJECTS)
def test_subjects_say_the_outcome_in_vietnamese_then_english(
    status: str, vietnamese: str, english: str
) -> None:
    notice = _notices(_status(status), _entry())[0]
    subject = RENDERER.render(notice.template, notice.context).subject
    assert vietnamese in subject
    assert english in subject
    assert subject.index(vietnamese) < subject.index(english)


@pytest.mark.parametrize("status", ["rejected", "returned", "refused"])
def test_a_notice_is_modelled_on_form_33_with_its_reasons(status: str) -> None:
    notice = _notices(_status(status), _entry())[0]
    text = RENDERER.render(notice.template, notice.context).text
    for expected in (
        "Mẫu số 33",
        "CT-0011-2026-00012345",
        "28/12/2026",
        "[BUDGET_EXCEEDED]",
        "Vượt dự toán còn lại",
        "KBNN LAI CHÂU",
        "Form 33",
    ):
        assert expected in text
    assert ("chỉ yêu cầu bổ sung một lần" in text) is (status == "returned")
    assert text.index("Mẫu số 33") < text.index("Form 33")


@pytest.mark.parametrize(
    ("kind", "vietnamese", "english"),
    [
        ("in_review", "đang chờ kiểm soát viên", "waiting for an officer's review"),
        ("deadline_warning", "sắp đến hạn", "due within two hours"),
        ("overdue", "QUÁ HẠN", "OVERDUE"),
    ],
)
def test_staff_emails_say_why_they_were_sent_and_the_deadline(
    kind: str, vietnamese: str, english: str
) -> None:
    notice = _notices(_status("in_review"), _entry())[0]
    text = RENDERER.render("staff", {**notice.context, "kind": kind}).text
    assert vietnamese in text
    assert english in text
    assert "16:30 30/12/2026" in text


@pytest.mark.parametrize(("raw", "parsed"), [("17:00", dt.time(17)), ("07:30", dt.time(7, 30))])
def test_the_digest_time_is_a_local_time(raw: str, parsed: dt.time) -> None:
    assert NotifySettings(digest_time=raw).digest_at() == parsed


@pytest.mark.parametrize("raw", ["5pm", "25:00", ""])
def test_a_digest_time_that_cannot_be_read_names_the_variable(raw: str) -> None:
    with pytest.raises(ValueError, match="DIGEST_TIME"):
        NotifySettings(digest_time=raw).digest_at()
