"""Loaded rows with timezone-aware timestamps, whichever database they come from.

PostgreSQL keeps ``timestamptz`` and gives aware datetimes back; SQLite keeps UTC as text and
gives naive ones back (see ``tables.Timestamp``). Callers compare timestamps with an aware
``now``, and comparing naive with aware raises, so loaders re-attach UTC here.
"""

from datetime import UTC
from datetime import datetime
from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel

Row = TypeVar("Row", bound=SQLModel)


def as_utc(moment: datetime) -> datetime:
    """Return a datetime in UTC, reading a naive one as UTC.

    >>> as_utc(datetime(2026, 1, 2, 3, 4))
    datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.timezone.utc)
    """
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def attach_utc(row: Row) -> Row:
    """Make the loaded timestamps of a row aware, without marking the row as changed."""
    for attribute in inspect(type(row)).column_attrs:
        value = getattr(row, attribute.key)
        if isinstance(value, datetime) and value.tzinfo is None:
            set_committed_value(row, attribute.key, value.replace(tzinfo=UTC))
    return row
