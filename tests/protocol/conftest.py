"""Drive ``OrgScimService`` in memory: read a body as the handler would, then apply it to a model."""

import json
from pathlib import Path
from typing import Any

import pytest
from scim2_models import Meta
from scim2_models import Resource
from scim2_server.conditions import Conditions
from scim2_server.responses import ScimResponse

from scim_server.mapping.profile import load_profile
from scim_server.protocol.service import OrgScimService

MAPPINGS = Path(__file__).parents[2] / "mappings"
SCIM_JSON = "application/scim+json"
CREATED = "2024-01-01T00:00:00Z"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
BASE_URL = "https://scim.example.com/scim/v2/acme"


class Driver:
    """One profile's service, with the steps AsyncScimHandler takes around the storage."""

    def __init__(self, profile: str) -> None:
        self.service = OrgScimService(load_profile(MAPPINGS / f"{profile}.toml"))

    def type_of(self, name: str) -> Any:
        return self.service.get_resource_type(name)

    def create(self, type_name: str, body: Any) -> Resource[Any]:
        with self.service.provider:
            return self.service.read_creation(
                self.type_of(type_name), json.dumps(body).encode(), SCIM_JSON
            )

    def stored(self, type_name: str, body: Any, resource_id: str = "1") -> Resource[Any]:
        """Return a resource as the storage would hand it back after a POST."""
        resource = self.create(type_name, body)
        resource.id = resource_id
        resource.meta = Meta(resource_type=type_name, created=CREATED, last_modified=CREATED)
        return resource

    def patch(self, resource: Resource[Any], *operations: Any) -> Resource[Any]:
        body = {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": operations,
        }
        assert resource.meta is not None
        with self.service.provider:
            patch_op = self.service.read_patch(
                self.type_of(str(resource.meta.resource_type)), json.dumps(body).encode(), SCIM_JSON
            )
            self.service.apply_patch(resource, patch_op, Conditions())
        return resource

    def replace(self, current: Resource[Any], body: Any) -> Resource[Any]:
        assert current.meta is not None
        with self.service.provider:
            replacement = self.service.read_replacement(
                self.type_of(str(current.meta.resource_type)), json.dumps(body).encode(), SCIM_JSON
            )
            return self.service.apply_replacement(current, replacement, Conditions()) or current

    def patch_response(
        self, resource: Resource[Any], query: dict[str, str] | None = None
    ) -> ScimResponse:
        assert resource.meta is not None
        resource_type = self.type_of(str(resource.meta.resource_type))
        with self.service.provider:
            parameters = self.service.read_response_parameters(resource_type, query or {})
            return self.service.patch_response(BASE_URL, resource, parameters)

    def search_filter(self, type_name: str, text: str) -> Any:
        with self.service.provider:
            request, _ = self.service.read_search_query([self.type_of(type_name)], {"filter": text})
        return request.filter

    def dump(self, resource: Resource[Any]) -> dict[str, Any]:
        with self.service.provider:
            return resource.model_dump()


@pytest.fixture
def entra() -> Driver:
    return Driver("entra")


@pytest.fixture
def okta() -> Driver:
    return Driver("okta")


@pytest.fixture
def onelogin() -> Driver:
    return Driver("onelogin")


@pytest.fixture
def generic() -> Driver:
    return Driver("generic")


@pytest.fixture(params=["okta", "entra", "onelogin"])
def idp_profile(request: pytest.FixtureRequest) -> Driver:
    """A profile that refuses a null ``active`` (``refuse_null_active``)."""
    return Driver(request.param)


@pytest.fixture(params=["generic", "okta", "entra", "onelogin"])
def any_profile(request: pytest.FixtureRequest) -> Driver:
    return Driver(request.param)


def a_user(**extra: Any) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA],
        "userName": "bjensen@example.com",
        "externalId": "e-bjensen",
        "active": True,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "bjensen@example.com", "type": "work", "primary": True}],
        **extra,
    }


def a_group(*member_ids: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [GROUP_SCHEMA],
        "displayName": "Engineering",
        "members": [{"value": member_id} for member_id in member_ids],
        **extra,
    }
