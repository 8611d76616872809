"""The highest sequence an allocation has used, apart from the sequence of its status.

An allocation has one status, published under sequence 1; DUPLICATE_MODIFIED refusals take
the numbers after it.

Revision ID: 0005_last_sequence
Revises: 0004_directory
"""

from shared.migrations import add_last_sequence

revision = "0005_last_sequence"
down_revision = "0004_directory"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_last_sequence("control", "allocations", status_sequence="1")
