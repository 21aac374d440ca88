"""The emulator's Auth0 Inbound SCIM server at /scim/v2/connections/{id} (auth0.md §13)."""

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from scim_server.sandbox import Emulator
from scim_server.sandbox import seed_tenant
from scim_server.sandbox.enterprise_login import JIT_DISABLED
from scim_server.sandbox.enterprise_login import provisioned_user
from scim_server.sandbox.errors import ManagementError
from tests.helpers.auth0 import enable_inbound_scim
from tests.sandbox.conftest import FakeClock

pytestmark = pytest.mark.anyio

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ALL_USER_SCOPES = ["get:users", "post:users", "put:users", "patch:users", "delete:users"]


def enable_scim(
    emulator: Emulator, name: str, strategy: str, scopes: list[str] | None = None
) -> tuple[str, str]:
    return enable_inbound_scim(
        emulator, name, strategy, scopes=scopes or [*ALL_USER_SCOPES, "get:groups", "post:groups"]
    )


@pytest.fixture
def saml(emulator: Emulator) -> tuple[str, str]:
    return enable_scim(emulator, "acme-saml", "samlp")


@pytest.fixture
async def scim(emulator: Emulator, saml: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the SAML connection's SCIM endpoint, holding its token."""
    connection, token = saml
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator),
        base_url=f"http://tenant.test/scim/v2/connections/{connection}/",
        headers={"Authorization": f"Bearer {token}"},
    ) as client:
        yield client


def jdoe(**extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": "jdoe@acme.com",
        "externalId": "00u1",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jdoe@acme.com", "primary": True, "type": "work"}],
        "active": True,
        **extra,
    }


def user_path(user_id: str) -> str:
    return f"Users/{quote(user_id, safe='')}"


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}


async def create(scim: httpx.AsyncClient, **extra: Any) -> dict[str, Any]:
    response = await scim.post("Users", json=jdoe(**extra))
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def test_a_post_creates_the_auth0_user_before_any_login_and_no_membership(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    created = await create(scim)

    assert created["id"] == "samlp|acme-saml|jdoe@acme.com"
    user = emulator.tenant.users[created["id"]]
    assert user["identities"][0]["connection"] == "acme-saml"
    assert (user["email"], user["given_name"], user["app_metadata"]) == (
        "jdoe@acme.com",
        "Jane",
        {"external_id": "00u1"},
    )
    assert "logins_count" not in user
    assert all(created["id"] not in members for members in emulator.tenant.members.values())


async def test_the_management_api_sees_the_scim_user(
    scim: httpx.AsyncClient, api: httpx.AsyncClient
) -> None:
    created = await create(scim)

    by_id = await api.get(f"users/{quote(created['id'], safe='')}")
    by_email = await api.get("users-by-email", params={"email": "jdoe@acme.com"})

    assert by_id.status_code == 200 and by_id.json()["user_id"] == created["id"]
    assert [u["user_id"] for u in by_email.json()] == [created["id"]]


async def test_the_user_id_ends_with_the_configured_attribute(
    anonymous: httpx.AsyncClient, emulator: Emulator
) -> None:
    connection, token = enable_scim(emulator, "acme-workforce", "okta")
    response = await anonymous.post(
        f"/scim/v2/connections/{connection}/Users",
        json=jdoe(),
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.json()["id"] == "okta|acme-workforce|00u1"


async def test_a_post_without_the_user_id_attribute_is_refused(
    anonymous: httpx.AsyncClient, emulator: Emulator
) -> None:
    connection, token = enable_scim(emulator, "acme-entra", "waad")
    body = {k: v for k, v in jdoe().items() if k != "externalId"}
    response = await anonymous.post(
        f"/scim/v2/connections/{connection}/Users",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidValue"
    assert "externalId" in response.json()["detail"]
    assert emulator.tenant.users == {}


async def test_a_second_post_of_the_same_person_is_a_conflict(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    await create(scim)
    again = await scim.post("Users", json=jdoe(externalId="00u2"))

    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"
    assert len(emulator.tenant.users) == 1


async def test_only_mapped_attributes_are_kept(scim: httpx.AsyncClient, emulator: Emulator) -> None:
    created = await create(scim, title="CEO", nickName="JD")
    fetched = await scim.get(user_path(created["id"]))

    assert "title" not in fetched.json() and "nickName" not in fetched.json()
    assert fetched.json()["name"] == {"givenName": "Jane", "familyName": "Doe"}
    assert "title" not in emulator.tenant.users[created["id"]]


async def test_filters_with_eq_and_or(scim: httpx.AsyncClient) -> None:
    await create(scim)
    await create(scim, userName="ann@acme.com", externalId="00u2")

    async def found(expression: str) -> list[str]:
        response = await scim.get("Users", params={"filter": expression})
        assert response.status_code == 200, response.text
        return sorted(r["userName"] for r in response.json()["Resources"])

    assert await found('userName eq "jdoe@acme.com"') == ["jdoe@acme.com"]
    assert await found('externalId eq "00u2"') == ["ann@acme.com"]
    assert await found('externalId eq "00u2" or userName eq "jdoe@acme.com"') == [
        "ann@acme.com",
        "jdoe@acme.com",
    ]
    assert await found('externalId eq "00u2" and userName eq "jdoe@acme.com"') == []


@pytest.mark.parametrize(
    "expression",
    ['userName sw "j"', "userName pr", 'not (userName eq "x")', 'emails[type eq "work"]'],
)
async def test_other_filters_are_refused(scim: httpx.AsyncClient, expression: str) -> None:
    response = await scim.get("Users", params={"filter": expression})

    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


async def test_deactivating_blocks_and_revokes_and_reactivating_unblocks(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    user_id = (await create(scim))["id"]

    off = await scim.patch(
        user_path(user_id), json=patch({"op": "replace", "path": "active", "value": False})
    )
    blocked = emulator.tenant.users[user_id].get("blocked")
    revoked = list(emulator.tenant.revocations)
    on = await scim.patch(
        user_path(user_id), json=patch({"op": "replace", "path": "active", "value": True})
    )

    assert off.status_code in (200, 204) and on.status_code in (200, 204)
    assert blocked is True
    assert revoked == [(user_id, "sessions"), (user_id, "refresh_tokens")]
    assert emulator.tenant.users[user_id].get("blocked") is False
    assert emulator.tenant.revocations == revoked
    assert (await scim.get(user_path(user_id))).json()["active"] is True


async def test_a_put_replaces_the_mapped_attributes(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    user_id = (await create(scim))["id"]
    replaced = await scim.put(
        user_path(user_id), json={"schemas": [USER], "userName": "jdoe@acme.com", "active": False}
    )

    assert replaced.status_code == 200
    user = emulator.tenant.users[user_id]
    assert (user.get("given_name"), user.get("app_metadata"), user["blocked"]) == (None, None, True)


async def test_the_user_id_attribute_cannot_change(scim: httpx.AsyncClient) -> None:
    user_id = (await create(scim))["id"]
    response = await scim.patch(
        user_path(user_id),
        json=patch({"op": "replace", "path": "userName", "value": "jane@acme.com"}),
    )

    assert response.status_code == 400
    assert response.json()["scimType"] == "mutability"


async def test_delete_deletes_the_auth0_user_with_its_memberships(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    user_id = (await create(scim))["id"]
    org = emulator.tenant.organization_named("acme")
    assert org is not None
    emulator.tenant.add_member(org["id"], user_id)

    deleted = await scim.delete(user_path(user_id))
    again = await scim.get(user_path(user_id))

    assert (deleted.status_code, again.status_code) == (204, 404)
    assert user_id not in emulator.tenant.users
    assert user_id not in emulator.tenant.members[org["id"]]


async def test_a_user_who_logged_in_before_scim_is_found(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    user = emulator.tenant.log_in(connection="acme-saml", email="early@acme.com")
    by_id = await scim.get(user_path(user["user_id"]))
    duplicate = await scim.post("Users", json=jdoe(userName="early@acme.com"))

    assert by_id.status_code == 200 and by_id.json()["id"] == "samlp|acme-saml|early@acme.com"
    assert duplicate.status_code == 409


async def test_a_token_reaches_only_its_own_connection(
    scim: httpx.AsyncClient, emulator: Emulator, saml: tuple[str, str]
) -> None:
    user_id = (await create(scim))["id"]
    other, other_token = enable_scim(emulator, "globex-saml", "samlp")
    base = f"http://tenant.test/scim/v2/connections/{other}/"

    cross_token = await scim.get(f"{base}{user_path(user_id)}")
    own_token = await scim.get(
        f"{base}{user_path(user_id)}", headers={"Authorization": f"Bearer {other_token}"}
    )
    listed = await scim.get(f"{base}Users", headers={"Authorization": f"Bearer {other_token}"})

    assert cross_token.status_code == 401
    assert own_token.status_code == 404
    assert listed.json()["totalResults"] == 0


@pytest.mark.parametrize("authorization", [None, "Bearer tok_nope", "Basic dXNlcjpwdw=="])
async def test_a_request_without_a_valid_token_is_401(
    scim: httpx.AsyncClient, authorization: str | None
) -> None:
    del scim.headers["Authorization"]
    headers = {"Authorization": authorization} if authorization else {}
    response = await scim.get("Users", headers=headers)

    assert response.status_code == 401
    assert response.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert "Bearer" in response.headers["www-authenticate"]


async def test_an_expired_token_is_401(
    anonymous: httpx.AsyncClient, emulator: Emulator, clock: FakeClock
) -> None:
    connection, _ = enable_scim(emulator, "acme-saml", "samlp")
    token = emulator.tenant.inbound_scim.issue_token(
        connection, scopes=["get:users"], lifetime=901, now=clock()
    )
    url = f"/scim/v2/connections/{connection}/Users"
    headers = {"Authorization": f"Bearer {token.token}"}

    before = await anonymous.get(url, headers=headers)
    clock.advance(901)
    after = await anonymous.get(url, headers=headers)

    assert (before.status_code, after.status_code) == (200, 401)
    assert token.last_used_at is not None


async def test_each_operation_needs_its_scope(
    anonymous: httpx.AsyncClient, emulator: Emulator
) -> None:
    connection, token = enable_scim(emulator, "acme-saml", "samlp", scopes=["get:users"])
    url = f"/scim/v2/connections/{connection}/Users"
    headers = {"Authorization": f"Bearer {token}"}

    listed = await anonymous.get(url, headers=headers)
    created = await anonymous.post(url, json=jdoe(), headers=headers)
    groups = await anonymous.get(f"/scim/v2/connections/{connection}/Groups", headers=headers)

    assert (listed.status_code, created.status_code, groups.status_code) == (200, 403, 403)
    assert "post:users" in created.json()["detail"]
    assert emulator.tenant.users == {}


@pytest.mark.parametrize("case", ["unknown", "database", "unconfigured"])
async def test_a_connection_without_scim_answers_404(
    anonymous: httpx.AsyncClient, emulator: Emulator, case: str
) -> None:
    seed_tenant(emulator.tenant, {"connections": [{"name": "bare-saml", "strategy": "samlp"}]})
    name = {"database": "Username-Password-Authentication", "unconfigured": "bare-saml"}.get(case)
    connection = emulator.tenant.connection_named(name) if name else {"id": "con_nope"}
    assert connection is not None
    response = await anonymous.get(
        f"/scim/v2/connections/{connection['id']}/Users",
        headers={"Authorization": "Bearer tok_x"},
    )

    assert response.status_code == 404
    assert response.json()["status"] == "404"


async def test_each_connection_has_its_own_rate_limit(
    scim: httpx.AsyncClient, emulator: Emulator, clock: FakeClock
) -> None:
    other, other_token = enable_scim(emulator, "globex-saml", "samlp")
    statuses = [(await scim.get("Users")).status_code for _ in range(26)]
    limited = await scim.get("Users")
    elsewhere = await scim.get(
        f"http://tenant.test/scim/v2/connections/{other}/Users",
        headers={"Authorization": f"Bearer {other_token}"},
    )
    clock.advance(1)
    refilled = await scim.get("Users")

    assert statuses == [200] * 25 + [429]
    assert limited.status_code == 429
    assert limited.json()["status"] == "429"
    assert limited.headers["x-ratelimit-limit"] == "25"
    assert limited.headers["x-ratelimit-remaining"] == "0"
    assert int(limited.headers["x-ratelimit-reset"]) > clock.now - 1
    assert elsewhere.status_code == 200
    assert refilled.status_code == 200


async def test_a_create_that_answers_500_after_succeeding_is_found_again(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    """What a lost answer looks like to a client: the retry is a 409, then a GET finds it."""
    emulator.faults.fail_after_success("inbound_scim.users.create")

    first = await scim.post("Users", json=jdoe())
    retry = await scim.post("Users", json=jdoe())

    assert (first.status_code, retry.status_code) == (500, 409)
    assert emulator.calls.count("inbound_scim.users.create") == 2
    assert (await scim.get(user_path("samlp|acme-saml|jdoe@acme.com"))).status_code == 200


async def test_groups_are_kept_and_filtered_by_eq_only(scim: httpx.AsyncClient) -> None:
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "Admins"}
    created = await scim.post("Groups", json=group)
    found = await scim.get("Groups", params={"filter": 'displayName eq "Admins"'})
    joined = await scim.get(
        "Groups", params={"filter": 'displayName eq "Admins" or displayName eq "x"'}
    )

    assert created.status_code == 201
    assert [g["id"] for g in found.json()["Resources"]] == [created.json()["id"]]
    assert joined.status_code == 400


async def test_a_login_finds_the_scim_user_by_the_asserted_id(
    scim: httpx.AsyncClient, emulator: Emulator
) -> None:
    user_id = (await create(scim))["id"]
    connection = emulator.tenant.connection_named("acme-saml")
    unconfigured = emulator.tenant.add_connection("plain-saml", "samlp")
    assert connection is not None

    found = provisioned_user(emulator.tenant, connection, "jdoe@acme.com")
    with pytest.raises(ManagementError) as refused:
        provisioned_user(emulator.tenant, connection, "someone@acme.com")

    assert found is not None and found["user_id"] == user_id
    assert (refused.value.status, refused.value.message) == (403, JIT_DISABLED)
    assert provisioned_user(emulator.tenant, unconfigured, "someone@acme.com") is None
