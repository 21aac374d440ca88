"""The queue status: depth, due tasks and their age, failed tasks, links by state, per org or all."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.ext.asyncio import async_sessionmaker

from scim_server.storage.links import put_desired
from scim_server.storage.organizations import create_organization
from scim_server.storage.queue import bump
from scim_server.storage.queue import claim_due
from scim_server.storage.queue import reschedule
from scim_server.storage.tables import ScimResource
from scim_server.support.status import queue_status

pytestmark = pytest.mark.anyio

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

Sessions = async_sessionmaker[AsyncSession]


async def add_org(sessionmaker: Sessions, key: str) -> int:
    async with sessionmaker() as session:
        org = await create_organization(
            session, key=key, auth0_org=f"org_{key}", connection="Username-Password-Authentication"
        )
        await session.commit()
        assert org.id is not None
        return org.id


async def add_user(sessionmaker: Sessions, org_id: int, scim_id: str, *, state: str) -> None:
    """A SCIM user with its link in ``state``."""
    async with sessionmaker() as session:
        session.add(
            ScimResource(
                id=scim_id,
                org_id=org_id,
                resource_type="User",
                document={"userName": scim_id},
                search_document={},
                email_key=f"{scim_id}@example.test",
            )
        )
        link, _ = await put_desired(
            session, org_id=org_id, scim_id=scim_id, desired={"member": True}, now=NOW
        )
        link.state = state
        await session.commit()


async def bumped(sessionmaker: Sessions, org_id: int, *ids: str, now: datetime) -> None:
    async with sessionmaker() as session:
        await bump(session, org_id=org_id, scim_ids=ids, now=now)
        await session.commit()


async def fail_due_tasks(sessionmaker: Sessions, *, error: str, retry_at: datetime) -> None:
    """Claim every due task and record a failed reconcile, as the worker does."""
    async with sessionmaker() as session:
        for task in await claim_due(session, worker="w1", now=NOW, limit=100):
            await reschedule(session, task, due_at=retry_at, error=error)
        await session.commit()


@pytest.fixture
async def two_orgs(sessionmaker: Sessions) -> tuple[int, int]:
    """acme: a1 failed twice, a2 due since 10 minutes, a3 due in an hour; globex: g1 due now."""
    acme, globex = await add_org(sessionmaker, "acme"), await add_org(sessionmaker, "globex")
    for scim_id, state in [("a1", "error"), ("a2", "pending"), ("a3", "synced"), ("a4", "synced")]:
        await add_user(sessionmaker, acme, scim_id, state=state)
    await add_user(sessionmaker, globex, "g1", state="pending")
    await bumped(sessionmaker, acme, "a1", now=NOW - timedelta(hours=2))
    await fail_due_tasks(sessionmaker, error="Auth0 503", retry_at=NOW - timedelta(hours=1))
    await fail_due_tasks(sessionmaker, error="Auth0 429: slow down", retry_at=NOW + timedelta(1))
    await bumped(sessionmaker, acme, "a2", now=NOW - timedelta(minutes=10))
    await bumped(sessionmaker, acme, "a3", now=NOW + timedelta(hours=1))
    await bumped(sessionmaker, globex, "g1", now=NOW - timedelta(minutes=30))
    return acme, globex


async def test_status_of_one_org_counts_only_its_own_queue_and_links(
    sessionmaker: Sessions, two_orgs: tuple[int, int]
) -> None:
    acme, _ = two_orgs
    async with sessionmaker() as session:
        status = await queue_status(session, now=NOW, org_id=acme)

    assert (status.depth, status.due, status.in_error) == (3, 1, 1)
    assert status.oldest_due_at == NOW - timedelta(minutes=10)
    assert status.oldest_due_age == timedelta(minutes=10)
    assert status.links_by_state == {"error": 1, "pending": 1, "synced": 2}
    [error] = status.errors
    assert (error.org_key, error.scim_id, error.email) == ("acme", "a1", "a1@example.test")
    assert (error.attempts, error.last_error) == (2, "Auth0 429: slow down")
    assert error.due_at == NOW + timedelta(days=1)


async def test_status_of_every_org_adds_them_up(
    sessionmaker: Sessions, two_orgs: tuple[int, int]
) -> None:
    async with sessionmaker() as session:
        status = await queue_status(session, now=NOW)

    assert (status.depth, status.due, status.in_error) == (4, 2, 1)
    assert status.oldest_due_age == timedelta(minutes=30)
    assert status.links_by_state == {"error": 1, "pending": 2, "synced": 2}


async def test_other_org_sees_nothing_of_acme(
    sessionmaker: Sessions, two_orgs: tuple[int, int]
) -> None:
    _, globex = two_orgs
    async with sessionmaker() as session:
        status = await queue_status(session, now=NOW, org_id=globex)

    assert (status.depth, status.due, status.in_error, status.errors) == (1, 1, 0, [])
    assert status.links_by_state == {"pending": 1}


async def test_a_leased_task_is_queued_but_not_due(sessionmaker: Sessions) -> None:
    org = await add_org(sessionmaker, "acme")
    await bumped(sessionmaker, org, "u1", now=NOW - timedelta(minutes=5))
    async with sessionmaker() as session:
        await claim_due(session, worker="w1", now=NOW, lease=timedelta(minutes=1))
        await session.commit()

    async with sessionmaker() as session:
        status = await queue_status(session, now=NOW + timedelta(seconds=30), org_id=org)
        expired = await queue_status(session, now=NOW + timedelta(minutes=2), org_id=org)

    assert (status.depth, status.due, status.oldest_due_at, status.oldest_due_age) == (
        1,
        0,
        None,
        None,
    )
    assert (expired.due, expired.oldest_due_age) == (1, timedelta(minutes=7))


async def test_an_empty_queue(sessionmaker: Sessions) -> None:
    async with sessionmaker() as session:
        status = await queue_status(session, now=NOW)

    assert status.to_json() == {
        "checked_at": "2030-01-01T12:00:00Z",
        "depth": 0,
        "due": 0,
        "oldest_due_at": None,
        "oldest_due_age_seconds": None,
        "in_error": 0,
        "errors": [],
        "links_by_state": {},
    }


async def test_status_as_json(sessionmaker: Sessions, two_orgs: tuple[int, int]) -> None:
    acme, _ = two_orgs
    async with sessionmaker() as session:
        status = await queue_status(session, now=NOW, org_id=acme)

    assert status.to_json() == {
        "checked_at": "2030-01-01T12:00:00Z",
        "depth": 3,
        "due": 1,
        "oldest_due_at": "2030-01-01T11:50:00Z",
        "oldest_due_age_seconds": 600.0,
        "in_error": 1,
        "errors": [
            {
                "org": "acme",
                "scim_id": "a1",
                "email": "a1@example.test",
                "attempts": 2,
                "last_error": "Auth0 429: slow down",
                "due_at": "2030-01-02T12:00:00Z",
            }
        ],
        "links_by_state": {"error": 1, "pending": 1, "synced": 2},
    }
