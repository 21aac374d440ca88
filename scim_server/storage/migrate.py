"""Schema migrations run from code: ``scim-server migrate`` and the readiness probe.

The revisions live in ``migrations/`` inside the package, so that they ship in the wheel.
An upgrade runs in one transaction, which also holds a lock so that replicas started
together (every container runs ``migrate`` before ``serve``) upgrade one after the other:
PostgreSQL takes an advisory lock, SQLite's ``BEGIN IMMEDIATE`` (see ``engine.py``) is one.
"""

import asyncio
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import NullPool

from scim_server.storage.engine import create_engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

MIGRATION_LOCK_ID = 0x5C1A_0001
"""The PostgreSQL advisory lock key that serialises concurrent upgrades."""


class ForeignKeyViolation(RuntimeError):
    """A SQLite migration left rows pointing at rows that no longer exist; it was rolled back."""


def alembic_config() -> Config:
    """Return the Alembic configuration of the shipped revisions, without reading any file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str | None:
    """Return the newest revision shipped with this version of the code."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def migrate(url: str) -> str | None:
    """Upgrade the database of a URL to the newest revision; a no-op when it is already there.

    :param url: a SQLAlchemy URL, ``sqlite://`` or ``postgresql://``, with or without its
        async driver.
    :return: The revision the database was at before, ``None`` for a new database (so that
        ``scim-server migrate`` can say whether it created, upgraded or left the schema).
    :raises ForeignKeyViolation: When a SQLite revision broke a foreign key.
    """
    return asyncio.run(_upgrade(url))


async def _upgrade(url: str) -> str | None:
    engine = create_engine(url, poolclass=NullPool)
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _disable_sqlite_foreign_keys)
    try:
        async with engine.begin() as connection:
            return await connection.run_sync(_upgrade_connection)
    finally:
        await engine.dispose()


def missing_sqlite_file(url: str) -> Path | None:
    """Return the file of a SQLite URL that does not exist yet; ``None`` for any other URL.

    Opening a SQLite file creates it, so a command that only reads would leave an empty
    ``scim-server.db`` behind wherever it was run; the CLI asks this first.

    >>> missing_sqlite_file("sqlite+aiosqlite:///no/such/dir/scim.db")
    PosixPath('no/such/dir/scim.db')
    >>> missing_sqlite_file("sqlite:///:memory:") is None
    True
    >>> missing_sqlite_file("postgresql://scim@db/scim") is None
    True
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _disable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    """Let batch migrations rebuild tables without cascading deletes into their children.

    SQLite's ALTER TABLE cannot do most changes, so Alembic's batch mode copies the table
    and drops the old one; with foreign keys on, that drop would delete every child row
    (``ON DELETE CASCADE``). The pragma is ignored inside a transaction, hence at connect,
    and the upgrade checks the keys itself before it commits.
    """
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=OFF")
    cursor.close()


def _upgrade_connection(connection: Connection) -> str | None:
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
    before = _read_revision(connection)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    if connection.dialect.name == "sqlite":
        violations = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if violations:
            raise ForeignKeyViolation(f"Foreign keys broken by the migration: {violations[:10]}")
    return before


async def current_revision(engine: AsyncEngine) -> str | None:
    """Return the revision the database is at, ``None`` for a database never migrated."""
    async with engine.connect() as connection:
        return await connection.run_sync(_read_revision)


def _read_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def is_up_to_date(engine: AsyncEngine) -> bool:
    """Tell whether the database has the schema this code expects (for ``/readyz``)."""
    return await current_revision(engine) == head_revision()
