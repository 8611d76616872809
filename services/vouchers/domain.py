"""Intake rules for a submitted voucher (docs/contract.md §3, §5): pure functions, no I/O.

`check` returns every reason to reject a voucher, not only the first. Signature verification
results come in already computed (see `signatures`), and time comes in as an argument.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from shared import codes
from shared.contract import InvestmentSubmitted, Reason, ReasonCode, SignerRole, VoucherSubmitted
from shared.contract.deadlines import receipt_date
from shared.contract.directory import DirectoryEntry
from shared.contract.enums import PaymentMethod

CHIEF_SIDE = frozenset({SignerRole.CHIEF_ACCOUNTANT, SignerRole.CHIEF_ACCOUNTANT_DEPUTY})
HOLDER_SIDE = frozenset({SignerRole.ACCOUNT_HOLDER, SignerRole.ACCOUNT_HOLDER_DEPUTY})


@dataclass(frozen=True)
class IntakeRules:
    """Configuration data of intake."""

    # Until this day (month, day) of year Y+1, vouchers of fiscal year Y are still accepted.
    fiscal_year_grace: tuple[int, int] = (1, 31)


@dataclass(frozen=True)
class SignatureFinding:
    """What the signature check found for one entry of `signatures`."""

    index: int
    certificate_problem: str | None
    verified: bool


def problem(code: ReasonCode, field: str | None, message: str) -> Reason:
    return Reason(code=code.value, field=field, message=message)


def open_fiscal_years(received_at: dt.datetime, rules: IntakeRules) -> set[int]:
    day = receipt_date(received_at)
    years = {day.year}
    if (day.month, day.day) <= rules.fiscal_year_grace:
        years.add(day.year - 1)
    return years


def unit_reasons(
    v: VoucherSubmitted | InvestmentSubmitted, entry: DirectoryEntry | None
) -> list[Reason]:
    if entry is None or entry.status == "closed":
        return [
            problem(
                ReasonCode.UNIT_UNKNOWN,
                "unit_code",
                f"Đơn vị {v.unit_code} chưa đăng ký dịch vụ công (unit not registered)",
            )
        ]
    reasons = []
    if entry.status == "suspended":
        reasons.append(
            problem(
                ReasonCode.UNIT_SUSPENDED,
                "unit_code",
                f"Đơn vị {v.unit_code} đang bị tạm dừng (unit suspended)",
            )
        )
    if entry.treasury_code != v.treasury_code:
        reasons.append(
            problem(
                ReasonCode.TREASURY_MISMATCH,
                "treasury_code",
                f"Đơn vị giao dịch tại KBNN {entry.treasury_code}, không phải {v.treasury_code} "
                "(unit is served by another treasury office)",
            )
        )
    if entry.chapter != v.chapter:
        reasons.append(
            problem(
                ReasonCode.CODE_INVALID,
                "chapter",
                f"Chương {v.chapter} không phải chương của đơn vị "
                f"({entry.chapter}) (not the unit's chapter)",
            )
        )
    if v.account_no not in {a.account_no for a in entry.accounts}:
        reasons.append(
            problem(
                ReasonCode.CODE_INVALID,
                "account_no",
                f"Tài khoản {v.account_no} không thuộc đơn vị "
                "(account not registered for the unit)",
            )
        )
    return reasons


def _code_reasons(v: VoucherSubmitted) -> list[Reason]:
    found: list[tuple[str, str | None]] = [
        ("unit_code", codes.unit_code(v.unit_code)),
        ("chapter", codes.chapter(v.chapter)),
        ("treasury_code", codes.treasury(v.treasury_code)),
    ]
    for i, line in enumerate(v.lines):
        found += [
            (f"lines[{i}].economic_code", codes.economic(line.economic_code)),
            (f"lines[{i}].sector_code", codes.sector(line.sector_code)),
            (f"lines[{i}].source_code", codes.source(line.source_code)),
        ]
    return [problem(ReasonCode.CODE_INVALID, f, m) for f, m in found if m is not None]


def _amount_reasons(v: VoucherSubmitted) -> list[Reason]:
    reasons = [
        problem(
            ReasonCode.MALFORMED,
            f"lines[{i}].amount",
            f"Số tiền phải dương, nhận {line.amount} (amount must be positive)",
        )
        for i, line in enumerate(v.lines)
        if line.amount <= 0
    ]
    if not v.lines:
        reasons.append(
            problem(ReasonCode.MALFORMED, "lines", "Chứng từ không có dòng nào (no lines)")
        )
    total = sum(line.amount for line in v.lines)
    if total != v.total_amount:
        reasons.append(
            problem(
                ReasonCode.TOTAL_MISMATCH,
                "total_amount",
                f"Tổng các dòng {total:,} đ khác tổng chứng từ {v.total_amount:,} đ "
                "(lines do not add up to the total)".replace(",", "."),
            )
        )
    return reasons


def _payment_reasons(v: VoucherSubmitted) -> list[Reason]:
    if v.payment_method is PaymentMethod.TRANSFER and v.payee is None:
        return [
            problem(
                ReasonCode.PAYEE_MISSING,
                "payee",
                "Chuyển khoản cần thông tin người thụ hưởng (transfer needs a payee)",
            )
        ]
    if v.payment_method is PaymentMethod.CASH and v.cash_recipient is None:
        return [
            problem(
                ReasonCode.CASH_RECIPIENT_MISSING,
                "cash_recipient",
                "Rút tiền mặt cần người nhận tiền (cash needs a recipient)",
            )
        ]
    return []


def signature_reasons(
    v: VoucherSubmitted | InvestmentSubmitted, findings: Mapping[int, SignatureFinding]
) -> list[Reason]:
    reasons = []
    sides = {"chief": False, "holder": False}
    for i, signature in enumerate(v.signatures):
        finding = findings.get(i)
        if finding is None:
            continue
        if finding.certificate_problem is not None:
            reasons.append(
                problem(
                    ReasonCode.CERTIFICATE_INVALID,
                    f"signatures[{i}].certificate_serial",
                    finding.certificate_problem,
                )
            )
        elif not finding.verified:
            reasons.append(
                problem(
                    ReasonCode.SIGNATURE_INVALID,
                    f"signatures[{i}].value",
                    "Chữ ký số không khớp nội dung chứng từ (signature does not verify)",
                )
            )
        sides["chief"] |= signature.role in CHIEF_SIDE
        sides["holder"] |= signature.role in HOLDER_SIDE
    missing = {
        "chief": "kế toán trưởng (chief accountant)",
        "holder": "chủ tài khoản (account holder)",
    }
    reasons += [
        problem(
            ReasonCode.SIGNATURE_MISSING,
            "signatures",
            f"Thiếu chữ ký của {who} (signature missing)",
        )
        for side, who in missing.items()
        if not sides[side]
    ]
    return reasons


def check(
    v: VoucherSubmitted,
    *,
    entry: DirectoryEntry | None,
    findings: Mapping[int, SignatureFinding],
    received_at: dt.datetime,
    rules: IntakeRules,
) -> list[Reason]:
    """Every reason to reject `v` at intake; empty when it goes on to spending control."""
    reasons = _code_reasons(v) + unit_reasons(v, entry) + _amount_reasons(v)
    reasons += _payment_reasons(v) + signature_reasons(v, findings)
    return reasons + fiscal_year_reasons(v, received_at, rules)


def fiscal_year_reasons(
    v: VoucherSubmitted | InvestmentSubmitted, received_at: dt.datetime, rules: IntakeRules
) -> list[Reason]:
    if v.fiscal_year in open_fiscal_years(received_at, rules):
        return []
    return [
        problem(
            ReasonCode.FISCAL_YEAR_CLOSED,
            "fiscal_year",
            f"Năm ngân sách {v.fiscal_year} không còn/chưa mở (fiscal year not open)",
        )
    ]
