from pathlib import Path
from typing import Any

import pytest

from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.profile import load_profile
from scim_server.mapping.rules import RoleRule
from scim_server.provisioning.desired import GONE
from scim_server.provisioning.desired import desired_state
from scim_server.provisioning.roles import GroupFacts
from scim_server.provisioning.roles import UserFacts
from scim_server.provisioning.roles import org_rules
from scim_server.provisioning.roles import profile_rules
from scim_server.provisioning.roles import resolve_roles

MAPPINGS = Path(__file__).parents[2] / "mappings"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


@pytest.fixture(scope="module")
def okta() -> MappingProfile:
    return load_profile(MAPPINGS / "okta.toml")


@pytest.fixture(scope="module")
def entra() -> MappingProfile:
    return load_profile(MAPPINGS / "entra.toml")


def rule(rule_id: str, when: dict[str, Any], **action: Any) -> RoleRule:
    return RoleRule.model_validate({"id": rule_id, "when": when, **action})


ADA: dict[str, Any] = {
    "userName": "ada@acme.test",
    "externalId": "00u1",
    "active": True,
    "name": {"givenName": "Ada", "familyName": "Lovelace"},
    "displayName": "Ada Lovelace",
    "emails": [
        {"value": "home@ada.test", "type": "home"},
        {"value": "Ada@Acme.test", "type": "work"},
    ],
    "roles": [{"value": "Billing"}],
    ENTERPRISE: {"department": "Research", "employeeNumber": "42"},
}


def test_the_default_rule_grants_every_active_user_its_role(okta: MappingProfile) -> None:
    roles = resolve_roles(UserFacts.of(ADA), profile_rules(okta))
    assert roles == {"org_member": ("okta@1:member",)}


def test_a_group_named_like_a_role_grants_it_whatever_its_case(okta: MappingProfile) -> None:
    facts = UserFacts.of(ADA, [GroupFacts("ORG_ADMIN"), GroupFacts("Engineering")])
    assert resolve_roles(facts, profile_rules(okta)) == {
        "org_admin": ("okta@1:group-named-like-role",),
        "org_member": ("okta@1:member",),
    }


ORG_RULES = [
    rule("eng", {"group": {"display_name": "engineering"}}, grant=["dev"]),
    rule("ops", {"group": {"external_id": "grp-OPS"}}, grant=["ops"]),
    rule("research", {"attribute": {"path": f"{ENTERPRISE}:department", "equals": "research"}}, grant=["lab"]),
    rule("staff", {"attribute": {"path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber", "present": True}}, grant=["staff"]),
    rule("home", {"attribute": {"path": "emails.type", "in": ["home", "other"]}}, grant=["remote"]),
    rule("scim-roles", {"scim_role": {"in": ["billing", "audit"]}}, grant_matched_name=True),
    rule("eng-too", {"group": {"display_name_in": ["Engineering", "Platform"]}}, grant=["dev"]),
]  # fmt: skip


@pytest.mark.parametrize(
    ("groups", "expected"),
    [
        (
            [],
            {
                "billing": ("org:scim-roles",),
                "lab": ("org:research",),
                "remote": ("org:home",),
                "staff": ("org:staff",),
            },
        ),
        (
            [GroupFacts("Engineering", "grp-ops")],  # externalId is caseExact: no "ops"
            {
                "billing": ("org:scim-roles",),
                "dev": ("org:eng", "org:eng-too"),
                "lab": ("org:research",),
                "remote": ("org:home",),
                "staff": ("org:staff",),
            },
        ),
        (
            [GroupFacts(None, "grp-OPS")],
            {
                "billing": ("org:scim-roles",),
                "lab": ("org:research",),
                "ops": ("org:ops",),
                "remote": ("org:home",),
                "staff": ("org:staff",),
            },
        ),
    ],
)
def test_organization_rules_combine_by_union_with_their_citations(
    groups: list[GroupFacts], expected: dict[str, tuple[str, ...]]
) -> None:
    assert resolve_roles(UserFacts.of(ADA, groups), org_rules(ORG_RULES)) == expected


def test_rules_that_do_not_match_grant_nothing() -> None:
    plain = {"userName": "bob", ENTERPRISE: {"department": "Sales"}}
    assert resolve_roles(UserFacts.of(plain), org_rules(ORG_RULES)) == {}


def test_desired_state_of_an_active_user(entra: MappingProfile) -> None:
    extra = [
        rule(
            "lab",
            {"attribute": {"path": f"{ENTERPRISE}:department", "equals": "Research"}},
            grant=["lab"],
        )
    ]
    state = desired_state(ADA, [], profile=entra, org_rules=extra)
    assert (state.linked, state.member, state.email) == (True, True, "Ada@Acme.test")
    assert state.roles == {"lab": ("org:lab",), "org_member": ("entra@1:member",)}
    assert state.profile == {
        "app_metadata.department": "Research",
        "app_metadata.employee_number": "42",
        "family_name": "Lovelace",
        "given_name": "Ada",
        "name": "Ada Lovelace",
    }


def test_an_inactive_user_is_no_member_and_keeps_no_role(okta: MappingProfile) -> None:
    state = desired_state(ADA | {"active": False}, [GroupFacts("org_admin")], profile=okta)
    assert (state.linked, state.member, state.roles) == (True, False, {})


def test_an_unset_active_means_active(okta: MappingProfile) -> None:
    state = desired_state({k: v for k, v in ADA.items() if k != "active"}, [], profile=okta)
    assert state.member is True


def test_a_deleted_user_is_gone(okta: MappingProfile) -> None:
    assert desired_state(None, [GroupFacts("org_admin")], profile=okta) == GONE


def test_a_profile_mapping_the_password_never_copies_it(okta: MappingProfile) -> None:
    data = okta.model_dump(mode="python", by_alias=True)
    data["attributes"] = {"app_metadata.secret": {"path": "password"}}
    profile = MappingProfile.model_validate(data)
    state = desired_state(ADA | {"password": "hunter2"}, [], profile=profile)
    assert "hunter2" not in repr(state.to_json())
    assert state.profile == {}
