"""The Auth0 side of reconcile steps, against the emulator through the real SDK (in-process)."""

from collections.abc import AsyncIterator

import anyio
import pytest

from scim_server.auth0_gateway import Auth0Gateway
from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import Auth0Unavailable
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.provisioning.backoff import RetryPolicy
from scim_server.provisioning.batching import MemberBatcher
from scim_server.provisioning.directory import Auth0Directory
from scim_server.provisioning.directory import UnknownRoles
from scim_server.provisioning.effects import Auth0Effects
from scim_server.provisioning.effects import deterministic_user_id
from scim_server.sandbox import Emulator
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import api_calls
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on
from tests.helpers.auth0 import member_roles
from tests.helpers.auth0 import members
from tests.helpers.auth0 import org_id
from tests.helpers.auth0 import users_with_email


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def emulator() -> Emulator:
    return demo_emulator()


@pytest.fixture
async def gateway(emulator: Emulator) -> AsyncIterator[ManagementApiGateway]:
    gateway = gateway_on(emulator)
    yield gateway
    await gateway.aclose()


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def effects(gateway: Auth0Gateway, ticks: Ticks) -> Auth0Effects:
    return Auth0Effects(
        gateway, Auth0Directory(gateway, monotonic=ticks), MemberBatcher(gateway, linger=5)
    )


@pytest.mark.anyio
async def test_a_create_that_succeeded_but_answered_500_is_linked_as_ours(
    emulator: Emulator, effects: Auth0Effects
) -> None:
    emulator.faults.fail_after_success("users.create", status=500)
    key = deterministic_user_id("org_x", "scim-1")
    with pytest.raises(Auth0Unavailable):
        await effects.create_or_link(
            connection=DATABASE, email="ann@acme.test", user_key=key, attributes={}
        )

    linked = await effects.create_or_link(
        connection=DATABASE, email="ann@acme.test", user_key=key, attributes={}
    )

    assert (linked.owned, linked.method) == (True, "created")
    assert [u["user_id"] for u in users_with_email(emulator, "ann@acme.test")] == [linked.user_id]


@pytest.mark.anyio
async def test_an_account_of_another_organization_is_linked_not_owned_and_not_profiled(
    emulator: Emulator, effects: Auth0Effects
) -> None:
    consultant = emulator.tenant.log_in(connection=DATABASE, email="cons@partner.test")
    before = dict(consultant)

    linked = await effects.create_or_link(
        connection=DATABASE,
        email="cons@partner.test",
        user_key=deterministic_user_id("org_x", "scim-2"),
        attributes={"given_name": "Changed"},
    )

    assert linked == type(linked)(consultant["user_id"], False, "matched_email")
    assert len(users_with_email(emulator, "cons@partner.test")) == 1
    assert emulator.tenant.users[consultant["user_id"]] == before


@pytest.mark.anyio
async def test_creating_in_an_enterprise_connection_is_refused(effects: Auth0Effects) -> None:
    with pytest.raises(Auth0Rejected):
        await effects.create_or_link(
            connection="acme-okta", email="e@acme.test", user_key="k", attributes={}
        )


@pytest.mark.anyio
async def test_leaving_the_last_organization_revokes_and_blocks_an_owned_user(
    emulator: Emulator, effects: Auth0Effects
) -> None:
    user = emulator.tenant.log_in(connection=DATABASE, email="leaver@acme.test")

    departure = await effects.depart(user["user_id"], block=True)

    assert (departure.revoked, departure.blocked) == (True, True)
    assert emulator.tenant.users[user["user_id"]]["blocked"] is True
    assert {kind for uid, kind in emulator.tenant.revocations if uid == user["user_id"]}


@pytest.mark.anyio
async def test_a_user_still_in_another_organization_is_neither_revoked_nor_blocked(
    emulator: Emulator, effects: Auth0Effects
) -> None:
    user = emulator.tenant.log_in(connection=DATABASE, email="multi@acme.test")
    emulator.tenant.add_member(org_id(emulator, "globex"), user["user_id"])

    departure = await effects.depart(user["user_id"], block=True)

    assert departure.other_organizations == (org_id(emulator, "globex"),)
    assert not emulator.tenant.users[user["user_id"]].get("blocked")
    assert emulator.tenant.revocations == []


@pytest.mark.anyio
async def test_roles_are_assigned_by_name_and_the_role_list_is_read_once(
    emulator: Emulator, effects: Auth0Effects
) -> None:
    acme = org_id(emulator)
    first = emulator.tenant.log_in(connection=DATABASE, email="a@acme.test")["user_id"]
    second = emulator.tenant.log_in(connection=DATABASE, email="b@acme.test")["user_id"]
    for user in (first, second):
        emulator.tenant.add_member(acme, user)
    emulator.calls.clear()

    await effects.assign_roles(acme, first, ["admin"])
    await effects.assign_roles(acme, second, ["member", "viewer"])

    assert member_roles(emulator, first) == {"admin"}
    assert member_roles(emulator, second) == {"member", "viewer"}
    assert api_calls(emulator, lambda e: e.startswith("roles.")) == ["roles.list"] * 2  # one pager


@pytest.mark.anyio
async def test_an_unknown_role_rereads_the_list_at_most_once_a_minute(
    emulator: Emulator, gateway: Auth0Gateway, ticks: Ticks
) -> None:
    directory = Auth0Directory(gateway, monotonic=ticks, refresh_interval=60)
    await directory.role_ids(["admin"])
    emulator.calls.clear()

    for _ in range(3):
        with pytest.raises(UnknownRoles):
            await directory.role_ids(["ghost"])
    assert api_calls(emulator) == []

    ticks.now = 61
    emulator.tenant.add_role("ghost")
    assert set(await directory.role_ids(["ghost", "admin"])) == {"ghost", "admin"}


@pytest.mark.anyio
async def test_an_organization_configured_by_name_is_resolved_once(
    emulator: Emulator, effects: Auth0Effects
) -> None:
    ids = [await effects.directory.organization_id("acme") for _ in range(3)]

    assert ids == [org_id(emulator)] * 3
    assert api_calls(emulator) == ["organizations.get_by_name"]


@pytest.mark.anyio
async def test_concurrent_joiners_share_add_member_calls_of_at_most_ten(
    emulator: Emulator, gateway: Auth0Gateway
) -> None:
    acme = org_id(emulator)
    users = [
        emulator.tenant.log_in(connection=DATABASE, email=f"j{n}@acme.test")["user_id"]
        for n in range(23)
    ]
    batcher = MemberBatcher(gateway, linger=30)
    emulator.calls.clear()

    async def join(user_id: str) -> None:
        async with batcher.participant():
            await anyio.sleep(0)
            await batcher.add(acme, user_id)

    async with anyio.create_task_group() as group:
        for user_id in users:
            group.start_soon(join, user_id)

    assert members(emulator) == set(users)
    assert api_calls(emulator) == ["organizations.members.create"] * 3


@pytest.mark.anyio
async def test_a_refused_batch_is_retried_user_by_user(
    emulator: Emulator, gateway: Auth0Gateway
) -> None:
    acme = org_id(emulator)
    good = emulator.tenant.log_in(connection=DATABASE, email="good@acme.test")["user_id"]
    emulator.faults.fail("organizations.members.create", status=400)
    batcher = MemberBatcher(gateway, linger=30)
    outcomes: dict[str, str] = {}

    async def join(user_id: str) -> None:
        async with batcher.participant():
            await anyio.sleep(0)
            try:
                await batcher.add(acme, user_id)
                outcomes[user_id] = "ok"
            except Auth0Rejected:
                outcomes[user_id] = "refused"

    async with anyio.create_task_group() as group:
        group.start_soon(join, good)
        group.start_soon(join, "auth0|doesnotexist")

    assert outcomes[good] == "ok"
    assert good in members(emulator)


@pytest.mark.anyio
async def test_a_lone_add_does_not_wait_for_company(
    emulator: Emulator, gateway: Auth0Gateway
) -> None:
    user = emulator.tenant.log_in(connection=DATABASE, email="solo@acme.test")["user_id"]
    batcher = MemberBatcher(gateway, linger=30)

    with anyio.fail_after(5):
        async with batcher.participant():
            await batcher.add(org_id(emulator), user)

    assert user in members(emulator)


def test_backoff_grows_with_jitter_and_honours_auth0s_hint() -> None:
    policy = RetryPolicy(base=1, cap=60)
    low = [policy.transient_delay(n, retry_after=None, random=lambda: 0.0) for n in range(1, 9)]
    high = [policy.transient_delay(n, retry_after=None, random=lambda: 0.999) for n in range(1, 9)]

    assert low == sorted(low) and low[-1] == 30
    assert all(h > lo for h, lo in zip(high, low, strict=True))
    assert policy.transient_delay(1, retry_after=12, random=lambda: 0.5) == 12
    assert (
        810 <= policy.refused_delay(random=lambda: 0.0) < policy.refused_delay(random=lambda: 1.0)
    )
