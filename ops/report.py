"""`dvc report support`: each office's support requests since a moment, as the dashboard shows
them (open, overdue, resolved share, time to first answer), read from the support schema."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ops.database import table_exists
from ops.errors import OpsError

# Received (not rejected) since :since, per office; "overdue" is still unanswered past its
# deadline at :now; times to a first answer in seconds.
_SUPPORT = sa.text(
    """
    SELECT treasury_code,
           count(*) AS received,
           count(*) FILTER (WHERE status IN ('received', 'answered')) AS open,
           count(*) FILTER (WHERE status = 'received' AND deadline <= :now) AS overdue,
           count(*) FILTER (WHERE first_answer_at IS NOT NULL) AS answered,
           count(*) FILTER (WHERE first_answer_at <= deadline) AS answered_in_time,
           count(*) FILTER (WHERE status = 'resolved') AS resolved,
           count(*) FILTER (WHERE status = 'deferred') AS deferred,
           percentile_cont(0.5) WITHIN GROUP (
             ORDER BY extract(epoch FROM first_answer_at - received_at)
           ) AS median_first_answer
      FROM support.requests
     WHERE status <> 'rejected' AND received_at >= :since
     GROUP BY treasury_code
     ORDER BY treasury_code
    """
)


@dataclass(frozen=True)
class OfficeSupport:
    treasury_code: str
    received: int
    open: int
    overdue: int
    answered: int
    answered_in_time: int
    resolved: int
    deferred: int
    median_first_answer: float | None
    """Seconds from receipt to the first answer (None when nothing is answered)."""

    @property
    def resolved_share(self) -> float | None:
        closed = self.resolved + self.deferred
        return self.resolved / closed if closed else None


def support(conn: Connection, *, since: dt.datetime, now: dt.datetime) -> list[OfficeSupport]:
    if not table_exists(conn, "support", "requests"):
        raise OpsError("the support schema is not there: is the support service migrated?")
    rows = conn.execute(_SUPPORT, {"since": since, "now": now}).mappings()
    return [
        OfficeSupport(
            **{k: v for k, v in r.items() if k != "median_first_answer"},
            median_first_answer=(
                None if r["median_first_answer"] is None else float(r["median_first_answer"])
            ),
        )
        for r in rows
    ]
