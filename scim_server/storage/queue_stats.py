"""Counting the sync queue and the identity links, for ``scim-server status`` and ``/metrics``.

Read-only aggregates over ``sync_task`` and ``identity_link``, for every organization or one.
"Due" means what :func:`scim_server.storage.queue.claim_due` would claim: ``due_at`` has passed
and no live lease holds the task. A task "in error" is one whose last reconcile failed
(:func:`scim_server.storage.queue.reschedule` recorded an error; a successful finish clears it).
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimResource
from scim_server.storage.tables import SyncTask


@dataclass(frozen=True)
class QueueCounts:
    """How many tasks wait, how many are due now, since when, and how many last failed."""

    depth: int
    due: int
    oldest_due_at: datetime | None
    in_error: int


@dataclass(frozen=True)
class FailedTask:
    """A queued task whose last reconcile failed, with who it is for and what went wrong."""

    org_key: str
    scim_id: str
    email: str | None
    attempts: int
    last_error: str | None
    due_at: datetime


def _in_org(query: Any, org_id: int | None, org_column: Any) -> Any:
    """Scope a query to one organization, or leave it across all of them."""
    return query if org_id is None else query.where(org_column == org_id)


async def count_tasks(session: AsyncSession, *, now: datetime, org_id: int | None) -> QueueCounts:
    """Count the queue in one query: depth, due now, the oldest due ``due_at``, failed ones."""
    is_due = (col(SyncTask.due_at) <= now) & or_(
        col(SyncTask.claimed_until).is_(None), col(SyncTask.claimed_until) <= now
    )
    query = select(
        func.count(),
        func.count().filter(is_due),
        func.min(col(SyncTask.due_at)).filter(is_due),
        func.count().filter(col(SyncTask.last_error).is_not(None)),
    ).select_from(SyncTask)
    depth, due, oldest, in_error = (
        await session.execute(_in_org(query, org_id, col(SyncTask.org_id)))
    ).one()
    return QueueCounts(depth=depth, due=due, oldest_due_at=oldest, in_error=in_error)


async def failed_tasks(
    session: AsyncSession, *, org_id: int | None, limit: int = 20
) -> list[FailedTask]:
    """Return up to ``limit`` failed tasks, the latest due first (the most retried sink last)."""
    query = (
        select(
            col(Organization.key),
            col(SyncTask.scim_id),
            col(ScimResource.email_key),
            col(SyncTask.attempts),
            col(SyncTask.last_error),
            col(SyncTask.due_at),
        )
        .join(Organization, col(Organization.id) == col(SyncTask.org_id))
        .outerjoin(
            ScimResource,
            (col(ScimResource.org_id) == col(SyncTask.org_id))
            & (col(ScimResource.id) == col(SyncTask.scim_id)),
        )
        .where(col(SyncTask.last_error).is_not(None))
        .order_by(col(SyncTask.due_at).desc(), col(SyncTask.pk).desc())
        .limit(limit)
    )
    rows = await session.execute(_in_org(query, org_id, col(SyncTask.org_id)))
    return [
        FailedTask(
            org_key=key,
            scim_id=scim_id,
            email=email,
            attempts=attempts,
            last_error=error,
            due_at=due_at,
        )
        for key, scim_id, email, attempts, error, due_at in rows.all()
    ]


async def count_links_by_state(session: AsyncSession, *, org_id: int | None) -> dict[str, int]:
    """Return how many identity links are in each state (``synced``, ``pending``, ...)."""
    query = select(col(IdentityLink.state), func.count()).group_by(col(IdentityLink.state))
    rows = await session.execute(_in_org(query, org_id, col(IdentityLink.org_id)))
    return dict(sorted((state, count) for state, count in rows.all()))
