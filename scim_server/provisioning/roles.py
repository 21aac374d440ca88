"""Role resolution: which Auth0 organization roles a SCIM user gets, and which rules say so.

Pure: the facts of one user in, role names with the citations of the rules that granted
them out. Rules combine by union (DESIGN §7): every matching rule adds its roles, none takes
any away, their order does not matter. The citations are what the mapping log shows as
reasons: ``okta@1:member`` for a profile rule, ``org:<rule-id>`` for an organization's rule.
"""

from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from scim_server.mapping.profile import MappingProfile
from scim_server.mapping.rules import MatchValue
from scim_server.mapping.rules import RoleRule
from scim_server.mapping.scim_paths import value_at

ORG_CITATION_PREFIX = "org:"


@dataclass(frozen=True)
class GroupFacts:
    """What role rules may read of a group the user is a member of."""

    display_name: str | None
    external_id: str | None = None


@dataclass(frozen=True)
class UserFacts:
    """What role rules may read of a user: its attributes, its groups and its SCIM roles.

    :param attributes: The SCIM User as JSON (as stored: no ``password``).
    :param groups: The groups the user is a direct member of.
    """

    attributes: Mapping[str, Any]
    groups: tuple[GroupFacts, ...] = ()
    scim_roles: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, attributes: Mapping[str, Any], groups: Iterable[GroupFacts] = ()) -> "UserFacts":
        """Gather the facts of a user, its SCIM ``roles`` values read from its attributes."""
        roles = value_at(attributes, "roles.value") or []
        return cls(
            attributes=attributes,
            groups=tuple(groups),
            scim_roles=tuple(str(role) for role in roles if role is not None),
        )


@dataclass(frozen=True)
class CitedRule:
    """A role rule with the citation the mapping log gives it."""

    rule: RoleRule
    citation: str


def profile_rules(profile: MappingProfile) -> tuple[CitedRule, ...]:
    """Return a profile's default rules, cited as ``profile@version:rule-id``."""
    return tuple(CitedRule(rule, profile.cite(rule.id)) for rule in profile.roles)


def org_rules(rules: Iterable[RoleRule]) -> tuple[CitedRule, ...]:
    """Return an organization's own rules, cited as ``org:rule-id``.

    >>> from scim_server.mapping.rules import RoleRule
    >>> rule = RoleRule.model_validate({"id": "all", "when": {"default": True}, "grant": ["x"]})
    >>> org_rules([rule])[0].citation
    'org:all'
    """
    return tuple(CitedRule(rule, f"{ORG_CITATION_PREFIX}{rule.id}") for rule in rules)


def _same(value: Any, expected: MatchValue) -> bool:
    """Compare an attribute value with a rule's value: strings case-insensitively (RFC 7643 §2.3.1).

    >>> _same("Engineering", "engineering"), _same(True, 1), _same(1, 1)
    (True, False, True)
    """
    if isinstance(value, str) and isinstance(expected, str):
        return value.casefold() == expected.casefold()
    return type(value) is type(expected) and value == expected


def _values(value: Any) -> list[Any]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if item is not None and item != ""]


def _matched_names(rule: RoleRule, user: UserFacts) -> list[str] | None:
    """Return the names a rule's condition matched (for ``grant_matched_name``), or None."""
    when = rule.when
    if when.default:
        return []
    if when.group is not None:
        group = when.group
        if group.external_id is not None:
            hit = any(g.external_id == group.external_id for g in user.groups)
            return [] if hit else None
        wanted = (group.display_name,) if group.display_name is not None else group.display_name_in
        names = {g.display_name.casefold() for g in user.groups if g.display_name}
        found = [name for name in wanted or () if name.casefold() in names]
        return found or None
    if when.scim_role is not None:
        wanted = (
            (when.scim_role.equals,) if when.scim_role.equals is not None else when.scim_role.in_
        )
        held = {role.casefold() for role in user.scim_roles}
        found = [name for name in wanted or () if name.casefold() in held]
        return found or None
    assert when.attribute is not None
    attribute = when.attribute
    values = _values(value_at(user.attributes, attribute.path))
    if attribute.present:
        return [] if values else None
    expected = (attribute.equals,) if attribute.equals is not None else attribute.in_ or ()
    return [] if any(_same(v, e) for v in values for e in expected) else None


def resolve_roles(user: UserFacts, rules: Sequence[CitedRule]) -> dict[str, tuple[str, ...]]:
    """Return the roles the rules grant a user, each with the citations of the rules granting it.

    Roles are sorted by name, citations kept in rule order without repeats.
    """
    granted: dict[str, list[str]] = {}
    for cited in rules:
        matched = _matched_names(cited.rule, user)
        if matched is None:
            continue
        names = list(cited.rule.grant) + (matched if cited.rule.grant_matched_name else [])
        for name in names:
            citations = granted.setdefault(name, [])
            if cited.citation not in citations:
                citations.append(cited.citation)
    return {name: tuple(granted[name]) for name in sorted(granted)}
