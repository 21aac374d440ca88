r"""Refuse the strings and numbers no database can store, before they reach one.

A JSON string may hold any UTF-16 code unit (RFC 8259 §8.2), and a SCIM filter literal is a
JSON string (RFC 7644 §3.4.2.2), but two kinds of character cannot be stored:

- NUL (U+0000): PostgreSQL refuses it in ``text`` and in ``jsonb``, while SQLite keeps it, so
  the same request would answer differently on each database;
- a lone surrogate (U+D800 to U+DFFF alone): no Unicode scalar value, so no UTF-8 encodes it.

Such a value is the client's error: 400 ``invalidValue``, or ``invalidFilter`` in a search
filter, the same answer on both databases (RFC 7644 §3.12). They can arrive as ``\u`` escapes
in a JSON body, and, escaped twice, inside the quoted literals of a PATCH path or of a filter,
so :func:`check_body` reads every ``path`` of a body too, and :func:`check_filter` every
literal of a search. A body with no ``\u`` escape holds neither (raw control characters and
invalid UTF-8 are not JSON), so the common body costs one byte search.

Numbers: the databases page with 64-bit integers, so :data:`MAX_START_INDEX` bounds the
``startIndex`` of a search (:func:`clamp_start_index`).
"""

import json
from collections.abc import Iterator
from typing import Any

from scim2_models import InvalidFilterException
from scim2_models import InvalidValueException
from scim2_models import Path
from scim2_models import SCIMException
from scim2_models import SearchRequest
from scim2_models.path import Comparison
from scim2_models.path import FilterNode
from scim2_models.path import LogicalExpr
from scim2_models.path import Not
from scim2_models.path import ValuePath

MAX_START_INDEX = 2**62
"""The largest ``startIndex`` a search keeps: its SQL offset fits a signed 64-bit integer on
SQLite and PostgreSQL; a larger one asks for a page past any result set, as this one does."""

UNSTORABLE = "holds a NUL character or a lone surrogate, which cannot be stored"


def is_storable(text: str) -> bool:
    r"""Tell whether a string can be stored on every database: no NUL, no lone surrogate.

    >>> is_storable("Ada Lovelace"), is_storable("Zoë 😀")
    (True, True)
    >>> is_storable("a\x00b"), is_storable("a\ud800b")
    (False, False)
    """
    if "\x00" in text:
        return False
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_text(text: str, *, what: str) -> None:
    """Refuse a string that cannot be stored.

    :param what: What the string is, for the error's detail ("the resource id").
    :raises scim2_models.InvalidValueException: When it holds NUL or a lone surrogate.
    """
    if not is_storable(text):
        raise InvalidValueException(detail=f"{what} {UNSTORABLE}")


def check_body(body: bytes) -> None:
    r"""Refuse a JSON body that holds a string no database can store, wherever it is.

    Names and values are read, and the filter literals of every ``path``; a search's
    ``filter`` is left to :func:`check_filter`. A body that is no JSON is left to the parser,
    which answers ``invalidSyntax``.

    >>> check_body(b'{"userName": "bjensen"}')
    >>> check_body(b'{"userName": "b\\u0000"}')
    Traceback (most recent call last):
    ...
    scim2_models.exceptions.InvalidValueException: The value of userName holds a NUL character or a lone surrogate, which cannot be stored
    >>> check_body(b'{"Operations": [{"op": "remove", "path": "emails[value eq \\"\\\\ud800\\"]"}]}')
    Traceback (most recent call last):
    ...
    scim2_models.exceptions.InvalidValueException: A literal of the path holds a NUL character or a lone surrogate, which cannot be stored
    """
    if b"\\u" not in body:
        return
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return
    where = first_unstorable(document)
    if where is not None:
        raise InvalidValueException(detail=f"{where} {UNSTORABLE}")


def first_unstorable(document: Any) -> str | None:
    r"""Say where a JSON value holds its first string no database stores, if it holds one.

    >>> first_unstorable({"rules": [{"id": "a\x00"}]}), first_unstorable({"id": "a"})
    ('The value of id', None)
    """
    return next(
        (where for where, text in _strings(document, "The body") if not is_storable(text)), None
    )


def _strings(value: Any, where: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """Yield every string of a JSON value (names included) and, for a ``path``, its literals.

    Stops at nesting no parser accepts (the recursion limit), which the parser then refuses.
    """
    if depth > 900:
        return
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, where, depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield "An attribute name", key
            name = key.casefold()
            if name == "filter" and isinstance(item, str):
                continue  # a search's filter: check_filter reads it, to answer invalidFilter
            yield from _strings(item, f"The value of {key}", depth + 1)
            if name == "path" and isinstance(item, str) and "\\" in item:
                yield from (("A literal of the path", text) for text in _path_literals(item))


def _path_literals(text: str) -> Iterator[str]:
    """Yield the string literals of a PATCH path; nothing when it is no path (refused later)."""
    try:
        node = Path(text).ast
    except (SCIMException, ValueError):
        return
    if isinstance(node, FilterNode):
        yield from _literals(node)


def _literals(node: FilterNode) -> Iterator[str]:
    """Yield the string literals of a filter, in every branch."""
    if isinstance(node, Comparison):
        if isinstance(node.value, str):
            yield node.value
    elif isinstance(node, LogicalExpr):
        for term in node.terms:
            yield from _literals(term)
    elif isinstance(node, Not):
        yield from _literals(node.expr)
    elif isinstance(node, ValuePath):
        yield from _literals(node.val_filter)


def check_filter(search_request: SearchRequest[Any]) -> None:
    """Refuse a search whose filter compares with a string no database can store.

    :raises scim2_models.InvalidFilterException: When a literal holds NUL or a lone surrogate.
    """
    if search_request.filter is None:
        return
    for literal in _literals(search_request.filter.ast):
        if not is_storable(literal):
            raise InvalidFilterException(detail=f"A literal of the filter {UNSTORABLE}")


def clamp_start_index(search_request: SearchRequest[Any]) -> None:
    """Bound a search's ``startIndex`` by :data:`MAX_START_INDEX` (RFC 7644 §3.4.2.4).

    >>> request = SearchRequest(start_index=2**64)
    >>> clamp_start_index(request)
    >>> request.start_index == MAX_START_INDEX
    True
    """
    if search_request.start_index is not None and search_request.start_index > MAX_START_INDEX:
        search_request.start_index = MAX_START_INDEX
