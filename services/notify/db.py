"""Tables of the notify service (schema `notify`): the delivery ledger and what it watches."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from shared.directory import directory_table
from shared.messaging import messaging_tables

SCHEMA = "notify"
metadata = sa.MetaData(schema=SCHEMA)
messaging = messaging_tables(metadata, SCHEMA)
directory = directory_table(metadata, SCHEMA)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
    sa.Column("dedupe_key", sa.Text(), nullable=False, unique=True),
    sa.Column("channel", sa.Text(), nullable=False),
    sa.Column("kind", sa.Text(), nullable=False),
    sa.Column("dossier_id", sa.Text(), nullable=False),
    sa.Column("recipient", sa.Text(), nullable=False),
    sa.Column("subject", sa.Text()),
    sa.Column("body_text", sa.Text()),
    sa.Column("body_html", sa.Text()),
    sa.Column("body", sa.LargeBinary()),
    sa.Column("message_id", sa.Text()),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False),
    # Attempts a crash (or a connection lost mid-message) left unknown: each may have given
    # the recipient a copy, and the delivery was sent again under the same Message-ID.
    sa.Column("attempts_in_doubt", sa.Integer(), nullable=False, server_default="0"),
    sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("last_error", sa.Text()),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("sent_at", sa.DateTime(timezone=True)),
)

# An attempt's row is committed just before the delivery leaves and deleted in the
# transaction that records its outcome; one still there was interrupted by a crash.
attempts = sa.Table(
    "delivery_attempts",
    metadata,
    sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
    sa.Column("delivery_id", sa.BigInteger(), sa.ForeignKey("deliveries.id"), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
)

dossiers = sa.Table(
    "dossiers",
    metadata,
    sa.Column("dossier_id", sa.Text(), primary_key=True),
    sa.Column("dossier_kind", sa.Text(), nullable=False),
    sa.Column("unit_code", sa.Text(), nullable=False),
    sa.Column("treasury_code", sa.Text()),
    sa.Column("status", sa.Text(), nullable=False),
    sa.Column("sequence", sa.Integer(), nullable=False),
    sa.Column("deadline", sa.DateTime(timezone=True)),
    sa.Column("first_seen", sa.DateTime(timezone=True), nullable=False),
    sa.Column("warned", sa.Boolean(), nullable=False),
    sa.Column("overdue_alerted", sa.Boolean(), nullable=False),
    sa.Column("reasons", JSONB(), nullable=False),
)
