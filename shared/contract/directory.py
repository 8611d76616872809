"""The unit directory entry: the registration service's record of a unit, as others read it.

Internal to the product (not part of the contract; docs/contract.md §9 says what it shows),
shared by the services that read it.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.contract.enums import SignerRole

EVENT_TYPE = "unit.directory"
UnitStatus = Literal["active", "suspended", "closed"]


class DirectorySigner(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    role: SignerRole
    full_name: str
    title: str | None = None
    email: str | None = None
    certificate_serial: str
    certificate_pem: str
    public_key_pem: str
    not_before: dt.datetime
    not_after: dt.datetime


class DirectoryAccount(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    account_no: str
    kind: str


class DirectoryEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    unit_code: str
    name: str
    treasury_code: str
    chapter: str
    budget_level: int | None = None
    status: UnitStatus
    accounts: tuple[DirectoryAccount, ...] = ()
    signers: tuple[DirectorySigner, ...] = ()
    notify_emails: tuple[str, ...] = ()
    version: int
    updated_at: dt.datetime

    def signer_by_serial(self, serial: str) -> DirectorySigner | None:
        return next((s for s in self.signers if s.certificate_serial == serial), None)

    def recipients(self) -> list[str]:
        """Where the unit's notices go: its notify emails, then its signers' emails."""
        seen: dict[str, None] = dict.fromkeys(self.notify_emails)
        for signer in self.signers:
            if signer.email:
                seen.setdefault(signer.email)
        return list(seen)
