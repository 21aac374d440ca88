"""IdP mapping profiles: the TOML files of ``mappings/`` read into frozen models (STYLE §4.1).

A profile says how much an IdP may depart from the RFCs (``[policy]`` → ``ScimPolicy``, and the
``[shims]`` it needs), how an IdP identity joins an Auth0 user (``[identity]``), which Auth0 fields
come from which SCIM attributes (``[attributes]``), and its default role rules (``[[roles]]``).
Everything is checked when loaded, so a bad file stops the server at start-up with a
``MappingError`` naming the file and the rule, and never surfaces at request time.
"""

import re
import tomllib
from pathlib import Path
from typing import Annotated
from typing import Any
from typing import Literal
from typing import Self

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StringConstraints
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator
from scim2_models import ScimPolicy

from scim_server.mapping.rules import DuplicateRuleId
from scim_server.mapping.rules import RoleRule
from scim_server.mapping.rules import check_unique_ids
from scim_server.mapping.scim_paths import check_user_path
from scim_server.mapping.transforms import Transform

AUTH0_PROFILE_FIELDS = frozenset(
    {"given_name", "family_name", "name", "nickname", "picture", "phone_number"}
)
"""The root Auth0 user fields a profile may write (Management API ``PATCH /users/{id}``)."""

_METADATA_FIELD = re.compile(r"^(app_metadata|user_metadata)\.[A-Za-z_][A-Za-z0-9_]{0,99}$")


class MappingError(ValueError):
    """A mapping profile cannot be used; raised at start-up, never sent to a client.

    :param file: The profile file at fault.
    :param detail: What is wrong.
    :param rule: The id of the role rule at fault, when the fault is in one.
    """

    def __init__(self, file: Path, detail: str, *, rule: str | None = None) -> None:
        self.file = file
        self.rule = rule
        self.detail = detail
        where = f"{file}: rule {rule!r}" if rule else str(file)
        super().__init__(f"{where}: {detail}")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PolicySettings(_Frozen):
    """The ``[policy]`` table: the settings of ``scim2_models.ScimPolicy`` a profile may choose."""

    unknown: ScimPolicy.Unknown = ScimPolicy.Unknown.forbid
    remove_value_as_filter: ScimPolicy.RemoveValue = ScimPolicy.RemoveValue.forbid
    unmatched_path_filter: ScimPolicy.UnmatchedPathFilter = ScimPolicy.UnmatchedPathFilter.forbid

    def to_scim_policy(self) -> ScimPolicy:
        """Return the ``ScimPolicy`` these settings describe; the comparison key stays the default."""
        return ScimPolicy(
            unknown=self.unknown,
            remove_value_as_filter=self.remove_value_as_filter,
            unmatched_path_filter=self.unmatched_path_filter,
        )


class ShimToggles(_Frozen):
    """The ``[shims]`` table: which named request rewrites of ``protocol/shims.py`` the IdP needs.

    The field names are the shim names; ``tests/protocol`` checks they match the shim registry.
    """

    drop_read_only_patch_keys: bool = False
    drop_entra_group_schema: bool = False
    wrap_bare_manager: bool = False
    parse_json_role_values: bool = False
    quote_bare_filter_values: bool = False
    refuse_null_active: bool = False


class AttributeSource(_Frozen):
    """A SCIM attribute path, and the named transform applied to its value."""

    path: str
    transform: Transform | None = None

    @model_validator(mode="after")
    def _path_fits_transform(self) -> Self:
        multivalued = check_user_path(self.path)
        if self.transform is not None and self.transform.needs_multivalued and not multivalued:
            raise ValueError(
                f"transform {self.transform.value!r} needs a multi-valued attribute, "
                f"not {self.path!r}"
            )
        if self.transform is None and multivalued:
            raise ValueError(
                f"{self.path!r} is multi-valued: name a transform such as 'primary_value'"
            )
        return self


class IdentitySettings(_Frozen):
    """The ``[identity]`` table: how an IdP identity is tied to an Auth0 user (idp-quirks §8.1)."""

    join_key: Literal["externalId", "userName"]
    """The SCIM attribute that identifies the person; never the email alone."""

    email: AttributeSource

    unique_external_id: bool = False
    """Whether two live Users (or Groups) of an organization may never share an externalId.

    RFC 7643 §3.1 makes externalId the client's and gives it no uniqueness, and generic
    clients (Microsoft's SCIM reference Postman collection) send one value for several users.
    Okta and Entra send their immutable object id, where a duplicate reveals a mapping mistake
    worth a 409. When false, an externalId alone never restores a deleted user in place.
    """


RelayStrategy = Literal["samlp", "oidc", "okta", "waad"]
"""The connection strategies Auth0 serves Inbound SCIM for (SAML, OIDC, Okta Workforce, Entra)."""


class RelaySettings(_Frozen):
    """The ``[relay]`` table: what mode ``relay`` (Auth0 Inbound SCIM) needs from this IdP.

    Auth0 makes the value of its ``user_id_attribute`` the last part of the ``user_id``, and at
    login looks the user up by what the IdP asserts (SAML NameID, OIDC ``sub``, Entra ``oid``);
    the two must be the same value, so the profile says which SCIM attribute carries it for each
    connection strategy, and set-up checks the connection's SCIM configuration against it. A
    strategy left out accepts the connection's configuration as it is (auth0.md §13).
    """

    user_id_attribute: dict[RelayStrategy, str] = {}

    @field_validator("user_id_attribute")
    @classmethod
    def _single_valued(cls, attributes: dict[RelayStrategy, str]) -> dict[RelayStrategy, str]:
        for path in attributes.values():
            if check_user_path(path):
                raise ValueError(f"{path!r} is multi-valued: a user_id needs a single value")
        return attributes

    def user_id_attribute_for(self, strategy: str) -> str | None:
        """Return the SCIM attribute the profile requires for a connection strategy, if any."""
        return next((p for name, p in self.user_id_attribute.items() if name == strategy), None)


class MappingProfile(_Frozen):
    """One IdP profile: tolerance, identity, attribute map and default role rules."""

    id: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,49}$")]
    version: Annotated[int, Field(ge=1)]
    description: str = ""
    policy: PolicySettings = PolicySettings()
    shims: ShimToggles = ShimToggles()
    identity: IdentitySettings
    attributes: dict[str, AttributeSource] = {}
    roles: tuple[RoleRule, ...] = ()
    relay: RelaySettings = RelaySettings()

    @field_validator("attributes")
    @classmethod
    def _known_auth0_fields(
        cls, attributes: dict[str, AttributeSource]
    ) -> dict[str, AttributeSource]:
        for field in attributes:
            if field not in AUTH0_PROFILE_FIELDS and not _METADATA_FIELD.match(field):
                raise ValueError(
                    f"{field!r} is not an Auth0 user field: use one of "
                    f"{', '.join(sorted(AUTH0_PROFILE_FIELDS))}, or app_metadata.<name> / "
                    "user_metadata.<name>"
                )
        return attributes

    @field_validator("roles")
    @classmethod
    def _unique_rule_ids(cls, roles: tuple[RoleRule, ...]) -> tuple[RoleRule, ...]:
        check_unique_ids(roles)
        return roles

    @property
    def scim_policy(self) -> ScimPolicy:
        """The ``ScimPolicy`` the SCIM provider of this profile reads requests under."""
        return self.policy.to_scim_policy()

    @property
    def enabled_shims(self) -> frozenset[str]:
        """The names of the shims this profile turns on."""
        return frozenset(name for name, enabled in self.shims if enabled)

    def cite(self, rule_id: str) -> str:
        """Return how the mapping log cites a rule of this profile, such as ``entra@3:admins``."""
        return f"{self.id}@{self.version}:{rule_id}"


def rule_at(data: Any, error: Any) -> str | None:
    """Return the id (or position) of the role rule a validation error points into."""
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, DuplicateRuleId):
        return cause.rule_id
    location = tuple(error["loc"])
    if len(location) < 2 or location[0] != "roles" or not isinstance(location[1], int):
        return None
    rules = data.get("roles") if isinstance(data, dict) else None
    index = location[1]
    if isinstance(rules, list) and index < len(rules) and isinstance(rules[index], dict):
        rule_id = rules[index].get("id")
        if isinstance(rule_id, str):
            return rule_id
    return f"#{index + 1}"


def describe_error(error: Any) -> str:
    """Return a pydantic error as one line: where, then what."""
    location = ".".join(str(part) for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


def load_profile(path: Path) -> MappingProfile:
    """Read and check one profile file.

    :raises MappingError: When the file cannot be read, is not TOML, breaks the vocabulary, or
        has an ``id`` other than its file name (profiles are chosen by file name).
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise MappingError(path, f"cannot be read: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise MappingError(path, f"is not valid TOML: {error}") from None
    try:
        profile = MappingProfile.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        rule = rule_at(data, first)
        raise MappingError(path, describe_error(first), rule=rule) from None
    if profile.id != path.stem:
        raise MappingError(path, f"id {profile.id!r} differs from the file name {path.stem!r}")
    return profile


def load_profiles(directory: Path) -> dict[str, MappingProfile]:
    """Read every ``*.toml`` profile of a directory, keyed by profile id.

    :raises MappingError: When a profile is bad, or the directory holds none.
    """
    files = sorted(directory.glob("*.toml"))
    if not files:
        raise MappingError(directory, "holds no *.toml mapping profile")
    return {profile.id: profile for profile in map(load_profile, files)}
