"""Payload models of the four event types (docs/contract.md §3–§4).

Members are declared in the contract's order so that dumps read like its examples.
Optional members default to None or an empty tuple so that a sender omitting them yields a
reason code from the services (PAYEE_MISSING, SIGNATURE_MISSING, …) rather than MALFORMED.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import StrictInt

from shared.contract.base import Amount, ContractModel, IsoDate, Text, Timestamp
from shared.contract.enums import (
    Algorithm,
    AllocationKind,
    AttachmentKind,
    DossierKind,
    EventType,
    Form,
    PaymentMethod,
    RequestType,
    SignerRole,
    SpendingType,
    Status,
)


class Signature(ContractModel):
    role: SignerRole
    certificate_serial: Text
    algorithm: Algorithm
    value: Text


class Unit(ContractModel):
    code: Text
    name: Text
    address: Text | None = None
    parent_code: Text | None = None
    budget_level: StrictInt | None = None
    chapter: Text


class Account(ContractModel):
    account_no: Text
    kind: Text


class Signer(ContractModel):
    role: SignerRole
    full_name: Text
    title: Text | None = None
    email: Text | None = None
    certificate_pem: Text


class RegistrationSubmitted(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.REGISTRATION_SUBMITTED

    dossier_id: Text
    request_type: RequestType
    unit: Unit
    treasury_code: Text
    accounts: tuple[Account, ...] = ()
    signers: tuple[Signer, ...] = ()
    notify_emails: tuple[Text, ...] = ()
    signatures: tuple[Signature, ...] = ()


class AllocationRecorded(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.ALLOCATION_RECORDED

    allocation_id: Text
    unit_code: Text
    fiscal_year: StrictInt
    chapter: Text
    sector_code: Text
    source_code: Text
    kind: AllocationKind
    amount: Amount


class Contract(ContractModel):
    number: Text
    date: IsoDate
    value: Amount
    counterparty: Text


class Line(ContractModel):
    description: Text
    economic_code: Text
    sector_code: Text
    source_code: Text
    amount: Amount


class Payee(ContractModel):
    name: Text
    tax_code: Text | None = None
    account_no: Text
    bank_code: Text


class CashRecipient(ContractModel):
    full_name: Text
    id_number: Text


class Attachment(ContractModel):
    kind: AttachmentKind
    name: Text
    sha256: Text
    size: StrictInt


class VoucherSubmitted(ContractModel):
    EVENT_TYPE: ClassVar[EventType] = EventType.VOUCHER_SUBMITTED

    dossier_id: Text
    form: Form
    voucher_no: Text
    voucher_date: IsoDate
    fiscal_year: StrictInt
    unit_code: Text
    treasury_code: Text
    account_no: Text
    chapter: Text
    spending_type: SpendingType
    payment_method: PaymentMethod
    contract: Contract | None = None
    advance_dossier_id: Text | None = None
    supersedes_dossier_id: Text | None = None
    lines: tuple[Line, ...]
    total_amount: Amount
    payee: Payee | None = None
    cash_recipient: CashRecipient | None = None
    attachments: tuple[Attachment, ...] = ()
    signatures: tuple[Signature, ...] = ()


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


Payload = RegistrationSubmitted | AllocationRecorded | VoucherSubmitted | StatusChanged
