"""What an officer's form must hold before it goes to a service: pure, no I/O.

These are the completeness checks of a form (a choice made, a reason picked for a refusal),
so that the page can say what is missing beside the field; whether the decision may be taken
is the service's rule, checked there when the form is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contract import REFUSAL_REASONS, REGISTRATION_REASONS, RETURN_REASONS, ReasonCode
from shared.contract.enums import Status

# An officer's own grounds, beside the codes the services emit (the contract allows them).
OFFICER_REFUSALS = ("CONTENT_NOT_JUSTIFIED", "WRONG_CLASSIFICATION")
VOUCHER_REASONS: dict[str, tuple[str, ...]] = {
    "refuse": (
        *sorted(r.value for r in REFUSAL_REASONS if r != ReasonCode.ALLOCATION_BELOW_COMMITTED),
        *OFFICER_REFUSALS,
    ),
    "return": tuple(sorted(r.value for r in RETURN_REASONS)),
}
REGISTRATION_REFUSALS: dict[str, tuple[str, ...]] = {
    "refuse": (
        *sorted(r.value for r in REGISTRATION_REASONS),
        ReasonCode.CERTIFICATE_INVALID.value,
        ReasonCode.CODE_INVALID.value,
        ReasonCode.TREASURY_MISMATCH.value,
    ),
}


@dataclass(frozen=True)
class DecisionForm:
    decision: str
    reason_code: str
    message: str

    @classmethod
    def read(cls, form: dict[str, str]) -> DecisionForm:
        return cls(
            decision=form.get("decision", "").strip(),
            reason_code=form.get("reason_code", "").strip(),
            message=form.get("message", "").strip()[:1000],
        )

    def errors(
        self, reasons: dict[str, tuple[str, ...]], choices: tuple[str, ...]
    ) -> dict[str, str]:
        """Field → message key, for each thing the form still lacks."""
        if self.decision not in choices:
            return {"decision": "decide.need_decision"}
        wanted = reasons.get(self.decision)
        if wanted is None:
            return {}
        if not self.reason_code:
            return {"reason_code": "decide.need_reason"}
        if self.reason_code not in wanted:
            return {"reason_code": "decide.wrong_reason"}
        return {}

    def body(self, label: str) -> dict[str, object]:
        """The service's decision body; the message defaults to the reason's label."""
        if not self.reason_code or self.decision == "approve":
            return {"decision": self.decision}
        reason = {"code": self.reason_code, "message": self.message or label}
        return {"decision": self.decision, "reasons": [reason]}


SUPPORT_RESOLUTIONS = (Status.ANSWERED.value, Status.RESOLVED.value, Status.DEFERRED.value)


@dataclass(frozen=True)
class ReplyForm:
    """An officer's reply to a support request: what the unit is told, and what follows."""

    message: str
    resolution: str

    @classmethod
    def read(cls, form: dict[str, str]) -> ReplyForm:
        return cls(
            message=form.get("message", "").strip(), resolution=form.get("resolution", "").strip()
        )

    def errors(self) -> dict[str, str]:
        """Field → message key, for each thing the reply still lacks."""
        found = {}
        if not self.message:
            found["message"] = "support.need_message"
        if self.resolution not in SUPPORT_RESOLUTIONS:
            found["resolution"] = "support.need_resolution"
        return found
