"""``scim-server serve --sandbox`` as a newcomer runs it: a user and a group PATCH through real
uvicorn reach the in-process Auth0 emulator, membership and mapped roles included, within a second."""

import time
from typing import Any

import httpx
import pytest

from tests.helpers.server import Cli

pytestmark = pytest.mark.e2e

SCIM = "application/scim+json"


def acme_state(http: httpx.Client) -> tuple[dict[str, Any], dict[str, Any]]:
    state = http.get("/__auth0__/__emulator__/state").json()
    [acme] = [o for o in state["organizations"].values() if o["name"] == "acme"]
    return state, acme


def test_a_user_and_a_group_patch_show_up_in_auth0_within_a_second(tmp_path: Any) -> None:
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}")
    with cli.serve("--sandbox") as url:
        token = cli.run("token", "issue", "acme").splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            user = http.post(
                "/scim/v2/acme/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "ann@acme.test",
                    "externalId": "00u1",
                    "name": {"givenName": "Ann", "familyName": "Lee"},
                    "emails": [{"value": "ann@acme.test", "primary": True}],
                    "active": True,
                },
            )
            assert user.status_code == 201, user.text
            group = http.post(
                "/scim/v2/acme/Groups",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                    "displayName": "org_admin",
                },
            )
            assert group.status_code == 201, group.text
            patched = http.patch(
                f"/scim/v2/acme/Groups/{group.json()['id']}",
                json={
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": user.json()["id"]}]}
                    ],
                },
            )
            assert patched.status_code in (200, 204), patched.text
            started = time.monotonic()

            roles: list[str] = []
            while time.monotonic() - started < 1.0:
                state, acme = acme_state(http)
                users = [u for u in state["users"].values() if u["email"] == "ann@acme.test"]
                if users and users[0]["user_id"] in state["members"][acme["id"]]:
                    roles = state["member_roles"][acme["id"]].get(users[0]["user_id"], [])
                    if roles == ["org_admin", "org_member"]:
                        break
                time.sleep(0.05)

            assert roles == ["org_admin", "org_member"]
            assert len(users) == 1
