"""Identity modes ``link`` and ``invite`` from SCIM request to Auth0 state (DESIGN §6).

The application serves SCIM and the login hook in-process (httpx over ASGI); the worker is
driven by hand on a fake clock, against the emulator with the real SDK, so that a pending
invitation's recheck (at the slow cadence) costs no waiting.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.config import Settings
from scim_server.provisioning.reconciler import InvitationSettings
from scim_server.provisioning.worker import Worker
from scim_server.sandbox import Emulator
from scim_server.storage.links import get_link
from scim_server.storage.organizations import create_organization
from scim_server.storage.tables import IdentityLink
from scim_server.storage.tokens import issue_token
from scim_server.web.app import create_app
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on
from tests.helpers.auth0 import member_roles
from tests.helpers.auth0 import members
from tests.helpers.auth0 import org_id
from tests.helpers.auth0 import users_with_email
from tests.helpers.clock import FakeClock
from tests.helpers.workers import fake_clock_worker

pytestmark = pytest.mark.anyio

HOOK_SECRET = "post-login-action-secret"
ENTERPRISE_CONNECTION = "acme-okta"
SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Setup:
    app: Starlette
    emulator: Emulator
    gateway: ManagementApiGateway
    clock: FakeClock
    org_pk: int = 0

    def worker(self) -> Worker:
        return fake_clock_worker(
            self.app.state.tenancy.database,
            self.gateway,
            self.clock,
            invitations=InvitationSettings("app_client", "Acme IT"),
        )

    async def org(self, mode: str, connection: str) -> httpx.AsyncClient:
        """Add organization ``acme`` in ``mode``; return a SCIM client with its token."""
        async with self.app.state.tenancy.database.session() as session:
            org = await create_organization(
                session,
                key="acme",
                auth0_org=org_id(self.emulator),
                connection=connection,
                identity_mode=mode,
                profile="okta",
            )
            _, token = await issue_token(session, org=org, name="idp", expires_in=None)
            await session.commit()
            assert org.id is not None
            self.org_pk = org.id
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app),
            base_url="http://testserver/scim/v2/acme",
            headers={"Authorization": f"Bearer {token}", "Content-Type": SCIM},
        )

    async def link(self, scim_id: str) -> IdentityLink:
        async with self.app.state.tenancy.database.session() as session:
            return await get_link(session, org_id=self.org_pk, scim_id=scim_id)


@pytest.fixture
async def setup(database_url: str, engine: AsyncEngine) -> AsyncIterator[Setup]:
    clock = FakeClock()
    emulator = demo_emulator(clock=clock.time)
    gateway = gateway_on(emulator, clock=clock)
    app = create_app(Settings(SCIM_DATABASE_URL=database_url, SCIM_HOOK_SECRET=HOOK_SECRET))
    yield Setup(app, emulator, gateway, clock)
    await gateway.aclose()
    await app.state.tenancy.close()


async def joiner(scim: httpx.AsyncClient, email: str) -> str:
    response = await scim.post(
        "/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": email,
            "externalId": f"00u-{email}",
            "name": {"givenName": "Ann", "familyName": "Lee"},
            "emails": [{"value": email, "primary": True}],
            "active": True,
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def admins_group(scim: httpx.AsyncClient, *user_ids: str) -> str:
    response = await scim.post(
        "/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "org_admin",
            "members": [{"value": i} for i in user_ids],
        },
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def login(emulator: Emulator, user: dict[str, Any]) -> dict[str, str]:
    return {
        "user_id": user["user_id"],
        "email": user["email"],
        "org_id": org_id(emulator),
        "org_name": "acme",
        "connection": ENTERPRISE_CONNECTION,
    }


async def test_link_mode_waits_for_the_login_hook_then_adds_membership_and_roles(
    setup: Setup,
) -> None:
    scim = await setup.org("link", ENTERPRISE_CONNECTION)
    worker = setup.worker()
    ann = await joiner(scim, "ann@acme.test")
    await admins_group(scim, ann)

    await worker.run_until_idle()
    assert (await setup.link(ann)).state == "awaiting_login"
    assert users_with_email(setup.emulator, "ann@acme.test") == []

    # Ann's first login through the enterprise connection creates her Auth0 user; the
    # post-login Action reports it.
    user = setup.emulator.tenant.log_in(connection=ENTERPRISE_CONNECTION, email="ann@acme.test")
    hooks = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=setup.app), base_url="http://testserver"
    )
    async with hooks:
        refused = await hooks.post(
            "/hooks/auth0/login",
            json=login(setup.emulator, user),
            headers={"Authorization": "Bearer not-the-secret"},
        )
        assert refused.status_code == 401
        assert (await setup.link(ann)).auth0_user_id is None
        accepted = await hooks.post(
            "/hooks/auth0/login",
            json=login(setup.emulator, user),
            headers={"Authorization": f"Bearer {HOOK_SECRET}"},
        )
    assert accepted.status_code == 200 and accepted.json() == {"linked": 1}

    await worker.run_until_idle()

    link = await setup.link(ann)
    assert (link.state, link.auth0_user_id, link.link_method, link.owned) == (
        "synced",
        user["user_id"],
        "login_hook",
        False,
    )
    assert members(setup.emulator) == {user["user_id"]}
    assert member_roles(setup.emulator, user["user_id"]) == {"org_admin", "org_member"}
    assert users_with_email(setup.emulator, "ann@acme.test") == [user]
    shown = (await scim.get(f"/Users/{ann}")).json()
    extension = shown["urn:ietf:params:scim:schemas:extension:scim-server:2.0:Provisioning"]
    assert extension["auth0UserId"] == user["user_id"]
    await scim.aclose()


async def test_link_mode_links_a_user_who_already_logged_in_by_email(setup: Setup) -> None:
    user = setup.emulator.tenant.log_in(connection=ENTERPRISE_CONNECTION, email="bo@acme.test")
    scim = await setup.org("link", ENTERPRISE_CONNECTION)
    bo = await joiner(scim, "bo@acme.test")

    await setup.worker().run_until_idle()

    link = await setup.link(bo)
    assert (link.state, link.auth0_user_id, link.link_method) == (
        "synced",
        user["user_id"],
        "matched_email",
    )
    assert member_roles(setup.emulator, user["user_id"]) == {"org_member"}
    await scim.aclose()


async def test_invite_mode_invites_with_roles_and_links_the_account_once_accepted(
    setup: Setup,
) -> None:
    scim = await setup.org("invite", DATABASE)
    worker = setup.worker()
    ann = await joiner(scim, "ann@acme.test")
    group = await admins_group(scim, ann)

    await worker.run_until_idle()

    assert (await setup.link(ann)).state == "invited"
    [invitation] = setup.emulator.tenant.invitations[org_id(setup.emulator)].values()
    assert invitation["invitee"] == {"email": "ann@acme.test"}
    assert invitation["client_id"] == "app_client"
    roles = {setup.emulator.tenant.roles[i]["name"] for i in invitation["roles"]}
    assert roles == {"org_admin", "org_member"}
    assert users_with_email(setup.emulator, "ann@acme.test") == []

    user = setup.emulator.tenant.accept_invitation(
        org_id(setup.emulator), invitation["id"], connection=DATABASE
    )
    setup.clock.advance(24 * 3600)  # the invitation is checked again at the slow cadence
    await worker.run_until_idle()

    link = await setup.link(ann)
    assert (link.state, link.auth0_user_id, link.link_method, link.owned) == (
        "synced",
        user["user_id"],
        "invitation",
        False,
    )
    assert members(setup.emulator) == {user["user_id"]}
    assert member_roles(setup.emulator, user["user_id"]) == {"org_admin", "org_member"}

    # The invitation's roles are ours: a mover loses the one its group gave.
    removed = await scim.patch(
        f"/Groups/{group}",
        json={
            "schemas": [PATCH_OP],
            "Operations": [{"op": "remove", "path": f'members[value eq "{ann}"]'}],
        },
    )
    assert removed.status_code in (200, 204)
    await worker.run_until_idle()
    assert member_roles(setup.emulator, user["user_id"]) == {"org_member"}
    await scim.aclose()


async def test_invite_mode_deletes_the_invitation_of_a_user_deprovisioned_before_accepting(
    setup: Setup,
) -> None:
    scim = await setup.org("invite", DATABASE)
    worker = setup.worker()
    bob = await joiner(scim, "bob@acme.test")
    await worker.run_until_idle()
    assert len(setup.emulator.tenant.invitations[org_id(setup.emulator)]) == 1

    assert (await scim.delete(f"/Users/{bob}")).status_code == 204
    await worker.run_until_idle()

    assert setup.emulator.tenant.invitations[org_id(setup.emulator)] == {}
    link = await setup.link(bob)
    assert (link.state, link.invitation_id, link.auth0_user_id) == ("deprovisioned", None, None)
    assert users_with_email(setup.emulator, "bob@acme.test") == []
    await scim.aclose()


async def test_invite_mode_removes_a_user_who_accepted_just_before_being_deactivated(
    setup: Setup,
) -> None:
    scim = await setup.org("invite", DATABASE)
    worker = setup.worker()
    cy = await joiner(scim, "cy@acme.test")
    await worker.run_until_idle()
    [invitation] = setup.emulator.tenant.invitations[org_id(setup.emulator)].values()
    user = setup.emulator.tenant.accept_invitation(
        org_id(setup.emulator), invitation["id"], connection=DATABASE
    )

    # Deactivated before the worker's next look at the invitation.
    deactivated = await scim.patch(
        f"/Users/{cy}",
        json={"schemas": [PATCH_OP], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert deactivated.status_code == 200, deactivated.text
    await worker.run_until_idle()

    assert user["user_id"] not in members(setup.emulator)
    link = await setup.link(cy)
    assert (link.state, link.auth0_user_id, link.owned) == ("deprovisioned", user["user_id"], False)
    assert not setup.emulator.tenant.users[user["user_id"]].get("blocked")
    await scim.aclose()


async def test_invite_mode_removes_a_user_who_accepted_just_before_being_deleted(
    setup: Setup,
) -> None:
    scim = await setup.org("invite", DATABASE)
    worker = setup.worker()
    dee = await joiner(scim, "dee@acme.test")
    await admins_group(scim, dee)
    await worker.run_until_idle()
    [invitation] = setup.emulator.tenant.invitations[org_id(setup.emulator)].values()
    user = setup.emulator.tenant.accept_invitation(
        org_id(setup.emulator), invitation["id"], connection=DATABASE
    )
    assert member_roles(setup.emulator, user["user_id"]) == {"org_admin", "org_member"}

    # Deleted outright before the worker's next look: the desired state has no email left,
    # so the invitee is found by the email the invitation was sent to.
    assert (await scim.delete(f"/Users/{dee}")).status_code == 204
    await worker.run_until_idle()

    assert user["user_id"] not in members(setup.emulator)
    assert member_roles(setup.emulator, user["user_id"]) == set()
    link = await setup.link(dee)
    assert (link.state, link.auth0_user_id, link.owned) == ("deprovisioned", user["user_id"], False)
    assert not setup.emulator.tenant.users[user["user_id"]].get("blocked")
    await scim.aclose()
