"""Intake rules for an investment request (docs/contract.md §14): those of vouchers (unit,
codes, signatures, fiscal year), with the request's own amounts. Pure functions, no I/O."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from services.vouchers.domain import (
    IntakeRules,
    SignatureFinding,
    fiscal_year_reasons,
    problem,
    signature_reasons,
    unit_reasons,
)
from shared import codes
from shared.contract import InvestmentSubmitted, Reason, ReasonCode
from shared.contract.directory import DirectoryEntry


def _code_reasons(r: InvestmentSubmitted) -> list[Reason]:
    found: list[tuple[str, str | None]] = [
        ("unit_code", codes.unit_code(r.unit_code) or codes.project(r.unit_code)),
        ("chapter", codes.chapter(r.chapter)),
        ("treasury_code", codes.treasury(r.treasury_code)),
        ("sector_code", codes.sector(r.sector_code)),
        ("source_code", codes.source(r.source_code)),
    ]
    return [problem(ReasonCode.CODE_INVALID, f, m) for f, m in found if m is not None]


def _amount_reasons(r: InvestmentSubmitted) -> list[Reason]:
    reasons = []
    if r.amount <= 0:
        reasons.append(
            problem(
                ReasonCode.MALFORMED,
                "amount",
                f"Số tiền phải dương, nhận {r.amount} (amount must be positive)",
            )
        )
    if r.is_advance:
        return reasons
    if r.completed_value is None or r.completed_value < 0:
        reasons.append(
            problem(
                ReasonCode.MALFORMED,
                "completed_value",
                "Thanh toán cần giá trị khối lượng hoàn thành lũy kế "
                "(a payment needs the cumulative value of accepted work)",
            )
        )
    if not 0 <= r.recovery <= r.amount:
        reasons.append(
            problem(
                ReasonCode.MALFORMED,
                "advance_recovery",
                "Thu hồi tạm ứng phải từ 0 đến số đề nghị thanh toán "
                "(the recovery lies between 0 and the amount)",
            )
        )
    return reasons


def check(
    r: InvestmentSubmitted,
    *,
    entry: DirectoryEntry | None,
    findings: Mapping[int, SignatureFinding],
    received_at: dt.datetime,
    rules: IntakeRules,
) -> list[Reason]:
    """Every reason to reject `r` at intake; empty when it goes on to control."""
    reasons = _code_reasons(r) + unit_reasons(r, entry) + _amount_reasons(r)
    if r.payee is None:
        reasons.append(
            problem(
                ReasonCode.PAYEE_MISSING,
                "payee",
                "Thanh toán vốn đầu tư cần thông tin người thụ hưởng (a payee is required)",
            )
        )
    return reasons + signature_reasons(r, findings) + fiscal_year_reasons(r, received_at, rules)
