"""The server pointed at an Auth0 emulator in another process, as an operator would run them.

One emulator (``python -m scim_server.sandbox``) and one ``scim-server serve`` (its worker on,
``AUTH0_MANAGEMENT_URL`` and the credentials in its environment) serve the whole module, each
test in its own organization; every assertion reads the emulator's final state over its admin
surface. ``benchmarks/burst.py`` is the 200-joiner, 5 rps version of the first test.
"""

import asyncio
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from scim_server.storage.migrate import migrate
from scim_server.storage.organizations import create_organization
from scim_server.storage.session import open_session
from scim_server.storage.tokens import issue_token
from tests.helpers.server import Cli
from tests.helpers.server import free_port

# One worker builds the module's server fixtures once (pytest-xdist runs the suite).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("provisioning_external")]

SCIM = "application/scim+json"
DATABASE = "Username-Password-Authentication"
CLIENT_ID = "external-tests"
RPS = 200
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
CONVERGENCE_SECONDS = 15
FAULTY_CONVERGENCE_SECONDS = 60
STARTUP_SECONDS = 30

State = dict[str, Any]


@dataclass(frozen=True)
class ExternalCli(Cli):
    """The ``scim-server`` command configured with an external Auth0 (the emulator)."""

    auth0: tuple[tuple[str, str], ...] = ()

    @property
    def env(self) -> dict[str, str]:
        return {**super().env, **dict(self.auth0)}


@dataclass(frozen=True)
class Deployment:
    """The emulator and the server, with a token per organization."""

    emulator: httpx.Client
    server: str
    tokens: dict[str, str]

    def scim(self, org: str) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[org]}", "Content-Type": SCIM}
        return httpx.Client(base_url=f"{self.server}/scim/v2/{org}", headers=headers, timeout=10)

    def state(self) -> State:
        state: State = self.emulator.get("/__emulator__/state").json()
        return state

    def converge(
        self, check: Callable[[State], bool], what: str, *, within: float = CONVERGENCE_SECONDS
    ) -> State:
        """Poll the emulator until ``check`` holds (the worker runs in the server's process)."""
        deadline = time.monotonic() + within
        while True:
            state = self.state()
            if check(state):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"not converged within {within} s: {what}")
            time.sleep(0.05)


def org_id(state: State, name: str) -> str:
    [found] = [o["id"] for o in state["organizations"].values() if o["name"] == name]
    return str(found)


def users_with(state: State, email: str) -> list[dict[str, Any]]:
    """Return the Auth0 users with this email (Auth0 stores emails lower-cased)."""
    return [u for u in state["users"].values() if u.get("email") == email.lower()]


def the_user(state: State, email: str) -> dict[str, Any]:
    [user] = users_with(state, email)
    return user


def members(state: State, org: str) -> set[str]:
    return set(state["members"].get(org_id(state, org), []))


def roles(state: State, org: str, email: str) -> list[str]:
    found = users_with(state, email)
    if len(found) != 1:
        return []
    granted: list[str] = state["member_roles"][org_id(state, org)].get(found[0]["user_id"], [])
    return granted


def revoked(state: State, email: str) -> bool:
    user_id = the_user(state, email)["user_id"]
    return any(user_id in revocation for revocation in state["revocations"])


def wait_for_emulator(url: str, process: "subprocess.Popen[bytes]") -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, "the emulator exited"
        try:
            if httpx.get(f"{url}/__emulator__/state", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"the emulator did not answer within {STARTUP_SECONDS} s")


async def add_organizations(database_url: str) -> dict[str, str]:
    """Add the organizations and issue their tokens as the CLI does (in-process: faster)."""
    tokens = {}
    async with open_session(database_url) as session:
        for key, profile in (("acme", "okta"), ("burst", "okta"), ("contoso", "entra")):
            org = await create_organization(
                session, key=key, auth0_org=key, connection=DATABASE, profile=profile
            )
            _, tokens[key] = await issue_token(session, org=org, name="e2e", expires_in=None)
    return tokens


@pytest.fixture(scope="module")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(16)
    emulator_command = [
        sys.executable, "-m", "scim_server.sandbox", "--port", str(port), "--rps", str(RPS),
        "--client-id", CLIENT_ID, f"--client-secret={secret}",
    ]  # fmt: skip
    process = subprocess.Popen(emulator_command, stdout=subprocess.DEVNULL)
    try:
        wait_for_emulator(url, process)
        with httpx.Client(base_url=url, timeout=10) as emulator:
            emulator.post(
                "/__emulator__/seed",
                json={
                    "roles": [
                        {"name": "org_member"},
                        {"name": "org_admin"},
                        {"name": "org_billing"},
                    ],
                    "organizations": [
                        {"name": name, "connections": [DATABASE]} for name in ("burst", "contoso")
                    ]
                    + [
                        {
                            "name": "globex",
                            "connections": [DATABASE],
                            "assign_membership_on_login": True,
                        }
                    ],
                },
            ).raise_for_status()
            cli = ExternalCli(
                f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('external') / 'scim.db'}",
                auth0=(
                    ("AUTH0_MANAGEMENT_URL", url),
                    ("AUTH0_DOMAIN", f"127.0.0.1:{port}"),
                    ("AUTH0_CLIENT_ID", CLIENT_ID),
                    ("AUTH0_CLIENT_SECRET", secret),
                    ("AUTH0_MAX_RPS", str(RPS)),
                ),
            )
            migrate(cli.database_url)
            tokens = asyncio.run(add_organizations(cli.database_url))
            with cli.serve() as server:
                yield Deployment(emulator, server, tokens)
    finally:
        process.terminate()
        process.wait(timeout=15)


def okta_user(email: str, external_id: str, given: str) -> dict[str, Any]:
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": email,
        "externalId": external_id,
        "name": {"givenName": given, "familyName": "Example"},
        "displayName": f"{given} Example",
        "emails": [{"value": email, "primary": True, "type": "work"}],
        "active": True,
    }


def created(response: httpx.Response) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def patched(scim: httpx.Client, path: str, *operations: dict[str, Any]) -> None:
    response = scim.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)})
    assert response.status_code in (200, 204), response.text


def test_twenty_joiners_under_20_percent_503s_converge_to_exactly_the_right_state(
    deployment: Deployment,
) -> None:
    fault = {"endpoint": "*", "status": 503, "times": None, "probability": 0.2}
    deployment.emulator.post("/__emulator__/faults", json=fault).raise_for_status()
    deployment.emulator.delete("/__emulator__/calls")
    emails = [f"joiner{n}@burst.test" for n in range(20)]
    try:
        with deployment.scim("burst") as scim:
            ids = [
                created(scim.post("/Users", json=okta_user(e, f"00b{n}", "J")))
                for n, e in enumerate(emails)
            ]
            created(
                scim.post(
                    "/Groups",
                    json={
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                        "displayName": "org_admin",
                        "members": [{"value": i} for i in ids[:5]],
                    },
                )
            )
        expected = {
            e: ["org_admin", "org_member"] if n < 5 else ["org_member"]
            for n, e in enumerate(emails)
        }

        state = deployment.converge(
            lambda s: all(roles(s, "burst", e) == r for e, r in expected.items()),
            "20 joiners with their roles",
            # Typically 5 to 10 s: a joiner whose calls keep meeting 503s backs off exponentially.
            within=FAULTY_CONVERGENCE_SECONDS,
        )
    finally:
        deployment.emulator.delete("/__emulator__/faults")

    assert all(len(users_with(state, email)) == 1 for email in emails)
    assert members(state, "burst") == {the_user(state, e)["user_id"] for e in emails}
    calls = deployment.emulator.get("/__emulator__/calls").json()
    assert any(call["status"] == 503 for call in calls), "the faults were in force"


def test_an_okta_lifecycle_joiner_group_push_mover_leaver_rehire(deployment: Deployment) -> None:
    ann, carl = "ann@acme.test", "carl@partner.test"
    globex = org_id(deployment.state(), "globex")
    consultant = deployment.emulator.post(
        "/__emulator__/logins", json={"connection": DATABASE, "email": carl, "organization": globex}
    ).json()
    with deployment.scim("acme") as scim:
        ann_id = created(scim.post("/Users", json=okta_user(ann, "00u1", "Ann")))
        carl_id = created(scim.post("/Users", json=okta_user(carl, "00u2", "Carl")))
        group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]}
        admins = created(scim.post("/Groups", json={**group, "displayName": "org_admin"}))
        billing = created(scim.post("/Groups", json={**group, "displayName": "org_billing"}))
        # Group push: Okta creates the group empty, then PATCHes its members in.
        patched(
            scim,
            f"/Groups/{admins}",
            {"op": "add", "path": "members", "value": [{"value": ann_id}]},
        )
        deployment.converge(
            lambda s: (
                roles(s, "acme", ann) == ["org_admin", "org_member"]
                and roles(s, "acme", carl) == ["org_member"]
            ),
            "joiners with their roles",
        )

        # Mover: out of one pushed group, into another.
        patched(
            scim, f"/Groups/{admins}", {"op": "remove", "path": f'members[value eq "{ann_id}"]'}
        )
        patched(
            scim,
            f"/Groups/{billing}",
            {"op": "add", "path": "members", "value": [{"value": ann_id}]},
        )
        deployment.converge(
            lambda s: roles(s, "acme", ann) == ["org_billing", "org_member"], "the mover's roles"
        )

        # Leavers: Okta deactivates.
        for user_id in (ann_id, carl_id):
            patched(scim, f"/Users/{user_id}", {"op": "replace", "value": {"active": False}})
        # Blocking is the leaver's last call, after the revocation: wait for it too.
        state = deployment.converge(
            lambda s: (
                not members(s, "acme")
                and revoked(s, ann)
                and the_user(s, ann).get("blocked") is True
            ),
            "both leavers gone",
        )
        assert not the_user(state, carl).get("blocked") and not revoked(state, carl)
        assert members(state, "globex") == {consultant["user_id"]}

        # Rehire: Okta assigns the app again, POSTing the same externalId.
        again = scim.post("/Users", json=okta_user(ann, "00u1", "Ann"))
        assert again.status_code in (200, 201) and again.json()["id"] == ann_id, again.text
        state = deployment.converge(
            lambda s: (
                roles(s, "acme", ann) == ["org_billing", "org_member"]
                and the_user(s, ann)["blocked"] is False
            ),
            "the rehire restored",
        )
        shown = scim.get(f"/Users/{ann_id}").json()

    assert members(state, "acme") == {the_user(state, ann)["user_id"]}
    assert len(users_with(state, ann)) == len(users_with(state, carl)) == 1
    assert the_user(state, carl)["user_id"] == consultant["user_id"]
    assert the_user(state, ann)["given_name"] == "Ann"
    extension = shown["urn:ietf:params:scim:schemas:extension:scim-server:2.0:Provisioning"]
    assert extension["auth0UserId"] == the_user(state, ann)["user_id"]
    assert extension["roles"] == ["org_billing", "org_member"]


def entra_role(value: str) -> dict[str, str]:
    """Return a role as Entra sends it: a JSON object serialized in the value."""
    return {"value": json.dumps({"id": f"id-{value}", "value": value, "displayName": value})}


def test_an_entra_lifecycle_app_roles_mover_disable_reenable_delete(
    deployment: Deployment,
) -> None:
    email = "Test_User_1@contoso.test"
    with deployment.scim("contoso") as scim:
        user = {
            **okta_user(email, "8a1b2c3d-object-id", "Test"),
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            ENTERPRISE: {"department": "R&D", "employeeNumber": "42"},
            "roles": [],
        }
        user_id = created(scim.post("/Users", json=user))
        patched(
            scim,
            f"/Users/{user_id}",
            {"op": "Add", "path": "roles", "value": [entra_role("org_admin")]},
        )
        state = deployment.converge(
            lambda s: roles(s, "contoso", email) == ["org_admin", "org_member"], "the joiner"
        )
        assert the_user(state, email)["app_metadata"] == {
            "department": "R&D",
            "employee_number": "42",
        }

        patched(
            scim,
            f"/Users/{user_id}",
            {"op": "Replace", "path": "roles", "value": [entra_role("org_billing")]},
        )
        patched(
            scim,
            f"/Users/{user_id}",
            {"op": "Replace", "path": f"{ENTERPRISE}:department", "value": "Sales"},
        )
        deployment.converge(
            lambda s: (
                roles(s, "contoso", email) == ["org_billing", "org_member"]
                and the_user(s, email)["app_metadata"]["department"] == "Sales"
            ),
            "the mover",
        )

        # Entra disables with a string "False", and re-enables with "True".
        patched(scim, f"/Users/{user_id}", {"op": "Replace", "path": "active", "value": "False"})
        state = deployment.converge(
            lambda s: not members(s, "contoso") and the_user(s, email).get("blocked") is True,
            "the leaver",
        )
        assert revoked(state, email)
        patched(scim, f"/Users/{user_id}", {"op": "Replace", "path": "active", "value": "True"})
        deployment.converge(
            lambda s: (
                roles(s, "contoso", email) == ["org_billing", "org_member"]
                and the_user(s, email)["blocked"] is False
            ),
            "the rehire",
        )

        # Entra deletes the user for good after the soft-delete period.
        assert scim.delete(f"/Users/{user_id}").status_code == 204
        state = deployment.converge(
            lambda s: not members(s, "contoso") and the_user(s, email).get("blocked") is True,
            "the deleted user, blocked after it left",
        )

    assert len(users_with(state, email)) == 1
