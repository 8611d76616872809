"""`dvc reconcile`: do the books balance? Each check is one set-based query over a schema or
two, so 100,000 vouchers take seconds, not a loop per voucher.

Checks, each row they return being a disagreement:
- `budget line`: a line's `committed` is the sum of its commitments (an approved advance or
  actual payment commits its amount; a settlement moves an advance to actual and commits
  nothing again); `committed` never passes `allocated`; `allocated` is the sum of its approved
  allocations (initial and supplements less reductions).
- `commitment`: every commitment belongs to a voucher control approved.
- `advance`: an advance's `settled` is the sum of the approved settlements that name it.
- `decision`: a voucher with a terminal status in vouchers has the same status in control;
  a control decision not applied in vouchers after `grace` is reported too.
- `notice`: every voucher outcome a unit is told of by email (rejected, returned, refused,
  approved) has an email delivery when the unit has somewhere to send it. Registrations are
  left out: notify learns a new unit's addresses from the directory entry its approval
  publishes, after the approval itself, so a first registration has no notice to check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

LINE_KEY = "unit_code, fiscal_year, chapter, sector_code, source_code"
_UNIT = "(CAST(:unit AS text) IS NULL OR {col} = :unit)"
_YEAR = "(CAST(:year AS integer) IS NULL OR {col} = :year)"


@dataclass(frozen=True)
class Disagreement:
    check: str
    subject: str
    detail: str


def _year_of(payload: str) -> str:
    """The fiscal year of a stored payload, NULL when it is not a year: a rejected voucher
    keeps what its sender wrote (`"2026"`, 2^40, `"abc"`), and one bad row must not stop a
    check."""
    field = f"{payload}->>'fiscal_year'"
    return f"(CASE WHEN {field} ~ '^[0-9]{{1,4}}$' THEN ({field})::int END)"


def _where(unit_col: str, year_col: str) -> str:
    return f"{_UNIT.format(col=unit_col)} AND {_YEAR.format(col=year_col)}"


BUDGET_LINES = f"""
WITH lines AS (
  SELECT {LINE_KEY}, allocated, committed FROM control.budget_lines
  WHERE {_where("unit_code", "fiscal_year")}
), committed AS (
  SELECT {LINE_KEY}, sum(amount) AS total FROM control.commitments
  WHERE {_where("unit_code", "fiscal_year")} GROUP BY {LINE_KEY}
), allocated AS (
  SELECT unit_code, {_year_of("payload")} AS fiscal_year, payload->>'chapter' AS chapter,
         payload->>'sector_code' AS sector_code, payload->>'source_code' AS source_code,
         sum(CASE WHEN payload->>'kind' = 'reduction' THEN -(payload->>'amount')::bigint
                  ELSE (payload->>'amount')::bigint END) AS total
  FROM control.allocations
  WHERE status = 'approved' AND {_where("unit_code", _year_of("payload"))}
  GROUP BY 1, 2, 3, 4, 5
)
SELECT {", ".join(f"coalesce(l.{c}, c.{c}) AS {c}" for c in LINE_KEY.split(", "))},
       l.allocated, l.committed, coalesce(c.total, 0) AS commitments,
       a.total AS allocations
FROM lines l
FULL JOIN committed c USING ({LINE_KEY})
LEFT JOIN allocated a
  ON a.unit_code = coalesce(l.unit_code, c.unit_code)
 AND a.fiscal_year = coalesce(l.fiscal_year, c.fiscal_year)
 AND a.chapter = coalesce(l.chapter, c.chapter)
 AND a.sector_code = coalesce(l.sector_code, c.sector_code)
 AND a.source_code = coalesce(l.source_code, c.source_code)
WHERE l.committed IS NULL
   OR l.committed <> coalesce(c.total, 0)
   OR l.committed > l.allocated
   OR l.allocated IS DISTINCT FROM coalesce(a.total, l.allocated)
ORDER BY 1, 2, 3, 4, 5
"""

COMMITMENTS = f"""
SELECT m.dossier_id, m.unit_code, m.amount, v.status
FROM control.commitments m LEFT JOIN control.vouchers v USING (dossier_id)
WHERE {_where("m.unit_code", "m.fiscal_year")} AND v.status IS DISTINCT FROM 'approved'
ORDER BY m.dossier_id
"""

ADVANCES = f"""
WITH settlements AS (
  SELECT payload->>'advance_dossier_id' AS dossier_id, sum(total_amount) AS total
  FROM control.vouchers
  WHERE status = 'approved' AND payload->>'form' = 'C2-03/NS'
    AND payload->>'advance_dossier_id' IS NOT NULL
  GROUP BY 1
)
SELECT a.dossier_id, a.unit_code, a.amount, a.settled, coalesce(s.total, 0) AS settlements
FROM control.advances a
LEFT JOIN settlements s USING (dossier_id)
JOIN control.vouchers v ON v.dossier_id = a.dossier_id
WHERE {_where("a.unit_code", _year_of("v.payload"))}
  AND a.settled <> coalesce(s.total, 0)
ORDER BY a.dossier_id
"""

DECISIONS = f"""
SELECT v.dossier_id, v.unit_code, v.status AS vouchers_status, c.status AS control_status
FROM vouchers.dossiers v LEFT JOIN control.vouchers c USING (dossier_id)
WHERE {_where("v.unit_code", _year_of("v.payload"))}
  AND (
    (v.status IN ('approved', 'refused', 'returned') AND c.status IS DISTINCT FROM v.status)
    OR (c.status IN ('approved', 'refused', 'returned') AND c.status <> v.status
        AND c.decided_at < now() - make_interval(secs => :grace))
  )
ORDER BY v.dossier_id
"""

NOTICES = f"""
SELECT d.dossier_id, d.unit_code, d.status
FROM notify.dossiers d
JOIN notify.unit_directory u USING (unit_code)
WHERE {_UNIT.format(col="d.unit_code")}
  AND d.dossier_kind = 'voucher'
  AND d.status IN ('rejected', 'returned', 'refused', 'approved')
  AND (jsonb_array_length(coalesce(u.entry->'notify_emails', '[]')) > 0
       OR jsonb_path_exists(u.entry, '$.signers[*].email ? (@ != null)'))
  AND NOT EXISTS (
    SELECT 1 FROM notify.deliveries x
    WHERE x.dossier_id = d.dossier_id AND x.channel = 'email' AND x.kind = d.status)
  AND (CAST(:year AS integer) IS NULL OR EXISTS (
    SELECT 1 FROM vouchers.dossiers v
    WHERE v.dossier_id = d.dossier_id AND {_year_of("v.payload")} = :year))
ORDER BY d.dossier_id
"""


def _line(r: Any) -> str:
    return f"{r.unit_code}/{r.fiscal_year}/{r.chapter}/{r.sector_code}/{r.source_code}"


def _budget(r: Any) -> Disagreement:
    if r.committed is None:
        detail = f"no budget line, but commitments of {r.commitments} VND"
    elif r.committed > r.allocated:
        detail = f"committed {r.committed} VND is above the allocation of {r.allocated} VND"
    elif r.committed != r.commitments:
        detail = f"committed {r.committed} VND, but its commitments add up to {r.commitments}"
    else:
        detail = f"allocated {r.allocated} VND, but its approved allocations add up to " + str(
            r.allocations
        )
    return Disagreement("budget line", _line(r), detail)


CHECKS: list[tuple[str, str, Callable[[Any], Disagreement]]] = [
    ("budget lines", BUDGET_LINES, _budget),
    (
        "commitments",
        COMMITMENTS,
        lambda r: Disagreement(
            "commitment",
            r.dossier_id,
            f"{r.amount} VND committed for a voucher control has as {r.status or 'unknown'}",
        ),
    ),
    (
        "advances",
        ADVANCES,
        lambda r: Disagreement(
            "advance",
            r.dossier_id,
            f"settled {r.settled} VND, but approved settlements add up to {r.settlements} VND",
        ),
    ),
    (
        "decisions",
        DECISIONS,
        lambda r: Disagreement(
            "decision",
            r.dossier_id,
            f"vouchers says {r.vouchers_status}, control says {r.control_status or 'nothing'}",
        ),
    ),
    (
        "notices",
        NOTICES,
        lambda r: Disagreement(
            "notice", r.dossier_id, f"{r.status}: the unit has no email delivery for it"
        ),
    ),
]


def reconcile(
    conn: Connection,
    *,
    unit: str | None,
    fiscal_year: int | None,
    grace_seconds: float = 300,
    advanced: Callable[[str], None] = lambda name: None,
) -> list[Disagreement]:
    """Every disagreement, check by check, in one read-only snapshot of the database."""
    conn.execute(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
    params = {"unit": unit, "year": fiscal_year, "grace": grace_seconds}
    found: list[Disagreement] = []
    for name, sql, make in CHECKS:
        found += [make(r) for r in conn.execute(sa.text(sql), params)]
        advanced(name)
    return found
