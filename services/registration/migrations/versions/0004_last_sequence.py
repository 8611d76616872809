"""The highest sequence a dossier has used, apart from the sequence of its current status.

Revision ID: 0004_last_sequence
Revises: 0003_parked
"""

from shared.migrations import add_last_sequence, first_status_sequence

revision = "0004_last_sequence"
down_revision = "0003_parked"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_last_sequence(
        "registration", "dossiers", status_sequence=first_status_sequence("registration")
    )
