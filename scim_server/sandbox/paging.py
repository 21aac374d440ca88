"""Auth0's two pagination styles and its ``fields``/``include_fields`` projection (auth0.md §6.3, §9).

Offset lists answer ``{<key>, start, limit, total}`` with ``include_totals=true`` and a bare array
without it. Checkpoint lists answer ``{<key>, next?}`` whenever ``take`` or ``from`` is present, even
with ``include_totals=true``. Past the end both return an empty page: the SDK's offset iteration stops
only on an empty page, and its checkpoint iteration on a missing ``next``.
"""

import base64
import binascii
from collections.abc import Sequence
from typing import Any

from scim_server.sandbox import errors
from scim_server.sandbox.routing import Call

#: Offset pagination cannot reach past this many records (auth0.md §3.2, ``invalid_paging``).
OFFSET_RECORDS_LIMIT = 1000


def project(item: dict[str, Any], call: Call, *, hidden: tuple[str, ...] = ()) -> dict[str, Any]:
    """Apply ``fields`` and ``include_fields`` to one object; ``hidden`` fields need asking for."""
    fields = [f for f in (call.query.get("fields") or "").split(",") if f]
    if not fields:
        return {k: v for k, v in item.items() if k not in hidden}
    if call.flag("include_fields", default=True):
        return {k: v for k, v in item.items() if k in fields}
    return {k: v for k, v in item.items() if k not in fields and k not in hidden}


def offset_page(
    call: Call,
    key: str,
    items: Sequence[dict[str, Any]],
    *,
    with_total: bool = True,
    limited: bool = False,
) -> Any:
    """Return one offset page: the object form with ``include_totals=true``, else a bare array.

    :param with_total: Invitations leave ``total`` out (REC-go TestOrganizationManager_Invitations).
    :param limited: Refuse pages past the first 1000 records, as organization members do.
    """
    page = call.number("page", 0, low=0, high=10**6)
    per_page = call.number("per_page", 50, low=1, high=100)
    start = page * per_page
    if limited and start + per_page > OFFSET_RECORDS_LIMIT:
        raise errors.ManagementError(
            400, "Requesting page exceeds the allowed maximum of 1000 records.", "invalid_paging"
        )
    chunk = list(items[start : start + per_page])
    if not call.flag("include_totals"):
        return chunk
    body: dict[str, Any] = {key: chunk, "start": start, "limit": per_page}
    if with_total:
        body["total"] = len(items)
    return body


def is_checkpoint(call: Call) -> bool:
    """Tell whether the request asks for checkpoint pages (``take`` or ``from`` present)."""
    return "take" in call.query or "from" in call.query


def encode_cursor(sequence: int, key: str) -> str:
    """Return an opaque cursor; Auth0's is base64 of ``"<timestamp>UTC,<user_id>"``."""
    return base64.b64encode(f"{sequence:012d}UTC,{key}".encode()).decode()


def decode_cursor(cursor: str) -> int:
    """Return the position a cursor points after, or raise a 400 for a cursor we did not mint."""
    try:
        return int(base64.b64decode(cursor, validate=True).decode().split("UTC,", 1)[0])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise errors.ManagementError(
            400, "Query validation error: 'from' is not a valid checkpoint.", "invalid_query_string"
        ) from None


def checkpoint_page(
    call: Call, key: str, items: Sequence[tuple[int, str, dict[str, Any]]]
) -> dict[str, Any]:
    """Return one checkpoint page from ``(sequence, id, object)`` triples in sequence order.

    ``next`` accompanies every non-empty page, so the page after the last one is empty and has no
    ``next`` (REC-go TestOrganizationManager_MembersCheckpointPagination).
    """
    take = call.number("take", 50, low=1, high=100)
    after = decode_cursor(call.query["from"]) if call.query.get("from") else 0
    chunk = [entry for entry in items if entry[0] > after][:take]
    body: dict[str, Any] = {key: [obj for _, _, obj in chunk]}
    if chunk:
        sequence, ident, _ = chunk[-1]
        body["next"] = encode_cursor(sequence, ident)
    return body
