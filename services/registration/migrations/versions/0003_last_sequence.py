"""The highest sequence a dossier has used, apart from the sequence of its current status.

Revision ID: 0003
Revises: 0002
"""

from shared.migrations import add_last_sequence, first_status_sequence

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_last_sequence(
        "registration", "dossiers", status_sequence=first_status_sequence("registration")
    )
