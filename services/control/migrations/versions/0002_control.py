"""Budget lines, allocations, received vouchers, commitments, advances and contracts.

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

SCHEMA = "control"


def _line_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("fiscal_year", sa.Integer(), primary_key=True),
        sa.Column("chapter", sa.Text(), primary_key=True),
        sa.Column("sector_code", sa.Text(), primary_key=True),
        sa.Column("source_code", sa.Text(), primary_key=True),
    ]


def upgrade() -> None:
    op.create_table(
        "budget_lines",
        *_line_columns(),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("committed", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("committed >= 0", name="committed_not_negative"),
        sa.CheckConstraint("committed <= allocated", name="never_beyond_allocation"),
        schema=SCHEMA,
    )
    op.create_table(
        "allocations",
        sa.Column("allocation_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_table(
        "vouchers",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("treasury_code", sa.Text(), nullable=False),
        sa.Column("total_amount", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("review_since", sa.DateTime(timezone=True)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Text()),
        schema=SCHEMA,
    )
    op.create_index(
        "vouchers_review_queue",
        "vouchers",
        ["treasury_code", "deadline"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'in_review'"),
    )
    op.create_table(
        "commitments",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        *_line_columns(),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("amount > 0", name="commitment_positive"),
        schema=SCHEMA,
    )
    op.create_table(
        "advances",
        sa.Column("dossier_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("settled", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("settled >= 0 AND settled <= amount", name="settled_within_advance"),
        schema=SCHEMA,
    )
    op.create_table(
        "contracts",
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("number", sa.Text(), primary_key=True),
        sa.Column("signed_on", sa.Text(), primary_key=True),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        schema=SCHEMA,
    )
