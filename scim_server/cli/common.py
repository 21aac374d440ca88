"""What every ``scim-server`` command shares: settings, running async work, errors, tables.

Mistakes an operator can fix (a bad key, an unknown organization, a database that is not
migrated) end with a one-line message and exit code 1; only a bug shows a traceback.
"""

import asyncio
import functools
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import Any
from typing import ParamSpec
from typing import TypeVar

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from scim_server.config import ConfigError
from scim_server.config import Settings
from scim_server.mapping.profile import MappingError
from scim_server.storage.engine import async_url
from scim_server.storage.migrate import ForeignKeyViolation
from scim_server.storage.migrate import missing_sqlite_file
from scim_server.storage.organizations import OrganizationError
from scim_server.storage.session import StorageError

LOCAL_URL = "http://127.0.0.1:8000"
"""Where ``serve`` listens by default; the base URL shown when ``SCIM_PUBLIC_URL`` is unset."""

OPERATOR_ERRORS = (OrganizationError, MappingError, ConfigError, StorageError, ForeignKeyViolation)
"""What an operator can correct: reported in one line, without a traceback."""

PIPED_WIDTH = 1000
"""The width tables get when stdout is not a terminal: wide enough that no cell is folded."""

Result = TypeVar("Result")
Parameters = ParamSpec("Parameters")


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn an operator error into a one-line click error (exit code 1)."""
    try:
        yield
    except OPERATOR_ERRORS as error:
        raise click.ClickException(str(error).strip().splitlines()[0]) from None


def run(work: Coroutine[Any, Any, Result]) -> Result:
    """Run one piece of async database work to completion, reporting operator errors."""
    with reported_errors():
        return asyncio.run(work)


def load_settings() -> Settings:
    """Read the settings from the environment, reporting the first invalid one."""
    try:
        settings = Settings()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise click.ClickException(f"Invalid configuration: {where}: {first['msg']}") from None
    try:
        async_url(settings.database_url)
    except ValueError as error:
        raise click.ClickException(f"Invalid configuration: SCIM_DATABASE_URL: {error}") from None
    return settings


def require_database(settings: Settings) -> None:
    """Refuse, in one line, to open a SQLite database that does not exist.

    SQLite would create an empty file (``scim-server.db`` in the current directory, by
    default) and the command would then fail on a missing table; only ``migrate`` creates.
    """
    missing = missing_sqlite_file(settings.database_url)
    if missing is not None:
        raise click.ClickException(
            f"No database at {missing}: set SCIM_DATABASE_URL to yours (`serve --sandbox` prints "
            "it), or create one with `scim-server migrate`"
        )


def needs_database(command: Callable[Parameters, Result]) -> Callable[Parameters, Result]:
    """Mark a command that works on an existing database: see :func:`require_database`."""

    @functools.wraps(command)
    def checked(*args: Parameters.args, **kwargs: Parameters.kwargs) -> Result:
        require_database(click.get_current_context().ensure_object(Settings))
        return command(*args, **kwargs)

    return checked


def scim_base_url(settings: Settings, org_key: str) -> str:
    """Return the SCIM base URL an IdP of an organization is configured with (DESIGN §3)."""
    return f"{(settings.public_url or LOCAL_URL).rstrip('/')}/scim/v2/{org_key}"


def show_time(moment: datetime | None, *, missing: str = "-") -> str:
    """Format a timestamp for people, in UTC to the minute.

    >>> show_time(datetime(2026, 5, 1, 9, 30, 15, tzinfo=UTC))
    '2026-05-01 09:30'
    >>> show_time(None, missing="never")
    'never'
    """
    if moment is None:
        return missing
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def print_table(table: Table) -> None:
    """Print a table, folding cells to the terminal's width but never when piped to a program."""
    console = Console()
    if not console.is_terminal:
        console.width = PIPED_WIDTH
    console.print(table)
