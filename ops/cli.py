"""`dvc`: the operators' command. Each subcommand reads the services' settings (DATABASE_URL,
KAFKA_BOOTSTRAP_SERVERS, TOPIC_*) and needs no service running unless it says so."""

from __future__ import annotations

import datetime as dt
import os
import time
import uuid
from typing import Annotated

import orjson
import typer
from rich.table import Table

from ops import backlog
from ops import reconcile as rc
from ops import resync as rs
from ops import trace as tr
from ops.cli_deadletters import app as deadletters_app
from ops.cli_report import app as report_app
from ops.console import clock, err, gap, out, parse_since, progress, run, run_async
from ops.database import connect, make_engine
from ops.kafka import admin_client, reader, writer
from ops.settings import OpsSettings

app = typer.Typer(
    help="Operators' command of the voucher pipeline: dead letters, traces, reconciliation, "
    "re-sync, lag, outbox and reports.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(deadletters_app, name="deadletters")
app.add_typer(report_app, name="report")


@app.command()
def trace(
    dossier_id: Annotated[str, typer.Argument(help="A voucher, registration or allocation id.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON document, for scripts.")
    ] = False,
) -> None:
    """One timeline of a dossier: its messages on each topic, each service's rows, deliveries."""
    s = OpsSettings()
    engine = make_engine(s.database_url)

    def from_database() -> tuple[tr.Dossier, list[tr.Step]]:
        with connect(engine, database_url=s.database_url) as conn:
            dossier = tr.find(conn, dossier_id)
            return dossier, tr.rows(conn, dossier)

    dossier, steps = run(from_database)

    async def from_kafka() -> list[tr.Step]:
        async with reader(s.kafka_bootstrap_servers) as consumer:
            with progress(f"Reading the topics of unit {dossier.unit_code}") as (total, advance):
                return await tr.messages(
                    consumer,
                    dossier,
                    topics=tr.topics_of(dossier.kind, s.topics),
                    first=min(x.at for x in steps),
                    last=max(x.at for x in steps),
                    on_total=total,
                    advanced=advance,
                )

    steps += run_async(from_kafka)
    timeline = tr.timeline(steps)
    if as_json:
        doc = {
            "dossier_id": dossier.dossier_id,
            "kind": dossier.kind,
            "unit_code": dossier.unit_code,
            "steps": [
                {
                    "at": x.at.isoformat(),
                    "where": x.where,
                    "what": x.what,
                    "detail": x.detail,
                    "seconds_since_previous": since,
                }
                for x, since in timeline
            ],
        }
        typer.echo(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table(title=f"{dossier.kind} {dossier.dossier_id} (unit {dossier.unit_code})")
    for col in ("time (ICT)", "after", "where", "what", "detail"):
        table.add_column(col)
    for x, since in timeline:
        table.add_row(clock(x.at), gap(since), x.where, x.what, x.detail)
    out.print(table)


@app.command()
def reconcile(
    unit: Annotated[str | None, typer.Option(help="Only this unit's lines and dossiers.")] = None,
    fiscal_year: Annotated[int | None, typer.Option(help="Only this fiscal year.")] = None,
) -> None:
    """Budget lines, decisions and notices agree across services; exit 1 with what does not."""
    s = OpsSettings()
    engine = make_engine(s.database_url)
    began = time.monotonic()

    def work() -> list[rc.Disagreement]:
        with (
            connect(engine, database_url=s.database_url) as conn,
            progress("Checking") as (
                total,
                advance,
            ),
        ):
            total(len(rc.CHECKS))
            return rc.reconcile(
                conn, unit=unit, fiscal_year=fiscal_year, advanced=lambda name: advance(1)
            )

    found = run(work)
    took = time.monotonic() - began
    if not found:
        out.print(f"Everything agrees ({len(rc.CHECKS)} checks, {took:.1f} s).")
        return
    table = Table(title=f"{len(found)} disagreement(s)")
    for col in ("check", "what", "disagreement"):
        table.add_column(col)
    for d in found:
        table.add_row(d.check, d.subject, d.detail)
    out.print(table)
    raise typer.Exit(1)


@app.command()
def resync(
    unit: Annotated[str | None, typer.Option(help="Every dossier of this unit.")] = None,
    since: Annotated[
        str | None, typer.Option(help="With --unit: received since (30m, 2h, 7d, a date).")
    ] = None,
    dossier: Annotated[str | None, typer.Option(help="Only this dossier.")] = None,
) -> None:
    """Publish the current status of dossiers again on the status topic, same `sequence`."""
    if (unit is None) == (dossier is None):
        err.print("dvc: give --unit U (optionally --since) or --dossier ID.")
        raise typer.Exit(2)
    s = OpsSettings()
    now = dt.datetime.now(dt.UTC)
    since_at = run(lambda: parse_since(since, now=now))
    engine = make_engine(s.database_url)

    def select() -> list[rs.Current]:
        with connect(engine, database_url=s.database_url) as conn:
            return rs.select(conn, unit=unit, since=since_at, dossier=dossier)

    dossiers = run(select)
    run_id = f"{s.user}-{uuid.uuid4().hex[:8]}"

    async def publish() -> int:
        async with writer(s.kafka_bootstrap_servers) as producer:
            with progress("Publishing") as (total, advance):
                total(len(dossiers))
                return await rs.publish(
                    producer,
                    dossiers,
                    topic=s.topics.status,
                    run_id=run_id,
                    now=now,
                    advanced=advance,
                )

    sent = run_async(publish)
    out.print(f"Published {sent} status(es) again on {s.topics.status} (run {run_id}).")


@app.command()
def lag(
    every_topic: Annotated[
        bool, typer.Option("--all", help="Also topics that are not the pipeline's own.")
    ] = False,
) -> None:
    """Consumer lag per group and topic, as the services' lag gauges count it."""
    s = OpsSettings()

    async def work() -> list[backlog.Lag]:
        async with (
            admin_client(s.kafka_bootstrap_servers) as admin,
            reader(s.kafka_bootstrap_servers) as consumer,
        ):
            return await backlog.lag(
                admin, consumer, topics=None if every_topic else set(s.topics.all())
            )

    rows = run_async(work)
    table = Table(title="Consumer lag (messages)")
    for col in ("group", "topic", "partitions", "lag"):
        table.add_column(col, justify="right" if col in ("partitions", "lag") else "left")
    for r in rows:
        table.add_row(r.group, r.topic, str(r.partitions), f"{r.lag:,}")
    out.print(table)
    out.print(f"Total lag: {sum(r.lag for r in rows):,} messages.")


@app.command()
def outbox() -> None:
    """Outbox rows waiting to be published, per service, and parked rows where kept."""
    s = OpsSettings()
    engine = make_engine(s.database_url)

    def work() -> list[backlog.Backlog]:
        with connect(engine, database_url=s.database_url) as conn:
            return backlog.outbox(conn)

    rows = run(work)
    table = Table(title="Outbox backlog")
    for col in ("service", "waiting", "oldest", "parked"):
        table.add_column(col, justify="left" if col == "service" else "right")
    for r in rows:
        table.add_row(
            r.service,
            f"{r.waiting:,}",
            gap(r.oldest_seconds).lstrip("+") or "—",
            "—" if r.parked is None else f"{r.parked:,}",
        )
    out.print(table)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    app()
