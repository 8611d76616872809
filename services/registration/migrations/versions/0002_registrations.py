"""Registration dossiers, their history, and the units they registered.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SCHEMA = "registration"


def upgrade() -> None:
    op.create_table(
        "dossiers",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("treasury_code", sa.Text(), nullable=False),
        sa.Column("request_type", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Text()),
        schema=SCHEMA,
    )
    op.create_index(
        "dossiers_office_status", "dossiers", ["treasury_code", "status", "deadline"], schema=SCHEMA
    )
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
    op.create_table(
        "units",
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("treasury_code", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("entry", JSONB(), nullable=False),
        schema=SCHEMA,
    )
