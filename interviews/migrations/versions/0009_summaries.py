"""summaries: interview outcomes, summary versions and their acknowledgements

Revision ID: 0009_summaries
Revises: 0008
Create Date: 2026-12-03 19:15:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_summaries"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interview_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=32), nullable=False),
        sa.Column("nationality", sa.String(length=16), nullable=False),
        sa.Column("nationality_country", sa.String(length=2), nullable=True),
        sa.Column("travel_document", sa.String(length=16), nullable=False),
        sa.Column("next_steps", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.Column("recorded_by_name", sa.String(length=200), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_interview_outcomes_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"],
            ["users.id"],
            name=op.f("fk_interview_outcomes_recorded_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_outcomes")),
    )
    with op.batch_alter_table("interview_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_interview_outcomes_interview", ["interview_id", "id"], unique=False
        )
    op.create_table(
        "interview_summaries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("document_json", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f("fk_interview_summaries_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interview_summaries")),
        sa.UniqueConstraint(
            "interview_id", "version", name=op.f("uq_interview_summaries_interview_id")
        ),
    )
    with op.batch_alter_table("interview_summaries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interview_summaries_interview_id"), ["interview_id"], unique=False
        )
    op.create_table(
        "summary_acknowledgements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("summary_id", sa.Integer(), nullable=False),
        sa.Column("party", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("user_name", sa.String(length=200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["summary_id"],
            ["interview_summaries.id"],
            name=op.f("fk_summary_acknowledgements_summary_id_interview_summaries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_summary_acknowledgements_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_summary_acknowledgements")),
        sa.UniqueConstraint(
            "summary_id", "party", name=op.f("uq_summary_acknowledgements_summary_id")
        ),
    )
    with op.batch_alter_table("summary_acknowledgements", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_summary_acknowledgements_summary_id"), ["summary_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("summary_acknowledgements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_summary_acknowledgements_summary_id"))
    op.drop_table("summary_acknowledgements")
    with op.batch_alter_table("interview_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interview_summaries_interview_id"))
    op.drop_table("interview_summaries")
    with op.batch_alter_table("interview_outcomes", schema=None) as batch_op:
        batch_op.drop_index("ix_interview_outcomes_interview")
    op.drop_table("interview_outcomes")
