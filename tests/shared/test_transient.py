"""Which database failures a consumer waits out, and which stop it: the statements run on
asyncpg directly (`shared.db.driver`) raise asyncpg's own errors, not SQLAlchemy's."""

from __future__ import annotations

import asyncpg
import pytest

from shared.consumer import is_transient

pytestmark = pytest.mark.fast


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle"),
        asyncpg.exceptions.AdminShutdownError("terminating connection due to administrator"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.TooManyConnectionsError("sorry, too many clients already"),
        asyncpg.exceptions.InterfaceError("cannot perform operation: connection is closed"),
        ConnectionResetError("reset by peer"),
    ],
)
def test_a_lost_or_busy_database_is_waited_for(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UniqueViolationError("duplicate key value"),
        asyncpg.exceptions.CheckViolationError("violates check constraint"),
        asyncpg.exceptions.UndefinedTableError("relation does not exist"),
        ValueError("a bug"),
    ],
)
def test_a_statement_that_can_only_fail_again_is_not_retried(error: BaseException) -> None:
    assert not is_transient(error)
