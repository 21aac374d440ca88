"""Every SCIM write leaves one mapping-log event, answered or refused, with no secret in it."""

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from scim_server.intake.tenancy import Tenancy
from scim_server.storage.organizations import get_organization
from scim_server.support.mapping_log import LogEntry
from scim_server.support.mapping_log import LogQuery
from scim_server.support.mapping_log import search_log
from tests.helpers.tenants import Tenant

pytestmark = pytest.mark.anyio

PASSWORD = "Okta-Sent-S3cret!"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def new_user(email: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER],
        "userName": email,
        "externalId": f"ext-{email}",
        "password": PASSWORD,
        "emails": [{"value": email, "primary": True}],
        **extra,
    }


async def requests_of(app: Starlette, org_key: str, user: str | None = None) -> list[LogEntry]:
    tenancy: Tenancy = app.state.tenancy
    async with tenancy.session() as session:
        org = await get_organization(session, org_key)
        assert org.id is not None
        found = await search_log(session, org_id=org.id, query=LogQuery(user=user))
    return [entry for entry in found if entry.kind == "scim.request"]


async def test_an_answered_write_names_the_attributes_it_touched_never_their_values(
    client: httpx.AsyncClient, app: Starlette, acme: Tenant
) -> None:
    created = await client.post(
        f"{acme.base}/Users", json=new_user("ann@acme.test"), headers=acme.headers
    )
    ann = created.json()["id"]
    patched = await client.patch(
        f"{acme.base}/Users/{ann}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
        headers={**acme.headers, "X-Request-Id": "req-patch"},
    )
    assert (created.status_code, patched.status_code) == (201, 200)

    post, patch = await requests_of(app, "acme", "ann@acme.test")

    assert (post.scim_id, post.outcome, post.actor) == (ann, "ok", "test")
    assert post.summary == "The SCIM client POST /Users -> 201 (ann@acme.test)"
    assert post.details["attributes"] == ["emails", "externalId", "password", "userName"]
    assert (post.user_name, post.external_id, post.email) == (
        "ann@acme.test",
        "ext-ann@acme.test",
        "ann@acme.test",
    )
    assert (patch.scim_id, patch.request_id) == (ann, "req-patch")
    assert patch.details == {
        "method": "PATCH",
        "path": f"/Users/{ann}",
        "status": 200,
        "attributes": ["replace active"],
    }
    assert PASSWORD not in repr([post.to_json(), patch.to_json()])


async def test_a_refused_write_is_logged_with_its_scim_error_and_writes_nothing_else(
    client: httpx.AsyncClient, app: Starlette, okta: Tenant
) -> None:
    first = await client.post(
        f"{okta.base}/Users", json=new_user("bo@initech.test"), headers=okta.headers
    )
    again = await client.post(
        f"{okta.base}/Users",
        json=new_user("BO@initech.test", externalId="other"),
        headers=okta.headers,
    )
    assert (first.status_code, again.status_code) == (201, 409)

    events = await requests_of(app, "initech", "bo@initech.test")

    [refused] = [event for event in events if event.outcome == "error"]
    assert refused.summary.startswith("Okta POST /Users -> 409 (BO@initech.test): uniqueness: ")
    assert refused.details["error"].startswith("uniqueness: ")
    assert refused.scim_id is None and refused.external_id == "other"
    listing = await client.get(f"{okta.base}/Users", headers=okta.headers)
    assert listing.json()["totalResults"] == 1
    assert PASSWORD not in repr(refused.to_json())


async def test_a_body_that_is_no_json_is_refused_and_logged(
    client: httpx.AsyncClient, app: Starlette, acme: Tenant
) -> None:
    response = await client.post(
        f"{acme.base}/Users",
        content=b"{not json",
        headers={**acme.headers, "Content-Type": "application/scim+json"},
    )
    assert response.status_code == 400

    [refused] = await requests_of(app, "acme")
    assert (refused.outcome, refused.details["status"], refused.details["attributes"]) == (
        "error",
        400,
        [],
    )


async def test_reads_and_unauthenticated_writes_leave_no_event(
    client: httpx.AsyncClient, app: Starlette, acme: Tenant, globex: Tenant
) -> None:
    await client.get(f"{acme.base}/Users", headers=acme.headers)
    stranger = await client.post(
        f"{acme.base}/Users", json=new_user("eve@acme.test"), headers=globex.headers
    )
    assert stranger.status_code == 401

    assert await requests_of(app, "acme") == []
    assert await requests_of(app, "globex") == []
