"""Support requests not answered yet: the deadline scan watches them beside reviews.

Revision ID: 0006_support_watch
Revises: 0005_awaiting_unit
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_support_watch"
down_revision = "0005_awaiting_unit"
branch_labels = None
depends_on = None

SCHEMA = "notify"


def upgrade() -> None:
    op.create_index(
        "dossiers_support_watch",
        "dossiers",
        ["deadline"],
        schema=SCHEMA,
        postgresql_where=sa.text("dossier_kind = 'support' AND status = 'received'"),
    )
