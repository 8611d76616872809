"""The closed vocabularies of docs/contract.md §3–§4."""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal

Algorithm = Literal["RS256", "ES256"]
"""RS256: RSASSA-PKCS1-v1_5 with SHA-256; ES256: ECDSA P-256 with SHA-256."""


class EventType(StrEnum):
    REGISTRATION_SUBMITTED = "registration.submitted"
    ALLOCATION_RECORDED = "allocation.recorded"
    VOUCHER_SUBMITTED = "voucher.submitted"
    STATUS_CHANGED = "status.changed"
    # Investment capital (§14).
    CAPITAL_PLAN_RECORDED = "capital_plan.recorded"
    INVESTMENT_SUBMITTED = "investment.submitted"
    # Support requests (§10).
    SUPPORT_REQUESTED = "support.requested"


class RequestType(StrEnum):
    NEW = "new"
    CHANGE_SIGNERS = "change_signers"
    ADD_ACCOUNT = "add_account"
    CLOSE = "close"


class SignerRole(StrEnum):
    ACCOUNT_HOLDER = "account_holder"
    CHIEF_ACCOUNTANT = "chief_accountant"
    ACCOUNT_HOLDER_DEPUTY = "account_holder_deputy"
    CHIEF_ACCOUNTANT_DEPUTY = "chief_accountant_deputy"


class Form(StrEnum):
    BUDGET_WITHDRAWAL = "C2-02a/NS"
    PAYMENT_ORDER = "C4-02a/KB"
    ADVANCE_SETTLEMENT = "C2-03/NS"


class SpendingType(StrEnum):
    ACTUAL = "actual"
    ADVANCE = "advance"


class PaymentMethod(StrEnum):
    TRANSFER = "transfer"
    CASH = "cash"


class AttachmentKind(StrEnum):
    CONTRACT = "contract"
    ACCEPTANCE_RECORD = "acceptance_record"
    INVOICE = "invoice"
    PAYEE_LIST = "payee_list"
    OTHER = "other"
    GUARANTEE = "guarantee"


class InvestmentRequestType(StrEnum):
    ADVANCE = "advance"
    PAYMENT = "payment"


class AllocationKind(StrEnum):
    INITIAL = "initial"
    SUPPLEMENT = "supplement"
    REDUCTION = "reduction"


class Status(StrEnum):
    RECEIVED = "received"
    REJECTED = "rejected"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REFUSED = "refused"
    RETURNED = "returned"
    # Support requests only (§10): an officer replied; the request is done or taken forward.
    ANSWERED = "answered"
    RESOLVED = "resolved"
    DEFERRED = "deferred"


SYSTEM: Final = "system"
"""`decided_by` of every automatic outcome (docs/contract.md §4)."""

TERMINAL_STATUSES: Final = frozenset(
    {Status.REJECTED, Status.APPROVED, Status.REFUSED, Status.RETURNED}
)
"""The final statuses: nothing follows them (a returned dossier is superseded by a new one)."""

OPEN_STATUSES: Final = frozenset({Status.RECEIVED, Status.IN_REVIEW})
"""The statuses that carry a deadline: the dossier still waits for an outcome."""


class SupportResolution(StrEnum):
    """What an officer's reply to a support request does (§10): the statuses it may publish."""

    ANSWERED = Status.ANSWERED.value
    RESOLVED = Status.RESOLVED.value
    DEFERRED = Status.DEFERRED.value


class SupportStatusFilter(StrEnum):
    """The statuses a list of support requests may be filtered by; `open` is received or
    answered, not yet resolved or deferred."""

    OPEN = "open"
    RECEIVED = Status.RECEIVED.value
    ANSWERED = Status.ANSWERED.value
    RESOLVED = Status.RESOLVED.value
    DEFERRED = Status.DEFERRED.value
    REJECTED = Status.REJECTED.value


class DossierKind(StrEnum):
    VOUCHER = "voucher"
    REGISTRATION = "registration"
    ALLOCATION = "allocation"
    INVESTMENT = "investment"
    CAPITAL_PLAN = "capital_plan"
    SUPPORT = "support"


class SupportCategory(StrEnum):
    REGISTRATION = "registration"
    SIGNATURE = "signature"
    VOUCHER = "voucher"
    ACCOUNT = "account"
    OTHER = "other"
