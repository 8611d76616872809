"""The contract's own examples parse, round-trip, and the edge codec refuses what it must."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest
from pydantic import ValidationError

from shared.contract import (
    EVENT_TYPES,
    INTAKE_REASONS,
    REFUSAL_REASONS,
    REGISTRATION_REASONS,
    RETURN_REASONS,
    AllocationRecorded,
    Envelope,
    EventType,
    MalformedMessageError,
    MalformedPayloadError,
    PayloadRejectedError,
    ReasonCode,
    RegistrationSubmitted,
    SchemaVersionUnsupportedError,
    StatusChanged,
    UnexpectedEventTypeError,
    VoucherSubmitted,
    decode_envelope,
    encode,
    make_envelope,
    parse_payload,
    to_json_dict,
)

pytestmark = pytest.mark.fast

# Copied verbatim from docs/contract.md §2–§4; the "…" placeholders are valid strings as they are.
ENVELOPE = """\
{
  "event_id": "3f0c1d1e-8a53-4d8e-9b7e-2a4f6f1c9a10",
  "event_type": "voucher.submitted",
  "schema_version": 1,
  "occurred_at": "2026-12-28T09:15:02+07:00",
  "source": "dvc-portal",
  "payload": {}
}"""
REGISTRATION = """\
{
  "dossier_id": "DK-0011-2026-000042",
  "request_type": "new",
  "unit": {"code": "1012345", "name": "Trường THPT Lai Châu", "address": "…",
           "parent_code": "1010000", "budget_level": 2, "chapter": "422"},
  "treasury_code": "0011",
  "accounts": [{"account_no": "9523.2.1012345", "kind": "budget_estimate"}],
  "signers": [{"role": "account_holder", "full_name": "…", "title": "Hiệu trưởng",
               "email": "ht@example.vn", "certificate_pem": "-----BEGIN CERTIFICATE-----…"}],
  "notify_emails": ["ketoan@example.vn"],
  "signatures": [{"role": "account_holder", "certificate_serial": "1a2b…",
                  "algorithm": "RS256", "value": "base64url…"}]
}"""
ALLOCATION = """\
{"allocation_id": "DT-2026-0011-000123", "unit_code": "1012345", "fiscal_year": 2026,
 "chapter": "422", "sector_code": "072", "source_code": "13",
 "kind": "initial", "amount": 1500000000}"""
VOUCHER = """\
{
  "dossier_id": "CT-0011-2026-00012345",
  "form": "C2-02a/NS",
  "voucher_no": "125", "voucher_date": "2026-12-28", "fiscal_year": 2026,
  "unit_code": "1012345", "treasury_code": "0011", "account_no": "9523.2.1012345",
  "chapter": "422",
  "spending_type": "actual",
  "payment_method": "transfer",
  "contract": {"number": "15/2026/HĐ", "date": "2026-03-02", "value": 240000000,
               "counterparty": "Công ty TNHH ABC"},
  "advance_dossier_id": null,
  "supersedes_dossier_id": null,
  "lines": [{"description": "Mua văn phòng phẩm", "economic_code": "6551",
             "sector_code": "072", "source_code": "13", "amount": 12500000}],
  "total_amount": 12500000,
  "payee": {"name": "Công ty TNHH ABC", "tax_code": "0101234567",
            "account_no": "0011000123456", "bank_code": "01201001"},
  "cash_recipient": null,
  "attachments": [{"kind": "contract", "name": "hd15.pdf", "sha256": "…", "size": 183211}],
  "signatures": [
    {"role": "chief_accountant", "certificate_serial": "…", "algorithm": "RS256", "value": "…"},
    {"role": "account_holder", "certificate_serial": "…", "algorithm": "RS256", "value": "…"}]
}"""
STATUS = """\
{"dossier_id": "CT-0011-2026-00012345", "dossier_kind": "voucher", "unit_code": "1012345",
 "status": "refused", "sequence": 3,
 "reasons": [{"code": "BUDGET_EXCEEDED", "field": "lines[0]",
              "message": "Vượt dự toán còn lại: còn 10.000.000 đ, đề nghị 12.500.000 đ"}],
 "deadline": "2026-12-30T16:30:00+07:00", "decided_by": "system"}"""

PAYLOADS = [
    pytest.param(RegistrationSubmitted, REGISTRATION, id="registration.submitted"),
    pytest.param(AllocationRecorded, ALLOCATION, id="allocation.recorded"),
    pytest.param(VoucherSubmitted, VOUCHER, id="voucher.submitted"),
    pytest.param(StatusChanged, STATUS, id="status.changed"),
]


def assert_contains(given: Any, dumped: Any, path: str = "$") -> None:
    """`dumped` has every member of `given` with the same value (it may have more)."""
    if isinstance(given, dict):
        assert isinstance(dumped, dict), path
        for key, value in given.items():
            assert key in dumped, f"{path}.{key}"
            assert_contains(value, dumped[key], f"{path}.{key}")
    elif isinstance(given, list):
        assert isinstance(dumped, list), path
        assert len(dumped) == len(given), path
        for index, (a, b) in enumerate(zip(given, dumped, strict=True)):
            assert_contains(a, b, f"{path}[{index}]")
    else:
        assert given == dumped, path


def envelope_bytes(payload_text: str, /, **overrides: Any) -> bytes:
    document = orjson.loads(ENVELOPE)
    document["payload"] = orjson.loads(payload_text)
    document.update(overrides)
    return orjson.dumps(document)


@pytest.mark.parametrize(("model", "text"), PAYLOADS)
def test_contract_example_payload_parses_and_round_trips(model: Any, text: str) -> None:
    given = orjson.loads(text)
    parsed = model.model_validate(given)
    assert model.model_validate(orjson.loads(encode(parsed))) == parsed
    assert_contains(given, to_json_dict(parsed))


@pytest.mark.parametrize(("model", "text"), PAYLOADS)
def test_contract_example_payload_decodes_from_an_envelope(model: Any, text: str) -> None:
    event_type = model.EVENT_TYPE.value
    envelope = decode_envelope(envelope_bytes(text, event_type=event_type))
    payload = parse_payload(envelope)
    assert isinstance(payload, model)
    assert parse_payload(envelope, model) == payload
    assert decode_envelope(encode(envelope)) == envelope


def test_contract_example_envelope_round_trips_exactly() -> None:
    envelope = decode_envelope(ENVELOPE.encode())
    assert envelope.occurred_at == dt.datetime(2026, 12, 28, 2, 15, 2, tzinfo=dt.UTC)
    assert envelope.occurred_at.utcoffset() == dt.timedelta(hours=7)
    assert to_json_dict(envelope) == orjson.loads(ENVELOPE)
    assert decode_envelope(encode(envelope)) == envelope


def test_every_event_type_has_a_payload_model() -> None:
    assert set(EVENT_TYPES) == {e.value for e in EventType}
    assert all(name == model.EVENT_TYPE for name, model in EVENT_TYPES.items())


def test_unsupported_schema_version_is_rejected_with_its_reason_code() -> None:
    envelope = decode_envelope(envelope_bytes(VOUCHER, schema_version=2))
    with pytest.raises(SchemaVersionUnsupportedError) as caught:
        parse_payload(envelope, VoucherSubmitted)
    assert caught.value.reason is ReasonCode.SCHEMA_VERSION_UNSUPPORTED
    assert caught.value.envelope == envelope


@pytest.mark.parametrize(
    "raw",
    [b"", b"not json", b'{"event_id": ', b"\xff\xfe\x00", ENVELOPE.encode()[:-3], None],
    ids=["empty", "text", "truncated", "not-utf8", "cut-envelope", "tombstone"],
)
def test_bytes_that_are_not_json_are_a_malformed_message(raw: bytes | None) -> None:
    with pytest.raises(MalformedMessageError):
        decode_envelope(raw)


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"42",
        b'"voucher"',
        b"{}",
        VOUCHER.encode(),
        envelope_bytes(VOUCHER, payload=[1, 2]),
        envelope_bytes(VOUCHER, event_id="not-a-uuid"),
        envelope_bytes(VOUCHER, schema_version="1"),
        envelope_bytes(VOUCHER, occurred_at="2026-12-28T09:15:02"),
        envelope_bytes(VOUCHER, occurred_at=1798424102),
    ],
    ids=[
        "array",
        "number",
        "string",
        "empty-object",
        "bare-payload",
        "payload-not-object",
        "event-id-not-uuid",
        "schema-version-text",
        "naive-time",
        "epoch-time",
    ],
)
def test_json_without_an_envelope_is_a_malformed_message(raw: bytes) -> None:
    with pytest.raises(MalformedMessageError) as caught:
        decode_envelope(raw)
    assert caught.value.detail.startswith("not an envelope")


def test_message_over_one_mebibyte_is_malformed() -> None:
    padded = envelope_bytes(VOUCHER, padding="x" * (1024 * 1024))
    with pytest.raises(MalformedMessageError):
        decode_envelope(padded)


def test_unknown_members_are_ignored_at_every_level() -> None:
    document = orjson.loads(VOUCHER)
    document["portal_hint"] = "new in v1.1"
    document["lines"][0]["note"] = 1
    document["payee"]["branch"] = "Hà Nội"
    envelope = decode_envelope(envelope_bytes(orjson.dumps(document).decode(), trace_id="x"))
    parsed = parse_payload(envelope, VoucherSubmitted)
    assert parsed == VoucherSubmitted.model_validate(orjson.loads(VOUCHER))
    assert "portal_hint" not in to_json_dict(parsed)
    assert envelope.payload["portal_hint"] == "new in v1.1"


def test_event_id_is_kept_in_lower_case() -> None:
    envelope = decode_envelope(
        envelope_bytes(VOUCHER, event_id="3F0C1D1E-8A53-4D8E-9B7E-2A4F6F1C9A10")
    )
    assert envelope.event_id == "3f0c1d1e-8a53-4d8e-9b7e-2a4f6f1c9a10"


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("total_amount",), "12500000", "total_amount"),
        (("total_amount",), 12500000.0, "total_amount"),
        (("lines", 0, "amount"), True, "lines[0].amount"),
        (("voucher_date",), 1798390800, "voucher_date"),
        (("voucher_date",), "2026-12-28T00:00:00", "voucher_date"),
        (("form",), "C2-02/NS", "form"),
        (("signatures", 0, "algorithm"), "PS256", "signatures[0].algorithm"),
        (("unit_code",), 1012345, "unit_code"),
    ],
)
def test_wrong_json_type_makes_a_malformed_payload_naming_the_field(
    path: tuple[str | int, ...], value: Any, field: str
) -> None:
    document = orjson.loads(VOUCHER)
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    envelope = decode_envelope(envelope_bytes(orjson.dumps(document).decode()))
    with pytest.raises(MalformedPayloadError) as caught:
        parse_payload(envelope, VoucherSubmitted)
    assert caught.value.reason is ReasonCode.MALFORMED
    assert field in [where for where, _ in caught.value.problems()]


def test_business_rules_are_left_to_the_services() -> None:
    document = orjson.loads(VOUCHER)
    document.update(total_amount=1, chapter="700", payee=None, signatures=[], lines=[])
    del document["contract"], document["attachments"]
    parsed = VoucherSubmitted.model_validate(document)
    assert parsed.payee is None
    assert parsed.signatures == ()
    assert parsed.contract is None


def test_unknown_event_type_is_rejected_as_malformed() -> None:
    envelope = decode_envelope(envelope_bytes(VOUCHER, event_type="voucher.cancelled"))
    with pytest.raises(UnexpectedEventTypeError) as caught:
        parse_payload(envelope)
    assert caught.value.reason is ReasonCode.MALFORMED


def test_event_of_another_type_than_the_topic_expects_is_rejected() -> None:
    envelope = decode_envelope(envelope_bytes(ALLOCATION, event_type="allocation.recorded"))
    with pytest.raises(PayloadRejectedError):
        parse_payload(envelope, VoucherSubmitted)


def test_models_are_frozen() -> None:
    parsed = VoucherSubmitted.model_validate(orjson.loads(VOUCHER))
    with pytest.raises(ValidationError):
        parsed.total_amount = 1  # type: ignore[misc]


def test_make_envelope_takes_the_event_type_from_the_payload_model() -> None:
    status = StatusChanged.model_validate(orjson.loads(STATUS))
    envelope = make_envelope(
        status,
        event_id="3f0c1d1e-8a53-4d8e-9b7e-2a4f6f1c9a10",
        occurred_at=dt.datetime(2026, 12, 28, 9, 15, 2, tzinfo=dt.UTC),
        source="control",
    )
    assert envelope.event_type == "status.changed"
    assert parse_payload(decode_envelope(encode(envelope)), StatusChanged) == status


def test_every_reason_code_of_the_contract_is_listed() -> None:
    # docs/contract.md §5, §3.2 (allocations) and §14 (investment capital), as written there.
    named = [
        "MALFORMED",
        "SCHEMA_VERSION_UNSUPPORTED",
        "UNIT_UNKNOWN",
        "UNIT_SUSPENDED",
        "TREASURY_MISMATCH",
        "CODE_INVALID",
        "TOTAL_MISMATCH",
        "PAYEE_MISSING",
        "CASH_RECIPIENT_MISSING",
        "SIGNATURE_MISSING",
        "SIGNATURE_INVALID",
        "CERTIFICATE_INVALID",
        "DUPLICATE_MODIFIED",
        "FISCAL_YEAR_CLOSED",
        "CONTRACT_REQUIRED",
        "ACCEPTANCE_RECORD_MISSING",
        "ATTACHMENT_MISSING",
        "BUDGET_LINE_UNKNOWN",
        "BUDGET_EXCEEDED",
        "CONTRACT_EXCEEDED",
        "CASH_NOT_ALLOWED",
        "ADVANCE_NOT_FOUND",
        "ADVANCE_EXCEEDED",
        "ALLOCATION_BELOW_COMMITTED",
        "ADVANCE_LIMIT_EXCEEDED",
        "COMPLETED_VALUE_EXCEEDED",
        "ADVANCE_RECOVERY_INSUFFICIENT",
        "CAPITAL_PLAN_EXCEEDED",
        "CAPITAL_PLAN_UNKNOWN",
    ]
    assert set(named) <= {code.value for code in ReasonCode}
    added = {code.value for code in ReasonCode} - set(named)
    assert added == {code.value for code in REGISTRATION_REASONS}
    assert set(ReasonCode) == (
        INTAKE_REASONS | RETURN_REASONS | REFUSAL_REASONS | REGISTRATION_REASONS
    )


def test_envelope_payload_keeps_the_sender_document() -> None:
    envelope = Envelope.model_validate(orjson.loads(envelope_bytes(VOUCHER)))
    assert envelope.payload == orjson.loads(VOUCHER)
