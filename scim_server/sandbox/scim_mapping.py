"""How Auth0 Inbound SCIM turns a SCIM User into an Auth0 profile and back (auth0.md §13).

Auth0 keeps no SCIM document: a SCIM write becomes Auth0 profile fields through the
configuration's ``mapping`` (pairs ``{auth0, scim}``, one-to-one), and a SCIM read is the
profile mapped back. So an attribute the mapping leaves out is dropped on the way in and never
read back, exactly as on a real tenant. ``active`` maps onto ``blocked``, inverted.

Paths are read and written with scim2-models (``Path.get``; a PatchOp ``add`` under a policy
that creates the entry a value filter such as ``emails[type eq "work"]`` designates).
"""

from typing import Any

from scim2_models import EnterpriseUser
from scim2_models import InvalidPathException
from scim2_models import PatchOp
from scim2_models import Path
from scim2_models import ScimPolicy
from scim2_models import User

from scim_server.sandbox import errors

ScimUser: Any = User[EnterpriseUser]
"""The User Auth0 serves: the core schema and the enterprise extension."""

UNMAPPABLE = frozenset({"id", "meta", "password"})
"""SCIM attributes a mapping may not name."""

_BUILD_POLICY = ScimPolicy(unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create)
_PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def check_scim_path(text: object) -> str:
    """Return ``text`` when it names an attribute of the SCIM User, else raise Auth0's 400."""
    if not isinstance(text, str) or not text:
        raise errors.invalid_body("SCIM attribute must be a non-empty string")
    try:
        bound = Path[ScimUser](text).resolve()
    except InvalidPathException:
        bound = None
    if bound is None or text.split("[")[0].split(".")[0].lower() in UNMAPPABLE:
        raise errors.invalid_body(f"{text} is not a mappable SCIM attribute")
    return text


def check_mapping(mapping: object) -> list[dict[str, str]]:
    """Return a valid mapping: ``{auth0, scim}`` string pairs, each side used once.

    :raises errors.ManagementError: A 400 ``invalid_body`` naming the first fault.
    """
    if not isinstance(mapping, list) or not mapping:
        raise errors.invalid_body("mapping must be a non-empty array")
    checked: list[dict[str, str]] = []
    for item in mapping:
        if not isinstance(item, dict) or set(item) != {"auth0", "scim"}:
            raise errors.invalid_body("each mapping item has exactly auth0 and scim")
        auth0 = item["auth0"]
        if not isinstance(auth0, str) or not auth0 or auth0.count(".") > 1:
            raise errors.invalid_body(f"{auth0} is not an Auth0 profile attribute")
        checked.append({"auth0": auth0, "scim": check_scim_path(item["scim"])})
    for side in ("auth0", "scim"):
        names = [pair[side].lower() for pair in checked]
        if len(set(names)) != len(names):
            raise errors.invalid_body(f"the mapping is one-to-one: an {side} attribute repeats")
    return checked


def scim_value(resource: Any, path: str) -> Any:
    """Return the value a SCIM path designates in a User; a filtered path gives its first match."""
    value = Path[ScimUser](path).get(resource, strict=False)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def profile_of(resource: Any, mapping: list[dict[str, str]]) -> dict[str, Any]:
    """Return the Auth0 profile fields a SCIM User sets, ``None`` for the mapped ones it leaves out."""
    profile: dict[str, Any] = {}
    for pair in mapping:
        value = scim_value(resource, pair["scim"])
        if pair["auth0"] == "blocked":
            value = value is False
        profile[pair["auth0"]] = value
    return profile


def apply_profile(user: dict[str, Any], profile: dict[str, Any]) -> None:
    """Write profile fields into a stored user: ``a.b`` writes one level down, ``None`` unsets."""
    for name, value in profile.items():
        head, _, leaf = name.partition(".")
        target = user.setdefault(head, {}) if leaf else user
        key = leaf or head
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
        if leaf and not target:
            user.pop(head)


def read_profile(user: dict[str, Any], name: str) -> Any:
    """Return one profile field of a stored user (``a.b`` reads one level down)."""
    head, _, leaf = name.partition(".")
    value = user.get(head)
    return value.get(leaf) if leaf and isinstance(value, dict) else (None if leaf else value)


def resource_of(user: dict[str, Any], mapping: list[dict[str, str]]) -> Any:
    """Return the SCIM User Auth0 serves for a stored user: its ``user_id`` and mapped fields."""
    operations = []
    for pair in mapping:
        value = read_profile(user, pair["auth0"])
        if pair["auth0"] == "blocked":
            value = not value
        if value is not None:
            operations.append({"op": "add", "path": pair["scim"], "value": value})
    resource = ScimUser(id=user["user_id"])
    if operations:
        patch = PatchOp[ScimUser].model_validate(
            {"schemas": [_PATCH_SCHEMA], "Operations": operations}, scim_policy=_BUILD_POLICY
        )
        patch.patch(resource, _BUILD_POLICY)
    return resource
