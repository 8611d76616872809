"""The senders' queue indexes: pending deliveries by channel in the order they are taken,
and by notice.

A sender takes the oldest due deliveries of its channel, `ORDER BY next_attempt_at, id
LIMIT n`. The index on `next_attempt_at` alone made PostgreSQL fetch every due row of every
channel and sort them, bodies and all, for each batch: with a backlog of 1,500 mails that
was 15–40 ms per batch, half of the database's time in a burst. On (channel,
next_attempt_at, id) the scan stops after the rows it returns. When a sender's limit cuts a
notice, the rest of it is found by its Message-ID instead of by scanning the backlog.

Revision ID: 0008_due_by_channel
Revises: 0007_attempt_taken
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_due_by_channel"
down_revision = "0007_attempt_taken"
branch_labels = None
depends_on = None

SCHEMA = "notify"


def upgrade() -> None:
    op.create_index(
        "deliveries_due_by_channel",
        "deliveries",
        ["channel", "next_attempt_at", "id"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "deliveries_pending_notice",
        "deliveries",
        ["message_id"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("deliveries_due", "deliveries", schema=SCHEMA)


def downgrade() -> None:
    op.create_index(
        "deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("deliveries_pending_notice", "deliveries", schema=SCHEMA)
    op.drop_index("deliveries_due_by_channel", "deliveries", schema=SCHEMA)
