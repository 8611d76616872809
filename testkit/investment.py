"""Investment capital for a project's kit (a unit whose code starts with 7 or 8): the capital
plans the budget system records and the signed advance and payment requests of its portal.

    project = bed.unit(project=True)
    plan = capital_plan(project, source_code="14", amount=12_000_000_000)
    contract = new_contract(project, value=8_000_000_000, on=project.now.date())
    advance = investment_request(project, "advance", contract=contract, amount=2 * 10**8)
"""

from __future__ import annotations

import datetime as dt
from typing import Literal, TypedDict, Unpack

from shared.contract import (
    AllocationKind,
    Attachment,
    AttachmentKind,
    CapitalPlanRecorded,
    Contract,
    Envelope,
    EventType,
    InvestmentRequestType,
    InvestmentSubmitted,
    Payee,
    SignerRole,
    make_envelope,
    to_json_dict,
)
from testkit.ids import BANK_CODES
from testkit.units import BUDGET_SOURCE, Mutation, SignedBy, UnitKit
from testkit.vouchers import ICT

SECTOR_CODE = "292"
"""Khoản 292: construction investment, the usual sector of a project's requests."""


class InvestmentOptions(TypedDict, total=False):
    """What a request may vary; `attachments` replaces the kinds chosen by default (a
    contract, and an acceptance record for a payment)."""

    dossier_id: str
    source_code: str
    completed_value: int | None
    advance_recovery: int | None
    attachments: tuple[AttachmentKind, ...]
    supersedes_dossier_id: str | None
    payee: Payee | None
    fiscal_year: int


def capital_plan(
    kit: UnitKit,
    *,
    source_code: str,
    amount: int,
    kind: AllocationKind = AllocationKind.INITIAL,
    fiscal_year: int | None = None,
    at: dt.datetime | None = None,
) -> Envelope:
    """`capital_plan.recorded` for the project's plan line (project, year, source)."""
    when = at or kit.now
    year = fiscal_year or when.astimezone(ICT).year
    payload = CapitalPlanRecorded(
        plan_id=f"KHV-{year}-{kit.treasury_code}-{kit.ids.digits(6)}",
        unit_code=kit.code,
        fiscal_year=year,
        source_code=source_code,
        kind=kind,
        amount=amount,
    )
    return make_envelope(
        payload, event_id=kit.ids.event_id(), occurred_at=when, source=BUDGET_SOURCE
    )


def build_investment(
    kit: UnitKit,
    request_type: Literal["advance", "payment"],
    *,
    contract: Contract | None,
    amount: int,
    when: dt.datetime,
    **o: Unpack[InvestmentOptions],
) -> InvestmentSubmitted:
    """The unsigned payload of an advance or a payment under `contract`."""
    kind = InvestmentRequestType(request_type)
    day = when.astimezone(ICT).date()
    default_kinds = [AttachmentKind.CONTRACT]
    if kind is InvestmentRequestType.PAYMENT:
        default_kinds.append(AttachmentKind.ACCEPTANCE_RECORD)
    payment = kind is InvestmentRequestType.PAYMENT
    return InvestmentSubmitted(
        dossier_id=o.get("dossier_id") or f"VDT-{kit.treasury_code}-{day.year}-{kit.ids.digits(8)}",
        request_type=kind,
        voucher_no=str(kit.ids.rng.randint(1, 999)),
        voucher_date=day,
        fiscal_year=o.get("fiscal_year", day.year),
        unit_code=kit.code,
        treasury_code=kit.treasury_code,
        account_no=kit.account_no,
        chapter=kit.chapter,
        sector_code=SECTOR_CODE,
        source_code=o.get("source_code", "14"),
        contract=contract,
        completed_value=o.get("completed_value", amount if payment else None),
        amount=amount,
        advance_recovery=o.get("advance_recovery", 0 if payment else None),
        supersedes_dossier_id=o.get("supersedes_dossier_id"),
        payee=o["payee"] if "payee" in o else _payee(kit, contract),
        attachments=tuple(
            Attachment(
                kind=k,
                name=f"{k.value}.pdf",
                sha256=kit.ids.sha256_hex(),
                size=kit.ids.rng.randint(20_000, 2_000_000),
            )
            for k in o.get("attachments", tuple(default_kinds))
        ),
    )


def investment_request(
    kit: UnitKit,
    request_type: Literal["advance", "payment"],
    *,
    contract: Contract | None,
    amount: int,
    at: dt.datetime | None = None,
    signed_by: SignedBy = (SignerRole.CHIEF_ACCOUNTANT, SignerRole.ACCOUNT_HOLDER),
    mutate: Mutation | None = None,
    **options: Unpack[InvestmentOptions],
) -> Envelope:
    """A signed `investment.submitted`; `mutate` edits the JSON payload before signing."""
    when = at or kit.now
    payload = to_json_dict(
        build_investment(kit, request_type, contract=contract, amount=amount, when=when, **options)
    )
    if mutate is not None:
        mutate(payload)
    return kit.wrap(
        kit.sign(payload, signed_by), event_type=EventType.INVESTMENT_SUBMITTED, at=when
    )


def _payee(kit: UnitKit, contract: Contract | None) -> Payee:
    return Payee(
        name=contract.counterparty if contract else "Công ty CP Xây dựng",
        tax_code="6" + kit.ids.digits(9),
        account_no=kit.ids.digits(13),
        bank_code=kit.ids.rng.choice(BANK_CODES),
    )
