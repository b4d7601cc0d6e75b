"""retention: legal holds on cases (retention deletes nothing of a held case)

Revision ID: 0010_retention
Revises: 0008
Create Date: 2026-12-03 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_retention"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "case_legal_holds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_by_name", sa.String(length=200), nullable=False),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_by", sa.Integer(), nullable=True),
        sa.Column("cleared_by_name", sa.String(length=200), nullable=False),
        sa.Column("clear_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_legal_holds_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["set_by"],
            ["users.id"],
            name=op.f("fk_case_legal_holds_set_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["cleared_by"],
            ["users.id"],
            name=op.f("fk_case_legal_holds_cleared_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_legal_holds")),
    )
    with op.batch_alter_table("case_legal_holds", schema=None) as batch_op:
        batch_op.create_index(
            "ix_case_legal_holds_case_cleared", ["case_id", "cleared_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("case_legal_holds", schema=None) as batch_op:
        batch_op.drop_index("ix_case_legal_holds_case_cleared")
    op.drop_table("case_legal_holds")
