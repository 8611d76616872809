"""Settings of the registration service."""

from __future__ import annotations

from typing import Literal

from shared.settings import SigningSettings


class RegistrationSettings(SigningSettings):
    registration_port: int = 8001
    registration_batch_size: int = 200
    # `auto`: a registration that passes every check is approved without an officer.
    registration_approval: Literal["manual", "auto"] = "manual"
