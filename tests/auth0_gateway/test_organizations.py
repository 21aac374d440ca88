"""Organizations, members, member roles, roles, invitations and connections over HTTP."""

import pytest

from scim_server.auth0_gateway import Auth0Conflict
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.sandbox import DEFAULT_DATABASE
from scim_server.sandbox import Emulator
from tests.auth0_gateway.conftest import org_id
from tests.auth0_gateway.conftest import role_id

pytestmark = pytest.mark.anyio


def add_users(emulator: Emulator, count: int) -> list[str]:
    database = emulator.tenant.connection_named(DEFAULT_DATABASE)
    assert database is not None
    return [
        emulator.tenant.add_user(
            connection=database, user_id=f"auth0|u{i:04d}", attributes={"email": f"u{i}@x.com"}
        )["user_id"]
        for i in range(count)
    ]


async def test_organization_by_id_and_by_name(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    by_name = await gateway.get_organization_by_name("acme")
    assert by_name.id == org_id(emulator)
    assert (await gateway.get_organization(by_name.id)).display_name == "Acme Corp"


async def test_a_missing_organization_is_not_found(gateway: ManagementApiGateway) -> None:
    with pytest.raises(Auth0NotFound):
        await gateway.get_organization_by_name("nope")


async def test_add_and_remove_members(gateway: ManagementApiGateway, emulator: Emulator) -> None:
    users = add_users(emulator, 10)
    await gateway.add_members(org_id(emulator), users)
    await gateway.remove_members(org_id(emulator), [*users[:3], "auth0|never-a-member"])
    assert emulator.tenant.snapshot()["members"][org_id(emulator)] == users[3:]


async def test_more_than_ten_members_per_call_is_refused_before_calling(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="between 1 and 10"):
        await gateway.add_members(org_id(emulator), add_users(emulator, 11))
    assert emulator.calls.count("organizations.members.create") == 0


async def test_listing_members_reads_checkpoint_pages_to_the_end(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    users = add_users(emulator, 250)
    for user_id in users:
        emulator.tenant.add_member(org_id(emulator), user_id)
    listed = [m.user_id async for m in gateway.list_members(org_id(emulator))]
    assert listed == users
    # 100 + 100 + 50, then the empty page without "next" that ends the SDK's iteration.
    assert emulator.calls.count("organizations.members.list") == 4


async def test_listing_members_with_roles(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    [user_id] = add_users(emulator, 1)
    emulator.tenant.add_member(org_id(emulator), user_id)
    emulator.tenant.assign_member_roles(org_id(emulator), user_id, [role_id(emulator, "admin")])
    [member] = [m async for m in gateway.list_members(org_id(emulator), with_roles=True)]
    assert member.roles is not None
    assert [r.name for r in member.roles] == ["admin"]
    [plain] = [m async for m in gateway.list_members(org_id(emulator))]
    assert plain.roles is None


async def test_member_roles_assign_get_remove(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    [user_id] = add_users(emulator, 1)
    org = org_id(emulator)
    await gateway.add_members(org, [user_id])
    await gateway.assign_member_roles(
        org, user_id, [role_id(emulator, "admin"), role_id(emulator, "viewer")]
    )
    assert sorted(r.name for r in await gateway.get_member_roles(org, user_id)) == [
        "admin",
        "viewer",
    ]
    await gateway.remove_member_roles(org, user_id, [role_id(emulator, "admin")])
    await gateway.remove_member_roles(org, user_id, [role_id(emulator, "admin")])
    assert [r.name for r in await gateway.get_member_roles(org, user_id)] == ["viewer"]


async def test_the_51st_member_role_is_a_conflict(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    [user_id] = add_users(emulator, 1)
    roles = [emulator.tenant.add_role(f"r{i}")["id"] for i in range(51)]
    await gateway.assign_member_roles(org_id(emulator), user_id, roles[:50])
    with pytest.raises(Auth0Conflict):
        await gateway.assign_member_roles(org_id(emulator), user_id, roles[50:])


async def test_find_role_by_name_is_exact(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    emulator.tenant.add_role("superadmin")
    assert (await gateway.find_role_by_name("admin")).id == role_id(emulator, "admin")
    assert {r.name for r in await gateway.list_roles(name_filter="admin")} == {
        "admin",
        "superadmin",
    }
    with pytest.raises(Auth0NotFound):
        await gateway.find_role_by_name("Admin")


async def test_list_roles_reads_every_page(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    for i in range(120):
        emulator.tenant.add_role(f"bulk-{i}")
    assert len(await gateway.list_roles()) == 123


async def test_invitations(gateway: ManagementApiGateway, emulator: Emulator) -> None:
    org = org_id(emulator)
    invitation = await gateway.create_invitation(
        org,
        email="new@x.com",
        inviter_name="SCIM",
        client_id="app",
        role_ids=[role_id(emulator, "member")],
        send_email=False,
    )
    assert invitation.email == "new@x.com"
    assert f"organization={org}" in invitation.invitation_url
    assert [i.id for i in await gateway.list_invitations(org)] == [invitation.id]
    await gateway.delete_invitation(org, invitation.id)
    with pytest.raises(Auth0NotFound):
        await gateway.delete_invitation(org, invitation.id)


async def test_list_connections(gateway: ManagementApiGateway) -> None:
    connections = {c.name: c.strategy for c in await gateway.list_connections()}
    assert connections == {DEFAULT_DATABASE: "auth0", "acme-okta": "okta"}
