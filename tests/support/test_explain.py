"""Explain: the rule behind each role, applied state, pending steps and errors, by any identity key."""

from dataclasses import replace
from datetime import UTC
from datetime import datetime
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from scim_server.config import Settings
from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.profile import load_profiles
from scim_server.mapping.rules import RoleRule
from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.planner import AppliedState
from scim_server.provisioning.planner import profile_digest
from scim_server.storage.database import Database
from scim_server.storage.events import append_event
from scim_server.storage.links import get_link
from scim_server.storage.organizations import get_organization
from scim_server.storage.queue import claim_due
from scim_server.storage.queue import finish
from scim_server.storage.queue import reschedule
from scim_server.storage.rules import replace_rules
from scim_server.storage.tables import ScimResource
from scim_server.support.explain import Explanation
from scim_server.support.explain import describe_rule
from scim_server.support.explain import explain_user
from tests.helpers.tenants import Tenant
from tests.helpers.tenants import add_tenant
from tests.web.conftest import app  # noqa: F401
from tests.web.conftest import client  # noqa: F401
from tests.web.conftest import okta  # noqa: F401

pytestmark = pytest.mark.anyio

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

ENGINEERS = {
    "id": "engineers",
    "when": {"group": {"display_name": "Engineering"}},
    "grant": ["eng"],
}
PROFILE_GROUP_RULE = (
    "group displayName in [org_admin, org_billing], granting the role of the same name"
)


class Support:
    """A SCIM client of one Okta-profile tenant, and explain on its database."""

    def __init__(self, http: httpx.AsyncClient, tenant: Tenant, database: Database) -> None:
        self.http, self.tenant, self.database = http, tenant, database
        self.profiles: dict[str, MappingProfile] = load_profiles(Settings().mappings_dir)

    async def request(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        response = await self.http.request(
            method, f"{self.tenant.base}/{path}", json=body, headers=self.tenant.headers
        )
        assert response.status_code in (200, 201), response.text
        result: dict[str, Any] = response.json()
        return result

    async def user(self, name: str, *groups: str, **extra: Any) -> str:
        user = await self.request(
            "POST",
            "Users",
            {
                "schemas": [USER_SCHEMA],
                "userName": f"{name}@acme.test",
                "externalId": f"00u-{name}",
                "emails": [{"value": f"{name}@acme.test", "primary": True}],
                **extra,
            },
        )
        for group in groups:
            await self.request(
                "POST",
                "Groups",
                {
                    "schemas": [GROUP_SCHEMA],
                    "displayName": group,
                    "members": [{"value": user["id"]}],
                },
            )
        return str(user["id"])

    async def rules(self, *definitions: dict[str, Any]) -> None:
        async with self.database.session() as session:
            org = await get_organization(session, self.tenant.key)
            assert org.id is not None
            await replace_rules(session, org_id=org.id, definitions=definitions)
            await session.commit()

    async def explain(self, key: str, tenant: Tenant | None = None) -> list[Explanation]:
        async with self.database.session() as session:
            org = await get_organization(session, (tenant or self.tenant).key)
            return await explain_user(session, org=org, key=key, profiles=self.profiles)

    async def confirm(
        self, scim_id: str, applied: AppliedState, *, error: str | None = None
    ) -> None:
        """Do what the worker does after a reconcile: record the applied state, settle the task."""
        async with self.database.session() as session:
            org = await get_organization(session, self.tenant.key)
            assert org.id is not None
            link = await get_link(session, org_id=org.id, scim_id=scim_id)
            digest = profile_digest(DesiredState.from_json(link.desired).profile)
            link.applied = replace(applied, profile_digest=digest).to_json()
            link.auth0_user_id = applied.auth0_user_id
            link.owned = True
            link.link_method = "created"
            link.state = "error" if error else "synced"
            link.last_error = error
            link.last_synced_at = None if error else NOW
            for task in await claim_due(session, worker="w1", now=datetime.now(UTC), limit=100):
                if error:
                    await reschedule(session, task, due_at=NOW, error=error)
                else:
                    await finish(session, task)
            await session.commit()

    async def log_error(self, scim_id: str, summary: str) -> None:
        async with self.database.session() as session:
            org = await get_organization(session, self.tenant.key)
            assert org.id is not None
            await append_event(
                session,
                org_id=org.id,
                source="worker",
                kind="sync.failed",
                summary=summary,
                at=NOW,
                outcome="error",
                scim_id=scim_id,
            )
            await session.commit()


@pytest.fixture
def support(client: httpx.AsyncClient, okta: Tenant, app: Starlette) -> Support:  # noqa: F811
    return Support(client, okta, app.state.tenancy.database)


def roles_and_rules(explanation: Explanation) -> dict[str, list[tuple[str, str | None]]]:
    desired = explanation.to_json()["desired"]
    return {
        role["role"]: [(b["citation"], b["rule"]) for b in role["because"]]
        for role in desired["roles"]
    }


async def test_explain_names_the_rule_behind_each_role(support: Support) -> None:
    await support.rules(ENGINEERS)
    scim_id = await support.user("jdoe", "org_admin", "Engineering")

    [explanation] = await support.explain("jdoe@acme.test")

    assert explanation.identity.scim_id == scim_id
    assert roles_and_rules(explanation) == {
        "eng": [("org:engineers", "group displayName = Engineering")],
        "org_admin": [("okta@1:group-named-like-role", PROFILE_GROUP_RULE)],
        "org_member": [("okta@1:member", "every active user (default)")],
    }
    assert explanation.to_json()["scim"] == {"active": None, "groups": ["Engineering", "org_admin"]}


async def test_a_new_user_is_queued_with_every_step_to_run(support: Support) -> None:
    await support.user("jdoe", "org_admin")

    [explanation] = await support.explain("jdoe@acme.test")

    found = explanation.to_json()
    assert found["state"] == "pending"
    assert found["applied"] == {
        "member": False,
        "roles": [],
        "auth0_user_id": None,
        "owned": False,
        "link_method": None,
        "blocked": False,
        "invitation_id": None,
        "access_revoked": False,
    }
    assert found["pending"]["queued"] is True
    assert found["pending"]["attempts"] == 0
    assert found["pending"]["steps"] == [
        "link the Auth0 user with email jdoe@acme.test in connection "
        "Username-Password-Authentication or create it",
        "add as a member of Auth0 organization org_initech",
        "assign roles org_admin, org_member",
    ]


async def test_applied_state_and_the_steps_left(support: Support) -> None:
    await support.rules(ENGINEERS)
    scim_id = await support.user("jdoe", "org_admin", "Engineering")
    applied = AppliedState(
        auth0_user_id="auth0|jdoe", member=True, roles={"org_admin": "rol_1", "org_member": "rol_2"}
    )
    await support.confirm(scim_id, applied, error="Auth0 404: role eng does not exist")

    [explanation] = await support.explain("jdoe@acme.test")

    found = explanation.to_json()
    assert found["identity"]["auth0_user_id"] == "auth0|jdoe"
    assert (found["state"], found["last_error"]) == ("error", "Auth0 404: role eng does not exist")
    assert found["applied"]["roles"] == ["org_admin", "org_member"]
    assert found["applied"]["member"] is True
    pending = found["pending"]
    assert (pending["queued"], pending["attempts"], pending["due_at"]) == (
        True,
        1,
        "2030-01-01T12:00:00Z",
    )
    assert pending["last_error"] == "Auth0 404: role eng does not exist"
    assert pending["steps"] == ["assign roles eng"]


async def test_a_synced_user_has_nothing_pending(support: Support) -> None:
    scim_id = await support.user("jdoe")
    [before] = await support.explain("jdoe@acme.test")
    assert before.pending.queued is True

    await support.confirm(
        scim_id,
        AppliedState(auth0_user_id="auth0|jdoe", member=True, roles={"org_member": "rol_2"}),
    )
    [explanation] = await support.explain("jdoe@acme.test")

    assert (explanation.pending.queued, explanation.pending.steps) == (False, ())
    assert explanation.to_json()["last_synced_at"] == "2030-01-01T12:00:00Z"


async def test_a_deactivated_user_explains_its_deprovisioning(support: Support) -> None:
    scim_id = await support.user("jdoe", "org_admin")
    applied = AppliedState(
        auth0_user_id="auth0|jdoe", member=True, roles={"org_admin": "r1", "org_member": "r2"}
    )
    await support.confirm(scim_id, applied)
    await support.request(
        "PATCH",
        f"Users/{scim_id}",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )

    [explanation] = await support.explain("00u-jdoe")

    found = explanation.to_json()
    assert found["scim"]["active"] is False
    assert found["desired"] == {"member": False, "roles": [], "email": "jdoe@acme.test"}
    assert found["pending"]["steps"] == [
        "remove roles org_admin, org_member",
        "remove from Auth0 organization org_initech",
        "revoke sessions and refresh tokens (if a member of no other organization)",
        "block the Auth0 user (if a member of no other organization)",
    ]


async def test_every_identity_key_finds_the_same_user(support: Support) -> None:
    scim_id = await support.user("jdoe")
    await support.confirm(scim_id, AppliedState(auth0_user_id="auth0|jdoe", member=True))

    for key in [scim_id, "00u-jdoe", "JDoe@Acme.test", "auth0|jdoe"]:
        assert [e.identity.scim_id for e in await support.explain(key)] == [scim_id], key


async def test_an_unknown_key_explains_nothing(support: Support) -> None:
    await support.user("jdoe")

    assert await support.explain("nobody@acme.test") == []


async def test_another_org_cannot_explain_our_users(support: Support) -> None:
    scim_id = await support.user("jdoe")
    globex = await add_tenant(support.database, "globex", profile="okta")

    for key in [scim_id, "00u-jdoe", "jdoe@acme.test"]:
        assert await support.explain(key, tenant=globex) == []


async def test_a_deleted_user_is_explained_as_deleted(support: Support) -> None:
    scim_id = await support.user("jdoe")
    response = await support.http.delete(
        f"{support.tenant.base}/Users/{scim_id}", headers=support.tenant.headers
    )
    assert response.status_code == 204

    [explanation] = await support.explain("jdoe@acme.test")

    found = explanation.to_json()
    assert found["identity"]["deleted"] is True
    assert found["scim"] == {"active": None, "groups": []}
    assert found["desired"]["member"] is False


async def test_recent_errors_are_the_users_own(support: Support) -> None:
    jdoe, other = await support.user("jdoe"), await support.user("asmith")
    await support.log_error(jdoe, "Auth0 refused jdoe@acme.test: connection disabled")
    await support.log_error(other, "Auth0 refused asmith@acme.test: connection disabled")

    [explanation] = await support.explain("jdoe@acme.test")

    assert [e["summary"] for e in explanation.to_json()["recent_errors"]] == [
        "Auth0 refused jdoe@acme.test: connection disabled"
    ]


async def test_a_role_granted_by_a_rule_since_removed_says_so(support: Support) -> None:
    await support.rules(ENGINEERS)
    await support.user("jdoe", "Engineering")
    # Replaced without recomputing users (the CLI and API do recompute): the citation stays.
    await support.rules()

    [explanation] = await support.explain("jdoe@acme.test")

    assert roles_and_rules(explanation)["eng"] == [("org:engineers", None)]


@pytest.mark.parametrize(
    ("when", "text"),
    [
        ({"default": True}, "every active user (default)"),
        ({"group": {"display_name": "Admins"}}, "group displayName = Admins"),
        ({"group": {"display_name_in": ["A", "B"]}}, "group displayName in [A, B]"),
        ({"group": {"external_id": "grp-ops"}}, "group externalId = grp-ops"),
        ({"attribute": {"path": "title", "equals": "CTO"}}, "title = CTO"),
        ({"attribute": {"path": "title", "in": ["CTO", 3]}}, "title in [CTO, 3]"),
        ({"attribute": {"path": "title", "present": True}}, "title is present"),
        ({"scim_role": {"equals": "auditor"}}, "SCIM role = auditor"),
        ({"scim_role": {"in": ["auditor", "viewer"]}}, "SCIM role in [auditor, viewer]"),
    ],
)
def test_each_matcher_is_said_in_words(when: dict[str, Any], text: str) -> None:
    assert describe_rule(RoleRule.model_validate({"id": "r", "when": when, "grant": ["x"]})) == text


async def test_a_key_naming_two_users_explains_both(support: Support) -> None:
    first = await support.user("jdoe")
    # Another user whose userName is the first one's externalId: both are "00u-jdoe".
    second = await support.request(
        "POST", "Users", {"schemas": [USER_SCHEMA], "userName": "00u-jdoe"}
    )

    found = await support.explain("00u-jdoe")

    assert [e.identity.scim_id for e in found] == [first, second["id"]]
    assert [e.desired.email if e.desired else None for e in found] == ["jdoe@acme.test", None]


async def test_a_user_without_a_desired_state_is_explained_as_never_provisioned(
    support: Support,
) -> None:
    async with support.database.session() as session:
        org = await get_organization(session, support.tenant.key)
        assert org.id is not None
        session.add(
            ScimResource(
                id="legacy-1",
                org_id=org.id,
                resource_type="User",
                document={"userName": "legacy@acme.test"},
                search_document={},
                user_name_key="legacy@acme.test",
            )
        )
        await session.commit()

    [explanation] = await support.explain("legacy@acme.test")

    found = explanation.to_json()
    assert (found["state"], found["desired"], found["applied"]) == (None, None, None)
    assert found["pending"] == {
        "queued": False,
        "due_at": None,
        "attempts": 0,
        "last_error": None,
        "steps": [],
    }
