"""The mapping log: append-only ``MappingEvent`` rows, searchable by any identity key (DESIGN §8).

Nothing here updates an event; only the retention purge deletes, and only events older than
the retention. Details must carry no secret: callers pass attribute diffs without
``password`` (the SCIM password is never stored anywhere).

Emails and userNames are stored case-folded, as the users' own ``email_key`` and
``user_name_key`` are, so that a case-insensitive lookup is an equality the
``(org_id, email)`` and ``(org_id, user_name)`` indexes answer. A lookup by key is a union of
one index search per key column (:func:`search_events`), never a scan of the organization's
log: ``tests/support/test_mapping_log.py`` reads the query plans on both databases.

Nothing unstorable is ever written: the log also records refused writes, whose values may
hold what the databases refuse (NUL, on PostgreSQL) or cannot encode (a lone surrogate), so
:func:`append_event` replaces those characters in every string (:func:`storable`), and a
``scim_id`` longer than any id we issue (a path's id of a refused request) is left out: the
request's path in the details still says it. Identity keys are indexed, so they are cut to
:data:`~scim_server.storage.index_keys.MAX_KEY_LENGTH` characters.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.index_keys import log_key
from scim_server.storage.tables import MappingEvent
from scim_server.storage.tables import Organization

SOURCES = frozenset({"scim", "worker", "hook", "reconcile", "cli", "admin"})
OUTCOMES = frozenset({"ok", "error", "skipped"})
SCIM_ID_LENGTH = 36
"""The length of the ids we issue (UUIDs), and of the log's ``scim_id`` column."""

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def storable(value: Any) -> Any:
    r"""Return a JSON value whose strings, names included, every database stores and encodes.

    NUL and lone surrogates become U+FFFD, the Unicode replacement character.

    >>> storable({"replace title\ud800": ["a\x00b", 1]})
    {'replace title�': ['a�b', 1]}
    """
    if isinstance(value, str):
        return _UNSTORABLE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [storable(item) for item in value]
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    return value


def folded(value: str | None) -> str | None:
    """Return an email or userName the way the log stores and compares it.

    >>> folded("  JDoe@Acme.COM ")
    'jdoe@acme.com'
    >>> folded(None) is None
    True
    """
    return None if value is None else value.strip().casefold()


async def append_event(
    session: AsyncSession,
    *,
    org_id: int,
    source: str,
    kind: str,
    summary: str,
    at: datetime,
    outcome: str = "ok",
    request_id: str | None = None,
    actor: str | None = None,
    scim_id: str | None = None,
    external_id: str | None = None,
    user_name: str | None = None,
    email: str | None = None,
    auth0_user_id: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> MappingEvent:
    """Append one event to the log, in the caller's transaction (flushed with the next query).

    :param source: ``scim``, ``worker``, ``hook``, ``reconcile``, ``cli`` or ``admin`` (the admin API).
    :param kind: What happened, dotted, such as ``user.created`` or ``auth0.add_member``.
    :param summary: One line for people.
    :param user_name: Stored case-folded, as ``email`` is.
    :param details: JSON: ``reasons`` (rule citations), Auth0 calls and statuses, diffs.
    :param scim_id: Left out when longer than :data:`SCIM_ID_LENGTH` (no id of ours).
    :raises ValueError: When the source or outcome is not one of the vocabulary (a bug).
    """
    if source not in SOURCES or outcome not in OUTCOMES:
        raise ValueError(f"Unknown event source {source!r} or outcome {outcome!r}")
    event = MappingEvent(
        at=at,
        org_id=org_id,
        request_id=storable(request_id),
        source=source,
        actor=storable(actor),
        kind=kind,
        outcome=outcome,
        scim_id=storable(scim_id) if scim_id and len(scim_id) <= SCIM_ID_LENGTH else None,
        external_id=log_key(storable(external_id)),
        user_name=log_key(storable(folded(user_name))),
        email=log_key(storable(folded(email))),
        auth0_user_id=log_key(storable(auth0_user_id)),
        summary=storable(summary),
        details=storable(dict(details or {})),
    )
    session.add(event)
    return event


@dataclass(frozen=True)
class PersonKeys:
    """Every key one person's events may carry; emails and userNames as :func:`folded` gives."""

    scim_ids: frozenset[str] = frozenset()
    external_ids: frozenset[str] = frozenset()
    user_names: frozenset[str] = frozenset()
    emails: frozenset[str] = frozenset()
    auth0_user_ids: frozenset[str] = frozenset()
    request_ids: frozenset[str] = frozenset()


def events_of(org_id: int, keys: PersonKeys) -> Any:
    """Return the query of the primary keys of an organization's events carrying any of ``keys``.

    One arm per key column, each an index search on ``(org_id, column)``, joined by a union.
    """
    arms = [
        select(col(MappingEvent.pk)).where(
            col(MappingEvent.org_id) == org_id, col(column).in_(sorted(values))
        )
        for column, values in (
            (MappingEvent.scim_id, keys.scim_ids),
            (MappingEvent.external_id, keys.external_ids),
            (MappingEvent.user_name, keys.user_names),
            (MappingEvent.email, keys.emails),
            (MappingEvent.auth0_user_id, keys.auth0_user_ids),
            (MappingEvent.request_id, keys.request_ids),
        )
        if values
    ]
    return union(*arms)


def search_query(
    *,
    org_id: int,
    keys: PersonKeys | None = None,
    since: datetime | None = None,
    outcome: str | None = None,
    after_pk: int | None = None,
    limit: int = 200,
) -> Any:
    """Return the query :func:`search_events` runs (the tests read its plan on both databases).

    Without ``after_pk`` it reads newest first, so that the limit keeps the newest events.
    """
    if keys is None:
        query = select(MappingEvent).where(col(MappingEvent.org_id) == org_id)
    else:
        # Each arm is scoped to the organization already. Filtering the organization again
        # here would let SQLite walk the organization's whole (org_id, at) index in time order
        # instead of fetching the few events the arms found by primary key.
        query = select(MappingEvent).where(col(MappingEvent.pk).in_(events_of(org_id, keys)))
    if since is not None:
        query = query.where(col(MappingEvent.at) >= since)
    if outcome is not None:
        query = query.where(col(MappingEvent.outcome) == outcome)
    if after_pk is not None:
        return (
            query.where(col(MappingEvent.pk) > after_pk).order_by(col(MappingEvent.pk)).limit(limit)
        )
    return query.order_by(col(MappingEvent.at).desc(), col(MappingEvent.pk).desc()).limit(limit)


async def search_events(
    session: AsyncSession,
    *,
    org_id: int,
    keys: PersonKeys | None = None,
    since: datetime | None = None,
    outcome: str | None = None,
    after_pk: int | None = None,
    limit: int = 200,
) -> list[MappingEvent]:
    """Return an organization's events, oldest first, about one person when ``keys`` are given.

    Without ``after_pk``: the newest ``limit`` events that match. With it: the next ``limit``
    events appended after that one (``log --follow`` polls so), in the order appended.

    :param keys: The person's keys; an event carrying any of them is theirs.
    :param since: Only events at or after this moment.
    :param outcome: Only events of this outcome (``ok``, ``error``, ``skipped``).
    """
    query = search_query(
        org_id=org_id, keys=keys, since=since, outcome=outcome, after_pk=after_pk, limit=limit
    )
    events: list[MappingEvent] = list((await session.execute(query)).scalars().all())
    return events if after_pk is not None else events[::-1]


async def purge_events(session: AsyncSession, *, before: datetime) -> int:
    """Delete every organization's events older than ``before`` (the retention); return how many.

    One delete per organization, so that each is a range of the ``(org_id, at)`` index rather
    than a scan of the whole log. The caller commits. Only the age decides, so a purge never
    removes a recent event.
    """
    purged = 0
    for org_id in (await session.execute(select(col(Organization.id)))).scalars().all():
        result = await session.execute(
            delete(MappingEvent).where(
                col(MappingEvent.org_id) == org_id, col(MappingEvent.at) < before
            )
        )
        purged += int(getattr(result, "rowcount", 0) or 0)
    return purged
