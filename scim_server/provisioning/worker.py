"""The worker: claims due sync tasks and reconciles them, concurrently, forever (DESIGN §6).

It claims a batch of due tasks (a lease of ``lease`` seconds, committed before Auth0 is
called), runs up to ``concurrency`` reconciles at once (their add-member steps share calls
through the :class:`~scim_server.provisioning.batching.MemberBatcher`), commits every step Auth0
confirmed, then finishes or reschedules each task. With nothing due it sleeps until the next
task falls due or the SCIM write path wakes it (:meth:`Worker.wake`).

Failures never lose a task: Auth0 unavailable (429, 5xx, network) reschedules with backoff and
jitter, and Auth0's own ``retry_after`` as a floor; after ``error_after`` attempts in a row the
link shows ``error`` while retries continue. A refusal (4xx) shows ``error`` at once and
retries at the slow cadence. Anything else is a bug: logged, and retried slowly too. A worker
killed mid-reconcile leaves its lease to expire; the next claim plans from the last confirmed
step. It runs inside ``scim-server serve`` and alone as ``scim-server worker``; time, sleep and
randomness are injected so tests never wait.
"""

import asyncio
import logging
import random
import uuid
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from scim_server.auth0_gateway import Auth0Error
from scim_server.auth0_gateway import Auth0Unavailable
from scim_server.auth0_gateway import Clock
from scim_server.auth0_gateway import SystemClock
from scim_server.provisioning.backoff import RetryPolicy
from scim_server.provisioning.journal import Journal
from scim_server.provisioning.metrics import RetryReason
from scim_server.provisioning.metrics import WorkerMetrics
from scim_server.provisioning.planner import AppliedState
from scim_server.provisioning.reconciler import Confirmed
from scim_server.provisioning.reconciler import Identity
from scim_server.provisioning.reconciler import Reconciler
from scim_server.storage.database import Database
from scim_server.storage.events import purge_events
from scim_server.storage.queue import ClaimedTask
from scim_server.storage.queue import claim_due
from scim_server.storage.queue import finish
from scim_server.storage.queue import next_due_at
from scim_server.storage.queue import reschedule

logger = logging.getLogger(__name__)

#: The longest the worker sleeps without looking at the queue (a wake-up from another replica
#: cannot reach this process, so it polls at least this often).
MAX_IDLE = 5.0

PURGE_EVERY = timedelta(hours=1)
"""How often the worker deletes the mapping log's events older than the retention."""


class Worker:
    """Drains the sync queue of one database through one reconciler.

    :param concurrency: Reconciles in flight at once.
    :param lease: Seconds a claim holds a task; a crashed worker's tasks come back after it.
    :param name: This worker's name in claims; default a random one.
    :param log_retention_days: Days the mapping log keeps events (0: forever).
    :param metrics: Where retries are counted (``/metrics``); a new one by default.
    """

    def __init__(
        self,
        *,
        database: Database,
        reconciler: Reconciler,
        policy: RetryPolicy | None = None,
        clock: Clock | None = None,
        random_source: Callable[[], float] = random.random,
        concurrency: int = 8,
        lease: float = 60.0,
        name: str | None = None,
        log_retention_days: int = 0,
        metrics: WorkerMetrics | None = None,
    ) -> None:
        self.database = database
        self.reconciler = reconciler
        self.policy = policy or RetryPolicy()
        self.clock = clock or SystemClock()
        self.random = random_source
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease)
        self.name = name or f"worker-{uuid.uuid4().hex[:12]}"
        self.journal = Journal(database)
        self.metrics = metrics or WorkerMetrics()
        self.log_retention_days = log_retention_days
        self._purged_at: datetime | None = None
        self._wakeup = asyncio.Event()

    def now(self) -> datetime:
        """Return the clock's time as a timezone-aware moment."""
        return datetime.fromtimestamp(self.clock.time(), UTC)

    def wake(self) -> None:
        """Look at the queue now: a SCIM write (or a login) just made work due."""
        self._wakeup.set()

    async def purge_old_events(self) -> int:
        """Delete the mapping log's events older than the retention, at most once an hour.

        :return: How many were deleted (0 when not due, or when the log is kept forever).
        """
        now = self.now()
        if self.log_retention_days <= 0:
            return 0
        if self._purged_at is not None and now - self._purged_at < PURGE_EVERY:
            return 0
        self._purged_at = now
        async with self.database.session() as session:
            retention = timedelta(days=self.log_retention_days)
            purged = await purge_events(session, before=now - retention)
            await session.commit()
        if purged:
            logger.info(
                "purged %d mapping log events older than %d days", purged, self.log_retention_days
            )
        return purged

    async def run(self) -> None:
        """Reconcile due tasks until cancelled."""
        while True:
            self._wakeup.clear()
            try:
                await self.purge_old_events()
                worked = await self.run_once()
            except Exception:
                logger.exception("the worker's loop failed; retrying shortly")
                worked = 0
            if worked:
                continue
            await self._idle()

    async def _idle(self) -> None:
        async with self.database.session() as session:
            due = await next_due_at(session)
        wait = MAX_IDLE if due is None else (due - self.now()).total_seconds()
        wait = min(max(wait, 0.0), MAX_IDLE)
        if wait <= 0:
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(wait))
        waker = asyncio.ensure_future(self._wakeup.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def run_once(self) -> int:
        """Claim one batch of due tasks and reconcile them all; return how many were claimed."""
        async with self.database.session() as session:
            tasks = await claim_due(
                session,
                worker=self.name,
                now=self.now(),
                lease=self.lease,
                limit=self.concurrency * 4,
            )
            await session.commit()
        if not tasks:
            return 0
        limit = asyncio.Semaphore(self.concurrency)
        batcher = self.reconciler.effects.batcher

        async def one(task: ClaimedTask) -> None:
            async with limit, batcher.participant():
                await self.reconcile(task)

        await asyncio.gather(*(one(task) for task in tasks))
        return len(tasks)

    async def run_until_idle(self, *, rounds: int = 1000) -> int:
        """Reconcile until nothing is due now (tests; ``reconcile --now``); return tasks run."""
        total = 0
        for _ in range(rounds):
            done = await self.run_once()
            if not done:
                return total
            total += done
        return total

    async def reconcile(self, task: ClaimedTask) -> None:
        """Reconcile one claimed task and settle it; never raises for Auth0's failures."""
        job = await self.journal.load(task)
        if job is None:
            async with self.database.session() as session:
                await finish(session, task)
                await session.commit()
            return

        async def checkpoint(applied: AppliedState, identity: Identity, step: Confirmed) -> None:
            await self.journal.confirm(task, job, applied, identity, step, now=self.now())

        try:
            outcome = await self.reconciler.reconcile(job, checkpoint)
        except Auth0Unavailable as error:
            attempts = task.attempts + 1
            delay = self.policy.transient_delay(
                attempts, retry_after=error.retry_after, random=self.random
            )
            state = "error" if self.policy.is_error(attempts) else None
            await self._retry(task, delay, str(error), state=state, reason="unavailable")
        except Auth0Error as error:
            delay = self.policy.refused_delay(random=self.random)
            await self._retry(task, delay, str(error), state="error", reason="refused")
        except Exception as error:
            logger.exception("reconcile of %s failed", task.scim_id)
            delay = self.policy.refused_delay(random=self.random)
            await self._retry(
                task,
                delay,
                f"internal error: {type(error).__name__}",
                state="error",
                reason="internal",
            )
        else:
            async with self.database.session() as session:
                await self.journal.settle(session, task, outcome, now=self.now())
                if outcome.recheck:
                    due = self.now() + timedelta(seconds=self.policy.slow)
                    await reschedule(session, task, due_at=due, error=None)
                else:
                    await finish(session, task)
                await session.commit()

    async def _retry(
        self,
        task: ClaimedTask,
        delay: float,
        error: str,
        *,
        state: str | None,
        reason: RetryReason,
    ) -> None:
        self.metrics.count_retry(reason)
        due = self.now() + timedelta(seconds=delay)
        async with self.database.session() as session:
            await self.journal.fail(session, task, error, state=state, now=self.now())
            await reschedule(session, task, due_at=due, error=error)
            await session.commit()
