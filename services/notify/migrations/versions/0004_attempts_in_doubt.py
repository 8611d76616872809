"""Sends whose fate a crash left unknown: the attempts in flight, and a count per delivery.

Revision ID: 0004_attempts_in_doubt
Revises: 0003_parked
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_attempts_in_doubt"
down_revision = "0003_parked"
branch_labels = None
depends_on = None

SCHEMA = "notify"


def upgrade() -> None:
    op.add_column(
        "deliveries",
        sa.Column("attempts_in_doubt", sa.Integer(), nullable=False, server_default="0"),
        schema=SCHEMA,
    )
    op.create_check_constraint(
        "in_doubt_within_attempts",
        "deliveries",
        "attempts_in_doubt >= 0 AND attempts_in_doubt <= attempts",
        schema=SCHEMA,
    )
    op.create_table(
        "delivery_attempts",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column(
            "delivery_id",
            sa.BigInteger(),
            sa.ForeignKey(f"{SCHEMA}.deliveries.id"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
    op.create_index(
        "delivery_attempts_delivery", "delivery_attempts", ["delivery_id"], schema=SCHEMA
    )
