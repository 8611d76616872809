"""Control of investment capital (docs/domain.md "Investment capital"; docs/contract.md §10):
pure rules.

A project pays its contractors out of a capital plan line (project, fiscal year, source).
Each contract (project, contract number) has a position: what was advanced, recovered from
later payments, and paid for accepted work. `decide` takes a request and the state it
touches and says what happens; the caller holds the rows locked while it applies it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.control.domain import LineState, vnd
from shared.contract import InvestmentSubmitted, Reason, ReasonCode, Status

PlanKey = tuple[str, int, str]
"""(project, fiscal year, source): one capital plan line."""
PositionKey = tuple[str, str]
"""(project, contract number): one contract's position."""


@dataclass(frozen=True)
class InvestmentRules:
    """Configuration data: the limits of the scheme (defaults as since Decree 99/2021)."""

    advance_max_percent: int = 50
    guarantee_threshold: int = 1_000_000_000
    recovery_full_percent: int = 80
    review_threshold: int = 1_000_000_000


@dataclass
class Position:
    """A contract's position; `value` is the contract value last approved against it."""

    value: int = 0
    advanced: int = 0
    recovered: int = 0
    paid: int = 0
    last_completed_value: int = 0

    @property
    def open_advance(self) -> int:
        return self.advanced - self.recovered


@dataclass(frozen=True)
class InvestmentDecision:
    status: Status
    reasons: tuple[Reason, ...] = ()


def plan_key(r: InvestmentSubmitted) -> PlanKey:
    return (r.unit_code, r.fiscal_year, r.source_code)


def position_key(r: InvestmentSubmitted) -> PositionKey | None:
    return None if r.contract is None else (r.unit_code, r.contract.number)


def _reason(code: ReasonCode, field_: str | None, message: str) -> Reason:
    return Reason(code=code.value, field=field_, message=message)


def incompleteness(r: InvestmentSubmitted, rules: InvestmentRules) -> list[Reason]:
    """What is missing from the dossier; each is a reason to return it for additions."""
    kinds = {a.kind.value for a in r.attachments}
    reasons = []
    if r.contract is None or "contract" not in kinds:
        reasons.append(
            _reason(
                ReasonCode.CONTRACT_REQUIRED,
                "contract",
                "Hồ sơ vốn đầu tư phải có hợp đồng kèm theo "
                "(an investment request needs its contract and the contract attached)",
            )
        )
    if r.is_advance and r.amount > rules.guarantee_threshold and "guarantee" not in kinds:
        reasons.append(
            _reason(
                ReasonCode.ATTACHMENT_MISSING,
                "attachments",
                f"Tạm ứng trên {vnd(rules.guarantee_threshold)} cần bảo lãnh tạm ứng "
                "(an advance above the threshold needs an advance guarantee)",
            )
        )
    if not r.is_advance and "acceptance_record" not in kinds:
        reasons.append(
            _reason(
                ReasonCode.ACCEPTANCE_RECORD_MISSING,
                "attachments",
                "Thanh toán khối lượng hoàn thành cần biên bản nghiệm thu "
                "(a payment for accepted work needs the acceptance record)",
            )
        )
    return reasons


def _advance_refusals(r: InvestmentSubmitted, p: Position, rules: InvestmentRules) -> list[Reason]:
    assert r.contract is not None
    value, advanced = r.contract.value, p.advanced + r.amount
    if advanced * 100 <= value * rules.advance_max_percent:
        return []
    return [
        _reason(
            ReasonCode.ADVANCE_LIMIT_EXCEEDED,
            "amount",
            f"Lũy kế tạm ứng {vnd(advanced)} vượt {rules.advance_max_percent}% giá trị hợp đồng "
            f"{vnd(value)} (cumulative advances above the limit)",
        )
    ]


def _payment_refusals(r: InvestmentSubmitted, p: Position, rules: InvestmentRules) -> list[Reason]:
    assert r.contract is not None
    value, completed = r.contract.value, r.completed_value or 0
    paid, recovery = p.paid + r.amount, r.recovery
    reasons = []
    if paid > completed:
        reasons.append(
            _reason(
                ReasonCode.COMPLETED_VALUE_EXCEEDED,
                "amount",
                f"Lũy kế thanh toán {vnd(paid)} vượt giá trị khối lượng hoàn thành "
                f"{vnd(completed)} (payments above the accepted work)",
            )
        )
    open_after = p.open_advance - min(recovery, p.open_advance)
    if paid + open_after > value:
        reasons.append(_contract_exceeded(paid + open_after, value))
    if recovery > p.open_advance:
        reasons.append(
            _reason(
                ReasonCode.ADVANCE_EXCEEDED,
                "advance_recovery",
                f"Thu hồi tạm ứng {vnd(recovery)} vượt số tạm ứng chưa thu hồi "
                f"{vnd(p.open_advance)} (recovery above the open advance)",
            )
        )
    elif open_after > 0 and completed * 100 >= value * rules.recovery_full_percent:
        reasons.append(
            _reason(
                ReasonCode.ADVANCE_RECOVERY_INSUFFICIENT,
                "advance_recovery",
                f"Khối lượng hoàn thành đạt {rules.recovery_full_percent}% giá trị hợp đồng: "
                f"phải thu hồi hết tạm ứng, còn {vnd(open_after)} "
                "(every open advance must be recovered by now)",
            )
        )
    return reasons


def _contract_exceeded(total: int, value: int) -> Reason:
    return _reason(
        ReasonCode.CONTRACT_EXCEEDED,
        "contract.value",
        f"Lũy kế thanh toán và tạm ứng chưa thu hồi {vnd(total)} vượt giá trị hợp đồng "
        f"{vnd(value)} (contract value exceeded)",
    )


def _plan_refusals(r: InvestmentSubmitted, line: LineState | None) -> list[Reason]:
    where = f"dự án {r.unit_code}, nguồn {r.source_code}, năm {r.fiscal_year}"
    if line is None:
        return [
            _reason(
                ReasonCode.CAPITAL_PLAN_UNKNOWN,
                "source_code",
                f"Dự án chưa có kế hoạch vốn cho {where} (no capital plan line)",
            )
        ]
    if r.plan_amount > line.available:
        return [
            _reason(
                ReasonCode.CAPITAL_PLAN_EXCEEDED,
                "amount",
                f"Vượt kế hoạch vốn còn lại ({where}): còn {vnd(line.available)}, "
                f"đề nghị {vnd(r.plan_amount)} (capital plan exceeded)",
            )
        ]
    return []


def decide(
    r: InvestmentSubmitted,
    *,
    line: LineState | None,
    position: Position,
    superseded_returned: bool,
    rules: InvestmentRules,
    by_officer: bool = False,
) -> InvestmentDecision:
    """Incomplete → returned; then the refusals; then review on `amount`; else approved.
    An officer's approval (`by_officer`) re-checks the money."""
    missing = [] if by_officer else incompleteness(r, rules)
    if missing:
        status = Status.REFUSED if superseded_returned else Status.RETURNED
        return InvestmentDecision(status, tuple(missing))
    if r.contract is None:  # only an officer can get here: the money cannot be checked
        return InvestmentDecision(Status.REFUSED, tuple(incompleteness(r, rules)[:1]))
    if r.is_advance:
        refusals = _advance_refusals(r, position, rules)
        total = position.paid + position.open_advance + r.amount
        if total > r.contract.value:
            refusals.append(_contract_exceeded(total, r.contract.value))
    else:
        refusals = _payment_refusals(r, position, rules)
    # The notice (Mẫu 33) names the contract and the plan line the refusal is about.
    refusals = [
        x.model_copy(update={"message": f"Hợp đồng {r.contract.number}: {x.message}"})
        for x in refusals
    ]
    refusals += _plan_refusals(r, line)
    if refusals:
        return InvestmentDecision(Status.REFUSED, tuple(refusals))
    if not by_officer and r.amount >= rules.review_threshold:
        return InvestmentDecision(Status.IN_REVIEW)
    return InvestmentDecision(Status.APPROVED)


@dataclass
class InvestmentLedger:
    """The plan lines and contract positions a set of decisions works on, and what approvals
    change in them; the control service loads it from locked rows and writes the changes
    (`plan_deltas`, `changed`) back with conditional updates."""

    lines: dict[PlanKey, LineState] = field(default_factory=dict)
    positions: dict[PositionKey, Position] = field(default_factory=dict)
    plan_deltas: dict[PlanKey, int] = field(default_factory=lambda: defaultdict(int))
    deltas: dict[PositionKey, Position] = field(default_factory=dict)

    def decide(
        self,
        r: InvestmentSubmitted,
        *,
        superseded_returned: bool,
        rules: InvestmentRules,
        by_officer: bool = False,
    ) -> InvestmentDecision:
        key = position_key(r)
        return decide(
            r,
            line=self.lines.get(plan_key(r)),
            position=self.positions.get(key, Position()) if key else Position(),
            superseded_returned=superseded_returned,
            rules=rules,
            by_officer=by_officer,
        )

    def take(self, r: InvestmentSubmitted, decision: InvestmentDecision) -> None:
        """Record what an approval changes, so that later decisions see it."""
        key = position_key(r)
        if decision.status is not Status.APPROVED or key is None or r.contract is None:
            return
        self.lines[plan_key(r)].committed += r.plan_amount
        self.plan_deltas[plan_key(r)] += r.plan_amount
        for p in (
            self.positions.setdefault(key, Position()),
            self.deltas.setdefault(key, Position()),
        ):
            p.value = r.contract.value
            if r.is_advance:
                p.advanced += r.amount
            else:
                p.paid += r.amount
                p.recovered += r.recovery
                p.last_completed_value = r.completed_value or 0


def plan_commitments(deltas: Mapping[PlanKey, int]) -> list[tuple[PlanKey, int]]:
    """The non-zero plan deltas in key order (the order rows are updated in)."""
    return [(k, v) for k, v in sorted(deltas.items()) if v]
