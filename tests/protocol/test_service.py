"""OrgScimService responses, bulk reading and its refusal of unknown shims."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from scim2_models import BulkOperation
from scim2_models import Group
from scim2_models import InvalidValueException
from scim2_models import PatchOp
from scim2_models import ScimPolicy
from scim2_models import ScimProviderError
from scim2_models import User

from scim_server.mapping.profile import ShimToggles
from scim_server.protocol.service import OrgScimService
from scim_server.protocol.shims import SHIMS
from tests.protocol.conftest import BASE_URL
from tests.protocol.conftest import SCIM_JSON
from tests.protocol.conftest import Driver
from tests.protocol.conftest import a_group
from tests.protocol.conftest import a_user


def test_user_patch_answers_200_with_the_resource(any_profile: Driver) -> None:
    user = any_profile.patch(
        any_profile.stored("User", a_user()), {"op": "replace", "path": "active", "value": False}
    )
    response = any_profile.patch_response(user)
    assert response.status == 200
    assert response.body is not None and response.body["active"] is False
    assert response.headers["Content-Location"] == f"{BASE_URL}/Users/1"


def test_group_patch_answers_204_without_members(any_profile: Driver) -> None:
    group = any_profile.patch(
        any_profile.stored("Group", a_group("u1")),
        {"op": "add", "path": "members", "value": [{"value": "u2"}]},
    )
    response = any_profile.patch_response(group)
    assert (response.status, response.body) == (204, None)


def test_group_patch_asking_for_attributes_answers_200(entra: Driver) -> None:
    group = entra.stored("Group", a_group("u1"))
    response = entra.patch_response(group, {"attributes": "displayName"})
    assert response.status == 200
    assert response.body is not None and "members" not in response.body


def test_user_name_is_echoed_as_sent_and_password_never(okta: Driver) -> None:
    user = okta.stored("User", a_user(userName="BJensen@Example.COM", password="t1meMa$heen"))
    with okta.service.provider:
        body = okta.service.creation_response(BASE_URL, user).body
    assert body is not None
    assert body["userName"] == "BJensen@Example.COM"
    assert "password" not in body


def test_password_patch_is_never_echoed(okta: Driver) -> None:
    user = okta.patch(
        okta.stored("User", a_user()), {"op": "replace", "value": {"password": "n3w-Secret"}}
    )
    response = okta.patch_response(user)
    assert user.password == "n3w-Secret"
    assert response.body is not None and "password" not in response.body


def test_manager_reference_is_published_as_a_url(entra: Driver) -> None:
    user = entra.patch(
        entra.stored("User", a_user()), {"op": "Add", "path": "manager", "value": "mgr-1"}
    )
    body = entra.patch_response(user).body
    assert body is not None
    manager = body["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["manager"]
    assert manager == {"value": "mgr-1", "$ref": f"{BASE_URL}/Users/mgr-1"}


def bulk_body(*operations: dict[str, Any]) -> bytes:
    return json.dumps(
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
            "Operations": list(operations),
        }
    ).encode()


def planned(driver: Driver, body: bytes) -> "Iterator[BulkOperation[Any]]":
    with driver.service.provider:
        plan = driver.service.read_bulk(body, SCIM_JSON)
        yield from (plan.operation(step) for step in plan)


def test_entra_bulk_operations_go_through_the_shims(entra: Driver) -> None:
    body = bulk_body(
        {
            "method": "POST",
            "path": "/Groups",
            "bulkId": "g1",
            "data": a_group(
                schemas=[
                    "urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
                ]
            ),
        },
        {
            "method": "PATCH",
            "path": "/Users/1",
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Add", "path": "manager", "value": "mgr-1"}],
            },
        },
    )
    created, patched = planned(entra, body)
    assert isinstance(created.data, Group) and created.data.schemas == [
        "urn:ietf:params:scim:schemas:core:2.0:Group"
    ]
    assert isinstance(patched.data, PatchOp) and patched.data.operations is not None
    assert (
        str(patched.data.operations[0].path)
        == "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
    )


def test_bulk_user_creation_is_read_as_a_user(generic: Driver) -> None:
    (created,) = planned(
        generic, bulk_body({"method": "POST", "path": "/Users", "bulkId": "u1", "data": a_user()})
    )
    assert isinstance(created.data, User) and created.data.user_name == "bjensen@example.com"


def test_bulk_user_patch_with_null_active_is_refused(entra: Driver) -> None:
    body = bulk_body(
        {
            "method": "PATCH",
            "path": "/Users/1",
            "data": {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "remove", "path": "active"}],
            },
        }
    )
    with pytest.raises(InvalidValueException):
        list(planned(entra, body))


class UnknownShimProfile:
    id = "broken"
    scim_policy = ScimPolicy()
    enabled_shims = frozenset({"drop_read_only_patch_keys", "make_it_work"})


def test_a_profile_naming_an_unknown_shim_is_refused() -> None:
    with pytest.raises(ScimProviderError, match="make_it_work"):
        OrgScimService(UnknownShimProfile())


def test_profile_shim_toggles_name_exactly_the_registered_shims() -> None:
    assert set(ShimToggles.model_fields) == set(SHIMS)
