"""The worker against the emulator (real SDK, in-process): call counts, faults, leases, multi-org.

Desired states are written the way the SCIM write path writes them (``put_desired`` + ``bump``),
so these tests exercise the worker alone; time is a fake clock, so back-offs cost nothing.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.provisioning.effects import deterministic_user_id
from scim_server.provisioning.worker import Worker
from scim_server.sandbox import Emulator
from scim_server.storage.database import Database
from scim_server.storage.engine import create_sessionmaker
from scim_server.storage.links import get_link
from scim_server.storage.queue import claim_due
from scim_server.storage.queue import get_task
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import Organization
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import api_calls
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on
from tests.helpers.auth0 import member_roles
from tests.helpers.auth0 import members
from tests.helpers.auth0 import org_id
from tests.helpers.auth0 import users_with_email
from tests.helpers.clock import FakeClock
from tests.helpers.workers import fake_clock_worker
from tests.helpers.workers import want

pytestmark = pytest.mark.anyio


@dataclass
class World:
    database: Database
    emulator: Emulator
    gateway: ManagementApiGateway
    clock: FakeClock
    org: int

    def worker(self, name: str = "w1") -> Worker:
        return fake_clock_worker(self.database, self.gateway, self.clock, name=name)

    @property
    def when(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)

    async def want(
        self, scim_id: str, email: str, *roles: str, member: bool = True, org: int | None = None
    ) -> None:
        await want(
            self.database,
            org_id=org or self.org,
            scim_id=scim_id,
            email=email,
            roles=roles,
            member=member,
            profile={"given_name": scim_id},
            now=self.when,
        )

    async def link(self, scim_id: str, org: int | None = None) -> IdentityLink:
        async with self.database.session() as session:
            return await get_link(session, org_id=org or self.org, scim_id=scim_id)

    async def add_org(self, key: str, auth0_org: str) -> int:
        async with self.database.session() as session:
            org = Organization(key=key, auth0_org=auth0_org, connection=DATABASE)
            session.add(org)
            await session.commit()
            assert org.id is not None
            return org.id


@pytest.fixture
async def world(engine: AsyncEngine) -> AsyncIterator[World]:
    clock = FakeClock()
    emulator = demo_emulator(clock=clock.time)
    gateway = gateway_on(emulator, clock=clock)
    database = Database(engine=engine, sessions=create_sessionmaker(engine))
    async with database.session() as session:
        org = Organization(key="acme", auth0_org=org_id(emulator), connection=DATABASE)
        session.add(org)
        await session.commit()
        assert org.id is not None
    yield World(database, emulator, gateway, clock, org.id)
    await gateway.aclose()


async def warm(world: World, worker: Worker) -> None:
    """Read the role list once, as a running process has (it is cached per process)."""
    await worker.reconciler.effects.directory.role_ids(["member"])
    world.emulator.calls.clear()


async def test_a_joiner_with_one_role_costs_three_calls(world: World) -> None:
    worker = world.worker()
    await warm(world, worker)
    await world.want("u1", "ann@acme.test", "member")

    assert await worker.run_until_idle() == 1

    link = await world.link("u1")
    assert (link.state, link.owned, link.link_method) == ("synced", True, "created")
    assert link.auth0_user_id in members(world.emulator)
    assert member_roles(world.emulator, link.auth0_user_id) == {"member"}
    assert api_calls(world.emulator) == [
        "users.create",
        "organizations.members.create",
        "organizations.members.roles.assign",
    ]


async def test_ten_joiners_share_one_add_member_call(world: World) -> None:
    worker = world.worker()
    worker.concurrency = 10
    await warm(world, worker)
    for n in range(10):
        await world.want(f"u{n}", f"j{n}@acme.test", "member")

    await worker.run_until_idle()

    assert len(members(world.emulator)) == 10
    calls = api_calls(world.emulator)
    assert calls.count("organizations.members.create") == 1
    assert len(calls) <= 3 * 10


async def test_a_role_change_costs_one_call_and_a_leaver_at_most_four(world: World) -> None:
    worker = world.worker()
    await warm(world, worker)
    await world.want("u1", "ann@acme.test", "member")
    await worker.run_until_idle()
    user = (await world.link("u1")).auth0_user_id
    assert user is not None

    world.emulator.calls.clear()
    await world.want("u1", "ann@acme.test", "member", "admin")
    await worker.run_until_idle()
    assert api_calls(world.emulator) == ["organizations.members.roles.assign"]
    assert member_roles(world.emulator, user) == {"member", "admin"}

    world.emulator.calls.clear()
    await world.want("u1", "ann@acme.test", member=False)
    await worker.run_until_idle()
    calls = api_calls(world.emulator)
    assert len(calls) <= 4, calls
    assert user not in members(world.emulator)
    assert world.emulator.tenant.users[user]["blocked"] is True
    assert (await world.link("u1")).state == "deprovisioned"

    world.emulator.calls.clear()
    await world.want("u1", "ann@acme.test", "member")
    await worker.run_until_idle()
    assert world.emulator.tenant.users[user]["blocked"] is False
    assert user in members(world.emulator)
    assert member_roles(world.emulator, user) == {"member"}


async def test_503s_and_429_storms_end_with_exactly_the_right_state(world: World) -> None:
    worker = world.worker()
    world.emulator.faults.fail("*", status=503, times=None, probability=0.3)
    world.emulator.faults.fail("organizations.members.*", status=429, times=6)
    for n in range(12):
        await world.want(f"u{n}", f"s{n}@acme.test", "member", "viewer")

    for _ in range(60):
        await worker.run_until_idle()
        world.clock.advance(400)
    world.emulator.faults.clear()
    await worker.run_until_idle()

    for n in range(12):
        link = await world.link(f"u{n}")
        assert link.state == "synced", (link.state, link.last_error)
        assert [u["user_id"] for u in users_with_email(world.emulator, f"s{n}@acme.test")] == [
            link.auth0_user_id
        ]
        assert member_roles(world.emulator, link.auth0_user_id) == {"member", "viewer"}
    assert len(members(world.emulator)) == 12


async def test_a_create_that_answered_500_after_succeeding_is_not_duplicated(
    world: World,
) -> None:
    worker = world.worker()
    world.emulator.faults.fail_after_success("users.create", status=500)
    await world.want("u1", "ann@acme.test", "member")

    await worker.run_until_idle()
    link = await world.link("u1")
    assert link.state == "pending" and link.last_error
    world.clock.advance(10)
    await worker.run_until_idle()

    link = await world.link("u1")
    assert (link.state, link.owned) == ("synced", True)
    assert len(users_with_email(world.emulator, "ann@acme.test")) == 1


async def test_a_task_of_a_worker_killed_mid_reconcile_is_finished_after_its_lease(
    world: World,
) -> None:
    await world.want("u1", "ann@acme.test", "member")
    async with world.database.session() as session:
        [claimed] = await claim_due(session, worker="dead", now=world.when)
        await session.commit()
    # The dead worker had created the user when it was killed, before recording it.
    key = deterministic_user_id(org_id(world.emulator), "u1")
    await world.gateway.create_user(
        connection=DATABASE, email="ann@acme.test", user_id=key, password="Secret-123!"
    )
    survivor = world.worker("w2")

    assert await survivor.run_until_idle() == 0  # the lease still holds
    world.clock.advance(61)
    assert await survivor.run_until_idle() == 1

    link = await world.link("u1")
    assert (link.state, link.owned) == ("synced", True)
    assert len(users_with_email(world.emulator, "ann@acme.test")) == 1
    assert member_roles(world.emulator, link.auth0_user_id or "") == {"member"}
    async with world.database.session() as session:
        assert await get_task(session, org_id=world.org, scim_id="u1") is None
    assert claimed.claimed_by == "dead"


async def test_a_consultant_of_another_organization_is_linked_and_keeps_access_on_leaving(
    world: World,
) -> None:
    globex = org_id(world.emulator, "globex")
    consultant = world.emulator.tenant.log_in(connection=DATABASE, email="cons@partner.test")
    world.emulator.tenant.add_member(globex, consultant["user_id"])
    profile_before = dict(consultant)
    worker = world.worker()

    await world.want("u1", "cons@partner.test", "viewer")
    await worker.run_until_idle()
    link = await world.link("u1")
    assert (link.auth0_user_id, link.owned, link.link_method) == (
        consultant["user_id"],
        False,
        "matched_email",
    )
    assert len(users_with_email(world.emulator, "cons@partner.test")) == 1
    assert world.emulator.tenant.users[consultant["user_id"]] == profile_before

    await world.want("u1", "cons@partner.test", member=False)
    await worker.run_until_idle()

    assert consultant["user_id"] not in members(world.emulator)
    assert consultant["user_id"] in members(world.emulator, "globex")
    assert not world.emulator.tenant.users[consultant["user_id"]].get("blocked")
    assert world.emulator.tenant.revocations == []


async def test_an_unknown_role_puts_the_user_in_error_and_keeps_the_task(world: World) -> None:
    worker = world.worker()
    await world.want("u1", "ann@acme.test", "ghost")

    await worker.run_until_idle()

    link = await world.link("u1")
    assert link.state == "error" and "ghost" in (link.last_error or "")
    async with world.database.session() as session:
        task = await get_task(session, org_id=world.org, scim_id="u1")
    assert task is not None and task.due_at > world.when + timedelta(minutes=10)
