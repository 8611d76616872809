"""Indexes for staff searches and the office's day: dossiers and history by time.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "vouchers"


def upgrade() -> None:
    op.create_index(
        "dossiers_office_received", "dossiers", ["treasury_code", "received_at"], schema=SCHEMA
    )
    op.create_index("dossier_history_at", "dossier_history", ["at"], schema=SCHEMA)
