"""Alembic migrations of every service, each in its own PostgreSQL schema.

Each service owns a schema named after it and keeps its Alembic history there
(`<schema>.alembic_version`), so services migrate independently. The operators' command
(`ops`) keeps its own records the same way, in schema `ops`.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from shared.db import sync_url

SERVICES = ("registration", "vouchers", "control", "notify")
SCHEMAS = (*SERVICES, "ops")
_ROOT = Path(__file__).resolve().parent.parent


def _location(schema: str) -> Path:
    if schema == "ops":
        return _ROOT / "ops" / "migrations"
    return _ROOT / "services" / schema / "migrations"


def alembic_config(service: str, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_location(service)))
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    cfg.attributes["schema"] = service
    return cfg


def upgrade_all(database_url: str, services: tuple[str, ...] = SCHEMAS) -> None:
    """Bring every schema to its latest revision (idempotent)."""
    for service in services:
        command.upgrade(alembic_config(service, database_url), "head")


def run_env(*, schema: str) -> None:
    """Body of each service's `env.py`: online migrations inside the service's schema."""
    url = context.config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.commit()
        context.configure(
            connection=conn,
            version_table_schema=schema,
            include_schemas=True,
            transaction_per_migration=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def create_messaging_tables(schema: str) -> None:
    """The inbox (events already applied) and outbox (events to publish) every service keeps.

    Outbox rows are deleted once published: Kafka keeps the events, the service its history.

    Frozen at the first revision: later changes go into new revisions of the service.
    """
    from alembic import op

    op.create_table(
        "processed_events",
        sa.Column("event_id", sa.Text(), primary_key=True),
        sa.Column("source_topic", sa.Text(), nullable=False),
        sa.Column(
            "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )
