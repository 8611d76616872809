"""The kit's vouchers are consistent, and each faulty one shows exactly its fault.

`intake_findings` is a small reference reading of docs/contract.md §3/§5 and docs/domain.md, written
only to judge the kit's output; the services own the real rules.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from shared.contract import (
    INTAKE_REASONS,
    AllocationRecorded,
    AttachmentKind,
    Envelope,
    Form,
    MalformedMessageError,
    MalformedPayloadError,
    PaymentMethod,
    ReasonCode,
    RegistrationSubmitted,
    SchemaVersionUnsupportedError,
    SignerRole,
    SpendingType,
    VoucherSubmitted,
    decode_envelope,
    encode,
    parse_payload,
)
from shared.signing import (
    TrustStore,
    check_certificate,
    load_certificate,
    serial_hex,
    signing_input,
    verify,
)
from testkit import (
    CONTRACT_THRESHOLD_VND,
    Faulty,
    Testbed,
    UnitKit,
    VoucherOptions,
    fault_variants,
    invalid_voucher,
)
from testkit.vouchers import ICT

R = ReasonCode
CHAPTERS = (range(1, 400), range(400, 600), range(800, 990))
HOLDERS = {SignerRole.ACCOUNT_HOLDER, SignerRole.ACCOUNT_HOLDER_DEPUTY}
CHIEFS = {SignerRole.CHIEF_ACCOUNTANT, SignerRole.CHIEF_ACCOUNTANT_DEPUTY}


@pytest.fixture(scope="module")
def bed() -> Testbed:
    return Testbed(seed=5)


@pytest.fixture(scope="module")
def unit(bed: Testbed) -> UnitKit:
    return bed.unit(deputies=True)


@pytest.fixture(scope="module")
def trust(bed: Testbed) -> TrustStore:
    return bed.ca.trust_store()


def codes_are_valid(voucher: VoucherSubmitted) -> bool:
    chapter_ok = re.fullmatch(r"\d{3}", voucher.chapter) is not None and any(
        int(voucher.chapter) in r for r in CHAPTERS
    )
    return chapter_ok and all(
        re.fullmatch(r"\d{3}[1-9]", line.economic_code)
        and re.fullmatch(r"\d{2}[1-9]", line.sector_code)
        and re.fullmatch(r"\d{2}", line.source_code)
        for line in voucher.lines
    )


def intake_findings(
    envelope: Envelope, units: dict[str, UnitKit], trust: TrustStore, *, seen: dict[str, bytes]
) -> set[ReasonCode]:
    voucher = parse_payload(envelope, VoucherSubmitted)
    unit = units.get(voucher.unit_code)
    if unit is None:
        return {R.UNIT_UNKNOWN}
    found: set[ReasonCode] = set()
    if voucher.treasury_code != unit.treasury_code:
        found.add(R.TREASURY_MISMATCH)
    if not codes_are_valid(voucher):
        found.add(R.CODE_INVALID)
    if sum(line.amount for line in voucher.lines) != voucher.total_amount:
        found.add(R.TOTAL_MISMATCH)
    if voucher.payment_method is PaymentMethod.TRANSFER and voucher.payee is None:
        found.add(R.PAYEE_MISSING)
    if voucher.payment_method is PaymentMethod.CASH and voucher.cash_recipient is None:
        found.add(R.CASH_RECIPIENT_MISSING)
    if voucher.fiscal_year < voucher.voucher_date.year - 1:
        found.add(R.FISCAL_YEAR_CLOSED)
    roles = {s.role for s in voucher.signatures}
    if not (roles & HOLDERS and roles & CHIEFS):
        found.add(R.SIGNATURE_MISSING)
    noon = dt.datetime.combine(voucher.voucher_date, dt.time(12), ICT)
    registered = {s.serial: s for s in unit.signers.values()}
    for signature in voucher.signatures:
        signer = registered.get(signature.certificate_serial)
        if (
            signer is None
            or signer.role is not signature.role
            or check_certificate(signer.certificate, trust=trust, at=noon)
        ):
            found.add(R.CERTIFICATE_INVALID)
        elif not verify(
            envelope.payload,
            signature.value,
            certificate=signer.certificate,
            algorithm=signature.algorithm,
        ):
            found.add(R.SIGNATURE_INVALID)
    content = signing_input(envelope.payload)
    if seen.setdefault(voucher.dossier_id, content) != content:
        found.add(R.DUPLICATE_MODIFIED)
    return found


def test_generated_vouchers_pass_every_intake_check(
    bed: Testbed, unit: UnitKit, trust: TrustStore
) -> None:
    seen: dict[str, bytes] = {}
    variety: list[VoucherOptions] = [
        {},
        {"line_count": 4},
        {"payment_method": PaymentMethod.CASH, "line_count": 2},
        {"spending_type": SpendingType.ADVANCE, "total_amount": 80_000_000},
        {"total_amount": 1_200_000_000, "line_count": 3},
        {"form": Form.PAYMENT_ORDER},
        {"supersedes_dossier_id": "CT-0011-2026-00000001"},
    ]
    for options in variety * 5:
        envelope = unit.voucher(**options)
        assert intake_findings(envelope, {unit.code: unit}, trust, seen=seen) == set()
    es_unit = bed.unit(algorithm="ES256")
    for envelope in es_unit.vouchers(5, line_count=2):
        assert intake_findings(envelope, {es_unit.code: es_unit}, trust, seen=seen) == set()


def test_generated_vouchers_are_consistent(unit: UnitKit) -> None:
    for envelope in unit.vouchers(30, line_count=3):
        voucher = parse_payload(decode_envelope(encode(envelope)), VoucherSubmitted)
        assert sum(line.amount for line in voucher.lines) == voucher.total_amount
        assert all(line.amount > 0 for line in voucher.lines)
        assert voucher.unit_code == unit.code
        assert voucher.account_no == f"9523.2.{unit.code}"
        assert voucher.chapter == unit.chapter
        assert {(ln.sector_code, ln.source_code) for ln in voucher.lines} <= {
            (b.sector_code, b.source_code) for b in unit.budget_lines
        }
        assert re.fullmatch(rf"CT-{unit.treasury_code}-2026-\d{{8}}", voucher.dossier_id)


def test_unit_codes_follow_the_domain(bed: Testbed) -> None:
    for kit in [bed.unit() for _ in range(5)]:
        assert re.fullmatch(r"[12]\d{6}", kit.code)
        assert re.fullmatch(r"\d{4}", kit.treasury_code)
        low, high = {1: (1, 399), 2: (400, 599), 4: (800, 989)}[kit.budget_level]
        assert low <= int(kit.chapter) <= high


def test_contract_above_threshold_comes_with_its_attachments(unit: UnitKit) -> None:
    voucher = parse_payload(
        unit.voucher(total_amount=CONTRACT_THRESHOLD_VND + 1000), VoucherSubmitted
    )
    kinds = {a.kind for a in voucher.attachments}
    assert voucher.contract is not None
    assert voucher.contract.value >= voucher.total_amount
    assert {AttachmentKind.CONTRACT, AttachmentKind.ACCEPTANCE_RECORD} <= kinds
    assert all(re.fullmatch(r"[0-9a-f]{64}", a.sha256) and a.size > 0 for a in voucher.attachments)


def test_cash_voucher_has_a_recipient_and_personal_payment_codes(unit: UnitKit) -> None:
    voucher = parse_payload(unit.voucher(payment_method=PaymentMethod.CASH), VoucherSubmitted)
    assert voucher.payee is None
    assert voucher.cash_recipient is not None
    assert all(6000 <= int(line.economic_code) <= 6400 for line in voucher.lines)


def test_settlement_names_the_advance_and_stays_on_its_lines(unit: UnitKit) -> None:
    advance = unit.voucher(
        spending_type=SpendingType.ADVANCE, total_amount=30_000_000, line_count=2
    )
    advanced = parse_payload(advance, VoucherSubmitted)
    settled = parse_payload(unit.settlement(advance, amount=20_000_000), VoucherSubmitted)
    assert settled.form is Form.ADVANCE_SETTLEMENT
    assert settled.advance_dossier_id == advanced.dossier_id
    assert settled.total_amount == sum(line.amount for line in settled.lines) == 20_000_000
    assert [ln.economic_code for ln in settled.lines] == [ln.economic_code for ln in advanced.lines]


def test_registration_is_signed_by_the_account_holder_certificate_it_carries(
    unit: UnitKit, trust: TrustStore
) -> None:
    envelope = unit.registration()
    registration = parse_payload(envelope, RegistrationSubmitted)
    roles = {s.role for s in registration.signers}
    assert {SignerRole.ACCOUNT_HOLDER, SignerRole.CHIEF_ACCOUNTANT} <= roles
    [signature] = registration.signatures
    holder = next(s for s in registration.signers if s.role is SignerRole.ACCOUNT_HOLDER)
    certificate = load_certificate(holder.certificate_pem)
    assert signature.role is SignerRole.ACCOUNT_HOLDER
    assert signature.certificate_serial == serial_hex(certificate)
    assert verify(
        envelope.payload, signature.value, certificate=certificate, algorithm=signature.algorithm
    )
    assert check_certificate(certificate, trust=trust, at=envelope.occurred_at) == []


def test_allocations_cover_every_budget_line_of_the_unit(unit: UnitKit) -> None:
    envelopes = unit.allocations(amount=500_000_000)
    lines = {(e.payload["sector_code"], e.payload["source_code"]) for e in envelopes}
    assert lines == {(b.sector_code, b.source_code) for b in unit.budget_lines}
    assert all(e.payload["chapter"] == unit.chapter for e in envelopes)
    assert len({e.payload["allocation_id"] for e in envelopes}) == len(envelopes)


def test_same_seed_gives_the_same_messages() -> None:
    first, second = Testbed(seed=42), Testbed(seed=42)
    a, b = first.unit(algorithm="ES256"), second.unit(algorithm="ES256")
    assert encode(a.registration()) == encode(b.registration())
    assert encode(a.voucher(line_count=2)) == encode(b.voucher(line_count=2))


def test_ids_do_not_repeat_within_a_testbed(bed: Testbed, unit: UnitKit) -> None:
    envelopes = list(unit.vouchers(300))
    assert len({e.event_id for e in envelopes}) == 300
    assert len({e.payload["dossier_id"] for e in envelopes}) == 300


FAULT_CASES = [
    (kind, variant) for kind, variants in fault_variants().items() for variant in variants
]


def test_every_message_property_intake_code_has_a_fault() -> None:
    not_message_properties = {R.UNIT_SUSPENDED}
    assert set(fault_variants()) >= INTAKE_REASONS - not_message_properties


@pytest.mark.parametrize(("kind", "variant"), FAULT_CASES, ids=[f"{k}-{v}" for k, v in FAULT_CASES])
def test_faulty_voucher_shows_exactly_its_fault(
    unit: UnitKit, trust: TrustStore, kind: ReasonCode, variant: str
) -> None:
    faulty = invalid_voucher(unit, kind, variant=variant)
    assert (faulty.kind, faulty.variant) == (kind, variant)
    if kind is R.MALFORMED and faulty.envelope is None:
        with pytest.raises(MalformedMessageError):
            decode_envelope(faulty.raw)
        return
    envelope = decode_envelope(faulty.raw)
    assert envelope == faulty.envelope
    if kind is R.MALFORMED:
        with pytest.raises(MalformedPayloadError):
            parse_payload(envelope)
        return
    if kind is R.SCHEMA_VERSION_UNSUPPORTED:
        with pytest.raises(SchemaVersionUnsupportedError):
            parse_payload(envelope)
        return
    seen: dict[str, bytes] = {}
    units = {unit.code: unit}
    for prior in faulty.prior:
        if prior.event_type == "voucher.submitted":
            assert intake_findings(prior, units, trust, seen=seen) == set()
    expected = {kind} if kind in INTAKE_REASONS else set()
    assert intake_findings(envelope, units, trust, seen=seen) == expected
    _shows_detail(faulty, unit, trust)


def _shows_detail(faulty: Faulty, unit: UnitKit, trust: TrustStore) -> None:
    """What the reference intake check cannot see: why the certificate or control fails."""
    assert faulty.envelope is not None
    voucher = parse_payload(faulty.envelope, VoucherSubmitted)
    prior = [parse_payload(p) for p in faulty.prior]
    kinds = {a.kind for a in voucher.attachments}
    match faulty.kind, faulty.variant:
        case R.CERTIFICATE_INVALID, variant:
            chief = next(s for s in voucher.signatures if s.role is SignerRole.CHIEF_ACCOUNTANT)
            signer = unit.stand_ins[variant]
            assert chief.certificate_serial == signer.serial
            assert verify(
                faulty.envelope.payload,
                chief.value,
                certificate=signer.certificate,
                algorithm=chief.algorithm,
            )
            problems = check_certificate(signer.certificate, trust=trust, at=unit.now)
            if variant == "other_unit":
                assert problems == []
                assert signer.unit_code != unit.code
            else:
                assert problems[0].startswith(
                    {"expired": "certificate expired"}.get(variant, "issuer")
                )
        case R.CONTRACT_REQUIRED, _:
            assert voucher.total_amount > CONTRACT_THRESHOLD_VND
            assert voucher.contract is None or AttachmentKind.CONTRACT not in kinds
        case R.ACCEPTANCE_RECORD_MISSING, _:
            assert voucher.contract is not None
            assert voucher.spending_type is SpendingType.ACTUAL
            assert AttachmentKind.CONTRACT in kinds
            assert AttachmentKind.ACCEPTANCE_RECORD not in kinds
        case R.CASH_NOT_ALLOWED, _:
            assert voucher.payment_method is PaymentMethod.CASH
            assert any(not 6000 <= int(ln.economic_code) < 6450 for ln in voucher.lines)
        case R.BUDGET_LINE_UNKNOWN, _:
            allocated = {(b.sector_code, b.source_code) for b in unit.budget_lines}
            assert any((ln.sector_code, ln.source_code) not in allocated for ln in voucher.lines)
        case R.BUDGET_EXCEEDED, _:
            [allocation] = prior
            assert isinstance(allocation, AllocationRecorded)
            assert voucher.total_amount > allocation.amount
        case R.CONTRACT_EXCEEDED, _:
            [first] = prior
            assert isinstance(first, VoucherSubmitted)
            assert first.contract == voucher.contract is not None
            assert first.total_amount + voucher.total_amount > voucher.contract.value
        case R.ADVANCE_NOT_FOUND, _:
            assert voucher.form is Form.ADVANCE_SETTLEMENT
            assert voucher.advance_dossier_id not in {None, voucher.dossier_id}
        case R.ADVANCE_EXCEEDED, _:
            [advance] = prior
            assert isinstance(advance, VoucherSubmitted)
            assert advance.spending_type is SpendingType.ADVANCE
            assert voucher.advance_dossier_id == advance.dossier_id
            assert voucher.total_amount > advance.total_amount
        case R.DUPLICATE_MODIFIED, _:
            [original] = prior
            assert isinstance(original, VoucherSubmitted)
            assert original.dossier_id == voucher.dossier_id
            assert original != voucher
        case _:
            pass


def test_fault_for_a_state_not_a_message_is_refused(unit: UnitKit) -> None:
    with pytest.raises(ValueError, match="not a property"):
        invalid_voucher(unit, R.UNIT_SUSPENDED)
    with pytest.raises(ValueError, match="no variant"):
        invalid_voucher(unit, R.TOTAL_MISMATCH, variant="nonsense")
