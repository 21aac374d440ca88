"""Users through the real SDK over HTTP against the emulator."""

import pytest

from scim_server.auth0_gateway import Auth0Conflict
from scim_server.auth0_gateway import Auth0NotFound
from scim_server.auth0_gateway import Auth0Rejected
from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.sandbox import DEFAULT_DATABASE
from scim_server.sandbox import Emulator
from tests.auth0_gateway.conftest import org_id

pytestmark = pytest.mark.anyio


async def test_create_then_get(gateway: ManagementApiGateway) -> None:
    created = await gateway.create_user(
        connection=DEFAULT_DATABASE,
        email="Jane@Example.com",
        password="Secret-123!",
        attributes={"given_name": "Jane", "app_metadata": {"scim_id": "42"}},
    )
    assert created.email == "jane@example.com"
    assert created.connection == DEFAULT_DATABASE
    assert created.profile["given_name"] == "Jane"
    fetched = await gateway.get_user(created.user_id)
    assert fetched.app_metadata == {"scim_id": "42"}


async def test_create_leaves_out_unset_attributes(gateway: ManagementApiGateway) -> None:
    """A SCIM user without a name maps to None fields; Auth0 refuses a null on create."""
    created = await gateway.create_user(
        connection=DEFAULT_DATABASE,
        email="n@x.com",
        password="p",
        attributes={"given_name": None, "family_name": "Doe"},
    )
    assert created.profile["family_name"] == "Doe"
    assert created.profile.get("given_name") is None


async def test_a_deterministic_user_id_gets_the_provider_prefix(
    gateway: ManagementApiGateway,
) -> None:
    created = await gateway.create_user(
        connection=DEFAULT_DATABASE, email="d@x.com", password="p", user_id="scim-1"
    )
    assert created.user_id == "auth0|scim-1"


async def test_a_duplicate_create_is_one_post_and_a_conflict(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    """max_retries=0: the SDK would otherwise POST three times over ~3 s (auth0.md §0.5)."""
    await gateway.create_user(connection=DEFAULT_DATABASE, email="dup@x.com", password="p")
    with pytest.raises(Auth0Conflict) as caught:
        await gateway.create_user(connection=DEFAULT_DATABASE, email="dup@x.com", password="p")
    assert caught.value.error_code == "auth0_idp_error"
    assert emulator.calls.count("users.create") == 2


async def test_create_in_an_enterprise_connection_is_rejected(
    gateway: ManagementApiGateway,
) -> None:
    with pytest.raises(Auth0Rejected) as caught:
        await gateway.create_user(connection="acme-okta", email="e@x.com")
    assert caught.value.status == 400
    assert not isinstance(caught.value, Auth0Conflict)


async def test_unknown_attributes_are_a_bug_not_a_call(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    with pytest.raises(ValueError, match="shoe_size"):
        await gateway.create_user(
            connection=DEFAULT_DATABASE, email="a@x.com", attributes={"shoe_size": 44}
        )
    assert emulator.calls.count("users.create") == 0


async def test_get_percent_encodes_enterprise_ids(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    user = emulator.tenant.log_in(connection="acme-okta", email="j/doe@x.com")
    fetched = await gateway.get_user(user["user_id"])
    assert fetched.user_id == "okta|acme-okta|j/doe@x.com"
    assert emulator.calls.records[-1].path == "/api/v2/users/okta%7Cacme-okta%7Cj%2Fdoe%40x.com"


async def test_a_missing_user_is_not_found(gateway: ManagementApiGateway) -> None:
    with pytest.raises(Auth0NotFound) as caught:
        await gateway.get_user("auth0|nobody")
    assert caught.value.error_code == "inexistent_user"


async def test_find_by_email_falls_back_to_lower_case_and_filters_the_connection(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    created = await gateway.create_user(
        connection=DEFAULT_DATABASE, email="mixed@x.com", password="p"
    )
    emulator.tenant.log_in(connection="acme-okta", email="mixed@x.com")
    found = await gateway.find_users_by_email("Mixed@X.com", connection=DEFAULT_DATABASE)
    assert [u.user_id for u in found] == [created.user_id]
    assert len(await gateway.find_users_by_email("mixed@x.com")) == 2
    assert await gateway.find_users_by_email("nobody@x.com") == []


async def test_update_merges_metadata_and_unsets_with_none(gateway: ManagementApiGateway) -> None:
    created = await gateway.create_user(
        connection=DEFAULT_DATABASE,
        email="u@x.com",
        password="p",
        attributes={"given_name": "U", "app_metadata": {"a": 1, "b": 2}},
    )
    updated = await gateway.update_user(
        created.user_id, {"given_name": None, "app_metadata": {"a": None, "c": 3}}
    )
    assert "given_name" not in updated.profile
    assert updated.app_metadata == {"b": 2, "c": 3}


async def test_block_and_unblock(gateway: ManagementApiGateway, emulator: Emulator) -> None:
    created = await gateway.create_user(connection=DEFAULT_DATABASE, email="b@x.com", password="p")
    await gateway.block_user(created.user_id)
    assert (await gateway.get_user(created.user_id)).blocked is True
    await gateway.unblock_user(created.user_id)
    assert emulator.tenant.users[created.user_id]["blocked"] is False


async def test_revocations(gateway: ManagementApiGateway, emulator: Emulator) -> None:
    created = await gateway.create_user(connection=DEFAULT_DATABASE, email="r@x.com", password="p")
    await gateway.delete_sessions(created.user_id)
    await gateway.revoke_refresh_tokens(created.user_id)
    await gateway.revoke_access(created.user_id)
    kinds = [kind for user_id, kind in emulator.tenant.revocations if user_id == created.user_id]
    assert kinds == ["sessions", "refresh_tokens", "sessions", "refresh_tokens"]


async def test_user_organizations_read_every_page(
    gateway: ManagementApiGateway, emulator: Emulator
) -> None:
    created = await gateway.create_user(connection=DEFAULT_DATABASE, email="o@x.com", password="p")
    extra = [emulator.tenant.add_organization(f"org-{i}")["id"] for i in range(3)]
    for organization in [org_id(emulator), *extra]:
        emulator.tenant.add_member(organization, created.user_id)
    organizations = await gateway.get_user_organizations(created.user_id)
    assert sorted(o.name for o in organizations) == ["acme", "org-0", "org-1", "org-2"]
