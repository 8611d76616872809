"""The support service's schema: inbox and outbox, its copy of the unit directory, requests,
their replies and their status history.

Revision ID: 0001_support
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from shared.directory import create_directory_table
from shared.migrations import create_messaging_tables, create_parked_table

revision = "0001_support"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "support"


def upgrade() -> None:
    create_messaging_tables(SCHEMA)
    create_parked_table(SCHEMA)
    create_directory_table(SCHEMA)
    op.create_table(
        "requests",
        sa.Column("request_id", sa.Text(), primary_key=True),
        sa.Column("unit_code", sa.Text(), nullable=False),
        sa.Column("treasury_code", sa.Text(), nullable=False),
        sa.Column("category", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("dossier_id", sa.Text()),
        sa.Column("contact_email", sa.Text()),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True)),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_answer_at", sa.DateTime(timezone=True)),
        sa.Column("closed_at", sa.DateTime(timezone=True)),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.CheckConstraint("sequence <= last_sequence", name="requests_status_sequence_used"),
        sa.CheckConstraint(
            "status IN ('received', 'answered', 'resolved', 'deferred', 'rejected')",
            name="requests_status_known",
        ),
        sa.CheckConstraint(
            "(replies = 0) = (first_answer_at IS NULL) "
            "AND (replies = 0 OR status IN ('answered', 'resolved', 'deferred'))",
            name="requests_answered_by_a_reply",
        ),
        sa.CheckConstraint(
            "(closed_at IS NOT NULL) = (status IN ('resolved', 'deferred'))",
            name="requests_closed_when_final",
        ),
        schema=SCHEMA,
    )
    op.create_index(
        "requests_office_status",
        "requests",
        ["treasury_code", "status", "deadline"],
        schema=SCHEMA,
    )
    op.create_index("requests_received_at", "requests", ["received_at"], schema=SCHEMA)
    op.create_table(
        "replies",
        sa.Column(
            "request_id",
            sa.Text(),
            sa.ForeignKey(f"{SCHEMA}.requests.request_id"),
            primary_key=True,
        ),
        sa.Column("number", sa.Integer(), primary_key=True),
        sa.Column("resolution", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("officer", sa.Text(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("number >= 1", name="replies_numbered_from_one"),
        sa.CheckConstraint(
            "resolution IN ('answered', 'resolved', 'deferred')",
            name="replies_resolution_known",
        ),
        schema=SCHEMA,
    )
    op.create_table(
        "request_history",
        sa.Column("request_id", sa.Text(), primary_key=True),
        sa.Column("sequence", sa.Integer(), primary_key=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.Column("decided_by", sa.Text()),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        schema=SCHEMA,
    )
