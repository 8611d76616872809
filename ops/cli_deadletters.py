"""`dvc deadletters list|show|replay`."""

from __future__ import annotations

import datetime as dt
import shlex
import subprocess
import tempfile
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.table import Table

from ops import deadletters as dl
from ops.console import clock, err, from_ms, out, parse_since, progress, run, run_async
from ops.database import connect, make_engine
from ops.errors import OpsError
from ops.kafka import Record, reader, writer
from ops.settings import OpsSettings

app = typer.Typer(help="Messages the services could not decode, and their replay.")


@app.command("list")
def list_(
    topic: Annotated[str | None, typer.Option(help="Only those that came from this topic.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only since then: 30m, 2h, 7d, or a date or time.")
    ] = None,
) -> None:
    """The dead letters: id (partition:offset), time, source topic, error and a preview."""
    s = OpsSettings()
    since_at = run(lambda: parse_since(since, now=dt.datetime.now(dt.UTC)))

    async def work() -> list[Record]:
        async with reader(s.kafka_bootstrap_servers) as consumer:
            with progress(f"Reading {s.topics.deadletter}") as (total, advance):
                return await dl.list_letters(
                    consumer,
                    s.topics.deadletter,
                    since_ms=int(since_at.timestamp() * 1000) if since_at else None,
                    source_topic=topic,
                    on_total=total,
                    advanced=advance,
                )

    letters = run_async(work)
    table = Table(title=f"Dead letters on {s.topics.deadletter}", show_lines=False)
    for col in ("id", "time", "source topic", "key", "error", "preview"):
        table.add_column(col, overflow="fold" if col == "error" else "ellipsis")
    for r in letters:
        table.add_row(
            f"{r.partition}:{r.offset}",
            clock(from_ms(r.timestamp_ms)),
            r.header("source-topic") or "?",
            r.key.decode(errors="replace") if r.key else "—",
            (r.header("error") or "")[:120],
            dl.preview(r.value),
        )
    out.print(table)
    out.print(f"{len(letters)} dead letter(s).")


@app.command()
def show(letter_id: Annotated[str, typer.Argument(metavar="ID", help="partition:offset")]) -> None:
    """One dead letter whole: headers, key, and the body (pretty when it is JSON)."""
    s = OpsSettings()
    letter = run(lambda: dl.LetterId.parse(letter_id))
    record = run_async(lambda: _fetch(s, letter))
    out.print(f"[bold]Dead letter {letter}[/] on {s.topics.deadletter}")
    out.print(f"time:         {clock(from_ms(record.timestamp_ms))}")
    out.print(f"source topic: {record.header('source-topic')}")
    out.print(f"key:          {record.key.decode(errors='replace') if record.key else '—'}")
    out.print(f"error:        {record.header('error')}", highlight=False)
    out.print(f"size:         {len(record.value)} bytes, sha256 {dl.digest(record.value)}")
    for name, value in record.headers:
        if name not in ("error", "source-topic"):
            out.print(f"header {name}: {value.decode(errors='replace')}")
    with connect(make_engine(s.database_url), database_url=s.database_url) as conn:
        for row in dl.earlier_replays(conn, s.topics.deadletter, letter):
            m = row._mapping
            out.print(
                f"replayed by {m['replayed_by']} at {clock(m['replayed_at'])} "
                f"as {m['new_partition']}:{m['new_offset']} "
                f"({'edited' if m['edited'] else 'as is'})"
            )
    out.print("body:")
    out.print(_body(record.value), markup=False, highlight=False, soft_wrap=True)


@app.command()
def replay(
    letter_id: Annotated[str, typer.Argument(metavar="ID", help="partition:offset")],
    edit: Annotated[bool, typer.Option(help="Fix the body in $EDITOR before sending.")] = False,
    from_file: Annotated[
        Path | None, typer.Option(help="Send this file's bytes instead of the body.")
    ] = None,
    by: Annotated[str | None, typer.Option(help="Who replays (default: $USER).")] = None,
) -> None:
    """Send a dead letter back to its source topic, once per content, and record it."""
    s = OpsSettings()
    letter = run(lambda: dl.LetterId.parse(letter_id))
    if edit and from_file:
        err.print("dvc: choose --edit or --from-file, not both.")
        raise typer.Exit(2)
    record = run_async(lambda: _fetch(s, letter))
    value = record.value
    if from_file is not None:
        try:
            value = from_file.read_bytes()
        except OSError as e:
            err.print(f"dvc: cannot read {from_file}: {e.strerror}")
            raise typer.Exit(1) from None
    elif edit:
        value = run(lambda: _edited(record.value, s.editor))
    run(lambda: dl.ensure_schema(s.database_url))

    async def work() -> dict[str, object]:
        engine = make_engine(s.database_url)
        with connect(engine, database_url=s.database_url) as conn:
            async with writer(s.kafka_bootstrap_servers) as producer:
                return await dl.replay(
                    conn,
                    producer,
                    topic=s.topics.deadletter,
                    letter=record,
                    value=value,
                    by=by or s.user,
                )

    done = run_async(work)
    out.print(
        f"Replayed dead letter {done['deadletter']} to {done['source_topic']} "
        f"as {done['new_partition']}:{done['new_offset']} "
        f"({'edited' if done['edited'] else 'unchanged'}, sha256 {str(done['digest'])[:12]}…), "
        f"recorded as replayed by {done['replayed_by']}."
    )


async def _fetch(s: OpsSettings, letter: dl.LetterId) -> Record:
    async with reader(s.kafka_bootstrap_servers) as consumer:
        return await dl.fetch(consumer, s.topics.deadletter, letter)


def _body(value: bytes) -> str:
    try:
        return orjson.dumps(orjson.loads(value), option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONDecodeError:
        return value.decode("utf-8", errors="replace")


def _edited(value: bytes, editor: str) -> bytes:
    """The body after the operator's editor has closed (`EDITOR`, else `vi`)."""
    chosen = editor
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as f:
        f.write(value)
        path = Path(f.name)
    try:
        done = subprocess.run([*shlex.split(chosen), str(path)], check=False)
        if done.returncode != 0:
            raise OpsError(f"The editor ({chosen}) exited with {done.returncode}; nothing sent.")
        return path.read_bytes()
    finally:
        path.unlink(missing_ok=True)
