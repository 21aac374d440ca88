"""``scim-server reconcile KEY [--repair] [--json]``: what Auth0 holds against what we applied.

It reads every member of the organization, with their roles, from Auth0 (a progress bar on a
terminal: a large organization takes many pages at the tenant's rate limit), and reports the
drift ``support/drift.py`` describes. A dry run by default; ``--repair`` corrects only what
scim-server manages, through the worker, and never touches members or roles it did not make.
Every finding and repair goes to the mapping log (source ``reconcile``).
"""

import json
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING

import click
from rich.console import Console
from rich.progress import BarColumn
from rich.progress import Progress
from rich.progress import SpinnerColumn
from rich.progress import TextColumn
from rich.table import Table

from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import reported_errors
from scim_server.cli.common import run
from scim_server.config import Settings
from scim_server.storage.database import Database
from scim_server.storage.links import links_of
from scim_server.storage.organizations import get_organization
from scim_server.storage.session import database_errors
from scim_server.support.plural import plural

if TYPE_CHECKING:
    from scim_server.support.drift import DriftReport

ACTOR = "scim-server reconcile"


@contextmanager
def member_progress(*, shown: bool) -> Iterator[Callable[[int], None] | None]:
    """Show how many members were read so far, on stderr, while Auth0 is paged."""
    if not shown:
        yield None
        return
    with Progress(
        SpinnerColumn(),
        TextColumn("Reading members from Auth0"),
        BarColumn(),
        TextColumn("{task.completed} read"),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task("members", total=None)
        yield lambda count: progress.update(task, completed=count)


async def reconcile(
    settings: Settings, key: str, *, repair: bool, progress: Callable[[int], None] | None
) -> tuple["DriftReport", dict[str, str]]:
    """Check one organization, log the findings, repair when asked; return the states after."""
    # Imported here, as `serve` does, so that the other commands do not load the Auth0 SDK.
    from scim_server.auth0_gateway import Auth0Error
    from scim_server.provisioning.runtime import build_worker
    from scim_server.provisioning.runtime import gateway_from
    from scim_server.support.drift_check import check_drift
    from scim_server.support.drift_check import record_drift
    from scim_server.support.drift_check import run_repairs

    gateway = gateway_from(settings)
    database = Database.open(settings.database_url)
    try:
        with database_errors():
            async with database.session() as session:
                organization = await get_organization(session, key)
            try:
                report = await check_drift(
                    database, gateway, organization=organization, progress=progress
                )
            except Auth0Error as error:
                raise click.ClickException(f"Auth0: {error}") from None
            now = datetime.now(UTC)
            report = await record_drift(
                database, report, organization=organization, now=now, repair=repair, actor=ACTOR
            )
            if not report.repaired:
                return report, {}
            worker = build_worker(settings, database, gateway)
            report = await run_repairs(worker, report, organization=organization, now=now)
            assert organization.id is not None
            async with database.session() as session:
                links = await links_of(session, org_id=organization.id, scim_ids=report.repaired)
            return report, {scim_id: link.state for scim_id, link in links.items()}
    finally:
        await gateway.aclose()
        await database.close()


def findings_table(report: "DriftReport") -> Table:
    """Return the findings as a table, ours first."""
    table = Table("Finding", "Ours", "Who", "SCIM id", "Auth0 user", "Roles", "Summary")
    for finding in sorted(report.findings, key=lambda f: (not f.ours, f.kind)):
        table.add_row(
            finding.kind,
            "yes" if finding.ours else "no",
            finding.email or finding.auth0_user_id or "-",
            finding.scim_id or "-",
            finding.auth0_user_id or ", ".join(finding.others) or "-",
            ", ".join(finding.roles) or "-",
            finding.summary,
        )
    return table


@click.command("reconcile")
@click.argument("key")
@click.option("--repair", is_flag=True, help="Fix what scim-server manages (a dry run without it).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.pass_obj
@needs_database
def reconcile_command(settings: Settings, key: str, repair: bool, as_json: bool) -> None:
    """Compare organization KEY's members and roles in Auth0 with what scim-server applied.

    Reports members scim-server does not manage, members it lost, role drift, several Auth0
    users for one email and links to deleted Auth0 users. With --repair, re-adds its lost
    members, restores its roles and re-creates the Auth0 users it created; members and roles
    made outside scim-server are only reported.
    """
    shown = not as_json and Console(stderr=True).is_terminal
    with reported_errors(), member_progress(shown=shown) as progress:
        report, states = run(reconcile(settings, key, repair=repair, progress=progress))
    if as_json:
        click.echo(json.dumps({**report.to_json(), "states": states}, indent=2))
        return
    click.echo(
        f"Organization {key} (Auth0 {report.auth0_org_id}): "
        f"{plural(report.members, 'member')} in Auth0, {plural(report.links, 'identity link')}."
    )
    if not report.findings:
        click.echo("No drift: Auth0 holds what scim-server applied.")
        return
    print_table(findings_table(report))
    ours = sum(f.repairable for f in report.findings)
    if repair:
        click.echo(
            f"Users repaired: {len(report.repaired)} ({report.reconciled} reconciled now, the "
            "worker takes the others); their state now:"
        )
        for scim_id, state in sorted(states.items()):
            click.echo(f"  {scim_id}: {state}")
    elif ours:
        click.echo(f"Ours to fix: {ours}; `scim-server reconcile {key} --repair` fixes them.")
    else:
        click.echo("Nothing here is scim-server's to fix: people decide about the rest.")
