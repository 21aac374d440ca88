"""The SCIM service provider each mapping profile serves: resources, capabilities and policy.

Every organization gets the same resources (RFC 7643 §4: ``User`` with the enterprise extension
at ``/Users``, its email values kept as sent by ``protocol/user.py``, ``Group`` at ``/Groups``)
and the same ServiceProviderConfig (RFC 7643 §5); the profile only chooses the ``ScimPolicy``
its IdP is read under.
"""

from collections.abc import Sequence

from scim2_models import URI
from scim2_models import AuthenticationScheme
from scim2_models import Bulk
from scim2_models import ChangePassword
from scim2_models import EnterpriseUser
from scim2_models import ETag
from scim2_models import Extension
from scim2_models import External
from scim2_models import Filter
from scim2_models import Group
from scim2_models import Pagination
from scim2_models import Patch
from scim2_models import Reference
from scim2_models import ResourceType
from scim2_models import SchemaExtension
from scim2_models import ScimProvider
from scim2_models import ServiceProviderConfig
from scim2_models import Sort

from scim_server.protocol.tolerance import ToleranceProfile
from scim_server.protocol.user import User

MAX_OPERATIONS = 1000
MAX_PAYLOAD_SIZE = 1_048_576
MAX_RESULTS = 1000
DEFAULT_PAGE_SIZE = 100


def build_config() -> ServiceProviderConfig:
    """Return the capabilities every organization's endpoint announces (RFC 7643 §5).

    Bulk is supported because scim2-server runs it over the same storage; Okta and Entra never
    send it (idp-quirks §3), so its limits only protect us. Passwords are never changed through
    SCIM: Auth0 owns them.
    """
    return ServiceProviderConfig(
        documentation_uri=Reference[External]("https://www.rfc-editor.org/rfc/rfc7644"),
        patch=Patch(supported=True),
        bulk=Bulk(supported=True, max_operations=MAX_OPERATIONS, max_payload_size=MAX_PAYLOAD_SIZE),
        filter=Filter(supported=True, max_results=MAX_RESULTS),
        change_password=ChangePassword(supported=False),
        sort=Sort(supported=True),
        etag=ETag(supported=True),
        authentication_schemes=[
            AuthenticationScheme(
                type=AuthenticationScheme.Type.oauthbearertoken,
                name="OAuth Bearer Token",
                description="A bearer token issued for one organization by scim-server",
                spec_uri=Reference[External]("https://www.rfc-editor.org/rfc/rfc6750"),
                primary=True,
            )
        ],
        pagination=Pagination(
            index=True,
            cursor=False,
            default_pagination_method=Pagination.DefaultPaginationMethod.index,
            default_page_size=DEFAULT_PAGE_SIZE,
            max_page_size=MAX_RESULTS,
        ),
    )


def _extension(model: type[Extension]) -> SchemaExtension:
    return SchemaExtension(schema_=Reference[URI](str(model.__schema__)), required=False)


def build_resource_types(user_extensions: Sequence[type[Extension]]) -> list[ResourceType]:
    """Return the User and Group resource types (RFC 7643 §6), the User with its extensions."""
    return [
        ResourceType(
            id="User",
            name="User",
            description="User Account",
            endpoint=Reference[URI]("/Users"),
            schema_=Reference[URI](str(User.__schema__)),
            schema_extensions=[_extension(EnterpriseUser), *map(_extension, user_extensions)],
        ),
        ResourceType(
            id="Group",
            name="Group",
            description="Group",
            endpoint=Reference[URI]("/Groups"),
            schema_=Reference[URI](str(Group.__schema__)),
            schema_extensions=[],
        ),
    ]


def build_provider(
    profile: ToleranceProfile, *, user_extensions: Sequence[type[Extension]] = ()
) -> ScimProvider:
    """Describe the SCIM service an organization using a profile gets.

    :param profile: The mapping profile; only its ``scim_policy`` is read here.
    :param user_extensions: Extra optional User extensions, such as the read-only provisioning
        state the provisioning layer adds; they are published on ``/Schemas`` and bound to
        ``/Users`` next to the enterprise extension.
    :raises scim2_models.ScimProviderError: When an extension repeats a schema URN.
    """
    return ScimProvider(
        models=[User, EnterpriseUser, Group, *user_extensions],
        resource_types=build_resource_types(user_extensions),
        config=build_config(),
        policy=profile.scim_policy,
    )
