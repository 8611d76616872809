"""Alembic migrations of the services, each in its own PostgreSQL schema.

Each service owns a schema named after it and keeps its Alembic history there
(`<schema>.alembic_version`), so services migrate independently; the operators' command
(`ops`) keeps its own records the same way, in schema `ops`. Which schemas there are, and
where their migrations live, is the caller's knowledge (the stack launcher's): this module
names none.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from alembic import command, context
from alembic.config import Config

from shared.db import sync_url


@dataclass(frozen=True)
class Migrations:
    """One service's Alembic history: the schema it owns and the directory of its scripts."""

    schema: str
    scripts: Path


def alembic_config(migrations: Migrations, database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations.scripts))
    cfg.set_main_option("sqlalchemy.url", sync_url(database_url).replace("%", "%%"))
    cfg.attributes["schema"] = migrations.schema
    return cfg


def upgrade_all(database_url: str, services: Iterable[Migrations]) -> None:
    """Bring each given service's schema to its latest revision (idempotent)."""
    for migrations in services:
        command.upgrade(alembic_config(migrations, database_url), "head")


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


def create_parked_table(schema: str) -> None:
    """Outbox rows that could never be published, kept for operators (see `shared.relay`).

    `value` holds the row's value, or its first 64 KiB when larger; `value_bytes` and
    `value_sha256` describe the whole.

    Frozen at the revision that added it: later changes go into new revisions.
    """
    from alembic import op

    op.create_table(
        "parked_messages",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column("value_bytes", sa.Integer(), nullable=False),
        sa.Column("value_sha256", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "parked_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        schema=schema,
    )


def add_last_sequence(schema: str, table: str, *, status_sequence: str) -> None:
    """Give `table` a `last_sequence` beside its `sequence`: the highest sequence the dossier
    has used, which a DUPLICATE_MODIFIED rejection advances without changing the status, so a
    republished status keeps the sequence it was first published with.

    Rows written before kept one number, the highest used: it becomes `last_sequence`, and
    `sequence` becomes `status_sequence`, an SQL expression over the row aliased `d`.
    """
    from alembic import op

    # Schema, table and expression are constants of the migrations, never input.
    op.execute(f"ALTER TABLE {schema}.{table} ADD COLUMN last_sequence integer")
    op.execute(
        f"UPDATE {schema}.{table} d SET last_sequence = d.sequence, "  # noqa: S608
        f"sequence = COALESCE(({status_sequence}), d.sequence)"
    )
    op.execute(f"ALTER TABLE {schema}.{table} ALTER COLUMN last_sequence SET NOT NULL")
    op.create_check_constraint(
        f"{table}_status_sequence_used", table, "sequence <= last_sequence", schema=schema
    )


def first_status_sequence(schema: str) -> str:
    """The sequence under which a dossier's current status was first published, read from
    `<schema>.dossier_history` (for `add_last_sequence`)."""
    return (
        f"SELECT min(h.sequence) FROM {schema}.dossier_history h "  # noqa: S608
        "WHERE h.dossier_id = d.dossier_id AND h.status = d.status "
        'AND NOT h.reasons @> \'[{"code": "DUPLICATE_MODIFIED"}]\'::jsonb'
    )
