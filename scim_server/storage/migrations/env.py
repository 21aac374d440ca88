"""Alembic's entry point: runs the revisions on the connection ``migrate()`` hands over.

``scim_server.storage.migrate`` passes an open connection in ``config.attributes`` so
that the upgrade shares its transaction and locks. The ``alembic`` command line (used by
developers to autogenerate a revision, see alembic.ini) passes a URL with ``-x url=...``
instead; then this module opens its own async engine.
"""

import asyncio

from alembic import context
from sqlalchemy import Connection
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from scim_server.storage import tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from scim_server.storage.engine import async_url
from scim_server.storage.engine import create_engine


def configure(connection: Connection) -> None:
    """Point Alembic at a connection; SQLite gets batch mode, its ALTER TABLE being so limited."""
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_on(connection: Connection) -> None:
    """Run the pending revisions on an open connection."""
    configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_on_url(url: str) -> None:
    """Run the pending revisions on the database of a URL (the developer's command line)."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(run_on)
    finally:
        await engine.dispose()


def command_line_url() -> str:
    """Return the URL given as ``-x url=...``, refusing to guess one."""
    url = context.get_x_argument(as_dictionary=True).get("url")
    if not url:
        raise SystemExit(
            "Give the database: alembic -c .../alembic.ini -x url=sqlite:///dev.db ..."
        )
    return async_url(url)


connection = context.config.attributes.get("connection")
if connection is not None:
    run_on(connection)
elif context.is_offline_mode():
    context.configure(
        url=command_line_url(),
        target_metadata=SQLModel.metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(run_on_url(command_line_url()))
