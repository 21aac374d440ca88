"""The SCIM write path: desired state, sync task and mapping events in the request's transaction."""

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlmodel import select
from starlette.applications import Starlette

from scim_server.intake import store
from scim_server.provisioning.desired import DesiredState
from scim_server.storage.database import Database
from scim_server.storage.events import PersonKeys
from scim_server.storage.events import search_events
from scim_server.storage.links import links_of
from scim_server.storage.organizations import get_organization
from scim_server.storage.queue import get_task
from scim_server.storage.rules import replace_rules
from scim_server.storage.tables import MappingEvent
from scim_server.storage.tables import ScimResource
from scim_server.storage.tables import SyncTask
from tests.helpers.tenants import Tenant
from tests.web.conftest import acme  # noqa: F401
from tests.web.conftest import app  # noqa: F401
from tests.web.conftest import client  # noqa: F401
from tests.web.conftest import okta  # noqa: F401

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PROVISIONING = "urn:ietf:params:scim:schemas:extension:scim-server:2.0:Provisioning"


class Scim:
    """A SCIM client of one tenant, and a look into the database behind it."""

    def __init__(self, http: httpx.AsyncClient, tenant: Tenant, database: Database) -> None:
        self.client, self.tenant, self.database = http, tenant, database

    async def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return await self.client.request(
            method, f"{self.tenant.base}/{path}", json=body, headers=self.tenant.headers
        )

    async def user(self, user_name: str, **extra: Any) -> str:
        body = {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "emails": [{"value": f"{user_name}@acme.test", "primary": True}],
            **extra,
        }
        response = await self.request("POST", "Users", body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def group(self, name: str, members: list[str] = []) -> str:  # noqa: B006
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m} for m in members],
        }
        response = await self.request("POST", "Groups", body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    async def patch(self, path: str, *operations: Any, status: int = 200) -> httpx.Response:
        body = {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
        response = await self.request("PATCH", path, body)
        assert response.status_code == status, response.text
        return response

    async def org_id(self) -> int:
        async with self.database.session() as session:
            org = await get_organization(session, self.tenant.key)
            assert org.id is not None
            return org.id

    async def task(self, scim_id: str) -> SyncTask | None:
        async with self.database.session() as session:
            return await get_task(session, org_id=await self.org_id(), scim_id=scim_id)

    async def desired(self, scim_id: str) -> DesiredState:
        async with self.database.session() as session:
            links = await links_of(session, org_id=await self.org_id(), scim_ids=[scim_id])
        return DesiredState.from_json(links[scim_id].desired)

    async def events(
        self, scim_id: str | None = None, *, kind: str = "desired.changed"
    ) -> list[MappingEvent]:
        """The events of one kind: by default what a write asked of Auth0, not the request."""
        async with self.database.session() as session:
            found = await search_events(
                session,
                org_id=await self.org_id(),
                keys=None if scim_id is None else PersonKeys(scim_ids=frozenset({scim_id})),
            )
        return [event for event in found if event.kind == kind]

    async def rules(self, *definitions: dict[str, Any]) -> None:
        async with self.database.session() as session:
            await replace_rules(session, org_id=await self.org_id(), definitions=definitions)
            await session.commit()


@pytest.fixture
def scim(client: httpx.AsyncClient, okta: Tenant, app: Starlette) -> Scim:  # noqa: F811
    return Scim(client, okta, app.state.tenancy.database)


@pytest.fixture
def generic(client: httpx.AsyncClient, acme: Tenant, app: Starlette) -> Scim:  # noqa: F811
    return Scim(client, acme, app.state.tenancy.database)


@pytest.fixture
def recomputed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the userName of every user whose desired state gets computed."""
    seen: list[str] = []
    compute: Callable[..., Any] = store.desired_state

    def spy(user: Any, *args: Any, **kwargs: Any) -> Any:
        seen.append(user["userName"] if user else "(deleted)")
        return compute(user, *args, **kwargs)

    monkeypatch.setattr(store, "desired_state", spy)
    return seen


# -- the extension -----------------------------------------------------------


async def test_a_new_user_shows_its_provisioning_state_pending(scim: Scim) -> None:
    response = await scim.request(
        "POST", "Users", {"schemas": [USER_SCHEMA], "userName": "ada", "active": True}
    )
    assert response.json()[PROVISIONING] == {"state": "pending"}
    assert PROVISIONING in response.json()["schemas"]

    got = await scim.request("GET", f"Users/{response.json()['id']}")
    assert got.json()[PROVISIONING] == {"state": "pending"}
    listed = await scim.request("GET", 'Users?filter=userName eq "ada"')
    assert listed.json()["Resources"][0][PROVISIONING] == {"state": "pending"}


async def test_the_extension_is_declared_in_schemas_and_resource_types(scim: Scim) -> None:
    schema = await scim.request("GET", f"Schemas/{PROVISIONING}")
    assert schema.status_code == 200, schema.text
    attributes = {a["name"]: a["mutability"] for a in schema.json()["attributes"]}
    assert attributes == dict.fromkeys(
        ["state", "auth0UserId", "lastSyncedAt", "lastError", "roles"], "readOnly"
    )
    user_type = await scim.request("GET", "ResourceTypes/User")
    extensions = {e["schema"]: e["required"] for e in user_type.json()["schemaExtensions"]}
    assert extensions[PROVISIONING] is False


async def test_values_a_client_sends_for_the_extension_are_ignored(scim: Scim) -> None:
    forged = {"state": "synced", "auth0UserId": "auth0|forged", "roles": ["org_admin"]}
    created = await scim.request(
        "POST",
        "Users",
        {"schemas": [USER_SCHEMA, PROVISIONING], "userName": "ada", PROVISIONING: forged},
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    assert created.json()[PROVISIONING] == {"state": "pending"}

    replaced = await scim.request(
        "PUT",
        f"Users/{user_id}",
        {
            "schemas": [USER_SCHEMA, PROVISIONING],
            "userName": "ada",
            "displayName": "Ada",
            PROVISIONING: forged,
        },
    )
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()[PROVISIONING] == {"state": "pending"}
    # A read-modify-write PATCH does not store the state it read either.
    await scim.patch(
        f"Users/{user_id}", {"op": "replace", "path": "displayName", "value": "Ada L."}
    )
    async with scim.database.session() as session:
        row = (
            await session.execute(select(ScimResource).where(ScimResource.id == user_id))
        ).scalar_one()
    assert PROVISIONING not in row.document
    assert "forged" not in str(row.document)


# -- one transaction -----------------------------------------------------------


async def test_a_user_write_bumps_its_task_and_logs_why(scim: Scim) -> None:
    scim.client.headers["X-Request-Id"] = "req-42"
    user_id = await scim.user("ada", name={"givenName": "Ada"})

    task = await scim.task(user_id)
    assert task is not None and task.generation == 1
    desired = await scim.desired(user_id)
    assert (desired.member, desired.email) == (True, "ada@acme.test")
    assert desired.roles == {"org_member": ("okta@1:member",)}
    [event] = await scim.events(user_id)
    assert (event.source, event.kind, event.outcome) == ("scim", "desired.changed", "ok")
    assert event.request_id == "req-42"
    assert event.summary == "Okta created ada@acme.test: to provision with roles org_member"
    assert event.details["reasons"] == {"org_member": ["okta@1:member"]}


async def test_a_write_that_changes_no_desired_state_queues_nothing(scim: Scim) -> None:
    user_id = await scim.user("ada")
    await scim.patch(f"Users/{user_id}", {"op": "add", "path": "nickName", "value": "Countess"})
    task = await scim.task(user_id)
    assert task is not None and task.generation == 1
    assert len(await scim.events(user_id)) == 1


async def test_a_failed_request_leaves_no_task_and_no_event(
    scim: Scim, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The request fails after the desired state, the task and the event were written."""

    async def broken(self: Any, resources: Any) -> None:
        raise RuntimeError("the response could not be built")

    monkeypatch.setattr(store.ProvisioningStorage, "_show_state", broken)
    response = await scim.request(
        "POST", "Users", {"schemas": [USER_SCHEMA], "userName": "ada", "active": True}
    )
    assert response.status_code == 500
    monkeypatch.undo()

    listed = await scim.request("GET", "Users")
    assert listed.json()["totalResults"] == 0
    assert await scim.events() == []
    [refused] = await scim.events(kind="scim.request")
    assert (refused.outcome, refused.details["status"], refused.scim_id) == ("error", 500, None)


async def test_a_group_patch_failing_halfway_queues_nothing(scim: Scim) -> None:
    ada = await scim.user("ada")
    await scim.group("Taken")
    group_id = await scim.group("org_admin")
    generation = (await scim.task(ada)).generation  # type: ignore[union-attr]

    await scim.patch(
        f"Groups/{group_id}",
        {"op": "add", "path": "members", "value": [{"value": ada}]},
        {"op": "replace", "path": "displayName", "value": "Taken"},
        status=409,
    )
    assert (await scim.task(ada)).generation == generation  # type: ignore[union-attr]
    assert "org_admin" not in (await scim.desired(ada)).roles
    assert len(await scim.events(ada)) == 1


async def test_ten_group_changes_for_one_user_leave_one_task(scim: Scim) -> None:
    names = [f"team-{n}" for n in range(10)]
    await scim.rules(
        {"id": "teams", "when": {"group": {"display_name_in": names}}, "grant_matched_name": True}
    )
    ada = await scim.user("ada")
    groups = [await scim.group(name) for name in names]
    for group_id in groups:
        await scim.patch(
            f"Groups/{group_id}",
            {"op": "add", "path": "members", "value": [{"value": ada}]},
            status=204,
        )

    task = await scim.task(ada)
    assert task is not None and task.generation == 11  # the joiner, then ten changes
    assert set((await scim.desired(ada)).roles) == {"org_member", *names}
    assert (await scim.desired(ada)).roles["team-3"] == ("org:teams",)
    assert len(await scim.events(ada)) == 11


# -- which users a write affects ---------------------------------------------------


async def test_a_group_patch_recomputes_only_the_members_it_names(
    scim: Scim, recomputed: list[str]
) -> None:
    members = [await scim.user(f"user{n}") for n in range(20)]
    newcomer = await scim.user("newcomer")
    group_id = await scim.group("org_admin", members)
    recomputed.clear()

    await scim.patch(
        f"Groups/{group_id}",
        {"op": "add", "path": "members", "value": [{"value": newcomer}]},
        status=204,
    )
    assert recomputed == ["newcomer"]
    assert "org_admin" in (await scim.desired(newcomer)).roles

    recomputed.clear()
    await scim.patch(
        f"Groups/{group_id}",
        {"op": "remove", "path": f'members[value eq "{members[0]}"]'},
        status=204,
    )
    assert recomputed == ["user0"]
    assert "org_admin" not in (await scim.desired(members[0])).roles


async def test_renaming_a_group_recomputes_every_member(scim: Scim, recomputed: list[str]) -> None:
    members = [await scim.user(f"user{n}") for n in range(5)]
    group_id = await scim.group("org_admin", members)
    recomputed.clear()

    await scim.patch(
        f"Groups/{group_id}",
        {"op": "replace", "path": "displayName", "value": "Former admins"},
        status=204,
    )
    assert sorted(recomputed) == [f"user{n}" for n in range(5)]
    for member in members:
        assert "org_admin" not in (await scim.desired(member)).roles
        assert (await scim.task(member)).generation == 3  # type: ignore[union-attr]


async def test_deleting_a_group_recomputes_its_members(scim: Scim) -> None:
    ada = await scim.user("ada")
    group_id = await scim.group("org_billing", [ada])
    assert "org_billing" in (await scim.desired(ada)).roles

    response = await scim.request("DELETE", f"Groups/{group_id}")
    assert response.status_code == 204
    assert "org_billing" not in (await scim.desired(ada)).roles
    assert (await scim.task(ada)).generation == 3  # type: ignore[union-attr]


async def test_a_group_put_recomputes_the_members_it_adds_and_removes(
    scim: Scim, recomputed: list[str]
) -> None:
    ada, bob, eve = [await scim.user(name) for name in ("ada", "bob", "eve")]
    group_id = await scim.group("org_admin", [ada, bob])
    recomputed.clear()

    body = {
        "schemas": [GROUP_SCHEMA],
        "displayName": "org_admin",
        "members": [{"value": bob}, {"value": eve}],
    }
    response = await scim.request("PUT", f"Groups/{group_id}", body)
    assert response.status_code == 200, response.text
    assert sorted(recomputed) == ["ada", "eve"]


async def test_deactivating_and_deleting_a_user_deprovision_it(scim: Scim) -> None:
    ada = await scim.user("ada")
    await scim.patch(f"Users/{ada}", {"op": "replace", "path": "active", "value": False})
    state = await scim.desired(ada)
    assert (state.linked, state.member, state.roles) == (True, False, {})
    assert (await scim.events(ada))[-1].summary == "Okta deactivated ada@acme.test: to deprovision"

    response = await scim.request("DELETE", f"Users/{ada}")
    assert response.status_code == 204
    state = await scim.desired(ada)
    assert (state.linked, state.member) == (False, False)
    assert (await scim.task(ada)).generation == 3  # type: ignore[union-attr]


async def test_a_re_posted_user_is_reprovisioned(scim: Scim) -> None:
    ada = await scim.user("ada", externalId="00u1")
    await scim.request("DELETE", f"Users/{ada}")
    again = await scim.user("ada", externalId="00u1")
    assert again == ada
    assert (await scim.desired(ada)).member is True
    assert "to reprovision" in (await scim.events(ada))[-1].summary


async def test_organization_rules_apply_without_the_profile_rules_of_another_org(
    generic: Scim,
) -> None:
    await generic.rules(
        {"id": "eng", "when": {"group": {"display_name": "Engineering"}}, "grant": ["dev"]}
    )
    ada = await generic.user("ada")
    await generic.group("Engineering", [ada])
    assert (await generic.desired(ada)).roles == {
        "dev": ("org:eng",),
        "org_member": ("generic@1:member",),
    }


@pytest.mark.parametrize(
    ("operation", "status"),
    [
        ({"op": "replace", "path": f"{PROVISIONING}:state", "value": "synced"}, 400),
        ({"op": "add", "path": PROVISIONING, "value": {"state": "synced"}}, 400),
        ({"op": "remove", "path": PROVISIONING}, 200),
    ],
    ids=["replace-state", "add-extension", "remove-extension"],
)
async def test_a_patch_cannot_change_the_provisioning_state(
    scim: Scim, operation: dict[str, Any], status: int
) -> None:
    """Setting a readOnly value is a 400 mutability (RFC 7644 §3.5.2); removing it changes nothing."""
    ada = await scim.user("ada")
    response = await scim.request(
        "PATCH", f"Users/{ada}", {"schemas": [PATCH_SCHEMA], "Operations": [operation]}
    )
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["scimType"] == "mutability"
    got = await scim.request("GET", f"Users/{ada}")
    assert got.json()[PROVISIONING] == {"state": "pending"}
