"""What the demo reads and stages in the database, behind the services' back."""

from __future__ import annotations

from collections.abc import Sequence

import psycopg


def directory_size(dsn: str, unit_codes: Sequence[str]) -> int:
    """How many of `unit_codes` the vouchers service's directory holds."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM vouchers.unit_directory WHERE unit_code = ANY(%s)",
            (list(unit_codes),),
        ).fetchone()
    return int(row[0]) if row else 0


def bring_deadline_forward(dsn: str, dossier_id: str) -> None:
    """Staged for the dashboard: a voucher's deadline moved to 90 minutes from now in every
    service's copy, as if it had been received the day before."""
    with psycopg.connect(dsn) as conn:
        for table in ("vouchers.dossiers", "control.vouchers", "notify.dossiers"):
            conn.execute(
                f"UPDATE {table} SET deadline = now() + interval '90 minutes' "  # noqa: S608
                "WHERE dossier_id = %s",
                (dossier_id,),
            )
