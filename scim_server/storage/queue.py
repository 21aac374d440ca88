"""The durable sync queue: one ``SyncTask`` per user with work pending in Auth0 (DESIGN §6).

The SCIM write path bumps a user's task (:func:`bump`) in the transaction of the write; workers
:func:`claim_due` tasks, reconcile them, then :func:`finish` or :func:`reschedule` them.

Rules (``tests/storage/test_queue.py`` checks each, on SQLite and PostgreSQL):

- One row per user: a burst of changes bumps one row's ``generation`` (bursts coalesce).
- Two concurrent claimers never get the same task: PostgreSQL claims with
  ``FOR UPDATE SKIP LOCKED``; SQLite serialises writers (every transaction is
  ``BEGIN IMMEDIATE``, see ``engine.py``).
- A claim is a lease: once ``claimed_until`` passes, the task is due again, so a task whose
  worker died is never lost.
- :func:`finish` deletes a task only when its generation did not move since the claim; a
  change made meanwhile leaves it due at once.
- Nothing here commits: the caller does, and should commit a claim before calling Auth0.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar

from scim_server.storage.members import chunks
from scim_server.storage.tables import SyncTask


@dataclass(frozen=True)
class ClaimedTask:
    """A task a worker holds until ``claimed_until``: the user to reconcile, at a generation."""

    org_id: int
    scim_id: str
    generation: int
    attempts: int
    """How many reconciles of this task failed so far (for the back-off)."""
    claimed_by: str
    claimed_until: datetime


async def bump(
    session: AsyncSession, *, org_id: int, scim_ids: Collection[str], now: datetime
) -> None:
    """Record that users have new work: create their task, or raise its generation; due now.

    One atomic upsert per user, so concurrent writers each add one generation.
    """
    if not scim_ids:
        return
    dialect = session.get_bind().dialect.name
    insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
    for scim_id in sorted(set(scim_ids)):
        statement = insert(SyncTask).values(
            org_id=org_id, scim_id=scim_id, generation=1, due_at=now, attempts=0, created_at=now
        )
        statement = statement.on_conflict_do_update(
            index_elements=["org_id", "scim_id"],
            set_={"generation": col(SyncTask.generation) + 1, "due_at": now},
        )
        await session.execute(statement)


def _claimable(now: datetime) -> ColumnElement[bool]:
    """Tasks that are due and held by no live lease."""
    return and_(
        col(SyncTask.due_at) <= now,
        or_(col(SyncTask.claimed_until).is_(None), col(SyncTask.claimed_until) <= now),
    )


async def _claim(
    session: AsyncSession, due: SelectOfScalar[SyncTask], *, worker: str, until: datetime
) -> list[ClaimedTask]:
    """Lease the tasks a query selects (rows another claimer locked are skipped) to ``worker``."""
    rows = (await session.execute(due.with_for_update(skip_locked=True))).scalars().all()
    claimed = []
    for row in rows:
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


async def claim_due(
    session: AsyncSession,
    *,
    worker: str,
    now: datetime,
    lease: timedelta = timedelta(seconds=60),
    limit: int = 10,
) -> list[ClaimedTask]:
    """Claim up to ``limit`` due tasks, the oldest due first, for ``lease``.

    A task is due when ``due_at`` has passed and no live lease holds it.

    :param worker: A name unique to the claiming worker (``finish`` checks it).
    """
    due = (
        select(SyncTask)
        .where(_claimable(now))
        .order_by(col(SyncTask.due_at), col(SyncTask.pk))
        .limit(limit)
    )
    return await _claim(session, due, worker=worker, until=now + lease)


async def claim_users(
    session: AsyncSession,
    *,
    org_id: int,
    scim_ids: Collection[str],
    worker: str,
    now: datetime,
    lease: timedelta = timedelta(seconds=60),
) -> list[ClaimedTask]:
    """Claim the due tasks of chosen users of an organization, for ``lease`` (reconcile --repair).

    A task held by a live lease (a running worker) or not due yet is left out, as
    :func:`claim_due` would leave it. The caller commits the claim before calling Auth0.
    """
    claimed: list[ClaimedTask] = []
    for chunk in chunks(sorted(set(scim_ids))):
        due = (
            select(SyncTask)
            .where(SyncTask.org_id == org_id, col(SyncTask.scim_id).in_(chunk), _claimable(now))
            .order_by(col(SyncTask.pk))
        )
        claimed += await _claim(session, due, worker=worker, until=now + lease)
    return claimed


async def finish(session: AsyncSession, task: ClaimedTask) -> bool:
    """Delete a reconciled task, unless its generation moved since the claim.

    When it moved (a SCIM write came meanwhile), the claim is released and the task stays
    due. A worker whose lease was taken over by another changes nothing.

    :return: Whether the task was deleted.
    """
    deleted = await session.execute(
        delete(SyncTask).where(
            col(SyncTask.org_id) == task.org_id,
            col(SyncTask.scim_id) == task.scim_id,
            col(SyncTask.generation) == task.generation,
            col(SyncTask.claimed_by) == task.claimed_by,
        )
    )
    if getattr(deleted, "rowcount", 0):
        return True
    await session.execute(
        update(SyncTask)
        .where(
            col(SyncTask.org_id) == task.org_id,
            col(SyncTask.scim_id) == task.scim_id,
            col(SyncTask.claimed_by) == task.claimed_by,
        )
        .values(claimed_by=None, claimed_until=None, attempts=0, last_error=None)
    )
    return False


async def reschedule(
    session: AsyncSession, task: ClaimedTask, *, due_at: datetime, error: str | None
) -> None:
    """Release a task whose reconcile failed, due again at ``due_at``; ``attempts`` grows by one.

    When the generation moved meanwhile, the task stays due as the new change made it
    (a new desired state deserves a prompt try). A worker whose lease was taken over by
    another changes nothing.
    """
    moved = col(SyncTask.generation) != task.generation
    await session.execute(
        update(SyncTask)
        .where(
            col(SyncTask.org_id) == task.org_id,
            col(SyncTask.scim_id) == task.scim_id,
            col(SyncTask.claimed_by) == task.claimed_by,
        )
        .values(
            claimed_by=None,
            claimed_until=None,
            attempts=col(SyncTask.attempts) + 1,
            last_error=error,
            due_at=case((moved, col(SyncTask.due_at)), else_=due_at),
        )
    )


async def next_due_at(session: AsyncSession) -> datetime | None:
    """Return when the next task falls due (a lease counts), so a worker can sleep until then."""
    lease = col(SyncTask.claimed_until)
    due = case((lease > col(SyncTask.due_at), lease), else_=col(SyncTask.due_at))
    moment: datetime | None = (await session.execute(select(func.min(due)))).scalar_one()
    return moment


async def get_task(session: AsyncSession, *, org_id: int, scim_id: str) -> SyncTask | None:
    """Return a user's pending task, if it has one (for tests and inspection)."""
    found = await session.execute(
        select(SyncTask).where(SyncTask.org_id == org_id, SyncTask.scim_id == scim_id)
    )
    return found.scalar_one_or_none()
