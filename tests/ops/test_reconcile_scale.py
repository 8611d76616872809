"""`dvc reconcile` over 100,000 vouchers, in a database of its own filled by SQL."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared.db import libpq_url
from shared.migrations import upgrade_all
from stack.apps import all_migrations
from stack.runner import Endpoints
from tests.ops.conftest import Dvc

VOUCHERS = 100_000
UNITS = 1_000

# One budget line and one initial allocation per unit; 90 % of vouchers approved (a commitment
# each), 5 % refused, 5 % returned; notify has each outcome and its email delivery.
FILL = f"""
INSERT INTO control.budget_lines
SELECT 'U' || u, 2026, '422', '072', '13', 1000000000000, 0, now()
FROM generate_series(1, {UNITS}) u;
INSERT INTO control.allocations (allocation_id, unit_code, content_hash, status, sequence,
  last_sequence, reasons, payload, recorded_at)
SELECT 'DT-' || u, 'U' || u, 'h', 'approved', 1, 1, '[]',
       jsonb_build_object('fiscal_year', 2026, 'chapter', '422', 'sector_code', '072',
                          'source_code', '13', 'kind', 'initial', 'amount', 1000000000000),
       now()
FROM generate_series(1, {UNITS}) u;
CREATE TEMP TABLE v AS
SELECT 'CT-' || i AS dossier_id, 'U' || (i % {UNITS} + 1) AS unit_code,
       CASE WHEN i % 20 = 0 THEN 'refused' WHEN i % 20 = 1 THEN 'returned'
            ELSE 'approved' END AS status,
       1000000 + i AS amount
FROM generate_series(1, {VOUCHERS}) i;
INSERT INTO vouchers.dossiers (dossier_id, unit_code, treasury_code, status, sequence,
  last_sequence, content_hash, payload, reasons, deadline, submitted_at, received_at,
  decided_at, decided_by)
SELECT dossier_id, unit_code, '0011', status, 2, 2, 'h',
       jsonb_build_object('fiscal_year', 2026, 'total_amount', amount, 'form', 'C2-02a/NS'),
       '[]', now(), now(), now(), now(), 'system'
FROM v;
INSERT INTO control.vouchers (dossier_id, unit_code, treasury_code, total_amount, status,
  reasons, payload, received_at, deadline, decided_at, decided_by)
SELECT dossier_id, unit_code, '0011', amount, status, '[]',
       jsonb_build_object('fiscal_year', 2026, 'total_amount', amount, 'form', 'C2-02a/NS'),
       now(), now(), now(), 'system'
FROM v;
INSERT INTO control.commitments
SELECT dossier_id, unit_code, 2026, '422', '072', '13', amount FROM v WHERE status = 'approved';
UPDATE control.budget_lines b SET committed = c.total
FROM (SELECT unit_code, sum(amount) AS total FROM control.commitments GROUP BY 1) c
WHERE b.unit_code = c.unit_code;
INSERT INTO notify.unit_directory
SELECT 'U' || u, 1, jsonb_build_object('notify_emails', jsonb_build_array('kt' || u || '@x.vn'),
                                       'signers', '[]'::jsonb)
FROM generate_series(1, {UNITS}) u;
INSERT INTO notify.dossiers (dossier_id, dossier_kind, unit_code, status, sequence, first_seen,
  warned, overdue_alerted, reasons)
SELECT dossier_id, 'voucher', unit_code, status, 2, now(), false, false, '[]' FROM v;
INSERT INTO notify.deliveries (dedupe_key, channel, kind, dossier_id, recipient, status,
  attempts, next_attempt_at, created_at, sent_at)
SELECT dossier_id || '|' || status, 'email', status, dossier_id, 'kt@x.vn', 'sent', 1,
       now(), now(), now()
FROM v;
ANALYZE;
"""  # noqa: S608 - constants only


@pytest.fixture(scope="module")
def scale_database(stack: Endpoints) -> Iterator[str]:
    name = f"scale_{uuid.uuid4().hex[:8]}"
    admin = libpq_url(stack.database_url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(stack.database_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_all(url, all_migrations())
        with psycopg.connect(admin.rsplit("/", 1)[0] + f"/{name}") as conn:
            conn.execute(FILL)
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_reconcile_of_100000_vouchers_agrees_within_30_seconds(
    stack: Endpoints, scale_database: str
) -> None:
    done = Dvc(stack.environment())("reconcile", DATABASE_URL=scale_database)
    assert done.returncode == 0, done.stdout + done.stderr
    wall: float = done.elapsed  # type: ignore[attr-defined]
    took = re.search(r"checks, ([0-9.]+) s\)", done.stdout)
    assert took is not None, done.stdout
    checks = float(took.group(1))
    print(
        f"\ndvc reconcile over {VOUCHERS:,} vouchers: {checks:.1f} s of checks, {wall:.1f} s wall"
    )
    # The checks, from connecting to the answer; the interpreter's start is not the command's
    # work, and on a machine shared by several test runs it alone can take seconds.
    assert checks < 30, f"dvc reconcile took {checks:.1f} s over {VOUCHERS:,} vouchers"
