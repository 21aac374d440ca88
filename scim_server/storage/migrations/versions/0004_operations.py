"""Operations: admin API operator tokens, and mapping-log lookups by every identity key.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    op.create_table(
        "operator_token",
        sa.Column("id", AutoString(length=32), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=True),
        sa.Column("name", AutoString(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prefix", AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index(op.f("ix_operator_token_org_id"), "operator_token", ["org_id"])
    op.create_index("ix_mapping_event_external_id", "mapping_event", ["org_id", "external_id"])
    op.create_index("ix_mapping_event_user_name", "mapping_event", ["org_id", "user_name"])
    op.create_index("ix_mapping_event_request_id", "mapping_event", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_mapping_event_request_id", table_name="mapping_event")
    op.drop_index("ix_mapping_event_user_name", table_name="mapping_event")
    op.drop_index("ix_mapping_event_external_id", table_name="mapping_event")
    op.drop_index(op.f("ix_operator_token_org_id"), table_name="operator_token")
    op.drop_table("operator_token")
