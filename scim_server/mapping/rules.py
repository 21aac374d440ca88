"""Role rules: which Auth0 organization roles a SCIM user gets, in a closed vocabulary (DESIGN §7).

A rule is one matcher and one action. Matchers: a group by ``displayName`` (equals or in) or by
``externalId``, a User attribute (equals, in, present), the values of the SCIM ``roles``
attribute (equals or in), and ``default``. The action grants role names, or the role named like
the matched group or SCIM role (``grant_matched_name``). Rules combine by union: no order, no
precedence, no expressions (STYLE §4.4). Profiles ship default rules; per-organization rules live
in the database and are validated with these same models.
"""

from collections.abc import Iterable
from typing import Annotated
from typing import Self

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from pydantic import StringConstraints
from pydantic import field_validator
from pydantic import model_validator

from scim_server.mapping.scim_paths import check_user_path

RuleId = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]
"""A rule id: the mapping log cites it as ``profile@version:rule-id``."""

RoleName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
"""An Auth0 organization role name, such as ``org_admin``."""

MatchValue = str | int | bool
"""A value an attribute is compared with (RFC 7643 §2.3: string, integer or boolean)."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _exactly_one(model: BaseModel, names: tuple[str, ...], what: str) -> None:
    given = [name for name in names if getattr(model, name) is not None]
    if len(given) != 1:
        raise ValueError(f"{what} takes exactly one of {', '.join(names)}; got {given or 'none'}")


class GroupMatcher(_Frozen):
    """Matches a user who is a member of a SCIM Group chosen by displayName or externalId."""

    display_name: str | None = None
    """Compared case-insensitively, as Entra expects group displayNames to be (idp-quirks §5.3)."""

    display_name_in: tuple[str, ...] | None = None
    external_id: str | None = None
    """Compared exactly: externalId is caseExact (RFC 7643 §3.1)."""

    @model_validator(mode="after")
    def _one_criterion(self) -> Self:
        _exactly_one(self, ("display_name", "display_name_in", "external_id"), "group")
        return self


class AttributeMatcher(_Frozen):
    """Matches a user whose attribute at a SCIM path equals, is in, or is present."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    path: str
    equals: MatchValue | None = None
    in_: tuple[MatchValue, ...] | None = Field(default=None, alias="in")
    present: bool | None = None

    @field_validator("path")
    @classmethod
    def _known_path(cls, path: str) -> str:
        check_user_path(path)
        return path

    @model_validator(mode="after")
    def _one_criterion(self) -> Self:
        _exactly_one(self, ("equals", "in_", "present"), "attribute")
        if self.present is False:
            raise ValueError("attribute.present can only be true; absence is not a grant")
        return self


class ScimRoleMatcher(_Frozen):
    """Matches a user whose SCIM ``roles`` attribute holds a value (RFC 7643 §4.1.2)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    equals: str | None = None
    in_: tuple[str, ...] | None = Field(default=None, alias="in")

    @model_validator(mode="after")
    def _one_criterion(self) -> Self:
        _exactly_one(self, ("equals", "in_"), "scim_role")
        return self


class RuleCondition(_Frozen):
    """The one matcher of a rule."""

    group: GroupMatcher | None = None
    attribute: AttributeMatcher | None = None
    scim_role: ScimRoleMatcher | None = None
    default: bool | None = None
    """Matches every active user; ``default = true`` is the only accepted form."""

    @model_validator(mode="after")
    def _one_matcher(self) -> Self:
        _exactly_one(self, ("group", "attribute", "scim_role", "default"), "when")
        if self.default is False:
            raise ValueError("when.default can only be true")
        return self


class RoleRule(_Frozen):
    """A rule granting Auth0 organization roles to the users its condition matches."""

    id: RuleId
    when: RuleCondition
    grant: tuple[RoleName, ...] = ()
    grant_matched_name: bool = False
    """Grant the role named like the matched group displayName or SCIM role value (DESIGN §7)."""

    @model_validator(mode="after")
    def _grants_something(self) -> Self:
        if not self.grant and not self.grant_matched_name:
            raise ValueError("a rule must grant roles or set grant_matched_name")
        if self.grant_matched_name and not self._names_a_role():
            raise ValueError(
                "grant_matched_name needs a group display_name/display_name_in or a scim_role matcher"
            )
        return self

    def _names_a_role(self) -> bool:
        group = self.when.group
        return self.when.scim_role is not None or (group is not None and group.external_id is None)


class DuplicateRuleId(ValueError):
    """Two rules share an id, so the mapping log could not tell which one fired."""

    def __init__(self, rule_id: str) -> None:
        self.rule_id = rule_id
        super().__init__(f"rule id {rule_id!r} is used twice")


def check_unique_ids(rules: Iterable[RoleRule]) -> None:
    """Refuse two rules with one id, since the mapping log cites rules by id.

    :raises DuplicateRuleId: When an id repeats.
    """
    seen: set[str] = set()
    for rule in rules:
        if rule.id in seen:
            raise DuplicateRuleId(rule.id)
        seen.add(rule.id)
