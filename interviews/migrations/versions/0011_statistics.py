"""statistics: interpreter shortfalls recorded by slot searches, figures imported from others

Revision ID: 0011_statistics
Revises: 0008
Create Date: 2026-12-03 18:58:23.724494
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_statistics"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "imported_statistics",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("country_of_detention", sa.String(length=2), nullable=False),
        sa.Column("facility", sa.String(length=200), nullable=False),
        sa.Column("nationality", sa.String(length=2), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("dimension_value", sa.String(length=200), nullable=False),
        sa.Column("indicator", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("suppressed", sa.Boolean(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["imported_by"],
            ["users.id"],
            name=op.f("fk_imported_statistics_imported_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imported_statistics")),
        sa.UniqueConstraint(
            "source",
            "period",
            "country_of_detention",
            "facility",
            "nationality",
            "dimension_value",
            "indicator",
            name="uq_imported_statistics_figure",
        ),
    )
    with op.batch_alter_table("imported_statistics", schema=None) as batch_op:
        batch_op.create_index("ix_imported_statistics_period", ["period", "source"], unique=False)

    op.create_table(
        "interpreter_shortfalls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("facility_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=3), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_interpreter_shortfalls_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["facility_id"],
            ["facilities.id"],
            name=op.f("fk_interpreter_shortfalls_facility_id_facilities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interpreter_shortfalls")),
    )
    with op.batch_alter_table("interpreter_shortfalls", schema=None) as batch_op:
        batch_op.create_index("ix_interpreter_shortfalls_at", ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_interpreter_shortfalls_case_id"), ["case_id"], unique=False
        )

    # Covering indexes for the statistics queries (declared in interviews/indicators.py).
    op.create_index(
        "ix_cases_statistics",
        "cases",
        ["created_at", "facility_id", "claimed_nationality", "detention_date", "deadline",
         "minor", "unaccompanied_minor"],
    )  # fmt: skip
    op.create_index("ix_interviews_statistics", "interviews", ["starts_at", "case_id", "status"])
    op.create_index(
        "ix_case_status_changes_outcome", "case_status_changes", ["case_id", "to_status", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_case_status_changes_outcome", table_name="case_status_changes")
    op.drop_index("ix_interviews_statistics", table_name="interviews")
    op.drop_index("ix_cases_statistics", table_name="cases")
    with op.batch_alter_table("interpreter_shortfalls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interpreter_shortfalls_case_id"))
        batch_op.drop_index("ix_interpreter_shortfalls_at")

    op.drop_table("interpreter_shortfalls")
    with op.batch_alter_table("imported_statistics", schema=None) as batch_op:
        batch_op.drop_index("ix_imported_statistics_period")

    op.drop_table("imported_statistics")
