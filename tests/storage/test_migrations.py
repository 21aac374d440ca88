import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy import inspect
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from scim_server.storage.engine import create_engine
from scim_server.storage.migrate import current_revision
from scim_server.storage.migrate import head_revision
from scim_server.storage.migrate import is_up_to_date
from scim_server.storage.migrate import migrate


def run_on_connection(url: str, function: Any) -> Any:
    async def run() -> Any:
        engine = create_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(function)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def schema_of(connection: Connection) -> dict[str, set[str]]:
    """Map every table to the names of its indexes and unique constraints."""
    inspector = inspect(connection)
    return {
        table: {index["name"] or "" for index in inspector.get_indexes(table)}
        | {constraint["name"] or "" for constraint in inspector.get_unique_constraints(table)}
        for table in inspector.get_table_names()
    }


def pending_changes(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    changes: list[Any] = compare_metadata(context, SQLModel.metadata)
    return changes


def revision_of(url: str) -> str | None:
    async def read() -> str | None:
        engine = create_engine(url, poolclass=NullPool)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def up_to_date(url: str) -> bool:
    async def check() -> bool:
        engine = create_engine(url, poolclass=NullPool)
        try:
            return await is_up_to_date(engine)
        finally:
            await engine.dispose()

    return asyncio.run(check())


def test_migrate_creates_every_table_and_index(database_url: str) -> None:
    migrate(database_url)

    schema = run_on_connection(database_url, schema_of)
    assert set(schema) == set(SQLModel.metadata.tables) | {"alembic_version"}
    for name, table in SQLModel.metadata.tables.items():
        assert {index.name for index in table.indexes} <= schema[name], name
    assert "uq_scim_resource_user_name" in schema["scim_resource"]


def test_migrated_schema_matches_the_tables(database_url: str) -> None:
    """A change to tables.py without a revision (or the reverse) fails here."""
    migrate(database_url)

    assert run_on_connection(database_url, pending_changes) == []


def test_schema_comparison_notices_a_missing_index(database_url: str) -> None:
    """The comparison above can fail: a schema that lacks an index of tables.py differs."""
    migrate(database_url)

    def drop_index_and_compare(connection: Connection) -> list[Any]:
        connection.exec_driver_sql("DROP INDEX ix_scim_resource_email")
        return pending_changes(connection)

    changes = run_on_connection(database_url, drop_index_and_compare)

    assert [change[0] for change in changes] == ["add_index"]
    assert changes[0][1].name == "ix_scim_resource_email"


def test_migrated_database_is_at_the_head_revision(database_url: str) -> None:
    assert revision_of(database_url) is None
    assert not up_to_date(database_url)

    migrate(database_url)

    assert revision_of(database_url) == head_revision()
    assert up_to_date(database_url)


def test_migrate_twice_changes_nothing(database_url: str) -> None:
    migrate(database_url)
    migrate(database_url)

    assert revision_of(database_url) == head_revision()


def test_migrate_accepts_a_url_without_the_async_driver(database_url: str) -> None:
    url = make_url(database_url)
    plain = url.set(drivername=url.get_backend_name()).render_as_string(hide_password=False)

    migrate(plain)

    assert up_to_date(database_url)


def test_replicas_migrating_together_both_succeed(database_url: str) -> None:
    """Every container runs ``migrate`` before ``serve``; replicas start at the same time."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(migrate, [database_url, database_url]))

    # One created the schema; the other, serialised behind it, found it already there.
    assert sorted(results, key=str) == [head_revision(), None]
    assert up_to_date(database_url)


def test_migrated_sqlite_database_still_enforces_foreign_keys(tmp_path: Path) -> None:
    """Migrations turn SQLite's foreign keys off on their own connection only."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'fk.db'}"
    migrate(url)

    def foreign_keys_enabled(connection: Connection) -> int:
        value: int = connection.exec_driver_sql("PRAGMA foreign_keys").scalar_one()
        return value

    assert run_on_connection(url, foreign_keys_enabled) == 1
