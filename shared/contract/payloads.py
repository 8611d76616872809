"""Payload models of the event types (docs/contract.md §3–§4, §14).

Members are declared in the contract's order so that dumps read like its examples. Every
member read from a sender has a bound (`shared.contract.bounds`); what the services write
(`StatusChanged`, `Reason`) does not need one.
Optional members default to None or an empty tuple so that a sender omitting them yields a
reason code from the services (PAYEE_MISSING, SIGNATURE_MISSING, …) rather than MALFORMED.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StrictInt

from shared.contract import bounds
from shared.contract.base import (
    Amount,
    CertificatePem,
    Code,
    ContractModel,
    Description,
    Digest,
    DossierId,
    Email,
    FiscalYear,
    IsoDate,
    Name,
    Number,
    SignatureText,
    Subject,
    SupportText,
    Text,
    Timestamp,
)
from shared.contract.enums import (
    Algorithm,
    AllocationKind,
    AttachmentKind,
    DossierKind,
    EventType,
    Form,
    InvestmentRequestType,
    PaymentMethod,
    RequestType,
    SignerRole,
    SpendingType,
    Status,
    SupportCategory,
)


class Signature(ContractModel):
    role: SignerRole
    certificate_serial: SignatureText
    algorithm: Algorithm
    value: SignatureText


class Unit(ContractModel):
    code: Code
    name: Name
    address: Name | None = None
    parent_code: Code | None = None
    budget_level: Annotated[StrictInt, Field(ge=0, le=bounds.MAX_BUDGET_LEVEL)] | None = None
    chapter: Code


class Account(ContractModel):
    account_no: Number
    kind: Code


class Signer(ContractModel):
    role: SignerRole
    full_name: Name
    title: Name | None = None
    email: Email | None = None
    certificate_pem: CertificatePem


class RegistrationSubmitted(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.REGISTRATION_SUBMITTED

    dossier_id: DossierId
    request_type: RequestType
    unit: Unit
    treasury_code: Code
    accounts: Annotated[tuple[Account, ...], Field(max_length=bounds.MAX_ACCOUNTS)] = ()
    signers: Annotated[tuple[Signer, ...], Field(max_length=bounds.MAX_SIGNERS)] = ()
    notify_emails: Annotated[tuple[Email, ...], Field(max_length=bounds.MAX_NOTIFY_EMAILS)] = ()
    signatures: Annotated[tuple[Signature, ...], Field(max_length=bounds.MAX_SIGNATURES)] = ()


class AllocationRecorded(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.ALLOCATION_RECORDED

    allocation_id: DossierId
    unit_code: Code
    fiscal_year: FiscalYear
    chapter: Code
    sector_code: Code
    source_code: Code
    kind: AllocationKind
    amount: Amount


class Contract(ContractModel):
    number: Number
    date: IsoDate
    value: Amount
    counterparty: Name


class Line(ContractModel):
    description: Description
    economic_code: Code
    sector_code: Code
    source_code: Code
    amount: Amount


class Payee(ContractModel):
    name: Name
    tax_code: Code | None = None
    account_no: Number
    bank_code: Code


class CashRecipient(ContractModel):
    full_name: Name
    id_number: Number


class Attachment(ContractModel):
    kind: AttachmentKind
    name: Name
    sha256: Digest
    size: Annotated[StrictInt, Field(ge=0, le=bounds.MAX_ATTACHMENT_BYTES)]


class VoucherSubmitted(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.VOUCHER_SUBMITTED

    dossier_id: DossierId
    form: Form
    voucher_no: Code
    voucher_date: IsoDate
    fiscal_year: FiscalYear
    unit_code: Code
    treasury_code: Code
    account_no: Number
    chapter: Code
    spending_type: SpendingType
    payment_method: PaymentMethod
    contract: Contract | None = None
    advance_dossier_id: DossierId | None = None
    supersedes_dossier_id: DossierId | None = None
    lines: Annotated[tuple[Line, ...], Field(max_length=bounds.MAX_LINES)]
    total_amount: Amount
    payee: Payee | None = None
    cash_recipient: CashRecipient | None = None
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=bounds.MAX_ATTACHMENTS)] = ()
    signatures: Annotated[tuple[Signature, ...], Field(max_length=bounds.MAX_SIGNATURES)] = ()


class CapitalPlanRecorded(ContractModel):
    """A project's capital plan line (project, fiscal year, source) changes (§14.1)."""

    EVENT_TYPE: ClassVar[EventType] = EventType.CAPITAL_PLAN_RECORDED

    plan_id: DossierId
    unit_code: Code
    fiscal_year: FiscalYear
    source_code: Code
    kind: AllocationKind
    amount: Amount


class InvestmentSubmitted(ContractModel):
    """An advance or a payment to a contractor of a public-investment project (§14.2).

    `supersedes_dossier_id` is added, as for vouchers: the dossier that completes one returned
    for additions."""

    EVENT_TYPE: ClassVar[EventType] = EventType.INVESTMENT_SUBMITTED

    dossier_id: DossierId
    request_type: InvestmentRequestType
    voucher_no: Code
    voucher_date: IsoDate
    fiscal_year: FiscalYear
    unit_code: Code
    treasury_code: Code
    account_no: Number
    chapter: Code
    sector_code: Code
    source_code: Code
    contract: Contract | None = None
    completed_value: Amount | None = None
    amount: Amount
    advance_recovery: Amount | None = None
    supersedes_dossier_id: DossierId | None = None
    payee: Payee | None = None
    attachments: Annotated[tuple[Attachment, ...], Field(max_length=bounds.MAX_ATTACHMENTS)] = ()
    signatures: Annotated[tuple[Signature, ...], Field(max_length=bounds.MAX_SIGNATURES)] = ()

    @property
    def is_advance(self) -> bool:
        return self.request_type is InvestmentRequestType.ADVANCE

    @property
    def recovery(self) -> int:
        """The part of earlier advances recovered (always 0 for an advance)."""
        return 0 if self.is_advance else (self.advance_recovery or 0)

    @property
    def plan_amount(self) -> int:
        """The money that leaves the plan line: `amount`, less the recovery for a payment."""
        return self.amount - self.recovery


class Reason(ContractModel):
    """`code` is a string, not `ReasonCode`: officers' reasons and future codes are allowed."""

    code: Text
    field: Text | None = None
    message: Text


class StatusChanged(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.STATUS_CHANGED

    dossier_id: Text
    dossier_kind: DossierKind
    unit_code: Text
    status: Status
    sequence: StrictInt
    reasons: tuple[Reason, ...] = ()
    deadline: Timestamp | None = None
    decided_by: Text | None = None


class SupportRequested(ContractModel):
    """A unit's question to its treasury office (§10); the portal has authenticated the unit."""

    EVENT_TYPE: ClassVar[EventType] = EventType.SUPPORT_REQUESTED

    request_id: DossierId
    unit_code: Code
    treasury_code: Code
    category: SupportCategory
    subject: Subject
    body: SupportText
    dossier_id: DossierId | None = None
    contact_email: Email | None = None


Payload = (
    RegistrationSubmitted
    | AllocationRecorded
    | VoucherSubmitted
    | StatusChanged
    | CapitalPlanRecorded
    | InvestmentSubmitted
    | SupportRequested
)
