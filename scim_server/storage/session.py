"""One database session for a short-lived command, such as a CLI command.

The server keeps one engine for its lifetime; a command that does one piece of work opens an
engine, a session and a transaction, commits when the work succeeds and disposes of the engine
either way. Database failures leave as :class:`StorageError`, so that callers above the storage
layer never need to know SQLAlchemy's exceptions.
"""

from collections.abc import AsyncIterator
from collections.abc import Iterator
from contextlib import asynccontextmanager
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from scim_server.storage.engine import create_engine
from scim_server.storage.engine import create_sessionmaker


class StorageError(Exception):
    """The database cannot be reached or is not in the expected shape (not migrated)."""


@contextmanager
def database_errors() -> Iterator[None]:
    """Raise what the database refuses as a :class:`StorageError` with a one-line message.

    :raises StorageError: When the database cannot be reached or refuses a statement.
    """
    try:
        yield
    except DBAPIError as error:
        detail = (str(error.orig).strip() or type(error.orig).__name__).splitlines()[0]
        raise StorageError(
            f"Database error: {detail} (is SCIM_DATABASE_URL right, and the database migrated?)"
        ) from error
    except OSError as error:
        raise StorageError(f"Cannot reach the database: {error}") from error


@asynccontextmanager
async def open_session(database_url: str) -> AsyncIterator[AsyncSession]:
    """Yield a session on a new engine; commit when the block succeeds, roll back otherwise.

    :raises StorageError: When the database cannot be used (see :func:`database_errors`).
    """
    engine = create_engine(database_url)
    try:
        with database_errors():
            async with create_sessionmaker(engine)() as session:
                yield session
                await session.commit()
    finally:
        await engine.dispose()
