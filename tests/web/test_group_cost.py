"""A member PATCH costs O(k) in the members it names, whatever the size of the group.

Counted in SQL statements, not in seconds (benchmarks/scale.py measures the time).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import event
from starlette.applications import Starlette

from scim_server.storage import resources
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@contextmanager
def statements(app: Starlette) -> Iterator[list[str]]:
    """Collect the SQL statements the app runs."""
    engine = app.state.tenancy.database.engine.sync_engine
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "after_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "after_cursor_execute", record)


async def new_users(
    client: httpx.AsyncClient, tenant: Tenant, prefix: str, count: int
) -> list[str]:
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": f"u{n}",
                "data": {"schemas": [USER_SCHEMA], "userName": f"{prefix}{n}"},
            }
            for n in range(count)
        ],
    }
    response = await client.post(f"{tenant.base}/Bulk", json=body, headers=tenant.headers)
    assert response.status_code == 200, response.text
    return [op["location"].rsplit("/", 1)[1] for op in response.json()["Operations"]]


async def new_group(
    client: httpx.AsyncClient, tenant: Tenant, name: str, member_ids: list[str]
) -> str:
    response = await client.post(
        f"{tenant.base}/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in member_ids],
        },
        headers=tenant.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def membership_patch(
    client: httpx.AsyncClient, tenant: Tenant, group_id: str, *, add: str, remove: str
) -> httpx.Response:
    """Okta's membership update: remove one member by filter, add another."""
    return await client.patch(
        f"{tenant.base}/Groups/{group_id}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [
                {"op": "remove", "path": f'members[value eq "{remove}"]'},
                {"op": "add", "path": "members", "value": [{"value": add}]},
            ],
        },
        headers=tenant.headers,
    )


async def test_a_member_patch_runs_as_many_statements_on_a_large_group_as_on_a_small_one(
    client: httpx.AsyncClient, acme: Tenant, app: Starlette, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = await new_users(client, acme, "big", 300)
    few = await new_users(client, acme, "small", 3)
    newcomers = await new_users(client, acme, "new", 2)
    large = await new_group(client, acme, "Large", many)
    small = await new_group(client, acme, "Small", few)

    def whole_group_read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a member PATCH read the whole member list")

    monkeypatch.setattr(resources, "members_of", whole_group_read)
    monkeypatch.setattr(resources, "replace_members", whole_group_read)
    with statements(app) as on_large:
        large_patch = await membership_patch(client, acme, large, add=newcomers[0], remove=many[0])
    with statements(app) as on_small:
        small_patch = await membership_patch(client, acme, small, add=newcomers[1], remove=few[0])

    assert large_patch.status_code == small_patch.status_code == 204
    assert len(on_large) == len(on_small)
    monkeypatch.undo()
    large_members = await client.get(f"{acme.base}/Groups/{large}", headers=acme.headers)
    assert {m["value"] for m in large_members.json()["members"]} == {*many[1:], newcomers[0]}


async def test_reading_a_group_without_members_does_not_load_them(
    client: httpx.AsyncClient, acme: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entra reads groups with excludedAttributes=members; a big group must stay cheap."""
    group = await new_group(client, acme, "Large", await new_users(client, acme, "u", 5))

    def whole_group_read(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("members were loaded")

    monkeypatch.setattr(resources, "members_of", whole_group_read)
    single = await client.get(
        f"{acme.base}/Groups/{group}",
        params={"excludedAttributes": "members"},
        headers=acme.headers,
    )
    listed = await client.get(
        f"{acme.base}/Groups", params={"excludedAttributes": "members"}, headers=acme.headers
    )
    named = await client.get(
        f"{acme.base}/Groups/{group}", params={"attributes": "displayName"}, headers=acme.headers
    )

    assert single.status_code == listed.status_code == named.status_code == 200
    assert single.json()["displayName"] == "Large" and "members" not in single.json()
    assert named.json()["displayName"] == "Large"
