"""SQLAlchemy 2.0 engines and sessions, built by each service's composition root, not at import."""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def _with_driver(url: str, driver: str | None) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(
            f"DATABASE_URL must point at PostgreSQL, not {parsed.get_backend_name()!r}"
        )
    name = f"postgresql+{driver}" if driver else "postgresql"
    return parsed.set(drivername=name).render_as_string(hide_password=False)


def async_url(url: str) -> str:
    """The URL with the asyncpg driver, whatever driver `DATABASE_URL` named."""
    return _with_driver(url, "asyncpg")


def sync_url(url: str) -> str:
    """The URL with the psycopg driver, for migrations and tools."""
    return _with_driver(url, "psycopg")


def libpq_url(url: str) -> str:
    """The URL as libpq takes it (`psycopg.connect`, `psql`): no driver name."""
    return _with_driver(url, None)


def make_engine(url: str, *, pool_size: int = 10, application_name: str = "dvc") -> AsyncEngine:
    return create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": application_name}},
    )


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
