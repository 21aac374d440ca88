"""The support commands after an Okta-style lifecycle in sandbox mode (issue 4's must-show).

One ``scim-server serve --sandbox`` (real uvicorn, the Auth0 emulator in its process) takes a
joiner with a pushed group, a mover and a leaver the way Okta sends them, each step converged in
the emulator; then the server stops and the support commands run as real subprocesses on the
same database, as support staff would run them.
"""

import json
import time
from collections.abc import Callable
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.helpers.server import Cli

# One worker builds the module's server fixtures once (pytest-xdist runs the suite).
pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("support_cli")]

SCIM = "application/scim+json"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
TOKEN_NAME = "okta-prod"
CONVERGENCE_SECONDS = 15

State = dict[str, Any]


@dataclass(frozen=True)
class Lifecycle:
    """What the lifecycle left: the command on its database, and the person it provisioned."""

    cli: Cli
    email: str
    external_id: str
    scim_id: str
    auth0_user_id: str


def converge(http: httpx.Client, check: Callable[[State, str], bool], what: str) -> State:
    """Poll the emulator until ``check(state, acme's Auth0 id)`` holds."""
    deadline = time.monotonic() + CONVERGENCE_SECONDS
    while True:
        state: State = http.get("/__auth0__/__emulator__/state").json()
        [acme] = [o["id"] for o in state["organizations"].values() if o["name"] == "acme"]
        if check(state, acme):
            return state
        if time.monotonic() > deadline:
            raise AssertionError(f"not converged within {CONVERGENCE_SECONDS} s: {what}")
        time.sleep(0.05)


def roles_of(email: str) -> Callable[[State, str], list[str] | None]:
    """Return a reader of a person's roles in acme (``None`` when not a member)."""

    def read(state: State, acme: str) -> list[str] | None:
        users = [u for u in state["users"].values() if u["email"] == email]
        if len(users) != 1 or users[0]["user_id"] not in state["members"][acme]:
            return None
        granted: list[str] = state["member_roles"][acme].get(users[0]["user_id"], [])
        return sorted(granted)

    return read


def patch(http: httpx.Client, path: str, *operations: dict[str, Any]) -> None:
    response = http.patch(path, json={"schemas": [PATCH_OP], "Operations": list(operations)})
    assert response.status_code in (200, 204), response.text


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lifecycle]:
    """Joiner with a pushed group, mover, leaver: Okta's calls, through real uvicorn."""
    database = tmp_path_factory.mktemp("support") / "scim.db"
    cli = Cli(f"sqlite+aiosqlite:///{database}")
    email, external_id = "ann@acme.test", "00u1ann"
    roles = roles_of(email)
    with cli.serve("--sandbox") as url:
        token = cli.run("token", "issue", "acme", "--name", TOKEN_NAME).splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            user = http.post(
                "/scim/v2/acme/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": email,
                    "externalId": external_id,
                    "name": {"givenName": "Ann", "familyName": "Lee"},
                    "emails": [{"value": email, "primary": True, "type": "work"}],
                    "password": "Okta-Sent-P4ssw0rd!",
                    "active": True,
                },
            )
            assert user.status_code == 201, user.text
            ann = user.json()["id"]
            groups = {}
            for name in ("org_admin", "org_billing"):
                made = http.post(
                    "/scim/v2/acme/Groups", json={"schemas": [GROUP], "displayName": name}
                )
                assert made.status_code == 201, made.text
                groups[name] = made.json()["id"]
            # Okta's group push: the group is created empty, its members PATCHed in.
            member = {"op": "add", "path": "members", "value": [{"value": ann}]}
            patch(http, f"/scim/v2/acme/Groups/{groups['org_admin']}", member)
            converge(http, lambda s, a: roles(s, a) == ["org_admin", "org_member"], "joiner")

            # Mover: out of one pushed group, into another.
            leave = {"op": "remove", "path": f'members[value eq "{ann}"]'}
            patch(http, f"/scim/v2/acme/Groups/{groups['org_admin']}", leave)
            patch(http, f"/scim/v2/acme/Groups/{groups['org_billing']}", member)
            converge(http, lambda s, a: roles(s, a) == ["org_billing", "org_member"], "mover")

            # Leaver: Okta deactivates.
            patch(http, f"/scim/v2/acme/Users/{ann}", {"op": "replace", "value": {"active": False}})
            state = converge(http, lambda s, a: roles(s, a) is None, "leaver")
    [auth0_user] = [u for u in state["users"].values() if u["email"] == email]
    yield Lifecycle(cli, email, external_id, ann, auth0_user["user_id"])


def test_log_prints_the_timeline_of_a_person_after_an_okta_lifecycle(
    lifecycle: Lifecycle,
) -> None:
    """``scim-server log acme --user <email>``: who did what, when, why, and what Auth0 did."""
    printed = lifecycle.cli.run("log", "acme", "--user", lifecycle.email)

    lines = printed.splitlines()

    def first(*words: str) -> int:
        return next(i for i, line in enumerate(lines) if all(w in line for w in words))

    joined = first("Okta created ann@acme.test: to provision with roles org_member")
    promoted = first("Okta changed Group 'org_admin': ann@acme.test roles +org_admin")
    assigned = first("auth0.roles_assigned", "assigned org_admin")
    moved = first("Okta changed Group 'org_billing': ann@acme.test roles +org_billing")
    left = first("Okta deactivated ann@acme.test: to deprovision")
    removed = first("auth0.member_removed")
    assert joined < promoted < assigned < moved < left < removed
    assert TOKEN_NAME in lines[joined] and "scim" in lines[joined]
    assert "org_admin <- okta@1:group-named-like-role" in lines[promoted + 1]
    assert "worker" in lines[removed] and "ok" in lines[removed]
    assert "Okta-Sent-P4ssw0rd!" not in printed


def test_log_finds_the_same_timeline_by_every_key_of_the_person(lifecycle: Lifecycle) -> None:
    def timeline(key: str) -> list[dict[str, Any]]:
        printed = lifecycle.cli.run("log", "acme", "--user", key, "--json")
        return [json.loads(line) for line in printed.splitlines()]

    by_email = timeline(lifecycle.email)
    assert len(by_email) >= 8
    assert {e["scim_id"] for e in by_email} == {lifecycle.scim_id}
    for key in (lifecycle.scim_id, lifecycle.external_id, lifecycle.auth0_user_id, "ANN@acme.test"):
        assert timeline(key) == by_email, key
    assert timeline("nobody@acme.test") == []


# -- explain (helper B) ------------------------------------------------------------------------

ENGINEERS_RULE = """\
[[roles]]
id = "engineers"
when.group.display_name = "Engineering"
grant = ["viewer"]
"""


@dataclass(frozen=True)
class Mover:
    """A person who joined with pushed groups and moved, still active, under an org rule too."""

    cli: Cli
    email: str
    scim_id: str


@pytest.fixture(scope="module")
def mover(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mover]:
    """Joiner in org_admin and Engineering (an org rule grants viewer), moved to org_billing."""
    directory = tmp_path_factory.mktemp("explain")
    cli = Cli(f"sqlite+aiosqlite:///{directory / 'scim.db'}")
    rules = directory / "rules.toml"
    rules.write_text(ENGINEERS_RULE, encoding="utf-8")
    email = "bob@acme.test"
    roles = roles_of(email)
    with cli.serve("--sandbox") as url:
        cli.run("rules", "import", "acme", str(rules))
        token = cli.run("token", "issue", "acme", "--name", TOKEN_NAME).splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            user = http.post(
                "/scim/v2/acme/Users",
                json={
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": email,
                    "externalId": "00u2bob",
                    "name": {"givenName": "Bob", "familyName": "Ray"},
                    "emails": [{"value": email, "primary": True, "type": "work"}],
                    "active": True,
                },
            )
            assert user.status_code == 201, user.text
            bob = user.json()["id"]
            member = {"op": "add", "path": "members", "value": [{"value": bob}]}
            groups = {}
            for name in ("org_admin", "org_billing", "Engineering"):
                made = http.post(
                    "/scim/v2/acme/Groups", json={"schemas": [GROUP], "displayName": name}
                )
                assert made.status_code == 201, made.text
                groups[name] = made.json()["id"]
            for name in ("org_admin", "Engineering"):
                patch(http, f"/scim/v2/acme/Groups/{groups[name]}", member)
            joined = ["org_admin", "org_member", "viewer"]
            converge(http, lambda s, a: roles(s, a) == joined, "joiner")
            leave = {"op": "remove", "path": f'members[value eq "{bob}"]'}
            patch(http, f"/scim/v2/acme/Groups/{groups['org_admin']}", leave)
            patch(http, f"/scim/v2/acme/Groups/{groups['org_billing']}", member)
            moved = ["org_billing", "org_member", "viewer"]
            converge(http, lambda s, a: roles(s, a) == moved, "mover")
            # The worker records what it confirmed just after Auth0 answers: wait for it.
            deadline = time.monotonic() + CONVERGENCE_SECONDS
            while "Queued tasks:    0" not in cli.run("status", "acme"):
                assert time.monotonic() < deadline, "the worker did not settle its task"
                time.sleep(0.05)
    yield Mover(cli, email, bob)


def test_explain_names_the_rule_behind_each_role(mover: Mover) -> None:
    """``scim-server explain acme <email>``: each role, the rule that grants it, all applied."""
    printed = mover.cli.run("explain", "acme", mover.email)

    lines = printed.splitlines()

    def row(role: str) -> str:
        return next(line for line in lines if line.lstrip("│ ").startswith(f"{role} "))

    assert lines[0].startswith(f"bob@acme.test (SCIM id {mover.scim_id}, externalId 00u2bob")
    assert "IdP:           active; groups: Engineering, org_billing" in lines
    assert any(line.startswith("State:         synced, last synced 2") for line in lines)
    assert "okta@1:group-named-like-role" in row("org_billing")
    assert "group displayName in [org_admin, org_billing]" in row("org_billing")
    assert "okta@1:member" in row("org_member")
    assert "every active user (default)" in row("org_member")
    assert "org:engineers" in row("viewer")
    assert "group displayName = Engineering" in row("viewer")
    assert "Applied:       member, roles org_billing, org_member, viewer" in lines
    assert "Pending:       nothing queued" in lines
    assert not any(line.startswith("Next step:") for line in lines)


def test_explain_as_json_agrees_with_auth0(mover: Mover) -> None:
    [found] = json.loads(mover.cli.run("explain", "acme", "00u2bob", "--json"))["matches"]

    desired = {role["role"]: role["because"] for role in found["desired"]["roles"]}
    assert desired["viewer"] == [
        {"citation": "org:engineers", "rule": "group displayName = Engineering"}
    ]
    assert found["applied"]["roles"] == sorted(desired)
    assert found["applied"]["owned"] is True
    assert (found["state"], found["pending"]["steps"]) == ("synced", [])


def test_explain_says_why_a_leaver_lost_access(lifecycle: Lifecycle) -> None:
    printed = lifecycle.cli.run("explain", "acme", lifecycle.email)

    assert "IdP:           inactive; groups: org_billing" in printed
    assert "Desired:       not a member of Auth0 organization acme (deprovisioned)" in printed
    assert "Applied:       not a member, roles (none)" in printed
    assert "Pending:       nothing queued" in printed


# -- reconcile and doctor against the sandbox's own emulator -------------------------------------


def test_reconcile_and_doctor_reach_the_sandbox_emulator_it_prints(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve --sandbox`` prints the settings the support commands need to reach its emulator.

    A member added by hand and a role removed by hand are found; ``--repair`` restores the
    role without touching the hand-made member.
    """
    cli = Cli(f"sqlite+aiosqlite:///{tmp_path / 'scim.db'}")
    email = "cy@acme.test"
    roles = roles_of(email)
    with (
        (tmp_path / "serve.log").open("w+") as output,
        cli.serve("--sandbox", output=output) as url,
    ):
        output.seek(0)
        printed = output.read()
        [exports] = [line for line in printed.splitlines() if "export SCIM_DATABASE_URL" in line]
        settings = dict(pair.partition("=")[::2] for pair in exports.split("export ")[1].split())
        for name, value in settings.items():
            monkeypatch.setenv(name, value)
        token = cli.run("token", "issue", "acme").splitlines()[-1]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM}
        with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
            user = http.post(
                "/scim/v2/acme/Users",
                json={"userName": email, "emails": [{"value": email, "primary": True}]},
            )
            assert user.status_code == 201, user.text
            group = http.post(
                "/scim/v2/acme/Groups", json={"schemas": [GROUP], "displayName": "org_admin"}
            )
            member = {"op": "add", "path": "members", "value": [{"value": user.json()["id"]}]}
            patch(http, f"/scim/v2/acme/Groups/{group.json()['id']}", member)
            state = converge(
                http, lambda s, a: roles(s, a) == ["org_admin", "org_member"], "joiner"
            )
        assert "All checks passed." in cli.run("doctor", "acme")

        management = settings["AUTH0_MANAGEMENT_URL"]
        grant = httpx.post(
            f"{management}/oauth/token",
            json={
                "grant_type": "client_credentials",
                "client_id": settings["AUTH0_CLIENT_ID"],
                "client_secret": settings["AUTH0_CLIENT_SECRET"],
                "audience": f"{management}/api/v2/",
            },
        ).json()
        auth0 = httpx.Client(
            base_url=f"{management}/api/v2",
            headers={"Authorization": f"Bearer {grant['access_token']}"},
            timeout=10,
        )
        [acme] = [o["id"] for o in state["organizations"].values() if o["name"] == "acme"]
        [cy] = [u["user_id"] for u in state["users"].values() if u["email"] == email]
        hand = auth0.post(
            "/users",
            json={
                "email": "hand@acme.test",
                "connection": "Username-Password-Authentication",
                "password": "Hand-Made-Pw-1234!",
            },
        ).json()["user_id"]
        assert (
            auth0.post(f"/organizations/{acme}/members", json={"members": [hand]}).status_code
            == 204
        )
        [admin] = auth0.get("/roles", params={"name_filter": "org_admin"}).json()
        removed = auth0.request(
            "DELETE", f"/organizations/{acme}/members/{cy}/roles", json={"roles": [admin["id"]]}
        )
        assert removed.status_code == 204

        found = json.loads(cli.run("reconcile", "acme", "--json"))["findings"]
        assert {(f["kind"], f["auth0_user_id"], f["ours"]) for f in found} == {
            ("role_missing", cy, True),
            ("unmanaged_member", hand, False),
        }
        json.loads(cli.run("reconcile", "acme", "--repair", "--json"))
        members = {m["user_id"] for m in auth0.get(f"/organizations/{acme}/members").json()}
        restored = {
            r["name"] for r in auth0.get(f"/organizations/{acme}/members/{cy}/roles").json()
        }
        auth0.close()
    assert members == {cy, hand}
    assert restored == {"org_admin", "org_member"}
