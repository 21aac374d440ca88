"""The database a process keeps for its lifetime: one engine, a session per unit of work.

Layers above storage hold a :class:`Database` and pass :data:`Session` objects around without
importing SQLAlchemy themselves (the layer rule of DESIGN §2).
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from scim_server.storage.engine import create_engine
from scim_server.storage.engine import create_sessionmaker

Session = AsyncSession
"""A unit of work; the caller commits it."""


@dataclass(frozen=True)
class Database:
    """An engine and its session factory."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, url: str) -> "Database":
        """Prepare a database; no connection is made until the first session needs one."""
        engine = create_engine(url)
        return cls(engine=engine, sessions=create_sessionmaker(engine))

    def session(self) -> Session:
        """Open a session; use it as an async context manager and commit it."""
        return self.sessions()

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
