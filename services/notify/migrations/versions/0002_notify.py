"""The delivery ledger, the dossiers notify watches, and its copy of the unit directory.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.directory import create_directory_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "notify"


def upgrade() -> None:
    create_directory_table(SCHEMA)
    op.create_table(
        "deliveries",
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
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        schema=SCHEMA,
    )
    op.create_index(
        "deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index("deliveries_dossier", "deliveries", ["dossier_id"], schema=SCHEMA)
    op.create_table(
        "dossiers",
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
        schema=SCHEMA,
    )
    op.create_index(
        "dossiers_watch",
        "dossiers",
        ["deadline"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'in_review'"),
    )
