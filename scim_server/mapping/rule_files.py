"""Role-rule files: an organization's own rules as TOML, imported and exported by the CLI.

A rule file holds ``[[roles]]`` tables exactly like a profile's (``mappings/README.md``), so a
rule can move between a profile and an organization unchanged. The rules are validated with
the same models (``mapping/rules.py``), and a bad one is a :class:`MappingError` naming the
file and the rule. The database keeps each rule as its JSON definition (:func:`definition`).
"""

import json
import tomllib
from collections.abc import Mapping
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import ValidationError
from pydantic import field_validator

from scim_server.mapping.profile import MappingError
from scim_server.mapping.profile import describe_error
from scim_server.mapping.profile import rule_at
from scim_server.mapping.rules import RoleRule
from scim_server.mapping.rules import check_unique_ids


class RuleFile(BaseModel):
    """The content of a rule file: role rules, ids unique."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    roles: tuple[RoleRule, ...] = ()

    @field_validator("roles")
    @classmethod
    def _unique_rule_ids(cls, roles: tuple[RoleRule, ...]) -> tuple[RoleRule, ...]:
        check_unique_ids(roles)
        return roles


def parse_rules(text: str, *, source: Path) -> tuple[RoleRule, ...]:
    """Read the rules of a rule file's text.

    :param source: The file the text comes from, named by errors.
    :raises MappingError: When the text is not TOML or a rule breaks the vocabulary; the
        message is one line naming the rule.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MappingError(source, f"is not valid TOML: {error}") from None
    try:
        return RuleFile.model_validate(data).roles
    except ValidationError as error:
        first = error.errors()[0]
        raise MappingError(source, describe_error(first), rule=rule_at(data, first)) from None


def read_rules(path: Path) -> tuple[RoleRule, ...]:
    """Read and check a rule file.

    :raises MappingError: When the file cannot be read or holds a bad rule.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise MappingError(path, f"cannot be read: {error.strerror}") from None
    return parse_rules(text, source=path)


def definition(rule: RoleRule) -> dict[str, Any]:
    """Return a rule as the JSON the database keeps: only what the rule sets.

    >>> rule = RoleRule.model_validate({"id": "all", "when": {"default": True}, "grant": ["x"]})
    >>> definition(rule)
    {'id': 'all', 'when': {'default': True}, 'grant': ['x']}
    """
    data: dict[str, Any] = rule.model_dump(
        mode="json", by_alias=True, exclude_none=True, exclude_defaults=True
    )
    return data


def _toml_value(value: Any) -> str:
    """Write a rule value in TOML: JSON's strings, numbers and arrays are TOML's too.

    >>> print(_toml_value(["a", "b"]), _toml_value(True), _toml_value(3))
    ["a", "b"] true 3
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _lines(data: Mapping[str, Any], prefix: str = "") -> list[str]:
    lines = []
    for key, value in data.items():
        if isinstance(value, Mapping):
            lines.extend(_lines(value, f"{prefix}{key}."))
        else:
            lines.append(f"{prefix}{key} = {_toml_value(value)}")
    return lines


def dump_rules(rules: Sequence[RoleRule], *, header: str = "") -> str:
    """Write rules as a rule file that :func:`parse_rules` reads back to the same rules.

    Nested tables are written as dotted keys (``when.group.display_name = "Admins"``), the
    way ``mappings/*.toml`` write them.
    """
    blocks = [f"# {line}".rstrip() for line in header.splitlines()]
    for rule in rules:
        blocks.extend(["", "[[roles]]", *_lines(definition(rule))])
    return "\n".join(blocks).lstrip("\n") + "\n"
