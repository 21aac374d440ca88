"""Named rewrites of raw request bodies and filters, one per IdP quirk scim2-models does not absorb.

Each shim is a pure function on decoded JSON (or on a filter string), named after the quirk and
documenting the vendor that sends it. A profile's ``[shims]`` table turns them on by name.

Quirks that need **no** shim, because scim2-models 0.12.3 already tolerates them (each is still
pinned by a test in ``tests/protocol/test_quirks.py``):

* capitalised ops ``"Replace"``/``"Add"``/``"Remove"`` (Entra) — ``PatchOperation.op`` ignores case;
* ``"True"``/``"False"`` strings for booleans (Entra, OneLogin) — pydantic's lax booleans;
* path-less replace with dotted and URN keys (Entra) — ``PatchOp`` reads value keys as paths;
* ``remove`` on ``members`` with a value list (Entra) — ``ScimPolicy.remove_value_as_filter``;
* filtered replace/add on a missing entry (Entra) — ``ScimPolicy.unmatched_path_filter``;
* ``"$ref": null`` in members (Entra), ``null`` attributes, client-sent ``meta`` and ``"id": null``
  in a POST (Entra, OneLogin) — read-only and null attributes are dropped on creation;
* attribute names and paths in any case, URN-qualified paths (Entra, RFC 7643 §2.1).
"""

import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scim_server.protocol.active import refuse_null_active_in_patch
from scim_server.protocol.active import refuse_null_active_in_resource

ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
ENTRA_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"

JsonRewrite = Callable[[Any], Any]


def _key(mapping: Mapping[str, Any], name: str) -> str | None:
    """Return the key of a mapping that names an attribute, ignoring case (RFC 7643 §2.1)."""
    folded = name.casefold()
    return next((key for key in mapping if key.casefold() == folded), None)


def _get(mapping: Mapping[str, Any], name: str) -> Any:
    key = _key(mapping, name)
    return None if key is None else mapping[key]


def _rewrite_operations(patch: Any, rewrite: Callable[[dict[str, Any]], dict[str, Any]]) -> Any:
    """Return a PatchOp body whose operations went through a rewrite; any other body unchanged."""
    if not isinstance(patch, dict):
        return patch
    key = _key(patch, "Operations")
    if key is None or not isinstance(patch[key], list):
        return patch
    operations = [rewrite(op) if isinstance(op, dict) else op for op in patch[key]]
    return {**patch, key: operations}


def _path_of(operation: Mapping[str, Any]) -> str:
    path = _get(operation, "path")
    return path.strip() if isinstance(path, str) else ""


def _path_less_value(operation: Mapping[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """Return the key and the object value of a path-less operation, which RFC 7644 §3.5.2 allows."""
    key = _key(operation, "value")
    if key is None or _path_of(operation) or not isinstance(operation[key], dict):
        return None
    return key, operation[key]


# -- drop_read_only_patch_keys -------------------------------------------------


READ_ONLY_VALUE_KEYS = frozenset({"id", "meta"})


def drop_read_only_patch_keys(patch: Any) -> Any:
    """Drop ``id`` and ``meta`` from the value of a path-less PATCH operation.

    Okta renames a group with ``{"op":"replace","value":{"id":"<grp id>","displayName":"X"}}``
    and expects the read-only ``id`` to be ignored, not a 400 ``mutability`` (idp-quirks §4.1).
    Neither can change, so dropping them loses nothing.

    >>> drop_read_only_patch_keys({"Operations": [{"op": "replace", "value": {"id": "1", "displayName": "X"}}]})
    {'Operations': [{'op': 'replace', 'value': {'displayName': 'X'}}]}
    """

    def rewrite(operation: dict[str, Any]) -> dict[str, Any]:
        found = _path_less_value(operation)
        if found is None:
            return operation
        key, value = found
        kept = {k: v for k, v in value.items() if k.casefold() not in READ_ONLY_VALUE_KEYS}
        return {**operation, key: kept}

    return _rewrite_operations(patch, rewrite)


# -- drop_entra_group_schema ---------------------------------------------------


def drop_entra_group_schema(resource: Any) -> Any:
    """Drop Entra's attribute-less Group schema URN from ``schemas``.

    Entra creates groups with ``"schemas": [core Group, "http://schemas.microsoft.com/2006/11/
    ResourceManagement/ADSCIM/2.0/Group"]`` (idp-quirks §5.2). The URN declares no attribute, so
    removing it keeps every value while the strict policy still refuses unknown schemas.

    >>> drop_entra_group_schema({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group", ENTRA_GROUP_SCHEMA]})
    {'schemas': ['urn:ietf:params:scim:schemas:core:2.0:Group']}
    """
    if not isinstance(resource, dict):
        return resource
    key = _key(resource, "schemas")
    if key is None or not isinstance(resource[key], list):
        return resource
    kept = [
        schema
        for schema in resource[key]
        if not (isinstance(schema, str) and schema.casefold() == ENTRA_GROUP_SCHEMA.casefold())
    ]
    return {**resource, key: kept}


# -- wrap_bare_manager ---------------------------------------------------------


MANAGER_PATHS = frozenset({"manager", f"{ENTERPRISE_USER}:manager".casefold()})


def _manager_value(value: Any) -> Any:
    """Return a manager value in the complex form of RFC 7643 §4.3: ``{"value", "$ref"}``.

    RFC 7643 §4.3 makes ``$ref`` required, so a missing or null one becomes the reference
    ``Users/<id>``, relative to the SCIM root (RFC 7643 §2.3.7), which responses publish as a URL.
    """
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, str):
        value = {"value": value}
    if not isinstance(value, dict):
        return value
    manager_id = _get(value, "value")
    ref_key = _key(value, "$ref")
    if isinstance(manager_id, str) and (ref_key is None or value[ref_key] is None):
        return {**{k: v for k, v in value.items() if k != ref_key}, "$ref": f"Users/{manager_id}"}
    return value


def _wrap_extension_manager(extension: Any) -> Any:
    if not isinstance(extension, dict):
        return extension
    key = _key(extension, "manager")
    if key is None:
        return extension
    return {**extension, key: _manager_value(extension[key])}


def wrap_bare_manager_in_resource(resource: Any) -> Any:
    """Turn a bare-string enterprise ``manager`` of a User body into its complex form.

    The Entra SCIM validator sends ``"manager": "<manager id>"`` (idp-quirks §5.8), where RFC 7643
    §4.3 defines a complex attribute. A string can only be the manager's id.

    >>> wrap_bare_manager_in_resource({ENTERPRISE_USER: {"manager": "m1"}})[ENTERPRISE_USER]
    {'manager': {'value': 'm1', '$ref': 'Users/m1'}}
    """
    if not isinstance(resource, dict):
        return resource
    key = _key(resource, ENTERPRISE_USER)
    if key is None:
        return resource
    return {**resource, key: _wrap_extension_manager(resource[key])}


def wrap_bare_manager_in_patch(patch: Any) -> Any:
    """Point Entra's legacy ``manager`` path at the enterprise extension and wrap bare values.

    Entra sends ``{"op":"Add","path":"manager","value":[{"$ref":…,"value":"<id>"}]}`` (a list,
    on a top-level alias) and its validator ``"value": "<id>"`` (idp-quirks §5.2, §5.8). Core
    User has no ``manager``, so the alias cannot mean anything else.

    >>> wrap_bare_manager_in_patch({"Operations": [{"op": "Add", "path": "manager", "value": "m1"}]})["Operations"]
    [{'op': 'Add', 'path': 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', 'value': {'value': 'm1', '$ref': 'Users/m1'}}]
    """

    def rewrite(operation: dict[str, Any]) -> dict[str, Any]:
        path_key = _key(operation, "path")
        value_key = _key(operation, "value")
        path = _path_of(operation)
        if path.casefold() in MANAGER_PATHS and path_key is not None:
            rewritten = {**operation, path_key: f"{ENTERPRISE_USER}:manager"}
            if value_key is not None:
                rewritten[value_key] = _manager_value(operation[value_key])
            return rewritten
        found = _path_less_value(operation)
        if found is None:
            return operation
        key, value = found
        return {**operation, key: _wrap_path_less_manager(value)}

    return _rewrite_operations(patch, rewrite)


def _wrap_path_less_manager(value: dict[str, Any]) -> dict[str, Any]:
    wrapped: dict[str, Any] = wrap_bare_manager_in_resource(value)
    urn_key = _key(wrapped, f"{ENTERPRISE_USER}:manager")
    if urn_key is not None:
        wrapped = {**wrapped, urn_key: _manager_value(wrapped[urn_key])}
    return wrapped


# -- parse_json_role_values ----------------------------------------------------


ROLES_PATHS = frozenset({"roles", f"{CORE_USER}:roles".casefold()})


def _parsed_role(entry: Any) -> Any:
    """Return a role entry whose JSON-text ``value`` is read as ``{id, value, displayName}``."""
    if not isinstance(entry, dict):
        return entry
    key = _key(entry, "value")
    text = entry.get(key) if key else None
    if not isinstance(text, str) or not text.lstrip().startswith("{"):
        return entry
    try:
        inner = json.loads(text)
    except ValueError:
        return entry
    if not isinstance(inner, dict):
        return entry
    role = {k: v for k, v in entry.items() if k != key}
    role["value"] = inner.get("value", inner.get("id"))
    if inner.get("displayName") is not None and _key(entry, "display") is None:
        role["display"] = inner["displayName"]
    return role


def _parsed_roles(value: Any) -> Any:
    return [_parsed_role(entry) for entry in value] if isinstance(value, list) else value


def parse_json_role_values_in_resource(resource: Any) -> Any:
    """Read the JSON-text role values of a User body as role value and display.

    See :func:`parse_json_role_values_in_patch`; Entra may do the same in a POST or PUT.

    >>> parse_json_role_values_in_resource({"roles": [{"value": '{"id": "a1", "value": "25", "displayName": "R"}'}]})
    {'roles': [{'value': '25', 'display': 'R'}]}
    """
    if not isinstance(resource, dict):
        return resource
    key = _key(resource, "roles")
    if key is None:
        return resource
    return {**resource, key: _parsed_roles(resource[key])}


def parse_json_role_values_in_patch(patch: Any) -> Any:
    r"""Read Entra's JSON-in-a-string role values as a role value and its display name.

    Entra's ``SingleAppRoleAssignment`` PATCH sends ``{"op":"Add","path":"roles","value":
    [{"value":"{\"id\":\"…\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}]}``
    (idp-quirks §5.2). The inner ``value`` (the app role's value, ``id`` when it has none) becomes
    the role ``value``, and ``displayName`` its ``display``; ``type`` and ``primary`` are kept.
    A value that is not a JSON object stays as sent.

    >>> op = {"op": "Add", "path": "roles", "value": [{"value": '{"id": "a1", "value": "25", "displayName": "R"}'}]}
    >>> parse_json_role_values_in_patch({"Operations": [op]})["Operations"][0]["value"]
    [{'value': '25', 'display': 'R'}]
    """

    def rewrite(operation: dict[str, Any]) -> dict[str, Any]:
        value_key = _key(operation, "value")
        if value_key is None:
            return operation
        path = _path_of(operation)
        if path.casefold() in ROLES_PATHS:
            return {**operation, value_key: _parsed_roles(operation[value_key])}
        if not path:
            return {
                **operation,
                value_key: parse_json_role_values_in_resource(operation[value_key]),
            }
        return operation

    return _rewrite_operations(patch, rewrite)


# -- quote_bare_filter_values --------------------------------------------------


_FILTER_TOKENS = re.compile(
    r'"(?:[^"\\]|\\.)*"'
    r"|(?<=\s)(?P<op>eq|ne|co|sw|ew|gt|lt|ge|le)\s+(?P<bare>[^\s\"()\[\]]+)",
    re.IGNORECASE,
)
_FILTER_LITERALS = frozenset({"true", "false", "null"})


def quote_bare_filter_values(text: str) -> str:
    """Quote the bare comparison values of a filter, as in ``externalId eq jyoung``.

    Entra's documentation shows ``GET /Users?filter=externalId eq jyoung`` (idp-quirks §5.3);
    RFC 7644 §3.4.2.2 wants a JSON string. ``true``, ``false`` and ``null`` stay literals, quoted
    strings stay as they are, and a bare number becomes a string: Entra only filters string
    attributes (userName, externalId, displayName, emails.value).

    >>> quote_bare_filter_values('externalId eq jyoung and userName eq "a b"')
    'externalId eq "jyoung" and userName eq "a b"'
    >>> quote_bare_filter_values("active eq true")
    'active eq true'
    """

    def quote(match: re.Match[str]) -> str:
        bare = match.group("bare")
        if bare is None or bare.casefold() in _FILTER_LITERALS:
            return match.group(0)
        return f"{match.group('op')} {json.dumps(bare)}"

    return _FILTER_TOKENS.sub(quote, text)


# -- registry ------------------------------------------------------------------


@dataclass(frozen=True)
class Shim:
    """What one named shim rewrites: resource bodies (POST, PUT), PATCH bodies, filters."""

    on_resource: JsonRewrite | None = None
    on_patch: JsonRewrite | None = None
    on_filter: Callable[[str], str] | None = None


SHIMS: Mapping[str, Shim] = {
    "drop_read_only_patch_keys": Shim(on_patch=drop_read_only_patch_keys),
    "drop_entra_group_schema": Shim(on_resource=drop_entra_group_schema),
    "wrap_bare_manager": Shim(
        on_resource=wrap_bare_manager_in_resource, on_patch=wrap_bare_manager_in_patch
    ),
    "parse_json_role_values": Shim(
        on_resource=parse_json_role_values_in_resource, on_patch=parse_json_role_values_in_patch
    ),
    "quote_bare_filter_values": Shim(on_filter=quote_bare_filter_values),
    "refuse_null_active": Shim(
        on_resource=refuse_null_active_in_resource, on_patch=refuse_null_active_in_patch
    ),
}
"""Every shim, by the name a profile's ``[shims]`` table uses."""
