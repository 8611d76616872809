"""What a chaos run does, from the environment (`CHAOS_*`)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class ChaosSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CHAOS_", extra="ignore")

    vouchers: int = Field(default=20_000, ge=100)
    rate: float = Field(default=100.0, gt=0, description="vouchers offered per second")
    seed: int = Field(default_factory=lambda: secrets.randbits(31))
    units: int | None = Field(default=None, ge=2, description="default: one per 250 vouchers")
    out: Path = ROOT / "chaos" / "out"
    var_dir: Path = ROOT / "var" / "chaos"
    # Ports of its own (stack/ports.py): `make run`, the tests and the bench may run beside
    # it; a multiple of 1000 moves them, as DVC_TEST_PORT_SHIFT does the tests'.
    port_shift: int = Field(default=0, ge=0, le=13_000, multiple_of=1000)
    settle_seconds: float = Field(default=600.0, gt=0)

    def unit_count(self) -> int:
        return self.units or max(8, self.vouchers // 250)
