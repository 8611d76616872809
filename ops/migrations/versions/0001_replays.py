"""Dead letters replayed by operators: who, when, what was sent and where it landed.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "ops"


def upgrade() -> None:
    op.create_table(
        "replays",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("deadletter_topic", sa.Text(), nullable=False),
        sa.Column("deadletter_partition", sa.Integer(), nullable=False),
        sa.Column("deadletter_offset", sa.BigInteger(), nullable=False),
        sa.Column("source_topic", sa.Text(), nullable=False),
        sa.Column("digest", sa.Text(), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.Column("replayed_by", sa.Text(), nullable=False),
        sa.Column(
            "replayed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("new_partition", sa.Integer()),
        sa.Column("new_offset", sa.BigInteger()),
        # The same bytes from the same dead letter are sent at most once.
        sa.UniqueConstraint(
            "deadletter_topic",
            "deadletter_partition",
            "deadletter_offset",
            "digest",
            name="replayed_once",
        ),
        schema=SCHEMA,
    )
