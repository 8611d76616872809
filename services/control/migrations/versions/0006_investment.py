"""Investment capital: capital plan lines, the plans recorded on them, contract positions,
and the kind of each dossier in control.

Revision ID: 0006_investment
Revises: 0005_last_sequence
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0006_investment"
down_revision = "0005_last_sequence"
branch_labels = None
depends_on = None

SCHEMA = "control"


def upgrade() -> None:
    op.add_column(
        "vouchers",
        sa.Column("dossier_kind", sa.Text(), nullable=False, server_default="voucher"),
        schema=SCHEMA,
    )
    op.create_table(
        "capital_plan_lines",
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("fiscal_year", sa.Integer(), primary_key=True),
        sa.Column("source_code", sa.Text(), primary_key=True),
        sa.Column("allocated", sa.BigInteger(), nullable=False),
        sa.Column("committed", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("committed >= 0", name="plan_committed_not_negative"),
        sa.CheckConstraint("committed <= allocated", name="never_beyond_plan"),
        schema=SCHEMA,
    )
    op.create_table(
        "capital_plans",
        sa.Column("plan_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("sequence <= last_sequence", name="capital_plans_status_sequence_used"),
        schema=SCHEMA,
    )
    op.create_table(
        "contract_positions",
        sa.Column("unit_code", sa.Text(), primary_key=True),
        sa.Column("contract_number", sa.Text(), primary_key=True),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.Column("advanced", sa.BigInteger(), nullable=False),
        sa.Column("recovered", sa.BigInteger(), nullable=False),
        sa.Column("paid", sa.BigInteger(), nullable=False),
        sa.Column("last_completed_value", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("paid >= 0 AND recovered >= 0", name="position_not_negative"),
        sa.CheckConstraint("recovered <= advanced", name="recovered_within_advanced"),
        sa.CheckConstraint("paid + advanced - recovered <= value", name="never_beyond_contract"),
        schema=SCHEMA,
    )
