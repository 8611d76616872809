"""Inserting a batch of rows with one statement that does not depend on the batch's size.

A multi-row `VALUES` statement is a different statement for every number of rows, so it is
built and compiled again for most batches. Here each column travels as one array parameter
and PostgreSQL unnests them side by side: one statement, compiled once, whatever the batch.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert


@functools.cache
def insert_arrays(table: sa.Table, columns: tuple[str, ...]) -> PgInsert:
    """`INSERT INTO table (columns) SELECT unnest(:column), …`: add ON CONFLICT and RETURNING
    as needed (the result is cached: build on it, never change it in place)."""
    rows = sa.select(
        *(sa.func.unnest(sa.bindparam(c, type_=ARRAY(table.c[c].type))) for c in columns)
    )
    return pg_insert(table).from_select(list(columns), rows)


def arrays(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> dict[str, list[Any]]:
    """The parameters of `insert_arrays`: one list per column."""
    return {c: [row[c] for row in rows] for c in columns}
