"""``scim-server status`` and ``scim-server explain``, in-process, on SQLite and PostgreSQL."""

import asyncio
import json
from collections.abc import Awaitable
from collections.abc import Callable
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import TypeVar

import pytest

from scim_server.config import Settings
from scim_server.intake.tenancy import Tenancy
from scim_server.storage.database import Session
from scim_server.storage.organizations import get_organization
from scim_server.storage.queue import claim_due
from scim_server.storage.queue import reschedule
from tests.test_cli import USER_DB
from tests.test_cli import Cli
from tests.test_cli import assert_refused

Result = TypeVar("Result")


@pytest.fixture
def cli(database_url: str) -> Cli:
    cli = Cli(database_url)
    assert cli("migrate").exit_code == 0
    for key in ["acme", "globex"]:
        added = cli(
            "org", "add", key, "--auth0-org", f"org_{key}", "--connection", USER_DB,
            "--profile", "okta",
        )  # fmt: skip
        assert added.exit_code == 0, added.output
    return cli


def in_database(database_url: str, work: Callable[[Tenancy, Session], Awaitable[Result]]) -> Result:
    """Run some work in one committed session on the test database."""

    async def run() -> Result:
        tenancy = Tenancy.open(Settings(SCIM_DATABASE_URL=database_url))
        try:
            async with tenancy.session() as session:
                result = await work(tenancy, session)
                await session.commit()
                return result
        finally:
            await tenancy.close()

    return asyncio.run(run())


def add_user(database_url: str, key: str, name: str, *groups: str) -> str:
    """Create a SCIM user (and groups holding it) through the SCIM storage, as a request would."""

    async def work(tenancy: Tenancy, session: Session) -> str:
        storage = tenancy.storage(session, await get_organization(session, key))
        user_type, group_type = storage.provider.resource_types[:2]
        user: dict[str, Any] = {
            "userName": f"{name}@{key}.test",
            "externalId": f"00u-{name}",
            "emails": [{"value": f"{name}@{key}.test", "primary": True}],
        }
        created = await storage.create(
            user_type, storage.provider.model_for(user_type).model_validate(user)
        )
        for group in groups:
            body = {"displayName": group, "members": [{"value": created.id}]}
            await storage.create(
                group_type, storage.provider.model_for(group_type).model_validate(body)
            )
        assert created.id is not None
        return created.id

    return in_database(database_url, work)


def fail_every_task(database_url: str, error: str) -> None:
    """Record a failed reconcile on every due task, as the worker does."""

    async def work(tenancy: Tenancy, session: Session) -> None:
        now = datetime.now(UTC)
        for task in await claim_due(session, worker="w1", now=now, limit=100):
            await reschedule(session, task, due_at=now + timedelta(hours=1), error=error)

    in_database(database_url, work)


# -- status --------------------------------------------------------------------------------------


def test_status_of_an_empty_queue(cli: Cli) -> None:
    result = cli("status")

    assert result.exit_code == 0, result.output
    assert "Sync queue of every organization" in result.output
    assert "Queued tasks:    0 (0 due now)" in result.output
    assert "Oldest due task: none" in result.output
    assert "Identity links:  none" in result.output


def test_status_shows_queued_and_failed_tasks_per_org(cli: Cli, database_url: str) -> None:
    add_user(database_url, "acme", "jdoe")
    fail_every_task(database_url, "Auth0 503: try later")
    add_user(database_url, "acme", "asmith")
    add_user(database_url, "globex", "gwen")

    acme = cli("status", "acme")

    assert acme.exit_code == 0, acme.output
    assert "Sync queue of organization acme" in acme.output
    assert "Queued tasks:    2 (1 due now)" in acme.output
    assert "Tasks in error:  1" in acme.output
    assert "Identity links:  pending 2" in acme.output
    assert "jdoe@acme.test" in acme.output
    assert "Auth0 503: try later" in acme.output
    assert "gwen" not in acme.output
    every = cli("status")
    assert "Queued tasks:    3 (2 due now)" in every.output


def test_status_as_json(cli: Cli, database_url: str) -> None:
    scim_id = add_user(database_url, "acme", "jdoe")
    fail_every_task(database_url, "Auth0 503: try later")

    result = cli("status", "acme", "--json")

    assert result.exit_code == 0, result.output
    status = json.loads(result.stdout)
    assert status["org"] == "acme"
    assert (status["depth"], status["due"], status["in_error"]) == (1, 0, 1)
    assert status["oldest_due_at"] is None
    [error] = status["errors"]
    assert (error["scim_id"], error["email"], error["attempts"]) == (scim_id, "jdoe@acme.test", 1)
    assert status["links_by_state"] == {"pending": 1}
    assert json.loads(cli("status", "globex", "--json").stdout)["depth"] == 0


def test_status_of_an_unknown_org_is_refused(cli: Cli) -> None:
    assert_refused(cli("status", "nope"), "No organization 'nope'")


# -- explain -------------------------------------------------------------------------------------


def test_explain_names_the_rule_behind_each_role(cli: Cli, database_url: str) -> None:
    scim_id = add_user(database_url, "acme", "jdoe", "org_admin")

    result = cli("explain", "acme", "jdoe@acme.test")

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(f"jdoe@acme.test (SCIM id {scim_id}, externalId 00u-jdoe")
    assert "IdP:           active; groups: org_admin" in lines
    assert "State:         pending, last synced never" in lines
    assert "Desired:       member of Auth0 organization org_acme, email jdoe@acme.test" in lines
    admin = next(line for line in lines if "org_admin" in line and "okta@1:" in line)
    assert "okta@1:group-named-like-role" in admin
    assert "group displayName in [org_admin, org_billing]" in admin
    member = next(line for line in lines if line.lstrip("│ ").startswith("org_member"))
    assert "okta@1:member" in member
    assert "every active user (default)" in member
    assert "Applied:       no Auth0 user linked yet" in lines
    assert any(line.startswith("Pending:       queued, due ") for line in lines)
    assert "Next step:     3. assign roles org_admin, org_member" not in lines
    assert "               3. assign roles org_admin, org_member" in lines


def test_explain_shows_the_task_error(cli: Cli, database_url: str) -> None:
    add_user(database_url, "acme", "jdoe")
    fail_every_task(database_url, "Auth0 503: try later")

    result = cli("explain", "acme", "00u-jdoe")

    assert result.exit_code == 0, result.output
    assert ", 1 failed attempt\n" in result.output
    assert "Task error:    Auth0 503: try later" in result.output


def test_explain_as_json(cli: Cli, database_url: str) -> None:
    scim_id = add_user(database_url, "acme", "jdoe", "org_admin")

    result = cli("explain", "acme", scim_id, "--json")

    assert result.exit_code == 0, result.output
    [found] = json.loads(result.stdout)["matches"]
    assert found["identity"]["email"] == "jdoe@acme.test"
    assert found["desired"]["roles"][0] == {
        "role": "org_admin",
        "because": [
            {
                "citation": "okta@1:group-named-like-role",
                "rule": "group displayName in [org_admin, org_billing], "
                "granting the role of the same name",
            }
        ],
    }
    assert found["pending"]["queued"] is True


def test_explain_an_unknown_user_is_refused(cli: Cli, database_url: str) -> None:
    add_user(database_url, "globex", "jdoe")

    assert_refused(
        cli("explain", "acme", "jdoe@globex.test"),
        "No user of organization acme is known by 'jdoe@globex.test'",
    )
    assert_refused(cli("explain", "nope", "jdoe@globex.test"), "No organization 'nope'")
