"""Events between the product's own services (not part of docs/contract.md; see its §9).

The vouchers service owns each voucher's status stream: it hands received vouchers to spending
control (`voucher.received`) and publishes control's decisions (`voucher.decided`) under the
dossier's next sequence number, so one writer keeps the sequence and the single terminal status.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict

from shared.contract.enums import Status
from shared.contract.payloads import Reason

VOUCHER_RECEIVED: Final = "voucher.received"
VOUCHER_DECIDED: Final = "voucher.decided"
CONTROL_STATUSES: Final = frozenset(
    {Status.IN_REVIEW, Status.APPROVED, Status.REFUSED, Status.RETURNED}
)
"""What spending control can decide."""


def _control_status(status: Status) -> Status:
    if status not in CONTROL_STATUSES:
        raise ValueError(f"spending control does not decide {status.value}")
    return status


ControlStatus = Annotated[Status, AfterValidator(_control_status)]


class VoucherReceived(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    dossier_id: str
    unit_code: str
    treasury_code: str
    received_at: dt.datetime
    deadline: dt.datetime
    voucher: dict[str, Any]
    """The payload as the unit signed it."""
    dossier_kind: Literal["voucher", "investment"] = "voucher"
    """`investment`: `voucher` is an `investment.submitted` payload."""


class VoucherDecided(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    dossier_id: str
    unit_code: str
    status: ControlStatus
    reasons: tuple[Reason, ...] = ()
    decided_by: str
    decided_at: dt.datetime


SUPPORT_NOTICE: Final = "support.notice"


class SupportNoticeKind(StrEnum):
    RECEIVED = "received"
    """The unit's question, to the office's staff."""
    REPLY = "reply"
    """An officer's reply, to the unit."""


class SupportNotice(BaseModel):
    """What notify needs to write a support request's emails (docs/contract.md §10), which a
    status does not carry: the question to the office's staff on `received`, and each reply
    (`number` from 1) to the unit's `recipients`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    request_id: str
    kind: SupportNoticeKind
    number: int
    unit_code: str
    unit_name: str
    treasury_code: str
    category: str
    subject: str
    message: str
    """The unit's question (`received`) or the officer's reply."""
    status: str
    dossier_id: str | None = None
    officer: str | None = None
    at: dt.datetime
    deadline: dt.datetime | None = None
    recipients: tuple[str, ...] = ()
    """The unit's addresses for a reply (contact, then notify addresses); unused on receipt."""
