"""The kind of each dossier: a voucher, or an investment request.

Revision ID: 0006_investment
Revises: 0005_office_day
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_investment"
down_revision = "0005_office_day"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "dossiers",
        sa.Column("dossier_kind", sa.Text(), nullable=False, server_default="voucher"),
        schema="vouchers",
    )
