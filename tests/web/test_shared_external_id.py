"""externalId is unique only where the profile says so (RFC 7643 §3.1; issue 11, interoperability).

Microsoft's SCIM reference Postman collection, run against a ``generic`` organization, gives
five users one externalId and ten others one literal placeholder (a Postman variable left
unset); the ``okta`` and ``entra`` profiles keep a duplicate a 409.
"""

import asyncio
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import Connection
from sqlalchemy import inspect

from scim_server.storage.migrate import alembic_config
from scim_server.storage.migrate import migrate
from tests.helpers.tenants import Tenant
from tests.storage.test_migrations import run_on_connection

pytestmark = pytest.mark.anyio

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SHARED = "3b6c8e20-0f8d-4f5b-9d43-5a3e1b2c7d90"
PLACEHOLDER = "{{externalId}}"


def user(user_name: str, external_id: str, **extra: Any) -> dict[str, Any]:
    return {"schemas": [USER], "userName": user_name, "externalId": external_id, **extra}


async def create(client: httpx.AsyncClient, tenant: Tenant, body: dict[str, Any]) -> str:
    created = await client.post(f"{tenant.base}/Users", json=body, headers=tenant.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


async def with_external_id(
    client: httpx.AsyncClient, tenant: Tenant, external_id: str
) -> list[str]:
    found = await client.get(
        f"{tenant.base}/Users",
        params={"filter": f'externalId eq "{external_id}"', "count": "100"},
        headers=tenant.headers,
    )
    assert found.status_code == 200, found.text
    return sorted(resource["userName"] for resource in found.json().get("Resources", []))


async def test_the_postman_collection_cases_share_external_ids_on_a_generic_organization(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    five = [await create(client, acme, user(f"five{n}@acme.test", SHARED)) for n in range(5)]
    ten = [await create(client, acme, user(f"ten{n}@acme.test", PLACEHOLDER)) for n in range(10)]

    assert len(set(five + ten)) == 15
    assert await with_external_id(client, acme, SHARED) == [f"five{n}@acme.test" for n in range(5)]
    assert len(await with_external_id(client, acme, PLACEHOLDER)) == 10
    # Each is its own resource: a change to one leaves the others as they were.
    patched = await client.patch(
        f"{acme.base}/Users/{five[0]}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "replace", "path": "displayName", "value": "First"}],
        },
        headers=acme.headers,
    )
    assert patched.status_code == 200, patched.text
    second = (await client.get(f"{acme.base}/Users/{five[1]}", headers=acme.headers)).json()
    assert "displayName" not in second
    replaced = await client.put(
        f"{acme.base}/Users/{ten[3]}",
        json=user("ten3@acme.test", PLACEHOLDER, active=False),
        headers=acme.headers,
    )
    assert replaced.status_code == 200, replaced.text
    assert (
        await client.delete(f"{acme.base}/Users/{five[4]}", headers=acme.headers)
    ).status_code == 204
    assert len(await with_external_id(client, acme, SHARED)) == 4


async def test_groups_of_a_generic_organization_may_share_an_external_id(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    for name in ("Sales", "Marketing"):
        created = await client.post(
            f"{acme.base}/Groups",
            json={"schemas": [GROUP], "displayName": name, "externalId": SHARED},
            headers=acme.headers,
        )
        assert created.status_code == 201, created.text


async def test_a_shared_external_id_alone_restores_no_one(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    """A new person given the shared externalId must not take over a deleted user's id."""
    gone = await create(client, acme, user("gone@acme.test", SHARED))
    asleep = await create(client, acme, user("asleep@acme.test", SHARED, active=False))
    await client.delete(f"{acme.base}/Users/{gone}", headers=acme.headers)

    newcomer = await create(client, acme, user("new@acme.test", SHARED))

    assert newcomer not in {gone, asleep}
    assert await with_external_id(client, acme, SHARED) == ["asleep@acme.test", "new@acme.test"]


async def test_a_user_sharing_an_external_id_is_restored_by_its_user_name(
    client: httpx.AsyncClient, acme: Tenant
) -> None:
    """Restore in place keys on the userName then: the deleted user of that userName comes back."""
    gone = await create(client, acme, user("gone@acme.test", SHARED))
    await create(client, acme, user("other@acme.test", SHARED))
    await client.delete(f"{acme.base}/Users/{gone}", headers=acme.headers)

    again = await create(client, acme, user("Gone@acme.test", SHARED))

    assert again == gone
    assert len(await with_external_id(client, acme, SHARED)) == 2


@pytest.mark.parametrize("profile", ["okta", "entra"])
async def test_okta_and_entra_keep_a_duplicate_external_id_a_409(
    client: httpx.AsyncClient, okta: Tenant, entra: Tenant, profile: str
) -> None:
    tenant = okta if profile == "okta" else entra
    await create(client, tenant, user("ann@acme.test", SHARED))

    duplicate = await client.post(
        f"{tenant.base}/Users", json=user("bo@acme.test", SHARED), headers=tenant.headers
    )

    assert duplicate.status_code == 409
    assert duplicate.json()["scimType"] == "uniqueness"


async def test_concurrent_creations_of_one_external_id_leave_one_user_under_okta(
    client: httpx.AsyncClient, okta: Tenant
) -> None:
    """No index enforces it any more: the check must hold under concurrency on PostgreSQL too."""
    answers = await asyncio.gather(
        *(
            client.post(
                f"{okta.base}/Users", json=user(f"u{n}@acme.test", SHARED), headers=okta.headers
            )
            for n in range(10)
        )
    )

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(201) == 1, [
        answer.text for answer in answers if answer.status_code != 201
    ]
    assert len(await with_external_id(client, okta, SHARED)) == 1


def indexes(connection: Connection) -> dict[str, bool]:
    return {
        str(index["name"]): bool(index["unique"])
        for index in inspect(connection).get_indexes("scim_resource")
    }


def test_migration_0007_drops_the_unique_index_and_back(database_url: str) -> None:
    migrate(database_url)
    assert "uq_scim_resource_external_id" not in run_on_connection(database_url, indexes)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
        connection.commit()

    run_on_connection(database_url, downgrade)
    assert run_on_connection(database_url, indexes)["uq_scim_resource_external_id"] is True
    migrate(database_url)
    assert "uq_scim_resource_external_id" not in run_on_connection(database_url, indexes)
