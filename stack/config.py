"""Settings of the local stack, from the environment (`STACK_*`, and the contract's variables)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import TopicSettings


def _default_cache() -> Path:
    return Path.home() / ".cache" / "dvc-stack"


class StackSettings(BaseSettings):
    """Where the stack keeps its files and which ports it listens on."""

    model_config = SettingsConfigDict(env_prefix="STACK_", extra="ignore")

    var_dir: Path = Path("var")
    cache_dir: Path = Field(default_factory=_default_cache)
    kafka_version: str = "4.1.1"
    kafka_port: int = 9092
    kafka_controller_port: int = 9093
    kafka_heap: str = "768m"
    pg_port: int = 5432
    pg_user: str = "dvc"
    pg_database: str = "dvc"
    pg_os_user: str = "dvcpg"
    # PostgreSQL records when each transaction committed (`pg_xact_commit_timestamp`); the
    # benchmark's latency budget reads them.
    pg_commit_timestamps: bool = False
    # PostgreSQL counts each statement's calls, rows and time (`pg_stat_statements`, planning
    # included); the benchmark's statement budget reads them.
    pg_statement_stats: bool = False
    smtp_port: int = 1025
    ready_timeout: float = 90.0
    # The services' HTTP ports, and Prometheus's (when Debian's `prometheus` is installed).
    registration_port: int = 8001
    vouchers_port: int = 8002
    control_port: int = 8003
    notify_port: int = 8004
    support_port: int = 8006
    # The officers' workspace (pages over the four services' APIs).
    workspace_port: int = 8005
    prometheus_port: int = 9090

    def service_ports(self) -> dict[str, int]:
        return {
            "registration": self.registration_port,
            "vouchers": self.vouchers_port,
            "control": self.control_port,
            "notify": self.notify_port,
            "support": self.support_port,
        }

    def service_urls(self) -> dict[str, str]:
        """What the workspace is told about where each service answers."""
        return {
            f"{name.upper()}_URL": f"http://127.0.0.1:{port}"
            for name, port in self.service_ports().items()
        }


class ExternalServices(BaseSettings):
    """The contract's variables: when set, the stack uses these instead of starting its own."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    kafka_bootstrap_servers: str | None = None
    database_url: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    topic_partitions: int = Field(default=12, ge=1)
    topic_replication: int = Field(default=1, ge=1)
    topics: TopicSettings = Field(default_factory=TopicSettings)

    @classmethod
    def none(cls) -> ExternalServices:
        """No existing server, whatever the environment says: the stack starts every part."""
        return cls(kafka_bootstrap_servers=None, database_url=None, smtp_host=None, smtp_port=None)
