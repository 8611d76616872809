"""The columns in which a dossier (or a record of the budget system) keeps the outcome it has
published, the same in every service that owns one (docs/contract.md §4)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB


def outcome_columns(table: str) -> list[sa.Column[Any] | sa.CheckConstraint]:
    """Status and reasons as published; `sequence` is the current status's, `last_sequence`
    the highest the dossier has used, which a DUPLICATE_MODIFIED refusal advances without
    changing the status; the content hash tells a resend from a modified one
    (`shared.contract.duplicates`)."""
    return [
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("last_sequence", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.Text(), nullable=False),
        sa.Column("payload", JSONB(), nullable=False),
        sa.Column("reasons", JSONB(), nullable=False),
        sa.CheckConstraint("sequence <= last_sequence", name=f"{table}_status_sequence_used"),
    ]
