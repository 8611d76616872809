"""Indexes for staff searches and the office's day: dossiers and history by time.

Revision ID: 0005_office_day
Revises: 0004_last_sequence
"""

from alembic import op

revision = "0005_office_day"
down_revision = "0004_last_sequence"
branch_labels = None
depends_on = None

SCHEMA = "vouchers"


def upgrade() -> None:
    op.create_index(
        "dossiers_office_received", "dossiers", ["treasury_code", "received_at"], schema=SCHEMA
    )
    op.create_index("dossier_history_at", "dossier_history", ["at"], schema=SCHEMA)
