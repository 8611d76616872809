"""The highest sequence an allocation has used, apart from the sequence of its status.

An allocation has one status, published under sequence 1; DUPLICATE_MODIFIED refusals take
the numbers after it.

Revision ID: 0003
Revises: 0002
"""

from shared.migrations import add_last_sequence

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    add_last_sequence("control", "allocations", status_sequence="1")
