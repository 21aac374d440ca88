"""The async engine: SQLite (WAL, foreign keys) by default, PostgreSQL in production."""

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.ext.asyncio.session import AsyncSession

ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Return a database URL with its async driver, whatever driver the operator wrote.

    >>> async_url("postgresql://u@h/db")
    'postgresql+asyncpg://u@h/db'
    >>> async_url("sqlite:///x.db")
    'sqlite+aiosqlite:///x.db'
    """
    try:
        parsed = make_url(url)
    except ArgumentError as error:
        raise ValueError("Cannot parse the database URL") from error
    backend = parsed.get_backend_name()
    if backend not in ASYNC_DRIVERS:
        raise ValueError(f"Unsupported database {backend!r}: use sqlite or postgresql")
    return parsed.set(drivername=ASYNC_DRIVERS[backend]).render_as_string(hide_password=False)


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Turn on what SQLite leaves off: foreign keys, WAL, and waiting for a busy writer."""
    # aiosqlite opens connections in autocommit-less mode; let SQLAlchemy emit BEGIN itself,
    # so that write transactions can start with BEGIN IMMEDIATE (see begin_sqlite).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _begin_sqlite(connection: Any) -> None:
    """Start every SQLite transaction as a writer, so two writers wait instead of deadlocking."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    """Build the async engine of a database URL."""
    engine = create_async_engine(async_url(url), **kwargs)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _configure_sqlite)
        event.listen(engine.sync_engine, "begin", _begin_sqlite)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Return the session factory of an engine; objects stay readable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
