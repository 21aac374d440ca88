"""The initial schema: organizations, their tokens, SCIM resources and group members.

Revision ID: 0001
Revises: None
Create Date: 2026-11-28 12:04:32.269155
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
"""JSON on SQLite, JSONB on PostgreSQL (tables.JSONDocument as of this revision)."""


def upgrade() -> None:
    op.create_table(
        "organization",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("auth0_org", sa.String(length=255), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("connection", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("identity_mode", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("profile", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("leaver_policy", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "scim_resource",
        sa.Column("pk", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("document", JSON_DOCUMENT, nullable=False),
        sa.Column("search_document", JSON_DOCUMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("modified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("user_name_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("email_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("display_name_key", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("id"),
    )
    op.create_index(
        "ix_scim_resource_email",
        "scim_resource",
        ["org_id", "resource_type", "email_key"],
        unique=False,
    )
    op.create_index(
        "ix_scim_resource_external_id_any",
        "scim_resource",
        ["org_id", "resource_type", "external_id"],
        unique=False,
    )
    op.create_index(
        "ix_scim_resource_listing",
        "scim_resource",
        ["org_id", "resource_type", "created_at", "pk"],
        unique=False,
    )
    op.create_index(
        "ix_scim_resource_user_name_any",
        "scim_resource",
        ["org_id", "resource_type", "user_name_key"],
        unique=False,
    )
    op.create_index(
        "uq_scim_resource_display_name",
        "scim_resource",
        ["org_id", "resource_type", "display_name_key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL AND display_name_key IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NULL AND display_name_key IS NOT NULL"),
    )
    op.create_index(
        "uq_scim_resource_external_id",
        "scim_resource",
        ["org_id", "resource_type", "external_id"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL AND external_id IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NULL AND external_id IS NOT NULL"),
    )
    op.create_index(
        "uq_scim_resource_user_name",
        "scim_resource",
        ["org_id", "resource_type", "user_name_key"],
        unique=True,
        sqlite_where=sa.text("deleted_at IS NULL AND user_name_key IS NOT NULL"),
        postgresql_where=sa.text("deleted_at IS NULL AND user_name_key IS NOT NULL"),
    )
    op.create_table(
        "scim_token",
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("prefix", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["organization.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_index(op.f("ix_scim_token_org_id"), "scim_token", ["org_id"], unique=False)
    op.create_table(
        "group_member",
        sa.Column("group_pk", sa.Integer(), nullable=False),
        sa.Column("member_pk", sa.Integer(), nullable=False),
        sa.Column("display", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("type", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.ForeignKeyConstraint(["group_pk"], ["scim_resource.pk"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["member_pk"], ["scim_resource.pk"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("group_pk", "member_pk"),
    )
    op.create_index(
        "ix_group_member_member", "group_member", ["member_pk", "group_pk"], unique=False
    )


def downgrade() -> None:
    op.drop_table("group_member")
    op.drop_table("scim_token")
    op.drop_table("scim_resource")
    op.drop_table("organization")
