"""Strict errors stay errors: tolerance never turns a bad request into a silent 2xx."""

import pytest
from scim2_models import InvalidFilterException
from scim2_models import InvalidValueException
from scim2_models import NoTargetException
from scim2_models import SCIMException

from tests.protocol.conftest import Driver
from tests.protocol.conftest import a_group
from tests.protocol.conftest import a_user


@pytest.mark.parametrize("op", ["frobnicate", "Merge", "", "delete"])
def test_unknown_op_is_400_invalid_value(any_profile: Driver, op: str) -> None:
    user = any_profile.stored("User", a_user())
    with pytest.raises(InvalidValueException) as raised:
        any_profile.patch(user, {"op": op, "path": "active", "value": False})
    assert (raised.value.status, user.active) == (400, True)


def test_remove_without_path_is_400_no_target(any_profile: Driver) -> None:
    group = any_profile.stored("Group", a_group("u1"))
    with pytest.raises(NoTargetException) as raised:
        any_profile.patch(group, {"op": "remove", "value": [{"value": "u1"}]})
    assert (raised.value.status, raised.value.scim_type) == (400, "noTarget")


def test_a_failing_operation_applies_none_of_the_others(any_profile: Driver) -> None:
    user = any_profile.stored("User", a_user())
    with pytest.raises(SCIMException):
        any_profile.patch(
            user, {"op": "replace", "path": "active", "value": False}, {"op": "remove"}
        )
    assert user.active is True


def test_generic_filtered_replace_without_match_is_400_no_target(generic: Driver) -> None:
    user = generic.stored("User", a_user())
    with pytest.raises(NoTargetException):
        generic.patch(
            user,
            {"op": "replace", "path": 'emails[type eq "home"].value', "value": "h@example.com"},
        )
    assert [e.value for e in user.emails or []] == ["bjensen@example.com"]


def test_generic_unknown_attribute_is_refused(generic: Driver) -> None:
    with pytest.raises(SCIMException) as raised:
        generic.create("User", a_user(favouriteColour="blue"))
    assert raised.value.status == 400


def test_generic_unquoted_filter_value_is_400_invalid_filter(generic: Driver) -> None:
    with pytest.raises(InvalidFilterException) as raised:
        generic.search_filter("User", "externalId eq jyoung")
    assert raised.value.scim_type == "invalidFilter"


def test_okta_id_on_a_path_is_still_read_only(okta: Driver) -> None:
    group = okta.stored("Group", a_group(), resource_id="grp-1")
    with pytest.raises(SCIMException) as raised:
        okta.patch(group, {"op": "replace", "path": "id", "value": "other"})
    assert (raised.value.status, group.id) == (400, "grp-1")


def test_a_non_boolean_string_for_active_is_refused(onelogin: Driver) -> None:
    with pytest.raises(InvalidValueException):
        onelogin.create("User", a_user(active="{$user.active}"))


def test_entra_remove_on_emails_with_a_non_matching_value_changes_nothing(entra: Driver) -> None:
    """SCIMReferenceCode PR #87: it must not overwrite the email."""
    user = entra.stored("User", a_user())
    entra.patch(user, {"op": "Remove", "path": "emails", "value": [{"value": "other@example.com"}]})
    assert [e.value for e in user.emails or []] == ["bjensen@example.com"]
