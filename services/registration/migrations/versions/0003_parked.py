"""Outbox rows that can never be published, moved aside so the rows behind them go on.

Revision ID: 0003_parked
Revises: 0002
"""

from shared.migrations import create_parked_table

revision = "0003_parked"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_parked_table("registration")
