"""Statuses that arrived before their unit's directory entry, kept until it arrives.

Revision ID: 0005_awaiting_unit
Revises: 0004_attempts_in_doubt
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_awaiting_unit"
down_revision = "0004_attempts_in_doubt"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "awaiting_unit",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        sa.Column("status", sa.Text(), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        schema="notify",
    )
    op.create_index("awaiting_unit_unit", "awaiting_unit", ["unit_code"], schema="notify")
