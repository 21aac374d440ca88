from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scim_server.provisioning.desired import DesiredState
from scim_server.provisioning.planner import AddMember
from scim_server.provisioning.planner import AppliedState
from scim_server.provisioning.planner import AssignRoles
from scim_server.provisioning.planner import Block
from scim_server.provisioning.planner import CreateInvitation
from scim_server.provisioning.planner import DeleteInvitation
from scim_server.provisioning.planner import IdentityMode
from scim_server.provisioning.planner import LinkUser
from scim_server.provisioning.planner import RemoveMember
from scim_server.provisioning.planner import RemoveRoles
from scim_server.provisioning.planner import RevokeAccess
from scim_server.provisioning.planner import Step
from scim_server.provisioning.planner import Unblock
from scim_server.provisioning.planner import UpdateProfile
from scim_server.provisioning.planner import plan
from scim_server.provisioning.planner import profile_digest

EMAIL = "ada@acme.test"
PROFILE = {"given_name": "Ada", "family_name": "Lovelace"}


def desired(*roles: str, member: bool = True, **profile: Any) -> DesiredState:
    return DesiredState(
        linked=True,
        member=member,
        roles=dict.fromkeys(roles, ("okta@1:rule",)) if member else {},
        profile=profile or PROFILE,
        email=EMAIL,
    )


def applied(*roles: str, **changes: Any) -> AppliedState:
    values: dict[str, Any] = {
        "auth0_user_id": "auth0|ada",
        "member": True,
        "roles": {name: f"rol_{name}" for name in roles},
        "profile_digest": profile_digest(PROFILE),
    }
    return AppliedState(**(values | changes))


def applied_from(state: DesiredState, *, owned: bool) -> AppliedState:
    """What Auth0 holds once a reconcile of ``state`` went through."""
    if not state.member:
        return AppliedState(auth0_user_id="auth0|x", access_revoked=True, blocked_by_us=owned)
    return AppliedState(
        auth0_user_id="auth0|x",
        member=True,
        roles={name: f"rol_{name}" for name in state.roles},
        profile_digest=profile_digest(state.profile) if owned else None,
    )


CASES: list[tuple[str, DesiredState, AppliedState, IdentityMode, bool, tuple[Step, ...]]] = [
    (
        "joiner, mode create",
        desired("org_member"),
        AppliedState(),
        "create",
        False,
        (LinkUser(EMAIL, create=True), AddMember(), AssignRoles(("org_member",))),
    ),
    (
        "joiner, mode link: look up only",
        desired("org_member"),
        AppliedState(),
        "link",
        False,
        (LinkUser(EMAIL, create=False), AddMember(), AssignRoles(("org_member",))),
    ),
    (
        "joiner, mode invite: an invitation with the role names",
        desired("org_member", "org_admin"),
        AppliedState(),
        "invite",
        False,
        (CreateInvitation(EMAIL, ("org_admin", "org_member")),),
    ),
    (
        "invited, not linked yet: look for the account",
        desired("org_member"),
        AppliedState(invitation_id="inv_1"),
        "invite",
        False,
        (LinkUser(EMAIL, create=False), AddMember(), AssignRoles(("org_member",))),
    ),
    (
        "mover gains a role",
        desired("org_member", "org_admin"),
        applied("org_member"),
        "create",
        True,
        (AssignRoles(("org_admin",)),),
    ),
    (
        "mover loses a role",
        desired("org_member"),
        applied("org_member", "org_admin"),
        "create",
        True,
        (RemoveRoles(("org_admin",)),),
    ),
    (
        "a role given by hand in Auth0 is not ours to remove",
        desired(),
        applied(),
        "create",
        True,
        (),
    ),
    (
        "profile change of a user we own",
        desired("org_member", given_name="Augusta"),
        applied("org_member"),
        "create",
        True,
        (UpdateProfile({"given_name": "Augusta"}),),
    ),
    (
        "profile change of a user we only linked: never re-profiled",
        desired("org_member", given_name="Augusta"),
        applied("org_member", profile_digest=None),
        "create",
        False,
        (),
    ),
    (
        "leaver we own, in no other org (decided at execution)",
        desired(member=False),
        applied("org_member"),
        "create",
        True,
        (RemoveRoles(("org_member",)), RemoveMember(), RevokeAccess(), Block()),
    ),
    (
        "leaver we do not own is never blocked",
        desired(member=False),
        applied("org_member"),
        "link",
        False,
        (RemoveRoles(("org_member",)), RemoveMember(), RevokeAccess()),
    ),
    (
        "leaver after a crash between RemoveMember and RevokeAccess",
        desired(member=False),
        applied(member=False),
        "create",
        True,
        (RevokeAccess(), Block()),
    ),
    (
        "leaver deprovisioned before accepting the invitation",
        desired(member=False),
        AppliedState(invitation_id="inv_1"),
        "invite",
        False,
        (DeleteInvitation("inv_1"),),
    ),
    (
        "leaver never provisioned: nothing to undo",
        desired(member=False),
        AppliedState(),
        "create",
        False,
        (),
    ),
    (
        "rehire of a user we blocked",
        desired("org_member"),
        applied(member=False, blocked_by_us=True, access_revoked=True),
        "create",
        True,
        (Unblock(), AddMember(), AssignRoles(("org_member",))),
    ),
]


@pytest.mark.parametrize(
    ("wanted", "current", "mode", "owned", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan_calls_only_what_differs(
    wanted: DesiredState,
    current: AppliedState,
    mode: IdentityMode,
    owned: bool,
    expected: tuple[Step, ...],
) -> None:
    assert plan(wanted, current, mode=mode, owned=owned) == expected


role_names = st.sampled_from(["org_member", "org_admin", "org_billing", "viewer"])
desired_states = st.builds(
    DesiredState,
    linked=st.booleans(),
    member=st.booleans(),
    roles=st.dictionaries(role_names, st.tuples(st.sampled_from(["okta@1:a", "org:b"]))),
    profile=st.dictionaries(
        st.sampled_from(["given_name", "family_name", "app_metadata.dept"]),
        st.none() | st.text(max_size=5),
    ),
    email=st.none() | st.sampled_from(["ada@acme.test", "Bob@Example.org"]),
).map(
    lambda state: (
        state if state.member else DesiredState(state.linked, False, {}, state.profile, state.email)
    )
)


@given(
    state=desired_states, mode=st.sampled_from(["create", "link", "invite"]), owned=st.booleans()
)
def test_an_unchanged_state_plans_nothing(
    state: DesiredState, mode: IdentityMode, owned: bool
) -> None:
    assert plan(state, applied_from(state, owned=owned), mode=mode, owned=owned) == ()


@given(state=desired_states)
def test_desired_and_applied_states_survive_json(state: DesiredState) -> None:
    assert DesiredState.from_json(state.to_json()) == state
    reconciled = applied_from(state, owned=True)
    assert AppliedState.from_json(reconciled.to_json()) == reconciled


def test_the_invitation_email_survives_json_and_older_states_read_without_it() -> None:
    pending = AppliedState(invitation_id="inv_1", invitation_email=EMAIL)
    assert AppliedState.from_json(pending.to_json()) == pending
    older = {key: value for key, value in pending.to_json().items() if key != "invitation_email"}
    assert AppliedState.from_json(older) == AppliedState(invitation_id="inv_1")
