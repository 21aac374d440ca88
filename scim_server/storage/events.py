"""The mapping log: append-only ``MappingEvent`` rows, searchable by any identity key (DESIGN §8).

Nothing here updates or deletes an event. Details must carry no secret: callers pass
attribute diffs without ``password`` (the SCIM password is never stored anywhere).
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select

from scim_server.storage.tables import MappingEvent

SOURCES = frozenset({"scim", "worker", "hook", "reconcile", "cli"})
OUTCOMES = frozenset({"ok", "error", "skipped"})


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

    :param source: ``scim``, ``worker``, ``hook``, ``reconcile`` or ``cli``.
    :param kind: What happened, dotted, such as ``user.created`` or ``auth0.add_member``.
    :param summary: One line for people.
    :param details: JSON: ``reasons`` (rule citations), Auth0 calls and statuses, diffs.
    :raises ValueError: When the source or outcome is not one of the vocabulary (a bug).
    """
    if source not in SOURCES or outcome not in OUTCOMES:
        raise ValueError(f"Unknown event source {source!r} or outcome {outcome!r}")
    event = MappingEvent(
        at=at,
        org_id=org_id,
        request_id=request_id,
        source=source,
        actor=actor,
        kind=kind,
        outcome=outcome,
        scim_id=scim_id,
        external_id=external_id,
        user_name=user_name,
        email=email,
        auth0_user_id=auth0_user_id,
        summary=summary,
        details=dict(details or {}),
    )
    session.add(event)
    return event


async def list_events(
    session: AsyncSession,
    *,
    org_id: int,
    scim_id: str | None = None,
    email: str | None = None,
    auth0_user_id: str | None = None,
    limit: int = 100,
) -> list[MappingEvent]:
    """Return an organization's events, oldest first, narrowed to one identity when asked."""
    query = select(MappingEvent).where(MappingEvent.org_id == org_id)
    if scim_id is not None:
        query = query.where(MappingEvent.scim_id == scim_id)
    if email is not None:
        query = query.where(MappingEvent.email == email)
    if auth0_user_id is not None:
        query = query.where(MappingEvent.auth0_user_id == auth0_user_id)
    query = query.order_by(col(MappingEvent.at).desc(), col(MappingEvent.pk).desc()).limit(limit)
    return list(reversed((await session.execute(query)).scalars().all()))
