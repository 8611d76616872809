"""Spending control (docs/domain.md "Spending control"; docs/contract.md §5): pure rules.

`decide` takes a received voucher and the state of everything it touches (budget lines, the
advance it settles, what was paid on its contract) and says what happens: returned, refused,
held for review, or approved with the amounts to commit. Nothing here reads a clock or a
database; the caller holds the rows locked while it applies the decision.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from shared.contract import Reason, ReasonCode, VoucherSubmitted
from shared.contract.enums import Form, PaymentMethod, SpendingType, Status

LineKey = tuple[str, int, str, str, str]
"""(unit, fiscal year, chapter, sector, source): one budget line."""
ContractKey = tuple[str, str, str]
"""(unit, contract number, contract date)."""


def vnd(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " đ"


@dataclass
class LineState:
    allocated: int
    committed: int

    @property
    def available(self) -> int:
        return self.allocated - self.committed


@dataclass
class AdvanceState:
    dossier_id: str
    unit_code: str
    amount: int
    settled: int

    @property
    def open(self) -> int:
        return self.amount - self.settled


@dataclass(frozen=True)
class ControlRules:
    """Configuration data: thresholds, cash-eligible items and required attachments."""

    review_threshold: int = 1_000_000_000
    cash_review_threshold: int = 100_000_000
    contract_threshold: int = 50_000_000
    cash_items: tuple[int, int] = (6000, 6400)
    required_attachments: Mapping[str, frozenset[str]] = field(
        default_factory=lambda: {Form.ADVANCE_SETTLEMENT.value: frozenset({"invoice"})}
    )


@dataclass(frozen=True)
class Decision:
    status: Status
    reasons: tuple[Reason, ...] = ()
    commits: Mapping[LineKey, int] = field(default_factory=dict)
    settles: tuple[str, int] | None = None
    contract_payment: int = 0


def _reason(code: ReasonCode, field_: str | None, message: str) -> Reason:
    return Reason(code=code.value, field=field_, message=message)


def line_key(v: VoucherSubmitted, sector: str, source: str) -> LineKey:
    return (v.unit_code, v.fiscal_year, v.chapter, sector, source)


def line_amounts(v: VoucherSubmitted) -> dict[LineKey, int]:
    amounts: dict[LineKey, int] = defaultdict(int)
    for line in v.lines:
        amounts[line_key(v, line.sector_code, line.source_code)] += line.amount
    return dict(amounts)


def contract_key(v: VoucherSubmitted) -> ContractKey | None:
    if v.contract is None:
        return None
    return (v.unit_code, v.contract.number, v.contract.date.isoformat())


def settles(v: VoucherSubmitted) -> bool:
    return v.form is Form.ADVANCE_SETTLEMENT


def incompleteness(v: VoucherSubmitted, rules: ControlRules) -> list[Reason]:
    """What is missing from the dossier; each is a reason to return it for additions."""
    kinds = {a.kind.value for a in v.attachments}
    reasons = []
    if v.total_amount > rules.contract_threshold and (
        v.contract is None or "contract" not in kinds
    ):
        reasons.append(
            _reason(
                ReasonCode.CONTRACT_REQUIRED,
                "contract",
                f"Khoản chi trên {vnd(rules.contract_threshold)} phải có hợp đồng kèm theo "
                "(a contract and its attachment are required above the threshold)",
            )
        )
    if (
        v.contract is not None
        and v.spending_type is SpendingType.ACTUAL
        and "acceptance_record" not in kinds
    ):
        reasons.append(
            _reason(
                ReasonCode.ACCEPTANCE_RECORD_MISSING,
                "attachments",
                "Thanh toán theo hợp đồng cần biên bản nghiệm thu "
                "(payment under a contract needs the acceptance record)",
            )
        )
    for kind in sorted(rules.required_attachments.get(v.form.value, frozenset()) - kinds):
        reasons.append(
            _reason(
                ReasonCode.ATTACHMENT_MISSING,
                "attachments",
                f"Thiếu tài liệu kèm theo: {kind} (attachment missing)",
            )
        )
    return reasons


def _cash_reasons(v: VoucherSubmitted, rules: ControlRules) -> list[Reason]:
    if v.payment_method is not PaymentMethod.CASH:
        return []
    low, high = rules.cash_items
    return [
        _reason(
            ReasonCode.CASH_NOT_ALLOWED,
            f"lines[{i}].economic_code",
            f"Tiểu mục {line.economic_code} không được chi bằng tiền mặt; chỉ mục "
            f"{low}–{high} (cash only for payments to individuals)",
        )
        for i, line in enumerate(v.lines)
        if not (line.economic_code.isdigit() and low <= int(line.economic_code) // 10 * 10 <= high)
    ]


def _budget_reasons(v: VoucherSubmitted, lines: Mapping[LineKey, LineState]) -> list[Reason]:
    reasons = []
    for key, amount in line_amounts(v).items():
        state = lines.get(key)
        where = f"chương {key[2]}, khoản {key[3]}, nguồn {key[4]}, năm {key[1]}"
        if state is None:
            reasons.append(
                _reason(
                    ReasonCode.BUDGET_LINE_UNKNOWN,
                    "lines",
                    f"Chưa có dự toán cho {where} (no budget line)",
                )
            )
        elif amount > state.available:
            reasons.append(
                _reason(
                    ReasonCode.BUDGET_EXCEEDED,
                    "lines",
                    f"Vượt dự toán còn lại ({where}): còn {vnd(state.available)}, "
                    f"đề nghị {vnd(amount)} (budget exceeded)",
                )
            )
    return reasons


def _advance_reasons(v: VoucherSubmitted, advance: AdvanceState | None) -> list[Reason]:
    if advance is None or advance.unit_code != v.unit_code:
        return [
            _reason(
                ReasonCode.ADVANCE_NOT_FOUND,
                "advance_dossier_id",
                f"Không có khoản tạm ứng đã duyệt {v.advance_dossier_id} của đơn vị "
                "(no approved advance to settle)",
            )
        ]
    if v.total_amount > advance.open:
        return [
            _reason(
                ReasonCode.ADVANCE_EXCEEDED,
                "total_amount",
                f"Thanh toán tạm ứng {vnd(v.total_amount)} vượt số tạm ứng còn lại "
                f"{vnd(advance.open)} (settlement above the open advance)",
            )
        ]
    return []


def _contract_reasons(v: VoucherSubmitted, paid: int) -> list[Reason]:
    if v.contract is None or settles(v) or paid + v.total_amount <= v.contract.value:
        return []
    return [
        _reason(
            ReasonCode.CONTRACT_EXCEEDED,
            "contract.value",
            f"Lũy kế thanh toán {vnd(paid + v.total_amount)} vượt giá trị hợp đồng "
            f"{vnd(v.contract.value)} (contract value exceeded)",
        )
    ]


def needs_review(v: VoucherSubmitted, rules: ControlRules) -> bool:
    cash = v.payment_method is PaymentMethod.CASH
    return v.total_amount >= rules.review_threshold or (
        cash and v.total_amount >= rules.cash_review_threshold
    )


def decide(
    v: VoucherSubmitted,
    *,
    lines: Mapping[LineKey, LineState],
    advance: AdvanceState | None,
    contract_paid: int,
    superseded_returned: bool,
    rules: ControlRules,
    by_officer: bool = False,
) -> Decision:
    """The control decision on `v`. An officer's approval (`by_officer`) re-checks the money."""
    if not by_officer:
        missing = incompleteness(v, rules)
        if missing:
            return Decision(
                Status.REFUSED if superseded_returned else Status.RETURNED, tuple(missing)
            )
    refusals = _cash_reasons(v, rules)
    if settles(v):
        refusals += _advance_reasons(v, advance)
    else:
        refusals += _budget_reasons(v, lines) + _contract_reasons(v, contract_paid)
    if refusals:
        return Decision(Status.REFUSED, tuple(refusals))
    if not by_officer and needs_review(v, rules):
        return Decision(Status.IN_REVIEW)
    if settles(v):
        assert v.advance_dossier_id is not None
        return Decision(Status.APPROVED, settles=(v.advance_dossier_id, v.total_amount))
    payment = v.total_amount if v.contract is not None else 0
    return Decision(Status.APPROVED, commits=line_amounts(v), contract_payment=payment)
