"""The ``scim-server`` command: the operator's composition root (DESIGN §2 and §9).

``main`` reads the settings from the environment once per invocation and hands them to the
commands. A command that touches the database opens one session for its work and commits it
(``storage.session.open_session``). Mistakes an operator can fix (a bad key, an unknown
organization, a database that is not migrated) end with a one-line message and exit code 1;
only a bug shows a traceback. The support commands live in modules of their own beside
this one and are registered at the end.
"""

import asyncio
import logging.config
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from scim_server.cli.common import load_settings
from scim_server.cli.common import needs_database
from scim_server.cli.common import print_table
from scim_server.cli.common import reported_errors
from scim_server.cli.common import require_database
from scim_server.cli.common import run
from scim_server.cli.common import scim_base_url
from scim_server.cli.common import show_time
from scim_server.config import Settings
from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.profile import load_profiles
from scim_server.storage.migrate import head_revision
from scim_server.storage.migrate import migrate as migrate_database
from scim_server.storage.operator_tokens import issue_operator_token
from scim_server.storage.organizations import IDENTITY_MODES
from scim_server.storage.organizations import OrganizationError
from scim_server.storage.organizations import create_organization
from scim_server.storage.organizations import get_organization
from scim_server.storage.organizations import list_organizations
from scim_server.storage.organizations import validate_org_key
from scim_server.storage.session import database_errors
from scim_server.storage.session import open_session
from scim_server.storage.tables import Organization
from scim_server.storage.tables import ScimToken
from scim_server.storage.tokens import MAX_TOKEN_DAYS
from scim_server.storage.tokens import is_token_active
from scim_server.storage.tokens import issue_token
from scim_server.storage.tokens import list_tokens
from scim_server.storage.tokens import revoke_token
from scim_server.support.plural import plural


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.pass_context
def main(context: click.Context) -> None:
    """Provision Auth0 Organizations from the SCIM 2.0 clients of their IdPs."""
    context.obj = load_settings()


@main.command()
@click.pass_obj
def migrate(settings: Settings) -> None:
    """Create or upgrade the database schema (safe to run on every start)."""
    with reported_errors(), database_errors():
        before = migrate_database(settings.database_url)
    head = head_revision()
    if before is None:
        click.echo(f"Created the database schema (revision {head}).")
    elif before != head:
        click.echo(f"Upgraded the database schema from revision {before} to {head}.")
    else:
        click.echo(f"Database schema is up to date (revision {head}).")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8000, show_default=True, help="TCP port."
)
@click.option(
    "--sandbox",
    is_flag=True,
    help="Run an Auth0 emulator in this process, with a demo organization 'acme' and a token.",
)
@click.pass_obj
def serve(settings: Settings, host: str, port: int, sandbox: bool) -> None:
    """Serve the SCIM endpoints of every organization, and provision them into Auth0."""
    # Imported here so that the operator commands do not load the web stack.
    import uvicorn

    from scim_server.provisioning.runtime import gateway_from
    from scim_server.web.app import create_app
    from scim_server.web.logs import logging_config

    if not sandbox:
        require_database(settings)
    with reported_errors():
        if sandbox:
            settings, gateway, emulator = start_sandbox(settings, f"http://{host}:{port}")
            app = create_app(settings, gateway=gateway, emulator=emulator)
        elif settings.auth0_configured:
            app = create_app(settings, gateway=gateway_from(settings))
        else:
            click.echo(
                "Provisioning is paused: AUTH0_DOMAIN, AUTH0_CLIENT_ID and AUTH0_CLIENT_SECRET are "
                "not set. SCIM writes are stored and queued until a worker runs.",
                err=True,
            )
            app = create_app(settings)
    # uvicorn's records go through our handler too; our middleware writes the access log.
    log_config = logging_config(log_format=settings.log_format, level=settings.log_level)
    uvicorn.run(app, host=host, port=port, log_config=log_config, access_log=False)


@main.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(1, 65535),
    help="Serve this worker's Prometheus metrics (Auth0 calls, retries) on this port.",
)
@click.option(
    "--metrics-host", default="127.0.0.1", show_default=True, help="Interface of the metrics."
)
@click.pass_obj
@needs_database
def worker(settings: Settings, metrics_port: int | None, metrics_host: str) -> None:
    """Reconcile queued provisioning work into Auth0 until interrupted (beside `serve`)."""
    from scim_server.provisioning.runtime import build_worker
    from scim_server.provisioning.runtime import gateway_from
    from scim_server.storage.database import Database
    from scim_server.web.logs import logging_config
    from scim_server.web.metrics import collectors_of
    from scim_server.web.metrics import serve_process_metrics

    with reported_errors():
        gateway = gateway_from(settings)

    async def work() -> None:
        database = Database.open(settings.database_url)
        stop_metrics = None
        try:
            process = build_worker(settings, database, gateway)
            if metrics_port is not None:
                collectors = collectors_of(gateway=gateway, worker=process)
                try:
                    stop_metrics = serve_process_metrics(
                        host=metrics_host, port=metrics_port, collectors=collectors
                    )
                except OSError as error:
                    where = f"{metrics_host}:{metrics_port}"
                    raise click.ClickException(
                        f"Cannot serve metrics on {where}: {error.strerror or error}"
                    ) from None
            await process.run()
        finally:
            if stop_metrics is not None:
                stop_metrics()
            await gateway.aclose()
            await database.close()

    logging.config.dictConfig(
        logging_config(log_format=settings.log_format, level=settings.log_level)
    )
    click.echo("Worker started; Ctrl-C stops it (unfinished tasks are claimed again later).")
    try:
        run(work())
    except KeyboardInterrupt:
        click.echo("Worker stopped.")


SANDBOX_CLIENT_ID = "sandbox"
SANDBOX_ORG = "acme"


def start_sandbox(settings: Settings, url: str) -> tuple[Settings, Any, Any]:
    """Prepare ``serve --sandbox``: emulator, database, demo organization, token; print them.

    The emulator keeps its state in memory, so the database is a new SQLite file in a temporary
    directory, deleted when the process exits, unless SCIM_DATABASE_URL is set: links to Auth0
    users of an earlier run would point nowhere. Process logs are text unless SCIM_LOG_FORMAT
    says otherwise. What a person needs is printed on stderr before the server's first log
    line, as lines to paste into a second shell.
    """
    import atexit
    import secrets
    import shutil
    import signal
    import sys
    import tempfile

    import httpx

    from scim_server.auth0_gateway import ManagementApiGateway
    from scim_server.sandbox import DEFAULT_DATABASE
    from scim_server.sandbox import DEMO
    from scim_server.sandbox import Emulator
    from scim_server.sandbox import seed_tenant
    from scim_server.web.app import SANDBOX_PATH

    if "database_url" not in settings.model_fields_set:
        directory = tempfile.mkdtemp(prefix="scim-sandbox-")
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        # uvicorn ends by re-raising the signal that stopped it: SIGTERM's default would kill
        # the process before atexit runs (Ctrl-C raises KeyboardInterrupt, which lets it run).
        signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))
        settings = settings.model_copy(
            update={"database_url": f"sqlite+aiosqlite:///{directory}/scim-server.db"}
        )
        kept = "deleted when the server stops"
    else:
        kept = "kept (SCIM_DATABASE_URL is set), but not the emulator's users"
    if "log_format" not in settings.model_fields_set:
        settings = settings.model_copy(update={"log_format": "text"})
    profile = load_profiles(settings.mappings_dir)["okta"]
    secret = secrets.token_urlsafe(24)
    emulator = Emulator(client_id=SANDBOX_CLIENT_ID, client_secret=secret)
    seed_tenant(emulator.tenant, DEMO)
    demo_roles = {str(role["name"]) for role in emulator.tenant.roles.values()}
    profile_roles = sorted(profile_role_names(profile) - demo_roles)
    seed_tenant(emulator.tenant, {"roles": [{"name": name} for name in profile_roles]})
    max_rps = settings.auth0_max_rps if "auth0_max_rps" in settings.model_fields_set else 50.0
    gateway = ManagementApiGateway(
        management_url="http://sandbox.auth0.invalid",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=secret,
        max_rps=max_rps,
        transport=httpx.ASGITransport(app=emulator),
    )
    with database_errors():
        migrate_database(settings.database_url)

    async def prepare() -> tuple[str, str]:
        async with open_session(settings.database_url) as session:
            try:
                organization = await get_organization(session, SANDBOX_ORG)
            except OrganizationError:
                organization = await create_organization(
                    session,
                    key=SANDBOX_ORG,
                    auth0_org=SANDBOX_ORG,
                    connection=DEFAULT_DATABASE,
                    identity_mode="create",
                    profile="okta",
                    display_name="Acme Corp (sandbox)",
                )
            _, token = await issue_token(session, org=organization, name="sandbox", expires_in=None)
            _, operator = await issue_operator_token(
                session, org=None, name="sandbox", expires_in=None
            )
            return token, operator

    token, operator = asyncio.run(prepare())
    roles = ", ".join(sorted(demo_roles | set(profile_roles)))
    support = (
        f"export SCIM_DATABASE_URL={settings.database_url} "
        f"AUTH0_MANAGEMENT_URL={url}{SANDBOX_PATH} AUTH0_CLIENT_ID={SANDBOX_CLIENT_ID} "
        f"AUTH0_CLIENT_SECRET={secret}"
    )
    for line in [
        f"Sandbox: an Auth0 emulator runs in this process (roles: {roles}).",
        f"Database: {settings.database_url}, {kept}.",
        "Each start seeds organization acme afresh and prints new tokens.",
        f"SCIM base URL:  {url}/scim/v2/{SANDBOX_ORG}",
        f"Admin page:     {url}/admin/ (operator token: {operator})",
        f"Emulator state: {url}{SANDBOX_PATH}/__emulator__/state",
        "",
        "In a second shell, paste these lines: the SCIM token for curl, then the settings",
        "that point log, explain, status, reconcile and doctor at this sandbox.",
        "",
        f"export TOKEN={token}",
        support,
        "",
    ]:
        click.echo(line, err=True)
    return settings, gateway, emulator


def profile_role_names(profile: MappingProfile) -> set[str]:
    """Return the role names a profile's rules can grant, so the sandbox can create them."""
    names: set[str] = set()
    for rule in profile.roles:
        names.update(rule.grant)
        group = rule.when.group
        if rule.grant_matched_name and group is not None:
            names.update(group.display_name_in or ())
            names.update([group.display_name] if group.display_name else [])
    return names


@main.group()
def org() -> None:
    """Manage organizations: one per Auth0 Organization fed by one IdP."""


@org.command("add")
@click.argument("key")
@click.option("--auth0-org", required=True, help="The Auth0 organization id (org_...) or name.")
@click.option("--connection", required=True, help="The Auth0 connection its users live in.")
@click.option(
    "--mode",
    "identity_mode",
    type=click.Choice(IDENTITY_MODES),
    default="create",
    show_default=True,
    help="How Auth0 users are obtained: created, linked at login, or invited.",
)
@click.option(
    "--profile",
    default="generic",
    show_default=True,
    help="The IdP's mapping profile (generic, okta, entra, onelogin, or one of SCIM_MAPPINGS_DIR).",
)
@click.option("--display-name", help="A name for people; the key is used when absent.")
@click.pass_obj
@needs_database
def org_add(
    settings: Settings,
    key: str,
    auth0_org: str,
    connection: str,
    identity_mode: str,
    profile: str,
    display_name: str | None,
) -> None:
    """Add organization KEY; its SCIM base URL ends with /scim/v2/KEY."""
    with reported_errors():
        validate_org_key(key)
        profiles = load_profiles(settings.mappings_dir)
    if profile not in profiles:
        raise click.ClickException(
            f"Unknown mapping profile {profile!r}: use one of {', '.join(sorted(profiles))}"
        )

    async def add() -> Organization:
        async with open_session(settings.database_url) as session:
            return await create_organization(
                session,
                key=key,
                auth0_org=auth0_org,
                connection=connection,
                identity_mode=identity_mode,
                profile=profile,
                display_name=display_name,
            )

    organization = run(add())
    click.echo(
        f"Added organization {organization.key} (Auth0 organization {organization.auth0_org}, "
        f"connection {organization.connection}, mode {organization.identity_mode}, "
        f"profile {organization.profile})."
    )
    click.echo(f"SCIM base URL: {scim_base_url(settings, organization.key)}")
    click.echo(f"Next: scim-server token issue {organization.key}")


@org.command("list")
@click.pass_obj
@needs_database
def org_list(settings: Settings) -> None:
    """List the organizations."""

    async def fetch() -> list[Organization]:
        async with open_session(settings.database_url) as session:
            return list(await list_organizations(session))

    organizations = run(fetch())
    if not organizations:
        click.echo("No organizations yet: add one with `scim-server org add`.")
        return
    table = Table("Key", "Display name", "Auth0 org", "Connection", "Mode", "Profile", "Created")
    for organization in organizations:
        table.add_row(
            organization.key,
            organization.display_name or "-",
            organization.auth0_org,
            organization.connection,
            organization.identity_mode,
            organization.profile,
            show_time(organization.created_at),
        )
    print_table(table)


@org.command("show")
@click.argument("key")
@click.pass_obj
@needs_database
def org_show(settings: Settings, key: str) -> None:
    """Show organization KEY, its SCIM base URL and its tokens."""

    async def fetch() -> tuple[Organization, list[ScimToken]]:
        async with open_session(settings.database_url) as session:
            organization = await get_organization(session, key)
            return organization, list(await list_tokens(session, organization))

    organization, tokens = run(fetch())
    now = datetime.now(UTC)
    active = sum(is_token_active(token, now=now) for token in tokens)
    for label, value in [
        ("Key", organization.key),
        ("Display name", organization.display_name or "-"),
        ("Auth0 org", organization.auth0_org),
        ("Connection", organization.connection),
        ("Identity mode", organization.identity_mode),
        ("Profile", organization.profile),
        ("Leaver policy", organization.leaver_policy),
        ("Created", show_time(organization.created_at)),
        ("SCIM base URL", scim_base_url(settings, organization.key)),
        ("Tokens", f"{active} active, {len(tokens)} issued"),
    ]:
        click.echo(f"{label + ':':<15}{value}")


@main.group()
def token() -> None:
    """Manage the SCIM bearer tokens of an organization."""


@token.command("issue")
@click.argument("key")
@click.option("--name", default="default", show_default=True, help="What the token is for.")
@click.option(
    "--expires-in",
    "expires_in_days",
    type=click.IntRange(min=1, max=MAX_TOKEN_DAYS),
    metavar="DAYS",
    help=f"Days until the token expires (at most {MAX_TOKEN_DAYS}); never when absent.",
)
@click.pass_obj
@needs_database
def token_issue(settings: Settings, key: str, name: str, expires_in_days: int | None) -> None:
    """Issue a token for organization KEY; the token alone is the last line printed.

    So that scripts can take it: TOKEN=$(scim-server token issue acme | tail -1)
    """
    expires_in = None if expires_in_days is None else timedelta(days=expires_in_days)

    async def issue() -> tuple[ScimToken, str]:
        async with open_session(settings.database_url) as session:
            organization = await get_organization(session, key)
            return await issue_token(session, org=organization, name=name, expires_in=expires_in)

    record, secret = run(issue())
    expiry = show_time(record.expires_at, missing="never")
    click.echo(
        f"Issued token {record.id} ({record.name}) for organization {key}; expires: {expiry}."
    )
    click.echo(f"Give it to the IdP as the bearer token of {scim_base_url(settings, key)}")
    click.echo("It is shown only this once: only its SHA-256 is stored.")
    click.echo(secret)


@token.command("list")
@click.argument("key")
@click.pass_obj
@needs_database
def token_list(settings: Settings, key: str) -> None:
    """List the tokens of organization KEY (never their secrets)."""

    async def fetch() -> list[ScimToken]:
        async with open_session(settings.database_url) as session:
            organization = await get_organization(session, key)
            return list(await list_tokens(session, organization))

    tokens = run(fetch())
    if not tokens:
        click.echo(
            f"Organization {key} has no tokens: issue one with `scim-server token issue {key}`."
        )
        return
    table = Table("ID", "Name", "Prefix", "Created", "Expires", "Revoked", "Last used")
    for record in tokens:
        table.add_row(
            record.id,
            record.name,
            f"{record.prefix}...",
            show_time(record.created_at),
            show_time(record.expires_at, missing="never"),
            show_time(record.revoked_at),
            show_time(record.last_used_at, missing="never"),
        )
    print_table(table)


@token.command("revoke")
@click.argument("key")
@click.argument("token_id")
@click.pass_obj
@needs_database
def token_revoke(settings: Settings, key: str, token_id: str) -> None:
    """Revoke token TOKEN_ID of organization KEY; IdP requests with it are refused at once."""

    async def revoke() -> ScimToken:
        async with open_session(settings.database_url) as session:
            organization = await get_organization(session, key)
            return await revoke_token(session, organization, token_id)

    record = run(revoke())
    click.echo(
        f"Token {record.id} ({record.name}) of {key} revoked at {show_time(record.revoked_at)}."
    )


@main.group()
def rules() -> None:
    """Manage the role rules of an organization, on top of its mapping profile's (DESIGN §7)."""


@rules.command("import")
@click.argument("key")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
@needs_database
def rules_import(settings: Settings, key: str, file: Path) -> None:
    """Replace the role rules of organization KEY with the [[roles]] of FILE (TOML).

    Every user's desired state is recomputed at once; users whose roles change are queued for
    the worker, and the mapping log cites the new rules as org:<rule-id>.
    """
    from scim_server.intake.store import refresh_desired
    from scim_server.mapping.rule_files import definition
    from scim_server.mapping.rule_files import read_rules
    from scim_server.storage.links import live_user_ids
    from scim_server.storage.rules import replace_rules

    with reported_errors():
        imported = read_rules(file)
        profiles = load_profiles(settings.mappings_dir)

    async def store() -> int:
        async with open_session(settings.database_url) as session:
            organization = await get_organization(session, key)
            assert organization.id is not None
            await replace_rules(
                session, org_id=organization.id, definitions=[definition(r) for r in imported]
            )
            changed = await refresh_desired(
                session,
                org_id=organization.id,
                profile=profiles[organization.profile],
                org_rules=imported,
                scim_ids=await live_user_ids(session, org_id=organization.id),
                cause=f"Role rules imported from {file.name}",
                now=datetime.now(UTC),
                source="cli",
                actor="scim-server rules import",
            )
            return len(changed)

    changed = run(store())
    click.echo(
        f"Imported {plural(len(imported), 'role rule')} for organization {key}; "
        f"{plural(changed, 'user')} queued with new desired roles."
    )


@rules.command("export")
@click.argument("key")
@click.pass_obj
@needs_database
def rules_export(settings: Settings, key: str) -> None:
    """Print the role rules of organization KEY as TOML, as `rules import` reads them."""
    from scim_server.mapping.rule_files import dump_rules
    from scim_server.mapping.rules import RoleRule
    from scim_server.storage.rules import list_rules

    async def fetch() -> list[dict[str, Any]]:
        async with open_session(settings.database_url) as session:
            organization = await get_organization(session, key)
            assert organization.id is not None
            return await list_rules(session, org_id=organization.id)

    stored = [RoleRule.model_validate(definition) for definition in run(fetch())]
    header = f"Role rules of organization {key}: scim-server rules import {key} FILE"
    click.echo(dump_rules(stored, header=header), nl=False)


# The support commands, one module each (registered last: they import nothing from here).
from scim_server.cli.admin import admin_command  # noqa: E402
from scim_server.cli.doctor import doctor_command  # noqa: E402
from scim_server.cli.explain import explain_command  # noqa: E402
from scim_server.cli.log import log_command  # noqa: E402
from scim_server.cli.reconcile import reconcile_command  # noqa: E402
from scim_server.cli.status import status_command  # noqa: E402

main.add_command(admin_command)
main.add_command(log_command)
main.add_command(explain_command)
main.add_command(status_command)
main.add_command(reconcile_command)
main.add_command(doctor_command)
