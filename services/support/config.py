"""Settings of the support service."""

from __future__ import annotations

from pydantic import Field

from shared.settings import BaseServiceSettings


class SupportSettings(BaseServiceSettings):
    support_port: int = 8006
    support_batch_size: int = 200
    # Working days an office has to answer a request, the deadline falling at 16:30 local.
    support_response_working_days: int = Field(default=1, ge=1, le=30)
