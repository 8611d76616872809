"""Settings read from the environment, shared by every service and by the local stack.

The environment is read here and nowhere else. Each service subclasses `BaseServiceSettings`
with its own fields; nothing is built at import time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.contract.deadlines import WorkingCalendar

DEFAULT_DATABASE_URL = "postgresql+asyncpg://dvc@127.0.0.1:5432/dvc"
DEFAULT_BOOTSTRAP = "127.0.0.1:9092"


class TopicSettings(BaseSettings):
    """Kafka topic names; each can be overridden with `TOPIC_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="TOPIC_", extra="ignore")

    registrations: str = "dvc.registrations.v1"
    allocations: str = "tabmis.allocations.v1"
    vouchers: str = "dvc.vouchers.v1"
    status: str = "dvc.status.v1"
    deadletter: str = "dvc.deadletter.v1"
    support: str = "dvc.support.v1"
    # Internal topics, owned by the product (not part of the external contract).
    units: str = "dvc.internal.units.v1"
    control: str = "dvc.internal.control.v1"
    decisions: str = "dvc.internal.decisions.v1"
    # What notify needs to write a support request's emails (subject, the officer's message).
    support_notices: str = "dvc.internal.support.v1"

    def external(self) -> list[str]:
        return [
            self.registrations,
            self.allocations,
            self.vouchers,
            self.status,
            self.deadletter,
            self.support,
        ]

    def compacted(self) -> list[str]:
        return [self.units]

    def all(self) -> list[str]:
        return [
            *self.external(),
            self.units,
            self.control,
            self.decisions,
            self.support_notices,
        ]


class BaseServiceSettings(BaseSettings):
    """What every service reads from the environment."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    kafka_bootstrap_servers: str = DEFAULT_BOOTSTRAP
    database_url: str = DEFAULT_DATABASE_URL
    topic_partitions: int = Field(default=12, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    portal_api_keys: str = ""
    # Empty means staff endpoints refuse every token: there is no usable default secret.
    staff_jwt_secret: str = ""
    # Set where secrets come from outside (containers, Kubernetes): an empty STAFF_JWT_SECRET
    # or PORTAL_API_KEYS then stops the service at start, instead of refusing every call.
    require_secrets: bool = False
    # The address the HTTP API binds; 0.0.0.0 in a container, so probes and peers reach it.
    listen_host: str = "127.0.0.1"
    # Days off and worked Saturdays decided by government, beyond the `holidays` package:
    # comma-separated ISO dates.
    extra_holidays: str = ""
    extra_working_days: str = ""
    # Appended to each service's consumer group and outbox lock, to run several independent
    # instances of a service against one broker (tests, side-by-side trials).
    instance_suffix: str = ""
    # How long a consumer waits to fill a batch before applying what it has (seconds).
    batch_window_seconds: float = Field(default=0.05, gt=0, le=5)
    # Request bodies above this are refused with 413 before they are read; an event that would
    # pass the contract's 1 MiB is refused with 413 too (docs/contract.md §10).
    http_max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    log_level: str = "INFO"
    log_format: Literal["json", "console"] = "json"
    topics: TopicSettings = Field(default_factory=TopicSettings)

    def api_keys(self) -> frozenset[str]:
        return frozenset(k.strip() for k in self.portal_api_keys.split(",") if k.strip())

    def calendar(self) -> WorkingCalendar:
        """Working days: Vietnam's holidays, `extra_holidays` and `extra_working_days`."""
        return WorkingCalendar.from_settings(self.extra_holidays, self.extra_working_days)


class SigningSettings(BaseServiceSettings):
    """The services that check signatures: registration and vouchers."""

    # The PEM bundle of the CAs whose certificates may sign; required at start.
    trusted_ca_file: Path | None = None


class StaffMailSettings(BaseServiceSettings):
    """The services that write to treasury staff: notify and the workspace."""

    # The offices and their staff (JSON); unset, no email goes to staff.
    treasury_directory: Path | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_from: str = "no-reply@kbnn.local"
