"""sessions: the live session's event record, chat and recordings

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:00:00.000000
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _people(table: str) -> list[Any]:
    """The interview, participant and user columns and keys every sessions table has."""
    return [
        sa.Column("interview_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["interview_id"],
            ["interviews.id"],
            name=op.f(f"fk_{table}_interview_id_interviews"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["interview_participants.id"],
            name=op.f(f"fk_{table}_participant_id_interview_participants"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f(f"fk_{table}_user_id_users"),
            ondelete="SET NULL",
        ),
    ]


def upgrade() -> None:
    op.create_table(
        "session_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("peer_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        *_people("session_events"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
    )
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_events_interview_at", ["interview_id", "at"], unique=False
        )

    op.create_table(
        "session_chat_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        *_people("session_chat_messages"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_chat_messages")),
    )
    with op.batch_alter_table("session_chat_messages", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_chat_messages_interview_at", ["interview_id", "at"], unique=False
        )

    op.create_table(
        "session_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("peer_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=300), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("offset_ms", sa.Integer(), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        *_people("session_recordings"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_recordings")),
        sa.UniqueConstraint("path", name=op.f("uq_session_recordings_path")),
    )
    with op.batch_alter_table("session_recordings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_session_recordings_interview", ["interview_id", "started_at"], unique=False
        )


def downgrade() -> None:
    for table, index in (
        ("session_recordings", "ix_session_recordings_interview"),
        ("session_chat_messages", "ix_session_chat_messages_interview_at"),
        ("session_events", "ix_session_events_interview_at"),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)
        op.drop_table(table)
