"""The control service's copy of the unit directory, for staff access by office.

Revision ID: 0004_directory
Revises: 0003_parked
"""

from shared.directory import create_directory_table

revision = "0004_directory"
down_revision = "0003_parked"
branch_labels = None
depends_on = None

SCHEMA = "control"


def upgrade() -> None:
    create_directory_table(SCHEMA)
