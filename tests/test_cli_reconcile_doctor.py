"""``scim-server reconcile`` and ``doctor`` against an Auth0 emulator in another process.

The commands run in-process (click's runner) with ``AUTH0_MANAGEMENT_URL`` pointing at
``python -m scim_server.sandbox``, as an operator's would; users are provisioned first by the real
worker, then the tenant is edited "by hand" through the Management API, as in the Auth0
dashboard. Each test has its own Auth0 organization on the one emulator of the module.
"""

import asyncio
import itertools
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from click.testing import Result

from scim_server.auth0_gateway import ManagementApiGateway
from scim_server.cli import main
from scim_server.config import Settings
from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.runtime import build_worker
from scim_server.storage.database import Database
from scim_server.storage.events import search_events
from scim_server.storage.links import put_desired
from scim_server.storage.migrate import migrate
from scim_server.storage.organizations import create_organization
from scim_server.storage.queue import bump
from tests.helpers.server import free_port

# One worker starts the module's emulator once (pytest-xdist runs the suite).
pytestmark = pytest.mark.xdist_group("reconcile_doctor")

DATABASE = "Username-Password-Authentication"
CLIENT_ID = "reconcile-tests"
STARTUP_SECONDS = 30
_orgs = itertools.count()


@dataclass(frozen=True)
class Auth0:
    """The emulator process: its URL, credentials, and the Management API as a person uses it."""

    url: str
    secret: str

    def env(self, **changes: str | None) -> dict[str, str | None]:
        return {
            "AUTH0_MANAGEMENT_URL": self.url,
            "AUTH0_DOMAIN": None,
            "AUTH0_CLIENT_ID": CLIENT_ID,
            "AUTH0_CLIENT_SECRET": self.secret,
            "AUTH0_MAX_RPS": "500",
            "SCIM_MAPPINGS_DIR": None,
            "AUTH0_INVITATION_CLIENT_ID": None,
            **changes,
        }

    def api(self) -> httpx.Client:
        token = httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": CLIENT_ID,
                "client_secret": self.secret,
                "audience": f"{self.url}/api/v2/",
            },
        ).json()["access_token"]
        return httpx.Client(
            base_url=f"{self.url}/api/v2", headers={"Authorization": f"Bearer {token}"}
        )

    def state(self) -> dict[str, Any]:
        state: dict[str, Any] = httpx.get(f"{self.url}/__emulator__/state").json()
        return state

    def new_organization(self) -> str:
        """Create an Auth0 organization on the database connection; return its name."""
        name = f"rec{next(_orgs)}-{secrets.token_hex(3)}"
        seeded = httpx.post(
            f"{self.url}/__emulator__/seed",
            json={"organizations": [{"name": name, "connections": [DATABASE]}]},
        )
        seeded.raise_for_status()
        return name


@pytest.fixture(scope="module")
def auth0() -> Iterator[Auth0]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(16)
    command = [
        sys.executable, "-m", "scim_server.sandbox", "--port", str(port),
        "--client-id", CLIENT_ID, f"--client-secret={secret}",
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            assert process.poll() is None, "the emulator exited"
            try:
                httpx.get(f"{url}/__emulator__/state", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.05)
        roles = [{"name": n} for n in ("org_member", "org_admin", "org_billing")]
        httpx.post(f"{url}/__emulator__/seed", json={"roles": roles}).raise_for_status()
        yield Auth0(url, secret)
    finally:
        process.terminate()
        process.wait(timeout=15)


class Cli:
    def __init__(self, database_url: str, auth0: Auth0) -> None:
        self.env = {"SCIM_DATABASE_URL": database_url, **auth0.env()}

    def __call__(self, *args: str, **env: str | None) -> Result:
        return CliRunner().invoke(main, list(args), env={**self.env, **env}, catch_exceptions=False)


@pytest.fixture
def cli(database_url: str, auth0: Auth0) -> Cli:
    migrate(database_url)
    return Cli(database_url, auth0)


async def provision(
    database_url: str, auth0: Auth0, key: str, auth0_org: str, *users: tuple[str, str, list[str]]
) -> None:
    """Add the organization and provision users into Auth0 through the real worker."""
    database = Database.open(database_url)
    gateway = ManagementApiGateway(
        management_url=auth0.url, client_id=CLIENT_ID, client_secret=auth0.secret, max_rps=500
    )
    try:
        async with database.session() as session:
            org = await create_organization(
                session, key=key, auth0_org=auth0_org, connection=DATABASE, profile="okta"
            )
            assert org.id is not None
            for scim_id, email, roles in users:
                desired = DesiredState(
                    linked=True,
                    member=True,
                    roles=dict.fromkeys(roles, ("okta@1:test",)),
                    email=email,
                )
                now = org.created_at
                await put_desired(
                    session, org_id=org.id, scim_id=scim_id, desired=desired.to_json(), now=now
                )
                await bump(session, org_id=org.id, scim_ids=[scim_id], now=now)
            await session.commit()
        await build_worker(Settings(), database, gateway).run_until_idle()
    finally:
        await gateway.aclose()
        await database.close()


def the_user(state: dict[str, Any], email: str) -> str:
    [user_id] = [u["user_id"] for u in state["users"].values() if u.get("email") == email]
    return str(user_id)


def roles_of(state: dict[str, Any], org_name: str, email: str) -> list[str]:
    [org_id] = [o["id"] for o in state["organizations"].values() if o["name"] == org_name]
    found: list[str] = state["member_roles"][org_id].get(the_user(state, email), [])
    return found


def members_of(state: dict[str, Any], org_name: str) -> set[str]:
    [org_id] = [o["id"] for o in state["organizations"].values() if o["name"] == org_name]
    return set(state["members"][org_id])


def role_id(auth0: Auth0, name: str) -> str:
    [found] = [r["id"] for r in auth0.state()["roles"].values() if r["name"] == name]
    return str(found)


def test_reconcile_reports_hand_made_drift_and_repair_restores_only_ours(
    cli: Cli, auth0: Auth0, database_url: str
) -> None:
    """The must-show: a member added by hand and a role removed by hand; --repair fixes ours."""
    name = auth0.new_organization()
    ann_email, bob_email, eve_email = (f"{who}@{name}.test" for who in ("ann", "bob", "eve"))
    asyncio.run(
        provision(
            database_url,
            auth0,
            "acme",
            name,
            ("u1", ann_email, ["org_member", "org_admin"]),
            ("u2", bob_email, ["org_member"]),
        )
    )
    state = auth0.state()
    org_id = next(o["id"] for o in state["organizations"].values() if o["name"] == name)
    ann = the_user(state, ann_email)
    with auth0.api() as api:
        eve = api.post(
            "/users",
            json={"connection": DATABASE, "email": eve_email, "password": "x!Y1" * 4},
        ).json()["user_id"]
        api.post(f"/organizations/{org_id}/members", json={"members": [eve]}).raise_for_status()
        api.post(
            f"/organizations/{org_id}/members/{eve}/roles",
            json={"roles": [role_id(auth0, "org_billing")]},
        ).raise_for_status()
        api.request(
            "DELETE",
            f"/organizations/{org_id}/members/{ann}/roles",
            json={"roles": [role_id(auth0, "org_admin")]},
        ).raise_for_status()

    dry = cli("reconcile", "acme")

    assert dry.exit_code == 0, dry.output
    assert "3 members in Auth0, 2 identity links" in dry.output
    assert "unmanaged_member" in dry.output and eve_email in dry.output
    assert "role_missing" in dry.output and "org_admin" in dry.output
    assert "scim-server reconcile acme --repair" in dry.output
    assert roles_of(auth0.state(), name, ann_email) == ["org_member"]

    repaired = cli("reconcile", "acme", "--repair", "--json")

    assert repaired.exit_code == 0, repaired.output
    report = json.loads(repaired.output)
    assert {(f["kind"], f["email"]) for f in report["findings"]} == {
        ("unmanaged_member", eve_email),
        ("role_missing", ann_email),
    }
    assert (report["repaired"], report["states"]) == (["u1"], {"u1": "synced"})
    after = auth0.state()
    assert sorted(roles_of(after, name, ann_email)) == ["org_admin", "org_member"]
    assert eve in members_of(after, name)
    assert roles_of(after, name, eve_email) == ["org_billing"]
    assert roles_of(after, name, bob_email) == ["org_member"]

    again = cli("reconcile", "acme")
    assert "role_missing" not in again.output and "unmanaged_member" in again.output
    assert "Nothing here is scim-server's to fix" in again.output
    assert len(logged_reconcile_events(database_url)) >= 6


def logged_reconcile_events(database_url: str) -> list[str]:
    async def read() -> list[str]:
        database = Database.open(database_url)
        try:
            async with database.session() as session:
                events = await search_events(session, org_id=1, limit=1000)
                return [e.kind for e in events if e.source == "reconcile"]
        finally:
            await database.close()

    return asyncio.run(read())


def test_doctor_passes_then_names_what_is_missing(
    cli: Cli, auth0: Auth0, database_url: str, tmp_path: Path
) -> None:
    name = auth0.new_organization()
    asyncio.run(provision(database_url, auth0, "acme", name))
    assert (
        cli("org", "add", "ghost", "--auth0-org", "initech", "--connection", DATABASE).exit_code
        == 0
    )

    healthy = cli("doctor", "acme")

    assert healthy.exit_code == 0, healthy.output
    assert "All checks passed." in healthy.output
    assert "org_admin" in healthy.output

    rules = tmp_path / "rules.toml"
    rules.write_text(
        '[[roles]]\nid = "auditors"\nwhen.group.display_name = "Audit"\ngrant = ["org_auditor"]\n'
    )
    assert cli("rules", "import", "acme", str(rules)).exit_code == 0
    broken = cli("doctor")

    assert broken.exit_code == 1
    assert "org_auditor" in broken.output
    assert "'initech' does not exist" in broken.output
    assert "2 checks failed." in broken.output
    assert json.loads(cli("doctor", "--json").output)["ok"] is False


def test_clear_one_line_errors(cli: Cli, auth0: Auth0, database_url: str) -> None:
    name = auth0.new_organization()
    asyncio.run(provision(database_url, auth0, "acme", name))

    assert (
        cli("org", "add", "ghost", "--auth0-org", "initech", "--connection", DATABASE).exit_code
        == 0
    )
    unconfigured = cli("reconcile", "acme", AUTH0_MANAGEMENT_URL=None, AUTH0_CLIENT_ID=None)
    unknown = cli("reconcile", "nope")
    missing = cli("reconcile", "ghost")
    refused = cli("doctor", AUTH0_CLIENT_SECRET="wrong-secret")

    for result, message in [
        (unconfigured, "Set AUTH0_DOMAIN"),
        (unknown, "No organization 'nope'"),
        (missing, "Auth0: "),
    ]:
        assert result.exit_code == 1, result.output
        assert result.stderr.startswith("Error: ") and message in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.output
    assert refused.exit_code == 1
    assert "no Management API token" in refused.output and "401" in refused.output
    assert "wrong-secret" not in refused.output
