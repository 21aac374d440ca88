"""List live resources from a partial index, so counts and pages skip tombstones without reading rows.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 13:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE = sa.text("deleted_at IS NULL")


def upgrade() -> None:
    op.drop_index("ix_scim_resource_listing", table_name="scim_resource")
    op.create_index(
        "ix_scim_resource_live_listing",
        "scim_resource",
        ["org_id", "resource_type", "created_at", "pk"],
        sqlite_where=LIVE,
        postgresql_where=LIVE,
    )


def downgrade() -> None:
    op.drop_index("ix_scim_resource_live_listing", table_name="scim_resource")
    op.create_index(
        "ix_scim_resource_listing",
        "scim_resource",
        ["org_id", "resource_type", "created_at", "pk"],
    )
