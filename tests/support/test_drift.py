"""Reconcile against the emulator (real SDK, in-process): drift found, ours repaired, the rest left.

Users are provisioned by the real worker first; then the tests edit the emulated tenant "by
hand", as someone in the Auth0 dashboard would, and check what reconcile reports and repairs,
on the emulator's own state.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.provisioning.worker import Worker
from scim_server.sandbox import Emulator
from scim_server.storage.database import Database
from scim_server.storage.engine import create_sessionmaker
from scim_server.storage.events import search_events
from scim_server.storage.links import get_link
from scim_server.storage.queue import get_task
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tables import Organization
from scim_server.support.drift import DELETED_USER
from scim_server.support.drift import DUPLICATE_EMAIL
from scim_server.support.drift import FOREIGN_ROLE
from scim_server.support.drift import LOST_MEMBER
from scim_server.support.drift import ROLE_MISSING
from scim_server.support.drift import ROLE_NOT_REMOVED
from scim_server.support.drift import UNMANAGED_MEMBER
from scim_server.support.drift import DriftReport
from scim_server.support.drift_check import check_drift
from scim_server.support.drift_check import record_drift
from scim_server.support.drift_check import run_repairs
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import api_calls
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on
from tests.helpers.auth0 import member_roles
from tests.helpers.auth0 import members
from tests.helpers.auth0 import org_id
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
    org: Organization
    worker: Worker

    @property
    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.now, UTC)

    async def want(
        self, scim_id: str, email: str, *roles: str, member: bool = True, org: int | None = None
    ) -> None:
        target = org or self.org.id
        assert target is not None
        await want(
            self.database,
            org_id=target,
            scim_id=scim_id,
            email=email,
            roles=roles,
            member=member,
            now=self.now,
        )

    async def provision(self, scim_id: str, email: str, *roles: str) -> str:
        await self.want(scim_id, email, *roles)
        await self.worker.run_until_idle()
        user_id = (await self.link(scim_id)).auth0_user_id
        assert user_id is not None
        return user_id

    async def link(self, scim_id: str) -> IdentityLink:
        assert self.org.id is not None
        async with self.database.session() as session:
            return await get_link(session, org_id=self.org.id, scim_id=scim_id)

    async def check(self) -> DriftReport:
        return await check_drift(self.database, self.gateway, organization=self.org)

    async def reconcile(self, *, repair: bool) -> DriftReport:
        report = await record_drift(
            self.database, await self.check(), organization=self.org, now=self.now, repair=repair
        )
        if repair:
            report = await run_repairs(self.worker, report, organization=self.org, now=self.now)
        return report

    def by_hand_user(self, email: str, *, connection: str = DATABASE) -> str:
        """Create an Auth0 user outside scim-server and make it a member of acme."""
        tenant = self.emulator.tenant
        found = tenant.connection_named(connection)
        assert found is not None
        user_id = f"auth0|hand{len(tenant.users)}"
        tenant.add_user(connection=found, user_id=user_id, attributes={"email": email})
        tenant.add_member(org_id(self.emulator), user_id)
        return user_id

    def role_id(self, name: str) -> str:
        [found] = [r["id"] for r in self.emulator.tenant.roles.values() if r["name"] == name]
        return str(found)

    def remove_role_by_hand(self, user_id: str, name: str) -> None:
        key = (org_id(self.emulator), user_id)
        roles = self.emulator.tenant.member_roles[key]
        roles.remove(self.role_id(name))

    def add_role_by_hand(self, user_id: str, name: str) -> None:
        self.emulator.tenant.assign_member_roles(
            org_id(self.emulator), user_id, [self.role_id(name)]
        )


def kinds(report: DriftReport) -> set[tuple[str, str | None, tuple[str, ...]]]:
    return {(f.kind, f.email, f.roles) for f in report.findings}


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
    worker = fake_clock_worker(database, gateway, clock)
    yield World(database, emulator, gateway, clock, org, worker)
    await gateway.aclose()


async def test_no_drift_after_provisioning(world: World) -> None:
    await world.provision("u1", "ann@acme.test", "member", "admin")

    report = await world.check()

    assert report.findings == ()
    assert (report.members, report.links) == (1, 1)


async def test_a_hand_added_member_and_a_removed_role_repair_only_ours(world: World) -> None:
    """The must-show: --repair restores our role; the hand-made member is never touched."""
    ann = await world.provision("u1", "ann@acme.test", "member", "admin")
    bob = await world.provision("u2", "bob@acme.test", "member")
    eve = world.by_hand_user("eve@acme.test")
    world.add_role_by_hand(eve, "viewer")
    world.remove_role_by_hand(ann, "admin")
    world.add_role_by_hand(bob, "viewer")
    world.emulator.calls.clear()

    dry = await world.reconcile(repair=False)

    assert kinds(dry) == {
        (UNMANAGED_MEMBER, "eve@acme.test", ("viewer",)),
        (ROLE_MISSING, "ann@acme.test", ("admin",)),
        (FOREIGN_ROLE, "bob@acme.test", ("viewer",)),
    }
    assert dry.repaired == ()
    assert member_roles(world.emulator, ann) == {"member"}
    assert not [c for c in api_calls(world.emulator) if not c.endswith((".list", ".get"))]

    repaired = await world.reconcile(repair=True)

    assert repaired.repaired == ("u1",)
    assert repaired.reconciled == 1
    assert member_roles(world.emulator, ann) == {"member", "admin"}
    assert eve in members(world.emulator)
    assert member_roles(world.emulator, eve) == {"viewer"}
    assert member_roles(world.emulator, bob) == {"member", "viewer"}
    writes = [c for c in api_calls(world.emulator) if not c.endswith((".list", ".get"))]
    assert writes == ["organizations.members.roles.assign"]
    after = await world.check()
    assert {f.kind for f in after.findings} == {UNMANAGED_MEMBER, FOREIGN_ROLE}
    assert (await world.link("u1")).state == "synced"


async def test_every_finding_and_repair_is_in_the_mapping_log(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member", "admin")
    world.by_hand_user("eve@acme.test")
    world.remove_role_by_hand(ann, "admin")

    await world.reconcile(repair=True)

    assert world.org.id is not None
    async with world.database.session() as session:
        events = await search_events(session, org_id=world.org.id, limit=1000)
    logged = [(e.source, e.kind, e.outcome, e.email) for e in events if e.source == "reconcile"]
    assert ("reconcile", "reconcile.role_missing", "error", "ann@acme.test") in logged
    assert ("reconcile", "reconcile.unmanaged_member", "skipped", "eve@acme.test") in logged
    assert ("reconcile", "reconcile.repair", "ok", "ann@acme.test") in logged
    assert logged[-1][1] == "reconcile.checked"
    repair = next(e for e in events if e.kind == "reconcile.repair")
    assert repair.summary == "repair queued: assign admin again"
    assert any(e.kind == "auth0.roles_assigned" and e.scim_id == "u1" for e in events)


async def test_a_lost_member_is_added_back_with_its_roles(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member", "admin")
    world.emulator.tenant.remove_member(org_id(world.emulator), ann)

    dry = await world.reconcile(repair=False)
    assert kinds(dry) == {(LOST_MEMBER, "ann@acme.test", ())}

    await world.reconcile(repair=True)

    assert ann in members(world.emulator)
    assert member_roles(world.emulator, ann) == {"member", "admin"}
    assert (await world.check()).findings == ()


async def test_a_role_no_longer_wanted_but_still_there_is_removed(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member", "admin")
    await world.want("u1", "ann@acme.test", "member")

    report = await world.reconcile(repair=True)

    assert kinds(report) == {(ROLE_NOT_REMOVED, "ann@acme.test", ("admin",))}
    assert member_roles(world.emulator, ann) == {"member"}


async def test_a_deleted_auth0_user_we_created_is_created_again(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member")
    world.emulator.tenant.remove_user(ann)

    report = await world.reconcile(repair=True)

    assert kinds(report) == {(DELETED_USER, "ann@acme.test", ())}
    [finding] = report.findings
    assert finding.repairable
    link = await world.link("u1")
    assert link.state == "synced"
    assert link.auth0_user_id in members(world.emulator)
    assert world.emulator.tenant.users[link.auth0_user_id]["email"] == "ann@acme.test"


async def test_a_deleted_auth0_user_we_only_linked_is_reported_not_recreated(world: World) -> None:
    existing = world.by_hand_user("ann@acme.test")
    world.emulator.tenant.remove_member(org_id(world.emulator), existing)
    linked = await world.provision("u1", "ann@acme.test", "member")
    assert linked == existing
    assert (await world.link("u1")).owned is False
    world.emulator.tenant.remove_user(existing)

    report = await world.reconcile(repair=True)

    [finding] = report.findings
    assert (finding.kind, finding.ours, finding.repairable) == (DELETED_USER, True, False)
    assert report.repaired == ()
    assert not world.emulator.tenant.users
    assert (await world.link("u1")).auth0_user_id == existing


async def test_several_auth0_users_for_one_email(world: World) -> None:
    await world.provision("u1", "ann@acme.test", "member")
    twin = world.by_hand_user("Ann@acme.test", connection="acme-okta")

    report = await world.check()

    duplicate = next(f for f in report.findings if f.kind == DUPLICATE_EMAIL)
    assert duplicate.email == "ann@acme.test"
    assert twin in duplicate.others
    assert len(duplicate.others) == 2
    assert duplicate.scim_id == "u1"
    assert not duplicate.repairable


async def test_a_leaver_added_back_by_hand_is_reported_and_left_alone(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member")
    await world.want("u1", "ann@acme.test", member=False)
    await world.worker.run_until_idle()
    world.emulator.tenant.add_member(org_id(world.emulator), ann)

    report = await world.reconcile(repair=True)

    [finding] = report.findings
    assert (finding.kind, finding.scim_id, finding.ours) == (UNMANAGED_MEMBER, "u1", False)
    assert "added back" in finding.summary
    assert ann in members(world.emulator)


async def test_pending_work_is_not_drift(world: World) -> None:
    await world.provision("u1", "ann@acme.test", "member")
    await world.want("u1", "ann@acme.test", "member", "admin")
    await world.want("u2", "bob@acme.test", "member")

    assert (await world.check()).findings == ()


async def test_reconcile_stays_in_its_organization(world: World) -> None:
    """Another organization's members, links and queued tasks are never read or touched."""
    globex = Organization(
        key="globex", auth0_org=org_id(world.emulator, "globex"), connection=DATABASE
    )
    async with world.database.session() as session:
        session.add(globex)
        await session.commit()
    assert globex.id is not None
    await world.want("g1", "gus@globex.test", "member", org=globex.id)
    await world.worker.run_until_idle()
    gus = world.emulator.tenant.members[org_id(world.emulator, "globex")]
    ann = await world.provision("u1", "ann@acme.test", "member", "admin")
    world.remove_role_by_hand(ann, "admin")
    world.emulator.tenant.remove_member(org_id(world.emulator, "globex"), next(iter(gus)))
    await world.want("g1", "gus@globex.test", "member", "admin", org=globex.id)

    report = await world.reconcile(repair=True)

    assert kinds(report) == {(ROLE_MISSING, "ann@acme.test", ("admin",))}
    assert report.links == 1
    async with world.database.session() as session:
        task = await get_task(session, org_id=globex.id, scim_id="g1")
    assert task is not None
    assert task.claimed_by is None
    assert not members(world.emulator, "globex")


async def test_a_member_awaiting_its_link_is_pending_not_unmanaged(world: World) -> None:
    """Mode link: Auth0's auto-membership can make a member before the login hook links it."""
    await world.want("u1", "ann@acme.test", "member")
    world.by_hand_user("Ann@acme.test")

    assert (await world.check()).findings == ()


async def test_a_former_employees_account_is_not_looked_up(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member")
    await world.want("u1", "ann@acme.test", member=False)
    await world.worker.run_until_idle()
    world.emulator.tenant.remove_user(ann)
    world.emulator.calls.clear()

    assert (await world.check()).findings == ()
    assert "users.get" not in api_calls(world.emulator)


async def test_claim_users_takes_only_the_due_unleased_tasks_of_its_organization(
    world: World,
) -> None:
    from datetime import timedelta

    from scim_server.storage.queue import claim_due
    from scim_server.storage.queue import claim_users

    globex = Organization(key="globex", auth0_org="org_globex", connection=DATABASE)
    async with world.database.session() as session:
        session.add(globex)
        await session.commit()
    assert world.org.id is not None and globex.id is not None
    for scim_id in ("u1", "u2", "u3"):
        await world.want(scim_id, f"{scim_id}@acme.test", "member")
    await world.want("g1", "g1@globex.test", "member", org=globex.id)
    async with world.database.session() as session:
        [held] = await claim_due(session, worker="other", now=world.now, limit=1)
        await session.commit()
    assert held.scim_id == "u1"
    async with world.database.session() as session:
        task = await get_task(session, org_id=world.org.id, scim_id="u3")
        assert task is not None
        task.due_at = world.now + timedelta(hours=1)
        session.add(task)
        await session.commit()

    async with world.database.session() as session:
        claimed = await claim_users(
            session,
            org_id=world.org.id,
            scim_ids=["u1", "u2", "u3", "g1"],
            worker="reconcile",
            now=world.now,
        )
        await session.commit()

    assert [(t.org_id, t.scim_id, t.claimed_by) for t in claimed] == [
        (world.org.id, "u2", "reconcile")
    ]
    async with world.database.session() as session:
        g1 = await get_task(session, org_id=globex.id, scim_id="g1")
    assert g1 is not None and g1.claimed_by is None


async def test_a_large_organization_is_read_page_by_page_with_progress(world: World) -> None:
    await world.provision("u1", "ann@acme.test", "member")
    for n in range(230):
        world.by_hand_user(f"hand{n}@acme.test")
    counts: list[int] = []
    world.emulator.calls.clear()

    report = await check_drift(
        world.database, world.gateway, organization=world.org, progress=counts.append
    )

    assert report.members == 231
    assert counts == list(range(1, 232))
    # Pages of 100, 100 and 31, then the empty page that ends checkpoint paging (auth0.md §3.2).
    assert api_calls(world.emulator).count("organizations.members.list") == 4
    assert sum(f.kind == UNMANAGED_MEMBER for f in report.findings) == 230


async def test_reads_auth0_could_not_serve_are_tried_again(world: World) -> None:
    ann = await world.provision("u1", "ann@acme.test", "member")
    world.emulator.tenant.remove_user(ann)
    world.emulator.faults.fail("organizations.members.list", status=503, times=2)
    world.emulator.faults.fail("users.get", status=429, times=1)

    report = await world.check()

    assert kinds(report) == {(DELETED_USER, "ann@acme.test", ())}


async def test_reconcile_gives_up_when_auth0_stays_unavailable(world: World) -> None:
    from scim_server.auth0_gateway import Auth0Unavailable
    from scim_server.support.drift_check import ATTEMPTS

    world.emulator.faults.fail("organizations.members.list", status=503, times=None)
    world.emulator.calls.clear()

    with pytest.raises(Auth0Unavailable):
        await world.check()
    assert api_calls(world.emulator).count("organizations.members.list") == ATTEMPTS


async def test_a_rehire_under_a_new_scim_id_is_ours_not_a_hand_made_member(world: World) -> None:
    """The old SCIM user's link is deprovisioned; the new one links the same Auth0 account."""
    ann = await world.provision("u1", "ann@acme.test", "member")
    await world.want("u1", "ann@acme.test", member=False)
    await world.worker.run_until_idle()

    assert await world.provision("u2", "ann@acme.test", "member") == ann
    report = await world.check()

    assert report.findings == ()
