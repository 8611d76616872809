"""`python -m stack up|down|status|prepare|migrate`: the local stack from the command line."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Annotated

import psutil
import typer
from rich.console import Console
from rich.table import Table

from stack.config import ExternalServices, StackSettings
from stack.errors import StackError
from stack.runner import Endpoints, Stack, run_until_signalled

cli = typer.Typer(
    help="Run the local stack: Kafka, PostgreSQL and an SMTP sink.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console(stderr=True)


def _stack() -> Stack:
    return Stack(StackSettings(), ExternalServices())


def endpoints_table(endpoints: Endpoints) -> Table:
    table = Table(title="Local stack", show_header=True, header_style="bold")
    table.add_column("part")
    table.add_column("listens at")
    table.add_column("pid")
    started = endpoints.started
    table.add_row("Kafka", endpoints.kafka_bootstrap_servers, str(started.get("kafka", "external")))
    table.add_row("PostgreSQL", endpoints.database_url, str(started.get("postgres", "external")))
    smtp = f"smtp://{endpoints.smtp_host}:{endpoints.smtp_port}"
    if endpoints.mail_dir:
        smtp += f"  (mail kept in {endpoints.mail_dir})"
    table.add_row("SMTP", smtp, str(started.get("smtp", "external")))
    return table


@cli.command()
def up(
    detach: Annotated[bool, typer.Option(help="Start in the background and return.")] = False,
) -> None:
    """Start the stack; without --detach, serve until Ctrl-C and then stop everything."""
    stack = _stack()
    began = time.monotonic()
    try:
        with console.status("Starting the stack…") as status:
            endpoints = stack.up(foreground=not detach, progress=lambda m: status.update(m))
    except StackError as err:
        console.print(f"[bold red]The stack could not start:[/] {err}")
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        console.print("Interrupted; everything started was stopped.")
        raise typer.Exit(130) from None
    console.print(endpoints_table(endpoints))
    console.print(f"Ready in {time.monotonic() - began:.1f} s.")
    if detach:
        console.print("Stop it with [bold]python -m stack down[/].")
        return
    console.print("Serving. Press [bold]Ctrl-C[/] to stop.")
    try:
        run_until_signalled(stack)
    except StackError as err:
        console.print(f"[bold red]A part of the stack failed:[/] {err}")
        raise typer.Exit(1) from None
    console.print("Stopped.")


@cli.command("run")
def run_all() -> None:
    """Everything `make run` starts: stack, services, Prometheus, demo; Ctrl-C stops it all."""
    from stack.run import run

    try:
        raise typer.Exit(run(console))
    except StackError as err:
        console.print(f"[bold red]Could not start:[/] {err}")
        raise typer.Exit(1) from None


@cli.command()
def snapshot(
    out: Annotated[Path, typer.Option(help="Where to write the PNG.")] = Path("docs/dashboard.png"),
    prometheus: Annotated[str, typer.Option(help="Prometheus to query.")] = (
        "http://127.0.0.1:9090"
    ),
    minutes: Annotated[float, typer.Option(help="How far back to draw.")] = 10.0,
) -> None:
    """Draw the dashboard's panels from Prometheus query results into a PNG."""
    from stack.snapshot import render

    console.print(f"Wrote {render(prometheus, out, minutes=minutes)}")


@cli.command()
def prepare(
    demo_config: Annotated[
        Path | None,
        typer.Option(help="Write a demo CA bundle and offices file here, where absent."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for Kafka and PostgreSQL.")] = 120,
) -> None:
    """Topics and migrations on an existing Kafka and PostgreSQL (containers); writes no state."""
    from stack.prepare import prepare as run_prepare

    try:
        run_prepare(ExternalServices(), demo_config=demo_config, timeout=timeout, say=console.print)
    except StackError as err:
        console.print(f"[bold red]Could not prepare:[/] {err}")
        raise typer.Exit(1) from None
    console.print("Prepared.")


@cli.command()
def migrate() -> None:
    """Every service's migrations on DATABASE_URL (the Kubernetes chart's migration Job)."""
    from shared.migrations import upgrade_all
    from stack.apps import all_migrations

    database_url = ExternalServices().database_url
    if not database_url:
        console.print("[bold red]DATABASE_URL is not set:[/] the PostgreSQL to migrate.")
        raise typer.Exit(2)
    upgrade_all(database_url, all_migrations())
    console.print("Migrated.")


@cli.command()
def down() -> None:
    """Stop a stack started earlier (from var/stack.json)."""
    stopped = _stack().down()
    console.print(f"Stopped: {', '.join(stopped)}." if stopped else "Nothing was running.")


@cli.command()
def status() -> None:
    """Show what runs, where it listens and its process id."""
    state = _stack().read_state()
    if state is None:
        console.print("The stack is not running (no var/stack.json).")
        return
    started = state.get("started")
    table = Table(title="Local stack")
    for col in ("part", "pid", "state"):
        table.add_column(col)
    if isinstance(started, dict):
        for name, pid in started.items():
            up_ = psutil.pid_exists(int(pid))
            table.add_row(name, str(pid), "[green]running[/]" if up_ else "[red]gone[/]")
    console.print(table)
    for key in ("kafka_bootstrap_servers", "database_url", "smtp_host", "smtp_port", "mail_dir"):
        console.print(f"{key}: {state.get(key)}")


@cli.command()
def env() -> None:
    """Print the variables that point a service started by hand at the running stack.

    `eval "$(python -m stack env)"`, then `python -m services.<name>`."""
    settings = StackSettings()
    state = Stack(settings, ExternalServices()).read_state()
    if state is None:
        console.print("The stack is not running: start it with `make run` or `make stack-up`.")
        raise typer.Exit(1)
    print(environment_script(state, settings))


def environment_script(state: dict[str, object], settings: StackSettings) -> str:
    """Shell lines exporting the stack's endpoints, and what else a service needs."""
    lines = [
        f"export {name.upper()}={shlex.quote(str(state[name]))}"
        for name in ("kafka_bootstrap_servers", "database_url", "smtp_host", "smtp_port")
    ]
    demo = (settings.var_dir / "demo").resolve()
    for name, path, what in (
        ("TRUSTED_CA_FILE", demo / "trusted-ca.pem", "a PEM bundle of the CAs that may sign"),
        ("TREASURY_DIRECTORY", demo / "offices.json", "the offices-and-staff JSON file"),
    ):
        if path.exists():
            lines.append(f"export {name}={shlex.quote(str(path))}  # written by make run's demo")
        else:
            lines.append(f"# export {name}=<{what}>  (make run writes {path})")
    lines += [
        "# Without STAFF_JWT_SECRET and PORTAL_API_KEYS, staff and portal calls are refused.",
        "# make run's own services listen on "
        + ", ".join(f"{n} {p}" for n, p in settings.service_ports().items())
        + ": beside them, set <NAME>_PORT to a free port and INSTANCE_SUFFIX to a name of its"
        " own (a consumer group of its own).",
    ]
    return "\n".join(lines)


def main() -> None:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    cli()
