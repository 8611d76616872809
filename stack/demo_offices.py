"""The demo's treasury offices and their staff (the offices file of `make run`, the chaos run
and the bench, and the officer to sign in as in the workspace), and what the demo reads and
stages in the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

OFFICES = {
    "0011": "Kho bạc Nhà nước khu vực Lai Châu",
    "0012": "Kho bạc Nhà nước khu vực Hà Nội",
    "0013": "Kho bạc Nhà nước khu vực TP. Hồ Chí Minh",
}
# Who to sign in as in the workspace after `make run`.
DEMO_OFFICER = "kiemsoat.0011@kbnn.gov.vn"


def offices_document() -> dict[str, Any]:
    return {
        "offices": [
            {
                "treasury_code": code,
                "name": name,
                "staff": [
                    {"email": f"kiemsoat.{code}@kbnn.gov.vn", "role": "controller"},
                    {"email": f"lanhdao.{code}@kbnn.gov.vn", "role": "head"},
                    {"email": f"vanhanh.{code}@kbnn.gov.vn", "role": "ops"},
                ],
            }
            for code, name in OFFICES.items()
        ]
    }


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
