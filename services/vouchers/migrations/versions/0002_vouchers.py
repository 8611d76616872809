"""Voucher dossiers with their status history, and the local copy of the unit directory.

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

SCHEMA = "vouchers"


def upgrade() -> None:
    create_directory_table(SCHEMA)
    op.create_table(
        "dossiers",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("treasury_code", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Text()),
        schema=SCHEMA,
    )
    op.create_index("dossiers_unit", "dossiers", ["unit_code", "received_at"], schema=SCHEMA)
    op.create_index("dossiers_status", "dossiers", ["status", "deadline"], schema=SCHEMA)
    op.create_table(
        "dossier_history",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("decided_by", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
