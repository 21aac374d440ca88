"""Provisioning: identity links, the sync queue, the mapping log and per-organization role rules.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AutoString = sqlmodel.sql.sqltypes.AutoString


def _org_id() -> sa.Column[int]:
    return sa.Column("org_id", sa.Integer(), nullable=False)


def _org_fk() -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(["org_id"], ["organization.id"], ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "identity_link",
        sa.Column("pk", sa.Integer(), nullable=False),
        _org_id(),
        sa.Column("scim_id", sa.String(length=36), nullable=False),
        sa.Column("auth0_user_id", AutoString(), nullable=True),
        sa.Column("link_method", AutoString(), nullable=True),
        sa.Column("owned", sa.Boolean(), nullable=False),
        sa.Column("invitation_id", AutoString(), nullable=True),
        sa.Column("desired", sa.JSON(), nullable=False),
        sa.Column("applied", sa.JSON(), nullable=False),
        sa.Column("state", AutoString(), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", AutoString(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk(),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("org_id", "scim_id", name="uq_identity_link_scim_id"),
    )
    op.create_index("ix_identity_link_auth0_user_id", "identity_link", ["org_id", "auth0_user_id"])
    op.create_table(
        "sync_task",
        sa.Column("pk", sa.Integer(), nullable=False),
        _org_id(),
        sa.Column("scim_id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", AutoString(), nullable=True),
        sa.Column("claimed_by", AutoString(), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _org_fk(),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("org_id", "scim_id", name="uq_sync_task_scim_id"),
    )
    op.create_index(op.f("ix_sync_task_due_at"), "sync_task", ["due_at"])
    op.create_table(
        "mapping_event",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _org_id(),
        sa.Column("request_id", AutoString(), nullable=True),
        sa.Column("source", AutoString(), nullable=False),
        sa.Column("actor", AutoString(), nullable=True),
        sa.Column("kind", AutoString(), nullable=False),
        sa.Column("outcome", AutoString(), nullable=False),
        sa.Column("scim_id", sa.String(length=36), nullable=True),
        sa.Column("external_id", AutoString(), nullable=True),
        sa.Column("user_name", AutoString(), nullable=True),
        sa.Column("email", AutoString(), nullable=True),
        sa.Column("auth0_user_id", AutoString(), nullable=True),
        sa.Column("summary", AutoString(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        _org_fk(),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index("ix_mapping_event_at", "mapping_event", ["org_id", "at"])
    op.create_index("ix_mapping_event_scim_id", "mapping_event", ["org_id", "scim_id"])
    op.create_index("ix_mapping_event_email", "mapping_event", ["org_id", "email"])
    op.create_index("ix_mapping_event_auth0_user_id", "mapping_event", ["org_id", "auth0_user_id"])
    op.create_table(
        "role_rule",
        sa.Column("pk", sa.Integer(), nullable=False),
        _org_id(),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        _org_fk(),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("org_id", "rule_id", name="uq_role_rule_rule_id"),
    )


def downgrade() -> None:
    op.drop_table("role_rule")
    op.drop_table("mapping_event")
    op.drop_table("sync_task")
    op.drop_table("identity_link")
