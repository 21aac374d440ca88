"""The SCIM handler: scim2-server's sequencing of service and storage, with cheap group PATCHes."""

from typing import Any
from typing import cast

from scim2_models import PatchOp
from scim2_models import Resource
from scim2_models import ResourceType
from scim2_models import ResponseParameters
from scim2_server.conditions import Conditions
from scim2_server.handler import AsyncScimHandler
from scim2_server.service import ScimService

from scim_server.intake.members import plan_member_changes
from scim_server.storage.resources import SqlScimStorage
from scim_server.storage.resources import is_group


class ScimHandler(AsyncScimHandler):
    """Serve SCIM requests over the SQL storage of one organization.

    A PATCH on a group applies its member operations row by row
    (:func:`~scim_server.intake.members.plan_member_changes`) and the other
    operations with scim2-models on the group read without its members.
    """

    storage: SqlScimStorage

    def __init__(self, service: ScimService, storage: SqlScimStorage) -> None:
        super().__init__(service, storage)

    async def patch_resource(
        self,
        resource_type: ResourceType,
        resource_id: str,
        patch_op: "PatchOp[Any]",
        conditions: Conditions,
    ) -> Resource[Any]:
        """Apply a validated PATCH; O(k) in the members it names when it is on a group."""
        model = self.service.get_model(resource_type)
        plan = (
            plan_member_changes(patch_op, self.service.provider.policy)
            if is_group(resource_type)
            else None
        )
        if plan is None:
            return await super().patch_resource(resource_type, resource_id, patch_op, conditions)

        changes, rest = plan
        without_members = cast(
            ResponseParameters[Any],
            ResponseParameters[model].model_validate(  # type: ignore[valid-type]
                {"excludedAttributes": "members"}
            ),
        )
        current = await self.storage.get(
            resource_type, resource_id, response_parameters=without_members
        )
        assert current.meta is not None
        version = current.meta.version
        self.service.check_preconditions(current, "PATCH", conditions)
        patched = self.service.apply_patch(current, rest, conditions) if rest.operations else None
        if patched is None and not changes:
            return current
        return await self.storage.change_members(
            resource_type, patched or current, changes, expected_version=version
        )
