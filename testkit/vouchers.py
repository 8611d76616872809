"""The body of a `voucher.submitted`: consistent lines, totals, codes, contract and
attachments per the options, before any signature.

Every voucher built here satisfies docs/domain.md's code rules (economic code and sector with a
units digit 1–9, 2-digit source, the unit's chapter) and sums its lines to `total_amount`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TypedDict, Unpack

from shared.contract import (
    Attachment,
    AttachmentKind,
    CashRecipient,
    Contract,
    Form,
    Line,
    Payee,
    PaymentMethod,
    SpendingType,
    VoucherSubmitted,
)
from testkit.ids import BANK_CODES, COMPANIES

if TYPE_CHECKING:
    from testkit.units import BudgetLine, UnitKit

ICT: Final = dt.timezone(dt.timedelta(hours=7))
CONTRACT_THRESHOLD_VND: Final = 50_000_000
REVIEW_THRESHOLD_VND: Final = 1_000_000_000
CASH_REVIEW_THRESHOLD_VND: Final = 100_000_000
ECONOMIC_CODES: Final = {
    "6551": "Mua văn phòng phẩm",
    "6552": "Mua công cụ, dụng cụ văn phòng",
    "6501": "Thanh toán tiền điện",
    "6504": "Thanh toán tiền nước",
    "6701": "Công tác phí: tiền vé máy bay, tàu, xe",
    "6757": "Thuê chuyên gia và giảng viên",
    "6912": "Sửa chữa thiết bị tin học",
    "7001": "Mua hàng hóa, vật tư dùng cho chuyên môn",
}
# Sub-items of items 6000–6400 (payments to individuals), where cash is allowed.
CASH_ECONOMIC_CODES: Final = {
    "6001": "Lương ngạch bậc",
    "6051": "Tiền công trả cho lao động thường xuyên",
    "6101": "Phụ cấp chức vụ",
    "6112": "Phụ cấp ưu đãi nghề",
    "6201": "Thưởng thường xuyên",
    "6301": "Bảo hiểm xã hội",
}
DESCRIPTIONS: Final = {**ECONOMIC_CODES, **CASH_ECONOMIC_CODES}


class VoucherOptions(TypedDict, total=False):
    """What a generated voucher may vary; everything left out is drawn from the seed.

    `contract`: None adds one only when the total is above 50,000,000 VND, True always,
    False never, a `Contract` reuses it (several payments under one contract).
    """

    dossier_id: str
    form: Form
    spending_type: SpendingType
    payment_method: PaymentMethod
    total_amount: int
    line_count: int
    lines: Sequence[Line]
    budget_lines: Sequence[BudgetLine]
    economic_codes: Sequence[str]
    contract: Contract | bool | None
    contract_attachment: bool
    acceptance_record: bool
    invoice: bool
    payee: Payee | None
    advance_dossier_id: str | None
    supersedes_dossier_id: str | None
    voucher_date: dt.date
    fiscal_year: int


def split_amount(total: int, count: int, rng: random.Random) -> list[int]:
    """Split `total` into `count` positive amounts, cut at whole thousands of VND."""
    thousands = total // 1000
    if count < 1 or thousands < count:
        raise ValueError(f"cannot split {total} VND into {count} lines of at least 1,000")
    cuts = sorted(rng.sample(range(1, thousands), count - 1))
    amounts = [(b - a) * 1000 for a, b in itertools.pairwise([0, *cuts, thousands])]
    amounts[-1] += total - thousands * 1000
    return amounts


def build_voucher(
    kit: UnitKit, *, when: dt.datetime, **o: Unpack[VoucherOptions]
) -> VoucherSubmitted:
    """The unsigned payload; see `VoucherOptions` for the options."""
    rng = kit.ids.rng
    method = o.get("payment_method", PaymentMethod.TRANSFER)
    cash = method is PaymentMethod.CASH
    voucher_date = o.get("voucher_date", when.astimezone(ICT).date())
    lines = tuple(o["lines"]) if "lines" in o else _lines(kit, o, cash=cash)
    total = o.get("total_amount", sum(line.amount for line in lines))
    contract = _contract(kit, o.get("contract"), total=total, voucher_date=voucher_date)
    spending = o.get("spending_type", SpendingType.ACTUAL)
    payee = o["payee"] if "payee" in o else (None if cash else _payee(kit, contract))
    return VoucherSubmitted(
        dossier_id=o.get("dossier_id")
        or kit.ids.voucher_dossier_id(treasury_code=kit.treasury_code, year=voucher_date.year),
        form=o.get("form", Form.BUDGET_WITHDRAWAL),
        voucher_no=str(rng.randint(1, 999)),
        voucher_date=voucher_date,
        fiscal_year=o.get("fiscal_year", voucher_date.year),
        unit_code=kit.code,
        treasury_code=kit.treasury_code,
        account_no=kit.account_no,
        chapter=kit.chapter,
        spending_type=spending,
        payment_method=method,
        contract=contract,
        advance_dossier_id=o.get("advance_dossier_id"),
        supersedes_dossier_id=o.get("supersedes_dossier_id"),
        lines=lines,
        total_amount=total,
        payee=payee,
        cash_recipient=(
            CashRecipient(full_name=kit.ids.person_name(), id_number="0" + kit.ids.digits(11))
            if cash
            else None
        ),
        attachments=_attachments(kit, o, contract=contract, spending=spending),
    )


def _lines(kit: UnitKit, o: VoucherOptions, *, cash: bool) -> tuple[Line, ...]:
    rng = kit.ids.rng
    count = o.get("line_count", 1)
    default_total = rng.randrange(500, 20_000 if cash else 45_000) * 1000
    total = o.get("total_amount", max(default_total, count * 1000))
    codes = o.get("economic_codes", tuple(CASH_ECONOMIC_CODES if cash else ECONOMIC_CODES))
    budget_lines = o.get("budget_lines", kit.budget_lines)
    first = rng.randrange(len(budget_lines))
    lines = []
    for index, amount in enumerate(split_amount(total, count, rng)):
        code = rng.choice(codes)
        budget_line = budget_lines[(first + index) % len(budget_lines)]
        lines.append(
            Line(
                description=DESCRIPTIONS.get(code, "Chi hoạt động thường xuyên"),
                economic_code=code,
                sector_code=budget_line.sector_code,
                source_code=budget_line.source_code,
                amount=amount,
            )
        )
    return tuple(lines)


def _contract(
    kit: UnitKit, wanted: Contract | bool | None, *, total: int, voucher_date: dt.date
) -> Contract | None:
    if isinstance(wanted, Contract):
        return wanted
    if wanted is False or (wanted is None and total <= CONTRACT_THRESHOLD_VND):
        return None
    return new_contract(kit, value=total * kit.ids.rng.choice((1, 2, 3)), on=voucher_date)


def new_contract(kit: UnitKit, *, value: int, on: dt.date) -> Contract:
    """A contract signed a few weeks before `on`, to pass to several vouchers."""
    rng = kit.ids.rng
    return Contract(
        number=f"{rng.randint(1, 99)}/{on.year}/HĐ",
        date=on - dt.timedelta(days=rng.randint(10, 60)),
        value=value,
        counterparty=rng.choice(COMPANIES),
    )


def _payee(kit: UnitKit, contract: Contract | None) -> Payee:
    rng = kit.ids.rng
    return Payee(
        name=contract.counterparty if contract else rng.choice(COMPANIES),
        tax_code="0" + kit.ids.digits(9),
        account_no=kit.ids.digits(13),
        bank_code=rng.choice(BANK_CODES),
    )


def _attachments(
    kit: UnitKit, o: VoucherOptions, *, contract: Contract | None, spending: SpendingType
) -> tuple[Attachment, ...]:
    kinds: list[tuple[AttachmentKind, str]] = []
    if contract is not None and o.get("contract_attachment", True):
        kinds.append((AttachmentKind.CONTRACT, "hop-dong.pdf"))
    actual = spending is SpendingType.ACTUAL
    if contract is not None and actual and o.get("acceptance_record", True):
        kinds.append((AttachmentKind.ACCEPTANCE_RECORD, "bien-ban-nghiem-thu.pdf"))
    if o.get("invoice", True):
        kinds.append((AttachmentKind.INVOICE, "hoa-don.pdf"))
    return tuple(
        Attachment(
            kind=kind,
            name=name,
            sha256=kit.ids.sha256_hex(),
            size=kit.ids.rng.randint(20_000, 2_000_000),
        )
        for kind, name in kinds
    )


def settlement_options(advance: VoucherSubmitted, *, amount: int | None) -> VoucherOptions:
    """Options of a C2-03/NS settling `advance`, in full or for `amount` (on its lines)."""
    lines = advance.lines
    if amount is not None and amount != advance.total_amount:
        shares = [line.amount * amount // advance.total_amount // 1000 * 1000 for line in lines]
        shares[-1] += amount - sum(shares)
        lines = tuple(
            line.model_copy(update={"amount": s}) for line, s in zip(lines, shares, strict=True)
        )
    return {
        "form": Form.ADVANCE_SETTLEMENT,
        "spending_type": SpendingType.ACTUAL,
        "payment_method": advance.payment_method,
        "advance_dossier_id": advance.dossier_id,
        "lines": lines,
        "contract": advance.contract or False,
        "payee": advance.payee,
    }
