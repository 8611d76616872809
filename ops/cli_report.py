"""`dvc report support`."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.table import Table

from ops import report as rp
from ops.console import out, parse_since, run
from ops.database import connect, make_engine
from ops.settings import OpsSettings

app = typer.Typer(help="Figures for the treasury's management, per office.")


def _share(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def _hours(seconds: float | None) -> str:
    return "—" if seconds is None else f"{seconds / 3600:.1f} h"


@app.command("support")
def support(
    since: Annotated[
        str, typer.Option(help="Requests received since then: 30m, 2h, 7d, or a date or time.")
    ] = "7d",
) -> None:
    """Support requests per office: received, open, overdue, answered in time, resolved
    share (of those closed) and median time to the first answer."""
    s = OpsSettings()
    now = dt.datetime.now(dt.UTC)
    since_at = run(lambda: parse_since(since, now=now))
    assert since_at is not None
    engine = make_engine(s.database_url)

    def work() -> list[rp.OfficeSupport]:
        with connect(engine, database_url=s.database_url) as conn:
            return rp.support(conn, since=since_at, now=now)

    rows = run(work)
    table = Table(title=f"Support requests received since {since_at.isoformat(timespec='minutes')}")
    columns = ("office", "received", "open", "overdue", "answered in time", "resolved share")
    for col in (*columns, "median first answer"):
        table.add_column(col, justify="left" if col == "office" else "right")
    for r in rows:
        table.add_row(
            r.treasury_code,
            f"{r.received:,}",
            f"{r.open:,}",
            f"{r.overdue:,}",
            _share(r.answered_in_time, r.received),
            _share(r.resolved, r.resolved + r.deferred),
            _hours(r.median_first_answer),
        )
    if rows:
        resolved, deferred = sum(r.resolved for r in rows), sum(r.deferred for r in rows)
        received = sum(r.received for r in rows)
        table.add_row(
            "all",
            f"{received:,}",
            f"{sum(r.open for r in rows):,}",
            f"{sum(r.overdue for r in rows):,}",
            _share(sum(r.answered_in_time for r in rows), received),
            _share(resolved, resolved + deferred),
            "",
        )
    out.print(table)
