"""`python -m bench.workspace`: how long the officers' queue takes to render when one office
has 10,000 dossiers in review (the workspace, the control service and PostgreSQL, for real).

The dossiers are written straight into the control service's table (the pipeline's own speed
is `make bench`'s business); the officer's session is signed with the workspace's key, as
the sign-in page would.
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import shutil
import statistics
import time
from pathlib import Path
from typing import Annotated

import httpx
import psycopg
import typer
from rich.console import Console

from services.workspace.sessions import Signer
from shared.db import libpq_url
from stack import apps, demo_offices
from stack.config import ExternalServices
from stack.ports import stack_settings
from stack.runner import Stack
from testkit import ICT, Testbed

OFFICE = "0011"
cli = typer.Typer(add_completion=False, help=__doc__)


def _fill(dsn: str, bed: Testbed, count: int) -> None:
    """`count` vouchers of office 0011 in review, deadlines spread over three days."""
    unit = bed.unit(treasury_code=OFFICE)
    payload = unit.voucher(total_amount=1_500_000_000).payload
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY control.vouchers (dossier_id, unit_code, treasury_code, total_amount, status,"
            " reasons, payload, received_at, deadline, review_since) FROM STDIN"
        ) as copy:
            for i in range(count):
                dossier_id = f"CT-{OFFICE}-BENCH-{i:06d}"
                doc = json.dumps({**payload, "dossier_id": dossier_id}, ensure_ascii=False)
                received = now - dt.timedelta(minutes=i % 4000)
                deadline = received + dt.timedelta(hours=4 + (i % 72))
                copy.write_row(
                    (
                        dossier_id,
                        unit.code,
                        OFFICE,
                        1_500_000_000,
                        "in_review",
                        "[]",
                        doc,
                        received,
                        deadline,
                        received,
                    )
                )
        conn.commit()
        cur.execute("ANALYZE control.vouchers")


@cli.command()
def main(
    dossiers: Annotated[int, typer.Option(help="Dossiers in review at the office.")] = 10_000,
    rounds: Annotated[int, typer.Option(help="Queue renderings measured.")] = 50,
) -> None:
    console = Console()
    # `make bench`'s ports: it runs after the pipeline's bench, never beside it.
    settings = stack_settings("bench", Path("var/bench-workspace"))
    shutil.rmtree(settings.var_dir, ignore_errors=True)
    stack = Stack(settings, ExternalServices())
    bed = Testbed(now=dt.datetime.now(ICT))
    try:
        with console.status("Starting Kafka, PostgreSQL, the control service and the workspace…"):
            endpoints = stack.up(foreground=True)
            home = settings.var_dir / "bench"
            home.mkdir(parents=True, exist_ok=True)
            offices = home / "offices.json"
            offices.write_text(json.dumps(demo_offices.offices_document(), ensure_ascii=False))
            bed.ca.write_bundle(home / "ca.pem")
            key = secrets.token_urlsafe(48)
            env = {
                **endpoints.environment(),
                **settings.service_urls(),
                "TRUSTED_CA_FILE": str((home / "ca.pem").resolve()),
                "TREASURY_DIRECTORY": str(offices.resolve()),
                "STAFF_JWT_SECRET": secrets.token_urlsafe(32),
                "WORKSPACE_SECRET_KEY": key,
                "LOG_LEVEL": "WARNING",
            }
            for name, port in (
                ("control", settings.control_port),
                ("workspace", settings.workspace_port),
            ):
                proc = apps.service_process(name, port, env, settings)
                stack.start(proc, foreground=True)
                apps.wait_service(proc, port, 180)
        dsn = libpq_url(endpoints.database_url)
        with console.status(f"Writing {dossiers} dossiers in review…"):
            _fill(dsn, bed, dossiers)
        _, cookie = Signer(key).session(
            email=f"kiemsoat.{OFFICE}@kbnn.gov.vn",
            role="controller",
            treasury_code=OFFICE,
            office_name=demo_offices.OFFICES[OFFICE],
            now=dt.datetime.now(dt.UTC),
            ttl=dt.timedelta(hours=1),
        )
        url = f"http://127.0.0.1:{settings.workspace_port}/queue"
        times = []
        with httpx.Client(cookies={"ws_session": cookie}, timeout=30) as http:
            for i in range(rounds + 3):
                began = time.perf_counter()
                answer = http.get(url)
                took = time.perf_counter() - began
                answer.raise_for_status()
                assert "CT-0011-BENCH-" in answer.text, "the queue did not list the dossiers"
                if i >= 3:  # the first renderings warm connections and templates
                    times.append(took)
        times.sort()
        p50, p95 = statistics.median(times), times[int(0.95 * (len(times) - 1))]
        console.print(
            f"Queue of office {OFFICE} with {dossiers} dossiers in review, {rounds} renderings: "
            f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {times[-1] * 1000:.0f} ms "
            f"({'under' if p95 < 0.3 else 'OVER'} the 300 ms target at p95)."
        )
    finally:
        stack.stop_started()


if __name__ == "__main__":
    cli()
