"""``scim-server admin token issue|list|revoke``: the operator tokens of the admin API (DESIGN §3).

An operator token opens ``/admin/api/...`` and the ``/admin/`` page: on every organization, or
with ``--org`` on one organization only. Like SCIM tokens, it is shown once and only its
SHA-256 is stored.
"""

from datetime import UTC
from datetime import datetime
from datetime import timedelta

import click
from rich.table import Table

from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import run
from scim_server.cli.common import show_time
from scim_server.config import Settings
from scim_server.storage.operator_tokens import IssuedOperatorToken
from scim_server.storage.operator_tokens import issue_operator_token
from scim_server.storage.operator_tokens import list_operator_tokens
from scim_server.storage.operator_tokens import revoke_operator_token
from scim_server.storage.organizations import get_organization
from scim_server.storage.session import open_session
from scim_server.storage.tokens import MAX_TOKEN_DAYS

EVERY_ORG = "every organization"


@click.group("admin")
def admin_command() -> None:
    """Manage access to the admin API and the /admin/ page."""


@admin_command.group("token")
def admin_token() -> None:
    """Manage operator tokens (bearer tokens of /admin/api)."""


@admin_token.command("issue")
@click.option("--org", "org_key", metavar="KEY", help="Bind the token to one organization.")
@click.option("--name", default="operator", show_default=True, help="Who holds the token.")
@click.option(
    "--expires-in",
    "expires_in_days",
    type=click.IntRange(min=1, max=MAX_TOKEN_DAYS),
    metavar="DAYS",
    help=f"Days until the token expires (at most {MAX_TOKEN_DAYS}); never when absent.",
)
@click.pass_obj
@needs_database
def admin_token_issue(
    settings: Settings, org_key: str | None, name: str, expires_in_days: int | None
) -> None:
    """Issue an operator token; the token alone is the last line printed.

    So that scripts can take it: TOKEN=$(scim-server admin token issue | tail -1)
    """
    expires_in = None if expires_in_days is None else timedelta(days=expires_in_days)

    async def issue() -> tuple[IssuedOperatorToken, str]:
        async with open_session(settings.database_url) as session:
            org = None if org_key is None else await get_organization(session, org_key)
            return await issue_operator_token(session, org=org, name=name, expires_in=expires_in)

    issued, secret = run(issue())
    expiry = show_time(issued.token.expires_at, missing="never")
    scope = f"organization {issued.org_key}" if issued.org_key else EVERY_ORG
    click.echo(
        f"Issued operator token {issued.token.id} ({issued.token.name}) for {scope}; "
        f"expires: {expiry}."
    )
    click.echo("Use it as the bearer token of /admin/api, or paste it into the /admin/ page.")
    click.echo("It is shown only this once: only its SHA-256 is stored.")
    click.echo(secret)


@admin_token.command("list")
@click.pass_obj
@needs_database
def admin_token_list(settings: Settings) -> None:
    """List the operator tokens (never their secrets)."""

    async def fetch() -> list[IssuedOperatorToken]:
        async with open_session(settings.database_url) as session:
            return list(await list_operator_tokens(session))

    tokens = run(fetch())
    if not tokens:
        click.echo("No operator tokens: issue one with `scim-server admin token issue`.")
        return
    now = datetime.now(UTC)
    table = Table(
        "ID",
        "Name",
        "Organization",
        "Prefix",
        "Created",
        "Expires",
        "Revoked",
        "Last used",
        "Active",
    )
    for issued in tokens:
        record = issued.token
        table.add_row(
            record.id,
            record.name,
            issued.org_key or "*",
            f"{record.prefix}...",
            show_time(record.created_at),
            show_time(record.expires_at, missing="never"),
            show_time(record.revoked_at),
            show_time(record.last_used_at, missing="never"),
            "yes" if issued.is_active(now=now) else "no",
        )
    print_table(table)


@admin_token.command("revoke")
@click.argument("token_id")
@click.pass_obj
@needs_database
def admin_token_revoke(settings: Settings, token_id: str) -> None:
    """Revoke operator token TOKEN_ID; requests with it are refused at once."""

    async def revoke() -> IssuedOperatorToken:
        async with open_session(settings.database_url) as session:
            return await revoke_operator_token(session, token_id)

    issued = run(revoke())
    click.echo(
        f"Operator token {issued.token.id} ({issued.token.name}) revoked at "
        f"{show_time(issued.token.revoked_at)}."
    )
