"""``scim-server log KEY``: an organization's mapping log, or one person's timeline (DESIGN §8).

Support staff type whatever the ticket names (``--user`` takes an email, userName,
externalId, SCIM id, Auth0 user id or request id) and read what happened, who did it, and
why: each role's rule citations are printed under its event. ``--json`` prints one JSON
object per line for scripts; ``--follow`` keeps printing new events until Ctrl-C.
"""

import asyncio
import json
from collections.abc import Awaitable
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC
from datetime import datetime

import click
from rich.table import Table
from rich.text import Text

from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import run
from scim_server.config import Settings
from scim_server.storage.events import OUTCOMES
from scim_server.storage.organizations import get_organization
from scim_server.storage.session import open_session
from scim_server.support.mapping_log import LogEntry
from scim_server.support.mapping_log import LogQuery
from scim_server.support.mapping_log import LogQueryError
from scim_server.support.mapping_log import parse_since
from scim_server.support.mapping_log import search_log

POLL_SECONDS = 1.0
"""How often ``--follow`` looks for new events."""

OUTCOME_STYLES = {"ok": "green", "error": "bold red", "skipped": "yellow"}


def show_moment(moment: datetime) -> str:
    """Format an event's time to the second, in UTC: a timeline needs the order within a minute.

    >>> show_moment(datetime(2026, 11, 28, 9, 30, 15, 999, tzinfo=UTC))
    '2026-11-28 09:30:15'
    """
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def describe(entry: LogEntry) -> Text:
    """Return an event's summary, with the rules behind each role on the lines below it."""
    text = Text(entry.summary)
    for role, citations in entry.reasons.items():
        text.append(f"\n  {role} <- {', '.join(citations) or '(no rule)'}", style="dim")
    return text


def timeline(entries: list[LogEntry], *, header: bool = True) -> Table:
    """Return the events as a table: time, source, actor, kind, outcome, summary and reasons."""
    table = Table("Time (UTC)", "Source", "Actor", "Kind", "Outcome", "Summary", show_header=header)
    for entry in entries:
        table.add_row(
            show_moment(entry.at),
            entry.source,
            entry.actor or "-",
            entry.kind,
            Text(entry.outcome, style=OUTCOME_STYLES.get(entry.outcome, "")),
            describe(entry),
        )
    return table


def show(entries: list[LogEntry], *, as_json: bool, header: bool = True) -> None:
    """Print events as JSON lines or as a table."""
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry.to_json(), sort_keys=True))
    elif entries:
        print_table(timeline(entries, header=header))


async def pause(seconds: float) -> None:
    """Wait between two polls of ``--follow`` (replaced in tests, which never wait)."""
    await asyncio.sleep(seconds)


async def read_log(settings: Settings, key: str, query: LogQuery) -> list[LogEntry]:
    """Read one page of an organization's log in a session of its own."""
    async with open_session(settings.database_url) as session:
        organization = await get_organization(session, key)
        assert organization.id is not None
        return await search_log(session, org_id=organization.id, query=query)


async def follow_log(
    read: Callable[[LogQuery], Awaitable[list[LogEntry]]],
    query: LogQuery,
    *,
    after_id: int,
    printer: Callable[[list[LogEntry]], None],
) -> None:
    """Print the events appended after ``after_id``, polling until interrupted (Ctrl-C)."""
    while True:
        await pause(POLL_SECONDS)
        entries = await read(replace(query, after_id=after_id))
        if entries:
            printer(entries)
            after_id = entries[-1].id


@click.command("log")
@click.argument("key")
@click.option("--user", help="Any identity key: email, userName, externalId, SCIM id, Auth0 id.")
@click.option("--since", help="From this ISO date or time (UTC), or this long ago: 30m, 2h, 7d.")
@click.option("--outcome", type=click.Choice(sorted(OUTCOMES)), help="Only events of this outcome.")
@click.option(
    "--limit", type=int, default=200, show_default=True, help="Show at most the newest N events."
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--follow", is_flag=True, help="Keep printing new events until Ctrl-C.")
@click.pass_obj
@needs_database
def log_command(
    settings: Settings,
    key: str,
    user: str | None,
    since: str | None,
    outcome: str | None,
    limit: int,
    as_json: bool,
    follow: bool,
) -> None:
    """Print the mapping log of organization KEY: what happened to whom, and why."""
    try:
        query = LogQuery(
            user=user,
            since=None if since is None else parse_since(since, now=datetime.now(UTC)),
            outcome=outcome,
            limit=limit,
        )
    except LogQueryError as error:
        raise click.ClickException(str(error)) from None

    async def read(page: LogQuery) -> list[LogEntry]:
        return await read_log(settings, key, page)

    entries = run(read(query))
    show(entries, as_json=as_json)
    if not entries and not as_json:
        whom = f" about {user}" if user else ""
        click.echo(f"No events{whom} in organization {key}.")
    if not follow:
        return
    last = entries[-1].id if entries else 0
    try:
        run(
            follow_log(
                read,
                query,
                after_id=last,
                printer=lambda found: show(found, as_json=as_json, header=False),
            )
        )
    except KeyboardInterrupt:
        return
