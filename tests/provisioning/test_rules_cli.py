"""``scim-server rules import|export``: an organization's role rules as TOML files."""

import asyncio
import tomllib
from pathlib import Path

import pytest

from scim_server.config import Settings
from scim_server.intake.tenancy import Tenancy
from scim_server.mapping.rule_files import parse_rules
from scim_server.provisioning.desired import DesiredState
from scim_server.storage.events import PersonKeys
from scim_server.storage.events import search_events
from scim_server.storage.links import get_link
from scim_server.storage.organizations import get_organization
from scim_server.storage.queue import get_task
from tests.test_cli import USER_DB
from tests.test_cli import Cli
from tests.test_cli import assert_refused

RULES = """\
# Acme's own rules
[[roles]]
id = "eng-admins"
when.group.display_name = "Eng Admins"
grant = ["org_admin", "org_billing"]

[[roles]]
id = "research"
when.attribute = { path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", in = ["Research", "R&D \\"labs\\""] }
grant = ["lab"]

[[roles]]
id = "named-like-scim-role"
when.scim_role.in = ["auditor", "viewer"]
grant_matched_name = true

[[roles]]
id = "ops"
when.group.external_id = "grp-ops"
grant = ["ops"]
"""


@pytest.fixture
def acme(database_url: str) -> Cli:
    cli = Cli(database_url)
    assert cli("migrate").exit_code == 0
    added = cli(
        "org", "add", "acme", "--auth0-org", "org_1", "--connection", USER_DB, "--profile", "okta"
    )
    assert added.exit_code == 0, added.output
    return cli


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_rules_round_trip_through_import_and_export(acme: Cli, tmp_path: Path) -> None:
    imported = acme("rules", "import", "acme", str(write(tmp_path, RULES)))
    assert imported.exit_code == 0, imported.output
    assert "Imported 4 role rules for organization acme" in imported.output

    exported = acme("rules", "export", "acme")
    assert exported.exit_code == 0, exported.output
    assert parse_rules(exported.stdout, source=Path("export")) == parse_rules(
        RULES, source=Path("in")
    )
    assert tomllib.loads(exported.stdout)["roles"][0]["id"] == "eng-admins"

    again = acme("rules", "import", "acme", str(write(tmp_path, exported.stdout)))
    assert again.exit_code == 0, again.output
    assert acme("rules", "export", "acme").stdout == exported.stdout


def test_importing_no_rules_removes_them(acme: Cli, tmp_path: Path) -> None:
    acme("rules", "import", "acme", str(write(tmp_path, RULES)))
    assert acme("rules", "import", "acme", str(write(tmp_path, "# none\n"))).exit_code == 0
    assert "[[roles]]" not in acme("rules", "export", "acme").stdout


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[[roles]]\nid = "admins"\nwhen.group = { display_name = "A", external_id = "x" }\ngrant = ["a"]\n',
            "rule 'admins': roles.0.when.group: group takes exactly one of",
        ),
        (
            '[[roles]]\nid = "a"\nwhen.default = true\ngrant = ["x"]\n\n[[roles]]\nid = "a"\nwhen.default = true\ngrant = ["y"]\n',
            "rule 'a': roles: rule id 'a' is used twice",
        ),
        (
            '[[roles]]\nid = "dept"\nwhen.attribute = { path = "departmnt", equals = "x" }\ngrant = ["x"]\n',
            "rule 'dept':",
        ),
        ("[[roles]\n", "is not valid TOML"),
    ],
    ids=["two-criteria", "duplicate-id", "unknown-path", "not-toml"],
)
def test_an_invalid_rule_file_is_refused_in_one_line_naming_the_rule(
    acme: Cli, tmp_path: Path, text: str, message: str
) -> None:
    acme("rules", "import", "acme", str(write(tmp_path, RULES)))
    assert_refused(acme("rules", "import", "acme", str(write(tmp_path, text))), message)
    assert "eng-admins" in acme("rules", "export", "acme").stdout  # the old rules stay


def test_rules_of_an_unknown_organization_are_refused(acme: Cli, tmp_path: Path) -> None:
    assert_refused(acme("rules", "import", "nope", str(write(tmp_path, RULES))), "nope")
    assert_refused(acme("rules", "export", "nope"), "nope")


def test_importing_rules_queues_the_users_whose_roles_change(
    acme: Cli, tmp_path: Path, database_url: str
) -> None:
    async def add_user() -> tuple[int, str]:
        tenancy = Tenancy.open(Settings(SCIM_DATABASE_URL=database_url))
        try:
            async with tenancy.session() as session:
                org = await get_organization(session, "acme")
                storage = tenancy.storage(session, org)
                user_type = storage.provider.resource_types[0]
                model = storage.provider.model_for(user_type)
                ada = {
                    "userName": "ada",
                    "emails": [{"value": "ada@acme.test"}],
                    "roles": [{"value": "Auditor"}],
                }
                created = await storage.create(user_type, model.model_validate(ada))
                await session.commit()
                assert org.id is not None and created.id is not None
                return org.id, created.id
        finally:
            await tenancy.close()

    org_id, ada = asyncio.run(add_user())
    result = acme("rules", "import", "acme", str(write(tmp_path, RULES)))
    assert "1 user queued with new desired roles." in result.output

    async def inspect() -> tuple[DesiredState, int, str]:
        tenancy = Tenancy.open(Settings(SCIM_DATABASE_URL=database_url))
        try:
            async with tenancy.session() as session:
                link = await get_link(session, org_id=org_id, scim_id=ada)
                task = await get_task(session, org_id=org_id, scim_id=ada)
                events = await search_events(
                    session, org_id=org_id, keys=PersonKeys(scim_ids=frozenset({ada}))
                )
                assert task is not None
                return DesiredState.from_json(link.desired), task.generation, events[-1].source
        finally:
            await tenancy.close()

    desired, generation, source = asyncio.run(inspect())
    assert desired.roles == {
        "auditor": ("org:named-like-scim-role",),
        "org_member": ("okta@1:member",),
    }
    assert (generation, source) == (2, "cli")
