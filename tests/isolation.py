"""The suite reaches only servers it started, or those its own `TEST_*` variables name.

A user may have `KAFKA_BOOTSTRAP_SERVERS`, `DATABASE_URL`, `SMTP_HOST`, `PORTAL_WEBHOOKS`…
set for the product. The suite removes every variable the product reads from its own
environment before anything runs, so neither the suite nor the services it starts see them.
To run the suite against existing servers, name them with `TEST_KAFKA_BOOTSTRAP_SERVERS`,
`TEST_DATABASE_URL`, `TEST_SMTP_HOST` and `TEST_SMTP_PORT`. A database is used only if it is
empty or was marked by the suite (schema `dvc_test_suite`): tests drop and rewrite schemas.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping

import psycopg
from pydantic_settings import BaseSettings, SettingsConfigDict

from services.control.config import ControlSettings
from services.notify.config import NotifySettings
from services.registration.config import RegistrationSettings
from services.support.config import SupportSettings
from services.vouchers.config import VouchersSettings
from shared.db import libpq_url
from shared.settings import TopicSettings
from stack.config import ExternalServices
from stack.run import RunSettings

MARKER = "dvc_test_suite"
PRODUCT_SETTINGS: tuple[type[BaseSettings], ...] = (
    ControlSettings,
    NotifySettings,
    RegistrationSettings,
    SupportSettings,
    VouchersSettings,
    TopicSettings,
    ExternalServices,
    RunSettings,
)


class SuiteServers(ExternalServices):
    """Existing servers the suite may use, from `TEST_*` variables only; by default none."""

    model_config = SettingsConfigDict(env_prefix="TEST_", extra="ignore")


class RefusedDatabase(RuntimeError):
    """The database holds data the suite did not create."""


def product_variables(classes: Iterable[type[BaseSettings]] = PRODUCT_SETTINGS) -> set[str]:
    """The environment variables the product's settings read (upper case)."""
    names: set[str] = set()
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        names.update(f"{prefix}{field}".upper() for field in cls.model_fields)
    return names


def scrub(environ: MutableMapping[str, str]) -> list[str]:
    """Remove the product's variables from `environ`; return the names removed."""
    product = product_variables()
    removed = sorted(name for name in environ if name.upper() in product)
    for name in removed:
        del environ[name]
    return removed


def claim_database(url: str) -> None:
    """Mark the database as the suite's, or refuse it if it holds data the suite did not make."""
    dsn = libpq_url(url)
    with psycopg.connect(dsn, connect_timeout=10) as conn:
        schemas = [
            row[0]
            for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname NOT LIKE 'pg\\_%' "
                "AND nspname NOT IN ('information_schema', 'public') ORDER BY nspname"
            )
        ]
        if MARKER in schemas:
            return
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'public' ORDER BY table_name"
            )
        ]
        if schemas or tables:
            found = [f"schema {s}" for s in schemas] + [f"table public.{t}" for t in tables]
            raise RefusedDatabase(
                f"The tests refuse the database {_safe(url)}: it holds {', '.join(found[:8])}, "
                f"which the tests did not create, and they drop and rewrite schemas. Give them "
                f"an empty database (TEST_DATABASE_URL), or none to let them start their own."
            )
        conn.execute(f"CREATE SCHEMA {MARKER}")
        conn.execute(
            f"COMMENT ON SCHEMA {MARKER} IS "
            "'The DVC test suite created this database''s contents and may drop any of it.'"
        )


def _safe(url: str) -> str:
    """The URL without its password."""
    head, at, tail = url.rpartition("@")
    if not at:
        return url
    scheme, _, credentials = head.partition("://")
    return f"{scheme}://{credentials.split(':', 1)[0]}@{tail}"
