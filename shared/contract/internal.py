"""Events between the product's own services (not part of docs/contract.md; see its §9).

The vouchers service owns each voucher's status stream: it hands received vouchers to spending
control (`voucher.received`) and publishes control's decisions (`voucher.decided`) under the
dossier's next sequence number, so one writer keeps the sequence and the single terminal status.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict

from shared.contract.payloads import Reason

VOUCHER_RECEIVED: Final = "voucher.received"
VOUCHER_DECIDED: Final = "voucher.decided"
ControlStatus = Literal["in_review", "approved", "refused", "returned"]


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
