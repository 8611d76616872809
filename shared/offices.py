"""The offices-and-staff file named by `TREASURY_DIRECTORY` (docs/contract.md §6).

Read by notify (whom to tell) and by the workspace (who may sign in, and where).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Staff(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    email: str
    role: str


class Office(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    treasury_code: str
    name: str
    staff: tuple[Staff, ...] = ()


class TreasuryDirectory(BaseModel):
    """The offices-and-staff file named by `TREASURY_DIRECTORY`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    offices: tuple[Office, ...] = ()

    def office(self, treasury_code: str) -> Office | None:
        return next((o for o in self.offices if o.treasury_code == treasury_code), None)

    def member(self, email: str) -> tuple[Office, Staff] | None:
        """The office and entry of a member of staff, by email (case-insensitive)."""
        wanted = email.strip().lower()
        for office in self.offices:
            for staff in office.staff:
                if staff.email.lower() == wanted:
                    return office, staff
        return None
