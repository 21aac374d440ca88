"""``scim-server explain KEY USER``: why a person has (or lacks) access, in one look.

USER is any identity key support has in hand: an email, a userName, an externalId, a SCIM id
or an Auth0 user id. For each SCIM user it names: what the IdP says, each desired role with
the rule that grants it, what Auth0 holds as far as we confirmed, the work still pending and
the last errors (see ``support/explain.py``).
"""

import json

import click
from rich.table import Table
from rich.text import Text

from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import reported_errors
from scim_server.cli.common import run
from scim_server.cli.common import show_time
from scim_server.config import Settings
from scim_server.mapping.profile import load_profiles
from scim_server.storage.organizations import get_organization
from scim_server.storage.session import open_session
from scim_server.storage.tables import Organization
from scim_server.support.explain import Explanation
from scim_server.support.explain import explain_user

WIDTH = 15
"""The width of the labels on the left."""


def line(label: str, text: str) -> None:
    """Print one labelled line; an empty label continues the line above."""
    click.echo(f"{label + ':' if label else '':<{WIDTH}}{text}")


def plain(*cells: str) -> list[Text]:
    """Return table cells shown as typed: a group named "[b]x" is no rich markup."""
    return [Text(cell) for cell in cells]


def print_explanation(explanation: Explanation, *, org: Organization) -> None:
    """Print one user's explanation for people, top to bottom as support reads it."""
    found = explanation.to_json()
    who = found["identity"]
    keys = [
        f"SCIM id {who['scim_id']}",
        f"externalId {who['external_id'] or '-'}",
        f"userName {who['user_name'] or '-'}",
        f"Auth0 user {who['auth0_user_id'] or '-'}",
    ]
    click.echo(f"{who['email'] or who['user_name'] or who['scim_id']} ({', '.join(keys)})")
    scim = found["scim"]
    if who["deleted"]:
        line("IdP", "deleted (kept as a tombstone)")
    else:
        active = "inactive" if scim["active"] is False else "active"
        line("IdP", f"{active}; groups: {', '.join(scim['groups']) or '(none)'}")
    if explanation.link is None:
        line("State", "never provisioned (no desired state computed)")
        return
    synced = show_time(explanation.link.last_synced_at, missing="never")
    line("State", f"{found['state']}, last synced {synced}")
    if found["last_error"]:
        line("Last error", found["last_error"])
    print_desired(explanation, org=org)
    print_applied(explanation)
    print_pending(explanation)
    if explanation.recent_errors:
        table = Table("Time", "Source", "Kind", "Summary", title="Recent errors")
        for entry in explanation.recent_errors:
            table.add_row(*plain(show_time(entry.at), entry.source, entry.kind, entry.summary))
        print_table(table)


def print_desired(explanation: Explanation, *, org: Organization) -> None:
    """Print what we want in Auth0, and the rule behind each role."""
    desired = explanation.desired
    assert desired is not None
    if not desired.member:
        line("Desired", f"not a member of Auth0 organization {org.auth0_org} (deprovisioned)")
        return
    line("Desired", f"member of Auth0 organization {org.auth0_org}, email {desired.email or '-'}")
    if not explanation.reasons:
        line("Roles", "(none: no rule grants one)")
        return
    table = Table("Role", "Granted by", "Rule")
    for role, reasons in explanation.reasons.items():
        for number, reason in enumerate(reasons):
            text = reason.rule or "(no such rule any more: changed since this state was computed)"
            table.add_row(*plain(role if number == 0 else "", reason.citation, text))
    print_table(table)


def print_applied(explanation: Explanation) -> None:
    """Print what we last confirmed in Auth0."""
    applied, link = explanation.applied, explanation.link
    assert applied is not None and link is not None
    if applied.auth0_user_id is None:
        waiting = f"; invitation {applied.invitation_id} pending" if applied.invitation_id else ""
        line("Applied", f"no Auth0 user linked yet{waiting}")
        return
    ours = "created by us" if link.owned else f"found by {link.link_method or 'lookup'}, not ours"
    membership = "member" if applied.member else "not a member"
    roles = ", ".join(sorted(applied.roles)) or "(none)"
    blocked = ", blocked by us" if applied.blocked_by_us else ""
    line("Applied", f"{membership}, roles {roles}{blocked}")
    line("Auth0 user", f"{applied.auth0_user_id} ({ours})")


def print_pending(explanation: Explanation) -> None:
    """Print the queued task and the steps the worker still has to run."""
    pending = explanation.pending
    if pending.queued:
        count = pending.attempts
        tries = f", {count} failed attempt{'s' * (count != 1)}" if count else ""
        line("Pending", f"queued, due {show_time(pending.due_at)}{tries}")
        if pending.last_error:
            line("Task error", pending.last_error)
    else:
        line("Pending", "nothing queued")
    for number, step in enumerate(pending.steps, start=1):
        line("Next step" if number == 1 else "", f"{number}. {step}")


@click.command("explain")
@click.argument("key")
@click.argument("user")
@click.option("--json", "as_json", is_flag=True, help="Print the explanations as one JSON object.")
@click.pass_obj
@needs_database
def explain_command(settings: Settings, key: str, user: str, as_json: bool) -> None:
    """Explain the access of USER in organization KEY: roles and their rules, pending work, errors.

    USER is any identity key: email, userName, externalId, SCIM id or Auth0 user id.
    """
    with reported_errors():
        profiles = load_profiles(settings.mappings_dir)

    async def read() -> tuple[Organization, list[Explanation]]:
        async with open_session(settings.database_url) as session:
            org = await get_organization(session, key)
            return org, await explain_user(session, org=org, key=user, profiles=profiles)

    org, explanations = run(read())
    if not explanations:
        raise click.ClickException(f"No user of organization {key} is known by {user!r}")
    if as_json:
        click.echo(json.dumps({"matches": [e.to_json() for e in explanations]}, indent=2))
        return
    for number, explanation in enumerate(explanations):
        if number:
            click.echo()
        print_explanation(explanation, org=org)
