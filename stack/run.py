"""`make run`: the stack, the services, Prometheus when installed, and the demo workload.

Serves until Ctrl-C, then stops every process it started.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import secrets
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.table import Table

from shared.settings import TopicSettings
from stack import apps, demo, demo_offices, desk
from stack.config import ExternalServices, StackSettings
from stack.portal import DemoPortal
from stack.runner import Stack, run_until_signalled
from testkit import ICT, Testbed


class RunSettings(BaseSettings):
    """The contract's variables `make run` honours, and the demo's size."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    demo_vouchers: int = Field(default=2000, ge=0)
    registration_approval: str = "manual"
    staff_jwt_secret: str = ""
    portal_api_keys: str = ""
    trusted_ca_file: Path | None = None
    treasury_directory: Path | None = None
    portal_webhooks: str = ""
    topics: TopicSettings = Field(default_factory=TopicSettings)


def _demo_files(
    settings: StackSettings, run: RunSettings, bed: Testbed, portal: DemoPortal
) -> dict[str, str]:
    """What the services need and the environment did not give: a CA (the demo's own, whose
    certificates its units sign with), an offices file, secrets, a portal's webhook."""
    home = settings.var_dir / "demo"
    home.mkdir(parents=True, exist_ok=True)
    env = {"REGISTRATION_APPROVAL": run.registration_approval}
    if run.trusted_ca_file is None:
        bundle = home / "trusted-ca.pem"
        bed.ca.write_bundle(bundle)
        env["TRUSTED_CA_FILE"] = str(bundle.resolve())
    if run.treasury_directory is None:
        offices = home / "offices.json"
        offices.write_text(
            json.dumps(demo_offices.offices_document(), ensure_ascii=False, indent=2)
        )
        env["TREASURY_DIRECTORY"] = str(offices.resolve())
    env["STAFF_JWT_SECRET"] = run.staff_jwt_secret or secrets.token_urlsafe(32)
    env["PORTAL_API_KEYS"] = run.portal_api_keys or f"demo-{secrets.token_hex(8)}"
    if not run.portal_webhooks:
        portal.start()
        env["PORTAL_WEBHOOKS"] = portal.url
        env["WEBHOOK_SECRET"] = secrets.token_urlsafe(16)
        # Retries a few seconds apart, so the demo's refused webhooks are seen delivered.
        env["RETRY_MAX_SECONDS"] = "30"
    return env


def run(console: Console) -> int:
    settings, external, options = StackSettings(), ExternalServices(), RunSettings()
    stack = Stack(settings, external)
    portal = DemoPortal()
    with console.status("Starting the stack…") as status:
        endpoints = stack.up(foreground=True, progress=lambda m: status.update(m))
        bed = Testbed(now=dt.datetime.now(ICT))
        env = {**endpoints.environment(), **_demo_files(settings, options, bed, portal)}
        try:
            started = []
            for name, port in settings.service_ports().items():
                status.update(f"Starting the {name} service on port {port}")
                proc = apps.service_process(name, port, env, settings)
                stack.start(proc, foreground=True)
                started.append((proc, port))
            for proc, port in started:
                apps.wait_service(proc, port, settings.ready_timeout)
            status.update(f"Starting the officers' workspace on port {settings.workspace_port}")
            workspace = apps.service_process(
                "workspace", settings.workspace_port, {**env, **_workspace_env(settings)}, settings
            )
            stack.start(workspace, foreground=True)
            apps.wait_service(workspace, settings.workspace_port, settings.ready_timeout)
            prometheus = apps.prometheus_process(settings)
            if prometheus is not None:
                stack.start(prometheus, foreground=True)
            stack.save(endpoints, foreground=True)
        except BaseException:
            stack.stop_started()
            raise
    console.print(
        _where(
            settings,
            endpoints.kafka_bootstrap_servers,
            endpoints.database_url,
            endpoints.mail_dir,
            prometheus is not None,
        )
    )
    if options.demo_vouchers:
        workload = demo.Demo(
            bed,
            demo.Endpoints(
                bootstrap=endpoints.kafka_bootstrap_servers,
                database_url=endpoints.database_url,
                topics=options.topics,
                registration_url=f"http://127.0.0.1:{settings.registration_port}",
                control_url=f"http://127.0.0.1:{settings.control_port}",
                support_url=f"http://127.0.0.1:{settings.support_port}",
                staff_secret=env["STAFF_JWT_SECRET"],
                approval=options.registration_approval,
            ),
            console,
        )
        try:
            summary = asyncio.run(workload.run(options.demo_vouchers))
        except (TimeoutError, OSError) as err:
            console.print(f"[bold red]The demo workload stopped:[/] {err}")
        else:
            console.print(summary.table())
            for line in summary.lines():
                console.print(line)
            if summary.investment is not None:
                console.print(summary.investment)
            if summary.support is not None:
                console.print(summary.support)
            left = asyncio.run(desk.leave_work(workload))
            console.print(
                f"Left for the officers: {left['vouchers']} vouchers in review"
                + (f", {left['registrations']} registrations" if left["registrations"] else "")
                + "."
            )
    console.print(f"Portal API key for this run: {env['PORTAL_API_KEYS'].split(',')[0]}")
    console.print(
        f"Officers' workspace: http://127.0.0.1:{settings.workspace_port}  sign in as "
        f"{demo_offices.DEMO_OFFICER} (controller of office 0011; the code arrives in "
        f"{endpoints.mail_dir or 'the SMTP server'}/new)"
    )
    console.print("Serving. Press [bold]Ctrl-C[/] to stop.")
    try:
        run_until_signalled(stack)
    finally:
        portal.stop()
    console.print("Stopped.")
    return 0


def _workspace_env(settings: StackSettings) -> dict[str, str]:
    return {
        **settings.service_urls(),
        "WORKSPACE_PUBLIC_URL": f"http://127.0.0.1:{settings.workspace_port}",
        "WORKSPACE_SECRET_KEY": secrets.token_urlsafe(48),
    }


def _where(
    settings: StackSettings, kafka: str, database: str, mail: str | None, prometheus: bool
) -> Table:
    table = Table(title="DVC vouchers: where everything listens", show_header=True)
    table.add_column("part")
    table.add_column("address")
    table.add_row("Kafka", kafka)
    table.add_row("PostgreSQL", database)
    table.add_row("Emails (SMTP sink)", f"maildir {mail}" if mail else "external SMTP server")
    for name, port in settings.service_ports().items():
        table.add_row(f"{name} service", f"http://127.0.0.1:{port}/docs  (metrics: /metrics)")
    table.add_row(
        "officers' workspace",
        f"http://127.0.0.1:{settings.workspace_port}  ({demo_offices.DEMO_OFFICER})",
    )
    if prometheus:
        table.add_row("Prometheus", f"http://127.0.0.1:{settings.prometheus_port}")
    table.add_row("Logs", str((settings.var_dir / "log").resolve()))
    return table
