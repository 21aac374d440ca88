"""``scim-server log``: the timeline of an organization or of one person, as support reads it."""

import asyncio
import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result

from scim_server.cli import log as log_module
from scim_server.cli import main
from scim_server.storage.events import append_event
from scim_server.storage.organizations import get_organization
from scim_server.storage.session import open_session

USER_DB = "Username-Password-Authentication"
NOW = datetime.now(UTC).replace(microsecond=0)


class Cli:
    """Runs ``scim-server`` in-process against one database, with a clean environment."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.env = {"SCIM_DATABASE_URL": database_url, "SCIM_MAPPINGS_DIR": None}

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    async def event(self, org: str, summary: str, *, ago: timedelta, **fields: Any) -> None:
        async with open_session(self.database_url) as session:
            organization = await get_organization(session, org)
            assert organization.id is not None
            await append_event(
                session,
                org_id=organization.id,
                summary=summary,
                at=NOW - ago,
                source=fields.pop("source", "worker"),
                kind=fields.pop("kind", "auth0.member_added"),
                **fields,
            )


def assert_refused(result: Result, message: str) -> None:
    """The command failed with exit code 1 and one line naming the problem, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def cli(database_url: str) -> Cli:
    cli = Cli(database_url)
    assert cli("migrate").exit_code == 0
    for key in ("acme", "globex"):
        added = cli("org", "add", key, "--auth0-org", f"org_{key}", "--connection", USER_DB)
        assert added.exit_code == 0, added.output
    asyncio.run(
        cli.event(
            "acme",
            "User created: jdoe@acme.com to provision with roles org_admin",
            ago=timedelta(days=3),
            source="scim",
            kind="desired.changed",
            actor="okta-prod",
            scim_id="u1",
            email="JDoe@Acme.com",
            details={"reasons": {"org_admin": ["okta@1:admins"]}},
        )
    )
    asyncio.run(
        cli.event(
            "acme",
            "Auth0 refused: connection disabled",
            ago=timedelta(hours=1),
            kind="sync.failed",
            outcome="error",
            scim_id="u1",
            email="jdoe@acme.com",
            auth0_user_id="auth0|jdoe",
        )
    )
    asyncio.run(cli.event("acme", "ann added", ago=timedelta(minutes=5), email="ann@acme.com"))
    asyncio.run(cli.event("globex", "globex jdoe", ago=timedelta(minutes=1), email="jdoe@acme.com"))
    return cli


def test_log_prints_the_timeline_of_one_person_with_the_rules_behind_roles(cli: Cli) -> None:
    result = cli("log", "acme", "--user", "JDOE@acme.com")

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    created = next(i for i, line in enumerate(lines) if "User created" in line)
    failed = next(i for i, line in enumerate(lines) if "Auth0 refused" in line)
    assert created < failed
    assert "okta-prod" in lines[created] and "desired.changed" in lines[created]
    assert "org_admin <- okta@1:admins" in lines[created + 1]
    assert "error" in lines[failed] and "sync.failed" in lines[failed]
    assert "ann added" not in result.stdout
    assert "globex" not in result.stdout
    for column in ("Time (UTC)", "Source", "Actor", "Kind", "Outcome", "Summary"):
        assert column in lines[1]


def test_log_finds_a_person_by_an_auth0_user_id(cli: Cli) -> None:
    result = cli("log", "acme", "--user", "auth0|jdoe", "--json")

    assert result.exit_code == 0, result.output
    summaries = [json.loads(line)["summary"] for line in result.stdout.splitlines()]
    assert summaries == ["Auth0 refused: connection disabled"]


def test_log_json_prints_one_object_per_line_oldest_first(cli: Cli) -> None:
    result = cli("log", "acme", "--json")

    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert [e["summary"] for e in events] == [
        "User created: jdoe@acme.com to provision with roles org_admin",
        "Auth0 refused: connection disabled",
        "ann added",
    ]
    assert events[0]["email"] == "jdoe@acme.com"
    assert events[0]["details"]["reasons"] == {"org_admin": ["okta@1:admins"]}
    assert events[0]["at"].endswith("Z")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--since", "2h"], ["Auth0 refused: connection disabled", "ann added"]),
        (["--since", (NOW - timedelta(minutes=30)).isoformat()], ["ann added"]),
        (["--outcome", "error"], ["Auth0 refused: connection disabled"]),
        (["--limit", "1"], ["ann added"]),
    ],
)
def test_log_filters(cli: Cli, options: list[str], expected: list[str]) -> None:
    result = cli("log", "acme", "--json", *options)

    assert result.exit_code == 0, result.output
    assert [json.loads(line)["summary"] for line in result.stdout.splitlines()] == expected


def test_log_says_when_nothing_matches(cli: Cli) -> None:
    result = cli("log", "acme", "--user", "nobody@acme.com")

    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "No events about nobody@acme.com in organization acme."


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["log", "nowhere"], "nowhere"),
        (["log", "acme", "--since", "yesterday"], "Cannot read since='yesterday'"),
        (["log", "acme", "--limit", "0"], "The limit must be between 1 and"),
        (["log", "acme", "--user", " "], "must not be empty"),
    ],
)
def test_log_refuses_bad_input_in_one_line(cli: Cli, arguments: list[str], message: str) -> None:
    assert_refused(cli(*arguments), message)


def test_log_follow_prints_new_events_until_interrupted(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each poll prints what was appended since the last event shown; Ctrl-C ends quietly."""
    polls: list[float] = []

    async def poll(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 1:
            await cli.event("acme", "jdoe removed", ago=timedelta(0), scim_id="u1")
            await cli.event("acme", "ann's event", ago=timedelta(0), email="ann@acme.com")
        elif len(polls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(log_module, "pause", poll)
    result = cli("log", "acme", "--user", "u1", "--json", "--follow")

    assert result.exit_code == 0, result.output
    summaries = [json.loads(line)["summary"] for line in result.stdout.splitlines()]
    assert summaries == [
        "User created: jdoe@acme.com to provision with roles org_admin",
        "Auth0 refused: connection disabled",
        "jdoe removed",
    ]
    assert polls == [1.0, 1.0, 1.0]
