"""Plan the member changes of a group PATCH without reading the group's other members.

A PATCH that adds or removes k members must cost O(k), also on a group of 100,000 members
(Okta and Entra push membership one user at a time). scim2-models applies a PATCH to a whole
resource, which means loading every member first; this planner recognises the member
operations IdPs send and turns them into :class:`MemberChanges` the storage applies row by
row. Any member operation it does not recognise makes it give up (``None``), and the whole
PATCH then goes through scim2-models on the full group: slower, never wrong.
"""

from typing import Any
from typing import cast

from scim2_models import GroupMember
from scim2_models import PatchOp
from scim2_models import PatchOperation
from scim2_models import ScimPolicy
from scim2_models.path import CompareOperator
from scim2_models.path import Comparison
from scim2_models.path import FilterNode
from scim2_models.path import LogicalExpr
from scim2_models.path import LogicalOperator

from scim_server.storage.members import MemberChanges

MEMBERS = "members"


def plan_member_changes(
    patch_op: "PatchOp[Any]", policy: ScimPolicy
) -> "tuple[MemberChanges, PatchOp[Any]] | None":
    """Split a group PATCH into member changes and the operations left for scim2-models.

    :return: The member changes and a PATCH of the other operations, or ``None`` when an
        operation on ``members`` needs the whole member list.
    """
    changes = MemberChanges()
    rest: list[PatchOperation[Any]] = []
    for operation in patch_op.operations or []:
        if not _targets_members(operation):
            if changes and operation.path is None:
                return None  # keep the order of a later whole-resource operation simple
            rest.append(operation)
            continue
        if not _apply(operation, changes, policy):
            return None
    return changes, patch_op.model_copy(update={"operations": rest})


def _targets_members(operation: PatchOperation[Any]) -> bool:
    if operation.path is None:
        value = operation.value
        return isinstance(value, dict) and any(key.casefold() == MEMBERS for key in value)
    parts = operation.path.parts
    return bool(parts) and parts[0].casefold() == MEMBERS


def _apply(operation: PatchOperation[Any], changes: MemberChanges, policy: ScimPolicy) -> bool:
    """Fold one member operation into the changes; False when it needs the whole list."""
    path = operation.path
    if path is None or len(path.parts) != 1:
        return False  # a path-less value or a sub-attribute such as members.display
    op = operation.op
    selection = path.value_filter
    if selection is not None:
        if op is not PatchOperation.Op.remove:
            return False
        ids = _selected_ids(selection)
        if ids is None:
            return False
        _remove(changes, ids)
        return True
    if op is PatchOperation.Op.remove and operation.value is None:
        changes.clear, changes.removed, changes.added = True, set(), {}
        return True
    members = _members(operation.value)
    if members is None:
        return False
    if op is PatchOperation.Op.add:
        _add(changes, members)
    elif op is PatchOperation.Op.replace_:
        changes.clear, changes.removed, changes.added = True, set(), {}
        _add(changes, members)
    elif policy.remove_value_as_filter is ScimPolicy.RemoveValue.apply:
        # Entra (without aadOptscim062020): {"op":"Remove","path":"members","value":[{"value":"<uid>"}]}
        _remove(changes, {cast(str, m.value) for m in members})
    else:
        return False
    return True


def _members(value: Any) -> list[GroupMember] | None:
    """Return the members a value lists, or None when it is not a plain member list.

    Anything odd (no ``value``, a wrong type) goes to scim2-models, which answers the right error.
    """
    items = value if isinstance(value, list) else [value]
    members = []
    for item in items:
        if isinstance(item, GroupMember):
            member = item
        elif isinstance(item, dict):
            try:
                member = GroupMember.model_validate(item)
            except ValueError:
                return None
        else:
            return None
        if not member.value:
            return None
        members.append(member)
    return members


def _selected_ids(node: FilterNode) -> set[str] | None:
    """Return the ids a ``value eq "x" [or value eq "y" ...]`` selection names, else None."""
    if isinstance(node, LogicalExpr) and node.op == LogicalOperator.or_:
        ids: set[str] = set()
        for term in node.terms:
            found = _selected_ids(term)
            if found is None:
                return None
            ids |= found
        return ids
    if (
        isinstance(node, Comparison)
        and node.op == CompareOperator.eq
        and node.attr_path.attr.casefold() == "value"
        and node.attr_path.sub_attr is None
        and isinstance(node.value, str)
    ):
        return {node.value}
    return None


def _add(changes: MemberChanges, members: list[GroupMember]) -> None:
    for member in members:
        member_id = cast(str, member.value)
        changes.removed.discard(member_id)
        changes.added[member_id] = member


def _remove(changes: MemberChanges, ids: set[str]) -> None:
    for member_id in ids:
        changes.added.pop(member_id, None)
        changes.removed.add(member_id)
