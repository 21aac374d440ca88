"""externalId is no longer unique in the database: the mapping profile decides (RFC 7643 §3.1).

The plain ``ix_scim_resource_external_id_any`` index (org, type, externalId) already serves
every lookup and the uniqueness check the okta and entra profiles make in code, so only the
unique partial index goes. A downgrade recreates it, and fails while live resources of one
organization and type share an externalId (those would have to be resolved first).

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LIVE_WITH_EXTERNAL_ID = sa.text("deleted_at IS NULL AND external_id IS NOT NULL")


def upgrade() -> None:
    op.drop_index("uq_scim_resource_external_id", table_name="scim_resource")


def downgrade() -> None:
    op.create_index(
        "uq_scim_resource_external_id",
        "scim_resource",
        ["org_id", "resource_type", "external_id"],
        unique=True,
        sqlite_where=LIVE_WITH_EXTERNAL_ID,
        postgresql_where=LIVE_WITH_EXTERNAL_ID,
    )
