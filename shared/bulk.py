"""Writing a batch of rows with one statement that does not depend on the batch's size.

A multi-row `VALUES` statement is a different statement for every number of rows, so it is
built and compiled again for most batches; an `executemany` is one statement but a round of
binding and executing per row, in the client and in the server. Here each column travels as
one array parameter and PostgreSQL unnests them side by side: one statement, compiled and
prepared once, executed once, whatever the batch.

JSON columns travel as arrays of text, serialised here and cast back in the statement (an
array of JSON values that are themselves lists would otherwise be taken for a
multi-dimensional array).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession


def _is_json(column: sa.Column[Any]) -> bool:
    return isinstance(column.type, (sa.JSON, JSON, JSONB))


def _unnest(table: sa.Table, name: str, param: str | None = None) -> sa.ColumnElement[Any]:
    """`unnest(:param)` typed as the column, JSON cast back from text."""
    column = table.c[name]
    if _is_json(column):
        values = sa.func.unnest(sa.bindparam(param or name, type_=ARRAY(sa.Text())))
        return sa.cast(values, column.type)
    return sa.func.unnest(sa.bindparam(param or name, type_=ARRAY(column.type)))


@functools.cache
def insert_arrays(table: sa.Table, columns: tuple[str, ...]) -> PgInsert:
    """`INSERT INTO table (columns) SELECT unnest(:column), …`: add ON CONFLICT and RETURNING
    as needed (the result is cached: build on it, never change it in place). Its parameters
    are `arrays(…)`."""
    rows = sa.select(*(_unnest(table, c) for c in columns))
    return pg_insert(table).from_select(list(columns), rows)


def arrays(
    table: sa.Table, rows: Sequence[Mapping[str, Any]], columns: Sequence[str]
) -> dict[str, list[Any]]:
    """The parameters of `insert_arrays` and `update_arrays`: one list per column of `table`
    (JSON columns serialised, as `_unnest` expects them)."""
    out: dict[str, list[Any]] = {}
    for c in columns:
        if _is_json(table.c[c]):
            out[c] = [None if row[c] is None else orjson.dumps(row[c]).decode() for row in rows]
        else:
            out[c] = [row[c] for row in rows]
    return out


async def insert_rows(
    session: AsyncSession, table: sa.Table, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `rows` (each with the same keys) in one statement."""
    if not rows:
        return
    columns = tuple(rows[0])
    await session.execute(insert_arrays(table, columns), arrays(table, rows, columns))


@functools.cache
def update_arrays(table: sa.Table, key: str, columns: tuple[str, ...]) -> sa.Update:
    """`UPDATE table SET column = new.column, … FROM (SELECT unnest(:key), unnest(:column), …)
    new WHERE table.key = new.key`: each row's values, found by its `key`."""
    # Parameters named apart from the columns (an UPDATE reserves the columns' names).
    new = sa.select(*(_unnest(table, c, f"new_{c}").label(c) for c in (key, *columns))).subquery(
        "new"
    )
    return sa.update(table).where(table.c[key] == new.c[key]).values({c: new.c[c] for c in columns})


async def update_rows(
    session: AsyncSession, table: sa.Table, key: str, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Update `rows` (each with `key` and the same other keys) in one statement; each key at
    most once."""
    if not rows:
        return
    columns = tuple(c for c in rows[0] if c != key)
    params = arrays(table, rows, (key, *columns))
    await session.execute(
        update_arrays(table, key, columns), {f"new_{c}": v for c, v in params.items()}
    )


def any_of(column: sa.ColumnElement[Any], values: Iterable[Any]) -> sa.ColumnElement[bool]:
    """`column = ANY(:values)`: one statement whatever the number of values (an `IN` list is
    a new statement, compiled and prepared again, for each length)."""
    name = getattr(column, "key", None) or "value"
    param = sa.bindparam(f"{name}_any", value=list(values), type_=ARRAY(column.type))
    return column == sa.any_(param)
