"""An attempt's `taken_at`: committed as soon as the server (or portal) has the delivery, so a
crash before the batch's outcome is recorded leaves it known as delivered, not in doubt.

Revision ID: 0007_attempt_taken
Revises: 0006_support_watch
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_attempt_taken"
down_revision = "0006_support_watch"
branch_labels = None
depends_on = None

SCHEMA = "notify"


def upgrade() -> None:
    op.add_column(
        "delivery_attempts",
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        schema=SCHEMA,
    )


def downgrade() -> None:
    op.drop_column("delivery_attempts", "taken_at", schema=SCHEMA)
