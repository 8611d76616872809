"""Intake rules of the vouchers service, table by table (no I/O: runs in `make test-fast`).

Each row is one voucher, one directory entry and one signature result, and the reason codes
(with the field they name) intake must report; an empty set means the voucher goes on to
spending control. Signatures themselves are verified elsewhere (`services/vouchers/signatures`,
tests/contract/test_signing.py); here their results come in as `SignatureFinding`s.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from services.vouchers.domain import IntakeRules, SignatureFinding, check, open_fiscal_years
from shared.contract import (
    PayloadRejectedError,
    VoucherSubmitted,
    decode_envelope,
    parse_payload,
)
from shared.contract.deadlines import TZ
from shared.contract.directory import DirectoryAccount, DirectoryEntry
from shared.signing import content_digest

pytestmark = pytest.mark.fast

UNIT = "1012345"
ACCOUNT = f"9523.2.{UNIT}"
RECEIVED = dt.datetime(2026, 12, 28, 9, 15, tzinfo=TZ)
RULES = IntakeRules()
SIG = {"certificate_serial": "1a2b", "algorithm": "RS256", "value": "c2ln"}
VALID: dict[str, Any] = {
    "dossier_id": "CT-0011-2026-00012345",
    "form": "C2-02a/NS",
    "voucher_no": "125",
    "voucher_date": "2026-12-28",
    "fiscal_year": 2026,
    "unit_code": UNIT,
    "treasury_code": "0011",
    "account_no": ACCOUNT,
    "chapter": "422",
    "spending_type": "actual",
    "payment_method": "transfer",
    "lines": [
        {
            "description": "Mua văn phòng phẩm",
            "economic_code": "6551",
            "sector_code": "072",
            "source_code": "13",
            "amount": 12_500_000,
        }
    ],
    "total_amount": 12_500_000,
    "payee": {"name": "Công ty TNHH ABC", "account_no": "0011000123456", "bank_code": "01201001"},
    "signatures": [
        {"role": "chief_accountant", **SIG},
        {"role": "account_holder", **SIG},
    ],
}
ENTRY = DirectoryEntry(
    unit_code=UNIT,
    name="Trường THPT Lai Châu",
    treasury_code="0011",
    chapter="422",
    status="active",
    accounts=(DirectoryAccount(account_no=ACCOUNT, kind="budget_estimate"),),
    version=1,
    updated_at=RECEIVED,
)
GOOD = SignatureFinding(index=0, certificate_problem=None, verified=True)


def voucher(**changes: Any) -> VoucherSubmitted:
    return VoucherSubmitted.model_validate({**VALID, **changes})


def line(**changes: Any) -> list[dict[str, Any]]:
    return [{**VALID["lines"][0], **changes}]


def all_good(v: VoucherSubmitted) -> dict[int, SignatureFinding]:
    return {i: GOOD for i in range(len(v.signatures))}


def found(
    v: VoucherSubmitted,
    *,
    entry: DirectoryEntry | None = ENTRY,
    signatures: dict[int, SignatureFinding] | None = None,
    received_at: dt.datetime = RECEIVED,
    rules: IntakeRules = RULES,
) -> set[tuple[str, str | None]]:
    reasons = check(
        v,
        entry=entry,
        findings=all_good(v) if signatures is None else signatures,
        received_at=received_at,
        rules=rules,
    )
    return {(r.code, r.field) for r in reasons}


def test_the_contract_example_voucher_passes_intake() -> None:
    assert found(voucher()) == set()


# Rows: (what is wrong, the voucher's changes, the reasons intake reports).
PAYLOAD_CASES: list[tuple[str, dict[str, Any], set[tuple[str, str | None]]]] = [
    ("unit code of 6 digits", {"unit_code": "101234"}, {("CODE_INVALID", "unit_code")}),
    ("unit code starting with 4", {"unit_code": "4012345"}, {("CODE_INVALID", "unit_code")}),
    ("unit code with a letter", {"unit_code": "10123A5"}, {("CODE_INVALID", "unit_code")}),
    ("chapter of 2 digits", {"chapter": "42"}, {("CODE_INVALID", "chapter")}),
    ("chapter 000", {"chapter": "000"}, {("CODE_INVALID", "chapter")}),
    ("chapter 600 (no level)", {"chapter": "600"}, {("CODE_INVALID", "chapter")}),
    ("chapter 700 (no level)", {"chapter": "700"}, {("CODE_INVALID", "chapter")}),
    ("chapter 990 (past commune)", {"chapter": "990"}, {("CODE_INVALID", "chapter")}),
    ("treasury code of 3 digits", {"treasury_code": "011"}, {("CODE_INVALID", "treasury_code")}),
    (
        "economic code ending in 0 (an item, not a sub-item)",
        {"lines": line(economic_code="6550")},
        {("CODE_INVALID", "lines[0].economic_code")},
    ),
    (
        "economic code of 3 digits",
        {"lines": line(economic_code="655")},
        {("CODE_INVALID", "lines[0].economic_code")},
    ),
    (
        "sector ending in 0 (a category, not a sector)",
        {"lines": line(sector_code="070")},
        {("CODE_INVALID", "lines[0].sector_code")},
    ),
    (
        "sector of 4 digits",
        {"lines": line(sector_code="0721")},
        {("CODE_INVALID", "lines[0].sector_code")},
    ),
    (
        "source of 1 digit",
        {"lines": line(source_code="1")},
        {("CODE_INVALID", "lines[0].source_code")},
    ),
    (
        "source with a letter",
        {"lines": line(source_code="1a")},
        {("CODE_INVALID", "lines[0].source_code")},
    ),
    (
        "total above the lines",
        {"total_amount": 12_501_000},
        {("TOTAL_MISMATCH", "total_amount")},
    ),
    (
        "total below the lines",
        {"total_amount": 12_000_000},
        {("TOTAL_MISMATCH", "total_amount")},
    ),
    (
        "a line of zero",
        {"lines": [*line(), *line(amount=0)]},
        {("MALFORMED", "lines[1].amount")},
    ),
    (
        "a negative line that makes the total add up",
        {"lines": [*line(amount=13_500_000), *line(amount=-1_000_000)]},
        {("MALFORMED", "lines[1].amount")},
    ),
    ("no lines", {"lines": [], "total_amount": 0}, {("MALFORMED", "lines")}),
    ("transfer without payee", {"payee": None}, {("PAYEE_MISSING", "payee")}),
    (
        "cash without recipient",
        {"payment_method": "cash", "payee": None},
        {("CASH_RECIPIENT_MISSING", "cash_recipient")},
    ),
    (
        "only the account holder signed",
        {"signatures": [{"role": "account_holder", **SIG}]},
        {("SIGNATURE_MISSING", "signatures")},
    ),
    (
        "only the chief accountant signed",
        {"signatures": [{"role": "chief_accountant", **SIG}]},
        {("SIGNATURE_MISSING", "signatures")},
    ),
    ("nobody signed", {"signatures": []}, {("SIGNATURE_MISSING", "signatures")}),
    (
        "two signatures of the same side",
        {"signatures": [{"role": "account_holder", **SIG}, {"role": "account_holder", **SIG}]},
        {("SIGNATURE_MISSING", "signatures")},
    ),
    (
        "fiscal year two years back",
        {"fiscal_year": 2024},
        {("FISCAL_YEAR_CLOSED", "fiscal_year")},
    ),
    ("next fiscal year", {"fiscal_year": 2027}, {("FISCAL_YEAR_CLOSED", "fiscal_year")}),
    (
        "everything at once: code, total, payee",
        {"chapter": "700", "total_amount": 1, "payee": None},
        {
            ("CODE_INVALID", "chapter"),
            ("TOTAL_MISMATCH", "total_amount"),
            ("PAYEE_MISSING", "payee"),
        },
    ),
]


@pytest.mark.parametrize(
    ("changes", "expected"), [c[1:] for c in PAYLOAD_CASES], ids=[c[0] for c in PAYLOAD_CASES]
)
def test_each_fault_of_the_voucher_is_reported_with_its_field(
    changes: dict[str, Any], expected: set[tuple[str, str | None]]
) -> None:
    v = voucher(**changes)
    # A unit whose chapter or office the voucher changed is still the unit it names.
    entry = ENTRY.model_copy(
        update={"chapter": v.chapter, "treasury_code": v.treasury_code, "unit_code": v.unit_code}
    )
    assert found(v, entry=entry) == expected


@pytest.mark.parametrize(
    ("signers", "accepted"),
    [
        (("chief_accountant", "account_holder"), True),
        (("chief_accountant_deputy", "account_holder"), True),
        (("chief_accountant", "account_holder_deputy"), True),
        (("chief_accountant_deputy", "account_holder_deputy"), True),
        (("account_holder", "chief_accountant"), True),
        (("chief_accountant_deputy", "chief_accountant"), False),
        (("account_holder_deputy", "account_holder"), False),
    ],
)
def test_a_deputy_may_sign_in_place_of_either_side(
    signers: tuple[str, str], accepted: bool
) -> None:
    v = voucher(signatures=[{"role": role, **SIG} for role in signers])
    assert (found(v) == set()) is accepted


def _active(**changes: Any) -> DirectoryEntry:
    return ENTRY.model_copy(update=changes)


UNIT_CASES: list[tuple[str, DirectoryEntry | None, set[tuple[str, str | None]]]] = [
    ("unit never registered", None, {("UNIT_UNKNOWN", "unit_code")}),
    ("unit closed", _active(status="closed"), {("UNIT_UNKNOWN", "unit_code")}),
    ("unit suspended", _active(status="suspended"), {("UNIT_SUSPENDED", "unit_code")}),
    (
        "unit served by another office",
        _active(treasury_code="0012"),
        {("TREASURY_MISMATCH", "treasury_code")},
    ),
    ("not the unit's chapter", _active(chapter="423"), {("CODE_INVALID", "chapter")}),
    (
        "account not registered for the unit",
        _active(accounts=(DirectoryAccount(account_no="9523.2.7654321", kind="x"),)),
        {("CODE_INVALID", "account_no")},
    ),
    ("unit without accounts", _active(accounts=()), {("CODE_INVALID", "account_no")}),
    (
        "suspended and at another office",
        _active(status="suspended", treasury_code="0012"),
        {("UNIT_SUSPENDED", "unit_code"), ("TREASURY_MISMATCH", "treasury_code")},
    ),
]


@pytest.mark.parametrize(
    ("entry", "expected"), [c[1:] for c in UNIT_CASES], ids=[c[0] for c in UNIT_CASES]
)
def test_the_unit_must_be_registered_active_and_match_the_voucher(
    entry: DirectoryEntry | None, expected: set[tuple[str, str | None]]
) -> None:
    assert found(voucher(), entry=entry) == expected


SIGNATURE_CASES: list[tuple[str, dict[int, SignatureFinding], set[tuple[str, str | None]]]] = [
    (
        "chief accountant's certificate invalid",
        {0: SignatureFinding(0, "expired", False), 1: GOOD},
        {("CERTIFICATE_INVALID", "signatures[0].certificate_serial")},
    ),
    (
        "account holder's certificate invalid",
        {0: GOOD, 1: SignatureFinding(1, "not registered", False)},
        {("CERTIFICATE_INVALID", "signatures[1].certificate_serial")},
    ),
    (
        "chief accountant's signature does not verify",
        {0: SignatureFinding(0, None, False), 1: GOOD},
        {("SIGNATURE_INVALID", "signatures[0].value")},
    ),
    (
        "both signatures fail",
        {0: SignatureFinding(0, None, False), 1: SignatureFinding(1, None, False)},
        {
            ("SIGNATURE_INVALID", "signatures[0].value"),
            ("SIGNATURE_INVALID", "signatures[1].value"),
        },
    ),
    (
        "a bad certificate is reported once, not also as a bad signature",
        {0: SignatureFinding(0, "foreign CA", False), 1: GOOD},
        {("CERTIFICATE_INVALID", "signatures[0].certificate_serial")},
    ),
    (
        "a signature with no finding does not count for its side",
        {1: GOOD},
        {("SIGNATURE_MISSING", "signatures")},
    ),
]


@pytest.mark.parametrize(
    ("signatures", "expected"),
    [c[1:] for c in SIGNATURE_CASES],
    ids=[c[0] for c in SIGNATURE_CASES],
)
def test_certificate_and_signature_findings_become_reasons(
    signatures: dict[int, SignatureFinding], expected: set[tuple[str, str | None]]
) -> None:
    assert found(voucher(), signatures=signatures) == expected


@pytest.mark.parametrize(
    ("received", "grace", "open_years"),
    [
        (dt.datetime(2026, 12, 28, 9, 0, tzinfo=TZ), (1, 31), {2026}),
        (dt.datetime(2027, 1, 1, 0, 0, tzinfo=TZ), (1, 31), {2026, 2027}),
        (dt.datetime(2027, 1, 31, 23, 59, tzinfo=TZ), (1, 31), {2026, 2027}),
        (dt.datetime(2027, 2, 1, 0, 0, tzinfo=TZ), (1, 31), {2027}),
        (dt.datetime(2027, 2, 20, 9, 0, tzinfo=TZ), (2, 28), {2026, 2027}),
        (dt.datetime(2027, 1, 5, 9, 0, tzinfo=TZ), (1, 1), {2027}),
        # 31 Jan 17:30 UTC is already 1 February in Hà Nội: the grace has ended.
        (dt.datetime(2027, 1, 31, 17, 30, tzinfo=dt.UTC), (1, 31), {2027}),
        # 31 Dec 18:00 UTC is 1 January in Hà Nội: the new year is open, the old one too.
        (dt.datetime(2026, 12, 31, 18, 0, tzinfo=dt.UTC), (1, 31), {2026, 2027}),
    ],
)
def test_fiscal_years_open_on_a_day_follow_the_grace_setting(
    received: dt.datetime, grace: tuple[int, int], open_years: set[int]
) -> None:
    assert open_fiscal_years(received, IntakeRules(fiscal_year_grace=grace)) == open_years


@pytest.mark.parametrize(
    ("fiscal_year", "received", "closed"),
    [
        (2026, dt.datetime(2027, 1, 20, 9, 0, tzinfo=TZ), False),
        (2026, dt.datetime(2027, 2, 2, 9, 0, tzinfo=TZ), True),
        (2027, dt.datetime(2026, 12, 31, 9, 0, tzinfo=TZ), True),
        (2025, dt.datetime(2027, 1, 20, 9, 0, tzinfo=TZ), True),
    ],
)
def test_a_voucher_of_a_year_not_open_on_its_day_of_receipt_is_rejected(
    fiscal_year: int, received: dt.datetime, closed: bool
) -> None:
    reasons = found(voucher(fiscal_year=fiscal_year), received_at=received)
    assert (("FISCAL_YEAR_CLOSED", "fiscal_year") in reasons) is closed


def test_every_reason_is_reported_together_not_only_the_first() -> None:
    v = voucher(
        chapter="700",
        total_amount=1,
        payee=None,
        fiscal_year=2020,
        signatures=[{"role": "account_holder", **SIG}],
    )
    codes = {code for code, _ in found(v, entry=_active(status="suspended"))}
    assert codes == {
        "CODE_INVALID",
        "UNIT_SUSPENDED",
        "TOTAL_MISMATCH",
        "PAYEE_MISSING",
        "SIGNATURE_MISSING",
        "FISCAL_YEAR_CLOSED",
    }


def test_messages_are_vietnamese_first_with_english_in_brackets() -> None:
    reasons = check(
        voucher(payee=None, total_amount=1),
        entry=ENTRY,
        findings=all_good(voucher()),
        received_at=RECEIVED,
        rules=RULES,
    )
    assert reasons
    for reason in reasons:
        vietnamese, _, english = reason.message.partition("(")
        assert vietnamese.strip()
        assert english.endswith(")")
    total = next(r for r in reasons if r.code == "TOTAL_MISMATCH")
    assert "12.500.000 đ" in total.message


def _envelope(payload: dict[str, Any], **changes: Any) -> bytes:
    return orjson.dumps(
        {
            "event_id": "3f0c1d1e-8a53-4d8e-9b7e-2a4f6f1c9a10",
            "event_type": "voucher.submitted",
            "schema_version": 1,
            "occurred_at": "2026-12-28T09:15:02+07:00",
            "source": "dvc-portal",
            "payload": payload,
            **changes,
        }
    )


@pytest.mark.parametrize(
    ("payload", "changes", "code", "field"),
    [
        ({**VALID, "total_amount": "12500000"}, {}, "MALFORMED", "total_amount"),
        ({**VALID, "form": "C9-99/XX"}, {}, "MALFORMED", "form"),
        ({**VALID, "lines": line(amount=1.5)}, {}, "MALFORMED", "lines[0].amount"),
        ({k: v for k, v in VALID.items() if k != "dossier_id"}, {}, "MALFORMED", "dossier_id"),
        (VALID, {"schema_version": 2}, "SCHEMA_VERSION_UNSUPPORTED", None),
        (VALID, {"event_type": "allocation.recorded"}, "MALFORMED", None),
    ],
    ids=["amount as text", "unknown form", "fractional amount", "no dossier id", "v2", "type"],
)
def test_an_envelope_whose_payload_breaks_the_schema_is_rejected_naming_the_field(
    payload: dict[str, Any], changes: dict[str, Any], code: str, field: str | None
) -> None:
    with pytest.raises(PayloadRejectedError) as refused:
        parse_payload(decode_envelope(_envelope(payload, **changes)), VoucherSubmitted)
    assert refused.value.reason == code
    if field is not None:
        assert field in str(refused.value)


@pytest.mark.parametrize(
    ("other", "same"),
    [
        ({**VALID, "signatures": [{"role": "account_holder", **SIG}]}, True),
        ({k: VALID[k] for k in reversed(VALID)}, True),
        ({**VALID, "voucher_no": "126"}, False),
        ({**VALID, "lines": line(description="Mua văn phòng phẩm.")}, False),
        ({**VALID, "total_amount": 12_500_001}, False),
        ({**VALID, "portal_note": "thêm"}, False),
    ],
    ids=["re-signed", "members reordered", "number", "description", "total", "unknown member"],
)
def test_a_resubmission_is_told_from_a_modified_dossier_by_its_signed_content(
    other: dict[str, Any], same: bool
) -> None:
    """Same digest: the current status is published again; another digest: DUPLICATE_MODIFIED."""
    assert (content_digest(other) == content_digest(VALID)) is same
