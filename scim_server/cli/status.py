"""``scim-server status [KEY]``: whether the worker keeps up, and what keeps failing.

The queue depth, the due tasks and how long the oldest has waited, the tasks whose last
reconcile failed (with the error) and the identity links per state: for one organization,
or for all of them when no key is given.
"""

import json
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import click
from rich.table import Table
from rich.text import Text

from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import run
from scim_server.cli.common import show_time
from scim_server.config import Settings
from scim_server.storage.organizations import get_organization
from scim_server.storage.session import open_session
from scim_server.support.status import QueueStatus
from scim_server.support.status import queue_status


def show_age(age: timedelta) -> str:
    """Say how long something waited, in its two largest units.

    >>> show_age(timedelta(seconds=42)), show_age(timedelta(minutes=125))
    ('42s', '2h 5m')
    >>> show_age(timedelta(days=3, hours=4, minutes=5))
    '3d 4h'
    """
    seconds = int(age.total_seconds())
    parts: list[str] = []
    for unit, size in [("d", 86400), ("h", 3600), ("m", 60), ("s", 1)]:
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return " ".join(parts[:2])


def print_status(status: QueueStatus, *, scope: str) -> None:
    """Print a status for people: counts first, then the failed tasks as a table."""
    age = status.oldest_due_age
    oldest = (
        "none" if age is None else f"due {show_age(age)} ago ({show_time(status.oldest_due_at)})"
    )
    links = ", ".join(f"{state} {count}" for state, count in status.links_by_state.items())
    click.echo(f"Sync queue of {scope} at {show_time(status.checked_at)} UTC")
    click.echo(f"{'Queued tasks:':<17}{status.depth} ({status.due} due now)")
    click.echo(f"{'Oldest due task:':<17}{oldest}")
    click.echo(f"{'Tasks in error:':<17}{status.in_error}")
    click.echo(f"{'Identity links:':<17}{links or 'none'}")
    if not status.errors:
        return
    shown = f"the latest {len(status.errors)}" if len(status.errors) < status.in_error else "all"
    click.echo(f"Tasks in error ({shown}):")
    table = Table("Org", "SCIM id", "Email", "Attempts", "Next try", "Last error")
    for error in status.errors:
        cells = [
            error.org_key,
            error.scim_id,
            error.email or "-",
            str(error.attempts),
            show_time(error.due_at),
            error.last_error or "-",
        ]
        # Text cells: an error message quoting "[...]" is shown as is, never read as markup.
        table.add_row(*(Text(cell) for cell in cells))
    print_table(table)


@click.command("status")
@click.argument("key", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
@click.pass_obj
@needs_database
def status_command(settings: Settings, key: str | None, as_json: bool) -> None:
    """Show the sync queue and identity links of organization KEY, or of every organization."""

    async def read() -> QueueStatus:
        async with open_session(settings.database_url) as session:
            org_id = None
            if key is not None:
                org_id = (await get_organization(session, key)).id
            return await queue_status(session, now=datetime.now(UTC), org_id=org_id)

    status = run(read())
    if as_json:
        click.echo(json.dumps({"org": key, **status.to_json()}, indent=2))
        return
    print_status(status, scope=f"organization {key}" if key else "every organization")
