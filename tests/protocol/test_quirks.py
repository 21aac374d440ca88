"""One test per IdP quirk, named after the vendor that sends it (idp-quirks.md §4 to §6)."""

import pytest
from scim2_models import InvalidValueException

from tests.protocol.conftest import BASE_URL
from tests.protocol.conftest import ENTERPRISE
from tests.protocol.conftest import GROUP_SCHEMA
from tests.protocol.conftest import Driver
from tests.protocol.conftest import a_group
from tests.protocol.conftest import a_user

# -- PATCH operations ---------------------------------------------------------------


def test_entra_capitalised_replace_op_deactivates_user(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()), {"op": "Replace", "path": "active", "value": False}
    )
    assert user.active is False


def test_entra_capitalised_add_op_sets_nickname(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()), {"op": "Add", "path": "nickName", "value": "Babs"}
    )
    assert user.nick_name == "Babs"


def test_entra_string_false_deactivates_user(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()), {"op": "Replace", "path": "active", "value": "False"}
    )
    assert user.active is False


def test_entra_string_true_in_path_less_value_reactivates_user(entra: Driver) -> None:
    user = entra.stored("User", a_user(active=False))
    entra.patch(user, {"op": "replace", "value": {"active": "True"}})
    assert user.active is True


def test_entra_string_true_primary_moves_the_primary_email(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()),
        {
            "op": "add",
            "path": "emails",
            "value": [{"value": "b@home.example", "type": "home", "primary": "True"}],
        },
    )
    assert [(e.value, e.primary) for e in user.emails or []] == [
        ("bjensen@example.com", False),
        ("b@home.example", True),
    ]


def test_onelogin_string_booleans_on_create(onelogin: Driver) -> None:
    user = onelogin.create("User", a_user(active="true"))
    assert user.active is True


def test_entra_path_less_replace_with_dotted_and_urn_keys(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()),
        {
            "op": "replace",
            "value": {
                "displayName": "Babs",
                "name.givenName": "Barb",
                "name.familyName": "Jensen-Smith",
                f"{ENTERPRISE}:employeeNumber": "A42",
            },
        },
    )
    dumped = entra.dump(user)
    assert dumped["displayName"] == "Babs"
    assert dumped["name"] == {"givenName": "Barb", "familyName": "Jensen-Smith"}
    assert dumped[ENTERPRISE] == {"employeeNumber": "A42"}


def test_entra_remove_members_with_value_list_removes_only_those(entra: Driver) -> None:
    group = entra.stored("Group", a_group("u1", "u2", "u3"))
    entra.patch(
        group, {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "u3"}]}
    )
    assert [member.value for member in group.members or []] == ["u2"]


def test_entra_filtered_replace_on_missing_email_creates_it(entra: Driver) -> None:
    user = entra.stored("User", a_user(emails=[{"value": "b@home.example", "type": "home"}]))
    entra.patch(
        user, {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "b@work.example"}
    )
    assert sorted((str(e.type), e.value) for e in user.emails or []) == [
        ("home", "b@home.example"),
        ("work", "b@work.example"),
    ]


def test_entra_validator_filtered_add_on_missing_home_email_creates_it(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()),
        {"op": "add", "path": 'emails[type eq "home"].value', "value": "b@home.example"},
    )
    assert {str(e.type): e.value for e in user.emails or []} == {
        "work": "bjensen@example.com",
        "home": "b@home.example",
    }


def test_okta_group_rename_ignores_read_only_id_in_value(okta: Driver) -> None:
    group = okta.stored("Group", a_group("u1"), resource_id="grp-1")
    okta.patch(group, {"op": "replace", "value": {"id": "grp-1", "displayName": "Eng Admins"}})
    assert (group.id, group.display_name) == ("grp-1", "Eng Admins")


def test_okta_group_rename_with_a_foreign_id_does_not_change_the_id(okta: Driver) -> None:
    group = okta.stored("Group", a_group("u1"), resource_id="grp-1")
    okta.patch(group, {"op": "replace", "value": {"id": "other", "displayName": "X"}})
    assert group.id == "grp-1"


def test_okta_membership_patch_removes_by_filter_and_adds(okta: Driver) -> None:
    group = okta.stored("Group", a_group("u1", "u2"))
    okta.patch(
        group,
        {"op": "remove", "path": 'members[value eq "u1"]'},
        {"op": "add", "path": "members", "value": [{"value": "u3", "display": "u3@example.com"}]},
    )
    assert [member.value for member in group.members or []] == ["u2", "u3"]


def test_entra_member_add_with_null_ref(entra: Driver) -> None:
    group = entra.patch(
        entra.stored("Group", a_group("u1")),
        {"op": "Add", "path": "members", "value": [{"$ref": None, "value": "u2"}]},
    )
    assert [(member.value, member.ref) for member in group.members or []] == [
        ("u1", None),
        ("u2", None),
    ]


def test_entra_add_external_id_on_existing_group(entra: Driver) -> None:
    group = entra.patch(
        entra.stored("Group", a_group()), {"op": "Add", "path": "externalId", "value": "obj-1"}
    )
    assert group.external_id == "obj-1"


def test_entra_capitalised_members_path(entra: Driver) -> None:
    group = entra.patch(
        entra.stored("Group", a_group("u1")),
        {"op": "Add", "path": "Members", "value": [{"value": "u2"}]},
    )
    assert [member.value for member in group.members or []] == ["u1", "u2"]


def test_entra_urn_qualified_members_path(entra: Driver) -> None:
    group = entra.stored("Group", a_group("u1", "u2"))
    entra.patch(group, {"op": "Remove", "path": f'{GROUP_SCHEMA}:members[value eq "u1"]'})
    assert [member.value for member in group.members or []] == ["u2"]


def test_entra_single_app_role_filter_with_string_true(entra: Driver) -> None:
    user = entra.stored(
        "User",
        a_user(
            roles=[{"value": "Admin", "primary": True, "type": "WindowsAzureActiveDirectoryRole"}]
        ),
    )
    entra.patch(
        user, {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": "Reader"}
    )
    assert [role.value for role in user.roles or []] == ["Reader"]


# -- Roles as JSON in a string --------------------------------------------------------


def test_entra_roles_json_string_becomes_role_value_and_display(entra: Driver) -> None:
    role = '{"id":"8d3b-app-role","value":"25","displayName":"Role1234"}'
    user = entra.patch(
        entra.stored("User", a_user()), {"op": "Add", "path": "roles", "value": [{"value": role}]}
    )
    assert [(r.value, r.display) for r in user.roles or []] == [("25", "Role1234")]


def test_entra_roles_json_string_without_value_falls_back_to_the_role_id(entra: Driver) -> None:
    role = '{"id":"8d3b-app-role","displayName":"Role1234"}'
    user = entra.patch(
        entra.stored("User", a_user()),
        {"op": "Add", "path": "roles", "value": [{"value": role, "primary": "False"}]},
    )
    assert [(r.value, r.display, r.primary) for r in user.roles or []] == [
        ("8d3b-app-role", "Role1234", False)
    ]


def test_entra_assertive_roles_replace_keeps_plain_role_values(entra: Driver) -> None:
    user = entra.stored("User", a_user(roles=[{"value": "Old"}]))
    entra.patch(
        user,
        {
            "op": "replace",
            "path": "roles",
            "value": [{"value": "Admin", "display": "Admin", "primary": True}],
        },
    )
    assert [(r.value, r.display) for r in user.roles or []] == [("Admin", "Admin")]


def test_generic_keeps_a_json_looking_role_value_as_sent(generic: Driver) -> None:
    role = '{"value":"25"}'
    user = generic.patch(
        generic.stored("User", a_user()), {"op": "add", "path": "roles", "value": [{"value": role}]}
    )
    assert [r.value for r in user.roles or []] == [role]


# -- Manager ----------------------------------------------------------------------------


def test_entra_validator_bare_string_manager_on_create(entra: Driver) -> None:
    user = entra.create(
        "User",
        a_user(
            schemas=["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            **{ENTERPRISE: {"manager": "mgr-1"}},
        ),
    )
    assert entra.dump(user)[ENTERPRISE] == {"manager": {"value": "mgr-1", "$ref": "Users/mgr-1"}}


def test_entra_legacy_manager_path_with_a_reference_list(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()),
        {
            "op": "Add",
            "path": "manager",
            "value": [{"$ref": "https://scim.example.com/Users/mgr-1", "value": "mgr-1"}],
        },
    )
    assert entra.dump(user)[ENTERPRISE]["manager"]["value"] == "mgr-1"


def test_entra_validator_bare_string_manager_on_enterprise_path(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()),
        {"op": "replace", "path": f"{ENTERPRISE}:manager", "value": "mgr-2"},
    )
    assert entra.dump(user)[ENTERPRISE] == {"manager": {"value": "mgr-2", "$ref": "Users/mgr-2"}}


def test_entra_validator_bare_string_manager_in_path_less_value(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()),
        {"op": "replace", "value": {f"{ENTERPRISE}:manager": "mgr-3"}},
    )
    assert entra.dump(user)[ENTERPRISE] == {"manager": {"value": "mgr-3", "$ref": "Users/mgr-3"}}


# -- POST bodies -----------------------------------------------------------------------


def test_entra_null_attributes_in_post_are_dropped(entra: Driver) -> None:
    user = entra.create(
        "User",
        a_user(
            schemas=["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
            addresses=None,
            phoneNumbers=None,
            roles=[],
            **{ENTERPRISE: {"manager": None, "department": "R&D"}},
        ),
    )
    assert (user.addresses, user.phone_numbers) == (None, None)
    assert entra.dump(user)[ENTERPRISE] == {"department": "R&D"}


def test_entra_client_sent_meta_in_post_is_ignored(entra: Driver) -> None:
    user = entra.create(
        "User", a_user(meta={"resourceType": "User", "created": "1999-01-01T00:00:00Z"})
    )
    assert user.meta is None


def test_onelogin_null_id_in_post_is_ignored(onelogin: Driver) -> None:
    user = onelogin.create("User", a_user(id=None))
    assert (user.id, user.user_name) == (None, "bjensen@example.com")


def test_entra_extra_group_schema_urn_is_dropped(entra: Driver) -> None:
    group = entra.create(
        "Group",
        {
            "schemas": [
                GROUP_SCHEMA,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": "obj-1",
            "displayName": "Engineering",
            "meta": {"resourceType": "Group"},
        },
    )
    assert (group.schemas, group.display_name, group.external_id) == (
        [GROUP_SCHEMA],
        "Engineering",
        "obj-1",
    )


def test_entra_group_schema_urn_is_accepted_by_the_generic_profile_too(generic: Driver) -> None:
    group = generic.create(
        "Group",
        a_group(
            schemas=[
                GROUP_SCHEMA,
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ]
        ),
    )
    assert group.schemas == [GROUP_SCHEMA]


def test_entra_typo_enterprise_urn_is_ignored(entra: Driver) -> None:
    typo = "urn:ietf:params:scim:schemas:extension:enterprise:2.0User"
    user = entra.create(
        "User",
        a_user(
            schemas=[typo, "urn:ietf:params:scim:schemas:core:2.0:User"],
            **{typo: {"department": "D"}},
        ),
    )
    assert user.user_name == "bjensen@example.com"


def test_entra_postman_attribute_names_in_any_case(entra: Driver) -> None:
    user = entra.create(
        "User",
        {
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "UserName": "BJensen",
            "Active": "True",
            "Emails": [{"Value": "b@example.com", "Primary": "true"}],
        },
    )
    assert (user.user_name, user.active, user.emails and user.emails[0].primary) == (
        "BJensen",
        True,
        True,
    )


def test_okta_create_with_password_and_empty_groups(okta: Driver) -> None:
    user = okta.create(
        "User",
        a_user(password="t1meMa$heen", groups=[], locale="en-US", displayName="Barbara Jensen"),
    )
    assert (user.password, user.locale, user.groups) == ("t1meMa$heen", "en-US", None)


# -- Filters -----------------------------------------------------------------------------


def test_entra_unquoted_filter_value_is_read_as_a_string(entra: Driver) -> None:
    assert str(entra.search_filter("User", "externalId eq jyoung")) == str(
        entra.search_filter("User", 'externalId eq "jyoung"')
    )


def test_entra_unquoted_filter_keeps_boolean_literals(entra: Driver) -> None:
    assert (
        str(entra.search_filter("User", "userName eq jyoung and active eq true"))
        == 'userName eq "jyoung" and active eq true'
    )


def test_entra_filter_operators_and_names_in_any_case(entra: Driver) -> None:
    assert entra.search_filter("Group", 'DisplayName Eq "Engineering"') is not None


def test_entra_unquoted_filter_in_a_search_body(entra: Driver) -> None:
    import json

    with entra.service.provider:
        request, _ = entra.service.read_search_body(
            [entra.type_of("User")],
            json.dumps(
                {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName eq jyoung",
                }
            ).encode(),
            "application/scim+json",
        )
    assert str(request.filter) == 'userName eq "jyoung"'


# -- active: null --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "operation",
    [
        {"op": "replace", "path": "active", "value": None},
        {"op": "Replace", "path": "Active", "value": None},
        {"op": "remove", "path": "active"},
        {"op": "replace", "value": {"active": None}},
        {
            "op": "replace",
            "path": "urn:ietf:params:scim:schemas:core:2.0:User:active",
            "value": None,
        },
    ],
)
def test_null_active_in_patch_is_refused_and_does_not_reactivate(
    idp_profile: Driver, operation: dict[str, object]
) -> None:
    """Okta, Entra and OneLogin: a stray null must never reactivate a deprovisioned user."""
    user = idp_profile.stored("User", a_user(active=False))
    with pytest.raises(InvalidValueException) as raised:
        idp_profile.patch(user, operation)
    assert (raised.value.status, raised.value.scim_type, user.active) == (
        400,
        "invalidValue",
        False,
    )


def test_null_active_in_post_is_refused(idp_profile: Driver) -> None:
    with pytest.raises(InvalidValueException):
        idp_profile.create("User", a_user(active=None))


def test_null_active_in_put_is_refused(idp_profile: Driver) -> None:
    user = idp_profile.stored("User", a_user(active=False))
    with pytest.raises(InvalidValueException):
        idp_profile.replace(user, a_user(active=None))
    assert user.active is False


def test_generic_clients_may_remove_active(generic: Driver) -> None:
    """RFC 7644 §3.5.2.2: a non-required attribute may be removed; scim2-tester checks it."""
    user = generic.stored("User", a_user(active=False))
    generic.patch(user, {"op": "remove", "path": "active"})
    assert user.active is None


def test_post_without_active_is_accepted(any_profile: Driver) -> None:
    body = a_user()
    del body["active"]
    assert any_profile.create("User", body).active is None


# -- Okta lifecycle shapes ----------------------------------------------------------------


def test_okta_path_less_replace_deactivates_user(okta: Driver) -> None:
    user = okta.patch(okta.stored("User", a_user()), {"op": "replace", "value": {"active": False}})
    assert user.active is False


def test_okta_aiw_put_of_the_fetched_user_deactivates_it(okta: Driver) -> None:
    """AIW apps PUT back what GET returned, read-only id, meta and groups included."""
    user = okta.stored("User", a_user(), resource_id="abc")
    with okta.service.provider:
        fetched = okta.service.creation_response(BASE_URL, user).body
    assert fetched is not None
    fetched.update(active=False, groups=[{"value": "g1", "display": "Eng"}])
    replaced = okta.replace(user, fetched)
    assert (replaced.id, replaced.active, replaced.groups) == ("abc", False, None)


def test_okta_aiw_group_put_with_its_own_display_name(okta: Driver) -> None:
    group = okta.stored("Group", a_group("u1"), resource_id="g1")
    with okta.service.provider:
        fetched = okta.service.creation_response(BASE_URL, group).body
    assert fetched is not None
    replaced = okta.replace(group, fetched)
    assert (replaced.id, replaced.display_name) == ("g1", "Engineering")


def test_entra_null_update_clears_the_attribute(entra: Driver) -> None:
    user = entra.stored("User", a_user(nickName="Babs"))
    entra.patch(user, {"op": "Replace", "path": "nickName", "value": None})
    assert user.nick_name is None
