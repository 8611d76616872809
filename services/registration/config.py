"""Settings of the registration service."""

from __future__ import annotations

from shared.settings import BaseServiceSettings


class RegistrationSettings(BaseServiceSettings):
    registration_port: int = 8001
    registration_batch_size: int = 200
