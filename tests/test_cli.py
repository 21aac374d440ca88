import asyncio
import subprocess
import sys
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from click.testing import Result

from scim_server.cli import main
from scim_server.config import Settings
from scim_server.storage.migrate import head_revision
from scim_server.storage.session import open_session
from scim_server.storage.tables import Organization
from scim_server.storage.tokens import authenticate

USER_DB = "Username-Password-Authentication"


class Cli:
    """Runs ``scim-server`` in-process against one database, with a clean environment."""

    def __init__(self, database_url: str, **env: str | None) -> None:
        self.env: dict[str, str | None] = {
            "SCIM_DATABASE_URL": database_url,
            "SCIM_PUBLIC_URL": None,
            "SCIM_MAPPINGS_DIR": None,
            "AUTH0_MAX_RPS": None,
            **env,
        }

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)


def assert_refused(result: Result, message: str) -> None:
    """The command failed with exit code 1 and one line naming the problem, no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ")
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def database_file(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'scim.db'}"


@pytest.fixture
def cli(database_file: str) -> Cli:
    cli = Cli(database_file)
    assert cli("migrate").exit_code == 0
    return cli


@pytest.fixture
def acme(cli: Cli) -> Cli:
    assert (
        cli("org", "add", "acme", "--auth0-org", "org_123", "--connection", USER_DB).exit_code == 0
    )
    return cli


def authenticated_org(database_url: str, org_key: str, token: str) -> Organization | None:
    async def check() -> Organization | None:
        async with open_session(database_url) as session:
            bearer = await authenticate(
                session, org_key=org_key, token=token, now=datetime.now(UTC)
            )
            return None if bearer is None else bearer.organization

    return asyncio.run(check())


def test_operator_flow_from_migrate_to_revoke(database_url: str) -> None:
    """The README's getting-started sequence, on SQLite and on PostgreSQL."""
    cli = Cli(database_url)

    migrated = cli("migrate")
    assert migrated.exit_code == 0, migrated.output

    added = cli("org", "add", "acme", "--auth0-org", "org_123", "--connection", USER_DB)
    assert added.exit_code == 0, added.output
    assert "http://127.0.0.1:8000/scim/v2/acme" in added.stdout

    issued = cli("token", "issue", "acme")
    assert issued.exit_code == 0, issued.output
    token = issued.stdout.splitlines()[-1]
    assert token.startswith("scim_")
    assert token.strip() == token
    organization = authenticated_org(database_url, "acme", token)
    assert organization is not None
    assert organization.auth0_org == "org_123"

    listed = cli("token", "list", "acme")
    assert listed.exit_code == 0, listed.output
    token_id = next(word for word in listed.stdout.split() if word.startswith("tok_"))
    assert token[:10] in listed.stdout
    assert token not in listed.stdout

    revoked = cli("token", "revoke", "acme", token_id)
    assert revoked.exit_code == 0, revoked.output
    assert token_id in revoked.stdout
    assert authenticated_org(database_url, "acme", token) is None

    shown = cli("org", "show", "acme")
    assert "0 active, 1 issued" in shown.stdout


def test_migrate_says_it_created_the_schema_then_that_it_is_up_to_date(tmp_path: Path) -> None:
    cli = Cli(f"sqlite:///{tmp_path / 'new.db'}")
    head = head_revision()

    created = cli("migrate")
    again = cli("migrate")

    assert created.exit_code == 0 and again.exit_code == 0
    assert created.stdout == f"Created the database schema (revision {head}).\n"
    assert again.stdout == f"Database schema is up to date (revision {head}).\n"


@pytest.mark.parametrize(
    "command",
    [
        ["org", "list"],
        ["token", "list", "acme"],
        ["status"],
        ["log", "acme"],
        ["explain", "acme", "ann@acme.test"],
        ["reconcile", "acme"],
        ["doctor"],
        ["admin", "token", "list"],
        ["worker"],
        ["serve"],
    ],
)
def test_a_command_refuses_a_sqlite_database_that_does_not_exist_and_creates_none(
    tmp_path: Path, command: list[str]
) -> None:
    """Only ``migrate`` creates a database: the others would leave an empty file behind."""
    missing = tmp_path / "scim-server.db"

    result = Cli(f"sqlite:///{missing}")(*command)

    assert_refused(result, f"No database at {missing}: set SCIM_DATABASE_URL")
    assert not missing.exists()


def test_help_needs_no_database(tmp_path: Path) -> None:
    result = Cli(f"sqlite:///{tmp_path / 'none.db'}")("log", "--help")

    assert result.exit_code == 0 and "Usage:" in result.stdout
    assert not (tmp_path / "none.db").exists()


def test_org_add_refuses_a_key_with_an_underscore_or_capitals(cli: Cli) -> None:
    result = cli("org", "add", "Acme_1", "--auth0-org", "org_123", "--connection", USER_DB)

    assert_refused(result, "Invalid organization key 'Acme_1'")
    assert "No organizations yet" in cli("org", "list").stdout


def test_org_add_refuses_a_key_already_taken(acme: Cli) -> None:
    result = acme("org", "add", "acme", "--auth0-org", "org_456", "--connection", USER_DB)

    assert_refused(result, "'acme' already exists")


def test_org_add_refuses_a_profile_that_is_not_loaded(cli: Cli) -> None:
    result = cli(
        "org", "add", "acme", "--auth0-org", "org_1", "--connection", USER_DB, "--profile", "ping"
    )

    assert_refused(result, "Unknown mapping profile 'ping'")
    assert "generic" in result.stderr


def test_org_add_stores_mode_profile_and_display_name(cli: Cli) -> None:
    added = cli(
        "org", "add", "globex", "--auth0-org", "Globex", "--connection", "okta-sso",
        "--mode", "link", "--profile", "okta", "--display-name", "Globex Corp",
    )  # fmt: skip
    assert added.exit_code == 0, added.output

    shown = cli("org", "show", "globex").stdout
    assert "Identity mode: link" in shown
    assert "Profile:       okta" in shown
    assert "Display name:  Globex Corp" in shown
    assert "Connection:    okta-sso" in shown


def test_org_add_refuses_an_unknown_mode_as_a_usage_error(cli: Cli) -> None:
    result = cli(
        "org", "add", "acme", "--auth0-org", "org_1", "--connection", USER_DB, "--mode", "sync"
    )

    assert result.exit_code == 2
    assert "'sync' is not one of 'create', 'link', 'invite'" in result.stderr


def test_org_list_shows_every_organization(acme: Cli) -> None:
    acme("org", "add", "globex", "--auth0-org", "org_456", "--connection", USER_DB)

    listed = acme("org", "list")

    assert listed.exit_code == 0
    assert "acme" in listed.stdout
    assert "org_123" in listed.stdout
    assert "globex" in listed.stdout


def test_org_show_uses_the_public_url_and_counts_active_tokens(
    acme: Cli, database_file: str
) -> None:
    acme("token", "issue", "acme")
    acme("token", "issue", "acme", "--name", "rotation")
    public = Cli(database_file, SCIM_PUBLIC_URL="https://scim.example.com/")

    shown = public("org", "show", "acme")

    assert shown.exit_code == 0
    assert "SCIM base URL: https://scim.example.com/scim/v2/acme" in shown.stdout
    assert "Tokens:        2 active, 2 issued" in shown.stdout


def test_org_show_refuses_an_unknown_organization(cli: Cli) -> None:
    assert_refused(cli("org", "show", "nobody"), "No organization 'nobody'")


def test_token_issue_prints_the_token_alone_on_the_last_line(acme: Cli) -> None:
    result = acme("token", "issue", "acme", "--name", "okta")

    lines = result.stdout.splitlines()
    assert len(lines) > 1
    assert lines[-1].startswith("scim_")
    assert " " not in lines[-1]
    assert all(lines[-1] not in line for line in lines[:-1])
    assert "expires: never" in result.stdout


def test_token_issue_sets_an_expiry_in_days(acme: Cli) -> None:
    result = acme("token", "issue", "acme", "--expires-in", "30")

    expected = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")
    assert f"expires: {expected}" in result.stdout


def test_token_issue_refuses_a_lifetime_below_one_day(acme: Cli) -> None:
    result = acme("token", "issue", "acme", "--expires-in", "0")

    assert result.exit_code == 2
    assert "scim_" not in result.stdout


@pytest.mark.parametrize("command", [("token", "issue", "acme"), ("admin", "token", "issue")])
def test_token_issue_refuses_a_lifetime_past_ten_years_in_one_line(
    acme: Cli, command: tuple[str, ...]
) -> None:
    """99999999999 days printed an OverflowError traceback."""
    result = acme(*command, "--expires-in", "99999999999")

    assert result.exit_code == 2
    assert "Traceback" not in result.output and "scim" not in result.stdout
    assert "3650" in result.stderr


def test_token_issue_refuses_an_unknown_organization(cli: Cli) -> None:
    result = cli("token", "issue", "nobody")

    assert_refused(result, "No organization 'nobody'")
    assert result.stdout == ""


def test_token_list_shows_name_prefix_and_state_but_never_the_secret(acme: Cli) -> None:
    token = acme("token", "issue", "acme", "--name", "okta").stdout.splitlines()[-1]

    listed = acme("token", "list", "acme")

    assert listed.exit_code == 0
    assert "okta" in listed.stdout
    assert f"{token[:10]}..." in listed.stdout
    assert token[10:20] not in listed.stdout
    assert "never" in listed.stdout


def test_token_list_of_an_organization_without_tokens_says_so(acme: Cli) -> None:
    assert "has no tokens" in acme("token", "list", "acme").stdout


def test_token_list_shows_only_that_organizations_tokens(acme: Cli) -> None:
    acme("org", "add", "globex", "--auth0-org", "org_456", "--connection", USER_DB)
    acme("token", "issue", "globex", "--name", "globex-okta")

    assert "has no tokens" in acme("token", "list", "acme").stdout


def test_token_revoke_refuses_an_unknown_token(acme: Cli) -> None:
    assert_refused(acme("token", "revoke", "acme", "tok_missing"), "no token 'tok_missing'")


def test_token_revoke_refuses_a_token_of_another_organization(
    acme: Cli, database_file: str
) -> None:
    acme("org", "add", "globex", "--auth0-org", "org_456", "--connection", USER_DB)
    token = acme("token", "issue", "globex").stdout.splitlines()[-1]
    listed = acme("token", "list", "globex").stdout
    token_id = next(word for word in listed.split() if word.startswith("tok_"))

    assert_refused(acme("token", "revoke", "acme", token_id), "no token")
    assert authenticated_org(database_file, "globex", token) is not None


def test_a_database_never_migrated_is_reported_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "empty.db").touch()
    result = Cli(f"sqlite:///{tmp_path / 'empty.db'}")("org", "list")

    assert_refused(result, "Database error")


def test_migrate_reports_a_database_it_cannot_reach_in_one_line() -> None:
    result = Cli("postgresql://scim@127.0.0.1:1/scim")("migrate")

    assert_refused(result, "Cannot reach the database")


@pytest.mark.parametrize(
    ("url", "message"),
    [("mysql://db/scim", "Unsupported database 'mysql'"), ("nonsense", "Cannot parse")],
)
def test_a_database_url_that_is_not_sqlite_or_postgresql_is_refused(url: str, message: str) -> None:
    result = Cli(url)("org", "list")

    assert_refused(result, f"Invalid configuration: SCIM_DATABASE_URL: {message}")


def test_an_invalid_setting_is_reported_in_one_line(database_file: str) -> None:
    result = Cli(database_file, AUTH0_MAX_RPS="fast")("org", "list")

    assert_refused(result, "Invalid configuration: AUTH0_MAX_RPS")


def test_serve_runs_the_app_built_from_the_settings_under_uvicorn(
    cli: Cli, database_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = object()
    built_with: list[Settings] = []
    served: list[tuple[object, dict[str, Any]]] = []

    def create_app(settings: Settings) -> object:
        built_with.append(settings)
        return app

    web_app = ModuleType("scim_server.web.app")
    web_app.create_app = create_app  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "scim_server.web.app", web_app)
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.append((app, options)))

    result = cli("serve", "--host", "0.0.0.0", "--port", "9000")

    assert result.exit_code == 0, result.output
    (settings,) = built_with
    assert settings.database_url == database_file
    ((served_app, options),) = served
    assert served_app is app
    assert {k: options[k] for k in ("host", "port", "access_log")} == {
        "host": "0.0.0.0",
        "port": 9000,
        "access_log": False,  # ours, with the request id and organization, replaces uvicorn's
    }
    assert options["log_config"]["root"]["level"] == "INFO"


def test_serve_sandbox_seeds_acme_and_prints_its_url_and_token(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[object] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: served.append(app))

    result = cli("serve", "--sandbox", "--port", "9001")

    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # all on stderr, where the server's logs follow it
    assert "SCIM base URL:  http://127.0.0.1:9001/scim/v2/acme" in result.stderr
    tokens = [line for line in result.stderr.splitlines() if line.startswith("export TOKEN=scim_")]
    assert len(tokens) == 1 and len(served) == 1
    assert "acme" in cli("org", "list").output


def test_python_dash_m_runs_the_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "scim_server", "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent.parent,
    )

    assert result.returncode == 0, result.stderr
    assert "token" in result.stdout
    assert "migrate" in result.stdout
