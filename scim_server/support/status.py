"""The state of the sync queue at a glance: what waits, since when, and what keeps failing.

``scim-server status``, the admin API and ``/metrics`` all read it, for one organization or for
every one, so that "is the worker keeping up?" has one answer everywhere.
"""

from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from scim_server.storage.database import Session
from scim_server.storage.queue_stats import FailedTask
from scim_server.storage.queue_stats import count_links_by_state
from scim_server.storage.queue_stats import count_tasks
from scim_server.storage.queue_stats import failed_tasks

ERRORS_SHOWN = 20
"""How many failed tasks a status lists: enough to see a pattern, short enough to read."""


def json_time(moment: datetime | None) -> str | None:
    """Write a moment as ISO 8601 in UTC with a ``Z``, as every support JSON does.

    >>> json_time(datetime(2026, 5, 1, 9, 30, 15, tzinfo=UTC))
    '2026-05-01T09:30:15Z'
    >>> json_time(None) is None
    True
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def failed_task_json(task: FailedTask) -> dict[str, Any]:
    """Return a failed task as JSON values: whose it is, how often it failed, why, next try."""
    return {
        "org": task.org_key,
        "scim_id": task.scim_id,
        "email": task.email,
        "attempts": task.attempts,
        "last_error": task.last_error,
        "due_at": json_time(task.due_at),
    }


@dataclass(frozen=True)
class QueueStatus:
    """The sync queue and identity links of one organization (or all), at ``checked_at``.

    :param depth: Tasks queued, due or not (a task is one user with work pending in Auth0).
    :param due: Tasks a worker could claim now; a growing number means the worker lags.
    :param oldest_due_at: When the longest-waiting due task fell due.
    :param in_error: Tasks whose last reconcile failed (retried with back-off).
    :param errors: The latest of those, at most :data:`ERRORS_SHOWN`.
    :param links_by_state: Identity links per state (``synced``, ``pending``, ``error``, ...).
    """

    checked_at: datetime
    depth: int
    due: int
    oldest_due_at: datetime | None
    in_error: int
    errors: list[FailedTask]
    links_by_state: dict[str, int]

    @property
    def oldest_due_age(self) -> timedelta | None:
        """How long the oldest due task has waited; ``None`` when nothing is due."""
        if self.oldest_due_at is None:
            return None
        return max(self.checked_at - self.oldest_due_at, timedelta(0))

    def to_json(self) -> dict[str, Any]:
        """Return the status as JSON values, the age in seconds."""
        age = self.oldest_due_age
        return {
            "checked_at": json_time(self.checked_at),
            "depth": self.depth,
            "due": self.due,
            "oldest_due_at": json_time(self.oldest_due_at),
            "oldest_due_age_seconds": None if age is None else age.total_seconds(),
            "in_error": self.in_error,
            "errors": [failed_task_json(task) for task in self.errors],
            "links_by_state": dict(self.links_by_state),
        }


async def queue_status(
    session: Session, *, now: datetime, org_id: int | None = None
) -> QueueStatus:
    """Read the queue and links of one organization, or of every one when ``org_id`` is None."""
    counts = await count_tasks(session, now=now, org_id=org_id)
    return QueueStatus(
        checked_at=now,
        depth=counts.depth,
        due=counts.due,
        oldest_due_at=counts.oldest_due_at,
        in_error=counts.in_error,
        errors=await failed_tasks(session, org_id=org_id, limit=ERRORS_SHOWN),
        links_by_state=await count_links_by_state(session, org_id=org_id),
    )
