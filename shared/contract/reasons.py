"""Reason codes of docs/contract.md §5: stable identifiers carried in `status.changed` reasons.

The contract only ever adds codes, so consumers parse `Reason.code` as a plain string; this
enum is what the product itself emits.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ReasonCode(StrEnum):
    # At intake: the dossier is `rejected`.
    MALFORMED = "MALFORMED"
    SCHEMA_VERSION_UNSUPPORTED = "SCHEMA_VERSION_UNSUPPORTED"
    UNIT_UNKNOWN = "UNIT_UNKNOWN"
    UNIT_SUSPENDED = "UNIT_SUSPENDED"
    TREASURY_MISMATCH = "TREASURY_MISMATCH"
    CODE_INVALID = "CODE_INVALID"
    TOTAL_MISMATCH = "TOTAL_MISMATCH"
    PAYEE_MISSING = "PAYEE_MISSING"
    CASH_RECIPIENT_MISSING = "CASH_RECIPIENT_MISSING"
    SIGNATURE_MISSING = "SIGNATURE_MISSING"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    CERTIFICATE_INVALID = "CERTIFICATE_INVALID"
    DUPLICATE_MODIFIED = "DUPLICATE_MODIFIED"
    FISCAL_YEAR_CLOSED = "FISCAL_YEAR_CLOSED"
    # In control: the dossier is `returned`.
    CONTRACT_REQUIRED = "CONTRACT_REQUIRED"
    ACCEPTANCE_RECORD_MISSING = "ACCEPTANCE_RECORD_MISSING"
    ATTACHMENT_MISSING = "ATTACHMENT_MISSING"
    # In control: the dossier is `refused`.
    BUDGET_LINE_UNKNOWN = "BUDGET_LINE_UNKNOWN"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    CONTRACT_EXCEEDED = "CONTRACT_EXCEEDED"
    CASH_NOT_ALLOWED = "CASH_NOT_ALLOWED"
    ADVANCE_NOT_FOUND = "ADVANCE_NOT_FOUND"
    ADVANCE_EXCEEDED = "ADVANCE_EXCEEDED"
    # Investment capital (§14): the dossier is `refused`.
    ADVANCE_LIMIT_EXCEEDED = "ADVANCE_LIMIT_EXCEEDED"
    COMPLETED_VALUE_EXCEEDED = "COMPLETED_VALUE_EXCEEDED"
    ADVANCE_RECOVERY_INSUFFICIENT = "ADVANCE_RECOVERY_INSUFFICIENT"
    CAPITAL_PLAN_EXCEEDED = "CAPITAL_PLAN_EXCEEDED"
    CAPITAL_PLAN_UNKNOWN = "CAPITAL_PLAN_UNKNOWN"
    # Allocations (§3): a reduction below what is committed is `refused`.
    ALLOCATION_BELOW_COMMITTED = "ALLOCATION_BELOW_COMMITTED"
    # Registrations (added): a `new` one lacks a required signer, or the unit already exists.
    SIGNER_MISSING = "SIGNER_MISSING"
    UNIT_ALREADY_REGISTERED = "UNIT_ALREADY_REGISTERED"


INTAKE_REASONS: Final = frozenset(
    {
        ReasonCode.MALFORMED,
        ReasonCode.SCHEMA_VERSION_UNSUPPORTED,
        ReasonCode.UNIT_UNKNOWN,
        ReasonCode.UNIT_SUSPENDED,
        ReasonCode.TREASURY_MISMATCH,
        ReasonCode.CODE_INVALID,
        ReasonCode.TOTAL_MISMATCH,
        ReasonCode.PAYEE_MISSING,
        ReasonCode.CASH_RECIPIENT_MISSING,
        ReasonCode.SIGNATURE_MISSING,
        ReasonCode.SIGNATURE_INVALID,
        ReasonCode.CERTIFICATE_INVALID,
        ReasonCode.DUPLICATE_MODIFIED,
        ReasonCode.FISCAL_YEAR_CLOSED,
    }
)
RETURN_REASONS: Final = frozenset(
    {
        ReasonCode.CONTRACT_REQUIRED,
        ReasonCode.ACCEPTANCE_RECORD_MISSING,
        ReasonCode.ATTACHMENT_MISSING,
    }
)
REFUSAL_REASONS: Final = frozenset(
    {
        ReasonCode.BUDGET_LINE_UNKNOWN,
        ReasonCode.BUDGET_EXCEEDED,
        ReasonCode.CONTRACT_EXCEEDED,
        ReasonCode.CASH_NOT_ALLOWED,
        ReasonCode.ADVANCE_NOT_FOUND,
        ReasonCode.ADVANCE_EXCEEDED,
        ReasonCode.ALLOCATION_BELOW_COMMITTED,
        ReasonCode.ADVANCE_LIMIT_EXCEEDED,
        ReasonCode.COMPLETED_VALUE_EXCEEDED,
        ReasonCode.ADVANCE_RECOVERY_INSUFFICIENT,
        ReasonCode.CAPITAL_PLAN_EXCEEDED,
        ReasonCode.CAPITAL_PLAN_UNKNOWN,
    }
)
# Added to the contract (it grows only by adding): why a registration is rejected beyond §5.
REGISTRATION_REASONS: Final = frozenset(
    {
        ReasonCode.SIGNER_MISSING,
        ReasonCode.UNIT_ALREADY_REGISTERED,
    }
)
