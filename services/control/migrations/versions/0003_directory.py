"""The control service's copy of the unit directory, for staff access by office.

Revision ID: 0003
Revises: 0002
"""

from shared.directory import create_directory_table

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "control"


def upgrade() -> None:
    create_directory_table(SCHEMA)
