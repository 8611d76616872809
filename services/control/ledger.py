"""The books a batch of spending-control decisions works on: pure, like `domain`.

Loaded from locked rows (`ledger_db.lock_ledger`), changed by each approval so that the next
decision of the batch sees it, written back at the end (`ledger_db.write_ledger`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from services.control.domain import (
    AdvanceState,
    ContractKey,
    ControlRules,
    Decision,
    LineKey,
    LineState,
    contract_key,
    decide,
    settles,
)
from shared.contract import VoucherSubmitted
from shared.contract.enums import SpendingType, Status


@dataclass
class Ledger:
    """The budget lines, advances and contract payments a set of decisions works on, and
    what approvals change in them. The control service loads it from locked rows, takes its
    decisions through it, then writes `line_deltas`, `settled`, `paid`, `commitments` and
    `new_advances` back."""

    lines: dict[LineKey, LineState] = field(default_factory=dict)
    advances: dict[str, AdvanceState] = field(default_factory=dict)
    contracts: dict[ContractKey, int] = field(default_factory=dict)
    line_deltas: dict[LineKey, int] = field(default_factory=lambda: defaultdict(int))
    settled: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    paid: dict[ContractKey, int] = field(default_factory=lambda: defaultdict(int))
    commitments: list[tuple[str, LineKey, int]] = field(default_factory=list)
    new_advances: list[AdvanceState] = field(default_factory=list)

    def decide(
        self,
        v: VoucherSubmitted,
        *,
        superseded_returned: bool,
        rules: ControlRules,
        by_officer: bool = False,
    ) -> Decision:
        key = contract_key(v)
        paid = self.contracts.get(key, 0) + self.paid.get(key, 0) if key else 0
        return decide(
            v,
            lines=self.lines,
            advance=self.advances.get(v.advance_dossier_id or ""),
            contract_paid=paid,
            superseded_returned=superseded_returned,
            rules=rules,
            by_officer=by_officer,
        )

    def take(self, v: VoucherSubmitted, decision: Decision) -> None:
        """Record what a decision changes, so that later decisions see it."""
        for key, amount in decision.commits.items():
            self.lines[key].committed += amount
            self.line_deltas[key] += amount
            self.commitments.append((v.dossier_id, key, amount))
        if decision.settles is not None:
            advance_id, amount = decision.settles
            self.advances[advance_id].settled += amount
            self.settled[advance_id] += amount
        contract = contract_key(v)
        if contract is not None and decision.contract_payment:
            self.paid[contract] += decision.contract_payment
        if (
            decision.status is Status.APPROVED
            and v.spending_type is SpendingType.ADVANCE
            and not settles(v)
        ):
            advance = AdvanceState(v.dossier_id, v.unit_code, v.total_amount, 0)
            self.advances[v.dossier_id] = advance
            self.new_advances.append(advance)
