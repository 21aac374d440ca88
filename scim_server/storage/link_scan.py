"""Reading every identity link of an organization, and claiming chosen users' tasks (reconcile).

``scim-server reconcile`` compares what Auth0 holds with every link of one organization, the
deleted users' too (a leaver still in Auth0 is ours, not a stranger), and then reconciles the
users it repaired at once: it claims their tasks by SCIM id, under the same lease rules as
:func:`scim_server.storage.queue.claim_due`, so a task a running worker holds is left to it.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import or_
from sqlmodel import select

from scim_server.storage.members import chunks
from scim_server.storage.queue import ClaimedTask
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import SyncTask


@dataclass(frozen=True)
class LinkSnapshot:
    """One user's link as read at one moment: enough to compare with Auth0, nothing to write."""

    scim_id: str
    auth0_user_id: str | None
    owned: bool
    link_method: str | None
    state: str
    desired: dict[str, Any]
    applied: dict[str, Any]


async def org_links(session: AsyncSession, *, org_id: int) -> list[LinkSnapshot]:
    """Return every identity link of an organization (tombstones' included), oldest first."""
    rows = await session.execute(
        select(IdentityLink).where(IdentityLink.org_id == org_id).order_by(col(IdentityLink.pk))
    )
    return [
        LinkSnapshot(
            scim_id=link.scim_id,
            auth0_user_id=link.auth0_user_id,
            owned=link.owned,
            link_method=link.link_method,
            state=link.state,
            desired=dict(link.desired),
            applied=dict(link.applied),
        )
        for link in rows.scalars()
    ]


async def claim_users(
    session: AsyncSession,
    *,
    org_id: int,
    scim_ids: Collection[str],
    worker: str,
    now: datetime,
    lease: timedelta = timedelta(seconds=60),
) -> list[ClaimedTask]:
    """Claim the due tasks of chosen users of an organization, for ``lease``.

    A task held by a live lease (a running worker) or not due yet is left out, as
    :func:`~scim_server.storage.queue.claim_due` would leave it; PostgreSQL skips rows another
    claimer has locked. The caller commits the claim before calling Auth0.
    """
    claimed: list[ClaimedTask] = []
    until = now + lease
    for chunk in chunks(sorted(set(scim_ids))):
        due = (
            select(SyncTask)
            .where(
                SyncTask.org_id == org_id,
                col(SyncTask.scim_id).in_(chunk),
                col(SyncTask.due_at) <= now,
                or_(col(SyncTask.claimed_until).is_(None), col(SyncTask.claimed_until) <= now),
            )
            .order_by(col(SyncTask.pk))
            .with_for_update(skip_locked=True)
        )
        for row in (await session.execute(due)).scalars().all():
            row.claimed_by = worker
            row.claimed_until = until
            claimed.append(
                ClaimedTask(
                    org_id=row.org_id,
                    scim_id=row.scim_id,
                    generation=row.generation,
                    attempts=row.attempts,
                    claimed_by=worker,
                    claimed_until=until,
                )
            )
    await session.flush()
    return claimed
