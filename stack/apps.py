"""The services and Prometheus as child processes of the stack launcher."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import httpx

from shared.migrations import Migrations
from stack.config import StackSettings
from stack.procs import ManagedProcess, ensure_port_free, wait_until

ROOT = Path(__file__).resolve().parent.parent
# The services the stack runs, in the order their schemas are migrated.
SERVICES = ("registration", "vouchers", "control", "notify", "support")


# The operators' command keeps its records (replays of dead letters) in a schema of its own.
OPS_MIGRATIONS = Migrations("ops", ROOT / "ops" / "migrations")


def service_migrations(services: tuple[str, ...] = SERVICES) -> list[Migrations]:
    """Each service's schema (named after it) and its Alembic scripts."""
    return [Migrations(name, ROOT / "services" / name / "migrations") for name in services]


def all_migrations() -> list[Migrations]:
    """Every schema `python -m stack up` migrates: the services' and the operators'."""
    return [*service_migrations(), OPS_MIGRATIONS]


def service_process(
    name: str, port: int, env: dict[str, str], settings: StackSettings
) -> ManagedProcess:
    ensure_port_free(port, what=f"The {name} service")
    return ManagedProcess(
        name=name,
        argv=[sys.executable, "-m", f"services.{name}"],
        log=settings.var_dir / "log" / f"{name}.log",
        env={**os.environ, **env, f"{name.upper()}_PORT": str(port)},
        cwd=ROOT,
    )


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def wait_service(proc: ManagedProcess, port: int, timeout: float) -> None:
    wait_until(
        lambda: answers(f"http://127.0.0.1:{port}/readyz"),
        timeout=timeout,
        proc=proc,
        what=f"The {proc.name} service on port {port}",
    )


def prometheus_config(settings: StackSettings) -> Path:
    """deploy/prometheus/prometheus.yml with this stack's ports, under var/prometheus."""
    source = ROOT / "deploy" / "prometheus" / "prometheus.yml"
    text = source.read_text()
    defaults = StackSettings.model_construct().service_ports() | {"prometheus": 9090}
    actual = settings.service_ports() | {"prometheus": settings.prometheus_port}
    for name, port in defaults.items():
        text = text.replace(f"127.0.0.1:{port}", f"127.0.0.1:{actual[name]}")
    rules = (ROOT / "deploy" / "prometheus" / "rules").resolve()
    text = text.replace("  - rules/*.yml", f"  - {rules}/*.yml")
    home = settings.var_dir / "prometheus"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "prometheus.yml"
    config.write_text(text)
    return config


def prometheus_process(settings: StackSettings) -> ManagedProcess | None:
    """Debian's Prometheus scraping the services, when it is installed; None otherwise."""
    binary = shutil.which("prometheus")
    if binary is None:
        return None
    ensure_port_free(settings.prometheus_port, what="Prometheus")
    config = prometheus_config(settings)
    return ManagedProcess(
        name="prometheus",
        argv=[
            binary,
            f"--config.file={config.resolve()}",
            f"--storage.tsdb.path={(settings.var_dir / 'prometheus' / 'data').resolve()}",
            f"--web.listen-address=127.0.0.1:{settings.prometheus_port}",
            "--storage.tsdb.retention.time=2d",
        ],
        log=settings.var_dir / "log" / "prometheus.log",
    )
