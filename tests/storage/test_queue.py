import asyncio
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from scim_server.storage.organizations import create_organization
from scim_server.storage.queue import ClaimedTask
from scim_server.storage.queue import bump
from scim_server.storage.queue import claim_due
from scim_server.storage.queue import finish
from scim_server.storage.queue import get_task
from scim_server.storage.queue import next_due_at
from scim_server.storage.queue import reschedule

pytestmark = pytest.mark.anyio

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=60)

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def org_id(sessionmaker: Sessions) -> int:
    async with sessionmaker() as session:
        org = await create_organization(
            session, key="acme", auth0_org="org_acme", connection="Username-Password-Authentication"
        )
        await session.commit()
        assert org.id is not None
        return org.id


async def bumped(sessionmaker: Sessions, org_id: int, *ids: str, now: datetime = NOW) -> None:
    async with sessionmaker() as session:
        await bump(session, org_id=org_id, scim_ids=ids, now=now)
        await session.commit()


async def claim(
    sessionmaker: Sessions, worker: str, *, now: datetime = NOW, limit: int = 10
) -> list[ClaimedTask]:
    async with sessionmaker() as session:
        tasks = await claim_due(session, worker=worker, now=now, lease=LEASE, limit=limit)
        await session.commit()
        return tasks


async def test_bursts_of_changes_coalesce_into_one_task(
    sessionmaker: Sessions, org_id: int
) -> None:
    for _ in range(10):
        await bumped(sessionmaker, org_id, "u1")

    async with sessionmaker() as session:
        task = await get_task(session, org_id=org_id, scim_id="u1")
    assert task is not None
    assert (task.generation, task.due_at, task.attempts) == (10, NOW, 0)
    claimed = await claim(sessionmaker, "w1")
    assert [(t.scim_id, t.generation) for t in claimed] == [("u1", 10)]


async def test_a_bump_makes_a_rescheduled_task_due_now(sessionmaker: Sessions, org_id: int) -> None:
    await bumped(sessionmaker, org_id, "u1")
    [task] = await claim(sessionmaker, "w1")
    async with sessionmaker() as session:
        await reschedule(session, task, due_at=NOW + timedelta(hours=1), error="503")
        await session.commit()
    assert await claim(sessionmaker, "w1", now=NOW + timedelta(seconds=1)) == []

    await bumped(sessionmaker, org_id, "u1", now=NOW + timedelta(seconds=2))
    assert [
        t.generation for t in await claim(sessionmaker, "w1", now=NOW + timedelta(seconds=2))
    ] == [2]


async def test_concurrent_claimers_never_get_the_same_task(
    sessionmaker: Sessions, org_id: int
) -> None:
    ids = [f"u{n:02}" for n in range(30)]
    await bumped(sessionmaker, org_id, *ids)

    async def drain(worker: str) -> list[str]:
        got: list[str] = []
        while tasks := await claim(sessionmaker, worker, limit=2):
            got.extend(task.scim_id for task in tasks)
        return got

    results = await asyncio.gather(*(drain(f"w{n}") for n in range(5)))
    claimed = [scim_id for result in results for scim_id in result]
    assert sorted(claimed) == ids  # every task once, none twice


async def test_an_open_claim_keeps_its_tasks_from_a_second_claimer(
    sessionmaker: Sessions, org_id: int
) -> None:
    """PostgreSQL skips the rows a claim has locked; SQLite makes the second writer wait."""
    await bumped(sessionmaker, org_id, "a", "b", "c", "d")
    async with sessionmaker() as first, sessionmaker() as second:
        mine = await claim_due(first, worker="w1", now=NOW, lease=LEASE, limit=2)

        async def theirs() -> list[ClaimedTask]:
            tasks = await claim_due(second, worker="w2", now=NOW, lease=LEASE, limit=10)
            await second.commit()
            return tasks

        if first.get_bind().dialect.name == "postgresql":
            other = await theirs()  # does not wait for the first claim: SKIP LOCKED
            await first.commit()
        else:
            pending = asyncio.ensure_future(theirs())
            await first.commit()
            other = await pending
    assert {t.scim_id for t in mine} == {"a", "b"}
    assert {t.scim_id for t in other} == {"c", "d"}


async def test_an_expired_lease_lets_another_worker_claim_the_task(
    sessionmaker: Sessions, org_id: int
) -> None:
    await bumped(sessionmaker, org_id, "u1")
    [dead] = await claim(sessionmaker, "killed")

    assert await claim(sessionmaker, "w2", now=NOW + LEASE - timedelta(seconds=1)) == []
    [again] = await claim(sessionmaker, "w2", now=NOW + LEASE)
    assert (again.scim_id, again.claimed_by) == ("u1", "w2")

    async with sessionmaker() as session:
        assert await finish(session, dead) is False  # the killed worker's claim is void
        await session.commit()
        assert await get_task(session, org_id=org_id, scim_id="u1") is not None


async def test_finish_deletes_the_task_when_its_generation_did_not_move(
    sessionmaker: Sessions, org_id: int
) -> None:
    await bumped(sessionmaker, org_id, "u1")
    [task] = await claim(sessionmaker, "w1")
    async with sessionmaker() as session:
        assert await finish(session, task) is True
        await session.commit()
        assert await get_task(session, org_id=org_id, scim_id="u1") is None


async def test_finish_keeps_a_task_changed_during_its_reconcile_due_at_once(
    sessionmaker: Sessions, org_id: int
) -> None:
    await bumped(sessionmaker, org_id, "u1")
    [task] = await claim(sessionmaker, "w1")
    await bumped(sessionmaker, org_id, "u1", now=NOW + timedelta(seconds=1))

    async with sessionmaker() as session:
        assert await finish(session, task) is False
        await session.commit()
    [again] = await claim(sessionmaker, "w1", now=NOW + timedelta(seconds=1))
    assert again.generation == 2


async def test_reschedule_counts_the_attempt_and_waits_until_due(
    sessionmaker: Sessions, org_id: int
) -> None:
    await bumped(sessionmaker, org_id, "u1")
    [task] = await claim(sessionmaker, "w1")
    later = NOW + timedelta(minutes=5)
    async with sessionmaker() as session:
        await reschedule(session, task, due_at=later, error="Auth0 answered 503")
        await session.commit()
        stored = await get_task(session, org_id=org_id, scim_id="u1")
        assert stored is not None
        assert (stored.attempts, stored.last_error, stored.due_at) == (
            1,
            "Auth0 answered 503",
            later,
        )
        assert stored.claimed_by is None
        assert await next_due_at(session) == later

    assert await claim(sessionmaker, "w1", now=later - timedelta(seconds=1)) == []
    [again] = await claim(sessionmaker, "w1", now=later)
    assert again.attempts == 1


async def test_next_due_at_counts_a_live_lease(sessionmaker: Sessions, org_id: int) -> None:
    async with sessionmaker() as session:
        assert await next_due_at(session) is None
    await bumped(sessionmaker, org_id, "u1")
    await claim(sessionmaker, "w1")
    async with sessionmaker() as session:
        assert await next_due_at(session) == NOW + LEASE
