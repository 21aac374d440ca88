"""scim-server doctor's checks against the emulator (real SDK, in-process): each fault named."""

from collections.abc import AsyncIterator

import pytest

from scim_server.auth0_gateway.token import _scopes_of
from scim_server.config import default_mappings_dir
from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.profile import load_profiles
from scim_server.mapping.rules import RoleRule
from scim_server.sandbox import Emulator
from scim_server.sandbox.tokens import SCOPES
from scim_server.sandbox.tokens import TokenIssuer
from scim_server.storage.tables import Organization
from scim_server.support.doctor import REQUIRED_SCOPES
from scim_server.support.doctor import DoctorReport
from scim_server.support.doctor import OrganizationSetup
from scim_server.support.doctor import diagnose
from scim_server.support.doctor import grantable_roles
from tests.helpers.auth0 import CLIENT_ID
from tests.helpers.auth0 import CLIENT_SECRET
from tests.helpers.auth0 import DATABASE
from tests.helpers.auth0 import demo_emulator
from tests.helpers.auth0 import gateway_on

pytestmark = pytest.mark.anyio


@pytest.fixture
def emulator() -> Emulator:
    return demo_emulator()


@pytest.fixture
def okta() -> MappingProfile:
    return load_profiles(default_mappings_dir())["okta"]


def acme(**changes: str) -> Organization:
    values = {"key": "acme", "auth0_org": "acme", "connection": DATABASE, "profile": "okta"}
    values.update(changes)
    return Organization(**values)


async def run(
    emulator: Emulator, *setups: OrganizationSetup, invitation_client_id: str | None = None
) -> DoctorReport:
    gateway = gateway_on(emulator)
    try:
        return await diagnose(gateway, setups, invitation_client_id=invitation_client_id)
    finally:
        await gateway.aclose()


def failures(report: DoctorReport) -> dict[tuple[str, str], str]:
    return {(c.subject, c.name): c.message for c in report.checks if c.status == "fail"}


@pytest.fixture
async def healthy(emulator: Emulator, okta: MappingProfile) -> AsyncIterator[DoctorReport]:
    yield await run(emulator, OrganizationSetup(acme(), okta))


async def test_a_healthy_set_up_passes_every_check(healthy: DoctorReport) -> None:
    assert healthy.ok
    assert [(c.subject, c.name, c.status) for c in healthy.checks] == [
        ("Auth0", "credentials", "ok"),
        ("Auth0", "scopes", "ok"),
        ("acme", "organization", "ok"),
        ("acme", "connection", "ok"),
        ("acme", "roles", "ok"),
    ]
    roles = healthy.checks[-1].message
    assert "org_admin" in roles and "org_member" in roles and "org_billing" in roles


async def test_refused_credentials_fail_and_stop_there(
    emulator: Emulator, okta: MappingProfile
) -> None:
    emulator.tokens = TokenIssuer(
        client_id=CLIENT_ID, client_secret="rotated", clock=emulator.clock
    )

    report = await run(emulator, OrganizationSetup(acme(), okta))

    assert not report.ok
    [check] = report.checks
    assert (check.name, check.status) == ("credentials", "fail")
    assert "401" in check.message and "AUTH0_CLIENT_SECRET" in check.message
    assert CLIENT_SECRET not in check.message


async def test_a_missing_scope_is_named(emulator: Emulator, okta: MappingProfile) -> None:
    fewer = " ".join(s for s in SCOPES.split() if s not in ("delete:sessions", "read:connections"))
    emulator.tokens = TokenIssuer(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, clock=emulator.clock, scopes=fewer
    )

    report = await run(emulator, OrganizationSetup(acme(), okta))

    assert "delete:sessions" in failures(report)[("Auth0", "scopes")]
    warning = next(c for c in report.checks if c.name == "doctor scopes")
    assert (warning.status, "read:connections" in warning.message) == ("warn", True)


async def test_scopes_read_from_the_jwt_when_the_answer_omits_them() -> None:
    token = TokenIssuer(client_id="c", client_secret="s", clock=lambda: 0.0).grant(
        {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}
    )["access_token"]

    assert _scopes_of(None, token) == frozenset(SCOPES.split())
    assert frozenset(SCOPES.split()) >= REQUIRED_SCOPES


async def test_an_organization_that_does_not_exist(
    emulator: Emulator, okta: MappingProfile
) -> None:
    report = await run(emulator, OrganizationSetup(acme(auth0_org="initech"), okta))

    assert "'initech' does not exist" in failures(report)[("acme", "organization")]
    assert ("acme", "connection") not in {(c.subject, c.name) for c in report.checks}


async def test_a_connection_missing_or_not_enabled(
    emulator: Emulator, okta: MappingProfile
) -> None:
    report = await run(
        emulator,
        OrganizationSetup(acme(connection="nope"), okta),
        OrganizationSetup(acme(key="globex", auth0_org="globex", connection="acme-okta"), okta),
    )

    found = failures(report)
    assert "no connection named 'nope'" in found[("acme", "connection")]
    assert "'acme-okta' is not enabled for organization 'globex'" in found[("globex", "connection")]


async def test_mode_create_on_an_enterprise_connection(
    emulator: Emulator, okta: MappingProfile
) -> None:
    report = await run(emulator, OrganizationSetup(acme(connection="acme-okta"), okta))

    assert (
        "mode create cannot create users in 'acme-okta'" in failures(report)[("acme", "connection")]
    )

    linked = await run(
        emulator, OrganizationSetup(acme(connection="acme-okta", identity_mode="link"), okta)
    )
    assert linked.ok
    warning = next(c for c in linked.checks if c.name == "login hook")
    assert warning.status == "warn" and "SCIM_HOOK_SECRET" in warning.message


async def test_a_role_the_rules_grant_but_auth0_lacks(
    emulator: Emulator, okta: MappingProfile
) -> None:
    rule = RoleRule.model_validate(
        {"id": "auditors", "when": {"group": {"display_name": "Audit"}}, "grant": ["org_auditor"]}
    )

    report = await run(emulator, OrganizationSetup(acme(), okta, org_rules=[rule]))

    message = failures(report)[("acme", "roles")]
    assert "org_auditor" in message and "org_admin" not in message


async def test_mode_invite_needs_an_application(emulator: Emulator, okta: MappingProfile) -> None:
    setup = OrganizationSetup(acme(identity_mode="invite"), okta)

    assert (
        "AUTH0_INVITATION_CLIENT_ID"
        in failures(await run(emulator, setup))[("acme", "invitations")]
    )
    assert (await run(emulator, setup, invitation_client_id="app")).ok


async def test_an_unknown_profile_fails_the_roles_check(emulator: Emulator) -> None:
    report = await run(emulator, OrganizationSetup(acme(profile="ping"), None))

    assert "unknown mapping profile 'ping'" in failures(report)[("acme", "roles")]


def test_grantable_roles_include_the_names_matched_rules_grant(okta: MappingProfile) -> None:
    rules = [
        RoleRule.model_validate(
            {
                "id": "r1",
                "when": {"scim_role": {"in": ["billing", "support"]}},
                "grant_matched_name": True,
            }
        ),
        RoleRule.model_validate(
            {"id": "r2", "when": {"group": {"display_name": "ops"}}, "grant_matched_name": True}
        ),
        RoleRule.model_validate(
            {"id": "r3", "when": {"group": {"external_id": "x"}}, "grant": ["viewer"]}
        ),
    ]

    assert grantable_roles(okta, rules) == {
        "org_member",
        "org_admin",
        "org_billing",
        "billing",
        "support",
        "ops",
        "viewer",
    }


def test_the_scopes_checked_are_the_ones_the_docs_ask_for() -> None:
    import re
    from pathlib import Path

    docs = (Path(__file__).parents[2] / "docs" / "auth0.md").read_text()
    listed = set(re.findall(r"\b(?:read|create|update|delete):[a-z_]+", docs))

    assert listed >= REQUIRED_SCOPES
