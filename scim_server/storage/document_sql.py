"""Reading ``search_document`` in SQL, on SQLite (JSON1) and on PostgreSQL (JSONB).

Filters and sorts are written once against :class:`DocumentSql`; only this module knows how
each dialect extracts a value, walks an array and orders strings. Strings compare by code
point as in Python: SQLite's BINARY collation compares UTF-8 bytes, which is the same
order, and PostgreSQL orders them ``COLLATE "C"`` (its default collation follows the locale).
Equality is left without a collation, so that it can use the indexes, which have the
database's default one; equality does not depend on a deterministic collation.
"""

from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean
from sqlalchemy import ColumnElement
from sqlalchemy import Numeric
from sqlalchemy import String
from sqlalchemy import TableValuedAlias
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import text

from scim_server.storage.documents import Kind

Key = str | int
"""One step of a path into a document: an object key, or an array index."""


class DocumentSql:
    """The SQL expressions reading a JSON document, for one dialect.

    Every value expression is SQL ``NULL`` when the document has no value there, which the
    callers turn into two-valued conditions (RFC 7644 filters have no unknown).
    """

    def __init__(self, dialect: str) -> None:
        if dialect not in ("sqlite", "postgresql"):
            raise ValueError(f"No SQL translation of filters for the {dialect!r} dialect")
        self.is_postgresql = dialect == "postgresql"

    def _sqlite_path(self, keys: tuple[Key, ...]) -> str:
        return "$" + "".join(f"[{key}]" if isinstance(key, int) else f'."{key}"' for key in keys)

    def value(self, document: Any, keys: tuple[Key, ...], kind: Kind) -> ColumnElement[Any]:
        """Return the value at a path, in a form that compares with :meth:`literal`."""
        if self.is_postgresql:
            extracted = func.jsonb_extract_path_text(document, *(str(key) for key in keys))
            if kind == Kind.number:
                return cast(extracted, Numeric)
            return extracted
        return func.json_extract(document, self._sqlite_path(keys))

    def has(self, document: Any, keys: tuple[Key, ...]) -> ColumnElement[bool]:
        """Return whether the document holds anything at a path (an object and a list too)."""
        if self.is_postgresql:
            return func.jsonb_extract_path(document, *(str(key) for key in keys)).is_not(None)
        return func.json_type(document, self._sqlite_path(keys)).is_not(None)

    def elements(self, document: Any, keys: tuple[Key, ...]) -> TableValuedAlias:
        """Return the values of the array at a path as rows with a ``value`` column.

        An object value is itself a document for :meth:`value`; a scalar one is read with
        :meth:`element`.
        """
        if self.is_postgresql:
            array = func.jsonb_extract_path(document, *(str(key) for key in keys))
            return func.jsonb_array_elements(array).table_valued("value")
        return func.json_each(document, self._sqlite_path(keys)).table_valued("value")

    def element(self, rows: TableValuedAlias, kind: Kind) -> ColumnElement[Any]:
        """Return a scalar array value of :meth:`elements`, as :meth:`value` would."""
        if self.is_postgresql:
            extracted = rows.c.value.op("#>>")(text("'{}'"))
            return cast(extracted, Numeric) if kind == Kind.number else extracted
        return rows.c.value

    def literal(self, value: Any, kind: Kind) -> ColumnElement[Any]:
        """Return a bound value in the form :meth:`value` extracts its kind."""
        if kind == Kind.boolean:
            # JSONB gives booleans back as the text 'true' and 'false', JSON1 as 1 and 0.
            if self.is_postgresql:
                return literal("true" if value else "false", String)
            return literal(value, Boolean)
        if kind == Kind.number:
            # Decimal keeps a float's shortest repr exact against the stored JSON number.
            return literal(Decimal(str(value)), Numeric) if self.is_postgresql else literal(value)
        return literal(value, String)

    def ordered(self, expression: ColumnElement[Any], kind: Kind) -> ColumnElement[Any]:
        """Return an expression that orders as Python orders the values of its kind."""
        if self.is_postgresql and kind in (Kind.string, Kind.datetime, Kind.binary):
            return expression.collate("C")
        return expression

    def contains(self, expression: ColumnElement[str], part: str) -> ColumnElement[bool]:
        """Return whether a string holds another, with no pattern characters (``%``, ``_``)."""
        position = func.strpos if self.is_postgresql else func.instr
        return position(expression, literal(part, String)) > 0

    def starts_with(self, expression: ColumnElement[str], prefix: str) -> ColumnElement[bool]:
        """Return whether a string starts with another, counting characters as Python does."""
        if self.is_postgresql:
            head = func.left(expression, len(prefix))
        else:
            head = func.substr(expression, 1, len(prefix))
        return head == literal(prefix, String)

    def ends_with(self, expression: ColumnElement[str], suffix: str) -> ColumnElement[bool]:
        """Return whether a string ends with another, counting characters as Python does."""
        if self.is_postgresql:
            tail = func.right(expression, len(suffix))
        else:
            tail = func.substr(expression, -len(suffix))
        return tail == literal(suffix, String)
