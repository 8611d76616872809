"""Settings of the vouchers service."""

from __future__ import annotations

from shared.settings import SigningSettings


class VouchersSettings(SigningSettings):
    vouchers_port: int = 8002
    vouchers_batch_size: int = 500
    # "MM-DD": until this day of year Y+1, vouchers of fiscal year Y are still accepted.
    fiscal_year_grace_end: str = "01-31"

    def fiscal_year_grace(self) -> tuple[int, int]:
        month, _, day = self.fiscal_year_grace_end.partition("-")
        try:
            return int(month), int(day)
        except ValueError:
            raise ValueError(
                f"FISCAL_YEAR_GRACE_END must be MM-DD, not {self.fiscal_year_grace_end!r}"
            ) from None
