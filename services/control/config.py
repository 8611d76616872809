"""Settings of the control service; its thresholds and code lists are configuration data."""

from __future__ import annotations

from services.control.domain import ControlRules
from services.control.investment import InvestmentRules
from shared.settings import BaseServiceSettings


class ControlSettings(BaseServiceSettings):
    control_port: int = 8003
    control_batch_size: int = 500
    review_threshold_vnd: int = 1_000_000_000
    cash_review_threshold_vnd: int = 100_000_000
    contract_threshold_vnd: int = 50_000_000
    # Items (mục) whose sub-items may be paid in cash: "6000-6400".
    cash_allowed_items: str = "6000-6400"
    # Attachments each form needs, "FORM:kind|kind;FORM:kind", e.g. "C2-03/NS:invoice".
    required_attachments: str = "C2-03/NS:invoice"
    # Investment capital: cumulative advances at most this % of the contract value; a
    # guarantee above this advance; every advance recovered once accepted work reaches this %.
    investment_advance_max_percent: int = 50
    investment_guarantee_threshold_vnd: int = 1_000_000_000
    investment_recovery_full_percent: int = 80

    def investment_rules(self) -> InvestmentRules:
        return InvestmentRules(
            advance_max_percent=self.investment_advance_max_percent,
            guarantee_threshold=self.investment_guarantee_threshold_vnd,
            recovery_full_percent=self.investment_recovery_full_percent,
            review_threshold=self.review_threshold_vnd,
        )

    def rules(self) -> ControlRules:
        low, _, high = self.cash_allowed_items.partition("-")
        try:
            items = (int(low), int(high or low))
        except ValueError:
            raise ValueError(
                f"CASH_ALLOWED_ITEMS must look like 6000-6400, not {self.cash_allowed_items!r}"
            ) from None
        required: dict[str, frozenset[str]] = {}
        for part in filter(None, (p.strip() for p in self.required_attachments.split(";"))):
            form, sep, kinds = part.partition(":")
            if not sep:
                raise ValueError(f"REQUIRED_ATTACHMENTS entry {part!r} must be FORM:kind|kind")
            required[form.strip()] = frozenset(k.strip() for k in kinds.split("|") if k.strip())
        return ControlRules(
            review_threshold=self.review_threshold_vnd,
            cash_review_threshold=self.cash_review_threshold_vnd,
            contract_threshold=self.contract_threshold_vnd,
            cash_items=items,
            required_attachments=required,
        )
