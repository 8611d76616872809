"""What `dvc` reads from the environment: the services' settings, plus who is acting."""

from __future__ import annotations

import getpass

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import BaseServiceSettings


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class OpsSettings(BaseServiceSettings):
    """`DATABASE_URL`, `KAFKA_BOOTSTRAP_SERVERS`, `TOPIC_*` as the services read them."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", populate_by_name=True)

    # Recorded as the operator of a replay or a re-sync; `--by` overrides it.
    user: str = Field(default_factory=_login)
    # The editor `dvc deadletters replay --edit` opens.
    editor: str = "vi"
