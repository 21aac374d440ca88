"""``scim-server doctor [KEY] [--json]``: checks that Auth0 is set up as provisioning needs.

The credentials and their scopes, then for each organization (or KEY only) its Auth0
organization, its connection and the roles its rules grant; each problem in one line saying
where to fix it (``support/doctor.py``). Exit code 1 when a check fails.
"""

import json
from typing import TYPE_CHECKING

import click
from rich.table import Table
from rich.text import Text

from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import reported_errors
from scim_server.cli.common import run
from scim_server.config import Settings
from scim_server.mapping.profile import load_profiles
from scim_server.mapping.rules import RoleRule
from scim_server.storage.organizations import get_organization
from scim_server.storage.organizations import list_organizations
from scim_server.storage.rules import list_rules
from scim_server.storage.session import open_session
from scim_server.support.plural import plural

if TYPE_CHECKING:
    from scim_server.support.doctor import DoctorReport
    from scim_server.support.doctor import OrganizationSetup

STATUS_STYLES = {"ok": ("ok", "green"), "warn": ("warn", "yellow"), "fail": ("FAIL", "bold red")}


async def read_setups(settings: Settings, key: str | None) -> list["OrganizationSetup"]:
    """Return the organizations to check with their profile and role rules."""
    from scim_server.support.doctor import OrganizationSetup

    profiles = load_profiles(settings.mappings_dir)
    async with open_session(settings.database_url) as session:
        if key is None:
            organizations = list(await list_organizations(session))
        else:
            organizations = [await get_organization(session, key)]
        setups = []
        for organization in organizations:
            assert organization.id is not None
            definitions = await list_rules(session, org_id=organization.id)
            setups.append(
                OrganizationSetup(
                    organization,
                    profiles.get(organization.profile),
                    [RoleRule.model_validate(d) for d in definitions],
                )
            )
        return setups


async def examine(settings: Settings, key: str | None) -> "DoctorReport":
    """Run every check against the configured Auth0 tenant."""
    # Imported here, as `serve` does, so that the other commands do not load the Auth0 SDK.
    from scim_server.provisioning.runtime import gateway_from
    from scim_server.support.doctor import diagnose

    setups = await read_setups(settings, key)
    gateway = gateway_from(settings)
    try:
        return await diagnose(
            gateway,
            setups,
            invitation_client_id=settings.auth0_invitation_client_id,
            has_hook_secret=bool(settings.hook_secret),
        )
    finally:
        await gateway.aclose()


def checks_table(report: "DoctorReport") -> Table:
    """Return the checks as a table: status, subject, check, message."""
    table = Table("Status", "For", "Check", "Message")
    for check in report.checks:
        label, style = STATUS_STYLES[check.status]
        table.add_row(Text(label, style=style), check.subject, check.name, check.message)
    return table


@click.command("doctor")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the checks as one JSON object.")
@click.pass_obj
@needs_database
def doctor_command(settings: Settings, key: str | None, as_json: bool) -> None:
    """Check the Auth0 set-up: credentials, scopes, and each organization (or KEY only).

    For each organization: its Auth0 organization exists, its connection exists and is enabled
    for it, and every role its profile and role rules grant exists. Exit code 1 when a check fails.
    """
    with reported_errors():
        report = run(examine(settings, key))
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        print_table(checks_table(report))
        failed = sum(check.status == "fail" for check in report.checks)
        click.echo("All checks passed." if report.ok else f"{plural(failed, 'check')} failed.")
    if not report.ok:
        raise click.exceptions.Exit(1)
