"""The provider every profile serves: resource types, ServiceProviderConfig and policy."""

from typing import Annotated
from typing import Any

import pytest
from scim2_models import URN
from scim2_models import EnterpriseUser
from scim2_models import Extension
from scim2_models import Group
from scim2_models import Mutability
from scim2_models import ScimPolicy

from scim_server.mapping.profile import load_profile
from scim_server.protocol.provider import build_provider
from scim_server.protocol.user import User
from tests.protocol.conftest import MAPPINGS


class ProvisioningState(Extension):
    __schema__ = URN("urn:example:params:scim:schemas:extension:provisioning:1.0:User")

    state: Annotated[str | None, Mutability.read_only] = None


def entra_profile() -> Any:
    return load_profile(MAPPINGS / "entra.toml")


def test_service_provider_config_announces_the_agreed_capabilities() -> None:
    config = build_provider(entra_profile()).config
    assert config is not None
    dumped = config.model_dump()
    assert dumped["patch"] == {"supported": True}
    assert dumped["bulk"] == {"supported": True, "maxOperations": 1000, "maxPayloadSize": 1048576}
    assert dumped["filter"] == {"supported": True, "maxResults": 1000}
    assert dumped["sort"] == {"supported": True}
    assert dumped["etag"] == {"supported": True}
    assert dumped["changePassword"] == {"supported": False}
    assert dumped["pagination"] == {
        "cursor": False,
        "index": True,
        "defaultPaginationMethod": "index",
        "defaultPageSize": 100,
        "maxPageSize": 1000,
    }
    assert [scheme["type"] for scheme in dumped["authenticationSchemes"]] == ["oauthbearertoken"]


def test_users_carry_the_enterprise_extension_and_groups_are_plain() -> None:
    provider = build_provider(entra_profile())
    assert provider.model_for_endpoint("/Users") is User[EnterpriseUser]
    assert provider.model_for_endpoint("/Groups") is Group
    assert [(rt.name, rt.endpoint) for rt in provider.resource_types] == [
        ("User", "/Users"),
        ("Group", "/Groups"),
    ]


def test_user_extensions_are_published_and_bound_to_users() -> None:
    provider = build_provider(entra_profile(), user_extensions=[ProvisioningState])
    user_type = provider.resource_types[0]
    assert [str(ext.schema_) for ext in user_type.schema_extensions or []] == [
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        "urn:example:params:scim:schemas:extension:provisioning:1.0:User",
    ]
    assert ProvisioningState.__schema__ in [schema.id for schema in provider.schemas]
    assert provider.model_for_endpoint("/Users") is User[EnterpriseUser | ProvisioningState]


@pytest.mark.parametrize(
    ("profile", "policy"),
    [
        ("generic", ScimPolicy(remove_value_as_filter="apply")),
        ("okta", ScimPolicy(remove_value_as_filter="apply")),
        (
            "entra",
            ScimPolicy(
                unknown="ignore", remove_value_as_filter="apply", unmatched_path_filter="create"
            ),
        ),
        ("onelogin", ScimPolicy(unknown="ignore", remove_value_as_filter="apply")),
    ],
)
def test_each_profile_policy_becomes_the_provider_policy(profile: str, policy: ScimPolicy) -> None:
    assert build_provider(load_profile(MAPPINGS / f"{profile}.toml")).policy == policy
